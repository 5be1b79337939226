//! ISO 9660, read-only, by a small bounded reader of our own: volume descriptors, directory
//! records, Rock Ridge (names, symlinks, file types, continuation areas, relocated
//! directories), Joliet when there is no Rock Ridge, plain names otherwise, multi-extent
//! files; UUID and LABEL as blkid prints them.
//!
//! Why our own (as issue 13 decided): the ISO crates found are incomplete (no Rock Ridge
//! relocation or continuation areas, or no Joliet) or heavy; the format is small, and a
//! reader of our own keeps every loop bounded by a named cap (see `limits.rs`).
//!
//! Which tree is read follows Linux's isofs: Rock Ridge when the root's `.` record
//! announces it (`SP` or `ER`), else Joliet when a Joliet descriptor exists, else the plain
//! ISO 9660 names (lower-cased, `;1` and a trailing `.` removed: `map=normal`). Lookups
//! match Rock Ridge names exactly and Joliet names without regard to ASCII case (Linux's
//! defaults); plain names too, so the upper-case names on the disc also work (Linux matches
//! only its lower-case form there).
//!
//! Files are contiguous extents on the disk, so [`Filesystem::segments`] maps them for
//! zero-copy extraction. zisofs-compressed (`ZF`), sparse (`SF`) and interleaved files are refused by name.
//!
//! Layout: `volume` (descriptors, blkid naming), `record` (one directory record, names),
//! `rock` (SUSP / Rock Ridge entries), `dir` (directory scans), `file` (reads, segments).

mod dir;
mod file;
mod record;
mod rock;
mod volume;

use super::{FileKind, Filesystem, FsError, FsInfo, FsPath, FsType, SegmentSource, Stat};
use crate::disk::Slice;
use crate::limits::ISO_DIR_CACHE;
use dir::{DirLoc, Entries, Entry};
use std::io::Read;

/// Which directory tree, and so which names, we read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Tree {
    RockRidge,
    Joliet,
    Plain,
}

/// The filesystem's byte range and how it is laid out.
pub(super) struct Volume {
    slice: Slice,
    block_size: u64,
    tree: Tree,
    /// Bytes at the start of every system use area (`SP`'s skip length).
    rr_skip: usize,
}

impl Volume {
    /// Offset in the range of the extent at logical block `block`, after checking that
    /// `len` bytes from there lie inside the range.
    fn extent_offset(&self, block: u64, len: u64) -> Result<u64, FsError> {
        let start = block.checked_mul(self.block_size);
        match start.and_then(|s| s.checked_add(len)) {
            Some(end) if end <= self.slice.len() => Ok(start.unwrap_or_default()),
            _ => Err(corrupt(format!(
                "extent at block {block} of {len} bytes lies past the end of the filesystem ({} bytes)",
                self.slice.len()
            ))),
        }
    }

    /// A directory relocated by Rock Ridge (`CL` points at it): its size is its `.` record's.
    fn relocated_dir(&self, block: u64) -> Result<DirLoc, FsError> {
        let dot = dir::dot_record(self, block)?;
        Ok(DirLoc {
            block,
            size: dot.size,
        })
    }
}

fn corrupt(detail: String) -> FsError {
    FsError::Corrupt {
        fs: "iso9660",
        detail,
    }
}

fn path_error(path: FsPath<'_>, what: &str) -> FsError {
    FsError::Path {
        path: String::from_utf8_lossy(path).into_owned(),
        what: what.to_owned(),
    }
}

/// What a path names.
enum Node {
    /// The root, or a directory found through the lookup cache.
    Dir(DirLoc),
    Entry(Entry),
}

impl Node {
    fn dir(&self) -> Option<DirLoc> {
        match self {
            Node::Dir(loc) => Some(*loc),
            Node::Entry(e) => e.dir,
        }
    }
}

/// Directories already found: (parent directory block, name as matched) -> directory.
/// The resolver stats every prefix of a path, so without it a path through a directory
/// loop (`/a/a/a/…`, 2048 components) would cost a quadratic number of directory scans.
type DirCache = std::collections::HashMap<(u64, Vec<u8>), DirLoc>;

/// An ISO 9660 filesystem.
pub struct IsoFs {
    vol: Volume,
    root: DirLoc,
    info: FsInfo,
    dirs: std::cell::RefCell<DirCache>,
    /// The directory the last lookup ended in, by its path: the resolver looks up each
    /// prefix of a path in turn, so the next lookup usually continues from here.
    last: std::cell::RefCell<Option<(Vec<u8>, DirLoc)>>,
}

impl IsoFs {
    /// Opens the ISO 9660 filesystem in `slice`: reads the descriptors, checks the root
    /// directory, and chooses the tree (Rock Ridge, Joliet or plain).
    pub fn open(slice: Slice) -> Result<IsoFs, FsError> {
        let vd = volume::read(&slice)?;
        let mut vol = Volume {
            slice,
            block_size: vd.block_size,
            tree: Tree::Plain,
            rr_skip: 0,
        };
        let pvd_dot = dir::dot_record(&vol, vd.pvd_root.block)?;
        let rr = rock::parse(&vol, &pvd_dot.system_use, 0, &mut 0)?;
        let mut root = DirLoc {
            block: vd.pvd_root.block,
            size: vd.pvd_root.size,
        };
        if rr.sp_skip.is_some() || rr.er {
            vol.tree = Tree::RockRidge;
            vol.rr_skip = usize::from(rr.sp_skip.unwrap_or(0));
        } else if let Some(j) = &vd.joliet_root {
            dir::dot_record(&vol, j.block)?;
            vol.tree = Tree::Joliet;
            root = DirLoc {
                block: j.block,
                size: j.size,
            };
        }
        let info = FsInfo {
            fs_type: FsType::Iso9660,
            uuid: vd.uuid,
            label: vd.label,
        };
        Ok(IsoFs {
            vol,
            root,
            info,
            dirs: Default::default(),
            last: Default::default(),
        })
    }

