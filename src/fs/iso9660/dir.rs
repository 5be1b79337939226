//! Directory scans: records read sector by sector (a record never spans a 2 KiB sector;
//! a zero length byte pads to the next one), assembled into entries — one per name, with
//! all the extents of a multi-extent file — and named the way the chosen tree names them
//! (Rock Ridge, Joliet or plain ISO 9660). `.`/`..`, associated files and directories
//! relocated by Rock Ridge (`RE`; they appear where their `CL` entry is) are not entries.
//!
//! Bounds: a directory is at most [`MAX_DIR_BYTES`] and [`MAX_DIR_ENTRIES`] records; a file
//! at most [`ISO_MAX_FILE_EXTENTS`] extents.

use super::record::{joliet_name, plain_name, Record};
use super::rock::{self, S_IFDIR, S_IFLNK, S_IFREG};
use super::{corrupt, Tree, Volume};
use crate::fs::{FileKind, FsError};
use crate::limits::{ISO_MAX_FILE_EXTENTS, MAX_DIR_BYTES, MAX_DIR_ENTRIES};

/// Directories are laid out in 2 KiB sectors whatever the logical block size.
const SECTOR: u64 = 2048;

/// Where a directory's records are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct DirLoc {
    pub block: u64,
    pub size: u64,
}

/// One piece of a file: `len` bytes at logical block `block`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Extent {
    pub block: u64,
    pub len: u64,
}

/// One named entry of a directory.
#[derive(Clone, Debug)]
pub(super) struct Entry {
    pub name: Vec<u8>,
    pub kind: FileKind,
    /// A directory's location (for [`FileKind::Dir`]).
    pub dir: Option<DirLoc>,
    /// A file's extents in file order.
    pub extents: Vec<Extent>,
    pub size: u64,
    pub symlink: Option<Vec<u8>>,
    /// Why the file's extents are not its bytes (zisofs, sparse), if they are not.
    pub encoding: Option<&'static str>,
    pub interleaved: bool,
}

impl Entry {
    /// Whether `want` names this entry: Rock Ridge names exactly (case matters, as in
    /// Linux); Joliet names without regard to ASCII case (Linux's `check=relaxed`, its
    /// default for Joliet); plain names likewise, which also finds the upper-case names as
    /// written on the disc besides Linux's lower-case form.
    pub fn matches(&self, want: &[u8], tree: Tree) -> bool {
        match tree {
            Tree::RockRidge => self.name == want,
            Tree::Joliet | Tree::Plain => self.name.eq_ignore_ascii_case(want),
        }
    }
}

/// A scan over one directory.
pub(super) struct Entries<'v> {
    vol: &'v Volume,
    loc: DirLoc,
    base: u64,
    pos: u64,
    sector: Vec<u8>,
    sector_no: Option<u64>,
    records: u64,
    /// Rock Ridge continuation areas read so far in this scan.
    ce_areas: u32,
}

