//! Directories, scanned linearly. Hashed (htree) directories are valid linear directories
//! too (their index blocks look like empty entries), so one scan serves both and no hash
//! function has to be trusted. Every scan is capped in bytes and entries.

use super::file::ExtFile;
use super::inode::{Inode, FL_ENCRYPT, FL_INLINE_DATA};
use super::superblock::INCOMPAT_FILETYPE;
use super::volume::Volume;
use super::{le16, le32};
use crate::fs::{FileKind, FsError};
use crate::limits::{MAX_DIR_BYTES, MAX_DIR_ENTRIES};
use std::ops::ControlFlow;

/// One live directory entry.
pub(super) struct Entry<'a> {
    pub name: &'a [u8],
    pub ino: u32,
    /// From the entry's type byte, when the filesystem records it.
    pub kind: Option<FileKind>,
}

impl Volume {
    /// Calls `visit` for each live entry of directory `dir` (including `.` and `..`) until
    /// it breaks. Fails on malformed entries, like the kernel's `ext4_check_dir_entry`.
    pub fn scan_dir<T>(
        &self,
        dir: &Inode,
        mut visit: impl FnMut(Entry<'_>) -> ControlFlow<T>,
    ) -> Result<Option<T>, FsError> {
        if dir.has(FL_ENCRYPT) {
            return Err(self.unsupported("encrypt"));
        }
        if dir.has(FL_INLINE_DATA) {
            return self.scan_inline_dir(dir, visit);
        }
        if dir.size > MAX_DIR_BYTES {
            return Err(self.sb.corrupt(format!(
                "directory inode {} is {} bytes, over the {MAX_DIR_BYTES}-byte cap",
                dir.ino, dir.size
            )));
        }
        let bs = usize::try_from(self.block_size()).unwrap_or(1024);
        let mut file = ExtFile::new(self, dir)?;
        // Read several blocks per call (64 KiB), then parse block by block.
        let mut buf = vec![0u8; bs * (65536 / bs).max(1)];
        let mut slots = 0u64;
        let mut blk_no = 0u64;
        loop {
            let n = file.read_full(&mut buf)?;
            let Some(data) = buf.get(..n).filter(|d| !d.is_empty()) else {
                return Ok(None);
            };
            for block in data.chunks(bs) {
                if let Some(t) = self.scan_chunk(block, dir.ino, blk_no, &mut slots, &mut visit)? {
                    return Ok(Some(t));
                }
                blk_no += 1;
            }
        }
    }

    /// Entries of one directory block (or inline-data area).
    pub(super) fn scan_chunk<T>(
        &self,
        data: &[u8],
        dir: u32,
        blk_no: u64,
        slots: &mut u64,
        visit: &mut impl FnMut(Entry<'_>) -> ControlFlow<T>,
    ) -> Result<Option<T>, FsError> {
        let mut off = 0usize;
        while off + 8 <= data.len() {
            *slots += 1;
            if *slots > MAX_DIR_ENTRIES {
                return Err(self.sb.corrupt(format!(
                    "directory inode {dir} has over {MAX_DIR_ENTRIES} entries"
                )));
            }
            let (entry, rec_len) = self.entry(data, off, dir, blk_no)?;
            if let Some(e) = entry {
                if let ControlFlow::Break(t) = visit(e) {
                    return Ok(Some(t));
                }
            }
            let Some(rec_len) = rec_len else { break };
            off += rec_len;
        }
        Ok(None)
    }

    /// An inline directory (kernel `ext4_read_inline_dir`): `.` is implicit, `..` is the
    /// first 4 bytes of `i_block`, entries follow in the rest of `i_block` and in the
    /// `system.data` attribute value.
    fn scan_inline_dir<T>(
        &self,
        dir: &Inode,
        mut visit: impl FnMut(Entry<'_>) -> ControlFlow<T>,
    ) -> Result<Option<T>, FsError> {
        let parts = dir.inline_parts().ok_or_else(|| {
            self.sb
                .corrupt(format!("inode {}: malformed inline data", dir.ino))
        })?;
        let parent = le32(&dir.raw, 0x28);
        for (name, ino) in [(&b"."[..], dir.ino), (&b".."[..], parent)] {
            if let ControlFlow::Break(t) = visit(Entry {
                name,
                ino,
                kind: Some(FileKind::Dir),
            }) {
                return Ok(Some(t));
            }
        }
        let (r0, rlen) = parts.rest;
        let chunks = [dir.raw.get(0x2c..0x64), dir.raw.get(r0..r0 + rlen)];
        let mut slots = 0u64;
        for (i, chunk) in chunks.into_iter().enumerate() {
            if let Some(t) = self.scan_chunk(
                chunk.unwrap_or_default(),
                dir.ino,
                i as u64,
                &mut slots,
                &mut visit,
            )? {
                return Ok(Some(t));
            }
        }
        Ok(None)
    }

    /// Decodes the entry at `off`: the live entry if any, and its record length (`None`:
    /// the rest of the block is empty, as in a hole or an all-zero block).
    fn entry<'a>(
        &self,
        data: &'a [u8],
        off: usize,
        dir: u32,
        blk: u64,
    ) -> Result<(Option<Entry<'a>>, Option<usize>), FsError> {
        let ino = le32(data, off);
        let raw_rec = le16(data, off + 4);
        let filetype = self.sb.has_incompat(INCOMPAT_FILETYPE);
        let (name_len, type_byte) = match (data.get(off + 6), data.get(off + 7)) {
            (Some(&l), Some(&t)) if filetype => (usize::from(l), Some(t)),
            _ => (usize::from(le16(data, off + 6)), None),
        };
        let rec_len = decode_rec_len(raw_rec, self.block_size());
        if rec_len == 0 && ino == 0 {
            return Ok((None, None));
        }
        let bad = |what: &str| {
            self.sb.corrupt(format!(
                "directory inode {dir} block {blk} offset {off}: {what}"
            ))
        };
        if rec_len < 12 || !rec_len.is_multiple_of(4) || off + rec_len > data.len() {
            return Err(bad(&format!("bad record length {rec_len}")));
        }
        if 8 + name_len > rec_len {
            return Err(bad(&format!(
                "name length {name_len} exceeds record length {rec_len}"
            )));
        }
        let entry = match data.get(off + 8..off + 8 + name_len) {
            Some(name) if ino != 0 && !name.is_empty() => Some(Entry {
                name,
                ino,
                kind: type_byte.and_then(kind_of),
            }),
            _ => None,
        };
        Ok((entry, Some(rec_len)))
    }

    pub fn unsupported(&self, feature: &str) -> FsError {
        FsError::UnsupportedFeature {
            fs: self.sb.fs_type.as_str(),
            feature: feature.into(),
        }
    }
}

/// `ext2fs_get_rec_len`: 64 KiB blocks store 65536 as 0 or 65535.
fn decode_rec_len(raw: u16, block_size: u64) -> usize {
    if block_size < 65536 {
        usize::from(raw)
    } else if raw == u16::MAX || raw == 0 {
        65536
    } else {
        usize::from(raw & 0xFFFC) | (usize::from(raw & 3) << 16)
    }
}

/// The entry type byte (low nibble; the high bits flag Lustre's dirdata).
fn kind_of(t: u8) -> Option<FileKind> {
    match t & 0x0F {
        1 => Some(FileKind::File),
        2 => Some(FileKind::Dir),
        7 => Some(FileKind::Symlink),
        3..=6 => Some(FileKind::Other),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rec_len_encoding() {
        assert_eq!(decode_rec_len(12, 4096), 12);
        assert_eq!(decode_rec_len(0, 65536), 65536);
        assert_eq!(decode_rec_len(65535, 65536), 65536);
        assert_eq!(decode_rec_len(0xFFFC, 65536), 0xFFFC);
    }
}
