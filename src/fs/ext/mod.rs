//! ext2/ext3/ext4, read-only, by a small bounded reader of our own.
//!
//! Why not `ext4-view` (the crate this adapter was first meant to wrap): on hostile images
//! it can spin without bound inside one call — extent trees whose index entries all point
//! at one node full of zero-length extents (up to 4·340⁴ leaf visits with 4 KiB blocks),
//! directory lookups over a 2³²-block directory mapped onto one cached block — and it
//! exposes no inode numbers or block maps through which those could be validated first.
//! It also allocates per block group before any check (the "tens of GiB" abort), reads
//! unwritten extents as stale data instead of zeros, reads one block per call, and can only
//! replay 64-bit checksum-v3 journals. This reader keeps every unit of work bounded: one
//! mapping call visits one tree path and maps at least one block; directory scans are
//! capped in bytes and entries; symlink targets in [`MAX_PATH`]; nothing is allocated from
//! a guest-given size except buffers of at most one block.
//!
//! Layout: `superblock` (validation, blkid naming, feature policy), `volume` (block reads,
//! group descriptors), `inode`, `map` (extents and indirect blocks), `file` (streaming),
//! `dir` (entry scans), `htree` (hashed lookups), `journal` (in-memory replay), `casefold`
//! (name matching in `+F` directories: a linear scan comparing folded names, used when the
//! exact name is not there; the pinned `caseless` crate folds, see that module).

pub mod casefold;
mod dir;
mod file;
mod htree;
mod inode;
mod journal;
mod map;
mod superblock;
mod volume;

pub use file::{ExtFile, Segment};

use super::{FileKind, Filesystem, FsError, FsInfo, FsPath, Stat};
use crate::disk::Slice;
use crate::limits::MAX_PATH;
use inode::{Inode, FL_CASEFOLD, FL_ENCRYPT, ROOT};
use journal::JournalMap;
use std::io::Read;
use std::ops::ControlFlow;
use superblock::{Superblock, INCOMPAT_RECOVER, SB_OFFSET, SB_SIZE};
use volume::Volume;

/// Longest name in a directory entry.
const MAX_NAME: usize = 255;
/// Symlink targets shorter than this live in the inode itself (e2fsprogs' rule).
const FAST_SYMLINK_MAX: u64 = 60;

/// An ext2/3/4 filesystem.
pub struct ExtFs {
    info: FsInfo,
    vol: Volume,
    warnings: Vec<String>,
}

impl ExtFs {
    /// Opens the ext filesystem in `slice`: validates the superblock against the slice,
    /// replays a dirty journal in memory when it can (warning when it cannot), and checks
    /// that the root directory is readable.
    pub fn open(slice: Slice) -> Result<ExtFs, FsError> {
        let mut raw = [0u8; SB_SIZE];
        if slice.len() < SB_OFFSET + SB_SIZE as u64 {
            return Err(corrupt(
                "ext",
                format!("{} bytes is too small to hold a superblock", slice.len()),
            ));
        }
        slice.read_exact_at(SB_OFFSET, &mut raw)?;
        let sb = Superblock::parse(&raw)?;
        let info = FsInfo {
            fs_type: sb.fs_type,
            uuid: format_uuid(&sb.uuid),
            label: format_label(&sb.label),
        };
        let mut warnings = Vec::new();
        if sb.bytes() > slice.len() {
            // The kernel refuses to mount this; we still name it and read what is there.
            warnings.push(format!(
                "{} filesystem is truncated: it claims {} bytes, the partition holds {}",
                info.fs_type.as_str(),
                sb.bytes(),
                slice.len()
            ));
        }
        let mut vol = Volume {
            slice,
            sb,
            journal: JournalMap::default(),
        };
        if vol.sb.has_incompat(INCOMPAT_RECOVER) {
            let (journal, replayed_sb, warning) = journal::replay(&vol);
            vol.journal = journal;
            if let Some(sb) = replayed_sb {
                vol.sb = sb;
            }
            warnings.push(warning);
        }
        let root = vol.inode(ROOT)?;
        if root.kind() != FileKind::Dir {
            return Err(vol.sb.corrupt("the root inode is not a directory".into()));
        }
        Ok(ExtFs {
            info,
            vol,
            warnings,
        })
    }

