//! In-memory journal replay (jbd2, every format: ext3's v1/v2 journals and ext4's 64-bit,
//! checksum v2/v3 ones), so a guest that was not shut down cleanly reads as the kernel
//! would see it after recovery. The result is a map from filesystem block to the block of
//! the journal holding its newest committed copy; the image itself is never written.
//!
//! The scan follows the kernel's `do_one_pass`: transactions from `s_start`/`s_sequence`
//! up to the first block that is not the next expected one; only transactions with a valid
//! commit block count; a revoke in transaction T cancels logged copies from transactions
//! up to T. The walk is bounded by the journal length and by the caps in
//! [`crate::limits`]. When replay is impossible (external journal, escaped blocks, corrupt
//! journal superblock, caps exceeded) the on-disk state is read, with a warning.

use super::inode::Inode;
use super::map::{Mapper, Run};
use super::superblock::{Superblock, SB_OFFSET, SB_SIZE};
use super::volume::Volume;
use crate::crc::crc32c;
use crate::limits::{MAX_JOURNAL_ENTRIES, MAX_JOURNAL_LOG_BYTES};
use std::collections::BTreeMap;

/// Filesystem block → journal copy (a filesystem block number too).
#[derive(Debug, Default)]
pub(super) struct JournalMap {
    map: BTreeMap<u64, u64>,
}

impl JournalMap {
    pub fn get(&self, blk: u64) -> Option<u64> {
        self.map.get(&blk).copied()
    }

