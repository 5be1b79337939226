//! Directories: raw 32-byte entries streamed from the fixed FAT12/16 root region or from a
//! cluster chain, and the decoded entries built from them (long names, short names).
//!
//! Entries are read the way the Linux vfat driver reads them (`fs/fat/dir.c`), since that is
//! what the guest kernel will see: the whole chain is scanned (an entry whose name starts
//! with 0 is a free slot, not the end), volume labels and deleted entries are skipped, and a
//! long name is used only when its slots are complete, in order, and match the short name's
//! checksum. A directory's chain is walked in the FAT before its entries are read, and must
//! end within the volume's cluster count and [`MAX_DIR_ENTRIES`] entries; the scan itself
//! keeps both bounds too, in case the image changes under us.

use super::bpb::{FatKind, RootDir};
use super::table::{FatTable, Link};
use super::{corrupt, Volume};
use crate::fs::{FileKind, FsError};
use crate::limits::MAX_DIR_ENTRIES;

/// Bytes read from a directory at a time.
const CHUNK: u32 = 4096;
const ENTRY: usize = 32;
const ATTR_LFN: u8 = 0x0F;
const ATTR_VOLUME: u8 = 0x08;
const ATTR_DIR: u8 = 0x10;
/// Long-name slots in one name: Linux's limit (`MSDOS_SLOTS` - 1), 20 × 13 = 260 units.
const MAX_LFN_SLOTS: u8 = 20;
const LFN_UNITS: usize = 13;

/// Where a directory's entries are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum DirLoc {
    Root,
    Cluster(u32),
}

/// A decoded directory entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Entry {
    /// The long name when there is a valid one, else the short name as Linux shows it.
    pub name: String,
    /// The 8.3 alias as Linux shows it (lower-case flags applied).
    pub short: String,
    pub kind: FileKind,
    pub cluster: u32,
    pub size: u32,
}

impl Entry {
    /// True when `query` names this entry, compared case-insensitively against the long name
    /// and the short alias, as vfat lookup does. Trailing dots of `query` are ignored, as vfat
    /// ignores them.
    pub(super) fn matches(&self, query: &str) -> bool {
        let q = query.trim_end_matches('.');
        !q.is_empty() && (eq_fold(&self.name, q) || eq_fold(&self.short, q))
    }
}

fn eq_fold(a: &str, b: &str) -> bool {
    a.chars()
        .flat_map(char::to_uppercase)
        .eq(b.chars().flat_map(char::to_uppercase))
}

enum Source {
    Fixed { offset: u64, left: u64 },
    Chain { cluster: u32, pos: u32, seen: u32 },
}

/// The raw 32-byte entries of one directory, in order.
pub(super) struct RawEntries<'a> {
    vol: &'a Volume,
    fat: FatTable<'a>,
    src: Source,
    buf: Vec<u8>,
    at: usize,
    scanned: u64,
}

impl<'a> RawEntries<'a> {
    /// The entries of the directory at `loc`, after checking that its chain ends.
    pub(super) fn new(vol: &'a Volume, loc: DirLoc) -> Result<Self, FsError> {
        Self::open(vol, loc, true)
    }

    /// The entries at `loc` without the up-front chain check, for a caller that reads only a
    /// bounded prefix (the label search, which must see what blkid sees even on a chain that
    /// loops later).
    pub(super) fn prefix(vol: &'a Volume, loc: DirLoc) -> Result<Self, FsError> {
        Self::open(vol, loc, false)
    }

