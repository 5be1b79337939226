//! The FAT boot sector (BIOS parameter block): parsed and checked before anything else is
//! read, so every later offset is computed from values known to be sane, in `u64`.
//!
//! The FAT type is decided the way Linux decides it (`fs/fat/inode.c`): FAT32 when the
//! 16-bit FAT size is zero, else FAT12 up to 4084 clusters and FAT16 above. The volume may
//! claim more sectors than the partition holds (blkid's `fat16_noheads` image does): only the
//! metadata must fit, and data reads past the end fail one by one with a bounds error.

/// FAT entry width.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum FatKind {
    Fat12,
    Fat16,
    Fat32,
}

impl FatKind {
    /// Entry values at or above this end a chain: end-of-chain markers and the bad-cluster
    /// marker, which Linux also reads as the end (`fat*_ent_get`).
    pub(super) fn end_marker(self) -> u32 {
        match self {
            FatKind::Fat12 => 0xFF7,
            FatKind::Fat16 => 0xFFF7,
            FatKind::Fat32 => 0x0FFF_FFF7,
        }
    }

    fn bits(self) -> u64 {
        match self {
            FatKind::Fat12 => 12,
            FatKind::Fat16 => 16,
            FatKind::Fat32 => 32,
        }
    }
}

/// Where the root directory lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum RootDir {
    /// FAT12/16: a fixed region after the FATs.
    Fixed { offset: u64, entries: u32 },
    /// FAT32: a cluster chain like any directory.
    Chain(u32),
}

/// The volume layout, in bytes from the start of the filesystem.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Geometry {
    pub kind: FatKind,
    pub cluster_size: u32,
    /// The first FAT, the one Linux reads (it ignores FAT32's "active FAT" flag).
    pub fat_offset: u64,
    pub fat_len: u64,
    pub root: RootDir,
    pub data_offset: u64,
    /// Data clusters; valid cluster numbers are `2..clusters + 2`.
    pub clusters: u32,
}

impl Geometry {
    /// True for a number that names a data cluster of this volume.
    pub(super) fn is_cluster(&self, n: u32) -> bool {
        n >= 2 && u64::from(n) < u64::from(self.clusters) + 2
    }

    /// Byte offset of data cluster `n`, which must satisfy [`Geometry::is_cluster`].
    pub(super) fn cluster_offset(&self, n: u32) -> Option<u64> {
        if !self.is_cluster(n) {
            return None;
        }
        let index = u64::from(n - 2); // n >= 2 checked above
        index
            .checked_mul(u64::from(self.cluster_size))?
            .checked_add(self.data_offset)
    }
}

/// What the boot sector says, beyond the layout.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct BootSector {
    pub geometry: Geometry,
    /// Volume serial, where blkid would read one.
    pub serial: Option<u32>,
}

fn le16(b: &[u8; 512], at: usize) -> u16 {
    match b.get(at..at + 2) {
        Some(&[x, y]) => u16::from_le_bytes([x, y]),
        _ => 0,
    }
}

fn le32(b: &[u8; 512], at: usize) -> u32 {
    match b.get(at..at + 4) {
        Some(&[a, c, d, e]) => u32::from_le_bytes([a, c, d, e]),
        _ => 0,
    }
}

fn byte(b: &[u8; 512], at: usize) -> u8 {
    b.get(at).copied().unwrap_or(0)
}

