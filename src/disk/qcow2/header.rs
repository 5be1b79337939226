//! The qcow2 header (versions 2 and 3) and its extensions: parsed, checked, and turned into
//! the few numbers the table walk needs, or a one-line refusal.
//!
//! Refused: a backing file, encryption, an external data file, the `corrupt` bit (qemu marks
//! an image corrupt when it finds inconsistent metadata; it then opens it only read-only, we
//! not at all), unknown incompatible features and compression types. Read as it is: the
//! `dirty` bit (it only says the refcounts may be stale, and we never read refcounts),
//! snapshots (the active L1 table is the disk), compatible and autoclear features.

use super::Qcow2Error;
use crate::limits;

/// Size of the version 2 header; version 3 headers say their own length (at least 104).
pub const V2_HEADER_LEN: usize = 72;
const V3_MIN_HEADER_LEN: u32 = 104;
/// Offset of the version 3 compression type byte.
const COMPRESSION_TYPE_OFFSET: usize = 104;

/// Cluster sizes qemu supports: 512 bytes to 2 MiB.
pub const MIN_CLUSTER_BITS: u32 = 9;
pub const MAX_CLUSTER_BITS: u32 = 21;
/// Extended L2 entries need clusters of at least 16 KiB (32 subclusters of 512 bytes).
const MIN_EXTENDED_L2_CLUSTER_BITS: u32 = 14;

/// Incompatible feature bits.
const INCOMPAT_DIRTY: u64 = 1 << 0;
const INCOMPAT_CORRUPT: u64 = 1 << 1;
const INCOMPAT_DATA_FILE: u64 = 1 << 2;
const INCOMPAT_COMPRESSION: u64 = 1 << 3;
const INCOMPAT_EXTENDED_L2: u64 = 1 << 4;
const INCOMPAT_KNOWN: u64 = (1 << 5) - 1;

/// Header extension types we look at.
const EXT_END: u32 = 0;
const EXT_DATA_FILE: u32 = 0x4441_5441;

/// How compressed clusters are compressed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    /// Raw deflate (no zlib header), 4 KiB window.
    Deflate,
    /// One zstd frame per cluster.
    Zstd,
}

/// What the table walk needs from a checked header.
#[derive(Clone, Debug)]
pub struct Header {
    pub version: u32,
    pub cluster_bits: u32,
    /// Virtual disk size in bytes.
    pub size: u64,
    /// Entries of the L1 table the disk actually uses (the table may hold more, for a
    /// snapshot's VM state, which we never read).
    pub l1_used: u64,
    pub l1_offset: u64,
    pub compression: Compression,
    /// 16-byte L2 entries with a subcluster bitmap.
    pub extended_l2: bool,
    /// Refcounts may be stale (qemu's lazy refcounts); nothing we read depends on them.
    pub dirty: bool,
}

impl Header {
    pub fn cluster_size(&self) -> u64 {
        1 << self.cluster_bits
    }

    /// Bytes of one L2 entry.
    pub fn l2_entry_bytes(&self) -> u64 {
        if self.extended_l2 {
            16
        } else {
            8
        }
    }

    /// Entries in one L2 table (one cluster).
    pub fn l2_entries(&self) -> u64 {
        self.cluster_size() / self.l2_entry_bytes()
    }
}

fn be32(b: &[u8], at: usize) -> Result<u32, Qcow2Error> {
    b.get(at..at + 4)
        .and_then(|s| s.try_into().ok())
        .map(u32::from_be_bytes)
        .ok_or(Qcow2Error::Truncated)
}

fn be64(b: &[u8], at: usize) -> Result<u64, Qcow2Error> {
    b.get(at..at + 8)
        .and_then(|s| s.try_into().ok())
        .map(u64::from_be_bytes)
        .ok_or(Qcow2Error::Truncated)
}

/// The cluster size, from the first bytes alone, so the caller knows how much of the first
/// cluster (where the extensions live) to read.
pub fn cluster_bits(first: &[u8]) -> Result<u32, Qcow2Error> {
    let version = be32(first, 4)?;
    if !(2..=3).contains(&version) {
        return Err(Qcow2Error::Version(version));
    }
    let bits = be32(first, 20)?;
    if !(MIN_CLUSTER_BITS..=MAX_CLUSTER_BITS).contains(&bits) {
        return Err(Qcow2Error::ClusterBits(bits));
    }
    Ok(bits)
}

