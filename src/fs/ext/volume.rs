//! The filesystem as an array of blocks: bounds-checked block reads (seen through the
//! in-memory journal replay, when there is one) and group-descriptor lookups.

use super::journal::JournalMap;
use super::le32;
use super::superblock::Superblock;
use crate::disk::Slice;
use crate::fs::FsError;

/// A validated superblock over its partition.
pub(super) struct Volume {
    pub slice: Slice,
    pub sb: Superblock,
    pub journal: JournalMap,
}

/// Where a run of filesystem blocks can be read from.
pub(super) struct Source {
    /// Byte offset in the partition.
    pub offset: u64,
    /// Blocks readable contiguously from there (at least 1).
    pub blocks: u64,
}

impl Volume {
    pub fn block_size(&self) -> u64 {
        self.sb.block_size
    }

    /// Checks that blocks `blk..blk+count` lie inside the filesystem.
    pub fn check_range(
        &self,
        blk: u64,
        count: u64,
        what: &dyn Fn() -> String,
    ) -> Result<(), FsError> {
        match blk.checked_add(count) {
            Some(end) if blk > 0 && end <= self.sb.blocks_count => Ok(()),
            _ => Err(self.sb.corrupt(format!(
                "{} points at blocks {blk}+{count}, outside the filesystem",
                what()
            ))),
        }
    }

    /// Where to read up to `count` blocks starting at filesystem block `blk` (already
    /// range-checked): the journal's newer copy of `blk`, or the run of on-disk blocks up to
    /// the next block the journal replaces.
    pub fn source(&self, blk: u64, count: u64) -> Source {
        let bs = self.sb.block_size;
        if let Some(jblk) = self.journal.get(blk) {
            return Source {
                offset: jblk * bs,
                blocks: 1,
            };
        }
        let blocks = match self.journal.next_mapped(blk) {
            Some(next) => count.min(next - blk), // next > blk
            None => count,
        };
        Source {
            offset: blk * bs,
            blocks: blocks.max(1),
        }
    }

    /// Reads `buf.len()` bytes at byte `off` of block `blk`; the read stays inside the block.
    pub fn read_block(
        &self,
        blk: u64,
        off: u64,
        buf: &mut [u8],
        what: &dyn Fn() -> String,
    ) -> Result<(), FsError> {
        self.check_range(blk, 1, what)?;
        let len = buf.len() as u64;
        if off
            .checked_add(len)
            .is_none_or(|end| end > self.sb.block_size)
        {
            return Err(self.sb.corrupt(format!(
                "{}: read of {len} bytes at {off} crosses a block",
                what()
            )));
        }
        let src = self.source(blk, 1);
        Ok(self.slice.read_exact_at(src.offset + off, buf)?) // inside the validated filesystem
    }

    /// Reads a whole block.
    pub fn block(&self, blk: u64, what: &dyn Fn() -> String) -> Result<Vec<u8>, FsError> {
        let mut buf = vec![0u8; usize::try_from(self.sb.block_size).unwrap_or(1024)];
        self.read_block(blk, 0, &mut buf, what)?;
        Ok(buf)
    }

    /// The inode table of group `g` and whether inode index `idx` in it is initialised.
    pub fn inode_table(&self, g: u32, idx: u32) -> Result<(u64, bool), FsError> {
        let at = self.sb.descriptor_offset(g)?;
        let bs = self.sb.block_size;
        let mut d = [0u8; 64];
        let len = usize::try_from(self.sb.desc_size.min(64)).unwrap_or(32);
        let d = d.get_mut(..len).unwrap_or_default();
        self.read_block(at / bs, at % bs, d, &|| format!("descriptor of group {g}"))?;
        let hi = if self.sb.is_64bit() {
            u64::from(le32(d, 0x28))
        } else {
            0
        };
        let table = (hi << 32) | u64::from(le32(d, 0x8));
        let flags = super::le16(d, 0x12);
        let unused_hi = if self.sb.is_64bit() {
            u32::from(super::le16(d, 0x32))
        } else {
            0
        };
        let unused = (unused_hi << 16) | u32::from(super::le16(d, 0x1c));
        let init = !self.sb.uses_group_checksums()
            || (flags & 0x1 == 0 && idx < self.sb.inodes_per_group.saturating_sub(unused));
        Ok((table, init))
    }
}
