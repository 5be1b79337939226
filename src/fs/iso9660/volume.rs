//! Volume descriptors (ECMA-119 §8): the primary descriptor and a Joliet supplementary
//! descriptor, and the UUID and label blkid derives from them
//! (util-linux `libblkid/src/superblocks/iso9660.c`):
//!
//! - UUID: the PVD's modification date as `YYYY-MM-DD-hh-mm-ss-cc`, or its creation date
//!   when the modification date is all `'0'` with a zero time-zone byte; none when the
//!   chosen date is all NUL bytes (blkid treats an empty buffer as no UUID).
//! - LABEL: with a Joliet descriptor, its UCS-2 volume id merged with the PVD's ASCII one
//!   (Joliet ids hold 16 characters, the PVD's 32 with `_` for the unrepresentable: blkid
//!   rebuilds the long label when the Joliet id is a prefix of the ASCII one), else the
//!   Joliet id alone; without Joliet the PVD's volume id. Trailing white space is trimmed.

use super::{corrupt, record::Record};
use crate::disk::Slice;
use crate::fs::FsError;
use crate::limits::ISO_MAX_VOLUME_DESCRIPTORS;

/// Byte offset of the volume descriptor set (system area of 16 sectors before it).
pub(super) const VD_START: u64 = 16 * 2048;
/// Volume descriptors are 2 KiB whatever the logical block size.
const VD_SIZE: usize = 2048;

/// The descriptors we use.
pub(super) struct Descriptors {
    /// Logical block size: extents are counted in these.
    pub block_size: u64,
    /// Root directory record of the primary descriptor.
    pub pvd_root: Record,
    /// Root directory record of the Joliet descriptor, if any.
    pub joliet_root: Option<Record>,
    pub uuid: String,
    pub label: String,
}

/// Reads the descriptor set from sector 16 to the terminator (at most
/// [`ISO_MAX_VOLUME_DESCRIPTORS`]): the first primary and the first Joliet descriptor.
pub(super) fn read(slice: &Slice) -> Result<Descriptors, FsError> {
    let mut pvd: Option<Box<[u8; VD_SIZE]>> = None;
    let mut joliet: Option<Box<[u8; VD_SIZE]>> = None;
    for i in 0..ISO_MAX_VOLUME_DESCRIPTORS {
        let off = VD_START + i * VD_SIZE as u64;
        let mut vd = Box::new([0u8; VD_SIZE]);
        if off + VD_SIZE as u64 > slice.len() {
            break;
        }
        slice.read_exact_at(off, &mut vd[..])?;
        if &vd[1..6] != b"CD001" || vd[0] == 255 {
            break;
        }
        match vd[0] {
            1 if pvd.is_none() => pvd = Some(vd),
            2 if joliet.is_none() && is_joliet(&vd[..]) => joliet = Some(vd),
            _ => {}
        }
    }
    let pvd = pvd.ok_or_else(|| corrupt("no primary volume descriptor".into()))?;
    let block_size = u64::from(le16(&pvd[..], 128));
    if !matches!(block_size, 512 | 1024 | 2048) {
        return Err(corrupt(format!(
            "logical block size {block_size} (512, 1024 or 2048 expected)"
        )));
    }
    let pvd_root = root_record(&pvd[..])?;
    let joliet_root = match &joliet {
        Some(j) if u64::from(le16(&j[..], 128)) == block_size => Some(root_record(&j[..])?),
        _ => None,
    };
    Ok(Descriptors {
        block_size,
        pvd_root,
        joliet_root,
        uuid: uuid(&pvd[..]),
        label: label(&pvd[..], joliet.as_deref().map(|j| &j[..])),
    })
}

/// A supplementary descriptor with one of Joliet's three UCS-2 escape sequences.
fn is_joliet(vd: &[u8]) -> bool {
    matches!(vd.get(88..91), Some(b"%/@" | b"%/C" | b"%/E"))
}

fn le16(b: &[u8], at: usize) -> u16 {
    b.get(at..at + 2)
        .and_then(|s| s.try_into().ok())
        .map_or(0, u16::from_le_bytes)
}

fn root_record(vd: &[u8]) -> Result<Record, FsError> {
    let raw = vd.get(156..190).unwrap_or_default();
    let rec = Record::parse(raw).ok_or_else(|| corrupt("bad root directory record".into()))?;
    if !rec.is_dir() {
        return Err(corrupt("root directory record is not a directory".into()));
    }
    Ok(rec)
}

/// blkid's UUID: modification date, else creation date (see the module doc).
fn uuid(pvd: &[u8]) -> String {
    let date = |at: usize| pvd.get(at..at + 17).unwrap_or(&[0u8; 17][..]);
    let unset = |d: &[u8]| d.iter().take(16).all(|&c| c == b'0') && d.get(16) == Some(&0);
    let d = if unset(date(830)) {
        date(813)
    } else {
        date(830)
    };
    if unset(d) || d.iter().take(16).all(|&c| c == 0) {
        return String::new();
    }
    let mut out = String::with_capacity(22);
    for (i, &c) in d.iter().take(16).enumerate() {
        if matches!(i, 4 | 6 | 8 | 10 | 12 | 14) {
            out.push('-');
        }
        if c == 0 {
            break; // blkid formats into a C string
        }
        out.push(char::from(c));
    }
    out
}

