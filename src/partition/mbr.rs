//! MBR ("dos") tables: telling an MBR from a FAT boot sector, the primary table (parsed by
//! `mbrman`) and the extended/logical chain (walked here with the Linux kernel's rules).
//!
//! Why the chain is not `mbrman::MBR::read_from`: it panics on a partition starting at
//! sector 0 (`find_alignment` unwraps an empty range), adds EBR offsets in `u32` (overflow),
//! follows any strictly increasing chain without a bound, treats 0xc5/0xd5 as extended
//! (Linux does not) and reads one data entry per EBR (Linux reads all four). Guarding it
//! would mean re-walking the chain first, so we walk it ourselves and keep `mbrman` for
//! the primary table, where it is safe on any 512 bytes.

use super::{PartType, Partition, PartitionError};
use crate::disk::Disk;
use crate::limits::MAX_LOGICAL_PARTITIONS;
use std::collections::HashSet;

/// MBR tables count in 512-byte sectors (what sfdisk assumes for an image file).
pub(super) const SECTOR_SIZE: u32 = 512;
const SECTOR: u64 = SECTOR_SIZE as u64;
const TABLE_OFFSET: usize = 446;
const ENTRY_LEN: usize = 16;

/// Sector 0 of the disk.
pub(super) type Sector = [u8; 512];

/// One 16-byte partition entry, as Linux reads it (CHS ignored).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Entry {
    kind: u8,
    start: u32,
    sectors: u32,
}

impl Entry {
    /// Linux's `is_extended_partition`: DOS (0x05), W95 LBA (0x0f) and Linux (0x85).
    fn is_extended(self) -> bool {
        matches!(self.kind, 0x05 | 0x0f | 0x85)
    }

    fn from_mbrman(e: &mbrman::MBRPartitionEntry) -> Entry {
        Entry {
            kind: e.sys,
            start: e.starting_lba,
            sectors: e.sectors,
        }
    }
}

/// Entry `slot` (0..4) of an MBR or EBR sector.
fn entry_at(sector: &Sector, slot: usize) -> Entry {
    let at = TABLE_OFFSET + ENTRY_LEN * slot;
    let mut raw = [0u8; ENTRY_LEN];
    if let Some(src) = sector.get(at..at + ENTRY_LEN) {
        raw.copy_from_slice(src);
    }
    Entry {
        kind: raw[4],
        start: u32::from_le_bytes([raw[8], raw[9], raw[10], raw[11]]),
        sectors: u32::from_le_bytes([raw[12], raw[13], raw[14], raw[15]]),
    }
}

fn has_signature(sector: &Sector) -> bool {
    sector.get(510..512) == Some(&[0x55, 0xaa][..])
}

/// Sector 0, or `None` when the disk is smaller than one sector (then it has no table).
pub(super) fn read_sector0(disk: &Disk) -> Result<Option<Sector>, PartitionError> {
    if disk.size() < SECTOR {
        return Ok(None);
    }
    let mut s = [0u8; 512];
    disk.read_exact_at(0, &mut s)?;
    Ok(Some(s))
}

/// Linux's `is_pmbr_valid`: some entry of type 0xEE starts at LBA 1 (a protective or hybrid
/// MBR). libfdisk insists on the first slot; the kernel, which the guest runs, does not.
pub(super) fn has_protective_entry(sector: &Sector) -> bool {
    has_signature(sector)
        && (0..4).any(|i| {
            matches!(
                entry_at(sector, i),
                Entry {
                    kind: 0xee,
                    start: 1,
                    ..
                }
            )
        })
}

