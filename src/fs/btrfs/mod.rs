//! btrfs, read-only, by a small bounded reader of our own.
//!
//! Why not the `lambutter` crate (evaluated: 0.3.1 and 0.5.0): it hands out file bytes only
//! through its own buffered reads, never the extent → disk mapping, so kernels could not be
//! copied zero-copy (`copy_file_range`) as ext's are; 0.5.0 needs Rust 1.87 (we build with
//! 1.85); 0.3.1 opens only the default subvolume (no `subvol=`/`subvolid=`); and its errors
//! are erased to static tokens, so our read-budget and cap messages would be lost. This
//! reader keeps every unit of work bounded: a tree search visits at most
//! [`crate::limits::BTRFS_MAX_NODES_PER_SEARCH`] nodes, each one level below its parent;
//! the chunk map holds at most [`crate::limits::BTRFS_MAX_CHUNKS`]; a compressed extent is
//! at most [`crate::limits::BTRFS_MAX_COMPRESSED_EXTENT`] both ways; nothing else is sized
//! from the disk.
//!
//! Layout: `superblock` (copies, features), `csum` (crc32c/xxhash64/sha256), `chunk`
//! (logical → physical), `tree` (node checks, range search), `items` (inode, directory,
//! root and extent items), `file` (extent streaming and zero-copy segments), `decompress`.
//!
//! Subvolumes: [`BtrfsFs::open`] shows the default subvolume (`btrfs subvolume
//! set-default`), as `mount` without options does; [`Filesystem::mount_view`] gives the one
//! named by `subvol=`/`subvolid=`; path walks cross into nested subvolumes.

mod chunk;
mod csum;
mod decompress;
mod file;
mod items;
mod superblock;
mod tree;

pub use file::BtrfsFile;

use super::{FileKind, Filesystem, FsError, FsInfo, FsPath, FsType, Stat};
use crate::disk::Slice;
use crate::limits::{MAX_DIR_ENTRIES, MAX_PATH};
use chunk::{ChunkMap, CHUNK_ITEM_KEY};
use items::{DirEntry, InodeItem};
use std::cell::RefCell;
use std::collections::VecDeque;
use std::io::Read;
use std::ops::ControlFlow;
use std::rc::Rc;
use superblock::Superblock;
use tree::Root;

/// The top-level subvolume (`BTRFS_FS_TREE_OBJECTID`).
const FS_TREE: u64 = 5;
const ROOT_TREE_DIR: u64 = 6;
const FIRST_CHUNK_TREE: u64 = 256;

/// A btrfs key: (objectid, type, offset), ordered in that order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Key {
    pub objectid: u64,
    pub ty: u8,
    pub offset: u64,
}

impl Key {
    pub const SIZE: usize = 17;

    pub fn new(objectid: u64, ty: u8, offset: u64) -> Key {
        Key {
            objectid,
            ty,
            offset,
        }
    }

    pub fn parse(b: &[u8]) -> Option<Key> {
        if b.len() < Key::SIZE {
            return None;
        }
        Some(Key::new(le64(b, 0), *b.get(8)?, le64(b, 9)))
    }
}

/// What every view of one filesystem shares: the partition, superblock and chunk map.
pub struct Volume {
    slice: Slice,
    sb: Superblock,
    chunks: ChunkMap,
    /// Recently read tree nodes.
    cache: RefCell<VecDeque<CachedNode>>,
}

/// A tree node kept in memory: (address, level, bytes).
type CachedNode = (u64, u8, Rc<[u8]>);

/// A subvolume: its tree and root directory.
#[derive(Clone, Copy, Debug)]
struct Subvol {
    tree: Root,
    dir: u64,
}

/// Where a path walk stands: an inode in a subvolume.
#[derive(Clone, Copy, Debug)]
struct At {
    tree: Root,
    ino: u64,
}

/// A btrfs filesystem, seen from one subvolume.
pub struct BtrfsFs {
    vol: Rc<Volume>,
    info: FsInfo,
    subvol: Subvol,
    warnings: Vec<String>,
}

