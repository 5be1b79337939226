//! Logical-to-physical block mapping of one inode: extent trees (ext4) and indirect block
//! maps (ext2/3). Every call maps at least one block (or one block of hole), and visits at
//! most one root-to-leaf path, so a hostile tree costs at most 5 block reads per call: no
//! loop over entries that map nothing (zero-length extents, empty leaves) can spin.

use super::inode::{Inode, FL_EXTENTS};
use super::volume::Volume;
use super::{le16, le32};
use crate::fs::FsError;

/// A run of logical blocks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Run {
    /// `len` blocks stored from filesystem block `start` on.
    Mapped { start: u64, len: u64 },
    /// `len` blocks that read as zeros: a hole or an unwritten (preallocated) extent.
    Zero { len: u64 },
}

const EXT_MAGIC: u16 = 0xF30A;
const MAX_DEPTH: u16 = 5;
/// ee_len above this marks an unwritten extent (its length is ee_len - 32768).
const INIT_MAX_LEN: u16 = 32768;

/// Maps the blocks of one inode, caching the last leaf read so sequential mapping of a
/// fragmented file does not re-read the tree.
pub(super) struct Mapper<'v> {
    vol: &'v Volume,
    ino: u32,
    root: [u8; 60],
    extents: bool,
    /// Last leaf or indirect block read: (block number, contents).
    cache: Vec<(u64, Vec<u8>)>,
}

