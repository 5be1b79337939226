//! Streaming reads of a file's data fork, and its pieces on the disk for zero-copy: holes
//! and unwritten extents read as zeros, shared (reflinked) extents read like any other.

use super::bmap::Extent;
use super::inode::Inode;
use super::Volume;
use crate::fs::{FsError, Segment};
use std::io::{self, Read};

/// An open regular file (or a symlink's or directory's data).
pub struct XfsFile<'v> {
    vol: &'v Volume,
    extents: Vec<Extent>,
    size: u64,
    pos: u64,
    /// Index of the first extent that may still hold `pos`: reads go forward.
    next: usize,
}

impl<'v> XfsFile<'v> {
    pub(super) fn new(vol: &'v Volume, inode: &Inode) -> Result<XfsFile<'v>, FsError> {
        Ok(XfsFile {
            vol,
            extents: vol.extents(inode)?,
            size: inode.size,
            pos: 0,
            next: 0,
        })
    }

    /// The next piece of at most `max` bytes; `None` at end of file.
    pub fn next_segment(&mut self, max: u64) -> Result<Option<Segment>, FsError> {
        if self.pos >= self.size || max == 0 {
            return Ok(None);
        }
        let bs = self.vol.sb.block_size;
        let want = (self.size - self.pos).min(max);
        let block = self.pos / bs;
        while self
            .extents
            .get(self.next)
            .is_some_and(|e| e.file_block + e.blocks <= block)
        {
            self.next += 1;
        }
        let seg = match self.extents.get(self.next) {
            // A hole up to the next extent (or to the end of the file).
            None => Segment::Zeros { len: want },
            Some(e) if e.file_block > block => {
                let gap = e.file_block.saturating_mul(bs).saturating_sub(self.pos);
                Segment::Zeros { len: gap.min(want) }
            }
            Some(e) => {
                // file_block <= block, so its byte offset is at most pos (no overflow).
                let into = self.pos - e.file_block * bs;
                let len = (e.blocks * bs - into).min(want); // blocks < 2^21
                if e.unwritten {
                    Segment::Zeros { len }
                } else {
                    let disk_offset = self.vol.slice.absolute(e.offset + into, len)?;
                    Segment::Data { disk_offset, len }
                }
            }
        };
        let (Segment::Data { len, .. } | Segment::Zeros { len }) = seg;
        self.pos += len; // len <= size - pos
        Ok(Some(seg))
    }

    /// Fills as much of `buf` as possible (short only at end of file).
    pub(super) fn read_full(&mut self, buf: &mut [u8]) -> Result<usize, FsError> {
        let mut done = 0;
        while let Some(rest) = buf.get_mut(done..).filter(|r| !r.is_empty()) {
            let Some(seg) = self.next_segment(rest.len() as u64)? else {
                break;
            };
            let (Segment::Data { len, .. } | Segment::Zeros { len }) = seg;
            let dst = rest
                .get_mut(..usize::try_from(len).unwrap_or(usize::MAX))
                .unwrap_or_default();
            match seg {
                Segment::Data { disk_offset, .. } => {
                    self.vol.slice.disk().read_exact_at(disk_offset, dst)?
                }
                Segment::Zeros { .. } => dst.fill(0),
            }
            done += dst.len();
        }
        Ok(done)
    }
}

impl Read for XfsFile<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.read_full(buf).map_err(io::Error::other)
    }
}

impl crate::fs::SegmentSource for XfsFile<'_> {
    fn disk(&self) -> &crate::disk::Disk {
        self.vol.slice.disk()
    }

    fn next_segment(&mut self, max: u64) -> Result<Option<Segment>, FsError> {
        XfsFile::next_segment(self, max)
    }
}