/// blkid's LABEL (see the module doc).
fn label(pvd: &[u8], joliet: Option<&[u8]>) -> String {
    let ascii = pvd.get(40..72).unwrap_or_default();
    let text = match joliet {
        Some(j) => {
            let ucs = j.get(40..72).unwrap_or_default();
            let merged = merge_utf16be_ascii(ucs, ascii);
            utf16be_to_string(merged.as_deref().unwrap_or(ucs))
        }
        None => {
            let end = ascii.iter().position(|&c| c == 0).unwrap_or(ascii.len());
            ascii
                .get(..end)
                .unwrap_or_default()
                .iter()
                .map(|&c| char::from(c))
                .collect()
        }
    };
    text.trim_end_matches([' ', '\t', '\n', '\x0b', '\x0c', '\r'])
        .to_owned()
}

/// When the UCS-2 id is a prefix of the ASCII one (ignoring case and `_` stand-ins), the
/// UCS-2 prefix followed by the rest of the ASCII id, as UTF-16BE; else `None`.
fn merge_utf16be_ascii(utf16: &[u8], ascii: &[u8]) -> Option<Vec<u8>> {
    let len = utf16.len().min(ascii.len());
    let (mut out, mut a, mut u) = (Vec::with_capacity(2 * len), 0usize, 0usize);
    while u + 1 < len && a < len {
        let (hi, lo) = (utf16[u], utf16[u + 1]);
        if (0xd8..=0xdb).contains(&hi) && u + 3 < len && (0xdc..=0xdf).contains(&utf16[u + 2]) {
            out.extend_from_slice(&[hi, lo]);
            u += 2;
        }
        let (hi, lo) = (utf16.get(u).copied()?, utf16.get(u + 1).copied()?);
        let c = ascii[a];
        if c == b'_' {
            out.extend_from_slice(&[hi, lo]);
        } else if hi == 0 && lo == b'_' {
            out.extend_from_slice(&[0, c]);
        } else if hi == 0 && c.eq_ignore_ascii_case(&lo) {
            out.extend_from_slice(&[0, if c.is_ascii_uppercase() { lo } else { c }]);
        } else {
            return None;
        }
        a += 1;
        u += 2;
    }
    for &c in ascii.get(a..len).unwrap_or_default() {
        out.extend_from_slice(&[0, c]);
    }
    (!out.is_empty()).then_some(out)
}

/// UTF-16BE up to the first U+0000, lossy.
pub(super) fn utf16be_to_string(b: &[u8]) -> String {
    let units = b
        .chunks_exact(2)
        .map(|p| u16::from_be_bytes([p[0], p[1]]))
        .take_while(|&u| u != 0);
    char::decode_utf16(units)
        .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ucs(s: &str) -> Vec<u8> {
        let mut v: Vec<u8> = s.encode_utf16().flat_map(u16::to_be_bytes).collect();
        while v.len() < 32 {
            v.extend_from_slice(&[0, b' ']);
        }
        v
    }

    fn ascii(s: &str) -> Vec<u8> {
        let mut v = s.as_bytes().to_vec();
        v.resize(32, b' ');
        v
    }

    fn pvd_with(vol: &[u8], modified: &[u8; 17], created: &[u8; 17]) -> Vec<u8> {
        let mut p = vec![0u8; 2048];
        p[40..72].copy_from_slice(vol);
        p[813..830].copy_from_slice(created);
        p[830..847].copy_from_slice(modified);
        p
    }

    #[test]
    fn joliet_prefix_rebuilds_the_long_label() {
        let long = "THIS_IS_A_VERY_LONG_VOLUME_LABEL";
        let j = ucs("This is a very l");
        assert_eq!(
            label(
                &pvd_with(&ascii(long), &[0; 17], &[0; 17]),
                Some(&joliet(&j))
            ),
            "This is a very lONG_VOLUME_LABEL"
        );
        // Not a prefix: the Joliet id alone.
        assert_eq!(
            label(
                &pvd_with(&ascii("ISO_LABEL"), &[0; 17], &[0; 17]),
                Some(&joliet(&ucs("Joliet Label")))
            ),
            "Joliet Label"
        );
        assert_eq!(
            label(&pvd_with(&ascii("CDROM"), &[0; 17], &[0; 17]), None),
            "CDROM"
        );
    }

    fn joliet(vol: &[u8]) -> Vec<u8> {
        let mut j = vec![0u8; 2048];
        j[40..72].copy_from_slice(vol);
        j
    }

    #[test]
    fn uuid_from_modified_then_created() {
        let mut m = *b"2009092410344000\0";
        let c = *b"2001010100000000\0";
        assert_eq!(
            uuid(&pvd_with(&[b' '; 32], &m, &c)),
            "2009-09-24-10-34-40-00"
        );
        m = *b"0000000000000000\0";
        assert_eq!(
            uuid(&pvd_with(&[b' '; 32], &m, &c)),
            "2001-01-01-00-00-00-00"
        );
        assert_eq!(uuid(&pvd_with(&[b' '; 32], &[0; 17], &c)), "");
        assert_eq!(uuid(&pvd_with(&[b' '; 32], &m, &m)), "");
    }
}