    fn open(vol: &'a Volume, loc: DirLoc, check: bool) -> Result<Self, FsError> {
        let first = match (loc, vol.geo.root) {
            (DirLoc::Root, RootDir::Fixed { offset, entries }) => {
                let left = u64::from(entries) * ENTRY as u64;
                return Ok(Self::with(vol, Source::Fixed { offset, left }));
            }
            (DirLoc::Root, RootDir::Chain(c)) | (DirLoc::Cluster(c), _) => c,
        };
        if !vol.geo.is_cluster(first) {
            return Err(corrupt(format!(
                "directory starts at cluster {first}, which is not on the volume"
            )));
        }
        // Walk the chain in the FAT first: a loop is found after at most `max` cheap FAT
        // lookups instead of after reading `max` clusters of entries.
        let max_entries_clusters =
            (MAX_DIR_ENTRIES * ENTRY as u64).div_ceil(u64::from(vol.geo.cluster_size));
        let max = max_entries_clusters.min(u64::from(vol.geo.clusters));
        let mut raw = Self::with(
            vol,
            Source::Chain {
                cluster: first,
                pos: 0,
                seen: 1,
            },
        );
        if check {
            raw.fat.chain_len(first, max)?;
        }
        Ok(raw)
    }

    fn with(vol: &'a Volume, src: Source) -> Self {
        RawEntries {
            vol,
            fat: FatTable::new(vol),
            src,
            buf: Vec::new(),
            at: 0,
            scanned: 0,
        }
    }

    /// The next raw entry, or `None` at the end of the directory.
    pub(super) fn next_raw(&mut self) -> Result<Option<[u8; ENTRY]>, FsError> {
        if self.at >= self.buf.len() && !self.refill()? {
            return Ok(None);
        }
        let mut e = [0u8; ENTRY];
        let src = self
            .buf
            .get(self.at..self.at + ENTRY)
            .ok_or_else(|| corrupt("directory buffer".into()))?;
        e.copy_from_slice(src);
        self.at += ENTRY;
        self.scanned += 1;
        if self.scanned > MAX_DIR_ENTRIES {
            return Err(corrupt(format!(
                "directory has more than {MAX_DIR_ENTRIES} entries (cluster chain loop?)"
            )));
        }
        Ok(Some(e))
    }

    /// Reads the next chunk into `buf`; false at the end of the directory.
    fn refill(&mut self) -> Result<bool, FsError> {
        let geo = &self.vol.geo;
        let (offset, len) = match &mut self.src {
            Source::Fixed { offset, left } => {
                if *left == 0 {
                    return Ok(false);
                }
                let len = (*left).min(u64::from(CHUNK));
                let at = *offset;
                *offset += len; // within the metadata region checked against the partition
                *left -= len;
                (at, len)
            }
            Source::Chain { cluster, pos, seen } => {
                if *pos >= geo.cluster_size {
                    match self.fat.next(*cluster)? {
                        Link::End => return Ok(false),
                        Link::Next(n) => {
                            *seen += 1;
                            if *seen > geo.clusters {
                                return Err(corrupt(format!(
                                    "directory cluster chain is longer than the volume's {} \
                                     clusters (loop)",
                                    geo.clusters
                                )));
                            }
                            *cluster = n;
                            *pos = 0;
                        }
                    }
                }
                let len = CHUNK.min(geo.cluster_size - *pos);
                let base = geo
                    .cluster_offset(*cluster)
                    .ok_or_else(|| corrupt(format!("cluster {cluster} is not on the volume")))?;
                let at = base + u64::from(*pos); // pos < cluster_size: inside the cluster
                *pos += len;
                (at, u64::from(len))
            }
        };
        let len = usize::try_from(len).map_err(|_| corrupt("directory chunk".into()))?;
        self.buf.resize(len - len % ENTRY, 0);
        self.at = 0;
        self.vol.slice.read_exact_at(offset, &mut self.buf)?;
        Ok(!self.buf.is_empty())
    }
}

/// A long name being assembled from its slots, last slot first.
struct Lfn {
    units: Vec<u16>,
    /// Order number of the slot expected next; 0 once complete.
    next: u8,
    checksum: u8,
}

/// Decoded entries of one directory, `.` and `..` left out.
pub(super) struct Entries<'a> {
    raw: RawEntries<'a>,
    decoder: Decoder,
}

