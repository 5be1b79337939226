//! Streaming a file from its extent items, fetched from the tree in batches of
//! [`BTRFS_EXTENT_BATCH`] in file order. Plain extents map straight onto the disk (zero-copy
//! segments); holes (explicit or, with `no_holes`, implied) and prealloc extents read as
//! zeros; inline and compressed extents are decoded into a buffer of at most
//! [`BTRFS_MAX_COMPRESSED_EXTENT`] bytes, one extent at a time.

use super::decompress::{decompress, Compression};
use super::items::{self, Extent, ExtentKind, EXTENT_DATA_KEY};
use super::tree::Root;
use super::{corrupt, Key, Volume};
use crate::fs::{FsError, Segment};
use crate::limits::{BTRFS_EXTENT_BATCH, BTRFS_MAX_COMPRESSED_EXTENT, BTRFS_MAX_SEGMENT_SCAN};
use std::collections::VecDeque;
use std::io::{self, Read};
use std::ops::ControlFlow;

/// An open regular file (or symlink data) of a btrfs filesystem.
pub struct BtrfsFile<'v> {
    vol: &'v Volume,
    tree: Root,
    ino: u64,
    size: u64,
    pos: u64,
    batch: VecDeque<Extent>,
    /// Key offset the next batch starts at; `None` once every extent item was fetched.
    resume: Option<u64>,
    /// Decoded bytes of one inline or compressed extent: (file offset of byte 0, bytes).
    decoded: Option<(u64, Vec<u8>)>,
}

/// Where the next bytes come from.
enum Piece {
    Disk(Segment),
    /// `len` bytes from the decoded buffer at `at`.
    Memory {
        at: usize,
        len: u64,
    },
}

