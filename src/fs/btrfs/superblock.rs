//! The btrfs superblock: found at 64 KiB (then the mirror copies at 64 MiB and 256 GiB when
//! the primary is damaged), checked against its own checksum and against the slice, and
//! decoded into the few fields the reader needs.

use super::csum::{self, CsumType};
use super::{corrupt, le16, le32, le64, unsupported};
use crate::disk::Slice;
use crate::fs::FsError;
use crate::limits::BTRFS_MAX_NODESIZE;

/// Offsets of the superblock copies (`btrfs_sb_offset`).
pub const SB_OFFSETS: [u64; 3] = [0x1_0000, 0x400_0000, 0x40_0000_0000];
const SB_SIZE: usize = 4096;
const MAGIC: &[u8; 8] = b"_BHRfS_M";
/// The sys_chunk_array holds at most this many bytes.
const SYS_CHUNK_ARRAY_MAX: usize = 2048;

/// Incompat features this reader understands. Anything else is refused by name.
const INCOMPAT_KNOWN: &[(u64, &str)] = &[
    (1 << 0, "mixed_backref"),
    (1 << 1, "default_subvol"),
    (1 << 2, "mixed_groups"),
    (1 << 3, "compress_lzo"),
    (1 << 4, "compress_zstd"),
    (1 << 5, "big_metadata"),
    (1 << 6, "extended_iref"),
    (1 << 7, "raid56"),
    (1 << 8, "skinny_metadata"),
    (1 << 9, "no_holes"),
    (1 << 10, "metadata_uuid"),
    (1 << 11, "raid1c34"),
    (1 << 12, "zoned"),
    (1 << 13, "extent_tree_v2"),
    (1 << 14, "raid_stripe_tree"),
    (1 << 16, "simple_quota"),
];
/// Incompat features whose on-disk changes we do not read.
const INCOMPAT_REFUSED: u64 = (1 << 12) | (1 << 13) | (1 << 14);
const INCOMPAT_METADATA_UUID: u64 = 1 << 10;

/// The fields of a valid superblock that the reader uses.
#[derive(Clone, Debug)]
pub struct Superblock {
    pub fsid: [u8; 16],
    /// What tree blocks carry in their header (`metadata_uuid` when that feature is on).
    pub meta_fsid: [u8; 16],
    pub root: u64,
    pub root_level: u8,
    pub chunk_root: u64,
    pub chunk_root_level: u8,
    pub sectorsize: u32,
    pub nodesize: u32,
    pub devid: u64,
    pub csum: CsumType,
    pub label: [u8; 256],
    pub sys_chunk_array: Vec<u8>,
}

/// Reads the first valid superblock copy in `slice`. Reports the primary's problem when no
/// copy is valid.
pub fn read(slice: &Slice) -> Result<(Superblock, Option<String>), FsError> {
    let mut first_err = None;
    for (i, &off) in SB_OFFSETS.iter().enumerate() {
        let fits = off
            .checked_add(SB_SIZE as u64)
            .is_some_and(|e| e <= slice.len());
        if !fits {
            break;
        }
        let mut raw = vec![0u8; SB_SIZE];
        slice.read_exact_at(off, &mut raw)?;
        match parse(&raw, off) {
            Ok(sb) => {
                let note = (i > 0).then(|| {
                    format!(
                        "btrfs primary superblock is damaged ({}); using the copy at {off}",
                        first_err
                            .as_ref()
                            .map_or_else(String::new, |e: &FsError| e.to_string())
                    )
                });
                return Ok((sb, note));
            }
            // An unsupported feature is a decision, not damage: do not fall back.
            Err(e @ FsError::UnsupportedFeature { .. }) if i == 0 => return Err(e),
            Err(e) => {
                if first_err.is_none() {
                    first_err = Some(e);
                }
            }
        }
    }
    Err(first_err.unwrap_or_else(|| corrupt("the partition is too small for a superblock".into())))
}

fn parse(raw: &[u8], at: u64) -> Result<Superblock, FsError> {
    if raw.get(64..72) != Some(MAGIC.as_slice()) {
        return Err(corrupt(format!("no superblock magic at offset {at}")));
    }
    let csum = CsumType::from_raw(le16(raw, 196))?;
    if !csum::verify(csum, raw)? {
        return Err(corrupt(format!("superblock at {at}: checksum mismatch")));
    }
    if le64(raw, 48) != at {
        return Err(corrupt(format!("superblock at {at} claims another offset")));
    }
    let incompat = le64(raw, 188);
    for &(bit, name) in INCOMPAT_KNOWN {
        if incompat & bit & INCOMPAT_REFUSED != 0 {
            return Err(unsupported(name));
        }
    }
    let known = INCOMPAT_KNOWN.iter().fold(0u64, |a, &(b, _)| a | b);
    if incompat & !known != 0 {
        return Err(unsupported(&format!(
            "incompat flags {:#x}",
            incompat & !known
        )));
    }
    let sectorsize = le32(raw, 144);
    let nodesize = le32(raw, 148);
    if !sectorsize.is_power_of_two() || !(4096..=65536).contains(&sectorsize) {
        return Err(corrupt(format!("sector size {sectorsize} is invalid")));
    }
    if !nodesize.is_power_of_two() || nodesize < sectorsize || nodesize > BTRFS_MAX_NODESIZE {
        return Err(corrupt(format!("node size {nodesize} is invalid")));
    }
    let sys_len = usize::try_from(le32(raw, 160)).unwrap_or(usize::MAX);
    if sys_len > SYS_CHUNK_ARRAY_MAX {
        return Err(corrupt(format!("sys_chunk_array of {sys_len} bytes")));
    }
    let sys_chunk_array = raw
        .get(811..811 + sys_len)
        .ok_or_else(|| corrupt("sys_chunk_array is out of range".into()))?
        .to_vec();
    let (root_level, chunk_root_level) = (byte(raw, 198), byte(raw, 199));
    if root_level >= crate::limits::BTRFS_MAX_LEVEL
        || chunk_root_level >= crate::limits::BTRFS_MAX_LEVEL
    {
        return Err(corrupt("a tree root level is out of range".into()));
    }
    let fsid = arr16(raw, 32);
    let meta_fsid = if incompat & INCOMPAT_METADATA_UUID != 0 {
        arr16(raw, 571)
    } else {
        fsid
    };
    let mut label = [0u8; 256];
    if let Some(l) = raw.get(299..555) {
        label.copy_from_slice(l);
    }
    Ok(Superblock {
        fsid,
        meta_fsid,
        root: le64(raw, 80),
        root_level,
        chunk_root: le64(raw, 88),
        chunk_root_level,
        sectorsize,
        nodesize,
        devid: le64(raw, 201),
        csum,
        label,
        sys_chunk_array,
    })
}

fn byte(b: &[u8], off: usize) -> u8 {
    b.get(off).copied().unwrap_or(0)
}

pub(super) fn arr16(b: &[u8], off: usize) -> [u8; 16] {
    let mut a = [0u8; 16];
    if let Some(s) = off.checked_add(16).and_then(|e| b.get(off..e)) {
        a.copy_from_slice(s);
    }
    a
}
