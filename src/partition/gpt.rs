//! GPT behind a protective MBR: 512- or 4096-byte sectors, primary header at LBA 1, else
//! the backup header at the disk's last LBA, header and entry-array CRCs checked.
//!
//! The `gpt` crate parses the header (`read_header_from_arbitrary_device`: a fixed 92-byte
//! read, CRC checked) and the entry array (`file_read_partitions`: entries and their CRC).
//! We do not use `GptConfig::open_from_device`: it takes the primary header's entries even
//! when their CRC fails (no fallback to the backup), accepts headers libfdisk and Linux
//! reject (wrong MyLBA, usable range past the disk), and reaches `file_read_partitions`
//! unguarded. Between the two crate calls we validate what the crate trusts:
//! `file_read_partitions` does `assert_eq!(part_size, 128)`, loops `num_parts` times and
//! allocates `num_parts * part_size` bytes, so both are checked here first.

use super::{Layout, PartType, Partition, PartitionError, TableKind};
use crate::disk::{Disk, DiskError};
use crate::limits::MAX_GPT_ENTRIES;
use gpt::disk::LogicalBlockSize;
use gpt::header::Header;
use std::io;

/// Size of the header the crate reads and checksums.
const HEADER_LEN: u32 = 92;
/// The only entry size Linux accepts (`sizeof(gpt_entry)`) and the crate can parse.
const ENTRY_LEN: u32 = 128;

/// The GPT layout, or `None` when no valid header exists at either sector size (the
/// caller then reads sector 0 as an MBR, as sfdisk does).
pub(super) fn discover(disk: &Disk) -> Result<Option<Layout>, PartitionError> {
    let mut sizes = [LogicalBlockSize::Lb512, LogicalBlockSize::Lb4096];
    // The sector size is the one whose LBA 1 carries the signature; a damaged primary
    // leaves both to be tried through their backups.
    if !signature_at(disk, 512)? && signature_at(disk, 4096)? {
        sizes.reverse();
    }
    for lb in sizes {
        if let Some(layout) = at_sector_size(disk, lb)? {
            return Ok(Some(layout));
        }
    }
    Ok(None)
}

fn signature_at(disk: &Disk, offset: u64) -> Result<bool, PartitionError> {
    if disk.size() < offset + 8 {
        return Ok(false);
    }
    let mut sig = [0u8; 8];
    disk.read_exact_at(offset, &mut sig)?;
    Ok(&sig == b"EFI PART")
}

/// libfdisk's order: the primary header, else the backup at the last LBA.
fn at_sector_size(disk: &Disk, lb: LogicalBlockSize) -> Result<Option<Layout>, PartitionError> {
    let ss = lb.as_u64();
    let sectors = disk.size() / ss;
    if sectors < 3 {
        return Ok(None);
    }
    let last_lba = sectors - 1;
    for lba in [1, last_lba] {
        let Some(header) = header_at(disk, lb, lba)? else {
            continue;
        };
        if let Some(partitions) = entries(disk, &header, lb)? {
            return Ok(Some(Layout {
                table: TableKind::Gpt,
                sector_size: lb.as_usize() as u32,
                partitions,
            }));
        }
    }
    Ok(None)
}

/// The header at `lba` if it is valid, `None` if it is absent or damaged (try the other).
fn header_at(
    disk: &Disk,
    lb: LogicalBlockSize,
    lba: u64,
) -> Result<Option<Header>, PartitionError> {
    let ss = lb.as_u64();
    // The crate reads "LBA 1" of the device it is given, so give it a two-sector window
    // whose second sector is `lba` (1 <= lba <= last LBA, so the window is on the disk).
    let window = disk.whole().sub((lba - 1) * ss, 2 * ss)?;
    let header = match gpt::header::read_header_from_arbitrary_device(&mut window.cursor(), lb) {
        Ok(h) => h,
        Err(gpt::header::HeaderError::Io(e)) => {
            disk_error(e)?;
            return Ok(None);
        }
        Err(_) => return Ok(None), // no signature or bad CRC
    };
    let last_lba = disk.size() / ss - 1;
    check(&header, lba, last_lba, ss, disk.size())
}

