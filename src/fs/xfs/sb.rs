//! The XFS superblock: geometry checked against itself and the partition, the feature policy
//! (what we read, what we refuse by name), and blkid's UUID and LABEL.

use super::{be16, be32, be64, corrupt, crc_ok};
use crate::fs::FsError;

/// Bytes of the superblock we parse (the rest of its sector is checksummed, not read).
pub(super) const SB_BYTES: usize = 512;
const MAGIC: u32 = 0x5846_5342; // "XFSB"

/// v4 `sb_versionnum` bits.
const V_DIRV2: u16 = 0x2000;
const V_BORG: u16 = 0x4000; // ascii-ci names
const V_MOREBITS: u16 = 0x8000;
/// v4 `sb_features2` bit: directory entries carry the file type.
const F2_FTYPE: u32 = 0x200;

/// v5 incompat bits we read. Everything else is refused by name.
const INCOMPAT: &[(u32, &str, bool)] = &[
    (1 << 0, "ftype", true),
    (1 << 1, "sparse inodes", true),
    (1 << 2, "meta_uuid", true),
    (1 << 3, "bigtime", true),
    (1 << 4, "needsrepair", false),
    (1 << 5, "nrext64", true),
    // Exchange-range only matters to log recovery; parent pointers are extended attributes.
    (1 << 6, "exchange-range", true),
    (1 << 7, "parent pointers", true),
    (1 << 8, "metadir", false),
];
const INCOMPAT_FTYPE: u32 = 1;
const INCOMPAT_META_UUID: u32 = 1 << 2;

/// What the reader needs from a validated superblock.
#[derive(Clone, Debug)]
pub(super) struct Superblock {
    pub block_size: u64,
    pub block_log: u32,
    pub dblocks: u64,
    pub ag_blocks: u64,
    pub ag_count: u64,
    pub ag_blk_log: u32,
    pub inode_size: u64,
    pub inop_log: u32,
    pub root_ino: u64,
    pub log_start: u64,
    pub log_blocks: u64,
    /// Directory block size in filesystem blocks, as a shift.
    pub dir_blk_log: u32,
    pub v5: bool,
    pub ftype: bool,
    pub ascii_ci: bool,
    pub uuid: [u8; 16],
    /// The UUID stamped in v5 metadata: `sb_meta_uuid` when meta_uuid is set, else `uuid`.
    pub meta_uuid: [u8; 16],
    pub label: [u8; 12],
}