impl<'v> BtrfsFile<'v> {
    pub(super) fn new(vol: &'v Volume, tree: Root, ino: u64, size: u64) -> BtrfsFile<'v> {
        BtrfsFile {
            vol,
            tree,
            ino,
            size,
            pos: 0,
            batch: VecDeque::new(),
            resume: Some(0),
            decoded: None,
        }
    }

    /// File size in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }

    fn fetch(&mut self) -> Result<(), FsError> {
        let Some(from) = self.resume else {
            return Ok(());
        };
        let mut got = Vec::new();
        let mut fail = None;
        self.vol.search(
            self.tree,
            Key::new(self.ino, EXTENT_DATA_KEY, from),
            Key::new(self.ino, EXTENT_DATA_KEY, u64::MAX),
            &mut |k, d| match items::extent(k, d) {
                Ok(e) => {
                    got.push(e);
                    if got.len() >= BTRFS_EXTENT_BATCH {
                        ControlFlow::Break(())
                    } else {
                        ControlFlow::Continue(())
                    }
                }
                Err(e) => {
                    fail = Some(e);
                    ControlFlow::Break(())
                }
            },
        )?;
        if let Some(e) = fail {
            return Err(e);
        }
        self.resume = match got.last() {
            Some(last) if got.len() >= BTRFS_EXTENT_BATCH => last.start.checked_add(1),
            _ => None,
        };
        self.batch.extend(got);
        Ok(())
    }

    /// The extent covering `pos`, or the length of zeros before the next one.
    fn current(&mut self) -> Result<Result<Extent, u64>, FsError> {
        loop {
            while self.batch.front().is_some_and(|e| e.end() <= self.pos) {
                self.batch.pop_front();
            }
            if self.batch.is_empty() && self.resume.is_some() {
                self.fetch()?;
                continue;
            }
            let limit = self.size - self.pos;
            return Ok(match self.batch.front() {
                Some(e) if e.start <= self.pos => Ok(e.clone()),
                Some(e) => Err((e.start - self.pos).min(limit)),
                None => Err(limit),
            });
        }
    }

    fn next_piece(&mut self, max: u64) -> Result<Option<Piece>, FsError> {
        if self.pos >= self.size || max == 0 {
            return Ok(None);
        }
        let e = match self.current()? {
            Ok(e) => e,
            Err(zeros) => {
                return Ok(Some(self.advance(Piece::Disk(Segment::Zeros {
                    len: zeros.min(max),
                }))))
            }
        };
        let within = self.pos - e.start;
        let want = (e.end() - self.pos).min(self.size - self.pos).min(max);
        let comp = Compression::from_raw(e.compression)?;
        let piece = match (&e.kind, comp) {
            (ExtentKind::Regular { disk: 0, .. }, _)
            | (ExtentKind::Regular { prealloc: true, .. }, _) => {
                Piece::Disk(Segment::Zeros { len: want })
            }
            (ExtentKind::Regular { disk, offset, .. }, Compression::None) => {
                let logical = disk
                    .checked_add(*offset)
                    .and_then(|l| l.checked_add(within))
                    .ok_or_else(|| corrupt("file extent address overflows".into()))?;
                let (phys, run) = self.vol.chunks.map(logical)?;
                let len = want.min(run);
                let disk_offset = self.vol.slice.absolute(phys, len)?;
                Piece::Disk(Segment::Data { disk_offset, len })
            }
            _ => {
                let at = self.decode(&e, comp)?;
                let avail = self.decoded.as_ref().map_or(0, |(_, b)| b.len());
                let at = at
                    .checked_add(usize::try_from(within).unwrap_or(usize::MAX))
                    .filter(|&a| a < avail)
                    .ok_or_else(|| corrupt("extent data shorter than the extent".into()))?;
                let len = want.min((avail - at) as u64);
                Piece::Memory { at, len }
            }
        };
        Ok(Some(self.advance(piece)))
    }

    fn advance(&mut self, p: Piece) -> Piece {
        let len = match p {
            Piece::Disk(Segment::Data { len, .. } | Segment::Zeros { len }) => len,
            Piece::Memory { len, .. } => len,
        };
        self.pos += len; // len <= size - pos
        p
    }

    /// Decodes extent `e` into `self.decoded` (unless already there). Returns the index of
    /// the extent's first file byte in the buffer.
    fn decode(&mut self, e: &Extent, comp: Compression) -> Result<usize, FsError> {
        let (src, ram, skip) = match &e.kind {
            ExtentKind::Inline { ram, .. } => (None, *ram, 0),
            ExtentKind::Regular {
                disk,
                disk_len,
                offset,
                ram,
                ..
            } => (Some((*disk, *disk_len)), *ram, *offset),
        };
        if ram > BTRFS_MAX_COMPRESSED_EXTENT {
            return Err(corrupt(format!(
                "a compressed extent claims {ram} bytes (at most {BTRFS_MAX_COMPRESSED_EXTENT})"
            )));
        }
        let skip = usize::try_from(skip).unwrap_or(usize::MAX);
        if self.decoded.as_ref().is_some_and(|(s, _)| *s == e.start) {
            return Ok(skip);
        }
        let mut out = vec![0u8; ram as usize]; // <= 128 KiB
        match (src, &e.kind) {
            (None, ExtentKind::Inline { data, .. }) => {
                decompress(comp, data, &mut out, self.vol.sb.sectorsize)?;
            }
            (Some((disk, disk_len)), _) => {
                if disk_len > BTRFS_MAX_COMPRESSED_EXTENT {
                    return Err(corrupt(format!(
                        "a compressed extent of {disk_len} bytes on disk (at most {BTRFS_MAX_COMPRESSED_EXTENT})"
                    )));
                }
                let mut raw = vec![0u8; disk_len as usize];
                self.vol.read_logical(disk, &mut raw)?;
                decompress(comp, &raw, &mut out, self.vol.sb.sectorsize)?;
            }
            _ => {}
        }
        self.decoded = Some((e.start, out));
        Ok(skip)
    }

    /// True when every extent is plain (uncompressed on disk, hole or prealloc), so the
    /// file can be copied as segments. Looks at most [`BTRFS_MAX_SEGMENT_SCAN`] extents.
    pub fn all_plain(&self) -> Result<bool, FsError> {
        let mut seen = 0usize;
        let verdict = self.vol.search(
            self.tree,
            Key::new(self.ino, EXTENT_DATA_KEY, 0),
            Key::new(self.ino, EXTENT_DATA_KEY, u64::MAX),
            &mut |k, d| {
                seen += 1;
                match items::extent(k, d) {
                    Ok(e)
                        if seen <= BTRFS_MAX_SEGMENT_SCAN
                            && e.compression == 0
                            && matches!(e.kind, ExtentKind::Regular { .. }) =>
                    {
                        ControlFlow::Continue(())
                    }
                    _ => ControlFlow::Break(()),
                }
            },
        )?;
        Ok(verdict.is_none())
    }

    /// Fills as much of `buf` as possible (short only at end of file).
    pub(super) fn read_full(&mut self, buf: &mut [u8]) -> Result<usize, FsError> {
        let mut done = 0;
        while let Some(rest) = buf.get_mut(done..).filter(|r| !r.is_empty()) {
            let Some(piece) = self.next_piece(rest.len() as u64)? else {
                break;
            };
            let n = match piece {
                Piece::Disk(Segment::Data { disk_offset, len }) => {
                    let dst = rest.get_mut(..to_usize(len)).unwrap_or_default();
                    self.vol.slice.disk().read_exact_at(disk_offset, dst)?;
                    dst.len()
                }
                Piece::Disk(Segment::Zeros { len }) => {
                    let dst = rest.get_mut(..to_usize(len)).unwrap_or_default();
                    dst.fill(0);
                    dst.len()
                }
                Piece::Memory { at, len } => {
                    let src = self
                        .decoded
                        .as_ref()
                        .and_then(|(_, b)| b.get(at..at + to_usize(len)))
                        .unwrap_or_default();
                    let dst = rest.get_mut(..src.len()).unwrap_or_default();
                    dst.copy_from_slice(src);
                    dst.len()
                }
            };
            if n == 0 {
                break;
            }
            done += n;
        }
        Ok(done)
    }
}

impl Volume {
    /// Reads `buf.len()` bytes at logical address `logical`, across chunks if need be.
    pub(super) fn read_logical(&self, logical: u64, buf: &mut [u8]) -> Result<(), FsError> {
        let mut done = 0usize;
        while done < buf.len() {
            let at = logical
                .checked_add(done as u64)
                .ok_or_else(|| corrupt("extent address overflows".into()))?;
            let (phys, run) = self.chunks.map(at)?;
            let n = to_usize(run).min(buf.len() - done);
            let dst = buf.get_mut(done..done + n).unwrap_or_default();
            self.slice.read_exact_at(phys, dst)?;
            done += n;
        }
        Ok(())
    }
}

/// `len` <= the buffer length it was capped by, so it fits a usize.
fn to_usize(len: u64) -> usize {
    usize::try_from(len).unwrap_or(usize::MAX)
}

impl Read for BtrfsFile<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.read_full(buf).map_err(io::Error::other)
    }
}

impl crate::fs::SegmentSource for BtrfsFile<'_> {
    fn disk(&self) -> &crate::disk::Disk {
        self.vol.slice.disk()
    }

    fn next_segment(&mut self, max: u64) -> Result<Option<Segment>, FsError> {
        match self.next_piece(max)? {
            None => Ok(None),
            Some(Piece::Disk(s)) => Ok(Some(s)),
            Some(Piece::Memory { .. }) => Err(corrupt(
                "a compressed extent appeared in a file mapped as plain".into(),
            )),
        }
    }
}
