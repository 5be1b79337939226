//! Logical → physical mapping: the chunks of the sys_chunk_array, then of the chunk tree.
//! A chunk maps a logical range onto stripes; for single, DUP and RAID1/RAID1C3/RAID1C4 each
//! stripe is a full copy, so any stripe on this device will do. Striped profiles (RAID0,
//! RAID10, RAID5/6), and chunks with no copy on this device, are refused in one line.

use super::{corrupt, le16, le64, Key};
use crate::fs::FsError;
use crate::limits::BTRFS_MAX_CHUNKS;

const CHUNK_ITEM_HEAD: usize = 48;
const STRIPE_SIZE: usize = 32;
pub const CHUNK_ITEM_KEY: u8 = 228;

const RAID0: u64 = 1 << 3;
const RAID10: u64 = 1 << 6;
const RAID5: u64 = 1 << 7;
const RAID6: u64 = 1 << 8;

/// One chunk, reduced to the copy on our device.
#[derive(Clone, Copy, Debug)]
struct Chunk {
    logical: u64,
    len: u64,
    /// Physical offset of our copy, or why there is none.
    phys: Result<u64, Missing>,
}

#[derive(Clone, Copy, Debug)]
enum Missing {
    Striped(&'static str),
    OtherDevice(u64),
}

/// The chunk map, sorted by logical address, chunks never overlapping.
#[derive(Default, Debug)]
pub struct ChunkMap {
    chunks: Vec<Chunk>,
}

impl ChunkMap {
    /// Adds the chunk item `data` at logical `key.offset`. Duplicates of a known chunk
    /// (the chunk tree repeats the sys_chunk_array) are ignored when identical.
    pub fn add(&mut self, key: Key, data: &[u8], devid: u64) -> Result<(), FsError> {
        let len = le64(data, 0);
        let ty = le64(data, 24);
        let nstripes = usize::from(le16(data, 44));
        let need = CHUNK_ITEM_HEAD + nstripes * STRIPE_SIZE;
        if nstripes == 0 || data.len() < need || len == 0 {
            return Err(corrupt(format!("chunk at {} is malformed", key.offset)));
        }
        if key.offset.checked_add(len).is_none() {
            return Err(corrupt(format!("chunk at {} overflows", key.offset)));
        }
        let striped = [
            (RAID0, "RAID0"),
            (RAID10, "RAID10"),
            (RAID5, "RAID5"),
            (RAID6, "RAID6"),
        ]
        .into_iter()
        .find(|(bit, _)| ty & bit != 0);
        let phys = match striped {
            Some((_, name)) => Err(Missing::Striped(name)),
            None => (0..nstripes)
                .map(|i| CHUNK_ITEM_HEAD + i * STRIPE_SIZE)
                .find(|&o| le64(data, o) == devid)
                .map(|o| le64(data, o + 8))
                .ok_or(Missing::OtherDevice(le64(data, CHUNK_ITEM_HEAD))),
        };
        if let Ok(p) = phys {
            if p.checked_add(len).is_none() {
                return Err(corrupt(format!("chunk at {} overflows", key.offset)));
            }
        }
        let chunk = Chunk {
            logical: key.offset,
            len,
            phys,
        };
        let at = self.chunks.partition_point(|c| c.logical < chunk.logical);
        if let Some(same) = self.chunks.get(at).filter(|c| c.logical == chunk.logical) {
            if same.len == chunk.len {
                return Ok(());
            }
        }
        let overlaps_prev = at
            .checked_sub(1)
            .and_then(|p| self.chunks.get(p))
            .is_some_and(|p| p.logical + p.len > chunk.logical);
        let overlaps_next = self
            .chunks
            .get(at)
            .is_some_and(|n| chunk.logical + chunk.len > n.logical);
        if overlaps_prev || overlaps_next {
            return Err(corrupt(format!("chunk at {} overlaps another", key.offset)));
        }
        if self.chunks.len() >= BTRFS_MAX_CHUNKS {
            return Err(corrupt(format!("more than {BTRFS_MAX_CHUNKS} chunks")));
        }
        self.chunks.insert(at, chunk);
        Ok(())
    }

    /// Parses the superblock's sys_chunk_array: (key, chunk item) pairs.
    pub fn from_sys_array(array: &[u8], devid: u64) -> Result<ChunkMap, FsError> {
        let mut map = ChunkMap::default();
        let mut pos = 0usize;
        while pos < array.len() {
            let key = Key::parse(array.get(pos..).unwrap_or_default())
                .ok_or_else(|| corrupt("sys_chunk_array is truncated".into()))?;
            pos += Key::SIZE;
            if key.ty != CHUNK_ITEM_KEY {
                return Err(corrupt("sys_chunk_array holds a non-chunk item".into()));
            }
            let rest = array.get(pos..).unwrap_or_default();
            let n = usize::from(le16(rest, 44));
            let size = CHUNK_ITEM_HEAD + n * STRIPE_SIZE;
            let item = rest
                .get(..size)
                .ok_or_else(|| corrupt("sys_chunk_array is truncated".into()))?;
            map.add(key, item, devid)?;
            pos += size;
        }
        if map.chunks.is_empty() {
            return Err(corrupt("sys_chunk_array is empty".into()));
        }
        Ok(map)
    }

