//! Directories. Short directories live in the inode (shortform); all larger forms (block,
//! leaf, node, and btree-mapped) keep their entries in the same data blocks below the 32 GiB
//! leaf offset, so one bounded scan of those blocks serves lookups and listings alike. The
//! hash index (leaf and node blocks above that offset) is not used: a lookup costs a scan of
//! the directory, capped in bytes and entries, instead of a walk of a guest-built index.

use super::bmap::Extent;
use super::inode::{Format, Inode};
use super::{be16, be32, be64, crc_ok, Volume};
use crate::fs::{FileKind, FsError};
use crate::limits::{MAX_DIR_BYTES, MAX_DIR_ENTRIES};
use std::ops::ControlFlow;

const BLOCK_V4: u32 = 0x5844_3242; // "XD2B": single-block directory
const DATA_V4: u32 = 0x5844_3244; // "XD2D"
const BLOCK_V5: u32 = 0x5844_4233; // "XDB3"
const DATA_V5: u32 = 0x5844_4433; // "XDD3"
const HDR_V4: usize = 16;
const HDR_V5: usize = 64;
/// Directory data lives in the first 32 GiB of the directory's file offsets.
const LEAF_OFFSET: u64 = 1 << 35;

/// One directory entry.
pub(super) struct Entry<'a> {
    pub name: &'a [u8],
    pub ino: u64,
    /// From the entry's file type byte, when the filesystem has one.
    pub kind: Option<FileKind>,
}

impl Volume {
    /// Calls `f` for each entry of directory `dir` ("." and ".." included for data-block
    /// forms, not for shortform), stopping when it breaks.
    pub(super) fn scan_dir<T>(
        &self,
        dir: &Inode,
        mut f: impl FnMut(Entry<'_>) -> ControlFlow<T>,
    ) -> Result<Option<T>, FsError> {
        let bad = |what: &str| self.corrupt(format!("directory inode {}: {what}", dir.ino));
        let mut seen = 0u64;
        let mut each = |e: Entry<'_>| {
            seen += 1;
            if seen > MAX_DIR_ENTRIES {
                return Err(bad(&format!("more than {MAX_DIR_ENTRIES} entries")));
            }
            Ok(f(e))
        };
        match dir.format {
            Format::Local => self.scan_short(dir, &mut each),
            Format::Extents | Format::Btree => self.scan_blocks(dir, &mut each),
            Format::Dev => Err(bad("has no data fork")),
        }
    }