/// Parses and checks the header. `cluster` is the image's first cluster (or the whole file
/// when shorter); `file_size` is the image file's size.
pub fn parse(cluster: &[u8], file_size: u64) -> Result<Header, Qcow2Error> {
    let cluster_bits = cluster_bits(cluster)?;
    let version = be32(cluster, 4)?;
    let cluster_size = 1u64 << cluster_bits;
    let (incompat, header_len, compression_byte) = if version >= 3 {
        let len = be32(cluster, 100)?;
        if len < V3_MIN_HEADER_LEN || u64::from(len) > cluster_size {
            return Err(Qcow2Error::HeaderLength(len));
        }
        let ctype = match len as usize > COMPRESSION_TYPE_OFFSET {
            true => *cluster
                .get(COMPRESSION_TYPE_OFFSET)
                .ok_or(Qcow2Error::Truncated)?,
            false => 0,
        };
        (be64(cluster, 72)?, len as usize, ctype)
    } else {
        (0, V2_HEADER_LEN, 0)
    };
    let data_file = walk_extensions(cluster, header_len, cluster_size)?;
    check_features(incompat, data_file)?;
    let crypt = be32(cluster, 32)?;
    if crypt != 0 {
        return Err(Qcow2Error::Encrypted(match crypt {
            1 => "AES",
            2 => "LUKS",
            _ => "an unknown method",
        }));
    }
    let backing_offset = be64(cluster, 8)?;
    if backing_offset != 0 {
        let name = embedded_name(cluster, backing_offset, be32(cluster, 16)?);
        return Err(Qcow2Error::BackingFile(name));
    }
    let compression = match (incompat & INCOMPAT_COMPRESSION != 0, compression_byte) {
        (_, 0) => Compression::Deflate,
        (true, 1) => Compression::Zstd,
        (true, t) => return Err(Qcow2Error::CompressionType(t)),
        (false, t) => return Err(Qcow2Error::CompressionBit(t)),
    };
    let extended_l2 = incompat & INCOMPAT_EXTENDED_L2 != 0;
    if extended_l2 && cluster_bits < MIN_EXTENDED_L2_CLUSTER_BITS {
        return Err(Qcow2Error::ExtendedL2ClusterSize(cluster_size));
    }
    let mut header = Header {
        version,
        cluster_bits,
        size: be64(cluster, 24)?,
        l1_used: 0,
        l1_offset: be64(cluster, 40)?,
        compression,
        extended_l2,
        dirty: incompat & INCOMPAT_DIRTY != 0,
    };
    header.l1_used = check_l1(&header, be32(cluster, 36)?, file_size)?;
    Ok(header)
}

/// Refuses the incompatible features we cannot honour.
fn check_features(incompat: u64, data_file: Option<String>) -> Result<(), Qcow2Error> {
    if incompat & !INCOMPAT_KNOWN != 0 {
        return Err(Qcow2Error::UnknownFeatures(incompat & !INCOMPAT_KNOWN));
    }
    if incompat & INCOMPAT_CORRUPT != 0 {
        return Err(Qcow2Error::Corrupt);
    }
    if incompat & INCOMPAT_DATA_FILE != 0 {
        return Err(Qcow2Error::DataFile(data_file.unwrap_or_default()));
    }
    Ok(())
}

/// Checks the virtual size against the L1 table and the L1 table against the file; returns
/// the number of L1 entries the virtual size needs.
fn check_l1(h: &Header, l1_size: u32, file_size: u64) -> Result<u64, Qcow2Error> {
    if h.size > limits::QCOW2_MAX_VIRTUAL_SIZE {
        return Err(Qcow2Error::VirtualSize(h.size));
    }
    // Bytes of disk one L2 table maps; at most 2^21 / 8 * 2^21 = 2^39, no overflow.
    let per_l2 = h.l2_entries() << h.cluster_bits;
    let needed = h.size.div_ceil(per_l2);
    if needed > u64::from(l1_size) {
        return Err(Qcow2Error::L1TooSmall {
            entries: l1_size,
            size: h.size,
        });
    }
    if u64::from(l1_size) > limits::QCOW2_MAX_L1_ENTRIES {
        return Err(Qcow2Error::L1TooLarge(l1_size));
    }
    let bytes = u64::from(l1_size) * 8; // <= 2^25
    if !h.l1_offset.is_multiple_of(h.cluster_size())
        || h.l1_offset.checked_add(bytes).is_none_or(|e| e > file_size)
    {
        return Err(Qcow2Error::L1Outside {
            offset: h.l1_offset,
            bytes,
        });
    }
    Ok(needed)
}

/// Walks the header extensions after the header proper, to the end of the first cluster;
/// returns the external data file's name if one is recorded. Each step advances by at least
/// 8 bytes inside a buffer of at most one cluster, so the walk is bounded.
fn walk_extensions(
    cluster: &[u8],
    start: usize,
    cluster_size: u64,
) -> Result<Option<String>, Qcow2Error> {
    let end = usize::try_from(cluster_size).map_or(cluster.len(), |c| c.min(cluster.len()));
    let mut at = start;
    let mut data_file = None;
    while at < end {
        let kind = be32(cluster, at)?;
        let len = be32(cluster, at + 4)? as usize;
        at += 8;
        if at > end || len > end - at {
            return Err(Qcow2Error::Extension { kind, len });
        }
        match kind {
            EXT_END => break,
            EXT_DATA_FILE => data_file = cluster.get(at..at + len).map(printable),
            _ => {}
        }
        at = at.saturating_add(len.next_multiple_of(8));
    }
    Ok(data_file)
}