    /// The physical offset of `logical`, and how many bytes from there stay contiguous
    /// (to the end of the chunk).
    pub fn map(&self, logical: u64) -> Result<(u64, u64), FsError> {
        let at = self.chunks.partition_point(|c| c.logical <= logical);
        let c = at
            .checked_sub(1)
            .and_then(|i| self.chunks.get(i))
            .filter(|c| logical - c.logical < c.len)
            .ok_or_else(|| corrupt(format!("logical address {logical} is in no chunk")))?;
        let within = logical - c.logical;
        match c.phys {
            Ok(p) => Ok((p + within, c.len - within)),
            Err(Missing::Striped(name)) => Err(FsError::UnsupportedFeature {
                fs: "btrfs",
                feature: format!("{name} profile (the chunk at {} is striped)", c.logical),
            }),
            Err(Missing::OtherDevice(dev)) => Err(FsError::Unsupported(format!(
                "multi-device btrfs: the chunk at {} lives on device {dev}, which is not this disk",
                c.logical
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A chunk item of `len` bytes with stripes on (devid, physical) pairs.
    fn item(len: u64, ty: u64, stripes: &[(u64, u64)]) -> Vec<u8> {
        let mut d = vec![0u8; CHUNK_ITEM_HEAD + STRIPE_SIZE * stripes.len()];
        d[0..8].copy_from_slice(&len.to_le_bytes());
        d[24..32].copy_from_slice(&ty.to_le_bytes());
        d[44..46].copy_from_slice(&(stripes.len() as u16).to_le_bytes());
        for (i, (dev, phys)) in stripes.iter().enumerate() {
            let o = CHUNK_ITEM_HEAD + i * STRIPE_SIZE;
            d[o..o + 8].copy_from_slice(&dev.to_le_bytes());
            d[o + 8..o + 16].copy_from_slice(&phys.to_le_bytes());
        }
        d
    }

    fn key(logical: u64) -> Key {
        Key::new(256, CHUNK_ITEM_KEY, logical)
    }

    #[test]
    fn mirrors_map_through_the_copy_on_this_device() {
        let mut m = ChunkMap::default();
        // RAID1 across devices 2 and 1; DUP on device 1.
        m.add(key(1 << 20), &item(1 << 20, 16, &[(2, 0), (1, 5 << 20)]), 1)
            .unwrap();
        m.add(
            key(4 << 20),
            &item(1 << 20, 32, &[(1, 8 << 20), (1, 9 << 20)]),
            1,
        )
        .unwrap();
        assert_eq!(
            m.map((1 << 20) + 10).unwrap(),
            ((5 << 20) + 10, (1 << 20) - 10)
        );
        assert_eq!(m.map(4 << 20).unwrap(), (8 << 20, 1 << 20));
        assert!(m.map(3 << 20).is_err());
        assert!(m.map(u64::MAX).is_err());
    }

    #[test]
    fn other_devices_and_striping_are_named() {
        let mut m = ChunkMap::default();
        m.add(key(1 << 20), &item(1 << 20, 1, &[(2, 0)]), 1)
            .unwrap();
        m.add(key(4 << 20), &item(1 << 20, 8, &[(1, 0), (1, 1 << 20)]), 1)
            .unwrap();
        let e = m.map(1 << 20).unwrap_err().to_string();
        assert!(
            e.contains("multi-device btrfs") && e.contains("device 2"),
            "{e}"
        );
        let e = m.map(4 << 20).unwrap_err().to_string();
        assert!(e.contains("RAID0"), "{e}");
    }

    #[test]
    fn overlaps_and_malformed_items_are_refused() {
        let mut m = ChunkMap::default();
        m.add(key(1 << 20), &item(1 << 20, 1, &[(1, 0)]), 1)
            .unwrap();
        // The identical chunk again (the chunk tree repeats the sys_chunk_array): ignored.
        m.add(key(1 << 20), &item(1 << 20, 1, &[(1, 0)]), 1)
            .unwrap();
        assert!(m
            .add(key(1 << 20), &item(2 << 20, 1, &[(1, 0)]), 1)
            .is_err());
        assert!(m
            .add(key(3 << 19), &item(1 << 20, 1, &[(1, 0)]), 1)
            .is_err());
        assert!(m
            .add(key(u64::MAX - 5), &item(10, 1, &[(1, 0)]), 1)
            .is_err());
        assert!(m.add(key(8 << 20), &item(1, 1, &[]), 1).is_err());
        assert!(m.add(key(8 << 20), &[0u8; 10], 1).is_err());
        assert!(ChunkMap::from_sys_array(&[1, 2, 3], 1).is_err());
        assert!(ChunkMap::from_sys_array(&[], 1).is_err());
    }
}
