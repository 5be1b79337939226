//! The file allocation table: the next-cluster link of every cluster, read through a one-block
//! cache so walking a long chain costs one disk read per 4 KiB of FAT, not one per link.
//!
//! Every link is checked here, once, for every reader: a link to a free cluster, to reserved
//! cluster 0 or 1, or past the volume is an error naming both clusters. Loops are caught by
//! bounding the number of links followed: no valid chain is longer than the volume.

use super::bpb::FatKind;
use super::{corrupt, Volume};
use crate::fs::FsError;

/// Bytes of FAT cached at a time.
const BLOCK: u64 = 4096;

/// Where a cluster's chain goes next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Link {
    Next(u32),
    End,
}

/// A reader of FAT entries with a one-block cache. Each walker owns one.
pub(super) struct FatTable<'a> {
    vol: &'a Volume,
    block: Vec<u8>,
    /// Offset within the FAT of `block`, when it holds data.
    block_at: Option<u64>,
}

impl<'a> FatTable<'a> {
    pub(super) fn new(vol: &'a Volume) -> Self {
        FatTable {
            vol,
            block: Vec::new(),
            block_at: None,
        }
    }

    /// The cluster after `cluster` in its chain. `cluster` must be a data cluster.
    pub(super) fn next(&mut self, cluster: u32) -> Result<Link, FsError> {
        let geo = &self.vol.geo;
        if !geo.is_cluster(cluster) {
            return Err(corrupt(format!("cluster {cluster} is not on the volume")));
        }
        let value = self.raw(cluster)?;
        classify(geo.kind, geo.clusters, cluster, value)
    }

    /// The number of clusters in the chain from `first`, following at most `max` links:
    /// a chain that has not ended by then loops (or is longer than anything valid).
    pub(super) fn chain_len(&mut self, first: u32, max: u64) -> Result<u64, FsError> {
        let mut len = 1u64;
        let mut cluster = first;
        while let Link::Next(n) = self.next(cluster)? {
            len += 1;
            if len > max {
                return Err(corrupt(format!(
                    "cluster chain from cluster {first} does not end within {max} clusters (loop)"
                )));
            }
            cluster = n;
        }
        Ok(len)
    }

    /// The raw entry value for `cluster`, already masked to its width.
    fn raw(&mut self, cluster: u32) -> Result<u32, FsError> {
        let c = u64::from(cluster);
        Ok(match self.vol.geo.kind {
            FatKind::Fat12 => {
                let off = c + c / 2;
                let v = u32::from(u16::from_le_bytes([self.byte(off)?, self.byte(off + 1)?]));
                if cluster & 1 == 1 {
                    v >> 4
                } else {
                    v & 0xFFF
                }
            }
            FatKind::Fat16 => {
                let off = c * 2;
                u32::from(u16::from_le_bytes([self.byte(off)?, self.byte(off + 1)?]))
            }
            FatKind::Fat32 => {
                let off = c * 4;
                let b = [
                    self.byte(off)?,
                    self.byte(off + 1)?,
                    self.byte(off + 2)?,
                    self.byte(off + 3)?,
                ];
                u32::from_le_bytes(b) & 0x0FFF_FFFF
            }
        })
    }

    /// One byte of the FAT, at `off` from its start.
    fn byte(&mut self, off: u64) -> Result<u8, FsError> {
        let start = off / BLOCK * BLOCK;
        if self.block_at != Some(start) {
            let len = BLOCK.min(self.vol.geo.fat_len.saturating_sub(start));
            let len = usize::try_from(len).map_err(|_| corrupt("FAT block size".into()))?;
            self.block.resize(len, 0);
            self.block_at = None;
            let at = self
                .vol
                .geo
                .fat_offset
                .checked_add(start)
                .ok_or_else(|| corrupt("FAT offset overflows".into()))?;
            self.vol.slice.read_exact_at(at, &mut self.block)?;
            self.block_at = Some(start);
        }
        let i = usize::try_from(off - start).map_err(|_| corrupt("FAT offset".into()))?;
        self.block
            .get(i)
            .copied()
            .ok_or_else(|| corrupt(format!("FAT entry at byte {off} is past the FAT")))
    }
}

/// Interprets FAT entry `value` of `cluster` on a volume of `clusters` data clusters.
fn classify(kind: FatKind, clusters: u32, cluster: u32, value: u32) -> Result<Link, FsError> {
    if value >= kind.end_marker() {
        Ok(Link::End)
    } else if value == 0 {
        Err(corrupt(format!(
            "cluster chain runs into free cluster (cluster {cluster} is followed by a free entry)"
        )))
    } else if value >= 2 && u64::from(value) < u64::from(clusters) + 2 {
        Ok(Link::Next(value))
    } else {
        Err(corrupt(format!(
            "cluster {cluster} links to cluster {value}, which is not on the volume"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_are_classified_like_linux() {
        use FatKind::*;
        assert_eq!(classify(Fat12, 100, 5, 6).unwrap(), Link::Next(6));
        assert_eq!(classify(Fat12, 100, 5, 101).unwrap(), Link::Next(101));
        assert_eq!(classify(Fat12, 100, 5, 0xFF7).unwrap(), Link::End);
        assert_eq!(classify(Fat12, 100, 5, 0xFFF).unwrap(), Link::End);
        assert_eq!(classify(Fat16, 100, 5, 0xFFF8).unwrap(), Link::End);
        assert_eq!(classify(Fat32, 100, 5, 0x0FFF_FFFF).unwrap(), Link::End);
        for (kind, bad) in [
            (Fat12, 0),
            (Fat12, 1),
            (Fat12, 102),
            (Fat12, 0xFF0),
            (Fat16, 0xFFF6),
        ] {
            assert!(classify(kind, 100, 5, bad).is_err(), "{kind:?} {bad:#x}");
        }
        assert!(classify(Fat32, 100, 5, 0x0FFF_FFF6).is_err());
    }
}