/// Parses and checks the first 512 bytes of a FAT filesystem that is `fs_len` bytes long.
/// The error text names the field that was wrong.
pub(super) fn parse(b: &[u8; 512], fs_len: u64) -> Result<BootSector, String> {
    let bps = u64::from(le16(b, 0x0B));
    if !matches!(bps, 512 | 1024 | 2048 | 4096) {
        return Err(format!(
            "bytes per sector {bps} (want 512, 1024, 2048 or 4096)"
        ));
    }
    let spc = u64::from(byte(b, 0x0D));
    if !spc.is_power_of_two() {
        return Err(format!("sectors per cluster {spc} (want a power of two)"));
    }
    let reserved = u64::from(le16(b, 0x0E));
    if reserved == 0 {
        return Err("no reserved sectors".into());
    }
    let fats = u64::from(byte(b, 0x10));
    if fats == 0 {
        return Err("zero FATs".into());
    }
    let fat16_size = u64::from(le16(b, 0x16));
    let is_fat32 = fat16_size == 0;
    let fat_sectors = if is_fat32 {
        u64::from(le32(b, 0x24))
    } else {
        fat16_size
    };
    if fat_sectors == 0 {
        return Err("FAT size is zero".into());
    }
    let total = match le16(b, 0x13) {
        0 => u64::from(le32(b, 0x20)),
        n => u64::from(n),
    };
    let root_entries = if is_fat32 {
        0
    } else {
        u64::from(le16(b, 0x11))
    };
    if !is_fat32 && root_entries == 0 {
        return Err("FAT12/16 root directory has no entries".into());
    }
    // Every factor below is at most 32 bits wide, so u64 products cannot overflow.
    let root_sectors = (root_entries * 32).div_ceil(bps);
    let meta_sectors = reserved + fats * fat_sectors + root_sectors;
    let data_sectors = total
        .checked_sub(meta_sectors)
        .filter(|&d| d >= spc)
        .ok_or_else(|| format!("{total} sectors leave no room for data after {meta_sectors}"))?;
    let clusters = data_sectors / spc;
    let kind = if is_fat32 {
        FatKind::Fat32
    } else if clusters <= 4084 {
        FatKind::Fat12
    } else {
        FatKind::Fat16
    };
    // The highest cluster number must stay below the end/bad markers.
    if clusters + 1 >= u64::from(kind.end_marker()) {
        return Err(format!("{clusters} clusters is too many for {kind:?}"));
    }
    let fat_len = fat_sectors * bps;
    if fat_len * 8 / kind.bits() < clusters + 2 {
        return Err(format!(
            "FAT of {fat_len} bytes cannot map {clusters} clusters"
        ));
    }
    let data_offset = meta_sectors * bps;
    if data_offset > fs_len {
        return Err(format!(
            "metadata ends at byte {data_offset}, past the {fs_len}-byte partition"
        ));
    }
    let clusters = u32::try_from(clusters).map_err(|_| "cluster count".to_string())?;
    let root = if is_fat32 {
        RootDir::Chain(le32(b, 0x2C))
    } else {
        RootDir::Fixed {
            offset: (reserved + fats * fat_sectors) * bps,
            entries: u32::from(le16(b, 0x11)),
        }
    };
    let geometry = Geometry {
        kind,
        cluster_size: u32::try_from(spc * bps).map_err(|_| "cluster size".to_string())?,
        fat_offset: reserved * bps,
        fat_len,
        root,
        data_offset,
        clusters,
    };
    if let RootDir::Chain(c) = root {
        if !geometry.is_cluster(c) {
            return Err(format!("root directory cluster {c} is not on the volume"));
        }
    }
    Ok(BootSector {
        serial: serial(b, is_fat32),
        geometry,
    })
}

