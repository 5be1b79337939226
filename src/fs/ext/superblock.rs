//! The ext superblock: parsed and checked against the partition before anything else is
//! read, so that no later size, offset or count derived from it can leave the partition.
//! Also the blkid naming rules (ext2/ext3/ext4) and the feature policy.

use super::{corrupt, le16, le32};
use crate::crc::crc32c;
use crate::fs::{FsError, FsType};

/// Where the primary superblock lives, and its size.
pub(super) const SB_OFFSET: u64 = 1024;
pub(super) const SB_SIZE: usize = 1024;
const MAGIC: u16 = 0xEF53;

// s_feature_compat
const COMPAT_HAS_JOURNAL: u32 = 0x4;
const COMPAT_DIR_INDEX: u32 = 0x20;
const COMPAT_SPARSE_SUPER2: u32 = 0x200;
// s_feature_incompat
const INCOMPAT_COMPRESSION: u32 = 0x1;
pub(super) const INCOMPAT_FILETYPE: u32 = 0x2;
pub(super) const INCOMPAT_RECOVER: u32 = 0x4;
pub(super) const INCOMPAT_JOURNAL_DEV: u32 = 0x8;
const INCOMPAT_META_BG: u32 = 0x10;
const INCOMPAT_64BIT: u32 = 0x80;
pub(super) const INCOMPAT_LARGEDIR: u32 = 0x4000;
pub(super) const INCOMPAT_CASEFOLD: u32 = 0x2_0000;
/// Every incompat bit the kernel defines; any other bit is a format we do not know.
const INCOMPAT_KNOWN: u32 = 0x1
    | 0x2
    | 0x4
    | 0x8
    | 0x10
    | 0x40
    | 0x80
    | 0x100
    | 0x200
    | 0x400
    | 0x1000
    | 0x2000
    | 0x4000
    | 0x8000
    | 0x1_0000
    | 0x2_0000;
// s_feature_ro_compat
const RO_COMPAT_SPARSE_SUPER: u32 = 0x1;
const RO_COMPAT_GDT_CSUM: u32 = 0x10;
const RO_COMPAT_BIGALLOC: u32 = 0x200;
const RO_COMPAT_METADATA_CSUM: u32 = 0x400;

/// The superblock fields we use, validated.
#[derive(Clone, Debug)]
pub(super) struct Superblock {
    pub fs_type: FsType,
    pub block_size: u64,
    pub blocks_count: u64,
    pub first_data_block: u64,
    pub blocks_per_group: u64,
    pub inodes_per_group: u32,
    pub inodes_count: u32,
    pub groups: u32,
    pub inode_size: u64,
    pub desc_size: u64,
    pub first_meta_bg: u32,
    pub backup_bgs: [u32; 2],
    pub compat: u32,
    pub incompat: u32,
    pub ro_compat: u32,
    pub journal_inum: u32,
    /// Backup of the journal inode's `i_block` and size (`s_jnl_blocks`), when
    /// `s_jnl_backup_type` says it holds one.
    pub journal_backup: Option<[u32; 17]>,
    /// Directory hash seed and `s_flags` (for the unsigned-hash flag).
    pub hash_seed: [u32; 4],
    pub flags: u32,
    /// `s_encoding`: the casefold encoding (1 = UTF-8), meaningful with `casefold`.
    pub encoding: u16,
    pub uuid: [u8; 16],
    pub label: [u8; 16],
}