impl BtrfsFs {
    /// Opens the btrfs filesystem in `slice` at its default subvolume.
    pub fn open(slice: Slice) -> Result<BtrfsFs, FsError> {
        let (sb, note) = superblock::read(&slice)?;
        let mut chunks = ChunkMap::from_sys_array(&sb.sys_chunk_array, sb.devid)?;
        let mut vol = Volume {
            slice,
            sb,
            chunks: ChunkMap::default(),
            cache: RefCell::default(),
        };
        std::mem::swap(&mut vol.chunks, &mut chunks);
        let chunk_root = Root {
            bytenr: vol.sb.chunk_root,
            level: vol.sb.chunk_root_level,
        };
        let mut found = Vec::new();
        vol.search(
            chunk_root,
            Key::new(FIRST_CHUNK_TREE, CHUNK_ITEM_KEY, 0),
            Key::new(FIRST_CHUNK_TREE, CHUNK_ITEM_KEY, u64::MAX),
            &mut |k, d| {
                if found.len() >= crate::limits::BTRFS_MAX_CHUNKS {
                    return ControlFlow::Break(());
                }
                found.push((k, d.to_vec()));
                ControlFlow::Continue(())
            },
        )?;
        for (k, d) in &found {
            vol.chunks.add(*k, d, vol.sb.devid)?;
        }
        let info = FsInfo {
            fs_type: FsType::Btrfs,
            uuid: super::ext::format_uuid(&vol.sb.fsid),
            label: label(&vol.sb.label),
        };
        let vol = Rc::new(vol);
        let default = vol.default_subvol()?;
        let subvol = vol
            .subvol(default)?
            .ok_or_else(|| corrupt(format!("the default subvolume {default} does not exist")))?;
        let fs = BtrfsFs {
            vol,
            info,
            subvol,
            warnings: note.into_iter().collect(),
        };
        match fs.vol.inode(fs.root_at())?.map(|i| i.kind()) {
            Some(FileKind::Dir) => Ok(fs),
            _ => Err(corrupt("the subvolume's root directory is missing".into())),
        }
    }

    fn root_at(&self) -> At {
        At {
            tree: self.subvol.tree,
            ino: self.subvol.dir,
        }
    }

    /// The same filesystem seen from subvolume `id`.
    fn at_subvol(&self, id: u64) -> Result<BtrfsFs, FsError> {
        let subvol = self.vol.subvol(id)?.ok_or_else(|| FsError::Path {
            path: format!("subvolid={id}"),
            what: "no such subvolume".into(),
        })?;
        Ok(BtrfsFs {
            vol: self.vol.clone(),
            info: self.info.clone(),
            subvol,
            warnings: self.warnings.clone(),
        })
    }

    /// Walks `path` from this view's root, crossing into nested subvolumes.
    fn lookup(&self, path: FsPath<'_>) -> Result<Option<(At, InodeItem)>, FsError> {
        self.lookup_from(self.root_at(), path)
    }

    fn lookup_from(&self, start: At, path: FsPath<'_>) -> Result<Option<(At, InodeItem)>, FsError> {
        if path.len() > MAX_PATH {
            return Err(path_err(path, "path is too long"));
        }
        let mut at = start;
        let mut inode = self
            .vol
            .inode(at)?
            .ok_or_else(|| corrupt("a directory inode is missing".into()))?;
        for name in path.split(|&b| b == b'/').filter(|c| !c.is_empty()) {
            match inode.kind() {
                FileKind::Dir => {}
                FileKind::Symlink => {
                    return Err(path_err(path, "a symbolic link is not the last component"))
                }
                _ => return Err(path_err(path, "a component is not a directory")),
            }
            let Some(entry) = self.vol.dir_lookup(at, name)? else {
                return Ok(None);
            };
            at = match entry.location.ty {
                items::ROOT_ITEM_KEY => match self.vol.subvol(entry.location.objectid)? {
                    Some(s) => At {
                        tree: s.tree,
                        ino: s.dir,
                    },
                    None => return Ok(None),
                },
                _ => At {
                    tree: at.tree,
                    ino: entry.location.objectid,
                },
            };
            inode = match self.vol.inode(at)? {
                Some(i) => i,
                None => return Ok(None),
            };
        }
        Ok(Some((at, inode)))
    }

    fn existing(&self, path: FsPath<'_>) -> Result<(At, InodeItem), FsError> {
        self.lookup(path)?
            .ok_or_else(|| path_err(path, "no such file or directory"))
    }

