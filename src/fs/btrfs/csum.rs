//! Metadata checksums: crc32c (the default), xxhash64 and sha256 are verified; blake2b is
//! refused by name rather than trusted unchecked.

use super::{corrupt, unsupported};
use crate::fs::FsError;

/// The checksum algorithm of a filesystem (`csum_type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CsumType {
    Crc32c,
    Xxhash64,
    Sha256,
}

impl CsumType {
    pub fn from_raw(v: u16) -> Result<CsumType, FsError> {
        match v {
            0 => Ok(CsumType::Crc32c),
            1 => Ok(CsumType::Xxhash64),
            2 => Ok(CsumType::Sha256),
            3 => Err(unsupported("blake2b checksums")),
            n => Err(corrupt(format!("unknown checksum type {n}"))),
        }
    }
}

/// Checks a superblock or tree block: the checksum of bytes 32.. stored in bytes 0..32.
pub fn verify(kind: CsumType, block: &[u8]) -> Result<bool, FsError> {
    let (Some(stored), Some(data)) = (block.get(..32), block.get(32..)) else {
        return Err(corrupt("block shorter than its checksum".into()));
    };
    Ok(match kind {
        CsumType::Crc32c => {
            let c = !crate::crc::crc32c(!0, data);
            stored.get(..4) == Some(c.to_le_bytes().as_slice())
        }
        CsumType::Xxhash64 => stored.get(..8) == Some(xxh64(data).to_le_bytes().as_slice()),
        CsumType::Sha256 => {
            use sha2::Digest;
            stored == sha2::Sha256::digest(data).as_slice()
        }
    })
}

/// The name hash of directory items: crc32c seeded with `~1`, no final inversion.
pub fn name_hash(name: &[u8]) -> u64 {
    u64::from(crate::crc::crc32c(!1, name))
}

const P1: u64 = 0x9E37_79B1_85EB_CA87;
const P2: u64 = 0xC2B2_AE3D_27D4_EB4F;
const P3: u64 = 0x1656_67B1_9E37_79F9;
const P4: u64 = 0x85EB_CA77_C2B2_AE63;
const P5: u64 = 0x27D4_EB2F_1656_67C5;

fn round(acc: u64, v: u64) -> u64 {
    acc.wrapping_add(v.wrapping_mul(P2))
        .rotate_left(31)
        .wrapping_mul(P1)
}

fn merge(acc: u64, v: u64) -> u64 {
    (acc ^ round(0, v)).wrapping_mul(P1).wrapping_add(P4)
}

fn u64_at(c: &[u8]) -> u64 {
    c.try_into().map_or(0, u64::from_le_bytes)
}

/// XXH64 with seed 0 (btrfs's `xxhash64`).
pub fn xxh64(data: &[u8]) -> u64 {
    let len = data.len() as u64;
    let mut stripes = data.chunks_exact(32);
    let mut h = if data.len() >= 32 {
        let mut v = [P1.wrapping_add(P2), P2, 0, 0u64.wrapping_sub(P1)];
        for s in stripes.by_ref() {
            for (i, lane) in s.chunks_exact(8).enumerate() {
                if let Some(x) = v.get_mut(i) {
                    *x = round(*x, u64_at(lane));
                }
            }
        }
        let mut h = v[0]
            .rotate_left(1)
            .wrapping_add(v[1].rotate_left(7))
            .wrapping_add(v[2].rotate_left(12))
            .wrapping_add(v[3].rotate_left(18));
        for x in v {
            h = merge(h, x);
        }
        h
    } else {
        P5
    };
    h = h.wrapping_add(len);
    let rest = stripes.remainder();
    let mut words = rest.chunks_exact(8);
    for w in words.by_ref() {
        h = (h ^ round(0, u64_at(w)))
            .rotate_left(27)
            .wrapping_mul(P1)
            .wrapping_add(P4);
    }
    let mut tail = words.remainder();
    if tail.len() >= 4 {
        let w = u64::from(
            tail.get(..4)
                .and_then(|s| s.try_into().ok())
                .map_or(0, u32::from_le_bytes),
        );
        h = (h ^ w.wrapping_mul(P1))
            .rotate_left(23)
            .wrapping_mul(P2)
            .wrapping_add(P3);
        tail = tail.get(4..).unwrap_or_default();
    }
    for &b in tail {
        h = (h ^ u64::from(b).wrapping_mul(P5))
            .rotate_left(11)
            .wrapping_mul(P1);
    }
    h ^= h >> 33;
    h = h.wrapping_mul(P2);
    h ^= h >> 29;
    h = h.wrapping_mul(P3);
    h ^ (h >> 32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xxh64_reference_values() {
        assert_eq!(xxh64(b""), 0xEF46_DB37_51D8_E999);
        assert_eq!(xxh64(b"a"), 0xD24E_C4F1_A98C_6E5B);
        assert_eq!(
            xxh64(b"Nobody inspects the spammish repetition"),
            0xFBCE_A83C_8A37_8BF1
        );
    }

    #[test]
    fn name_hash_is_crc32c_seeded_with_not_one() {
        // The kernel's btrfs_name_hash("default"), the root tree's default-subvolume entry
        // (`btrfs inspect-internal dump-tree -t root`: DIR_ITEM 2378154706).
        assert_eq!(name_hash(b"default"), 2_378_154_706);
        assert_eq!(name_hash(b""), u64::from(!1u32));
    }
}