/// Validates a header whose CRC is correct. A deliberate oddity the crate would choke on
/// (entry size, entry count) is an error; a header libfdisk would call invalid is `None`.
fn check(
    h: &Header,
    lba: u64,
    last_lba: u64,
    ss: u64,
    disk_size: u64,
) -> Result<Option<Header>, PartitionError> {
    if h.part_size != ENTRY_LEN {
        return Err(PartitionError::Invalid(format!(
            "GPT header at LBA {lba}: partition entry size {} (only {ENTRY_LEN} is supported)",
            h.part_size
        )));
    }
    if h.num_parts > MAX_GPT_ENTRIES {
        return Err(PartitionError::Invalid(format!(
            "GPT header at LBA {lba}: {} partition entries (limit {MAX_GPT_ENTRIES})",
            h.num_parts
        )));
    }
    let (fu, lu) = (h.first_usable, h.last_usable);
    let valid = h.current_lba == lba
        // The crate checksums exactly 92 bytes; libfdisk checksums `header_size` bytes, so
        // a larger size with a 92-byte CRC is a header libfdisk rejects.
        && h.header_size_le == HEADER_LEN
        && h.num_parts > 0
        && fu <= lu
        && lu <= last_lba
        && !(fu < 1 && 1 < lu)
        && entries_fit(h, ss, disk_size);
    Ok(valid.then(|| h.clone()))
}

fn entries_fit(h: &Header, ss: u64, disk_size: u64) -> bool {
    let len = u64::from(h.num_parts) * u64::from(ENTRY_LEN);
    h.part_start
        .checked_mul(ss)
        .and_then(|start| start.checked_add(len))
        .is_some_and(|end| end <= disk_size)
}

/// The partitions of a validated header, or `None` if its entry array fails its CRC.
fn entries(
    disk: &Disk,
    h: &Header,
    lb: LogicalBlockSize,
) -> Result<Option<Vec<Partition>>, PartitionError> {
    let table = match gpt::partition::file_read_partitions(&mut disk.whole().cursor(), h, lb) {
        Ok(t) => t,
        Err(e) => {
            disk_error(e)?;
            return Ok(None);
        }
    };
    let mut out = Vec::new();
    for (number, p) in table.iter().filter(|(_, p)| p.is_used()) {
        out.push(partition(*number, p, lb.as_u64())?);
    }
    Ok(Some(out))
}

fn partition(
    number: u32,
    p: &gpt::partition::Partition,
    ss: u64,
) -> Result<Partition, PartitionError> {
    let bad = |what: &str| {
        PartitionError::Invalid(format!(
            "GPT partition {number}: {what} (first LBA {}, last LBA {})",
            p.first_lba, p.last_lba
        ))
    };
    let sectors = p
        .last_lba
        .checked_sub(p.first_lba)
        .ok_or_else(|| bad("ends before it starts"))?
        .checked_add(1)
        .ok_or_else(|| bad("size overflows"))?;
    let start = p
        .first_lba
        .checked_mul(ss)
        .ok_or_else(|| bad("start overflows"))?;
    let size = sectors
        .checked_mul(ss)
        .ok_or_else(|| bad("size overflows"))?;
    Ok(Partition {
        number,
        start,
        size,
        part_type: PartType::Gpt(p.part_type_guid.guid.to_string()),
        partuuid: Some(p.part_guid.to_string()),
        partlabel: (!p.name.is_empty()).then(|| p.name.clone()),
    })
}