    fn scan_short<T>(
        &self,
        dir: &Inode,
        each: &mut impl FnMut(Entry<'_>) -> Result<ControlFlow<T>, FsError>,
    ) -> Result<Option<T>, FsError> {
        let bad = || self.corrupt(format!("directory inode {}: malformed short form", dir.ino));
        let size = usize::try_from(dir.size).map_err(|_| bad())?;
        let b = dir.fork.get(..size).ok_or_else(bad)?;
        let count = *b.first().ok_or_else(bad)?;
        let wide = *b.get(1).ok_or_else(bad)? != 0;
        let ino_len = if wide { 8 } else { 4 };
        let mut p = 2 + ino_len;
        for _ in 0..count {
            let namelen = usize::from(*b.get(p).ok_or_else(bad)?);
            let name = b.get(p + 3..p + 3 + namelen).ok_or_else(bad)?;
            let mut q = p + 3 + namelen;
            let kind = if self.sb.ftype {
                q += 1;
                ftype_kind(*b.get(q - 1).ok_or_else(bad)?)
            } else {
                None
            };
            let raw = b.get(q..q + ino_len).ok_or_else(bad)?;
            let ino = if wide {
                be64(raw, 0)
            } else {
                u64::from(be32(raw, 0))
            };
            if namelen == 0 {
                return Err(bad());
            }
            if let ControlFlow::Break(t) = each(Entry { name, ino, kind })? {
                return Ok(Some(t));
            }
            p = q + ino_len;
        }
        Ok(None)
    }

    fn scan_blocks<T>(
        &self,
        dir: &Inode,
        each: &mut impl FnMut(Entry<'_>) -> Result<ControlFlow<T>, FsError>,
    ) -> Result<Option<T>, FsError> {
        let extents = self.extents(dir)?;
        let per = 1u64 << self.sb.dir_blk_log; // fs blocks per directory block
        let leaf_block = LEAF_OFFSET >> self.sb.block_log;
        let dbs = self.sb.dir_block_size();
        let mut buf = vec![0u8; dbs as usize]; // <= 64 KiB (checked in sb)
        let (mut next, mut bytes) = (0u64, 0u64);
        for e in &extents {
            if e.file_block >= leaf_block {
                break;
            }
            let end = (e.file_block + e.blocks).min(leaf_block);
            let mut db = (e.file_block & !(per - 1)).max(next);
            while db < end {
                bytes += dbs;
                if bytes > MAX_DIR_BYTES {
                    return Err(self.corrupt(format!(
                        "directory inode {} is larger than {MAX_DIR_BYTES} bytes",
                        dir.ino
                    )));
                }
                let daddr = self.read_mapped(dir.ino, &extents, db, &mut buf)?;
                if let Some(t) = self.scan_data_block(dir.ino, &buf, daddr, each)? {
                    return Ok(Some(t));
                }
                db += per;
                next = db;
            }
        }
        Ok(None)
    }

    /// Fills `buf` with the file blocks from `first`, which the extents must map (no holes).
    /// Returns the partition offset of the first block.
    fn read_mapped(
        &self,
        ino: u64,
        ext: &[Extent],
        first: u64,
        buf: &mut [u8],
    ) -> Result<u64, FsError> {
        let bs = self.sb.block_size;
        let mut start = None;
        let mut done = 0usize;
        while done < buf.len() {
            let block = first + (done as u64 / bs);
            let i = ext.partition_point(|e| e.file_block + e.blocks <= block);
            let e = ext
                .get(i)
                .filter(|e| e.file_block <= block && !e.unwritten)
                .ok_or_else(|| {
                    self.corrupt(format!(
                        "directory inode {ino} has a hole in a directory block"
                    ))
                })?;
            let within = (block - e.file_block) * bs;
            let run = usize::try_from(e.blocks * bs - within).unwrap_or(usize::MAX);
            let dst = buf.get_mut(done..).unwrap_or_default();
            let n = run.min(dst.len());
            let dst = dst.get_mut(..n).unwrap_or_default();
            self.slice.read_exact_at(e.offset + within, dst)?;
            start.get_or_insert(e.offset + within);
            done += n;
        }
        Ok(start.unwrap_or(0))
    }

    /// Walks the entries of one directory data block read from partition offset `daddr`.
    fn scan_data_block<T>(
        &self,
        ino: u64,
        b: &[u8],
        daddr: u64,
        each: &mut impl FnMut(Entry<'_>) -> Result<ControlFlow<T>, FsError>,
    ) -> Result<Option<T>, FsError> {
        let bad = |what: &str| self.corrupt(format!("directory inode {ino}: {what}"));
        let magic = be32(b, 0);
        let (hdr, block_form) = match (self.sb.v5, magic) {
            (false, BLOCK_V4) => (HDR_V4, true),
            (false, DATA_V4) => (HDR_V4, false),
            (true, BLOCK_V5) => (HDR_V5, true),
            (true, DATA_V5) => (HDR_V5, false),
            _ => return Err(bad("bad directory block magic")),
        };
        if self.sb.v5 {
            if !crc_ok(b, 4) {
                return Err(bad("directory block checksum mismatch"));
            }
            if be64(b, 8) != daddr >> 9
                || be64(b, 40) != ino
                || b.get(24..40) != Some(&self.sb.meta_uuid[..])
            {
                return Err(bad("directory block belongs elsewhere"));
            }
        }
        let mut end = b.len();
        if block_form {
            let count = usize::try_from(be32(b, b.len() - 8)).unwrap_or(usize::MAX);
            end = count
                .checked_mul(8)
                .and_then(|l| (b.len() - 8).checked_sub(l))
                .filter(|&e| e >= hdr)
                .ok_or_else(|| bad("directory block tail is invalid"))?;
        }
        let mut p = hdr;
        while p + 8 <= end {
            if be16(b, p) == 0xffff {
                let len = usize::from(be16(b, p + 2));
                if len < 8 || len % 8 != 0 || p + len > end {
                    return Err(bad("bad free space entry"));
                }
                p += len;
                continue;
            }
            let namelen = usize::from(*b.get(p + 8).ok_or_else(|| bad("truncated entry"))?);
            let ft = usize::from(self.sb.ftype);
            let len = (8 + 1 + namelen + ft + 2 + 7) & !7;
            if namelen == 0 || p + len > end {
                return Err(bad("bad directory entry"));
            }
            let name = b.get(p + 9..p + 9 + namelen).unwrap_or_default();
            let kind = if ft == 1 {
                ftype_kind(b.get(p + 9 + namelen).copied().unwrap_or(0))
            } else {
                None
            };
            let entry = Entry {
                name,
                ino: be64(b, p),
                kind,
            };
            if let ControlFlow::Break(t) = each(entry)? {
                return Ok(Some(t));
            }
            p += len;
        }
        Ok(None)
    }
}

/// The directory entry file type byte (`XFS_DIR3_FT_*`); 0 (unknown) asks the inode.
fn ftype_kind(t: u8) -> Option<FileKind> {
    match t {
        1 => Some(FileKind::File),
        2 => Some(FileKind::Dir),
        3..=6 => Some(FileKind::Other),
        7 => Some(FileKind::Symlink),
        _ => None,
    }
}