    /// Things the caller should tell the user once, e.g. that the filesystem was not
    /// cleanly unmounted and what was done about its journal.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Opens the regular file at `path` (no symlink followed).
    pub fn open_file(&self, path: FsPath<'_>) -> Result<ExtFile<'_>, FsError> {
        let inode = self.existing(path)?;
        match inode.kind() {
            FileKind::File => {}
            FileKind::Dir => return Err(path_err(path, "is a directory")),
            FileKind::Symlink => return Err(path_err(path, "is a symbolic link")),
            FileKind::Other => return Err(path_err(path, "is not a regular file")),
        }
        if inode.has(FL_ENCRYPT) {
            return Err(self.vol.unsupported("encrypt"));
        }
        ExtFile::new(&self.vol, &inode)
    }

    /// The entries of the directory at `path`, without `.` and `..`, in on-disk order.
    /// Capped by [`crate::limits::MAX_DIR_ENTRIES`] and [`crate::limits::MAX_DIR_BYTES`].
    pub fn read_dir(&self, path: FsPath<'_>) -> Result<Vec<(Vec<u8>, FileKind)>, FsError> {
        let dir = self.existing(path)?;
        if dir.kind() != FileKind::Dir {
            return Err(path_err(path, "is not a directory"));
        }
        let mut out = Vec::new();
        let mut failure = None;
        self.vol.scan_dir(&dir, |e| {
            if e.name == b"." || e.name == b".." {
                return ControlFlow::<()>::Continue(());
            }
            let kind = match e.kind {
                Some(k) => k,
                None => match self.vol.inode(e.ino) {
                    Ok(i) => i.kind(),
                    Err(err) => {
                        failure = Some(err);
                        return ControlFlow::Break(());
                    }
                },
            };
            out.push((e.name.to_vec(), kind));
            ControlFlow::Continue(())
        })?;
        match failure {
            Some(err) => Err(err),
            None => Ok(out),
        }
    }

    fn existing(&self, path: FsPath<'_>) -> Result<Inode, FsError> {
        self.lookup(path)?
            .ok_or_else(|| path_err(path, "no such file or directory"))
    }

    /// Walks `path` from the root, one directory scan per component.
    fn lookup(&self, path: FsPath<'_>) -> Result<Option<Inode>, FsError> {
        if path.len() > MAX_PATH {
            return Err(path_err(path, "path is too long"));
        }
        if path.first() != Some(&b'/') {
            return Err(path_err(path, "path is not absolute"));
        }
        let mut cur = self.vol.inode(ROOT)?;
        for name in path.split(|&b| b == b'/').filter(|c| !c.is_empty()) {
            match cur.kind() {
                FileKind::Dir => {}
                FileKind::Symlink => {
                    return Err(path_err(path, "a symbolic link is not the last component"))
                }
                _ => return Err(path_err(path, "a component is not a directory")),
            }
            if name.len() > MAX_NAME {
                return Err(path_err(path, "a name is longer than 255 bytes"));
            }
            let found = match self.vol.htree_lookup(&cur, name) {
                Some(ino) => Some(ino),
                None => self.vol.scan_dir(&cur, |e| {
                    if e.name == name {
                        ControlFlow::Break(e.ino)
                    } else {
                        ControlFlow::Continue(())
                    }
                })?,
            };
            let found = match found {
                None if cur.has(FL_CASEFOLD) => self.casefold_lookup(&cur, name)?,
                found => found,
            };
            match found {
                Some(ino) => cur = self.vol.inode(ino)?,
                None => return Ok(None),
            }
        }
        Ok(Some(cur))
    }

    /// In a casefolded directory, the entry whose name folds like `name` (the kernel's
    /// match, see [`casefold`]); without the `casefold` feature the flag means nothing, as
    /// for the kernel. An encoding other than UTF-8 is refused rather than misread.
    fn casefold_lookup(&self, dir: &Inode, name: &[u8]) -> Result<Option<u32>, FsError> {
        let sb = &self.vol.sb;
        if !sb.has_incompat(superblock::INCOMPAT_CASEFOLD) {
            return Ok(None);
        }
        if sb.encoding != casefold::ENCODING_UTF8 {
            return Err(self
                .vol
                .unsupported(&format!("casefold encoding {}", sb.encoding)));
        }
        let name_key = casefold::key(name);
        self.vol.scan_dir(dir, |e| {
            if casefold::matches(name, name_key.as_deref(), e.name) {
                ControlFlow::Break(e.ino)
            } else {
                ControlFlow::Continue(())
            }
        })
    }

    fn symlink_target(&self, path: FsPath<'_>, inode: &Inode) -> Result<Vec<u8>, FsError> {
        if inode.has(FL_ENCRYPT) {
            return Err(self.vol.unsupported("encrypt"));
        }
        if inode.size == 0 || inode.size > MAX_PATH as u64 {
            return Err(path_err(
                path,
                &format!("symbolic link target of {} bytes is invalid", inode.size),
            ));
        }
        let len = usize::try_from(inode.size).unwrap_or(MAX_PATH); // <= MAX_PATH
        let mut target = if inode.size < FAST_SYMLINK_MAX {
            inode.block.get(..len).unwrap_or_default().to_vec()
        } else {
            let mut buf = vec![0u8; len];
            let n = ExtFile::new(&self.vol, inode)?.read_full(&mut buf)?;
            buf.truncate(n);
            buf
        };
        // The kernel reads the target as a C string.
        if let Some(nul) = target.iter().position(|&b| b == 0) {
            target.truncate(nul);
        }
        if target.is_empty() {
            return Err(path_err(path, "symbolic link target is empty"));
        }
        Ok(target)
    }
}

impl Filesystem for ExtFs {
    fn info(&self) -> &FsInfo {
        &self.info
    }

