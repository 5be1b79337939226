//! Streaming reads of a regular file (or a directory's or symlink's data): each step maps
//! one run of blocks and reads as much of it as the caller asked for in one positioned
//! read, straight into the caller's buffer. Holes and unwritten extents read as zeros.

use super::inode::{Inode, FL_INLINE_DATA};
use super::map::{Mapper, Run};
use super::volume::Volume;
use crate::fs::FsError;
use std::io::{self, Read};

/// A piece of a file, in file order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Segment {
    /// `len` bytes stored at absolute byte `disk_offset` of the disk (not the partition),
    /// e.g. for `copy_file_range` from the image.
    Data { disk_offset: u64, len: u64 },
    /// `len` bytes of zeros.
    Zeros { len: u64 },
}

/// An open file of an ext filesystem: `Read`, or [`ExtFile::next_segment`] for zero-copy.
pub struct ExtFile<'v> {
    vol: &'v Volume,
    mapper: Mapper<'v>,
    size: u64,
    pos: u64,
    /// The run last mapped, with its first logical block.
    run: Option<(u64, Run)>,
    /// Inline data: up to two (partition offset, length) pieces, in file order.
    inline: Option<[(u64, u64); 2]>,
}

impl<'v> ExtFile<'v> {
    pub(super) fn new(vol: &'v Volume, inode: &Inode) -> Result<ExtFile<'v>, FsError> {
        let inline = if inode.has(FL_INLINE_DATA) {
            Some(inline_pieces(vol, inode)?)
        } else {
            None
        };
        Ok(ExtFile {
            vol,
            mapper: Mapper::new(vol, inode),
            size: inode.size,
            pos: 0,
            run: None,
            inline,
        })
    }

    /// File size in bytes (as the inode states it).
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The next piece of at most `max` bytes from the current position, which it passes.
    /// `None` at end of file.
    pub fn next_segment(&mut self, max: u64) -> Result<Option<Segment>, FsError> {
        if self.pos >= self.size || max == 0 {
            return Ok(None);
        }
        if let Some(pieces) = self.inline {
            return self.inline_segment(pieces, max).map(Some);
        }
        let bs = self.vol.block_size();
        let lblk = self.pos / bs;
        let within = self.pos % bs;
        let (first, run) = match self.run {
            Some((first, run)) if lblk >= first && lblk - first < run_len(run) => (first, run),
            _ => {
                let run = self.mapper.map(lblk)?;
                self.run = Some((lblk, run));
                (lblk, run)
            }
        };
        let blocks_left = run_len(run) - (lblk - first); // >= 1
        let want = (self.size - self.pos).min(max);
        let seg = match run {
            Run::Zero { .. } => {
                let len = blocks_left
                    .saturating_mul(bs)
                    .saturating_sub(within)
                    .min(want);
                Segment::Zeros { len }
            }
            Run::Mapped { start, .. } => {
                let src = self.vol.source(start + (lblk - first), blocks_left);
                let len = src
                    .blocks
                    .saturating_mul(bs)
                    .saturating_sub(within)
                    .min(want);
                let disk_offset = self.vol.slice.absolute(src.offset + within, len)?;
                Segment::Data { disk_offset, len }
            }
        };
        let len = match seg {
            Segment::Data { len, .. } | Segment::Zeros { len } => len,
        };
        self.pos += len; // len <= size - pos
        Ok(Some(seg))
    }

    fn inline_segment(&mut self, pieces: [(u64, u64); 2], max: u64) -> Result<Segment, FsError> {
        let (mut piece_start, mut seg) = (0u64, None);
        for (off, len) in pieces {
            if self.pos < piece_start + len {
                let within = self.pos - piece_start;
                let len = (len - within).min(max);
                let disk_offset = self.vol.slice.absolute(off + within, len)?;
                seg = Some(Segment::Data { disk_offset, len });
                break;
            }
            piece_start += len;
        }
        let seg = seg.ok_or_else(|| {
            self.vol
                .sb
                .corrupt("inline data shorter than its file".into())
        })?;
        if let Segment::Data { len, .. } = seg {
            self.pos += len;
        }
        Ok(seg)
    }

    /// Fills as much of `buf` as possible (short only at end of file).
    pub(super) fn read_full(&mut self, buf: &mut [u8]) -> Result<usize, FsError> {
        let mut done = 0;
        while let Some(rest) = buf.get_mut(done..).filter(|r| !r.is_empty()) {
            let n = self.read_some(rest)?;
            if n == 0 {
                break;
            }
            done += n;
        }
        Ok(done)
    }

    fn read_some(&mut self, buf: &mut [u8]) -> Result<usize, FsError> {
        let Some(seg) = self.next_segment(buf.len() as u64)? else {
            return Ok(0);
        };
        match seg {
            Segment::Data { disk_offset, len } => {
                let dst = buf.get_mut(..to_usize(len)).unwrap_or_default();
                self.vol.slice.disk().read_exact_at(disk_offset, dst)?;
                Ok(dst.len())
            }
            Segment::Zeros { len } => {
                let dst = buf.get_mut(..to_usize(len)).unwrap_or_default();
                dst.fill(0);
                Ok(dst.len())
            }
        }
    }
}

/// Partition offsets of an inline file's bytes: `i_block`, then the `system.data` value.
fn inline_pieces(vol: &Volume, inode: &Inode) -> Result<[(u64, u64); 2], FsError> {
    let bad = || {
        vol.sb
            .corrupt(format!("inode {}: malformed inline data", inode.ino))
    };
    let parts = inode.inline_parts().ok_or_else(bad)?;
    let avail = (parts.first.1 + parts.rest.1) as u64; // both within one inode
    if inode.size > avail {
        return Err(bad());
    }
    let base = vol.source(inode.blk, 1).offset + inode.off;
    let first = inode.size.min(parts.first.1 as u64);
    Ok([
        (base + parts.first.0 as u64, first),
        (base + parts.rest.0 as u64, inode.size - first),
    ])
}

/// `len` <= the buffer length it was capped by, so it fits a usize.
fn to_usize(len: u64) -> usize {
    usize::try_from(len).unwrap_or(usize::MAX)
}

fn run_len(run: Run) -> u64 {
    match run {
        Run::Mapped { len, .. } | Run::Zero { len } => len,
    }
}

impl Read for ExtFile<'_> {
    /// Fills as much of `buf` as the file allows, looping over runs, so callers with large
    /// buffers make one call per buffer rather than one per block.
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.read_full(buf).map_err(io::Error::other)
    }
}
