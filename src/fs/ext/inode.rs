//! Inodes: located through their group descriptor, read raw, decoded into the few fields
//! we use.

use super::superblock::INCOMPAT_LARGEDIR;
use super::volume::Volume;
use super::{le16, le32};
use crate::fs::{FileKind, FsError};

/// The root directory's inode number.
pub(super) const ROOT: u32 = 2;

pub(super) const FL_ENCRYPT: u32 = 0x800;
pub(super) const FL_EXTENTS: u32 = 0x8_0000;
pub(super) const FL_INLINE_DATA: u32 = 0x1000_0000;
pub(super) const FL_CASEFOLD: u32 = 0x4000_0000;

/// The fields of an on-disk inode we use.
#[derive(Clone, Debug)]
pub(super) struct Inode {
    pub ino: u32,
    pub mode: u16,
    pub flags: u32,
    pub size: u64,
    /// `i_block`: block pointers, the extent tree root, or inline data / a fast symlink.
    pub block: [u8; 60],
    /// The whole raw inode (at most one block), for inline data stored past `i_block`.
    pub raw: Vec<u8>,
}

impl Inode {
    pub fn kind(&self) -> FileKind {
        match self.mode & 0xF000 {
            0x4000 => FileKind::Dir,
            0x8000 => FileKind::File,
            0xA000 => FileKind::Symlink,
            _ => FileKind::Other,
        }
    }

    pub fn has(&self, flag: u32) -> bool {
        self.flags & flag != 0
    }
}

impl Volume {
    /// Reads inode `ino`. An unused inode (mode 0, no links, or in a part of the inode
    /// table the group descriptor marks uninitialised) is an error: a directory entry
    /// pointing at it is corruption.
    pub fn inode(&self, ino: u32) -> Result<Inode, FsError> {
        let sb = &self.sb;
        if ino == 0 || ino > sb.inodes_count {
            return Err(sb.corrupt(format!("inode number {ino} is out of range")));
        }
        let group = (ino - 1) / sb.inodes_per_group;
        let idx = (ino - 1) % sb.inodes_per_group;
        let (table, init) = self.inode_table(group, idx)?;
        if !init {
            return Err(sb.corrupt(format!("inode {ino} is in an uninitialised inode table")));
        }
        let byte = u64::from(idx) * sb.inode_size; // < 8*bs*bs: fits
        let blk = table
            .checked_add(byte / sb.block_size)
            .ok_or_else(|| sb.corrupt(format!("inode table of group {group} overflows")))?;
        let mut raw = vec![0u8; usize::try_from(sb.inode_size).unwrap_or(128)];
        self.read_block(blk, byte % sb.block_size, &mut raw, &|| format!("inode table of group {group}"))?;
        let mode = le16(&raw, 0x0);
        if mode == 0 || le16(&raw, 0x1a) == 0 {
            return Err(sb.corrupt(format!("inode {ino} is unused")));
        }
        let is_reg = mode & 0xF000 == 0x8000;
        let hi = if is_reg || sb.has_incompat(INCOMPAT_LARGEDIR) { u64::from(le32(&raw, 0x6c)) } else { 0 };
        let mut block = [0u8; 60];
        if let Some(s) = raw.get(0x28..0x64) {
            block.copy_from_slice(s);
        }
        Ok(Inode {
            ino,
            mode,
            flags: le32(&raw, 0x20),
            size: (hi << 32) | u64::from(le32(&raw, 0x4)),
            block,
            raw,
        })
    }
}
