//! An LVM2 metadata area: its 512-byte header (checksum, magic, version, own position), the
//! location of the committed metadata text in the area's circular buffer, and the text itself,
//! which may wrap from the end of the area back to just after the header. The text's checksum
//! is checked before it is parsed.

use super::label::{le32, le64, Area};
use super::{crc, LvmError};
use crate::disk::Slice;
use crate::limits::MAX_LVM_METADATA_BYTES;

/// Size of the area header; the circular text buffer follows it.
pub const HEADER_SIZE: u64 = 512;
/// `FMTT_MAGIC`: " LVM2 x[5A%r0N*>".
const MAGIC: &[u8; 16] = b" LVM2 x[5A%r0N*>";
/// `RAW_LOCN_IGNORED`: the area is kept but not used (`pvchange --metadataignore`).
const IGNORED: u32 = 1;

/// The committed metadata text of one area.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Text {
    pub bytes: Vec<u8>,
    /// The text's CRC as stored (identical copies on several PVs share it).
    pub checksum: u32,
}

fn bad(area: &Area, detail: impl std::fmt::Display) -> LvmError {
    LvmError::MetadataArea(format!("metadata area at byte {}: {detail}", area.offset))
}

/// Reads the committed text of `area` on the PV `pv`; `Ok(None)` when the area is marked
/// ignored or holds no text yet.
pub fn read_text(pv: &Slice, area: &Area) -> Result<Option<Text>, LvmError> {
    let mut h = [0u8; HEADER_SIZE as usize];
    pv.read_exact_at(area.offset, &mut h)
        .map_err(|e| bad(area, e))?;
    if le32(&h, 0) != Some(crc(h.get(4..).unwrap_or_default())) {
        return Err(bad(area, "header checksum mismatch"));
    }
    if h.get(4..20) != Some(MAGIC.as_slice()) {
        return Err(bad(area, "bad magic"));
    }
    if le32(&h, 20) != Some(1) {
        return Err(bad(area, "unknown version"));
    }
    let (start, size) = (le64(&h, 24).unwrap_or(0), le64(&h, 32).unwrap_or(0));
    if start != area.offset || size != area.size || size <= HEADER_SIZE {
        return Err(bad(area, "header does not describe its own area"));
    }
    // The first location is the committed text (the second a precommit, never read).
    let (off, len, sum, flags) = (
        le64(&h, 40).unwrap_or(0),
        le64(&h, 48).unwrap_or(0),
        le32(&h, 56).unwrap_or(0),
        le32(&h, 60).unwrap_or(0),
    );
    if flags & IGNORED != 0 || (off == 0 && len == 0) {
        return Ok(None);
    }
    if len > MAX_LVM_METADATA_BYTES {
        return Err(bad(
            area,
            format!("text of {len} bytes is larger than {MAX_LVM_METADATA_BYTES}"),
        ));
    }
    if off < HEADER_SIZE || off >= size || len > size - HEADER_SIZE {
        return Err(bad(area, "text lies outside its area"));
    }
    let bytes = read_ring(pv, area, off, len)?;
    if crc(&bytes) != sum {
        return Err(bad(area, "text checksum mismatch"));
    }
    Ok(Some(Text {
        bytes,
        checksum: sum,
    }))
}

/// `len` bytes from `off` in the area's circular buffer: up to the area's end, then on from
/// just after the header. The caller has checked `HEADER_SIZE <= off < size` and
/// `len <= size - HEADER_SIZE`, so the second piece never overlaps the first.
fn read_ring(pv: &Slice, area: &Area, off: u64, len: u64) -> Result<Vec<u8>, LvmError> {
    let first = len.min(area.size - off); // off < size
    let n = usize::try_from(len).map_err(|_| bad(area, "text too large"))?;
    let mut bytes = vec![0u8; n];
    let (a, b) = bytes.split_at_mut(usize::try_from(first).unwrap_or(n).min(n));
    let at = |rel: u64| {
        area.offset
            .checked_add(rel)
            .ok_or_else(|| bad(area, "offset overflows"))
    };
    pv.read_exact_at(at(off)?, a).map_err(|e| bad(area, e))?;
    if !b.is_empty() {
        pv.read_exact_at(at(HEADER_SIZE)?, b)
            .map_err(|e| bad(area, e))?;
    }
    Ok(bytes)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A metadata area of `size` bytes holding `text` at `off` (wrapping if it must).
    pub fn area_bytes(start: u64, size: u64, off: u64, text: &[u8]) -> Vec<u8> {
        let mut a = vec![0u8; size as usize];
        a[4..20].copy_from_slice(MAGIC);
        a[20..24].copy_from_slice(&1u32.to_le_bytes());
        a[24..32].copy_from_slice(&start.to_le_bytes());
        a[32..40].copy_from_slice(&size.to_le_bytes());
        a[40..48].copy_from_slice(&off.to_le_bytes());
        a[48..56].copy_from_slice(&(text.len() as u64).to_le_bytes());
        a[56..60].copy_from_slice(&crc(text).to_le_bytes());
        let c = crc(&a[4..512]);
        a[0..4].copy_from_slice(&c.to_le_bytes());
        for (i, &byte) in text.iter().enumerate() {
            let mut p = off as usize + i;
            if p >= size as usize {
                p = p - size as usize + 512;
            }
            a[p] = byte;
        }
        a
    }

    #[test]
    fn reads_wrapped_text() {
        use super::super::testdisk::disk_from_bytes;
        let text: Vec<u8> = (0..1500u32).map(|i| b'a' + (i % 26) as u8).collect();
        let mut img = vec![0u8; 4096];
        img.extend(area_bytes(4096, 4096, 3000, &text));
        let (_t, disk) = disk_from_bytes(&img);
        let area = Area {
            offset: 4096,
            size: 4096,
        };
        let got = read_text(&disk.whole(), &area).unwrap().unwrap();
        assert_eq!(got.bytes, text);
        // A location past the area is refused.
        let mut img2 = vec![0u8; 4096];
        let mut a = area_bytes(4096, 4096, 3000, &text);
        a[40..48].copy_from_slice(&5000u64.to_le_bytes());
        let c = crc(&a[4..512]);
        a[0..4].copy_from_slice(&c.to_le_bytes());
        img2.extend(a);
        let (_t2, disk2) = disk_from_bytes(&img2);
        assert!(read_text(&disk2.whole(), &area).is_err());
    }
}