impl<'v> Mapper<'v> {
    pub fn new(vol: &'v Volume, inode: &Inode) -> Mapper<'v> {
        Mapper {
            vol,
            ino: inode.ino,
            root: inode.block,
            extents: inode.has(FL_EXTENTS),
            cache: Vec::new(),
        }
    }

    /// The run that starts at logical block `lblk`.
    pub fn map(&mut self, lblk: u64) -> Result<Run, FsError> {
        let run = if self.extents {
            self.map_extent(lblk)?
        } else {
            self.map_indirect(lblk)?
        };
        if let Run::Mapped { start, len } = run {
            let ino = self.ino;
            self.vol
                .check_range(start, len, &|| format!("inode {ino}"))?;
        }
        Ok(run)
    }

    fn corrupt(&self, what: &str) -> FsError {
        self.vol.sb.corrupt(format!("inode {}: {what}", self.ino))
    }

    /// A block of the tree, cached (the cache holds the last 4 blocks: one path).
    fn node(&mut self, blk: u64) -> Result<Vec<u8>, FsError> {
        if let Some((_, b)) = self.cache.iter().find(|(n, _)| *n == blk) {
            return Ok(b.clone());
        }
        let ino = self.ino;
        let b = self
            .vol
            .block(blk, &|| format!("block map of inode {ino}"))?;
        if self.cache.len() >= 4 {
            self.cache.remove(0);
        }
        self.cache.push((blk, b.clone()));
        Ok(b)
    }

    fn map_extent(&mut self, lblk: u64) -> Result<Run, FsError> {
        let mut node = self.root.to_vec();
        // Exclusive end of the logical range the current subtree may map.
        let mut limit = u64::from(u32::MAX) + 1;
        let mut depth = None;
        if lblk >= limit {
            return Ok(Run::Zero {
                len: (u64::MAX - lblk).max(1),
            });
        }
        loop {
            let (entries, d) = self.extent_header(&node, depth)?;
            if d == 0 {
                return Ok(leaf_run(&node, entries, lblk, limit));
            }
            // Index node: follow the last entry starting at or before lblk.
            let mut chosen = None;
            for i in 0..entries {
                let e = 12 + 12 * i;
                let first = u64::from(le32(&node, e));
                if first <= lblk {
                    chosen = Some(e);
                } else {
                    limit = limit.min(first);
                    break;
                }
            }
            let Some(e) = chosen else {
                return Ok(Run::Zero { len: limit - lblk }); // limit > lblk
            };
            let child = (u64::from(le16(&node, e + 8)) << 32) | u64::from(le32(&node, e + 4));
            node = self.node(child)?;
            depth = Some(d - 1);
        }
    }

    /// Validates an extent node header; returns (entries, depth).
    fn extent_header(&self, node: &[u8], want_depth: Option<u16>) -> Result<(usize, u16), FsError> {
        let (magic, entries, max, depth) =
            (le16(node, 0), le16(node, 2), le16(node, 4), le16(node, 6));
        if magic != EXT_MAGIC {
            return Err(self.corrupt("bad extent header magic"));
        }
        if depth > MAX_DEPTH || want_depth.is_some_and(|w| w != depth) {
            return Err(self.corrupt(&format!("extent tree depth {depth} is invalid")));
        }
        let fits = 12 + 12 * usize::from(entries) <= node.len();
        if entries > max || !fits || (depth > 0 && entries == 0) {
            return Err(self.corrupt(&format!(
                "extent node with {entries} of {max} entries is invalid"
            )));
        }
        Ok((usize::from(entries), depth))
    }

    fn map_indirect(&mut self, lblk: u64) -> Result<Run, FsError> {
        let per = self.vol.block_size() / 4; // pointers per indirect block
        if lblk < 12 {
            let root = self.root;
            return Ok(pointer_run(&root, usize::try_from(lblk).unwrap_or(0), 12));
        }
        // Find the tree (single, double, triple) holding lblk and its index inside it.
        let mut rel = lblk - 12;
        let mut span = per; // blocks covered by the tree at this level
        for level in 0..3usize {
            if rel < span {
                let root = self.root;
                let top = u64::from(le32(&root, 48 + 4 * level));
                return self.walk_indirect(top, level, rel, span / per, per);
            }
            rel -= span;
            span = span.saturating_mul(per);
        }
        Ok(Run::Zero {
            len: (u64::MAX - lblk).max(1),
        }) // past the triple-indirect tree
    }

    /// Descends from indirect block `blk` (covering `per^(level+1)` blocks) to the pointer
    /// for relative block `rel`; `unit` is the span of one pointer at this level.
    fn walk_indirect(
        &mut self,
        mut blk: u64,
        level: usize,
        mut rel: u64,
        mut unit: u64,
        per: u64,
    ) -> Result<Run, FsError> {
        for _ in 0..=level {
            if blk == 0 {
                return Ok(Run::Zero {
                    len: unit * per - rel,
                }); // unit*per > rel
            }
            let ino = self.ino;
            self.vol
                .check_range(blk, 1, &|| format!("indirect block of inode {ino}"))?;
            let node = self.node(blk)?;
            let idx = rel / unit;
            if unit == 1 {
                let count = usize::try_from(per).unwrap_or(0);
                return Ok(pointer_run(&node, usize::try_from(idx).unwrap_or(0), count));
            }
            blk = u64::from(le32(&node, usize::try_from(idx * 4).unwrap_or(0)));
            rel %= unit;
            unit /= per;
        }
        Err(self.corrupt("indirect block walk did not end"))
    }
}

/// The run in a leaf's extents that starts at `lblk`, or the hole before the next one.
fn leaf_run(node: &[u8], entries: usize, lblk: u64, limit: u64) -> Run {
    let mut next = limit;
    for i in 0..entries {
        let e = 12 + 12 * i;
        let first = u64::from(le32(node, e));
        let raw_len = le16(node, e + 4);
        let (len, unwritten) = if raw_len > INIT_MAX_LEN {
            (raw_len - INIT_MAX_LEN, true)
        } else {
            (raw_len, false)
        };
        let start = (u64::from(le16(node, e + 6)) << 32) | u64::from(le32(node, e + 8));
        let end = first + u64::from(len);
        if first <= lblk && lblk < end {
            let len = end.min(limit) - lblk;
            return if unwritten {
                Run::Zero { len }
            } else {
                Run::Mapped {
                    start: start + (lblk - first),
                    len,
                }
            };
        }
        if first > lblk {
            next = next.min(first);
        }
    }
    Run::Zero {
        len: next.max(lblk + 1) - lblk,
    }
}

/// The run starting at pointer `idx` of a `count`-pointer array: consecutive block numbers,
/// or consecutive zero pointers (a hole).
fn pointer_run(ptrs: &[u8], idx: usize, count: usize) -> Run {
    let at = |i: usize| u64::from(le32(ptrs, 4 * i));
    let first = at(idx);
    let mut n = 1u64;
    let mut i = idx + 1;
    while i < count {
        let p = at(i);
        let contiguous = if first == 0 { p == 0 } else { p == first + n };
        if !contiguous {
            break;
        }
        n += 1;
        i += 1;
    }
    if first == 0 {
        Run::Zero { len: n }
    } else {
        Run::Mapped {
            start: first,
            len: n,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn extent(first: u32, len: u16, start: u32) -> [u8; 12] {
        let mut e = [0u8; 12];
        e[0..4].copy_from_slice(&first.to_le_bytes());
        e[4..6].copy_from_slice(&len.to_le_bytes());
        e[8..12].copy_from_slice(&start.to_le_bytes());
        e
    }

    fn leaf(ext: &[[u8; 12]]) -> Vec<u8> {
        let mut n = vec![0x0a, 0xf3, ext.len() as u8, 0, 4, 0, 0, 0, 0, 0, 0, 0];
        for e in ext {
            n.extend_from_slice(e);
        }
        n
    }

    #[test]
    fn leaf_runs_holes_and_unwritten() {
        let n = leaf(&[
            extent(0, 4, 100),
            extent(10, 32768 + 3, 200),
            extent(20, 0, 300),
        ]);
        let limit = 1 << 32;
        assert_eq!(
            leaf_run(&n, 3, 0, limit),
            Run::Mapped { start: 100, len: 4 }
        );
        assert_eq!(
            leaf_run(&n, 3, 2, limit),
            Run::Mapped { start: 102, len: 2 }
        );
        assert_eq!(leaf_run(&n, 3, 4, limit), Run::Zero { len: 6 });
        assert_eq!(leaf_run(&n, 3, 11, limit), Run::Zero { len: 2 });
        // A zero-length extent maps nothing: from it the hole runs to the limit.
        assert_eq!(leaf_run(&n, 3, 13, limit), Run::Zero { len: 7 });
        assert_eq!(leaf_run(&n, 3, 20, limit), Run::Zero { len: limit - 20 });
        assert_eq!(leaf_run(&n, 3, 20, 50), Run::Zero { len: 30 });
    }

    #[test]
    fn pointer_runs_coalesce() {
        let mut p = Vec::new();
        for v in [5u32, 6, 7, 9, 0, 0, 3] {
            p.extend_from_slice(&v.to_le_bytes());
        }
        assert_eq!(pointer_run(&p, 0, 7), Run::Mapped { start: 5, len: 3 });
        assert_eq!(pointer_run(&p, 3, 7), Run::Mapped { start: 9, len: 1 });
        assert_eq!(pointer_run(&p, 4, 7), Run::Zero { len: 2 });
        assert_eq!(pointer_run(&p, 6, 7), Run::Mapped { start: 3, len: 1 });
    }
}
