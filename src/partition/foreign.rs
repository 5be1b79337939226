//! Disk labels other than MBR and GPT. SGI volume headers and standalone BSD disklabels are
//! listed the way sfdisk lists them (fixed tables of 16 slots; a slot's number is its index
//! plus one, empty slots skipped), so `--inspect` agrees with util-linux; a `DEV:` entry can
//! name their partitions like any other. Sun labels and Apple partition maps are refused by
//! name, which beats reading such a disk as one unpartitioned filesystem and failing later
//! with "no filesystem". Atari and DASD tables have no magic and come out as unpartitioned,
//! as they do for sfdisk.

use super::{Layout, PartType, Partition, PartitionError, TableKind};
use crate::disk::Disk;

/// What the first two sectors hold.
pub(super) enum Found {
    Listed(Layout),
    Refused(&'static str),
    Nothing,
}

/// Looks for a label we know in the first two sectors.
pub(super) fn detect(disk: &Disk) -> Result<Found, PartitionError> {
    let len = usize::try_from(disk.size().min(1024)).unwrap_or(1024);
    let mut head = vec![0u8; len];
    disk.read_exact_at(0, &mut head)?;
    Ok(match classify(&head) {
        Some("SGI disk label") => Found::Listed(layout(TableKind::Sgi, sgi_slots(&head))),
        Some("BSD disklabel") => Found::Listed(layout(TableKind::Bsd, bsd_slots(&head))),
        Some(other) => Found::Refused(other),
        None => Found::Nothing,
    })
}

/// Slots are (start sector, sectors, type); 512-byte sectors, as both labels count here.
fn layout(table: TableKind, slots: Vec<(u64, u64, u32)>) -> Layout {
    let partitions = slots
        .into_iter()
        .zip(1u32..)
        .filter(|((_, size, _), _)| *size > 0)
        .filter_map(|((start, size, t), number)| {
            Some(Partition {
                number,
                start: start.checked_mul(512)?,
                size: size.checked_mul(512)?,
                part_type: PartType::Label(t),
                partuuid: None,
                partlabel: None,
            })
        })
        .collect();
    Layout {
        table,
        sector_size: 512,
        partitions,
    }
}

fn be32(b: &[u8], o: usize) -> u32 {
    b.get(o..o + 4)
        .and_then(|s| s.try_into().ok())
        .map_or(0, u32::from_be_bytes)
}

fn le32(b: &[u8], o: usize) -> u32 {
    b.get(o..o + 4)
        .and_then(|s| s.try_into().ok())
        .map_or(0, u32::from_le_bytes)
}

/// SGI volume header: 16 entries at byte 312 of (blocks, first block, type), big-endian.
fn sgi_slots(head: &[u8]) -> Vec<(u64, u64, u32)> {
    (0..16)
        .map(|i| 312 + 12 * i)
        .map(|o| {
            (
                u64::from(be32(head, o + 4)),
                u64::from(be32(head, o)),
                be32(head, o + 8),
            )
        })
        .collect()
}

/// BSD disklabel in sector 1: `d_npartitions` (at most 16) entries at byte 148 of
/// (size, offset, fsize, fstype, …), little-endian.
fn bsd_slots(head: &[u8]) -> Vec<(u64, u64, u32)> {
    let label = head.get(512..).unwrap_or_default();
    let n = label
        .get(138..140)
        .map_or(0, |b| usize::from(u16::from_le_bytes([b[0], b[1]])))
        .min(16);
    (0..n)
        .map(|i| 148 + 16 * i)
        .map(|o| {
            let fstype = label.get(o + 12).copied().unwrap_or(0);
            (
                u64::from(le32(label, o + 4)),
                u64::from(le32(label, o)),
                u32::from(fstype),
            )
        })
        .collect()
}

fn classify(head: &[u8]) -> Option<&'static str> {
    let at = |o: usize, m: &[u8]| head.get(o..o + m.len()) == Some(m);
    // SGI volume header: big-endian 0x0BE5A941 at byte 0.
    if at(0, &[0x0b, 0xe5, 0xa9, 0x41]) {
        return Some("SGI disk label");
    }
    // Sun label: big-endian 0xDABE at byte 508.
    if at(508, &[0xda, 0xbe]) {
        return Some("Sun disk label");
    }
    // BSD disklabel in sector 1: d_magic and d_magic2 (0x82564557, little-endian).
    let bsd = [0x57, 0x45, 0x56, 0x82];
    if at(512, &bsd) && at(512 + 132, &bsd) {
        return Some("BSD disklabel");
    }
    // Apple partition map: driver descriptor "ER", first map entry "PM" in sector 1.
    if at(0, b"ER") && at(512, b"PM") {
        return Some("Apple partition map");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sgi_and_bsd_slots_are_listed_like_sfdisk() {
        let mut h = vec![0u8; 1024];
        h[..4].copy_from_slice(&[0x0b, 0xe5, 0xa9, 0x41]);
        // slot 0: 100 blocks at 63, type 0x83; slot 10: 5 blocks at 0, type 6.
        h[312..324].copy_from_slice(&[0, 0, 0, 100, 0, 0, 0, 63, 0, 0, 0, 0x83]);
        h[432..444].copy_from_slice(&[0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 6]);
        let l = layout(TableKind::Sgi, sgi_slots(&h));
        let rows: Vec<_> = l
            .partitions
            .iter()
            .map(|p| (p.number, p.start, p.size, p.part_type.to_string()))
            .collect();
        assert_eq!(
            rows,
            [
                (1, 63 * 512, 100 * 512, "83".into()),
                (11, 0, 5 * 512, "6".into())
            ]
        );

        let mut h = vec![0u8; 1024];
        h[512 + 138] = 200; // d_npartitions beyond 16 is capped
        let e = 512 + 148 + 16 * 4; // slot e
        h[e..e + 4].copy_from_slice(&7u32.to_le_bytes());
        h[e + 4..e + 8].copy_from_slice(&8u32.to_le_bytes());
        h[e + 12] = 0x1b;
        let l = layout(TableKind::Bsd, bsd_slots(&h));
        let rows: Vec<_> = l
            .partitions
            .iter()
            .map(|p| (p.number, p.start, p.size, p.part_type.to_string()))
            .collect();
        assert_eq!(rows, [(5, 8 * 512, 7 * 512, "1b".into())]);
    }

    #[test]
    fn magics() {
        let mut h = vec![0u8; 1024];
        assert_eq!(classify(&h), None);
        h[..4].copy_from_slice(&[0x0b, 0xe5, 0xa9, 0x41]);
        assert_eq!(classify(&h), Some("SGI disk label"));
        let mut h = vec![0u8; 1024];
        h[512..516].copy_from_slice(&[0x57, 0x45, 0x56, 0x82]);
        assert_eq!(classify(&h), None, "one BSD magic is not enough");
        h[644..648].copy_from_slice(&[0x57, 0x45, 0x56, 0x82]);
        assert_eq!(classify(&h), Some("BSD disklabel"));
        let mut h = vec![0u8; 600];
        h[..2].copy_from_slice(b"ER");
        h[512..514].copy_from_slice(b"PM");
        assert_eq!(classify(&h), Some("Apple partition map"));
        assert_eq!(
            classify(b"ER"),
            None,
            "short disks are not read past their end"
        );
    }
}