/// The serial where blkid reads it: FAT32 always at 0x43; FAT12/16 at 0x27 only behind an
/// extended boot signature (0x28 or 0x29).
fn serial(b: &[u8; 512], is_fat32: bool) -> Option<u32> {
    if is_fat32 {
        Some(le32(b, 0x43))
    } else if matches!(byte(b, 0x26), 0x28 | 0x29) {
        Some(le32(b, 0x27))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A FAT16 boot sector like mkfs.fat writes for an 8 MiB volume.
    fn fat16() -> [u8; 512] {
        let mut b = [0u8; 512];
        b[0x0B..0x0D].copy_from_slice(&512u16.to_le_bytes());
        b[0x0D] = 2;
        b[0x0E..0x10].copy_from_slice(&1u16.to_le_bytes());
        b[0x10] = 2;
        b[0x11..0x13].copy_from_slice(&512u16.to_le_bytes());
        b[0x13..0x15].copy_from_slice(&16384u16.to_le_bytes());
        b[0x15] = 0xF8;
        b[0x16..0x18].copy_from_slice(&32u16.to_le_bytes());
        b[0x26] = 0x29;
        b[0x27..0x2B].copy_from_slice(&0x1234_ABCDu32.to_le_bytes());
        b[510] = 0x55;
        b[511] = 0xAA;
        b
    }

    fn fat32() -> [u8; 512] {
        let mut b = [0u8; 512];
        b[0x0B..0x0D].copy_from_slice(&512u16.to_le_bytes());
        b[0x0D] = 1;
        b[0x0E..0x10].copy_from_slice(&32u16.to_le_bytes());
        b[0x10] = 2;
        b[0x20..0x24].copy_from_slice(&69632u32.to_le_bytes());
        b[0x24..0x28].copy_from_slice(&540u32.to_le_bytes());
        b[0x2C..0x30].copy_from_slice(&2u32.to_le_bytes());
        b[0x43..0x47].copy_from_slice(&0x3232_3232u32.to_le_bytes());
        b
    }

    #[test]
    fn fat16_layout() {
        let bs = parse(&fat16(), 8 << 20).unwrap();
        let g = &bs.geometry;
        assert_eq!(g.kind, FatKind::Fat16);
        assert_eq!(g.cluster_size, 1024);
        assert_eq!(g.fat_offset, 512);
        assert_eq!(g.fat_len, 32 * 512);
        assert_eq!(
            g.root,
            RootDir::Fixed {
                offset: 65 * 512,
                entries: 512
            }
        );
        assert_eq!(g.data_offset, (1 + 64 + 32) * 512);
        assert_eq!(g.clusters, (16384 - 97) / 2);
        assert_eq!(bs.serial, Some(0x1234_ABCD));
        assert_eq!(g.cluster_offset(2), Some(g.data_offset));
        assert_eq!(g.cluster_offset(1), None);
        assert_eq!(g.cluster_offset(g.clusters + 2), None);
    }

    #[test]
    fn fat32_layout_and_serial() {
        let bs = parse(&fat32(), 34 << 20).unwrap();
        assert_eq!(bs.geometry.kind, FatKind::Fat32);
        assert_eq!(bs.geometry.root, RootDir::Chain(2));
        assert_eq!(bs.serial, Some(0x3232_3232));
    }

    #[test]
    fn no_serial_without_extended_signature() {
        let mut b = fat16();
        b[0x26] = 0;
        assert_eq!(parse(&b, 8 << 20).unwrap().serial, None);
    }

    #[test]
    fn hostile_fields_are_errors_not_panics() {
        // (what the error must mention, offset, bytes written there)
        let cases: &[(&str, usize, &[u8])] = &[
            ("bytes per sector", 0x0B, &[0, 0]),
            ("bytes per sector", 0x0B, &[1, 2]),
            ("bytes per sector", 0x0B, &[0, 0x20]),
            ("sectors per cluster", 0x0D, &[0]),
            ("sectors per cluster", 0x0D, &[3]),
            ("reserved", 0x0E, &[0, 0]),
            ("zero FATs", 0x10, &[0]),
            ("root directory", 0x11, &[0, 0]),
            ("no room", 0x13, &[10, 0]),
            ("no room", 0x16, &[0xFF, 0xFF]),
            ("no room", 0x0E, &[0xFF, 0xFF]),
        ];
        for &(want, at, bytes) in cases {
            let mut b = fat16();
            b[at..at + bytes.len()].copy_from_slice(bytes);
            let err = parse(&b, 8 << 20).unwrap_err();
            assert!(err.contains(want), "{err:?} should mention {want:?}");
        }
    }

    #[test]
    fn hostile_fat32_fields() {
        let mut b = fat32();
        b[0x24..0x28].copy_from_slice(&0u32.to_le_bytes());
        assert!(parse(&b, 34 << 20)
            .unwrap_err()
            .contains("FAT size is zero"));
        let mut b = fat32();
        b[0x24..0x28].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(parse(&b, u64::MAX).is_err());
        let mut b = fat32();
        b[0x20..0x24].copy_from_slice(&u32::MAX.to_le_bytes());
        b[0x0D] = 128;
        b[0x0B..0x0D].copy_from_slice(&4096u16.to_le_bytes());
        assert!(parse(&b, u64::MAX).unwrap_err().contains("cannot map"));
        for root in [0u32, 1, 0x0FFF_FFFF, u32::MAX] {
            let mut b = fat32();
            b[0x2C..0x30].copy_from_slice(&root.to_le_bytes());
            assert!(parse(&b, 34 << 20)
                .unwrap_err()
                .contains("root directory cluster"));
        }
    }

    #[test]
    fn fat_too_small_for_clusters() {
        let mut b = fat16();
        b[0x16..0x18].copy_from_slice(&1u16.to_le_bytes());
        assert!(parse(&b, 8 << 20).unwrap_err().contains("cannot map"));
    }

    #[test]
    fn volume_may_claim_more_data_than_the_partition_holds() {
        // Only the metadata must fit: blkid's fat16_noheads image is cut to half its size.
        assert!(parse(&fat16(), 97 * 512).is_ok());
        assert!(parse(&fat16(), 10 * 512).unwrap_err().contains("past the"));
    }
}
