//! Whether the internal log is clean. A cleanly unmounted XFS ends its log with an unmount
//! record; anything else means committed changes may sit in the log. We never replay it: the
//! on-disk state is read and the caller is warned once. Finding the log head is a binary
//! search over the cycle numbers stamped in every 512-byte log block, then a bounded search
//! backwards for the last record header, as the kernel's `xlog_find_head` does.

use super::{be32, Volume};
use crate::limits::XFS_LOG_HEADER_SEARCH;

const BB: u64 = 512;
const RECORD_MAGIC: u32 = 0xFEED_BABE;
/// Op header flag of an unmount record.
const UNMOUNT_TRANS: u8 = 0x20;
/// Each extra header block covers this much record data (v2 logs).
const HEADER_CYCLE_SIZE: u64 = 32 * 1024;

/// How the log was found.
enum State {
    Clean,
    Dirty,
    Unknown(String),
}

impl Volume {
    /// A one-line warning unless the log ends with an unmount record.
    pub(super) fn log_warning(&self) -> Option<String> {
        match self.log_state() {
            Ok(State::Clean) => None,
            Ok(State::Dirty) => Some(
                "xfs log is dirty (not cleanly unmounted): reading the on-disk state without \
                 replaying the log; the newest changes may be missing"
                    .into(),
            ),
            Ok(State::Unknown(why)) => Some(format!(
                "xfs log could not be checked ({why}): reading the on-disk state without replaying it"
            )),
            Err(e) => Some(format!(
                "xfs log could not be read ({e}): reading the on-disk state without replaying it"
            )),
        }
    }

    fn log_state(&self) -> Result<State, crate::fs::FsError> {
        let sb = &self.sb;
        let Some(start) = self.fsb_offset(sb.log_start, sb.log_blocks) else {
            return Ok(State::Unknown("the log lies outside the filesystem".into()));
        };
        let nbb = (sb.log_blocks << sb.block_log) / BB;
        if nbb < 2 {
            return Ok(State::Unknown("the log is empty".into()));
        }
        let mut buf = [0u8; BB as usize];
        let mut cycle = |i: u64| -> Result<(u32, bool), crate::fs::FsError> {
            self.slice.read_exact_at(start + i * BB, &mut buf)?;
            Ok(if be32(&buf, 0) == RECORD_MAGIC {
                (be32(&buf, 4), true)
            } else {
                (be32(&buf, 0), false)
            })
        };
        let (first, _) = cycle(0)?;
        let (last, _) = cycle(nbb - 1)?;
        if first == 0 {
            // Never written since mkfs zeroed it: nothing to replay.
            return Ok(State::Clean);
        }
        // Blocks before the head carry cycle `first`, those after it the previous cycle.
        let head = if first == last {
            nbb
        } else {
            let (mut lo, mut hi) = (0, nbb - 1);
            while hi - lo > 1 {
                let mid = lo + (hi - lo) / 2;
                if cycle(mid)?.0 == first {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            hi
        };
        // The last record header before the head.
        let mut found = None;
        for back in 1..=XFS_LOG_HEADER_SEARCH.min(nbb) {
            let i = (head + nbb - back) % nbb;
            let (c, is_header) = cycle(i)?;
            if is_header {
                found = Some((i, c));
                break;
            }
        }
        let Some((hdr, c)) = found else {
            return Ok(State::Unknown(
                "no log record header before the head".into(),
            ));
        };
        if c != first {
            return Ok(State::Dirty);
        }
        let mut h = [0u8; BB as usize];
        self.slice.read_exact_at(start + hdr * BB, &mut h)?;
        let len = u64::from(be32(&h, 12));
        let version = be32(&h, 8);
        let size = u64::from(be32(&h, 320));
        let hblks = if version & 2 != 0 && size > HEADER_CYCLE_SIZE {
            size.div_ceil(HEADER_CYCLE_SIZE)
        } else {
            1
        };
        // A clean log ends with exactly the unmount record.
        if (hdr + hblks + len.div_ceil(BB)) % nbb != head % nbb || len == 0 {
            return Ok(State::Dirty);
        }
        self.slice
            .read_exact_at(start + ((hdr + hblks) % nbb) * BB, &mut h)?;
        if h.get(9).is_some_and(|f| f & UNMOUNT_TRANS != 0) {
            Ok(State::Clean)
        } else {
            Ok(State::Dirty)
        }
    }
}