    /// Opens the regular file at `path`.
    pub fn open_file(&self, path: FsPath<'_>) -> Result<BtrfsFile<'_>, FsError> {
        let (at, inode) = self.existing(path)?;
        match inode.kind() {
            FileKind::File => Ok(BtrfsFile::new(&self.vol, at.tree, at.ino, inode.size)),
            FileKind::Dir => Err(path_err(path, "is a directory")),
            FileKind::Symlink => Err(path_err(path, "is a symbolic link")),
            FileKind::Other => Err(path_err(path, "is not a regular file")),
        }
    }

    /// Subvolumes as `subvol=` options, default first, for finding a guest root.
    fn subvolume_list(&self) -> Result<Vec<String>, FsError> {
        let mut out = Vec::new();
        let mut ids = vec![FS_TREE];
        self.vol.search(
            self.vol.root_tree(),
            Key::new(FS_TREE, items::ROOT_ITEM_KEY, 0),
            Key::new(u64::MAX, items::ROOT_ITEM_KEY, u64::MAX),
            &mut |k, _| {
                if k.ty == items::ROOT_ITEM_KEY && k.objectid >= 256 && k.objectid < u64::MAX - 256
                {
                    ids.push(k.objectid);
                }
                if ids.len() > crate::limits::BTRFS_MAX_ROOT_CANDIDATES {
                    return ControlFlow::Break(());
                }
                ControlFlow::Continue(())
            },
        )?;
        ids.dedup();
        for id in ids {
            out.push(format!("subvolid={id}"));
        }
        Ok(out)
    }

    /// The id of the subvolume whose root is at `path` from the top level (`subvol=`).
    fn resolve_subvol_path(&self, path: &[u8]) -> Result<u64, FsError> {
        let top = self.at_subvol(FS_TREE)?;
        let (at, inode) = top.existing(path)?;
        if inode.kind() != FileKind::Dir {
            return Err(path_err(path, "is not a subvolume"));
        }
        // Find which subvolume's root this is.
        let id = self
            .vol
            .subvol_of(at)?
            .ok_or_else(|| path_err(path, "is not a subvolume"))?;
        Ok(id)
    }
}

impl Volume {
    fn root_tree(&self) -> Root {
        Root {
            bytenr: self.sb.root,
            level: self.sb.root_level,
        }
    }

    /// The default subvolume: the root tree's `default` entry, else the top level.
    fn default_subvol(&self) -> Result<u64, FsError> {
        let dir = At {
            tree: self.root_tree(),
            ino: ROOT_TREE_DIR,
        };
        Ok(self
            .dir_lookup(dir, b"default")?
            .map_or(FS_TREE, |e| e.location.objectid))
    }

    /// Subvolume `id`'s tree and root directory, `None` when there is no such subvolume.
    fn subvol(&self, id: u64) -> Result<Option<Subvol>, FsError> {
        if id != FS_TREE && !(256..u64::MAX - 256).contains(&id) {
            return Ok(None);
        }
        let item = self.search(
            self.root_tree(),
            Key::new(id, items::ROOT_ITEM_KEY, 0),
            Key::new(id, items::ROOT_ITEM_KEY, u64::MAX),
            &mut |_, d| ControlFlow::Break(d.to_vec()),
        )?;
        match item {
            Some(d) => items::root_item(&d).map(|(tree, dir)| Some(Subvol { tree, dir })),
            None => Ok(None),
        }
    }

    /// Which subvolume has `at` as its root directory.
    fn subvol_of(&self, at: At) -> Result<Option<u64>, FsError> {
        let mut hit = None;
        self.search(
            self.root_tree(),
            Key::new(FS_TREE, items::ROOT_ITEM_KEY, 0),
            Key::new(u64::MAX, items::ROOT_ITEM_KEY, u64::MAX),
            &mut |k, d| {
                if k.ty == items::ROOT_ITEM_KEY {
                    if let Ok((tree, dir)) = items::root_item(d) {
                        if tree == at.tree && dir == at.ino {
                            hit = Some(k.objectid);
                            return ControlFlow::Break(());
                        }
                    }
                }
                ControlFlow::Continue(())
            },
        )?;
        Ok(hit)
    }

    fn inode(&self, at: At) -> Result<Option<InodeItem>, FsError> {
        match self.find(at.tree, Key::new(at.ino, items::INODE_ITEM_KEY, 0))? {
            Some(d) => items::inode_item(&d).map(Some),
            None => Ok(None),
        }
    }

    /// The entry `name` of directory `dir`, through its name-hashed `DIR_ITEM`.
    fn dir_lookup(&self, dir: At, name: &[u8]) -> Result<Option<DirEntry>, FsError> {
        let key = Key::new(dir.ino, items::DIR_ITEM_KEY, csum::name_hash(name));
        let Some(data) = self.find(dir.tree, key)? else {
            return Ok(None);
        };
        Ok(items::dir_entries(&data)?
            .into_iter()
            .find(|e| e.name == name))
    }
}

impl Filesystem for BtrfsFs {
    fn info(&self) -> &FsInfo {
        &self.info
    }

    fn stat(&self, path: FsPath<'_>) -> Result<Option<Stat>, FsError> {
        Ok(self.lookup(path)?.map(|(_, i)| Stat {
            kind: i.kind(),
            size: i.size,
        }))
    }

    fn read_link(&self, path: FsPath<'_>) -> Result<Vec<u8>, FsError> {
        let (at, inode) = self.existing(path)?;
        if inode.kind() != FileKind::Symlink {
            return Err(path_err(path, "is not a symbolic link"));
        }
        if inode.size == 0 || inode.size > MAX_PATH as u64 {
            return Err(path_err(
                path,
                &format!("symbolic link target of {} bytes is invalid", inode.size),
            ));
        }
        let mut buf = vec![0u8; usize::try_from(inode.size).unwrap_or(MAX_PATH)];
        let n = BtrfsFile::new(&self.vol, at.tree, at.ino, inode.size).read_full(&mut buf)?;
        buf.truncate(n);
        if let Some(nul) = buf.iter().position(|&b| b == 0) {
            buf.truncate(nul);
        }
        if buf.is_empty() {
            return Err(path_err(path, "symbolic link target is empty"));
        }
        Ok(buf)
    }