impl<'a> Entries<'a> {
    pub(super) fn new(vol: &'a Volume, loc: DirLoc) -> Result<Self, FsError> {
        Ok(Entries {
            raw: RawEntries::new(vol, loc)?,
            decoder: Decoder::new(vol.geo.kind == FatKind::Fat32),
        })
    }

    /// The next entry, or `None` at the end of the directory.
    pub(super) fn next_entry(&mut self) -> Result<Option<Entry>, FsError> {
        while let Some(e) = self.raw.next_raw()? {
            if let Some(entry) = self.decoder.feed(&e) {
                return Ok(Some(entry));
            }
        }
        Ok(None)
    }
}

/// Turns raw entries into decoded ones, carrying long-name slots between them.
struct Decoder {
    lfn: Option<Lfn>,
    fat32: bool,
}

impl Decoder {
    fn new(fat32: bool) -> Self {
        Decoder { lfn: None, fat32 }
    }

    /// Takes one raw entry; returns a decoded entry when it completes one.
    fn feed(&mut self, e: &[u8; ENTRY]) -> Option<Entry> {
        let attr = e[11];
        if e[0] == 0xE5 {
            self.lfn = None;
            return None;
        }
        if attr == ATTR_LFN {
            self.lfn_slot(e);
            return None;
        }
        let lfn = self.lfn.take();
        if e[0] == 0 || attr & ATTR_VOLUME != 0 {
            return None;
        }
        let mut raw_name = [0u8; 11];
        raw_name.copy_from_slice(&e[..11]);
        if raw_name == *b".          " || raw_name == *b"..         " {
            return None;
        }
        let short = short_name(&raw_name, e[12]);
        let long = lfn
            .filter(|l| l.next == 0 && l.checksum == checksum(&raw_name))
            .map(|l| long_name(&l.units))
            .filter(|n| !n.is_empty());
        let lo = u32::from(u16::from_le_bytes([e[26], e[27]]));
        let hi = u32::from(u16::from_le_bytes([e[20], e[21]]));
        Some(Entry {
            name: long.unwrap_or_else(|| short.clone()),
            short,
            kind: if attr & ATTR_DIR != 0 {
                FileKind::Dir
            } else {
                FileKind::File
            },
            cluster: if self.fat32 { lo | hi << 16 } else { lo },
            size: u32::from_le_bytes([e[28], e[29], e[30], e[31]]),
        })
    }

    fn lfn_slot(&mut self, e: &[u8; ENTRY]) {
        let order = e[0];
        let sum = e[13];
        let n = order & !0x40;
        if order & 0x40 != 0 {
            if n == 0 || n > MAX_LFN_SLOTS {
                self.lfn = None;
                return;
            }
            self.lfn = Some(Lfn {
                units: vec![0xFFFF; usize::from(n) * LFN_UNITS],
                next: n,
                checksum: sum,
            });
        }
        match &mut self.lfn {
            Some(l) if l.next == n && n >= 1 && l.checksum == sum => {
                let start = usize::from(n - 1) * LFN_UNITS;
                for (i, u) in lfn_units(e).into_iter().enumerate() {
                    if let Some(slot) = l.units.get_mut(start + i) {
                        *slot = u;
                    }
                }
                l.next = n - 1;
            }
            _ => self.lfn = None,
        }
    }
}

/// The 13 UTF-16 units of a long-name slot, at bytes 1..11, 14..26 and 28..32.
fn lfn_units(e: &[u8; ENTRY]) -> [u16; LFN_UNITS] {
    let mut out = [0u16; LFN_UNITS];
    let spans = (1..11)
        .step_by(2)
        .chain((14..26).step_by(2))
        .chain((28..32).step_by(2));
    for (slot, i) in out.iter_mut().zip(spans) {
        *slot = u16::from_le_bytes([e[i], e[i + 1]]);
    }
    out
}