impl<'v> Entries<'v> {
    pub fn new(vol: &'v Volume, loc: DirLoc) -> Result<Entries<'v>, FsError> {
        if loc.size > MAX_DIR_BYTES {
            return Err(corrupt(format!(
                "directory at block {} is {} bytes (more than {MAX_DIR_BYTES})",
                loc.block, loc.size
            )));
        }
        let base = vol.extent_offset(loc.block, loc.size)?;
        Ok(Entries {
            vol,
            loc,
            base,
            pos: 0,
            sector: Vec::new(),
            sector_no: None,
            records: 0,
            ce_areas: 0,
        })
    }

    /// The next raw record, or `None` at the end of the directory.
    fn next_record(&mut self) -> Result<Option<Record>, FsError> {
        loop {
            if self.pos >= self.loc.size {
                return Ok(None);
            }
            let no = self.pos / SECTOR;
            if self.sector_no != Some(no) {
                let start = no * SECTOR;
                let len = (self.loc.size - start).min(SECTOR);
                self.sector = vec![0u8; len as usize]; // <= 2 KiB
                self.vol
                    .slice
                    .read_exact_at(self.base + start, &mut self.sector)?;
                self.sector_no = Some(no);
            }
            let within = (self.pos % SECTOR) as usize;
            let len = self.sector.get(within).copied().unwrap_or(0);
            if len == 0 {
                self.pos = (no + 1) * SECTOR; // padding to the next sector
                continue;
            }
            self.records += 1;
            if self.records > MAX_DIR_ENTRIES {
                return Err(corrupt(format!(
                    "directory at block {} has more than {MAX_DIR_ENTRIES} records",
                    self.loc.block
                )));
            }
            let raw = self.sector.get(within..).unwrap_or_default();
            let rec = Record::parse(raw).ok_or_else(|| {
                corrupt(format!(
                    "malformed directory record at byte {} of the directory at block {}",
                    self.pos, self.loc.block
                ))
            })?;
            self.pos += u64::from(len);
            return Ok(Some(rec));
        }
    }

    /// The next entry, or `None` at the end of the directory.
    pub fn next_entry(&mut self) -> Result<Option<Entry>, FsError> {
        while let Some(first) = self.next_record()? {
            let mut extents = vec![Extent {
                block: first.block,
                len: first.size,
            }];
            let mut last = first.clone();
            while last.continues() {
                last = self
                    .next_record()?
                    .ok_or_else(|| corrupt("multi-extent file without its final extent".into()))?;
                if extents.len() >= ISO_MAX_FILE_EXTENTS {
                    return Err(corrupt(format!(
                        "file with more than {ISO_MAX_FILE_EXTENTS} extents"
                    )));
                }
                extents.push(Extent {
                    block: last.block,
                    len: last.size,
                });
            }
            if first.is_dot_or_dotdot() || first.is_associated() {
                continue;
            }
            if let Some(e) = self.entry(&first, extents)? {
                return Ok(Some(e));
            }
        }
        Ok(None)
    }

    /// The entry for a record (with its extents), or `None` when it is hidden.
    fn entry(&mut self, rec: &Record, extents: Vec<Extent>) -> Result<Option<Entry>, FsError> {
        let size = extents
            .iter()
            .try_fold(0u64, |a, e| a.checked_add(e.len))
            .ok_or_else(|| corrupt("file size overflows".into()))?;
        let rock = match self.vol.tree {
            Tree::RockRidge => rock::parse(
                self.vol,
                &rec.system_use,
                self.vol.rr_skip,
                &mut self.ce_areas,
            )?,
            _ => rock::Rock::default(),
        };
        if rock.relocated || rock.dot {
            return Ok(None);
        }
        let name = match (self.vol.tree, rock.name) {
            (Tree::RockRidge, Some(n)) => n,
            (Tree::Joliet, _) => joliet_name(&rec.name),
            _ => plain_name(&rec.name),
        };
        let mut e = Entry {
            name,
            kind: FileKind::File,
            dir: None,
            extents,
            size,
            symlink: None,
            encoding: rock.encoding,
            interleaved: rec.interleaved,
        };
        if let Some(block) = rock.child {
            e.kind = FileKind::Dir;
            e.dir = Some(self.vol.relocated_dir(block)?);
        } else if rock.symlink.is_some() || rock.file_type == Some(S_IFLNK) {
            e.kind = FileKind::Symlink;
            e.symlink = Some(rock.symlink.unwrap_or_default());
        } else if rec.is_dir() || rock.file_type == Some(S_IFDIR) {
            e.kind = FileKind::Dir;
            e.dir = Some(DirLoc {
                block: rec.block,
                size: rec.size,
            });
        } else if rock.file_type.is_some_and(|t| t != S_IFREG) {
            e.kind = FileKind::Other;
        }
        Ok(Some(e))
    }
}

/// The first record of the directory at `block` (its `.` record), for the root's Rock Ridge
/// check and for relocated directories.
pub(super) fn dot_record(vol: &Volume, block: u64) -> Result<Record, FsError> {
    let at = vol.extent_offset(block, 256)?;
    let mut buf = [0u8; 256];
    vol.slice.read_exact_at(at, &mut buf)?;
    Record::parse(&buf)
        .filter(|r| r.is_dot_or_dotdot() && r.is_dir())
        .ok_or_else(|| corrupt(format!("no directory at block {block}")))
}