    /// The first replaced block after `blk`.
    pub fn next_mapped(&self, blk: u64) -> Option<u64> {
        use std::ops::Bound::{Excluded, Unbounded};
        self.map
            .range((Excluded(blk), Unbounded))
            .next()
            .map(|(k, _)| *k)
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

const MAGIC: u32 = 0xC03B_3998;
const DESCRIPTOR: u32 = 1;
const COMMIT: u32 = 2;
const SUPERBLOCK_V1: u32 = 3;
const SUPERBLOCK_V2: u32 = 4;
const REVOKE: u32 = 5;

const INCOMPAT_64BIT: u32 = 0x2;
const INCOMPAT_ASYNC_COMMIT: u32 = 0x4;
const INCOMPAT_CSUM_V2: u32 = 0x8;
const INCOMPAT_CSUM_V3: u32 = 0x10;
const INCOMPAT_FAST_COMMIT: u32 = 0x20;
const INCOMPAT_KNOWN: u32 = 0x3F;

const TAG_ESCAPE: u32 = 0x1;
const TAG_SAME_UUID: u32 = 0x2;
const TAG_LAST: u32 = 0x8;

/// Replays the journal of a filesystem flagged needs_recovery, in memory. Returns the map
/// (empty when nothing could be replayed), the superblock as of the replay (the journal
/// may hold a newer copy), and the warning to show once.
pub(super) fn replay(vol: &Volume) -> (JournalMap, Option<Superblock>, String) {
    let name = vol.sb.fs_type.as_str();
    match Log::open(vol).and_then(|log| log.replay()) {
        Ok((map, note)) if map.is_empty() => (
            map,
            None,
            format!(
                "{name} filesystem was not cleanly unmounted (needs_recovery); its journal {note}"
            ),
        ),
        Ok((map, note)) => match replayed_superblock(vol, &map) {
            Ok(sb) => {
                let n = map.len();
                let msg = format!(
                    "{name} filesystem was not cleanly unmounted (needs_recovery): replayed {n} journal blocks in memory{note}"
                );
                (map, sb, msg)
            }
            Err(e) => (JournalMap::default(), None, not_replayed(name, &e)),
        },
        Err(e) => (JournalMap::default(), None, not_replayed(name, &e)),
    }
}

fn not_replayed(name: &str, why: &str) -> String {
    format!("{name} filesystem was not cleanly unmounted (needs_recovery) and its journal cannot be replayed ({why}): reading the on-disk state, which may be stale")
}

/// When the journal holds a newer primary superblock, the replayed one (validated again).
fn replayed_superblock(vol: &Volume, map: &JournalMap) -> Result<Option<Superblock>, String> {
    let bs = vol.sb.block_size;
    let Some(copy) = map.get(SB_OFFSET / bs) else {
        return Ok(None);
    };
    let mut raw = [0u8; SB_SIZE];
    vol.slice
        .read_exact_at(copy * bs + SB_OFFSET % bs, &mut raw)
        .map_err(|e| e.to_string())?;
    let sb = Superblock::parse(&raw).map_err(|e| format!("journal copy of the superblock: {e}"))?;
    if sb.fs_type != vol.sb.fs_type || sb.block_size != bs {
        return Err("journal copy of the superblock changes the filesystem type".into());
    }
    Ok(Some(sb))
}

/// An open journal: its inode's block map and its superblock fields.
struct Log<'v> {
    vol: &'v Volume,
    mapper: Mapper<'v>,
    /// First and one-past-last log block (the log wraps from `end` to `first`).
    first: u64,
    end: u64,
    start: u64,
    sequence: u32,
    incompat: u32,
    csum_seed: u32,
    bs: usize,
}

impl<'v> Log<'v> {
    fn open(vol: &'v Volume) -> Result<Log<'v>, String> {
        let sb = &vol.sb;
        if sb.journal_inum == 0 {
            return Err("it is on an external device".into());
        }
        let inode = journal_inode(vol)?;
        let mut mapper = Mapper::new(vol, &inode);
        let bs = usize::try_from(sb.block_size).map_err(|_| "block size")?;
        let head = read_log_block(vol, &mut mapper, 0)?;
        let blocktype = be32(&head, 4);
        if be32(&head, 0) != MAGIC || !(blocktype == SUPERBLOCK_V1 || blocktype == SUPERBLOCK_V2) {
            return Err("bad journal superblock magic".into());
        }
        if u64::from(be32(&head, 0xc)) != sb.block_size {
            return Err("journal block size differs from the filesystem's".into());
        }
        let v2 = blocktype == SUPERBLOCK_V2;
        let incompat = if v2 { be32(&head, 0x28) } else { 0 };
        if incompat & !INCOMPAT_KNOWN != 0 {
            return Err(format!(
                "unknown journal features 0x{:x}",
                incompat & !INCOMPAT_KNOWN
            ));
        }
        let csum = incompat & (INCOMPAT_CSUM_V2 | INCOMPAT_CSUM_V3) != 0;
        if csum {
            let mut copy = head.get(..1024).unwrap_or_default().to_vec();
            if let Some(c) = copy.get_mut(0xfc..0x100) {
                c.fill(0);
            }
            if head.get(0x50) != Some(&4) || crc32c(!0, &copy) != be32(&head, 0xfc) {
                return Err("journal superblock checksum mismatch".into());
            }
        }
        let maxlen = u64::from(be32(&head, 0x10));
        let inode_blocks = inode.size / sb.block_size;
        let fc = if incompat & INCOMPAT_FAST_COMMIT != 0 {
            match be32(&head, 0x54) {
                0 => 256,
                n => u64::from(n),
            }
        } else {
            0
        };
        let end = maxlen.saturating_sub(fc);
        let first = u64::from(be32(&head, 0x14));
        let start = u64::from(be32(&head, 0x1c));
        if maxlen > inode_blocks
            || first == 0
            || first >= end
            || (start != 0 && (start < first || start >= end))
        {
            return Err(format!(
                "journal geometry is invalid (first {first}, start {start}, length {maxlen})"
            ));
        }
        let csum_seed = crc32c(!0, head.get(0x30..0x40).unwrap_or_default());
        Ok(Log {
            vol,
            mapper,
            first,
            end,
            start,
            sequence: be32(&head, 0x18),
            incompat,
            csum_seed,
            bs,
        })
    }

    fn has(&self, f: u32) -> bool {
        self.incompat & f != 0
    }

    fn read(&mut self, lblk: u64) -> Result<Vec<u8>, String> {
        read_log_block(self.vol, &mut self.mapper, lblk)
    }

    fn fs_block_of(&mut self, lblk: u64) -> Result<u64, String> {
        match self.mapper.map(lblk).map_err(|e| e.to_string())? {
            Run::Mapped { start, .. } => Ok(start),
            Run::Zero { .. } => Err(format!("journal block {lblk} is a hole")),
        }
    }

    fn next(&self, lblk: u64) -> u64 {
        if lblk + 1 >= self.end {
            self.first
        } else {
            lblk + 1
        }
    }

    /// Walks the log; returns the map and a note for the warning.
    fn replay(mut self) -> Result<(JournalMap, String), String> {
        if self.start == 0 {
            return Ok((JournalMap::default(), "is empty".into()));
        }
        let max_blocks =
            (MAX_JOURNAL_LOG_BYTES / self.vol.sb.block_size).min(self.end - self.first);
        let mut scan = Scan::default();
        let mut pos = self.start;
        let mut seq = self.sequence;
        let mut walked = 0u64;
        while walked < max_blocks {
            let block = self.read(pos)?;
            walked += 1;
            if be32(&block, 0) != MAGIC || be32(&block, 8) != seq {
                break;
            }
            pos = self.next(pos);
            match be32(&block, 4) {
                DESCRIPTOR => {
                    if !self.tail_ok(&block) {
                        break;
                    }
                    let tags = self.tags(&block)?;
                    for (fs_blk, flags, csum) in tags {
                        let jblk = self.fs_block_of(pos)?;
                        if self.has(INCOMPAT_CSUM_V2 | INCOMPAT_CSUM_V3)
                            && !self.data_ok(pos, seq, csum)?
                        {
                            scan.bad_data += 1;
                        } else {
                            scan.pending.push((fs_blk, jblk, flags & TAG_ESCAPE != 0));
                        }
                        pos = self.next(pos);
                        walked += 1;
                    }
                }
                REVOKE => {
                    if !self.tail_ok(&block) {
                        break;
                    }
                    self.revokes(&block, &mut scan.pending_revokes)?;
                }
                COMMIT => {
                    if !self.commit_ok(&block) {
                        break;
                    }
                    scan.commit(seq)?;
                    seq = seq.wrapping_add(1);
                }
                _ => break,
            }
        }
        if walked >= max_blocks && max_blocks < self.end - self.first {
            return Err(format!("log longer than {MAX_JOURNAL_LOG_BYTES} bytes"));
        }
        let mut note = String::new();
        if scan.bad_data > 0 {
            note.push_str(&format!(
                " ({} blocks with bad checksums skipped)",
                scan.bad_data
            ));
        }
        if self.has(INCOMPAT_FAST_COMMIT) {
            note.push_str(" (fast commits not replayed)");
        }
        let map = scan.finish()?;
        if map.is_empty() {
            note = "holds no committed transaction".into();
        }
        Ok((map, note))
    }

    /// Descriptor tags: (filesystem block, flags, checksum).
    fn tags(&self, block: &[u8]) -> Result<Vec<(u64, u32, u32)>, String> {
        let v3 = self.has(INCOMPAT_CSUM_V3);
        let is64 = self.has(INCOMPAT_64BIT);
        let tag_len = if v3 {
            16
        } else {
            8 + if self.has(INCOMPAT_CSUM_V2) { 2 } else { 0 } + if is64 { 4 } else { 0 }
        };
        let tail = if self.has(INCOMPAT_CSUM_V2 | INCOMPAT_CSUM_V3) {
            4
        } else {
            0
        };
        let limit = self.bs.saturating_sub(tail);
        let mut out = Vec::new();
        let mut off = 12usize;
        while off + tag_len <= limit {
            let lo = u64::from(be32(block, off));
            let (flags, hi, csum) = if v3 {
                (
                    be32(block, off + 4),
                    u64::from(be32(block, off + 8)),
                    be32(block, off + 12),
                )
            } else {
                let hi = if is64 {
                    u64::from(be32(block, off + 8))
                } else {
                    0
                };
                (
                    u32::from(be16(block, off + 6)),
                    hi,
                    u32::from(be16(block, off + 4)),
                )
            };
            let fs_blk = if is64 { (hi << 32) | lo } else { lo };
            out.push((fs_blk, flags, csum));
            off += tag_len;
            if flags & TAG_SAME_UUID == 0 {
                off += 16;
            }
            if flags & TAG_LAST != 0 {
                break;
            }
        }
        Ok(out)
    }

    fn revokes(&self, block: &[u8], into: &mut Vec<u64>) -> Result<(), String> {
        let rec = if self.has(INCOMPAT_64BIT) { 8 } else { 4 };
        let count = usize::try_from(be32(block, 12)).unwrap_or(0).min(self.bs);
        let mut off = 16usize;
        while off + rec <= count {
            let blk = if rec == 8 {
                (u64::from(be32(block, off)) << 32) | u64::from(be32(block, off + 4))
            } else {
                u64::from(be32(block, off))
            };
            into.push(blk);
            if into.len() > MAX_JOURNAL_ENTRIES {
                return Err(format!("over {MAX_JOURNAL_ENTRIES} revoke records"));
            }
            off += rec;
        }
        Ok(())
    }

    /// The checksum tail of descriptor and revoke blocks (csum v2/v3).
    fn tail_ok(&self, block: &[u8]) -> bool {
        if !self.has(INCOMPAT_CSUM_V2 | INCOMPAT_CSUM_V3) {
            return true;
        }
        let at = self.bs.saturating_sub(4);
        self.csum_with_zeroed(block, at) == be32(block, at)
    }

    fn commit_ok(&self, block: &[u8]) -> bool {
        if !self.has(INCOMPAT_CSUM_V2 | INCOMPAT_CSUM_V3) {
            return true;
        }
        // With async commit a commit block may land before its data; the checksum is what
        // tells a torn transaction apart, so it is required either way.
        let _ = INCOMPAT_ASYNC_COMMIT;
        self.csum_with_zeroed(block, 16) == be32(block, 16)
    }

    fn csum_with_zeroed(&self, block: &[u8], at: usize) -> u32 {
        let mut copy = block.to_vec();
        if let Some(c) = copy.get_mut(at..at + 4) {
            c.fill(0);
        }
        crc32c(self.csum_seed, &copy)
    }

    fn data_ok(&mut self, lblk: u64, seq: u32, want: u32) -> Result<bool, String> {
        let data = self.read(lblk)?;
        let got = crc32c(crc32c(self.csum_seed, &seq.to_be_bytes()), &data);
        Ok(if self.has(INCOMPAT_CSUM_V3) {
            got == want
        } else {
            got & 0xFFFF == want & 0xFFFF
        })
    }
}

/// Transactions seen so far: committed copies in log order, and revokes.
#[derive(Default)]
struct Scan {
    pending: Vec<(u64, u64, bool)>,
    pending_revokes: Vec<u64>,
    /// (sequence, filesystem block, journal copy, escaped)
    writes: Vec<(u32, u64, u64, bool)>,
    /// Block → newest sequence that revoked it.
    revoked: BTreeMap<u64, u32>,
    bad_data: u64,
}

impl Scan {
    fn commit(&mut self, seq: u32) -> Result<(), String> {
        for (fs, j, esc) in self.pending.drain(..) {
            self.writes.push((seq, fs, j, esc));
        }
        for b in self.pending_revokes.drain(..) {
            let e = self.revoked.entry(b).or_insert(seq);
            if tid_gt(seq, *e) {
                *e = seq;
            }
        }
        if self.writes.len() > MAX_JOURNAL_ENTRIES || self.revoked.len() > MAX_JOURNAL_ENTRIES {
            return Err(format!("over {MAX_JOURNAL_ENTRIES} logged blocks"));
        }
        Ok(())
    }