/// The long name up to its NUL terminator (slots after it are 0xFFFF padding).
fn long_name(units: &[u16]) -> String {
    let end = units.iter().position(|&u| u == 0).unwrap_or(units.len());
    let name = units.get(..end).unwrap_or(units);
    String::from_utf16_lossy(name)
}

/// The checksum of an 8.3 name that its long-name slots carry.
pub(super) fn checksum(name: &[u8; 11]) -> u8 {
    name.iter()
        .fold(0u8, |sum, &c| sum.rotate_right(1).wrapping_add(c))
}

/// The 8.3 name as Linux shows it: padding trimmed, `NAME.EXT`, 0x05 read as 0xE5, the
/// Windows NT lower-case flags (byte 12, bits 3 and 4) applied, OEM bytes decoded as code page
/// 437 (Linux's default `codepage=`).
pub(super) fn short_name(raw: &[u8; 11], nt_flags: u8) -> String {
    let mut raw = *raw;
    if raw[0] == 0x05 {
        raw[0] = 0xE5;
    }
    let base = trim_pad(&raw[..8]);
    let ext = trim_pad(&raw[8..]);
    let decode = |bytes: &[u8], lower: bool| -> String {
        bytes
            .iter()
            .map(|&b| {
                let c = cp437(b);
                if lower {
                    c.to_ascii_lowercase()
                } else {
                    c
                }
            })
            .collect()
    };
    let mut name = decode(base, nt_flags & 0x08 != 0);
    if !ext.is_empty() {
        name.push('.');
        name.push_str(&decode(ext, nt_flags & 0x10 != 0));
    }
    name
}

fn trim_pad(b: &[u8]) -> &[u8] {
    let end = b.iter().rposition(|&c| c != b' ').map_or(0, |p| p + 1);
    b.get(..end).unwrap_or(b)
}

/// Code page 437, the upper half; the lower half is ASCII.
const CP437_HIGH: &str = "ÇüéâäàåçêëèïîìÄÅÉæÆôöòûùÿÖÜ¢£¥₧ƒáíóúñÑªº¿⌐¬½¼¡«»░▒▓│┤╡╢╖╕╣║╗╝╜╛┐\
└┴┬├─┼╞╟╚╔╩╦╠═╬╧╨╤╥╙╘╒╓╫╪┘┌█▄▌▐▀αßΓπΣσµτΦΘΩδ∞φε∩≡±≥≤⌠⌡÷≈°∙·√ⁿ²■\u{A0}";