impl Superblock {
    /// Parses and validates the first sector of the filesystem (`sect` holds at least
    /// `SB_BYTES` bytes; for v5, exactly one sector, whose checksum is verified).
    pub fn parse(raw: &[u8]) -> Result<Superblock, FsError> {
        let b = raw.get(..SB_BYTES).ok_or_else(|| bad("short superblock"))?;
        if be32(b, 0) != MAGIC {
            return Err(bad("bad superblock magic"));
        }
        let version = be16(b, 100);
        let v5 = match version & 0xf {
            4 => false,
            5 => true,
            v => {
                return Err(FsError::UnsupportedFeature {
                    fs: "xfs",
                    feature: format!("version {v}"),
                })
            }
        };
        let block_log = u32::from(b[120]);
        let block_size = u64::from(be32(b, 4));
        if !(9..=16).contains(&block_log) || block_size != 1 << block_log {
            return Err(bad("invalid block size"));
        }
        let sect_log = u32::from(b[121]);
        let sect_size = u64::from(be16(b, 102));
        if !(9..=15).contains(&sect_log) || sect_size != 1 << sect_log || sect_size > block_size {
            return Err(bad("invalid sector size"));
        }
        let inode_log = u32::from(b[122]);
        let inode_size = u64::from(be16(b, 104));
        let min_inode = if v5 { 9 } else { 8 };
        if !(min_inode..=11).contains(&inode_log)
            || inode_size != 1 << inode_log
            || inode_size > block_size
        {
            return Err(bad("invalid inode size"));
        }
        let inop_log = u32::from(b[123]);
        if inop_log != block_log - inode_log || u64::from(be16(b, 106)) != 1 << inop_log {
            return Err(bad("invalid inodes per block"));
        }
        let ag_blocks = u64::from(be32(b, 84));
        let ag_count = u64::from(be32(b, 88));
        let ag_blk_log = u32::from(b[124]);
        // agblklog is the rounded-up log2 of agblocks (mkfs: at least 64 blocks an AG).
        if ag_blocks < 64
            || ag_blk_log > 31
            || ag_blocks > 1 << ag_blk_log
            || ag_blocks <= 1 << (ag_blk_log - 1)
            || ag_count == 0
        {
            return Err(bad("invalid allocation group geometry"));
        }
        // An inode number must fit 64 bits: AG number bits + block bits + inode bits.
        if u64::from(ag_blk_log + inop_log) + 32 > 64 {
            return Err(bad("inode numbers do not fit 64 bits"));
        }
        let dblocks = be64(b, 8);
        if dblocks == 0
            || dblocks > ag_count * ag_blocks
            || dblocks.checked_shl(block_log).is_none()
        {
            return Err(bad("invalid data block count"));
        }
        let dir_blk_log = u32::from(b[192]);
        if block_log + dir_blk_log > 16 {
            return Err(bad("directory blocks larger than 64 KiB"));
        }
        if be64(b, 16) != 0 || be64(b, 24) != 0 {
            return Err(unsupported("realtime device"));
        }
        let log_start = be64(b, 48);
        if log_start == 0 {
            return Err(unsupported("external log"));
        }
        if b[126] != 0 {
            return Err(bad("mkfs did not finish (sb_inprogress is set)"));
        }
        let (ftype, meta) = if v5 {
            let sect = raw
                .get(..sect_size as usize)
                .ok_or_else(|| bad("short superblock"))?;
            if !crc_ok(sect, 224) {
                return Err(bad("superblock checksum mismatch"));
            }
            let incompat = be32(b, 216);
            let mut known = 0;
            for &(bit, name, ok) in INCOMPAT {
                known |= bit;
                if incompat & bit != 0 && !ok {
                    return Err(unsupported(name));
                }
            }
            if incompat & !known != 0 {
                return Err(unsupported(&format!(
                    "unknown incompatible feature 0x{:x}",
                    incompat & !known
                )));
            }
            (
                incompat & INCOMPAT_FTYPE != 0,
                incompat & INCOMPAT_META_UUID != 0,
            )
        } else {
            if version & V_DIRV2 == 0 {
                return Err(unsupported("version 1 directories"));
            }
            let f2 = if version & V_MOREBITS != 0 {
                be32(b, 200)
            } else {
                0
            };
            (f2 & F2_FTYPE != 0, false)
        };
        let uuid = arr16(b, 32);
        Ok(Superblock {
            block_size,
            block_log,
            dblocks,
            ag_blocks,
            ag_count,
            ag_blk_log,
            inode_size,
            inop_log,
            root_ino: be64(b, 56),
            log_start,
            log_blocks: u64::from(be32(b, 96)),
            dir_blk_log,
            v5,
            ftype,
            ascii_ci: version & V_BORG != 0,
            uuid,
            meta_uuid: if meta { arr16(b, 248) } else { uuid },
            label: b
                .get(108..120)
                .and_then(|s| s.try_into().ok())
                .unwrap_or_default(),
        })
    }

    /// Size of the filesystem in bytes.
    pub fn bytes(&self) -> u64 {
        self.dblocks << self.block_log // checked in `parse`
    }

    /// Bytes of a directory block.
    pub fn dir_block_size(&self) -> u64 {
        self.block_size << self.dir_blk_log
    }
}

fn arr16(b: &[u8], off: usize) -> [u8; 16] {
    b.get(off..off + 16)
        .and_then(|s| s.try_into().ok())
        .unwrap_or_default()
}

fn bad(what: &str) -> FsError {
    corrupt(what.to_owned())
}

fn unsupported(feature: &str) -> FsError {
    FsError::UnsupportedFeature {
        fs: "xfs",
        feature: feature.to_owned(),
    }
}
