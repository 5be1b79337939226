//! One L2 entry: what a virtual cluster (or subcluster) holds — zeros, bytes stored as they
//! are at a host offset, or a compressed cluster — and decompression of the latter into
//! exactly one cluster.
//!
//! Compressed clusters are inflated with `miniz_oxide` (raw deflate, pure Rust) or libzstd
//! ([`crate::decompress`]), both pinned, both fuzzed with this reader (`fuzz/` target `qcow2`). Output is
//! always exactly one cluster, written into a buffer of that size: a stream that ends early
//! is an error, a stream that would go on is cut there (as qemu does), so no input makes
//! either decoder produce or allocate more. zstd's window is capped
//! ([`limits::QCOW2_ZSTD_MAX_WINDOW`]) before it allocates.

use super::header::{Compression, Header};
use super::Qcow2Error;
use crate::limits;

/// Bits 9–55 of a standard L2 entry: the host cluster offset.
const OFFSET_MASK: u64 = 0x00ff_ffff_ffff_fe00;
const FLAG_COMPRESSED: u64 = 1 << 62;
const FLAG_ZERO: u64 = 1;
/// Subclusters per cluster with extended L2 entries.
const SUBCLUSTERS: u64 = 32;

/// What a run of virtual bytes holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Run {
    /// Zero clusters and unallocated ones (there is no backing file): zeros.
    Zeros,
    /// Stored verbatim at this host offset (already advanced to the byte asked for).
    Host(u64),
    /// The whole cluster is compressed: `len` bytes at `host`.
    Compressed { host: u64, len: u64 },
}

/// Decodes the L2 entry (`entry`, and `bitmap` for extended L2) of the cluster holding the
/// byte `in_cluster` bytes into it. Returns the run and how many bytes from `in_cluster` it
/// covers (at least 1, at most to the end of the cluster).
pub fn decode(
    h: &Header,
    entry: u64,
    bitmap: u64,
    in_cluster: u64,
) -> Result<(Run, u64), Qcow2Error> {
    let cluster = h.cluster_size();
    let to_end = cluster - in_cluster;
    if entry & FLAG_COMPRESSED != 0 {
        return Ok((compressed(h, entry), to_end));
    }
    let offset = entry & OFFSET_MASK;
    let host = |at: u64| -> Result<Run, Qcow2Error> {
        if !offset.is_multiple_of(cluster) {
            return Err(Qcow2Error::Unaligned { offset });
        }
        Ok(Run::Host(offset + at)) // offset < 2^56, at < 2^21
    };
    if !h.extended_l2 {
        return Ok(match (entry & FLAG_ZERO != 0, offset) {
            (true, _) | (false, 0) => (Run::Zeros, to_end),
            _ => (host(in_cluster)?, to_end),
        });
    }
    let sub_bytes = cluster / SUBCLUSTERS;
    let sub = in_cluster / sub_bytes;
    let class = |i: u64| -> Result<u8, Qcow2Error> {
        let (alloc, zero) = ((bitmap >> i) & 1, (bitmap >> (32 + i)) & 1);
        match (alloc, zero) {
            (1, 1) => Err(Qcow2Error::Subcluster { index: i }),
            (1, 0) if offset == 0 => Err(Qcow2Error::Subcluster { index: i }),
            (1, 0) => Ok(1),
            _ => Ok(0),
        }
    };
    let this = class(sub)?;
    let mut end = sub + 1;
    while end < SUBCLUSTERS && class(end)? == this {
        end += 1;
    }
    let len = end * sub_bytes - in_cluster;
    match this {
        1 => Ok((host(in_cluster)?, len)),
        _ => Ok((Run::Zeros, len)),
    }
}

/// A compressed cluster's descriptor: host offset in the low bits, then the count of 512-byte
/// sectors it spans, less one (qcow2 spec, "Compressed Clusters Descriptor").
fn compressed(h: &Header, entry: u64) -> Run {
    let size_bits = h.cluster_bits - 8; // 1..=13
    let shift = 62 - size_bits;
    let host = entry & ((1u64 << shift) - 1);
    let sectors = ((entry >> shift) & ((1u64 << size_bits) - 1)) + 1;
    Run::Compressed {
        host,
        len: sectors * 512 - (host & 511), // sectors <= 2^13: no overflow
    }
}

/// Inflates one compressed cluster into `out` (one cluster), which must be filled exactly.
pub fn decompress(kind: Compression, input: &[u8], out: &mut [u8]) -> Result<(), Qcow2Error> {
    match kind {
        Compression::Deflate => inflate(input, out),
        Compression::Zstd => unzstd(input, out),
    }
}

