//! Symbolic link targets: in the inode (local), or in blocks (remote), which on v5 each
//! start with a checksummed header naming the link's inode.

use super::inode::{Format, Inode};
use super::{be32, be64, crc_ok, path_err, Volume};
use crate::fs::FsError;

const MAGIC: u32 = 0x5853_4c4d; // "XSLM"
const HDR: usize = 56;
/// XFS's own limit on a symlink target (`XFS_SYMLINK_MAXLEN`).
const MAX_LEN: u64 = 1024;
/// Blocks a remote target may span (`XFS_SYMLINK_MAPS`): 1024 bytes in 512-byte blocks.
const MAX_BLOCKS: u32 = 3;

impl Volume {
    /// The target of symlink `inode` (at `path`, for messages).
    pub(super) fn symlink_target(&self, path: &[u8], inode: &Inode) -> Result<Vec<u8>, FsError> {
        if inode.size == 0 || inode.size > MAX_LEN {
            return Err(path_err(
                path,
                &format!("symbolic link target of {} bytes is invalid", inode.size),
            ));
        }
        let len = inode.size as usize; // <= 1024
        let mut target = match inode.format {
            Format::Local => inode
                .fork
                .get(..len)
                .ok_or_else(|| path_err(path, "symbolic link is longer than its inode"))?
                .to_vec(),
            Format::Extents | Format::Btree => self.remote_target(inode, len)?,
            Format::Dev => return Err(path_err(path, "symbolic link has no data")),
        };
        if let Some(nul) = target.iter().position(|&b| b == 0) {
            target.truncate(nul);
        }
        if target.is_empty() {
            return Err(path_err(path, "symbolic link target is empty"));
        }
        Ok(target)
    }

    fn remote_target(&self, inode: &Inode, len: usize) -> Result<Vec<u8>, FsError> {
        let bad = |what: &str| self.corrupt(format!("symlink inode {}: {what}", inode.ino));
        let bs = self.sb.block_size as usize;
        let mut out = Vec::with_capacity(len);
        let mut blk = vec![0u8; bs];
        let mut visited = 0;
        for e in self.extents(inode)? {
            for i in 0..e.blocks {
                if out.len() >= len {
                    return Ok(out);
                }
                visited += 1;
                if visited > MAX_BLOCKS {
                    return Err(bad("target spans more than 3 blocks"));
                }
                let off = e.offset + i * bs as u64;
                self.slice.read_exact_at(off, &mut blk)?;
                let data = if self.sb.v5 {
                    if be32(&blk, 0) != MAGIC || !crc_ok(&blk, 12) {
                        return Err(bad("remote block has a bad magic or checksum"));
                    }
                    if be64(&blk, 32) != inode.ino
                        || blk.get(16..32) != Some(&self.sb.meta_uuid[..])
                    {
                        return Err(bad("remote block belongs elsewhere"));
                    }
                    let n = be32(&blk, 8) as usize;
                    blk.get(HDR..HDR + n.min(bs - HDR)).unwrap_or_default()
                } else {
                    &blk[..]
                };
                let take = data.len().min(len - out.len());
                out.extend_from_slice(data.get(..take).unwrap_or_default());
            }
        }
        if out.len() < len {
            return Err(bad("target is shorter than its size"));
        }
        Ok(out)
    }
}
