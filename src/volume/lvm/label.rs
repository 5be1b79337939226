//! The LVM2 physical volume label: `LABELONE` in one of the first four sectors, its CRC, and
//! the PV header behind it (the PV's UUID and the list of its metadata areas).

use super::{crc, LvmError};
use crate::disk::{DiskError, Slice};

/// Sectors searched for the label, as LVM does (`LABEL_SCAN_SECTORS`).
const LABEL_SECTORS: u64 = 4;
const SECTOR: usize = 512;
/// Label header: id, sector, crc, offset, type.
const LABEL_HEADER: usize = 32;
/// The CRC covers the label sector from this byte on.
const CRC_FROM: usize = 20;
/// PV UUID as stored: 32 characters, no dashes.
pub const UUID_LEN: usize = 32;
/// Disk locations listed in a PV header, data and metadata together. LVM writes one data
/// area and at most two metadata areas; the rest of the sector bounds the list anyway.
const MAX_LOCATIONS: usize = 16;

/// A metadata area: byte offset from the PV start, and size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Area {
    pub offset: u64,
    pub size: u64,
}

/// What the label says about one PV.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PvLabel {
    /// The PV UUID, 32 characters without dashes.
    pub uuid: String,
    /// Device size recorded by pvcreate, in bytes (0 when unknown).
    pub device_size: u64,
    /// Metadata areas (none for a PV made with `--metadatacopies 0`).
    pub metadata: Vec<Area>,
}

/// The label of the PV at the start of `slice`; `Ok(None)` when there is none (no
/// `LABELONE` + `LVM2 001` in sectors 0–3). A label whose checksum or header is bad is an
/// error: the range is claimed by LVM but cannot be trusted.
pub fn read_label(slice: &Slice) -> Result<Option<PvLabel>, LvmError> {
    for sector in 0..LABEL_SECTORS {
        let mut buf = [0u8; SECTOR];
        match slice.read_exact_at(sector * SECTOR as u64, &mut buf) {
            Ok(()) => {}
            Err(DiskError::OutOfBounds { .. }) => return Ok(None),
            Err(e) => return Err(e.into()),
        }
        if buf.get(..8) != Some(b"LABELONE") || buf.get(24..32) != Some(b"LVM2 001") {
            continue;
        }
        return parse_label(&buf, sector).map(Some);
    }
    Ok(None)
}

fn bad(detail: impl Into<String>) -> LvmError {
    LvmError::Label(detail.into())
}

/// Parses a label sector found at `sector`.
pub fn parse_label(buf: &[u8; SECTOR], sector: u64) -> Result<PvLabel, LvmError> {
    if le64(buf, 8) != Some(sector) {
        return Err(bad(format!(
            "label in sector {sector} says it is elsewhere"
        )));
    }
    let stored = le32(buf, 16).unwrap_or(0);
    let tail = buf.get(CRC_FROM..).unwrap_or_default();
    if crc(tail) != stored {
        return Err(bad(format!("label checksum mismatch in sector {sector}")));
    }
    let offset = le32(buf, 20)
        .and_then(|o| usize::try_from(o).ok())
        .unwrap_or(0);
    if !(LABEL_HEADER..SECTOR).contains(&offset) {
        return Err(bad(format!(
            "PV header offset {offset} outside the label sector"
        )));
    }
    let header = buf.get(offset..).unwrap_or_default();
    parse_pv_header(header)
}

/// The PV header: UUID, device size, then two zero-terminated lists of disk locations
/// (data areas, then metadata areas).
fn parse_pv_header(h: &[u8]) -> Result<PvLabel, LvmError> {
    let uuid_bytes = h
        .get(..UUID_LEN)
        .ok_or_else(|| bad("PV header truncated"))?;
    if !uuid_bytes.iter().all(|b| b.is_ascii_alphanumeric()) {
        return Err(bad("PV UUID is not 32 alphanumeric characters"));
    }
    let uuid = String::from_utf8_lossy(uuid_bytes).into_owned();
    let device_size = le64(h, UUID_LEN).ok_or_else(|| bad("PV header truncated"))?;
    let mut at = UUID_LEN + 8;
    let mut lists: [Vec<Area>; 2] = [Vec::new(), Vec::new()];
    for list in &mut lists {
        loop {
            let (Some(offset), Some(size)) = (le64(h, at), le64(h, at + 8)) else {
                return Err(bad("PV header area list runs past the label sector"));
            };
            at += 16;
            if offset == 0 && size == 0 {
                break;
            }
            if list.len() >= MAX_LOCATIONS {
                return Err(bad("PV header lists too many areas"));
            }
            list.push(Area { offset, size });
        }
    }
    let [_data, metadata] = lists;
    Ok(PvLabel {
        uuid,
        device_size,
        metadata,
    })
}

pub(super) fn le32(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes(s.try_into().ok()?))
}

pub(super) fn le64(b: &[u8], at: usize) -> Option<u64> {
    let s = b.get(at..at.checked_add(8)?)?;
    Some(u64::from_le_bytes(s.try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A label sector as pvcreate writes it.
    pub fn label_sector(uuid: &str, mdas: &[(u64, u64)]) -> [u8; SECTOR] {
        let mut b = [0u8; SECTOR];
        b[..8].copy_from_slice(b"LABELONE");
        b[8..16].copy_from_slice(&1u64.to_le_bytes());
        b[20..24].copy_from_slice(&32u32.to_le_bytes());
        b[24..32].copy_from_slice(b"LVM2 001");
        b[32..64].copy_from_slice(uuid.as_bytes());
        b[64..72].copy_from_slice(&(8u64 << 20).to_le_bytes());
        let mut at = 72;
        for (o, s) in [(1u64 << 20, 7u64 << 20), (0, 0)]
            .into_iter()
            .chain(mdas.iter().copied())
            .chain([(0, 0)])
        {
            b[at..at + 8].copy_from_slice(&o.to_le_bytes());
            b[at + 8..at + 16].copy_from_slice(&s.to_le_bytes());
            at += 16;
        }
        let c = crc(&b[20..]);
        b[16..20].copy_from_slice(&c.to_le_bytes());
        b
    }

    #[test]
    fn parses_a_label() {
        let uuid = "abcdefghijklmnopqrstuvwxyz012345";
        let b = label_sector(uuid, &[(4096, 1 << 20)]);
        let l = parse_label(&b, 1).unwrap();
        assert_eq!(l.uuid, uuid);
        assert_eq!(l.device_size, 8 << 20);
        assert_eq!(
            l.metadata,
            vec![Area {
                offset: 4096,
                size: 1 << 20
            }]
        );
    }

    #[test]
    fn refuses_bad_labels() {
        let uuid = "abcdefghijklmnopqrstuvwxyz012345";
        let mut b = label_sector(uuid, &[(4096, 1 << 20)]);
        assert!(parse_label(&b, 2).is_err(), "wrong sector");
        b[100] ^= 1;
        let e = parse_label(&b, 1).unwrap_err().to_string();
        assert!(e.contains("checksum"), "{e}");
        // An area list that never ends.
        let mut b = [0xffu8; SECTOR];
        b[..8].copy_from_slice(b"LABELONE");
        b[8..16].copy_from_slice(&0u64.to_le_bytes());
        b[20..24].copy_from_slice(&32u32.to_le_bytes());
        b[24..32].copy_from_slice(b"LVM2 001");
        b[32..64].copy_from_slice(uuid.as_bytes());
        let c = crc(&b[20..]);
        b[16..20].copy_from_slice(&c.to_le_bytes());
        assert!(parse_label(&b, 0).is_err());
    }
}