fn inflate(input: &[u8], out: &mut [u8]) -> Result<(), Qcow2Error> {
    use miniz_oxide::inflate::core::{decompress, inflate_flags, DecompressorOxide};
    use miniz_oxide::inflate::TINFLStatus;
    let mut state = Box::<DecompressorOxide>::default();
    let flags = inflate_flags::TINFL_FLAG_USING_NON_WRAPPING_OUTPUT_BUF;
    let (status, _, written) = decompress(&mut state, input, out, 0, flags);
    match status {
        TINFLStatus::Done | TINFLStatus::HasMoreOutput if written == out.len() => Ok(()),
        TINFLStatus::Done | TINFLStatus::NeedsMoreInput => Err(Qcow2Error::Decompress(format!(
            "deflate stream ends after {written} of {} bytes",
            out.len()
        ))),
        _ => Err(Qcow2Error::Decompress("invalid deflate data".into())),
    }
}

fn unzstd(input: &[u8], out: &mut [u8]) -> Result<(), Qcow2Error> {
    let want = out.len();
    match crate::decompress::zstd_into(input, out, limits::QCOW2_ZSTD_MAX_WINDOW) {
        Ok(n) if n == want => Ok(()),
        Ok(n) => Err(Qcow2Error::Decompress(format!(
            "zstd stream ends after {n} of {want} bytes"
        ))),
        Err(e) => Err(Qcow2Error::Decompress(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(bits: u32, extended: bool) -> Header {
        Header {
            version: 3,
            cluster_bits: bits,
            size: 1 << 30,
            l1_used: 1,
            l1_offset: 1 << bits,
            compression: Compression::Deflate,
            extended_l2: extended,
            dirty: false,
        }
    }

    #[test]
    fn standard_entries() {
        let h = header(16, false);
        assert_eq!(decode(&h, 0, 0, 5).unwrap(), (Run::Zeros, 65531));
        assert_eq!(decode(&h, 0x30000 | 1, 0, 0).unwrap(), (Run::Zeros, 65536));
        assert_eq!(
            decode(&h, (1 << 63) | 0x30000, 0, 10).unwrap(),
            (Run::Host(0x3000a), 65526)
        );
        assert!(decode(&h, 0x30200, 0, 0).is_err(), "unaligned");
        // 64 KiB clusters: 8 size bits at 54..61; 3 sectors, offset 0x1234 (0x34 into a sector)
        let e = FLAG_COMPRESSED | (2 << 54) | 0x1234;
        assert_eq!(
            decode(&h, e, 0, 100).unwrap(),
            (
                Run::Compressed {
                    host: 0x1234,
                    len: 3 * 512 - 0x34
                },
                65436
            )
        );
    }

    #[test]
    fn subclusters() {
        let h = header(16, true); // 2 KiB subclusters
        let bitmap = 0b0110 | (0b1000 << 32);
        let e = 0x50000;
        assert_eq!(decode(&h, e, bitmap, 0).unwrap(), (Run::Zeros, 2048));
        assert_eq!(
            decode(&h, e, bitmap, 2048 + 7).unwrap(),
            (Run::Host(0x50000 + 2048 + 7), 4096 - 7)
        );
        assert_eq!(
            decode(&h, e, bitmap, 3 * 2048).unwrap(),
            (Run::Zeros, 29 * 2048)
        );
        assert!(decode(&h, e, 1 | (1 << 32), 0).is_err(), "alloc and zero");
        assert!(decode(&h, 0, 1, 0).is_err(), "allocated without offset");
    }

    #[test]
    fn decompression_fills_exactly_one_cluster() {
        let data: Vec<u8> = (0..4096u32).map(|i| (i % 251) as u8).collect();
        let z = miniz_oxide::deflate::compress_to_vec(&data, 6);
        let mut out = vec![0u8; 4096];
        decompress(Compression::Deflate, &z, &mut out).unwrap();
        assert_eq!(out, data);
        let mut short = vec![0u8; 8192];
        assert!(decompress(Compression::Deflate, &z, &mut short).is_err());
        let mut small = vec![0u8; 100];
        decompress(Compression::Deflate, &z, &mut small).unwrap();
        assert!(decompress(Compression::Deflate, b"\xff\xff\xff", &mut out).is_err());
        assert!(decompress(Compression::Zstd, b"\x28\xb5\x2f\xfd\xff", &mut out).is_err());
        assert!(decompress(Compression::Zstd, b"", &mut out).is_err());
    }
}