/// blkid's `fat_valid_superblock`: a FAT boot sector also ends in 0x55AA, and a whole-disk
/// FAT filesystem must not be read as a partition table (blkid's dos prober asks this first).
pub(super) fn is_fat_boot_sector(s: &Sector) -> bool {
    let le16 = |o: usize| {
        s.get(o..o + 2)
            .and_then(|b| b.try_into().ok())
            .map_or(0, u16::from_le_bytes)
    };
    let le32 = |o: usize| {
        s.get(o..o + 4)
            .and_then(|b| b.try_into().ok())
            .map_or(0, u32::from_le_bytes)
    };
    let at = |o: usize, m: &[u8]| s.get(o..o + m.len()) == Some(m);
    let named = at(0x52, b"MSWIN")
        || at(0x52, b"FAT32   ")
        || at(0x36, b"MSDOS")
        || at(0x36, b"FAT16   ")
        || at(0x36, b"FAT12   ")
        || at(0x36, b"FAT     ");
    // Without a FAT name only the jump byte / 0x55AA vouch for it; OS/2 puts FAT-like
    // pseudo-BPBs in front of JFS and HPFS.
    if !named && (!has_signature(s) || at(0x36, b"JFS     ") || at(0x36, b"HPFS    ")) {
        return false;
    }
    let (cluster, fats, media) = (s[0x0d], s[0x10], s[0x15]);
    let (sector_size, reserved) = (le16(0x0b), le16(0x0e));
    if fats == 0
        || reserved == 0
        || !(media >= 0xf8 || media == 0xf0)
        || !cluster.is_power_of_two()
        || !sector_size.is_power_of_two()
        || !(512..=4096).contains(&sector_size)
    {
        return false;
    }
    let sectors = match le16(0x13) {
        0 => le32(0x20),
        n => u32::from(n),
    };
    let fat16_length = le16(0x16);
    let fat_length = match fat16_length {
        0 => le32(0x24),
        n => u32::from(n),
    };
    let dir_sectors = (u32::from(le16(0x11)) * 32).div_ceil(u32::from(sector_size));
    let clusters = fat_length
        .checked_mul(u32::from(fats))
        .and_then(|f| f.checked_add(u32::from(reserved)))
        .and_then(|m| m.checked_add(dir_sectors))
        .and_then(|meta| sectors.checked_sub(meta))
        .map(|data| data / u32::from(cluster));
    let Some(clusters) = clusters else {
        return false;
    };
    let max = if fat16_length == 0 && le32(0x24) != 0 {
        0x0FFF_FFF6
    } else if clusters > 0xFF4 {
        0xFFF4
    } else {
        0xFF4
    };
    clusters <= max
}

/// The MBR's partitions, or `None` when sector 0 is not an MBR: no 0x55AA, a boot flag
/// other than 0x00/0x80 (Linux's `msdos_partition` test), or a FAT boot sector whose
/// entries are empty or describe the FAT itself from sector 0 (mtools' `mformat` writes
/// such an entry). A valid BPB next to an entry starting further on is an MBR written over
/// an old FAT boot sector (some partitioners keep the boot code): Linux reads the entries,
/// and so do we, where blkid would call the whole disk FAT.
pub(super) fn discover(
    disk: &Disk,
    sector0: &Sector,
) -> Result<Option<Vec<Partition>>, PartitionError> {
    if !has_signature(sector0) {
        return Ok(None);
    }
    let header = match mbrman::MBRHeader::read_from(&mut std::io::Cursor::new(&sector0[..])) {
        Ok(h) => h,
        Err(mbrman::Error::InvalidSignature | mbrman::Error::InvalidBootFlag) => return Ok(None),
        Err(e) => return Err(PartitionError::Invalid(format!("MBR: {e}"))),
    };
    let self_describing = |e: &mbrman::MBRPartitionEntry| e.sectors == 0 || e.starting_lba == 0;
    if is_fat_boot_sector(sector0) && header.iter().all(|(_, e)| self_describing(e)) {
        return Ok(None);
    }
    let mut chain = Chain {
        disk,
        signature: u32::from_le_bytes(header.disk_signature),
        next_number: 5,
        ebrs_read: 0,
        out: Vec::new(),
    };
    for (slot, e) in header.iter() {
        let e = Entry::from_mbrman(e);
        if e.sectors == 0 {
            continue;
        }
        let number = u32::try_from(slot).unwrap_or(u32::MAX);
        if e.start == 0 && !hybrid_iso(disk)? {
            return Err(PartitionError::Invalid(format!(
                "MBR partition {number} starts at sector 0, on top of the partition table"
            )));
        }
        chain.push(number, u64::from(e.start), e);
        // Linux follows every extended entry (libfdisk only the first); numbers continue.
        if e.is_extended() {
            chain.walk(e)?;
        }
    }
    let mut parts = chain.out;
    parts.sort_by_key(|p| p.number);
    Ok(Some(parts))
}