impl Superblock {
    /// Parses and validates the 1024 superblock bytes. The checks are the kernel's
    /// mount-time geometry checks (`ext4_fill_super`), which also keep every later block
    /// offset computation (`block * block_size`, block < blocks_count) within a u64. A
    /// filesystem larger than its partition is not refused here (blkid names truncated
    /// images too): every read is bounds-checked against the partition anyway.
    pub fn parse(b: &[u8]) -> Result<Superblock, FsError> {
        let c = |d: String| corrupt("ext", d);
        if b.len() < SB_SIZE || le16(b, 0x38) != MAGIC {
            return Err(c("bad superblock magic".into()));
        }
        let compat = le32(b, 0x5c);
        let incompat = le32(b, 0x60);
        let ro_compat = le32(b, 0x64);
        let fs_type = blkid_type(compat, incompat, ro_compat);
        let c = |d: String| corrupt(fs_type.as_str(), d);
        check_features(fs_type, incompat)?;
        if ro_compat & RO_COMPAT_METADATA_CSUM != 0 {
            let stored = le32(b, 0x3fc);
            let computed = crc32c(!0, b.get(..0x3fc).unwrap_or_default());
            if b.get(0x175) != Some(&1) || stored != computed {
                return Err(c("superblock checksum mismatch".into()));
            }
        }

        let log = le32(b, 0x18);
        if log > 6 {
            return Err(c(format!(
                "block size 2^{} is not 1 KiB..64 KiB",
                log.saturating_add(10)
            )));
        }
        let block_size = 1024u64 << log;
        let is64 = incompat & INCOMPAT_64BIT != 0;
        let hi = if is64 { u64::from(le32(b, 0x150)) } else { 0 };
        let blocks_count = (hi << 32) | u64::from(le32(b, 0x4));
        let first_data_block = u64::from(le32(b, 0x14));
        if blocks_count.checked_mul(block_size).is_none() {
            return Err(c("block count overflows".into()));
        }
        if first_data_block >= blocks_count
            || (block_size == 1024 && first_data_block != 1 && ro_compat & RO_COMPAT_BIGALLOC == 0)
        {
            return Err(c(format!("first data block {first_data_block} is invalid")));
        }

        let bpg = u64::from(le32(b, 0x20));
        let per_group_max = block_size * 8; // a group's bitmap is one block
        let cpg = u64::from(le32(b, 0x24));
        let bpg_ok = if ro_compat & RO_COMPAT_BIGALLOC != 0 {
            let clog = le32(b, 0x1c);
            clog >= log
                && clog <= 30
                && cpg > 0
                && cpg <= per_group_max
                && Some(bpg) == cpg.checked_mul(1u64 << (clog - log))
        } else {
            bpg > 0 && bpg <= per_group_max
        };
        if !bpg_ok {
            return Err(c(format!("blocks per group {bpg} is invalid")));
        }
        let groups64 = (blocks_count - first_data_block).div_ceil(bpg); // first_data_block < blocks_count
        let groups = u32::try_from(groups64).map_err(|_| c("too many block groups".into()))?;

        let inodes_per_group = le32(b, 0x28);
        let inodes_count = le32(b, 0x0);
        let rev = le32(b, 0x4c);
        let inode_size = if rev == 0 {
            128
        } else {
            u64::from(le16(b, 0x58))
        };
        if inode_size < 128 || !inode_size.is_power_of_two() || inode_size > block_size {
            return Err(c(format!("inode size {inode_size} is invalid")));
        }
        if inodes_per_group == 0
            || u64::from(inodes_per_group) > per_group_max
            || u64::from(inodes_per_group) * u64::from(groups) != u64::from(inodes_count)
        {
            return Err(c(format!(
                "inode geometry is inconsistent ({inodes_per_group} per group, {groups} groups, {inodes_count} inodes)"
            )));
        }
        let desc_size = if is64 { u64::from(le16(b, 0xfe)) } else { 32 };
        if is64 && !(64..=1024).contains(&desc_size) || !desc_size.is_power_of_two() {
            return Err(c(format!("group descriptor size {desc_size} is invalid")));
        }
        let sb = Superblock {
            fs_type,
            block_size,
            blocks_count,
            first_data_block,
            blocks_per_group: bpg,
            inodes_per_group,
            inodes_count,
            groups,
            inode_size,
            desc_size,
            first_meta_bg: le32(b, 0x104),
            backup_bgs: [le32(b, 0x24c), le32(b, 0x250)],
            compat,
            incompat,
            ro_compat,
            journal_inum: le32(b, 0xe0),
            journal_backup: (b.get(0xfd) == Some(&1))
                .then(|| std::array::from_fn(|i| le32(b, 0x10c + 4 * i))),
            hash_seed: [le32(b, 0xec), le32(b, 0xf0), le32(b, 0xf4), le32(b, 0xf8)],
            flags: le32(b, 0x160),
            encoding: le16(b, 0x27c),
            uuid: array16(b, 0x68),
            label: array16(b, 0x78),
        };
        sb.check_descriptor_table()?;
        Ok(sb)
    }

    /// The classic descriptor table (everything before `s_first_meta_bg` with meta_bg)
    /// must end inside the filesystem; meta_bg blocks are checked when read.
    fn check_descriptor_table(&self) -> Result<(), FsError> {
        let per_block = self.block_size / self.desc_size;
        let table_groups = if self.has_incompat(INCOMPAT_META_BG) {
            u64::from(self.first_meta_bg)
                .saturating_mul(per_block)
                .min(u64::from(self.groups))
        } else {
            u64::from(self.groups)
        };
        let table_blocks = table_groups.div_ceil(per_block);
        match self.descriptor_table_start().checked_add(table_blocks) {
            Some(end) if end <= self.blocks_count => Ok(()),
            _ => Err(self.corrupt(format!(
                "group descriptor table ({table_blocks} blocks) exceeds the filesystem"
            ))),
        }
    }

