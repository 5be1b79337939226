//! A logical volume as a [`Backing`]: LV byte offsets mapped through its segments onto
//! slices of the PVs. Reads are split at segment and stripe boundaries; `host_extent`
//! hands back the underlying disk's own host-file piece, so a kernel on an LV is still
//! copied with `copy_file_range` straight from the image.

use crate::disk::{Backing, DiskError, HostExtent, Slice};

/// How one piece of the LV maps onto its PVs.
#[derive(Clone, Debug)]
pub enum Map {
    /// Contiguous on one PV: the piece's bytes start at `offset` of `pv`.
    Linear { pv: Slice, offset: u64 },
    /// Round-robin over stripes of `stripe_size` bytes; each stripe's data starts at its
    /// offset on its PV.
    Striped {
        stripes: Vec<(Slice, u64)>,
        stripe_size: u64,
    },
}

/// One segment, in LV bytes `start..start+len`.
#[derive(Clone, Debug)]
pub struct Piece {
    pub start: u64,
    pub len: u64,
    pub map: Map,
}

/// The LV: pieces sorted, contiguous from 0, each mapped inside its PV (checked by the
/// VG assembly before this is built).
pub struct LvBacking {
    pieces: Vec<Piece>,
}

impl LvBacking {
    /// `pieces` must be sorted and contiguous from 0 (see [`super::vg`]).
    pub fn new(pieces: Vec<Piece>) -> LvBacking {
        LvBacking { pieces }
    }

    /// Where LV byte `offset` lies: the PV slice, the offset in it, and how many bytes
    /// from there stay contiguous.
    fn locate(&self, offset: u64) -> Result<(&Slice, u64, u64), DiskError> {
        let i = self.pieces.partition_point(|p| p.start <= offset);
        let p = i
            .checked_sub(1)
            .and_then(|i| self.pieces.get(i))
            .filter(|p| offset - p.start < p.len) // p.start <= offset
            .ok_or_else(|| self.outside(offset))?;
        let rel = offset - p.start;
        let rest = p.len - rel;
        match &p.map {
            Map::Linear { pv, offset } => Ok((pv, offset.saturating_add(rel), rest)),
            Map::Striped {
                stripes,
                stripe_size,
            } => {
                let n = stripes.len() as u64;
                let size = (*stripe_size).max(1);
                let chunk = rel / size;
                let within = rel % size;
                let (pv, base) = usize::try_from(chunk % n.max(1))
                    .ok()
                    .and_then(|s| stripes.get(s))
                    .ok_or_else(|| self.outside(offset))?;
                let at = (chunk / n.max(1))
                    .checked_mul(size)
                    .and_then(|r| r.checked_add(*base))
                    .and_then(|r| r.checked_add(within))
                    .ok_or_else(|| self.outside(offset))?;
                Ok((pv, at, (size - within).min(rest)))
            }
        }
    }

    fn outside(&self, offset: u64) -> DiskError {
        DiskError::OutOfBounds {
            path: "logical volume".into(),
            offset,
            len: 0,
            size: self
                .pieces
                .last()
                .map_or(0, |p| p.start.saturating_add(p.len)),
        }
    }
}

impl Backing for LvBacking {
    fn read_exact_at(&self, mut offset: u64, mut buf: &mut [u8]) -> Result<(), DiskError> {
        while !buf.is_empty() {
            let (pv, at, run) = self.locate(offset)?;
            let n = usize::try_from(run).unwrap_or(usize::MAX).min(buf.len());
            let (now, rest) = std::mem::take(&mut buf).split_at_mut(n);
            pv.read_exact_at(at, now)?;
            buf = rest;
            offset = offset.saturating_add(n as u64);
        }
        Ok(())
    }

    fn host_extent(&self, offset: u64, len: u64) -> Result<Option<HostExtent<'_>>, DiskError> {
        let (pv, at, run) = self.locate(offset)?;
        let n = run.min(len);
        let abs = pv.absolute(at, n)?;
        pv.disk().host_extent(abs, n)
    }

    fn format(&self) -> &'static str {
        "lvm2"
    }
}
