//! B-tree nodes and bounded range searches. A node is read whole, its checksum, fsid,
//! address and level checked; a search visits only subtrees that can hold keys in its range,
//! each child one level below its parent (so no cycle), and at most
//! [`BTRFS_MAX_NODES_PER_SEARCH`] nodes. The last [`BTRFS_NODE_CACHE`] nodes are kept, so
//! the path from a root, walked by every lookup, is read and checksummed once.

use super::{corrupt, csum, le32, le64, Key, Volume};
use crate::fs::FsError;
use crate::limits::{BTRFS_MAX_LEVEL, BTRFS_MAX_NODES_PER_SEARCH, BTRFS_NODE_CACHE};
use std::ops::ControlFlow;
use std::rc::Rc;

const HEADER: usize = 101;
const ITEM: usize = 25;
const KEY_PTR: usize = 33;

/// The root of a tree: its node's logical address and level.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Root {
    pub bytenr: u64,
    pub level: u8,
}

impl Volume {
    /// The node at `bytenr`, checked, from the cache or the disk.
    fn node(&self, bytenr: u64, level: u8) -> Result<Rc<[u8]>, FsError> {
        let hit = self
            .cache
            .borrow()
            .iter()
            .find(|(b, l, _)| *b == bytenr && *l == level)
            .map(|(_, _, n)| n.clone());
        if let Some(n) = hit {
            return Ok(n);
        }
        let node: Rc<[u8]> = self.read_node(bytenr, level)?.into();
        let mut cache = self.cache.borrow_mut();
        if cache.len() >= BTRFS_NODE_CACHE {
            cache.pop_front();
        }
        cache.push_back((bytenr, level, node.clone()));
        Ok(node)
    }

    /// Reads and checks the node at `bytenr`, which must be at `level`.
    fn read_node(&self, bytenr: u64, level: u8) -> Result<Vec<u8>, FsError> {
        let size = self.sb.nodesize as usize;
        let mut buf = vec![0u8; size];
        let mut done = 0usize;
        while done < size {
            let logical = bytenr
                .checked_add(done as u64)
                .ok_or_else(|| corrupt(format!("tree block {bytenr} overflows")))?;
            let (phys, run) = self.chunks.map(logical)?;
            let n = usize::try_from(run).unwrap_or(usize::MAX).min(size - done);
            let dst = buf.get_mut(done..done + n).unwrap_or_default();
            self.slice.read_exact_at(phys, dst)?;
            done += n;
        }
        let bad = |what: &str| corrupt(format!("tree block {bytenr}: {what}"));
        if !csum::verify(self.sb.csum, &buf)? {
            return Err(bad("checksum mismatch"));
        }
        if buf.get(32..48) != Some(self.sb.meta_fsid.as_slice()) {
            return Err(bad("belongs to another filesystem"));
        }
        if le64(&buf, 48) != bytenr {
            return Err(bad("records another address"));
        }
        let got = buf.get(100).copied().unwrap_or(0);
        if got != level {
            return Err(bad(&format!("level {got}, expected {level}")));
        }
        let nritems = le32(&buf, 96) as usize;
        let per = if level == 0 { ITEM } else { KEY_PTR };
        if nritems.saturating_mul(per) > size - HEADER {
            return Err(bad(&format!("{nritems} items do not fit")));
        }
        Ok(buf)
    }

    /// Calls `f` with every item whose key lies in `min..=max`, in key order, until it
    /// breaks. Returns what it broke with.
    pub fn search<T>(
        &self,
        root: Root,
        min: Key,
        max: Key,
        f: &mut dyn FnMut(Key, &[u8]) -> ControlFlow<T>,
    ) -> Result<Option<T>, FsError> {
        if root.level >= BTRFS_MAX_LEVEL {
            return Err(corrupt(format!("tree root level {}", root.level)));
        }
        let mut budget = BTRFS_MAX_NODES_PER_SEARCH;
        match self.visit(root.bytenr, root.level, min, max, f, &mut budget)? {
            ControlFlow::Break(t) => Ok(Some(t)),
            ControlFlow::Continue(()) => Ok(None),
        }
    }

    fn visit<T>(
        &self,
        bytenr: u64,
        level: u8,
        min: Key,
        max: Key,
        f: &mut dyn FnMut(Key, &[u8]) -> ControlFlow<T>,
        budget: &mut u32,
    ) -> Result<ControlFlow<T>, FsError> {
        *budget = budget.checked_sub(1).ok_or_else(|| {
            corrupt(format!(
                "a tree search visits more than {BTRFS_MAX_NODES_PER_SEARCH} nodes"
            ))
        })?;
        let node = self.node(bytenr, level)?;
        let n = le32(&node, 96) as usize;
        let mut prev: Option<Key> = None;
        let key_at = |i: usize, per: usize| {
            Key::parse(node.get(HEADER + i * per..).unwrap_or_default()).unwrap_or_default()
        };
        let per = if level == 0 { ITEM } else { KEY_PTR };
        for i in 0..n {
            let key = key_at(i, per);
            if prev.is_some_and(|p| p >= key) {
                return Err(corrupt(format!("tree block {bytenr}: keys out of order")));
            }
            prev = Some(key);
            if level == 0 {
                if key < min {
                    continue;
                }
                if key > max {
                    return Ok(ControlFlow::Continue(()));
                }
                let off = HEADER + i * ITEM;
                let start = (le32(&node, off + 17) as usize).checked_add(HEADER);
                let end = start.and_then(|s| s.checked_add(le32(&node, off + 21) as usize));
                let data = start
                    .zip(end)
                    .and_then(|(s, e)| node.get(s..e))
                    .ok_or_else(|| corrupt(format!("tree block {bytenr}: item out of range")))?;
                if let ControlFlow::Break(t) = f(key, data) {
                    return Ok(ControlFlow::Break(t));
                }
            } else {
                if key > max {
                    return Ok(ControlFlow::Continue(()));
                }
                // The child holds keys below the next pointer's key.
                if i + 1 < n && key_at(i + 1, per) <= min {
                    continue;
                }
                let child = le64(&node, HEADER + i * KEY_PTR + 17);
                if let ControlFlow::Break(t) = self.visit(child, level - 1, min, max, f, budget)? {
                    return Ok(ControlFlow::Break(t));
                }
            }
        }
        Ok(ControlFlow::Continue(()))
    }

    /// The data of the item with exactly `key`, if any.
    pub fn find(&self, root: Root, key: Key) -> Result<Option<Vec<u8>>, FsError> {
        self.search(root, key, key, &mut |_, d| ControlFlow::Break(d.to_vec()))
    }
}