fn cp437(b: u8) -> char {
    if b < 0x80 {
        char::from(b)
    } else {
        CP437_HIGH
            .chars()
            .nth(usize::from(b - 0x80))
            .unwrap_or(char::REPLACEMENT_CHARACTER)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sfn(name: &[u8; 11], attr: u8) -> [u8; 32] {
        let mut e = [0u8; 32];
        e[..11].copy_from_slice(name);
        e[11] = attr;
        e
    }

    fn lfn(order: u8, sum: u8, chars: &str) -> [u8; 32] {
        let mut units: Vec<u16> = chars.encode_utf16().collect();
        if units.len() < 13 {
            units.push(0);
        }
        units.resize(13, 0xFFFF);
        let mut e = [0u8; 32];
        e[0] = order;
        e[11] = ATTR_LFN;
        e[13] = sum;
        let spans = (1..11)
            .step_by(2)
            .chain((14..26).step_by(2))
            .chain((28..32).step_by(2));
        for (u, i) in units.iter().zip(spans) {
            e[i..i + 2].copy_from_slice(&u.to_le_bytes());
        }
        e
    }

    /// Feeds `raw` through a FAT16 decoder.
    fn decode(raw: &[[u8; 32]]) -> Vec<Entry> {
        let mut d = Decoder::new(false);
        raw.iter().filter_map(|e| d.feed(e)).collect()
    }

    #[test]
    fn long_name_across_two_slots() {
        let short = *b"THISIS~1TXT";
        let sum = checksum(&short);
        let got = decode(&[
            lfn(0x42, sum, "Name.txt"),
            lfn(0x01, sum, "This is a Lon"),
            sfn(&short, 0x20),
        ]);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].name, "This is a LonName.txt");
        assert_eq!(got[0].short, "THISIS~1.TXT");
        assert!(got[0].matches("this IS a lonname.TXT"));
        assert!(got[0].matches("thisis~1.txt"));
        assert!(got[0].matches("THISIS~1.TXT."));
        assert!(!got[0].matches("This"));
    }

    #[test]
    fn broken_long_names_fall_back_to_the_short_name() {
        let short = *b"FOO     TXT";
        let sum = checksum(&short);
        for seq in [
            vec![lfn(0x41, sum.wrapping_add(1), "long.txt"), sfn(&short, 0)],
            vec![lfn(0x42, sum, "b"), sfn(&short, 0)], // slot 1 missing
            vec![lfn(0x01, sum, "a"), sfn(&short, 0)], // no first slot
            vec![lfn(0x40, sum, "a"), sfn(&short, 0)], // order 0
            vec![lfn(0x55, sum, "a"), sfn(&short, 0)], // 21 slots
            vec![
                lfn(0x41, sum, "x"),
                sfn(b"\xE5OO     TXT", 0),
                sfn(&short, 0),
            ],
        ] {
            let got = decode(&seq);
            assert_eq!(got.last().map(|e| e.name.as_str()), Some("FOO.TXT"));
        }
    }

    #[test]
    fn skipped_entries() {
        let got = decode(&[
            sfn(b"LABEL      ", ATTR_VOLUME),
            sfn(b".          ", ATTR_DIR),
            sfn(b"..         ", ATTR_DIR),
            sfn(b"\xE5ELETED    ", 0),
            sfn(&[0u8; 11], 0),
            sfn(b"KEEP       ", ATTR_DIR),
        ]);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].name, "KEEP");
        assert_eq!(got[0].kind, FileKind::Dir);
    }

    #[test]
    fn short_names_like_linux() {
        assert_eq!(short_name(b"README  TXT", 0), "README.TXT");
        assert_eq!(short_name(b"README  TXT", 0x08), "readme.TXT");
        assert_eq!(short_name(b"README  TXT", 0x18), "readme.txt");
        assert_eq!(short_name(b"NOEXT      ", 0), "NOEXT");
        assert_eq!(short_name(b"\x05BC     D  ", 0), "σBC.D");
        assert_eq!(short_name(b"\x80\xFF      \xE1  ", 0), "Ç\u{A0}.ß");
    }

    #[test]
    fn cp437_table_is_complete() {
        assert_eq!(CP437_HIGH.chars().count(), 128);
        assert_eq!(cp437(0xA4), 'ñ');
        assert_eq!(cp437(0xB0), '░');
        assert_eq!(cp437(0xDB), '█');
        assert_eq!(cp437(0xE0), 'α');
    }

    #[test]
    fn checksum_matches_known_value() {
        // The specification's definition: rotate right by one, then add the next byte.
        let n = *b"FILENA~1TXT";
        let mut sum = 0u8;
        for c in n {
            sum = (if sum & 1 != 0 { 0x80u8 } else { 0 })
                .wrapping_add(sum >> 1)
                .wrapping_add(c);
        }
        assert_eq!(checksum(&n), sum);
    }

    #[test]
    fn fat32_uses_the_high_cluster_half() {
        let mut e = sfn(b"BIG     BIN", 0);
        e[20..22].copy_from_slice(&0x0001u16.to_le_bytes());
        e[26..28].copy_from_slice(&0x0002u16.to_le_bytes());
        e[28..32].copy_from_slice(&77u32.to_le_bytes());
        let got = Decoder::new(true).feed(&e).unwrap();
        assert_eq!((got.cluster, got.size), (0x0001_0002, 77));
        assert_eq!(Decoder::new(false).feed(&e).unwrap().cluster, 2);
    }
}