    /// Bytes the filesystem claims.
    pub fn bytes(&self) -> u64 {
        self.blocks_count * self.block_size // checked in parse
    }

    pub fn has_incompat(&self, bit: u32) -> bool {
        self.incompat & bit != 0
    }

    pub fn has_dir_index(&self) -> bool {
        self.compat & COMPAT_DIR_INDEX != 0
    }

    /// `EXT2_FLAGS_UNSIGNED_HASH`: names were hashed as unsigned chars.
    pub fn unsigned_hash(&self) -> bool {
        self.flags & 0x2 != 0
    }

    pub fn uses_group_checksums(&self) -> bool {
        self.ro_compat & (RO_COMPAT_GDT_CSUM | RO_COMPAT_METADATA_CSUM) != 0
    }

    pub fn is_64bit(&self) -> bool {
        self.has_incompat(INCOMPAT_64BIT)
    }

    pub fn corrupt(&self, detail: String) -> FsError {
        corrupt(self.fs_type.as_str(), detail)
    }

    /// Byte offset of group `g`'s descriptor (e2fsprogs' `ext2fs_descriptor_block_loc2`).
    pub fn descriptor_offset(&self, g: u32) -> Result<u64, FsError> {
        let per_block = self.block_size / self.desc_size; // desc_size <= block_size
        let index = u64::from(g) / per_block;
        let within = (u64::from(g) % per_block) * self.desc_size;
        let block = if !self.has_incompat(INCOMPAT_META_BG) || index < u64::from(self.first_meta_bg)
        {
            self.descriptor_table_start() + index // checked against blocks_count in parse
        } else {
            let first = index * per_block; // < groups + per_block, fits u64
            let g0 =
                u32::try_from(first).map_err(|_| self.corrupt("meta_bg group overflows".into()))?;
            let adjust =
                u64::from(first == 0 && self.block_size == 1024 && self.first_data_block == 0);
            self.group_first_block(g0)
                .checked_add(u64::from(self.group_has_super(g0)) + adjust)
                .ok_or_else(|| self.corrupt("meta_bg descriptor block overflows".into()))?
        };
        if block >= self.blocks_count {
            return Err(self.corrupt(format!(
                "descriptor block of group {g} is outside the filesystem"
            )));
        }
        Ok(block * self.block_size + within) // block < blocks_count, and blocks_count*block_size fits
    }

    /// First block of the classic descriptor table: the block after the superblock's.
    /// With 1 KiB blocks the superblock is block 1 even when `s_first_data_block` is 0
    /// (bigalloc), as in e2fsprogs' `ext2fs_descriptor_block_loc2`.
    fn descriptor_table_start(&self) -> u64 {
        self.first_data_block
            .max(u64::from(self.block_size == 1024))
            + 1
    }

    fn group_first_block(&self, g: u32) -> u64 {
        // g < groups, so this is below blocks_count + blocks_per_group: no overflow.
        self.first_data_block
            .saturating_add(u64::from(g).saturating_mul(self.blocks_per_group))
    }

    /// Whether group `g` carries a superblock backup (`ext2fs_bg_has_super`).
    fn group_has_super(&self, g: u32) -> bool {
        if g == 0 {
            return true;
        }
        if self.compat & COMPAT_SPARSE_SUPER2 != 0 {
            return self.backup_bgs.contains(&g);
        }
        if g <= 1 || self.ro_compat & RO_COMPAT_SPARSE_SUPER == 0 {
            return true;
        }
        g & 1 == 1 && [3u32, 5, 7].iter().any(|&r| is_power_of(g, r))
    }
}

fn is_power_of(mut n: u32, r: u32) -> bool {
    while n > 1 && n.is_multiple_of(r) {
        n /= r;
    }
    n == 1
}

fn array16(b: &[u8], off: usize) -> [u8; 16] {
    let mut a = [0u8; 16];
    if let Some(s) = b.get(off..off + 16) {
        a.copy_from_slice(s);
    }
    a
}

/// blkid's naming (libblkid `superblocks/ext.c`): ext2 has no journal and no feature beyond
/// ext2's set; ext3 has a journal and nothing beyond ext3's set; anything else is ext4
/// (blkid's ext4dev, the test_fs flag, is named by its features here).
pub(super) fn blkid_type(compat: u32, incompat: u32, ro_compat: u32) -> FsType {
    const RO_EXT3: u32 = 0x1 | 0x2 | 0x4; // sparse_super, large_file, btree_dir
    const INCOMPAT_EXT2: u32 = INCOMPAT_FILETYPE | INCOMPAT_META_BG;
    const INCOMPAT_EXT3: u32 = INCOMPAT_EXT2 | INCOMPAT_RECOVER;
    let journal = compat & COMPAT_HAS_JOURNAL != 0;
    if ro_compat & !RO_EXT3 != 0 || incompat & !INCOMPAT_EXT3 != 0 {
        FsType::Ext4
    } else if journal {
        FsType::Ext3
    } else {
        FsType::Ext2
    }
}

