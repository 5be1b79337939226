//! zstd decoding for the readers that meet zstd-compressed guest data (btrfs extents, qcow2
//! clusters), into a caller's buffer of known size.
//!
//! Why libzstd (the `zstd` crate) and not the pure-Rust `ruzstd` the first readers used:
//! measured on the same bytes, `ruzstd` needed about four times libzstd's CPU (its literal
//! decoding alone was 65 % of a run), so extracting a zstd-compressed kernel and initrd took
//! 3.7× `cp` + `zstd -d` instead of the ≤ 1.2× both issues ask for. libzstd is what the guest's
//! own kernel and `btrfs-progs` decode with, and it is fuzzed continuously upstream. What keeps
//! it bounded here: the output is the caller's fixed buffer (one btrfs extent, one qcow2
//! cluster), the decoder's window is capped before the frame header is read, and the loop
//! below stops on the first step that makes no progress. It runs inside the sandbox, which a
//! C library cannot leave either.

/// Decodes the zstd frame at the start of `src` into `out` and returns the bytes written:
/// `out.len()` when `out` filled up (the rest of the frame, and anything after it, is not
/// read), fewer when the frame ended first. A frame needing a window over `max_window` bytes,
/// a truncated or corrupt frame, are errors (one line, naming the cause).
pub fn zstd_into(src: &[u8], out: &mut [u8], max_window: u64) -> Result<usize, String> {
    use zstd::stream::raw::{DParameter, Decoder, InBuffer, Operation, OutBuffer};
    let want = out.len();
    let mut dec = Decoder::new().map_err(|e| format!("zstd: {e}"))?;
    dec.set_parameter(DParameter::WindowLogMax(window_log(max_window)))
        .map_err(|e| format!("zstd: {e}"))?;
    let mut input = InBuffer::around(src);
    let mut output = OutBuffer::around(out);
    loop {
        let before = (input.pos(), output.pos());
        let hint = dec
            .run(&mut input, &mut output)
            .map_err(|e| format!("zstd: {e}"))?;
        if hint == 0 || output.pos() == want {
            return Ok(output.pos()); // the frame ended, or the buffer is full
        }
        if (input.pos(), output.pos()) == before {
            return Err(format!(
                "zstd: frame truncated after {} bytes of output",
                output.pos()
            ));
        }
    }
}

/// The largest window (as a power of two, libzstd's unit) within `max_window` bytes, at
/// least libzstd's smallest (1 KiB).
fn window_log(max_window: u64) -> u32 {
    (u64::BITS - 1 - max_window.max(1 << 10).leading_zeros()).min(31)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(data: &[u8], level: i32) -> Vec<u8> {
        zstd::bulk::compress(data, level).unwrap()
    }

    #[test]
    fn fills_the_buffer_or_stops_at_the_frame_end() {
        let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let z = frame(&data, 3);
        let mut out = vec![0u8; data.len()];
        assert_eq!(zstd_into(&z, &mut out, 8 << 20).unwrap(), data.len());
        assert_eq!(out, data);
        let mut short = vec![0u8; 1000];
        assert_eq!(zstd_into(&z, &mut short, 8 << 20).unwrap(), 1000);
        assert_eq!(short, data[..1000]);
        let mut long = vec![0u8; data.len() + 10];
        assert_eq!(zstd_into(&z, &mut long, 8 << 20).unwrap(), data.len());
        // Trailing bytes after the frame (qcow2 rounds compressed clusters up to sectors).
        let mut padded = z.clone();
        padded.extend([0u8; 300]);
        assert_eq!(zstd_into(&padded, &mut out, 8 << 20).unwrap(), data.len());
    }

    #[test]
    fn refuses_truncated_corrupt_and_oversized_windows() {
        let data = vec![7u8; 100_000];
        let z = frame(&data, 3);
        let mut out = vec![0u8; data.len()];
        assert!(zstd_into(&z[..z.len() / 2], &mut out, 8 << 20).is_err());
        assert!(zstd_into(b"not a zstd frame", &mut out, 8 << 20).is_err());
        assert!(zstd_into(&[], &mut out, 8 << 20).is_err());
        // A frame that would need a window buffer larger than allowed is refused before
        // decoding. (Decoding a whole frame into a buffer that holds all of it needs no
        // window buffer, so libzstd then skips the check: nothing is allocated either way.)
        let big: Vec<u8> = (0..4u32 << 20)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        let z = frame(&big, 19);
        let mut part = vec![0u8; 1000];
        assert!(zstd_into(&z, &mut part, 64 << 10).is_err());
        assert_eq!(zstd_into(&z, &mut part, 8 << 20).unwrap(), 1000);
        assert_eq!(part, big[..1000]);
    }

    #[test]
    fn window_logs() {
        assert_eq!(window_log(0), 10);
        assert_eq!(window_log(128 << 10), 17);
        assert_eq!(window_log((128 << 10) + 1), 17);
        assert_eq!(window_log(8 << 20), 23);
        assert_eq!(window_log(u64::MAX), 31);
    }
}
