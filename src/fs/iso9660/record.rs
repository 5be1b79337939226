//! One directory record (ECMA-119 §9.1), parsed from its bytes without trusting any field:
//! every slice is taken with `get`, the name and system-use area are bounded by the record's
//! own length.

/// Flag bits of a directory record.
const FLAG_ASSOCIATED: u8 = 0x04;
const FLAG_DIRECTORY: u8 = 0x02;
const FLAG_MULTI_EXTENT: u8 = 0x80;

/// The fixed part of a directory record before its name.
pub(super) const FIXED_LEN: usize = 33;

/// A parsed directory record (names and system use as byte ranges of `raw`).
#[derive(Clone, Debug)]
pub(super) struct Record {
    /// Logical block of the extent (already past the extended attribute record).
    pub block: u64,
    pub size: u64,
    pub flags: u8,
    /// File unit size and interleave gap: both zero unless the file is interleaved.
    pub interleaved: bool,
    pub name: Vec<u8>,
    /// The system use area (Rock Ridge lives here).
    pub system_use: Vec<u8>,
}

impl Record {
    /// Parses the record that `raw` starts with (`raw[0]` is its length). `None` when the
    /// record is malformed: shorter than its fixed part, or a name running past its end.
    pub fn parse(raw: &[u8]) -> Option<Record> {
        let len = usize::from(*raw.first()?);
        let rec = raw.get(..len)?;
        if len < FIXED_LEN + 1 {
            return None;
        }
        let ext_attr = u64::from(*rec.get(1)?);
        let extent = u64::from(le32(rec, 2)?);
        let size = u64::from(le32(rec, 10)?);
        let flags = *rec.get(25)?;
        let interleaved = *rec.get(26)? != 0 || *rec.get(27)? != 0;
        let name_len = usize::from(*rec.get(32)?);
        let name = rec.get(FIXED_LEN..FIXED_LEN + name_len)?.to_vec();
        // The name is padded to an even length; system use follows.
        let su_start = FIXED_LEN + name_len + usize::from(name_len % 2 == 0);
        let system_use = rec.get(su_start..).unwrap_or_default().to_vec();
        Some(Record {
            block: extent + ext_attr, // both < 2^32
            size,
            flags,
            interleaved,
            name,
            system_use,
        })
    }

    pub fn is_dir(&self) -> bool {
        self.flags & FLAG_DIRECTORY != 0
    }

    /// Not the last record of a multi-extent file.
    pub fn continues(&self) -> bool {
        self.flags & FLAG_MULTI_EXTENT != 0
    }

    /// An associated file (Apple resource fork and the like): Linux hides them.
    pub fn is_associated(&self) -> bool {
        self.flags & FLAG_ASSOCIATED != 0
    }

    /// The `.` (0x00) and `..` (0x01) records every directory starts with.
    pub fn is_dot_or_dotdot(&self) -> bool {
        matches!(self.name.as_slice(), [0] | [1])
    }
}

fn le32(b: &[u8], at: usize) -> Option<u32> {
    b.get(at..at + 4)?.try_into().ok().map(u32::from_le_bytes)
}

/// A plain ISO 9660 name as Linux's isofs shows it (`map=normal`): lower case, the `;1`
/// version and then a trailing `.` removed, other `;` turned into `.`.
pub(super) fn plain_name(raw: &[u8]) -> Vec<u8> {
    let mut n = raw.strip_suffix(b";1").unwrap_or(raw);
    if n.len() != raw.len() {
        n = n.strip_suffix(b".").unwrap_or(n);
    }
    n.iter()
        .map(|&c| {
            if c == b';' {
                b'.'
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect()
}

/// A Joliet name (UCS-2 big-endian) as UTF-8, with the `;1` version and a trailing `.`
/// removed as Linux does.
pub(super) fn joliet_name(raw: &[u8]) -> Vec<u8> {
    let s = super::volume::utf16be_to_string(raw);
    let mut n = s.strip_suffix(";1").unwrap_or(&s);
    if n.len() != s.len() {
        n = n.strip_suffix('.').unwrap_or(n);
    }
    n.as_bytes().to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn record(name: &[u8], block: u32, size: u32, flags: u8, su: &[u8]) -> Vec<u8> {
        let mut r = vec![0u8; FIXED_LEN];
        r.extend_from_slice(name);
        if name.len().is_multiple_of(2) {
            r.push(0);
        }
        r.extend_from_slice(su);
        if r.len() % 2 == 1 {
            r.push(0);
        }
        r[0] = r.len() as u8;
        r[2..6].copy_from_slice(&block.to_le_bytes());
        r[6..10].copy_from_slice(&block.to_be_bytes());
        r[10..14].copy_from_slice(&size.to_le_bytes());
        r[14..18].copy_from_slice(&size.to_be_bytes());
        r[25] = flags;
        r[32] = name.len() as u8;
        r
    }

    #[test]
    fn parses_fields_and_system_use() {
        let raw = record(b"VMLINUZ.;1", 30, 1234, 0, b"NM\x05\x01\x00");
        let r = Record::parse(&raw).unwrap();
        assert_eq!((r.block, r.size, r.is_dir()), (30, 1234, false));
        assert_eq!(r.name, b"VMLINUZ.;1");
        assert!(r.system_use.starts_with(b"NM\x05\x01\x00"));
        assert_eq!(plain_name(&r.name), b"vmlinuz");
    }

    #[test]
    fn malformed_records_are_none() {
        assert!(Record::parse(&[]).is_none());
        assert!(Record::parse(&[10; 10]).is_none());
        let mut raw = record(b"A", 1, 1, 0, b"");
        raw[32] = 200; // name past the record
        assert!(Record::parse(&raw).is_none());
    }

    #[test]
    fn names_as_linux_shows_them() {
        assert_eq!(plain_name(b"INITRD.GZ;1"), b"initrd.gz");
        assert_eq!(plain_name(b"README"), b"readme");
        let j: Vec<u8> = "Grüße.txt;1"
            .encode_utf16()
            .flat_map(u16::to_be_bytes)
            .collect();
        assert_eq!(joliet_name(&j), "Grüße.txt".as_bytes());
    }
}