/// Refuses the filesystem-wide features we cannot read. Per-inode features (inline data,
/// encryption, casefold) are refused only when a path actually uses them.
fn check_features(fs_type: FsType, incompat: u32) -> Result<(), FsError> {
    let refuse = |feature: String| FsError::UnsupportedFeature {
        fs: fs_type.as_str(),
        feature,
    };
    let unknown = incompat & !INCOMPAT_KNOWN;
    if unknown != 0 {
        return Err(refuse(format!("incompat 0x{unknown:x}")));
    }
    if incompat & INCOMPAT_COMPRESSION != 0 {
        return Err(refuse("compression".into()));
    }
    if incompat & INCOMPAT_JOURNAL_DEV != 0 {
        return Err(refuse(
            "journal_dev (an external journal, not a filesystem)".into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blkid_names() {
        assert_eq!(blkid_type(0, 0x2, 0x3), FsType::Ext2);
        assert_eq!(blkid_type(0x4, 0x2 | 0x4, 0x3), FsType::Ext3);
        assert_eq!(blkid_type(0x4, 0x2 | 0x40, 0x3), FsType::Ext4);
        assert_eq!(blkid_type(0, 0x2, 0x3 | 0x400), FsType::Ext4);
        assert_eq!(blkid_type(0x4, 0x2 | 0x10, 0x7), FsType::Ext3);
    }

    #[test]
    fn sparse_super_groups() {
        let backups: Vec<u32> = (0..130)
            .filter(|&g| g <= 1 || (g & 1 == 1 && [3, 5, 7].iter().any(|&r| is_power_of(g, r))))
            .collect();
        assert_eq!(backups, vec![0, 1, 3, 5, 7, 9, 25, 27, 49, 81, 125]);
    }

    fn minimal() -> Vec<u8> {
        let mut b = vec![0u8; SB_SIZE];
        let put =
            |b: &mut Vec<u8>, off: usize, v: u32| b[off..off + 4].copy_from_slice(&v.to_le_bytes());
        put(&mut b, 0x0, 128); // inodes
        put(&mut b, 0x4, 1024); // blocks
        put(&mut b, 0x14, 1); // first data block
        put(&mut b, 0x20, 8192);
        put(&mut b, 0x24, 8192);
        put(&mut b, 0x28, 128);
        put(&mut b, 0x4c, 1);
        b[0x38..0x3a].copy_from_slice(&MAGIC.to_le_bytes());
        b[0x58..0x5a].copy_from_slice(&256u16.to_le_bytes());
        put(&mut b, 0x60, INCOMPAT_FILETYPE);
        b
    }

    #[test]
    fn accepts_a_minimal_ext2() {
        let sb = Superblock::parse(&minimal()).unwrap();
        assert_eq!(sb.fs_type, FsType::Ext2);
        assert_eq!(sb.groups, 1);
        assert_eq!(sb.descriptor_offset(0).unwrap(), 2048);
    }

    #[test]
    fn rejects_inconsistent_group_counts() {
        let mut b = minimal();
        b[0x4..0x8].copy_from_slice(&u32::MAX.to_le_bytes()); // ext4-view would allocate for 2^32 groups
        b[0x20..0x24].copy_from_slice(&1u32.to_le_bytes());
        let err = Superblock::parse(&b).unwrap_err();
        assert!(err.to_string().contains("inode geometry"), "{err}");
    }

    #[test]
    fn rejects_hostile_counts() {
        for (off, v) in [
            (0x20usize, 0u32),
            (0x28, 0),
            (0x28, 1 << 20),
            (0x18, 7),
            (0x58, 100),
            (0x0, 129),
        ] {
            let mut b = minimal();
            if off == 0x58 {
                b[off..off + 2].copy_from_slice(&(v as u16).to_le_bytes());
            } else {
                b[off..off + 4].copy_from_slice(&v.to_le_bytes());
            }
            assert!(Superblock::parse(&b).is_err(), "offset {off:#x} value {v}");
        }
    }

    #[test]
    fn refuses_unknown_incompat_features() {
        let mut b = minimal();
        b[0x60..0x64].copy_from_slice(&(INCOMPAT_FILETYPE | 0x800).to_le_bytes());
        let err = Superblock::parse(&b).unwrap_err();
        assert_eq!(err.to_string(), "unsupported ext4 feature incompat 0x800");
    }
}
