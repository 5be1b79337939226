//! Block maps: a data fork's extent list, read from the inode (extents format) or from its
//! B+tree (btree format). The tree walk is bounded in depth, in blocks visited and in
//! extents kept; every node's level must be one less than its parent's, so no path can
//! revisit itself, and extents must come in increasing, non-overlapping file order, so a
//! tree whose pointers are shared or crossed is refused instead of read twice.

use super::inode::{Format, Inode};
use super::{be16, be32, be64, crc_ok, Volume};
use crate::fs::FsError;
use crate::limits::{XFS_MAX_BMAP_BLOCKS, XFS_MAX_BMAP_LEVELS, XFS_MAX_EXTENTS};

const BMAP_MAGIC: u32 = 0x424d_4150; // "BMAP" (v4)
const BMA3_MAGIC: u32 = 0x424d_4133; // "BMA3" (v5)
/// Long-form btree block header sizes, and where v5 keeps its checksum.
const HDR_V4: usize = 24;
const HDR_V5: usize = 72;
const CRC_OFF: usize = 64;

/// One mapped range of a file, in filesystem blocks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Extent {
    /// First file block.
    pub file_block: u64,
    /// Partition byte offset of its first block.
    pub offset: u64,
    pub blocks: u64,
    /// Preallocated, never written: reads as zeros.
    pub unwritten: bool,
}

impl Volume {
    /// The data fork's extents in file order. Local and device forks have none.
    pub(super) fn extents(&self, inode: &Inode) -> Result<Vec<Extent>, FsError> {
        let err = |what: String| self.corrupt(format!("inode {}: {what}", inode.ino));
        let mut out = Extents::default();
        match inode.format {
            Format::Local | Format::Dev => {}
            Format::Extents => {
                let n = usize::try_from(inode.nextents).unwrap_or(usize::MAX);
                if n > inode.fork.len() / 16 {
                    return Err(err(format!(
                        "{} extents do not fit its fork",
                        inode.nextents
                    )));
                }
                for rec in inode.fork.chunks_exact(16).take(n) {
                    self.push_record(&mut out, rec).map_err(err)?;
                }
            }
            Format::Btree => self.walk_root(inode, &mut out).map_err(|e| match e {
                Walk::Fs(e) => e,
                Walk::Bad(what) => err(what),
            })?,
        }
        Ok(out.list)
    }

    fn walk_root(&self, inode: &Inode, out: &mut Extents) -> Result<(), Walk> {
        let f = &inode.fork;
        let level = be16(f, 0);
        let numrecs = usize::from(be16(f, 2));
        let maxrecs = f.len().saturating_sub(4) / 16;
        if level == 0
            || usize::from(level) > XFS_MAX_BMAP_LEVELS
            || numrecs == 0
            || numrecs > maxrecs
        {
            return Err(Walk::Bad("malformed extent tree root".into()));
        }
        let ptrs = 4 + maxrecs * 8;
        for i in 0..numrecs {
            let ptr = be64(f, ptrs + i * 8);
            self.walk_node(inode.ino, ptr, level - 1, out)?;
        }
        Ok(())
    }

