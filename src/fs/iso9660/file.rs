//! A regular file: its extents, contiguous on the disk, read in order. The same walk gives
//! `Read` (positioned reads into the caller's buffer) and [`Segment`]s for zero-copy
//! extraction. Every extent was checked against the filesystem's range when opened.

use super::dir::Extent;
use super::Volume;
use crate::fs::{FsError, Segment};
use std::io::{self, Read};

pub(super) struct IsoFile<'v> {
    vol: &'v Volume,
    extents: Vec<Extent>,
    /// Current extent and the bytes of it already passed.
    idx: usize,
    within: u64,
}

impl<'v> IsoFile<'v> {
    /// Checks every extent against the filesystem range first.
    pub fn new(vol: &'v Volume, extents: Vec<Extent>) -> Result<IsoFile<'v>, FsError> {
        for e in &extents {
            vol.extent_offset(e.block, e.len)?;
        }
        Ok(IsoFile {
            vol,
            extents,
            idx: 0,
            within: 0,
        })
    }

    /// The next piece of at most `max` bytes; `None` at end of file.
    pub fn next_segment(&mut self, max: u64) -> Result<Option<Segment>, FsError> {
        while let Some(e) = self.extents.get(self.idx) {
            let left = e.len - self.within; // within <= len
            if left == 0 || max == 0 {
                if max == 0 {
                    return Ok(None);
                }
                self.idx += 1;
                self.within = 0;
                continue;
            }
            let len = left.min(max);
            let start = self.vol.extent_offset(e.block, e.len)? + self.within;
            let disk_offset = self.vol.slice.absolute(start, len)?;
            self.within += len;
            return Ok(Some(Segment::Data { disk_offset, len }));
        }
        Ok(None)
    }

    fn read_some(&mut self, buf: &mut [u8]) -> Result<usize, FsError> {
        let Some(Segment::Data { disk_offset, len }) = self.next_segment(buf.len() as u64)? else {
            return Ok(0);
        };
        let dst = buf
            .get_mut(..usize::try_from(len).unwrap_or(usize::MAX))
            .unwrap_or_default();
        self.vol.slice.disk().read_exact_at(disk_offset, dst)?;
        Ok(dst.len())
    }
}

impl Read for IsoFile<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut done = 0;
        while let Some(rest) = buf.get_mut(done..).filter(|r| !r.is_empty()) {
            let n = self.read_some(rest).map_err(io::Error::other)?;
            if n == 0 {
                break;
            }
            done += n;
        }
        Ok(done)
    }
}

impl crate::fs::SegmentSource for IsoFile<'_> {
    fn disk(&self) -> &crate::disk::Disk {
        self.vol.slice.disk()
    }

    fn next_segment(&mut self, max: u64) -> Result<Option<Segment>, FsError> {
        IsoFile::next_segment(self, max)
    }
}
