//! L1 and L2 tables, read in small slices through a bounded LRU cache.
//!
//! Tables are never loaded whole: an L2 table is a cluster (up to 2 MiB) and an L1 table up
//! to 32 MiB, but one lookup needs 8 or 16 bytes of each. Reading [`limits::QCOW2_TABLE_SLICE`]
//! bytes around the entry (as qemu's `l2-cache-entry-size` does) keeps a scattered small
//! read cheap — a 4 KiB read of guest metadata costs at most two 4 KiB table reads — and the
//! cache ([`limits::QCOW2_TABLE_CACHE_SLICES`] slices) makes sequential reads hit. The walk
//! is two fixed levels, so an L2 table that points at itself, at the L1 table or at the
//! header is just more bytes of the same file: there is nothing to loop on.

use super::{qerr, Qcow2Error};
use crate::disk::{Disk, DiskError};
use crate::limits;
use std::sync::Mutex;

/// One cached slice: its offset in the image file and its bytes.
struct Slice {
    offset: u64,
    bytes: Vec<u8>,
}

/// A small LRU of table slices (most recent last).
pub struct TableCache {
    slices: Mutex<Vec<Slice>>,
    slice_bytes: u64,
}

impl TableCache {
    /// Slices are `min(QCOW2_TABLE_SLICE, cluster_size)` bytes, so one never crosses a
    /// cluster (tables are cluster-aligned).
    pub fn new(cluster_size: u64) -> TableCache {
        TableCache {
            slices: Mutex::new(Vec::new()),
            slice_bytes: limits::QCOW2_TABLE_SLICE.min(cluster_size),
        }
    }

    /// The `N`-byte big-endian entry at byte `index` of the table at `table` (of
    /// `table_bytes` bytes, cluster-aligned and inside `file`, as checked by the caller).
    pub fn entry<const N: usize>(
        &self,
        file: &Disk,
        table: u64,
        table_bytes: u64,
        index: u64,
    ) -> Result<[u8; N], DiskError> {
        let slice_start = index - index % self.slice_bytes;
        let len = self
            .slice_bytes
            .min(table_bytes.saturating_sub(slice_start));
        let offset = table
            .checked_add(slice_start)
            .ok_or_else(|| qerr(file, Qcow2Error::TableOutside { offset: table }))?;
        let within = (index - slice_start) as usize; // < slice_bytes <= 4 KiB
        let mut slices = self.slices.lock().unwrap_or_else(|p| p.into_inner());
        // Keyed by offset and length: an L2 table placed on the L1 table is a different (longer)
        // slice of the same bytes.
        let pos = match slices
            .iter()
            .position(|s| s.offset == offset && s.bytes.len() as u64 == len)
        {
            Some(p) => p,
            None => {
                let mut bytes = vec![0u8; len as usize]; // <= 4 KiB
                file.read_exact_at(offset, &mut bytes)?;
                if slices.len() >= limits::QCOW2_TABLE_CACHE_SLICES {
                    slices.remove(0);
                }
                slices.push(Slice { offset, bytes });
                slices.len() - 1
            }
        };
        let s = slices.remove(pos);
        let out = s
            .bytes
            .get(within..within + N)
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| qerr(file, Qcow2Error::TableOutside { offset: table }));
        slices.push(s);
        out
    }
}