    fn finish(self) -> Result<JournalMap, String> {
        let mut map = BTreeMap::new();
        for (seq, fs, j, escaped) in self.writes {
            if self.revoked.get(&fs).is_some_and(|&r| !tid_gt(seq, r)) {
                continue;
            }
            if escaped {
                return Err("it holds escaped blocks".into());
            }
            map.insert(fs, j);
        }
        Ok(JournalMap { map })
    }
}

/// Sequence comparison with wrap-around (jbd2's `tid_gt`).
fn tid_gt(x: u32, y: u32) -> bool {
    (x.wrapping_sub(y) as i32) > 0
}

/// The journal inode, or (like e2fsck) the copy of its block map kept in the superblock
/// when the inode itself is damaged.
fn journal_inode(vol: &Volume) -> Result<Inode, String> {
    let sb = &vol.sb;
    let err = match vol.inode(sb.journal_inum) {
        Ok(i) if i.mode & 0xF000 == 0x8000 && i.size > 0 => return Ok(i),
        Ok(_) => "journal inode is not a regular file".to_string(),
        Err(e) => format!("journal inode: {e}"),
    };
    let Some(backup) = sb.journal_backup else {
        return Err(err);
    };
    let mut block = [0u8; 60];
    for (i, w) in backup.iter().take(15).enumerate() {
        if let Some(b) = block.get_mut(4 * i..4 * i + 4) {
            b.copy_from_slice(&w.to_le_bytes());
        }
    }
    let extents = block.get(..2) == Some(&[0x0a, 0xf3][..]);
    Ok(Inode {
        ino: sb.journal_inum,
        mode: 0x8180,
        flags: if extents { super::inode::FL_EXTENTS } else { 0 },
        size: (u64::from(backup[15]) << 32) | u64::from(backup[16]),
        block,
        raw: Vec::new(),
        blk: 0,
        off: 0,
    })
}

fn read_log_block(vol: &Volume, mapper: &mut Mapper<'_>, lblk: u64) -> Result<Vec<u8>, String> {
    let blk = match mapper.map(lblk).map_err(|e| e.to_string())? {
        Run::Mapped { start, .. } => start,
        Run::Zero { .. } => return Err(format!("journal block {lblk} is a hole")),
    };
    // The journal is never itself journaled: read the on-disk block.
    let mut buf = vec![0u8; usize::try_from(vol.sb.block_size).unwrap_or(1024)];
    vol.check_range(blk, 1, &|| "journal".into())
        .map_err(|e| e.to_string())?;
    vol.slice
        .read_exact_at(blk * vol.sb.block_size, &mut buf)
        .map_err(|e| e.to_string())?;
    Ok(buf)
}

fn be32(b: &[u8], off: usize) -> u32 {
    off.checked_add(4)
        .and_then(|e| b.get(off..e))
        .and_then(|s| s.try_into().ok())
        .map_or(0, u32::from_be_bytes)
}

fn be16(b: &[u8], off: usize) -> u16 {
    off.checked_add(2)
        .and_then(|e| b.get(off..e))
        .and_then(|s| s.try_into().ok())
        .map_or(0, u16::from_be_bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequence_wraps() {
        assert!(tid_gt(1, 0));
        assert!(tid_gt(0, u32::MAX));
        assert!(!tid_gt(5, 5));
    }

    #[test]
    fn revoke_cancels_only_older_copies() {
        let mut s = Scan::default();
        s.pending.push((100, 900, false));
        s.commit(7).unwrap();
        s.pending_revokes.push(100);
        s.commit(8).unwrap();
        s.pending.push((100, 901, false));
        s.commit(9).unwrap();
        let m = s.finish().unwrap();
        assert_eq!(m.get(100), Some(901));

        let mut s = Scan::default();
        s.pending.push((5, 50, false));
        s.commit(1).unwrap();
        s.pending_revokes.push(5);
        s.commit(2).unwrap();
        assert_eq!(s.finish().unwrap().get(5), None);
    }
}
