//! Inodes: locating one by number, verifying it (magic, v3 checksum, number and UUID), and
//! the parts of its core and data fork the reader uses.

use super::sb::Superblock;
use super::{be16, be32, be64, crc_ok, Volume};
use crate::fs::{FileKind, FsError};

const MAGIC: u16 = 0x494e; // "IN"
/// Core sizes: v1/v2 inodes (v4 filesystems) and v3 inodes (v5).
const CORE_V2: usize = 100;
const CORE_V3: usize = 176;
/// `di_flags2` bit: the extent counters are 64/32 bits wide.
const FLAG2_NREXT64: u64 = 1 << 4;

/// How the data fork is stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Format {
    /// Device inodes: no data.
    Dev,
    /// Bytes inside the inode (short directories, short symlinks).
    Local,
    Extents,
    Btree,
}

/// One inode, with its data fork bytes copied out.
#[derive(Clone, Debug)]
pub(super) struct Inode {
    pub ino: u64,
    pub mode: u16,
    pub size: u64,
    pub format: Format,
    /// Data extents (the count the inode states, not yet checked against the fork).
    pub nextents: u64,
    /// The data fork: from the end of the core to the attribute fork (or inode end).
    pub fork: Vec<u8>,
}

impl Inode {
    pub fn kind(&self) -> FileKind {
        match self.mode & 0o170000 {
            0o100000 => FileKind::File,
            0o040000 => FileKind::Dir,
            0o120000 => FileKind::Symlink,
            _ => FileKind::Other,
        }
    }
}

impl Volume {
    /// Reads and verifies inode `ino`.
    pub(super) fn inode(&self, ino: u64) -> Result<Inode, FsError> {
        let sb = &self.sb;
        let off = inode_offset(sb, ino)
            .ok_or_else(|| self.corrupt(format!("inode {ino} is outside the filesystem")))?;
        let mut raw = vec![0u8; sb.inode_size as usize]; // <= 2 KiB, checked in sb
        self.slice.read_exact_at(off, &mut raw)?;
        parse(sb, ino, &raw).map_err(|what| self.corrupt(format!("inode {ino}: {what}")))
    }
}

/// Partition byte offset of inode `ino`, or `None` if it cannot exist.
fn inode_offset(sb: &Superblock, ino: u64) -> Option<u64> {
    let agino_bits = sb.ag_blk_log + sb.inop_log;
    let agno = ino.checked_shr(agino_bits)?;
    let agino = ino & ((1u64 << agino_bits) - 1);
    let agbno = agino >> sb.inop_log;
    let slot = agino & ((1u64 << sb.inop_log) - 1);
    if agno >= sb.ag_count || agbno >= sb.ag_blocks {
        return None;
    }
    let block = agno.checked_mul(sb.ag_blocks)?.checked_add(agbno)?;
    if block >= sb.dblocks {
        return None;
    }
    (block << sb.block_log).checked_add(slot * sb.inode_size)
}

fn parse(sb: &Superblock, ino: u64, raw: &[u8]) -> Result<Inode, String> {
    if be16(raw, 0) != MAGIC {
        return Err("bad magic".into());
    }
    let version = raw.get(4).copied().unwrap_or(0);
    let core = match (sb.v5, version) {
        (true, 3) => CORE_V3,
        (false, 1 | 2) => CORE_V2,
        _ => return Err(format!("unexpected inode version {version}")),
    };
    if sb.v5 {
        if !crc_ok(raw, 100) {
            return Err("checksum mismatch".into());
        }
        if be64(raw, 152) != ino {
            return Err("records another inode number".into());
        }
        if raw.get(160..176) != Some(&sb.meta_uuid[..]) {
            return Err("belongs to another filesystem (UUID)".into());
        }
    }
    let format = match raw.get(5).copied().unwrap_or(0) {
        0 => Format::Dev,
        1 => Format::Local,
        2 => Format::Extents,
        3 => Format::Btree,
        f => return Err(format!("unknown data fork format {f}")),
    };
    let forkoff = usize::from(raw.get(82).copied().unwrap_or(0)) * 8;
    let fork_end = if forkoff == 0 {
        raw.len()
    } else {
        core + forkoff
    };
    let fork = raw
        .get(core..fork_end)
        .ok_or_else(|| "attribute fork offset is outside the inode".to_owned())?
        .to_vec();
    let nrext64 = core == CORE_V3 && be64(raw, 120) & FLAG2_NREXT64 != 0;
    let nextents = if nrext64 {
        be64(raw, 24)
    } else {
        u64::from(be32(raw, 76))
    };
    let size = be64(raw, 56);
    if size > i64::MAX as u64 {
        return Err("negative size".into());
    }
    Ok(Inode {
        ino,
        mode: be16(raw, 2),
        size,
        format,
        nextents,
        fork,
    })
}
