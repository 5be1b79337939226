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
    /// Where the raw inode lies: filesystem block and byte offset in it.
    pub blk: u64,
    pub off: u64,
}

/// Inline data (`inline_data` feature): the bytes in `i_block`, then the value of the
/// `system.data` extended attribute in the inode body. Byte ranges within [`Inode::raw`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct InlineParts {
    pub first: (usize, usize),
    pub rest: (usize, usize),
}

const XATTR_MAGIC: u32 = 0xEA02_0000;
const XATTR_INDEX_SYSTEM: u8 = 7;

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

    /// Locates the inline data; `None` from the parser means the inode body is malformed.
    pub fn inline_parts(&self) -> Option<InlineParts> {
        let first = (0x28, 60);
        let Some(value) = self.system_data()? else {
            return Some(InlineParts {
                first,
                rest: (0, 0),
            });
        };
        Some(InlineParts { first, rest: value })
    }

    /// The `system.data` value in the in-inode extended attributes: `Some(None)` when
    /// there is none, `None` when the attribute area is malformed.
    fn system_data(&self) -> Option<Option<(usize, usize)>> {
        let raw = &self.raw;
        if raw.len() <= 128 {
            return Some(None);
        }
        let start = 128usize.checked_add(usize::from(le16(raw, 0x80)))?;
        if start.checked_add(4)? > raw.len() || le32(raw, start) != XATTR_MAGIC {
            return Some(None);
        }
        let first = start + 4;
        let mut pos = first;
        // Each entry is at least 16 bytes, so this walks at most raw.len()/16 entries.
        while pos + 16 <= raw.len() && le32(raw, pos) != 0 {
            let name_len = usize::from(*raw.get(pos)?);
            let index = *raw.get(pos + 1)?;
            let value_offs = usize::from(le16(raw, pos + 2));
            let value_inum = le32(raw, pos + 4);
            let value_size = usize::try_from(le32(raw, pos + 8)).ok()?;
            let name = raw.get(pos + 16..pos + 16 + name_len)?;
            if index == XATTR_INDEX_SYSTEM && name == b"data" {
                let at = first.checked_add(value_offs)?;
                if value_inum != 0 || at.checked_add(value_size)? > raw.len() {
                    return None;
                }
                return Some(Some((at, value_size)));
            }
            pos += (name_len + 16 + 3) & !3;
        }
        Some(None)
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
        self.read_block(blk, byte % sb.block_size, &mut raw, &|| {
            format!("inode table of group {group}")
        })?;
        let mode = le16(&raw, 0x0);
        if mode == 0 || le16(&raw, 0x1a) == 0 {
            return Err(sb.corrupt(format!("inode {ino} is unused")));
        }
        let is_reg = mode & 0xF000 == 0x8000;
        let hi = if is_reg || sb.has_incompat(INCOMPAT_LARGEDIR) {
            u64::from(le32(&raw, 0x6c))
        } else {
            0
        };
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
            blk,
            off: byte % sb.block_size,
        })
    }
}
