//! Compressed extents: zlib (miniz_oxide) and lzo (lzokay, in btrfs's per-sector framing),
//! both pure Rust, and zstd (libzstd, see [`crate::decompress`]). Output goes into a buffer of the extent's stated
//! uncompressed size, which the caller has already capped at
//! [`crate::limits::BTRFS_MAX_COMPRESSED_EXTENT`]; a stream that would produce more is cut
//! there, one that produces less leaves zeros (as the kernel does).

use super::corrupt;
use crate::fs::FsError;
use crate::limits::BTRFS_MAX_COMPRESSED_EXTENT;

/// btrfs's `compression` byte.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    None,
    Zlib,
    Lzo,
    Zstd,
}

impl Compression {
    pub fn from_raw(v: u8) -> Result<Compression, FsError> {
        match v {
            0 => Ok(Compression::None),
            1 => Ok(Compression::Zlib),
            2 => Ok(Compression::Lzo),
            3 => Ok(Compression::Zstd),
            n => Err(corrupt(format!("unknown compression type {n}"))),
        }
    }
}

/// Decompresses `src` into all of `out`.
pub fn decompress(
    kind: Compression,
    src: &[u8],
    out: &mut [u8],
    sectorsize: u32,
) -> Result<(), FsError> {
    let bad = |what: &str| corrupt(format!("{kind:?} extent: {what}").to_lowercase());
    match kind {
        Compression::None => {
            let n = src.len().min(out.len());
            out.get_mut(..n)
                .unwrap_or_default()
                .copy_from_slice(src.get(..n).unwrap_or_default());
        }
        Compression::Zlib => {
            use miniz_oxide::inflate::{decompress_slice_iter_to_slice, TINFLStatus};
            match decompress_slice_iter_to_slice(out, std::iter::once(src), true, false) {
                Ok(_) | Err(TINFLStatus::HasMoreOutput) => {}
                Err(e) => return Err(bad(&format!("{e:?}"))),
            }
        }
        Compression::Zstd => zstd(src, out).map_err(|e| bad(&e))?,
        Compression::Lzo => lzo(src, out, sectorsize).map_err(bad)?,
    }
    Ok(())
}

/// One zstd frame (btrfs pads the extent after it with zeros, so only one is read), into
/// `out`. btrfs writes zstd with a 128 KiB window (`ZSTD_BTRFS_MAX_WINDOWLOG` 17): a frame
/// declaring more is refused before the decoder sizes a buffer for it.
fn zstd(src: &[u8], out: &mut [u8]) -> Result<(), String> {
    // An extent shorter than its frame's output is zero-filled, as the kernel leaves it.
    crate::decompress::zstd_into(src, out, BTRFS_MAX_COMPRESSED_EXTENT).map(|_| ())
}

/// btrfs lzo: a 4-byte total length, then segments (4-byte length + lzo1x data) that never
/// straddle a sector boundary in their length field; each decodes to at most one sector.
fn lzo(src: &[u8], out: &mut [u8], sectorsize: u32) -> Result<(), &'static str> {
    let sector = sectorsize as usize;
    let total = usize::try_from(rd32(src, 0).ok_or("truncated")?).unwrap_or(usize::MAX);
    let src = src.get(..total).ok_or("total length past the extent")?;
    let mut pos = 4usize;
    let mut done = 0usize;
    while done < out.len() && pos < src.len() {
        // A segment header never crosses a sector: skip the padding.
        let left = sector - pos % sector;
        if left < 4 {
            pos += left;
            if pos >= src.len() {
                break;
            }
        }
        let len = usize::try_from(rd32(src, pos).ok_or("truncated segment header")?)
            .unwrap_or(usize::MAX);
        pos += 4;
        let end = pos.checked_add(len).ok_or("segment overflows")?;
        let seg = src.get(pos..end).ok_or("segment past the extent")?;
        let dst_end = done.saturating_add(sector).min(out.len());
        let dst = out.get_mut(done..dst_end).unwrap_or_default();
        let n = match lzokay::decompress::decompress(seg, dst) {
            Ok(n) => n,
            // The last segment of an extent cut by `out` may hold more than fits.
            Err(lzokay::Error::OutputOverrun) => dst.len(),
            Err(_) => return Err("bad lzo segment"),
        };
        if n == 0 {
            return Err("empty lzo segment");
        }
        done += n;
        pos = end;
    }
    Ok(())
}

fn rd32(b: &[u8], off: usize) -> Option<u32> {
    b.get(off..off.checked_add(4)?)?
        .try_into()
        .ok()
        .map(u32::from_le_bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_and_truncation_are_errors_not_panics() {
        let mut out = vec![0u8; 4096];
        for kind in [Compression::Zlib, Compression::Zstd, Compression::Lzo] {
            for src in [&[][..], &[0xff; 7][..], &[4, 0, 0, 0, 200, 0, 0, 0][..]] {
                let _ = decompress(kind, src, &mut out, 4096);
            }
        }
        // lzo: a total length beyond the extent, a segment beyond the total.
        assert!(lzo(&[100, 0, 0, 0], &mut out, 4096).is_err());
        assert!(lzo(&[12, 0, 0, 0, 200, 0, 0, 0, 1, 2, 3, 4], &mut out, 4096).is_err());
    }

    #[test]
    fn zlib_output_is_cut_at_the_buffer() {
        // 64 KiB of zeros compressed; a 100-byte buffer takes the first 100.
        let src = miniz_oxide::deflate::compress_to_vec_zlib(&[7u8; 65536], 6);
        let mut out = vec![0u8; 100];
        decompress(Compression::Zlib, &src, &mut out, 4096).unwrap();
        assert_eq!(out, vec![7u8; 100]);
    }
}
