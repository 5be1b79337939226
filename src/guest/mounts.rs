//! The guest's mount table: which filesystem answers for which part of the guest's
//! namespace. Mount points are kept as canonical component lists; the deepest mount
//! containing a path wins, as in the kernel.

use crate::fs::Filesystem;
use std::rc::Rc;

/// One mounted filesystem.
#[derive(Clone)]
pub struct Mount {
    /// Canonical mount point components; empty for `/`.
    pub point: Vec<Vec<u8>>,
    pub fs: Rc<dyn Filesystem>,
    /// How the mount was named (`xvda1`, `UUID=…`), for messages.
    pub source: String,
}

impl std::fmt::Debug for Mount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Mount({} on {})",
            self.source,
            display_components(&self.point)
        )
    }
}

/// The guest's mounts. Always has a root mount.
#[derive(Clone, Debug)]
pub struct MountTable {
    mounts: Vec<Mount>,
}

impl MountTable {
    /// A namespace with only `root` mounted on `/`.
    pub fn new(root: Rc<dyn Filesystem>, source: String) -> MountTable {
        MountTable {
            mounts: vec![Mount {
                point: Vec::new(),
                fs: root,
                source,
            }],
        }
    }

    /// Mounts `fs` at the canonical `point`. A later mount on the same point hides the
    /// earlier one, as `mount -a` would.
    pub fn mount(&mut self, point: Vec<Vec<u8>>, fs: Rc<dyn Filesystem>, source: String) {
        self.mounts.push(Mount { point, fs, source });
    }

    /// All mounts, in mount order.
    pub fn mounts(&self) -> &[Mount] {
        &self.mounts
    }

    /// The mount answering for `path` (canonical components) and the path inside it.
    pub fn locate<'a>(&self, path: &'a [Vec<u8>]) -> (&Mount, &'a [Vec<u8>]) {
        // Latest mount first, and only a strictly deeper point replaces the pick, so among
        // mounts on the same point the latest (the visible one) wins.
        let mut best: Option<&Mount> = None;
        for m in self.mounts.iter().rev() {
            let deeper = best.is_none_or(|b| m.point.len() > b.point.len());
            if deeper && path.starts_with(&m.point) {
                best = Some(m);
            }
        }
        let best = best.unwrap_or(&self.mounts[0]); // OK: root mount (empty point) always matches
        let rest = path.get(best.point.len()..).unwrap_or(&[]);
        (best, rest)
    }
}

/// `/a/b` form of a component list, lossy for messages.
pub fn display_components(c: &[Vec<u8>]) -> String {
    if c.is_empty() {
        return "/".to_owned();
    }
    c.iter()
        .map(|x| format!("/{}", String::from_utf8_lossy(x)))
        .collect()
}

/// Absolute byte path of components (`b"/a/b"`, `b"/"` when empty).
pub fn join_components(c: &[Vec<u8>]) -> Vec<u8> {
    if c.is_empty() {
        return b"/".to_vec();
    }
    let mut out = Vec::with_capacity(c.iter().map(|x| x.len() + 1).sum());
    for x in c {
        out.push(b'/');
        out.extend_from_slice(x);
    }
    out
}