/// A disk read error inside a crate's `io::Error` is ours to report; anything else the
/// crate says (short read, CRC mismatch) means "this copy is damaged" and gives `Ok(())`.
fn disk_error(e: io::Error) -> Result<(), PartitionError> {
    match e.into_inner().map(|inner| inner.downcast::<DiskError>()) {
        Some(Ok(d)) => Err(PartitionError::Disk(*d)),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::super::testimg::{gpt_disk, GptSpec, TempDisk};
    use super::*;

    fn layout(img: &[u8]) -> Result<Option<Layout>, PartitionError> {
        let t = TempDisk::new(img);
        discover(&t.disk)
    }

    fn spans(l: &Layout) -> Vec<(u32, u64, u64)> {
        l.partitions
            .iter()
            .map(|p| (p.number, p.start, p.size))
            .collect()
    }

    #[test]
    fn reads_512_and_4096() {
        for ss in [512u64, 4096] {
            let img = gpt_disk(&GptSpec::new(ss));
            let l = layout(&img).unwrap().unwrap();
            assert_eq!(l.sector_size as u64, ss);
            assert_eq!(spans(&l), vec![(1, 40 * ss, 10 * ss), (3, 60 * ss, 5 * ss)]);
            assert_eq!(l.partitions[0].partlabel.as_deref(), Some("root"));
            assert_eq!(l.partitions[1].partlabel, None);
            assert_eq!(
                l.partitions[0].part_type,
                PartType::Gpt("0fc63daf-8483-4772-8e79-3d69d8477de4".into())
            );
        }
    }

    #[test]
    fn damaged_primary_header_or_entries_fall_back_to_backup() {
        for ss in [512usize, 4096] {
            let mut img = gpt_disk(&GptSpec::new(ss as u64));
            img[ss + 20] ^= 1; // header CRC
            assert_eq!(spans(&layout(&img).unwrap().unwrap()).len(), 2);
            let mut img = gpt_disk(&GptSpec::new(ss as u64));
            img[2 * ss + 100] ^= 1; // primary entry array CRC
            assert_eq!(spans(&layout(&img).unwrap().unwrap()).len(), 2);
            let mut img = gpt_disk(&GptSpec::new(ss as u64));
            img[ss..2 * ss].fill(0); // primary signature gone
            let l = layout(&img).unwrap().unwrap();
            assert_eq!(l.sector_size as usize, ss);
            let mut spec = GptSpec::new(ss as u64);
            spec.entries_lba = 1 << 40; // primary's entry array off the disk
            assert_eq!(spans(&layout(&gpt_disk(&spec)).unwrap().unwrap()).len(), 2);
        }
    }

    #[test]
    fn both_headers_damaged_is_no_gpt() {
        let mut img = gpt_disk(&GptSpec::new(512));
        img[512 + 20] ^= 1;
        let n = img.len();
        img[n - 512 + 20] ^= 1;
        assert!(layout(&img).unwrap().is_none());
    }

    #[test]
    fn entry_size_256_is_an_error_not_an_assert() {
        let mut spec = GptSpec::new(512);
        spec.entry_size = 256;
        let e = layout(&gpt_disk(&spec)).unwrap_err().to_string();
        assert!(e.contains("entry size 256"), "{e}");
    }

    #[test]
    fn huge_entry_count_is_an_error() {
        let mut spec = GptSpec::new(512);
        spec.num_entries = u32::MAX;
        let e = layout(&gpt_disk(&spec)).unwrap_err().to_string();
        assert!(e.contains("4294967295 partition entries"), "{e}");
    }

    #[test]
    fn libfdisk_sanity_rules_make_a_header_invalid() {
        let spoilers: [fn(&mut GptSpec); 5] = [
            |s| s.last_usable = Some(1 << 40), // usable range past the disk
            |s| s.entries_lba = 1 << 40,       // entry array outside the disk
            |s| s.last_usable = Some(0),       // last usable before first usable
            |s| s.my_lba_delta = 1,            // header not at its own LBA
            |s| s.num_entries = 0,
        ];
        for spoil in spoilers {
            let mut spec = GptSpec::new(512);
            spoil(&mut spec);
            spec.backup = false;
            assert!(layout(&gpt_disk(&spec)).unwrap().is_none());
        }
    }

    #[test]
    fn entry_ending_before_start_is_an_error() {
        let mut spec = GptSpec::new(512);
        spec.parts[0].1 = 40;
        spec.parts[0].2 = 39;
        let e = layout(&gpt_disk(&spec)).unwrap_err().to_string();
        assert!(e.contains("ends before it starts"), "{e}");
    }

    #[test]
    fn entry_past_end_is_listed() {
        let mut spec = GptSpec::new(512);
        spec.parts[1].2 = 1 << 30;
        let l = layout(&gpt_disk(&spec)).unwrap().unwrap();
        assert_eq!(l.partitions[1].size, ((1u64 << 30) - 60 + 1) * 512);
    }
}