    fn open(&self, path: FsPath<'_>) -> Result<Box<dyn Read + '_>, FsError> {
        Ok(Box::new(self.open_file(path)?))
    }

    fn read_dir(&self, path: FsPath<'_>) -> Result<Vec<(Vec<u8>, FileKind)>, FsError> {
        let (at, inode) = self.existing(path)?;
        if inode.kind() != FileKind::Dir {
            return Err(path_err(path, "is not a directory"));
        }
        let mut out = Vec::new();
        let mut failure = None;
        self.vol.search(
            at.tree,
            Key::new(at.ino, items::DIR_INDEX_KEY, 0),
            Key::new(at.ino, items::DIR_INDEX_KEY, u64::MAX),
            &mut |_, d| {
                match items::dir_entries(d) {
                    Ok(es) => {
                        for e in es {
                            if out.len() as u64 >= MAX_DIR_ENTRIES {
                                failure = Some(path_err(
                                    path,
                                    &format!("more than {MAX_DIR_ENTRIES} directory entries"),
                                ));
                                return ControlFlow::Break(());
                            }
                            out.push((e.name, e.kind));
                        }
                    }
                    Err(e) => {
                        failure = Some(e);
                        return ControlFlow::Break(());
                    }
                }
                ControlFlow::Continue(())
            },
        )?;
        match failure {
            Some(e) => Err(e),
            None => Ok(out),
        }
    }

    fn segments(
        &self,
        path: FsPath<'_>,
    ) -> Result<Option<Box<dyn crate::fs::SegmentSource + '_>>, FsError> {
        let file = self.open_file(path)?;
        Ok(if file.all_plain()? {
            Some(Box::new(file))
        } else {
            None
        })
    }

    fn warnings(&self) -> &[String] {
        &self.warnings
    }

    fn mount_view(&self, options: &[String]) -> Result<Option<Box<dyn Filesystem>>, FsError> {
        let opt = |name: &str| {
            options
                .iter()
                .rev()
                .find_map(|o| o.strip_prefix(name).and_then(|v| v.strip_prefix('=')))
        };
        let id = match (opt("subvol"), opt("subvolid")) {
            (Some(path), _) => {
                let p = format!("/{}", path.trim_start_matches('/'));
                self.resolve_subvol_path(p.as_bytes())?
            }
            (None, Some(id)) => id.parse::<u64>().map_err(|_| FsError::Path {
                path: format!("subvolid={id}"),
                what: "is not a number".into(),
            })?,
            (None, None) => return Ok(None),
        };
        Ok(Some(Box::new(self.at_subvol(id)?)))
    }

    fn subvolume_options(&self) -> Result<Vec<String>, FsError> {
        self.subvolume_list()
    }
}

/// blkid's LABEL: up to the first NUL.
fn label(l: &[u8; 256]) -> String {
    let end = l.iter().position(|&b| b == 0).unwrap_or(l.len());
    String::from_utf8_lossy(l.get(..end).unwrap_or_default()).into_owned()
}

fn path_err(path: &[u8], what: &str) -> FsError {
    FsError::Path {
        path: String::from_utf8_lossy(path).into_owned(),
        what: what.into(),
    }
}

pub(super) fn corrupt(detail: String) -> FsError {
    FsError::Corrupt {
        fs: "btrfs",
        detail,
    }
}

pub(super) fn unsupported(feature: &str) -> FsError {
    FsError::UnsupportedFeature {
        fs: "btrfs",
        feature: feature.into(),
    }
}

/// Little-endian field readers: 0 when `off` is outside `b`, so a short buffer can never
/// panic (callers validate lengths before trusting a value).
pub(super) fn le16(b: &[u8], off: usize) -> u16 {
    off.checked_add(2)
        .and_then(|e| b.get(off..e))
        .and_then(|s| s.try_into().ok())
        .map_or(0, u16::from_le_bytes)
}

pub(super) fn le32(b: &[u8], off: usize) -> u32 {
    off.checked_add(4)
        .and_then(|e| b.get(off..e))
        .and_then(|s| s.try_into().ok())
        .map_or(0, u32::from_le_bytes)
}

pub(super) fn le64(b: &[u8], off: usize) -> u64 {
    off.checked_add(8)
        .and_then(|e| b.get(off..e))
        .and_then(|s| s.try_into().ok())
        .map_or(0, u64::from_le_bytes)
}