    fn stat(&self, path: FsPath<'_>) -> Result<Option<Stat>, FsError> {
        Ok(self.lookup(path)?.map(|i| Stat {
            kind: i.kind(),
            size: i.size,
        }))
    }

    fn read_link(&self, path: FsPath<'_>) -> Result<Vec<u8>, FsError> {
        let inode = self.existing(path)?;
        if inode.kind() != FileKind::Symlink {
            return Err(path_err(path, "is not a symbolic link"));
        }
        self.symlink_target(path, &inode)
    }

    fn open(&self, path: FsPath<'_>) -> Result<Box<dyn Read + '_>, FsError> {
        Ok(Box::new(self.open_file(path)?))
    }

    fn read_dir(&self, path: FsPath<'_>) -> Result<Vec<(Vec<u8>, FileKind)>, FsError> {
        ExtFs::read_dir(self, path)
    }

    fn segments(
        &self,
        path: FsPath<'_>,
    ) -> Result<Option<Box<dyn crate::fs::SegmentSource + '_>>, FsError> {
        Ok(Some(Box::new(self.open_file(path)?)))
    }

    fn warnings(&self) -> &[String] {
        ExtFs::warnings(self)
    }
}

/// blkid's form: lower-case 8-4-4-4-12.
pub(crate) fn format_uuid(u: &[u8; 16]) -> String {
    let mut s = String::with_capacity(36);
    for (i, b) in u.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            s.push('-');
        }
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// The label up to its first NUL, trailing blanks removed (as blkid prints it).
fn format_label(l: &[u8; 16]) -> String {
    let end = l.iter().position(|&b| b == 0).unwrap_or(l.len());
    String::from_utf8_lossy(l.get(..end).unwrap_or_default())
        .trim_end()
        .to_owned()
}

fn path_err(path: &[u8], what: &str) -> FsError {
    FsError::Path {
        path: String::from_utf8_lossy(path).into_owned(),
        what: what.into(),
    }
}

pub(super) fn corrupt(fs: &'static str, detail: String) -> FsError {
    FsError::Corrupt { fs, detail }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_and_label_forms() {
        let u = [
            0x35, 0xf6, 0x6d, 0xab, 0x47, 0x7e, 0x40, 0x90, 0xa8, 0x72, 0x95, 0xee, 0x0e, 0x49,
            0x3a, 0xd6,
        ];
        assert_eq!(format_uuid(&u), "35f66dab-477e-4090-a872-95ee0e493ad6");
        assert_eq!(format_label(b"test-ext3\0\0\0\0\0\0\0"), "test-ext3");
        assert_eq!(format_label(b"0123456789abcdef"), "0123456789abcdef");
    }

    /// The hashed-directory fast path must find every entry of the fixtures' 600-entry
    /// directory by itself (a miss would silently fall back to the linear scan).
    #[test]
    fn htree_lookups_hit() {
        for name in ["ext2", "ext3", "ext4", "ext4-1k"] {
            let gz = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join(format!("fixtures/ext-{name}.img.gz"));
            let mut raw = Vec::new();
            std::io::Read::read_to_end(
                &mut flate2::read::GzDecoder::new(std::fs::File::open(gz).unwrap()),
                &mut raw,
            )
            .unwrap();
            let tmp = std::env::temp_dir()
                .join(format!("domuloader-htree-{name}-{}", std::process::id()));
            std::fs::write(&tmp, raw).unwrap();
            let fs = ExtFs::open(crate::disk::Disk::open(&tmp).unwrap().whole()).unwrap();
            let big = fs.lookup(b"/big").unwrap().unwrap();
            assert!(big.has(0x1000), "{name}: /big is not hashed");
            let names = fs.read_dir(b"/big").unwrap();
            assert_eq!(names.len(), 600);
            for (n, _) in names {
                assert!(
                    fs.vol.htree_lookup(&big, &n).is_some(),
                    "{name}: {}",
                    String::from_utf8_lossy(&n)
                );
            }
            assert_eq!(fs.vol.htree_lookup(&big, b"missing"), None);
            std::fs::remove_file(tmp).unwrap();
        }
    }

    #[test]
    fn field_readers_never_panic() {
        assert_eq!(le32(&[1, 2, 3], 0), 0);
        assert_eq!(le16(&[1, 2, 3], usize::MAX), 0);
        assert_eq!(le16(&[1, 2, 3], 1), 0x0302);
    }
}
