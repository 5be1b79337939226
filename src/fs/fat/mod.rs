//! FAT12/16/32, read-only: boot sector, allocation table, directories with long names, and
//! files as streams, with the volume's UUID and label as blkid reports them.
//!
//! Why not the `fatfs` crate on the read path: it cannot be guarded from outside.
//! `DirEntry::first_cluster` is crate-private, so an entry's cluster cannot be checked before
//! `to_dir()`/`to_file()` follow it, and cluster offsets are computed with unchecked `u32`
//! arithmetic (`cluster - 2` in `sector_from_cluster`): a file starting at cluster 1 panics
//! there in debug builds and reads a wrong offset in release (fixture `hostile/fat-badchain.img`, `ONE.BIN`). `DirIter` has no bound: on a full
//! directory whose chain loops (`hostile/fat-dirloop.img`) it yielded 2 million entries from
//! three clusters until an outside read budget stopped it. A file chain that loops within the
//! file's size is read as silent garbage. `FileSystem::new` also refuses a FAT32 volume whose
//! FSInfo sector has a bad signature, which Linux mounts with a warning. This module reads FAT
//! itself (the format is small), with every offset checked and every walk bounded, and it has
//! no write path at all.
//!
//! Lookups and names follow the Linux vfat driver, since the guest kernel is the reference:
//! case-insensitive against the long name and the 8.3 alias, the whole directory chain
//! scanned. Symlinks do not exist on FAT.

mod bpb;
mod dir;
mod file;
mod label;
mod table;

use super::{FileKind, Filesystem, FsError, FsInfo, FsPath, FsType, Stat};
use crate::disk::Slice;
use dir::{DirLoc, Entries, Entry};
use std::io::Read;

/// The byte range of the filesystem and its checked layout.
pub(super) struct Volume {
    slice: Slice,
    geo: bpb::Geometry,
}

/// A FAT filesystem.
pub struct FatFs {
    vol: Volume,
    info: FsInfo,
}

/// What a path names.
enum Node {
    Dir(DirLoc),
    File { cluster: u32, size: u32 },
}

fn corrupt(detail: String) -> FsError {
    FsError::Corrupt { fs: "vfat", detail }
}

fn path_error(path: FsPath<'_>, what: &str) -> FsError {
    FsError::Path {
        path: String::from_utf8_lossy(path).into_owned(),
        what: what.to_owned(),
    }
}

/// Prefixes a corruption report with the path being read, so the message says where.
fn at(path: &str, e: FsError) -> FsError {
    match e {
        FsError::Corrupt { fs, detail } => FsError::Corrupt {
            fs,
            detail: format!("{path}: {detail}"),
        },
        other => other,
    }
}

impl FatFs {
    /// Opens the FAT filesystem in `slice`, checking its boot sector first.
    pub fn open(slice: Slice) -> Result<FatFs, FsError> {
        let mut boot = [0u8; 512];
        slice.read_exact_at(0, &mut boot)?;
        let bs =
            bpb::parse(&boot, slice.len()).map_err(|d| corrupt(format!("boot sector: {d}")))?;
        let vol = Volume {
            slice,
            geo: bs.geometry,
        };
        let info = FsInfo {
            fs_type: FsType::Vfat,
            uuid: label::uuid(bs.serial),
            label: label::label(&vol),
        };
        Ok(FatFs { vol, info })
    }

    /// The entries of the directory at `path` (without `.` and `..`), in directory order,
    /// names as UTF-8. Bounded like every directory scan.
    pub fn read_dir(&self, path: FsPath<'_>) -> Result<Vec<(Vec<u8>, FileKind)>, FsError> {
        let loc = match self.lookup(path)? {
            Some(Node::Dir(loc)) => loc,
            Some(Node::File { .. }) => return Err(path_error(path, "not a directory")),
            None => return Err(path_error(path, "no such file or directory")),
        };
        let shown = String::from_utf8_lossy(path);
        let mut entries = Entries::new(&self.vol, loc).map_err(|e| at(&shown, e))?;
        let mut out = Vec::new();
        while let Some(e) = entries.next_entry().map_err(|e| at(&shown, e))? {
            out.push((e.name.into_bytes(), e.kind));
        }
        Ok(out)
    }

    /// Resolves `path` from the root. `Ok(None)` when a component does not exist, or when the
    /// path is not UTF-8 (FAT names are Unicode, so such a path names nothing).
    fn lookup(&self, path: FsPath<'_>) -> Result<Option<Node>, FsError> {
        let Ok(text) = std::str::from_utf8(path) else {
            return Ok(None);
        };
        let mut node = Node::Dir(DirLoc::Root);
        let mut walked = String::new();
        for name in text.split('/').filter(|c| !c.is_empty()) {
            let Node::Dir(loc) = node else {
                return Err(path_error(path, "not a directory"));
            };
            let dir_shown = if walked.is_empty() { "/" } else { &walked };
            let found = self.find(loc, name).map_err(|e| at(dir_shown, e))?;
            walked.push('/');
            walked.push_str(name);
            node = match found {
                None => return Ok(None),
                Some(e) if e.kind == FileKind::Dir => Node::Dir(DirLoc::Cluster(e.cluster)),
                Some(e) => Node::File {
                    cluster: e.cluster,
                    size: e.size,
                },
            };
        }
        Ok(Some(node))
    }

    /// The first entry of the directory at `loc` that `name` names.
    fn find(&self, loc: DirLoc, name: &str) -> Result<Option<Entry>, FsError> {
        let mut entries = Entries::new(&self.vol, loc)?;
        while let Some(e) = entries.next_entry()? {
            if e.matches(name) {
                return Ok(Some(e));
            }
        }
        Ok(None)
    }
}

impl Filesystem for FatFs {
    fn info(&self) -> &FsInfo {
        &self.info
    }

    fn stat(&self, path: FsPath<'_>) -> Result<Option<Stat>, FsError> {
        Ok(self.lookup(path)?.map(|node| match node {
            Node::Dir(_) => Stat {
                kind: FileKind::Dir,
                size: 0,
            },
            Node::File { size, .. } => Stat {
                kind: FileKind::File,
                size: u64::from(size),
            },
        }))
    }

    fn read_link(&self, path: FsPath<'_>) -> Result<Vec<u8>, FsError> {
        match self.lookup(path)? {
            None => Err(path_error(path, "no such file or directory")),
            Some(_) => Err(path_error(path, "not a symbolic link (FAT has none)")),
        }
    }

    fn read_dir(&self, path: FsPath<'_>) -> Result<Vec<(Vec<u8>, FileKind)>, FsError> {
        FatFs::read_dir(self, path)
    }

    fn open(&self, path: FsPath<'_>) -> Result<Box<dyn Read + '_>, FsError> {
        match self.lookup(path)? {
            None => Err(path_error(path, "no such file or directory")),
            Some(Node::Dir(_)) => Err(path_error(path, "is a directory")),
            Some(Node::File { cluster, size }) => {
                file::check_chain(&self.vol, cluster, size)
                    .map_err(|e| at(&String::from_utf8_lossy(path), e))?;
                Ok(Box::new(file::FileReader::new(&self.vol, cluster, size)))
            }
        }
    }
}