    /// Resolves `path` from the root; `Ok(None)` when a component does not exist.
    fn lookup(&self, path: FsPath<'_>) -> Result<Option<Node>, FsError> {
        let (mut node, rest) = self.start(path);
        for name in rest.split(|&c| c == b'/').filter(|c| !c.is_empty()) {
            let Some(loc) = node.dir() else {
                return Err(path_error(path, "not a directory"));
            };
            let key = match self.vol.tree {
                Tree::RockRidge => (loc.block, name.to_vec()),
                Tree::Joliet | Tree::Plain => (loc.block, name.to_ascii_lowercase()),
            };
            if let Some(d) = self.dirs.borrow().get(&key) {
                node = Node::Dir(*d);
                continue;
            }
            let mut entries = Entries::new(&self.vol, loc)?;
            let mut found = None;
            while let Some(e) = entries.next_entry()? {
                if e.matches(name, self.vol.tree) {
                    found = Some(e);
                    break;
                }
            }
            let Some(e) = found else {
                return Ok(None);
            };
            if let Some(d) = e.dir {
                let mut dirs = self.dirs.borrow_mut();
                if dirs.len() >= ISO_DIR_CACHE {
                    dirs.clear();
                }
                dirs.insert(key, d);
            }
            node = Node::Entry(e);
        }
        if let Some(d) = node.dir() {
            *self.last.borrow_mut() = Some((path.to_vec(), d));
        }
        Ok(Some(node))
    }

    /// Where a lookup of `path` starts: the last lookup's directory when `path` extends
    /// its path, else the root; and the rest of `path` to walk from there.
    fn start<'p>(&self, path: FsPath<'p>) -> (Node, &'p [u8]) {
        if let Some((prev, loc)) = self.last.borrow().as_ref() {
            if let Some(rest) = path.strip_prefix(prev.as_slice()) {
                if rest.first() == Some(&b'/') || prev.last() == Some(&b'/') {
                    return (Node::Dir(*loc), rest);
                }
            }
        }
        (Node::Dir(self.root), path)
    }

    /// The regular file at `path`, checked for what we cannot read.
    fn file(&self, path: FsPath<'_>) -> Result<file::IsoFile<'_>, FsError> {
        let e = match self.lookup(path)? {
            None => return Err(path_error(path, "no such file or directory")),
            Some(Node::Dir(_)) => return Err(path_error(path, "is a directory")),
            Some(Node::Entry(e)) => e,
        };
        match e.kind {
            FileKind::File => {}
            FileKind::Dir => return Err(path_error(path, "is a directory")),
            FileKind::Symlink => return Err(path_error(path, "is a symbolic link")),
            FileKind::Other => return Err(path_error(path, "not a regular file")),
        }
        let unsupported = |feature: &str| FsError::UnsupportedFeature {
            fs: "iso9660",
            feature: format!("{feature} ({})", String::from_utf8_lossy(path)),
        };
        if let Some(encoding) = e.encoding {
            return Err(unsupported(encoding));
        }
        if e.interleaved {
            return Err(unsupported("interleaved file"));
        }
        file::IsoFile::new(&self.vol, e.extents)
    }
}

impl Filesystem for IsoFs {
    fn info(&self) -> &FsInfo {
        &self.info
    }

    fn stat(&self, path: FsPath<'_>) -> Result<Option<Stat>, FsError> {
        Ok(self.lookup(path)?.map(|node| match node {
            Node::Dir(loc) => Stat {
                kind: FileKind::Dir,
                size: loc.size,
            },
            Node::Entry(e) => Stat {
                kind: e.kind,
                size: match (&e.symlink, e.dir) {
                    (Some(t), _) => t.len() as u64,
                    (None, Some(d)) => d.size,
                    (None, None) => e.size,
                },
            },
        }))
    }

    fn read_link(&self, path: FsPath<'_>) -> Result<Vec<u8>, FsError> {
        match self.lookup(path)? {
            None => Err(path_error(path, "no such file or directory")),
            Some(Node::Entry(Entry {
                symlink: Some(t), ..
            })) => Ok(t),
            Some(_) => Err(path_error(path, "not a symbolic link")),
        }
    }

    fn open(&self, path: FsPath<'_>) -> Result<Box<dyn Read + '_>, FsError> {
        Ok(Box::new(self.file(path)?))
    }

    fn read_dir(&self, path: FsPath<'_>) -> Result<Vec<(Vec<u8>, FileKind)>, FsError> {
        let loc = match self.lookup(path)? {
            None => return Err(path_error(path, "no such file or directory")),
            Some(node) => node
                .dir()
                .ok_or_else(|| path_error(path, "not a directory"))?,
        };
        let mut entries = Entries::new(&self.vol, loc)?;
        let mut out = Vec::new();
        while let Some(e) = entries.next_entry()? {
            out.push((e.name, e.kind));
        }
        Ok(out)
    }

    fn segments(&self, path: FsPath<'_>) -> Result<Option<Box<dyn SegmentSource + '_>>, FsError> {
        Ok(Some(Box::new(self.file(path)?)))
    }
}