    /// Visits the subtree at filesystem block `fsb`, which must be at `level`. Recursion
    /// depth is bounded by the root's level (at most [`XFS_MAX_BMAP_LEVELS`]).
    fn walk_node(&self, ino: u64, fsb: u64, level: u16, out: &mut Extents) -> Result<(), Walk> {
        out.blocks += 1;
        if out.blocks > XFS_MAX_BMAP_BLOCKS {
            return Err(Walk::Bad(format!(
                "extent tree has more than {XFS_MAX_BMAP_BLOCKS} blocks"
            )));
        }
        let bs = self.sb.block_size as usize;
        let off = self.fsb_offset(fsb, 1).ok_or_else(|| {
            Walk::Bad(format!("extent tree block {fsb} is outside the filesystem"))
        })?;
        let mut blk = vec![0u8; bs];
        self.slice
            .read_exact_at(off, &mut blk)
            .map_err(|e| Walk::Fs(e.into()))?;
        let hdr = if self.sb.v5 {
            if be32(&blk, 0) != BMA3_MAGIC || !crc_ok(&blk, CRC_OFF) {
                return Err(Walk::Bad(
                    "extent tree block has a bad magic or checksum".into(),
                ));
            }
            if be64(&blk, 56) != ino || be64(&blk, 24) != off >> 9 {
                return Err(Walk::Bad("extent tree block belongs elsewhere".into()));
            }
            if blk.get(40..56) != Some(&self.sb.meta_uuid[..]) {
                return Err(Walk::Bad(
                    "extent tree block has another filesystem's UUID".into(),
                ));
            }
            HDR_V5
        } else {
            if be32(&blk, 0) != BMAP_MAGIC {
                return Err(Walk::Bad("extent tree block has a bad magic".into()));
            }
            HDR_V4
        };
        if be16(&blk, 4) != level {
            return Err(Walk::Bad("extent tree levels are inconsistent".into()));
        }
        let numrecs = usize::from(be16(&blk, 6));
        let body = bs - hdr;
        if level == 0 {
            // An empty leaf maps nothing; refusing it also means a leaf reached twice (a
            // shared pointer) always adds out-of-order extents and stops the walk.
            if numrecs == 0 || numrecs > body / 16 {
                return Err(Walk::Bad(
                    "extent tree leaf is empty or overflows its block".into(),
                ));
            }
            for rec in blk
                .get(hdr..)
                .unwrap_or_default()
                .chunks_exact(16)
                .take(numrecs)
            {
                self.push_record(out, rec).map_err(Walk::Bad)?;
            }
            return Ok(());
        }
        let maxrecs = body / 16;
        if numrecs == 0 || numrecs > maxrecs {
            return Err(Walk::Bad("extent tree node overflows its block".into()));
        }
        let ptrs = hdr + maxrecs * 8;
        for i in 0..numrecs {
            self.walk_node(ino, be64(&blk, ptrs + i * 8), level - 1, out)?;
        }
        Ok(())
    }

    /// Decodes one packed 128-bit extent record and appends it, checking order and bounds.
    fn push_record(&self, out: &mut Extents, rec: &[u8]) -> Result<(), String> {
        let l0 = be64(rec, 0);
        let l1 = be64(rec, 8);
        let unwritten = l0 >> 63 != 0;
        let file_block = (l0 & ((1 << 63) - 1)) >> 9;
        let fsb = ((l0 & 0x1ff) << 43) | (l1 >> 21);
        let blocks = l1 & ((1 << 21) - 1);
        if blocks == 0 {
            return Err("zero-length extent".into());
        }
        if file_block < out.next_block {
            return Err("extents overlap or are out of order".into());
        }
        let offset = self.fsb_offset(fsb, blocks).ok_or_else(|| {
            format!("extent at block {fsb} (+{blocks}) is outside the filesystem")
        })?;
        if out.list.len() >= XFS_MAX_EXTENTS {
            return Err(format!("more than {XFS_MAX_EXTENTS} extents"));
        }
        out.next_block = file_block + blocks; // both < 2^54
        out.list.push(Extent {
            file_block,
            offset,
            blocks,
            unwritten,
        });
        Ok(())
    }

    /// Partition byte offset of the `count` blocks starting at filesystem block `fsb` (AG
    /// number in the high bits), or `None` unless they lie inside one AG and the filesystem.
    pub(super) fn fsb_offset(&self, fsb: u64, count: u64) -> Option<u64> {
        let sb = &self.sb;
        let agno = fsb >> sb.ag_blk_log;
        let agbno = fsb & ((1u64 << sb.ag_blk_log) - 1);
        if agno >= sb.ag_count || agbno.checked_add(count)? > sb.ag_blocks {
            return None;
        }
        let block = agno * sb.ag_blocks + agbno; // < 2^64: agcount, agblocks < 2^32
        if block.checked_add(count)? > sb.dblocks {
            return None;
        }
        Some(block << sb.block_log)
    }
}

#[derive(Default)]
struct Extents {
    list: Vec<Extent>,
    next_block: u64,
    blocks: u64,
}

enum Walk {
    Fs(FsError),
    Bad(String),
}