/// A name stored in the image (backing or data file), for the message only: never opened.
fn embedded_name(cluster: &[u8], offset: u64, len: u32) -> String {
    let len = (len as usize).min(limits::QCOW2_MAX_NAME_BYTES);
    usize::try_from(offset)
        .ok()
        .and_then(|o| cluster.get(o..o.checked_add(len)?))
        .map(printable)
        .unwrap_or_default()
}

fn printable(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A v3 header: 64 KiB clusters, 1 MiB disk, L1 at 0x10000 (1 entry), no extensions.
    pub fn v3(cluster_bits: u32, size: u64) -> Vec<u8> {
        let mut h = vec![0u8; 1 << cluster_bits];
        h[..4].copy_from_slice(b"QFI\xfb");
        h[4..8].copy_from_slice(&3u32.to_be_bytes());
        h[20..24].copy_from_slice(&cluster_bits.to_be_bytes());
        h[24..32].copy_from_slice(&size.to_be_bytes());
        h[36..40].copy_from_slice(&1u32.to_be_bytes());
        h[40..48].copy_from_slice(&(1u64 << cluster_bits).to_be_bytes());
        h[96..100].copy_from_slice(&4u32.to_be_bytes());
        h[100..104].copy_from_slice(&112u32.to_be_bytes());
        h
    }

    fn err(b: &[u8]) -> String {
        parse(b, 1 << 30).unwrap_err().to_string()
    }

    #[test]
    fn parses_a_plain_header() {
        let h = parse(&v3(16, 1 << 20), 1 << 20).unwrap();
        assert_eq!(
            (h.cluster_size(), h.size, h.l1_used, h.l1_offset),
            (65536, 1 << 20, 1, 65536)
        );
        assert_eq!(h.compression, Compression::Deflate);
    }

    #[test]
    fn refusals() {
        let mut b = v3(16, 1 << 20);
        b[8..16].copy_from_slice(&200u64.to_be_bytes());
        b[16..20].copy_from_slice(&11u32.to_be_bytes());
        b[200..211].copy_from_slice(b"/etc/shadow");
        assert!(
            err(&b).contains("backing file \"/etc/shadow\""),
            "{}",
            err(&b)
        );
        let mut b = v3(16, 1 << 20);
        b[35] = 2;
        assert!(err(&b).contains("encrypted (LUKS"), "{}", err(&b));
        let mut b = v3(16, 1 << 20);
        b[79] = 4;
        assert!(err(&b).contains("external data file"));
        let mut b = v3(16, 1 << 20);
        b[79] = 2;
        assert!(err(&b).contains("corrupt"));
        let mut b = v3(16, 1 << 20);
        b[72] = 0x80;
        assert!(err(&b).contains("unknown incompatible features"));
        let mut b = v3(16, 1 << 20);
        b[104] = 1;
        assert!(err(&b).contains("compression type"), "{}", err(&b));
        let mut b = v3(16, 1 << 20);
        b[79] = 8;
        b[104] = 7;
        assert!(err(&b).contains("compression type 7"));
        assert!(err(&v3(16, 1 << 40)).contains("L1 table of 1 entries"));
        let mut b = v3(16, 1 << 20);
        b[20..24].copy_from_slice(&22u32.to_be_bytes());
        assert!(err(&b).contains("cluster size 2^22"));
        let mut b = v3(16, 1 << 20);
        b[100..104].copy_from_slice(&100u32.to_be_bytes());
        assert!(err(&b).contains("header length 100"));
        let mut b = v3(16, 1 << 20);
        b[36..40].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(err(&b).contains("L1 table of 4294967295 entries"));
        assert!(parse(&v3(16, 1 << 20), 65536 + 7).is_err(), "L1 past EOF");
        let mut b = v3(16, 1 << 20);
        b[112..116].copy_from_slice(&7u32.to_be_bytes());
        b[116..120].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(err(&b).contains("header extension"));
        let mut b = v3(16, 1 << 20);
        b[24..32].copy_from_slice(&u64::MAX.to_be_bytes());
        assert!(err(&b).contains("virtual size"));
    }

    #[test]
    fn dirty_is_read() {
        let mut b = v3(16, 1 << 20);
        b[79] = 1;
        assert!(parse(&b, 1 << 20).unwrap().dirty);
    }
}