/// An isohybrid image (syslinux's `isohybrid`, `xorriso -isohybrid-mbr`, every Debian and
/// most distribution installer ISOs): its MBR's first partition starts at sector 0 and
/// covers the ISO 9660 filesystem, whose volume descriptors start at 32 KiB. Linux and
/// sfdisk list such an entry like any other; elsewhere a partition at sector 0 is refused.
pub(super) fn hybrid_iso(disk: &Disk) -> Result<bool, PartitionError> {
    const VD: u64 = 32 * 1024;
    if disk.size() < VD + 6 {
        return Ok(false);
    }
    let mut id = [0u8; 6];
    disk.read_exact_at(VD, &mut id)?;
    Ok(id[1..] == *b"CD001" && id[0] <= 3)
}

/// State of the logical-partition walk, shared by all extended partitions of the disk.
struct Chain<'a> {
    disk: &'a Disk,
    signature: u32,
    next_number: u32,
    ebrs_read: usize,
    out: Vec<Partition>,
}

impl Chain<'_> {
    fn push(&mut self, number: u32, start_sector: u64, e: Entry) {
        // start_sector < 2^33 and sectors < 2^32, so the byte values fit in u64.
        self.out.push(Partition {
            number,
            start: start_sector * SECTOR,
            size: u64::from(e.sectors) * SECTOR,
            part_type: PartType::Mbr(e.kind),
            partuuid: Some(format!("{:08x}-{number:02x}", self.signature)),
            partlabel: None,
        });
    }

    /// Linux's `parse_extended`: each EBR's data entries are relative to the EBR, its link
    /// entry relative to the extended partition's start. Ends at an EBR without a link or
    /// without 0x55AA (as Linux does); a loop, an EBR outside the disk or a chain longer
    /// than [`MAX_LOGICAL_PARTITIONS`] is an error (Linux stops silently; we refuse a
    /// table the guest cannot have been installed on).
    fn walk(&mut self, ext: Entry) -> Result<(), PartitionError> {
        let first = u64::from(ext.start);
        let first_size = u64::from(ext.sectors);
        let (mut this, mut this_size) = (first, first_size);
        let mut visited = HashSet::new();
        loop {
            if !visited.insert(this) {
                return Err(PartitionError::Invalid(format!(
                    "loop in the extended partition chain (EBR at sector {this} is linked twice)"
                )));
            }
            self.ebrs_read += 1;
            if self.ebrs_read > MAX_LOGICAL_PARTITIONS {
                return Err(PartitionError::Invalid(format!(
                    "extended partition chain longer than {MAX_LOGICAL_PARTITIONS} EBRs"
                )));
            }
            let ebr = self.read_ebr(this)?;
            if !has_signature(&ebr) {
                return Ok(());
            }
            for slot in 0..4 {
                self.logical(&ebr, slot, this, this_size, first, first_size)?;
            }
            let link = (0..4)
                .map(|i| entry_at(&ebr, i))
                .find(|e| e.sectors != 0 && e.is_extended());
            let Some(link) = link else {
                return Ok(());
            };
            this = first + u64::from(link.start);
            this_size = u64::from(link.sectors);
        }
    }

    /// Data entry `slot` of the EBR at sector `this`, with Linux's extra checks on slots 3
    /// and 4 ("these sometimes contain random garbage").
    fn logical(
        &mut self,
        ebr: &Sector,
        slot: usize,
        this: u64,
        this_size: u64,
        first: u64,
        first_size: u64,
    ) -> Result<(), PartitionError> {
        let e = entry_at(ebr, slot);
        if e.sectors == 0 || e.is_extended() {
            return Ok(());
        }
        let (offs, size) = (u64::from(e.start), u64::from(e.sectors));
        let start = this + offs; // both < 2^33
        if slot >= 2
            && (offs + size > this_size || start < first || start + size > first + first_size)
        {
            return Ok(());
        }
        if self.next_number.saturating_sub(5) >= MAX_LOGICAL_PARTITIONS as u32 {
            return Err(PartitionError::Invalid(format!(
                "more than {MAX_LOGICAL_PARTITIONS} logical partitions"
            )));
        }
        let number = self.next_number;
        if offs == 0 {
            return Err(PartitionError::Invalid(format!(
                "logical partition {number} starts at sector 0 of its EBR (sector {this})"
            )));
        }
        self.next_number += 1;
        self.push(number, start, e);
        Ok(())
    }

    fn read_ebr(&self, sector: u64) -> Result<Sector, PartitionError> {
        let outside = || {
            PartitionError::Invalid(format!(
                "EBR at sector {sector} lies outside the disk ({} sectors)",
                self.disk.size() / SECTOR
            ))
        };
        let offset = sector.checked_mul(SECTOR).ok_or_else(outside)?;
        match offset.checked_add(SECTOR) {
            Some(end) if end <= self.disk.size() => {}
            _ => return Err(outside()),
        }
        let mut s = [0u8; 512];
        self.disk.read_exact_at(offset, &mut s)?;
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testimg::{mbr_sector, put, TempDisk};
    use super::*;

    fn parts(img: &[u8]) -> Result<Option<Vec<Partition>>, PartitionError> {
        let t = TempDisk::new(img);
        let s0 = read_sector0(&t.disk).unwrap().unwrap();
        discover(&t.disk, &s0)
    }

    fn numbers_and_sectors(v: &[Partition]) -> Vec<(u32, u64, u64)> {
        v.iter()
            .map(|p| (p.number, p.start / 512, p.size / 512))
            .collect()
    }

    #[test]
    fn primaries_numbered_by_slot_and_partuuid_in_linux_form() {
        let mut img = vec![0u8; 1 << 20];
        put(
            &mut img,
            0,
            &mbr_sector(
                0x1234abcd,
                &[(0, 0, 0), (0x83, 100, 10), (0, 0, 0), (0x07, 200, 5)],
            ),
        );
        let p = parts(&img).unwrap().unwrap();
        assert_eq!(numbers_and_sectors(&p), vec![(2, 100, 10), (4, 200, 5)]);
        assert_eq!(p[0].partuuid.as_deref(), Some("1234abcd-02"));
        assert_eq!(p[1].part_type, PartType::Mbr(0x07));
    }

    #[test]
    fn logicals_follow_linux_rules() {
        let mut img = vec![0u8; 1 << 20];
        put(&mut img, 0, &mbr_sector(1, &[(0x85, 100, 1000)]));
        // EBR 1: two data entries (Linux takes both), a link, garbage in slot 4 outside the
        // extended partition (skipped by the slot-3/4 check).
        put(
            &mut img,
            100 * 512,
            &mbr_sector(
                0,
                &[
                    (0x83, 1, 10),
                    (0x0f, 50, 100),
                    (0x83, 20, 5),
                    (0x83, 5000, 5),
                ],
            ),
        );
        put(&mut img, 150 * 512, &mbr_sector(0, &[(0x82, 2, 20)]));
        let p = parts(&img).unwrap().unwrap();
        assert_eq!(
            numbers_and_sectors(&p),
            vec![(1, 100, 1000), (5, 101, 10), (6, 120, 5), (7, 152, 20)]
        );
        assert_eq!(p[3].partuuid.as_deref(), Some("00000001-07"));
    }

    #[test]
    fn ebr_without_signature_ends_the_chain() {
        let mut img = vec![0u8; 1 << 20];
        put(&mut img, 0, &mbr_sector(1, &[(0x05, 100, 1000)]));
        put(
            &mut img,
            100 * 512,
            &mbr_sector(0, &[(0x83, 1, 10), (0x05, 50, 100)]),
        );
        let mut unsigned = mbr_sector(0, &[(0x83, 1, 10)]);
        unsigned[510] = 0;
        put(&mut img, 150 * 512, &unsigned);
        let p = parts(&img).unwrap().unwrap();
        assert_eq!(numbers_and_sectors(&p), vec![(1, 100, 1000), (5, 101, 10)]);
    }

    #[test]
    fn ebr_loop_is_an_error() {
        let mut img = vec![0u8; 1 << 20];
        put(&mut img, 0, &mbr_sector(1, &[(0x05, 100, 1000)]));
        put(
            &mut img,
            100 * 512,
            &mbr_sector(0, &[(0x83, 1, 10), (0x05, 50, 100)]),
        );
        put(
            &mut img,
            150 * 512,
            &mbr_sector(0, &[(0x83, 1, 10), (0x05, 0, 100)]),
        );
        let e = parts(&img).unwrap_err().to_string();
        assert!(e.contains("loop"), "{e}");
    }

    #[test]
    fn long_chain_is_an_error() {
        let n = MAX_LOGICAL_PARTITIONS + 10;
        let mut img = vec![0u8; (n + 200) * 512];
        put(&mut img, 0, &mbr_sector(1, &[(0x05, 100, n as u32 + 10)]));
        for i in 0..n {
            let link = i as u32 + 1;
            put(
                &mut img,
                (100 + i) * 512,
                &mbr_sector(0, &[(0, 0, 0), (0x05, link, 1)]),
            );
        }
        let e = parts(&img).unwrap_err().to_string();
        assert!(e.contains("longer than 256"), "{e}");
    }

    #[test]
    fn ebr_outside_disk_is_an_error() {
        let mut img = vec![0u8; 1 << 20];
        put(&mut img, 0, &mbr_sector(1, &[(0x05, 100, 1000)]));
        put(
            &mut img,
            100 * 512,
            &mbr_sector(0, &[(0x83, 1, 10), (0x05, u32::MAX, 100)]),
        );
        let e = parts(&img).unwrap_err().to_string();
        assert!(e.contains("outside the disk"), "{e}");
    }

    #[test]
    fn start_zero_is_an_error_not_a_panic() {
        let mut img = vec![0u8; 1 << 20];
        put(&mut img, 0, &mbr_sector(1, &[(0x83, 0, 100)]));
        assert!(parts(&img).unwrap_err().to_string().contains("sector 0"));
        let mut img = vec![0u8; 1 << 20];
        put(&mut img, 0, &mbr_sector(1, &[(0x05, 100, 1000)]));
        put(&mut img, 100 * 512, &mbr_sector(0, &[(0x83, 0, 10)]));
        assert!(parts(&img).unwrap_err().to_string().contains("sector 0"));
    }

    #[test]
    fn start_zero_over_an_iso_is_a_hybrid() {
        let mut img = vec![0u8; 1 << 20];
        put(
            &mut img,
            0,
            &mbr_sector(1, &[(0x00, 0, 2048), (0xef, 188, 640)]),
        );
        put(&mut img, 0x8000, b"\x01CD001\x01");
        let p = parts(&img).unwrap().unwrap();
        assert_eq!(numbers_and_sectors(&p), vec![(1, 0, 2048), (2, 188, 640)]);
        let t = TempDisk::new(&img);
        let layout = super::super::discover(&t.disk).unwrap();
        let got: Vec<(u32, u64)> = layout
            .partitions
            .iter()
            .map(|p| (p.number, p.start))
            .collect();
        assert_eq!(got, vec![(0, 0), (1, 0), (2, 188 * 512)]);
        assert_eq!(layout.partitions[0].size, 1 << 20);
    }

    #[test]
    fn huge_u32_values_do_not_overflow() {
        let mut img = vec![0u8; 1 << 20];
        put(
            &mut img,
            0,
            &mbr_sector(1, &[(0x83, u32::MAX, u32::MAX), (0x05, 100, u32::MAX)]),
        );
        put(
            &mut img,
            100 * 512,
            &mbr_sector(0, &[(0x83, u32::MAX, u32::MAX)]),
        );
        let p = parts(&img).unwrap().unwrap();
        let max = u64::from(u32::MAX);
        assert_eq!(
            numbers_and_sectors(&p),
            vec![(1, max, max), (2, 100, max), (5, 100 + max, max)]
        );
    }

    #[test]
    fn bad_boot_flag_or_missing_signature_is_not_an_mbr() {
        let mut s = mbr_sector(1, &[(0x83, 100, 10)]);
        s[446] = 0x12;
        assert!(parts(&s).unwrap().is_none());
        let mut s = mbr_sector(1, &[(0x83, 100, 10)]);
        s[511] = 0;
        assert!(parts(&s).unwrap().is_none());
    }

    #[test]
    fn protective_entry_in_any_slot() {
        assert!(has_protective_entry(&mbr_sector(
            0,
            &[(0x83, 2048, 10), (0xee, 1, 2047)]
        )));
        assert!(!has_protective_entry(&mbr_sector(0, &[(0xee, 2, 100)])));
    }

    fn fat16_boot_sector() -> Sector {
        let mut s = [0u8; 512];
        s[0..3].copy_from_slice(&[0xeb, 0x3c, 0x90]);
        s[0x0b..0x0d].copy_from_slice(&512u16.to_le_bytes());
        s[0x0d] = 4; // sectors per cluster
        s[0x0e..0x10].copy_from_slice(&4u16.to_le_bytes()); // reserved
        s[0x10] = 2; // FATs
        s[0x11..0x13].copy_from_slice(&512u16.to_le_bytes()); // root entries
        s[0x13..0x15].copy_from_slice(&65535u16.to_le_bytes());
        s[0x15] = 0xf8;
        s[0x16..0x18].copy_from_slice(&64u16.to_le_bytes());
        s[0x36..0x3e].copy_from_slice(b"FAT16   ");
        s[510] = 0x55;
        s[511] = 0xaa;
        s
    }

    #[test]
    fn fat_boot_sector_is_not_an_mbr() {
        let s = fat16_boot_sector();
        assert!(is_fat_boot_sector(&s));
        assert!(parts(&s).unwrap().is_none());
        let mut not_fat = s;
        not_fat[0x10] = 0; // no FATs
        assert!(!is_fat_boot_sector(&not_fat));
        let mut odd = s;
        odd[0x0b..0x0d].copy_from_slice(&1000u16.to_le_bytes());
        assert!(!is_fat_boot_sector(&odd));
        let plain_mbr = mbr_sector(1, &[(0x83, 100, 10)]);
        assert!(!is_fat_boot_sector(&plain_mbr));
    }

    #[test]
    fn mbr_written_over_a_fat_boot_sector_is_an_mbr() {
        let mut s = fat16_boot_sector();
        s[446..].copy_from_slice(&mbr_sector(7, &[(0x83, 100, 10)])[446..]);
        let mut img = vec![0u8; 1 << 20];
        put(&mut img, 0, &s);
        let p = parts(&img).unwrap().unwrap();
        assert_eq!(numbers_and_sectors(&p), vec![(1, 100, 10)]);
        s[446] = 0x12; // but a bad boot flag makes it not an MBR at all
        assert!(parts(&s).unwrap().is_none());
        // mformat's entry: the FAT itself, from sector 0.
        let mut s = fat16_boot_sector();
        s[446..].copy_from_slice(&mbr_sector(0, &[(0x01, 0, 2880)])[446..]);
        s[446] = 0x80;
        assert!(parts(&s).unwrap().is_none());
    }
}
