//! Rock Ridge (RRIP 1.09/1.12) over SUSP: the entries of one directory record's system use
//! area and of its continuation areas (`CE`). We use `NM` (name), `SL` (symlink target),
//! `PX` (file type), `RE`/`CL` (relocated directories), `ZF`/`SF` (zisofs compression,
//! sparse files: refused when such a file is read), and `SP`/`ER` on the root's `.`
//! record, which say that Rock Ridge is in use and how many bytes each system use area
//! starts with.
//!
//! Bounds: every entry is taken with its own length inside its area; a continuation area
//! must lie inside one logical block (as Linux requires) and at most
//! [`ISO_MAX_CE_AREAS`] of them are followed per record, so a CE chain that loops ends, and
//! at most [`ISO_MAX_CE_PER_DIR`] per directory scan;
//! names are capped at [`ISO_MAX_NAME`] bytes and link targets at [`MAX_PATH`].

use super::{corrupt, Volume};
use crate::fs::FsError;
use crate::limits::{ISO_MAX_CE_AREAS, ISO_MAX_CE_PER_DIR, ISO_MAX_NAME, MAX_PATH};

/// POSIX file type bits of `PX`'s mode.
const S_IFMT: u32 = 0o170_000;
pub(super) const S_IFDIR: u32 = 0o040_000;
pub(super) const S_IFREG: u32 = 0o100_000;
pub(super) const S_IFLNK: u32 = 0o120_000;

/// What the Rock Ridge entries of one record say.
#[derive(Clone, Debug, Default)]
pub(super) struct Rock {
    /// `NM` pieces joined; `None` without `NM`.
    pub name: Option<Vec<u8>>,
    /// `NM` with the CURRENT or PARENT flag: the `.`/`..` record.
    pub dot: bool,
    pub symlink: Option<Vec<u8>>,
    /// File type bits from `PX`.
    pub file_type: Option<u32>,
    /// `RE`: a directory moved here from too deep a tree; hidden, its `CL` is the entry.
    pub relocated: bool,
    /// `CL`: this entry stands for the directory at this logical block.
    pub child: Option<u64>,
    /// Data not stored plainly: `ZF` (zisofs compression) or `SF` (sparse file).
    pub encoding: Option<&'static str>,
    /// `SP`'s skip length (only meaningful on the root's `.` record).
    pub sp_skip: Option<u8>,
    /// `ER` seen: Rock Ridge is announced.
    pub er: bool,
}

/// A symlink target being assembled from `SL` components.
#[derive(Default)]
struct LinkBuilder {
    target: Vec<u8>,
    need_slash: bool,
}

impl LinkBuilder {
    /// Adds the components of one `SL` entry's data (after its flags byte).
    fn add(&mut self, mut comps: &[u8]) -> Result<(), FsError> {
        while let [flags, len, rest @ ..] = comps {
            let len = usize::from(*len);
            let text = rest
                .get(..len)
                .ok_or_else(|| corrupt("Rock Ridge SL component past its entry".into()))?;
            if flags & 0x08 != 0 {
                self.target.push(b'/');
                self.need_slash = false;
            } else {
                if self.need_slash {
                    self.target.push(b'/');
                }
                let part: &[u8] = match flags & 0x06 {
                    0x02 => b".",
                    0x04 => b"..",
                    _ => text,
                };
                self.target.extend_from_slice(part);
                self.need_slash = flags & 0x01 == 0;
            }
            if self.target.len() > MAX_PATH {
                return Err(corrupt(format!(
                    "Rock Ridge symlink target longer than {MAX_PATH} bytes"
                )));
            }
            comps = rest.get(len..).unwrap_or_default();
        }
        Ok(())
    }
}

/// Parses the Rock Ridge entries of a record's system use area `su`, skipping `skip` bytes
/// first (`SP`'s length), and following continuation areas.
/// `dir_areas` counts the continuation areas read for the whole directory scan (see
/// [`ISO_MAX_CE_PER_DIR`]).
pub(super) fn parse(
    vol: &Volume,
    su: &[u8],
    skip: usize,
    dir_areas: &mut u32,
) -> Result<Rock, FsError> {
    let mut rock = Rock::default();
    let mut link: Option<LinkBuilder> = None;
    let mut area = su.get(skip..).unwrap_or_default().to_vec();
    let mut areas = 0u32;
    loop {
        let next = entries(&area, &mut rock, &mut link)?;
        let Some((block, offset, len)) = next else {
            break;
        };
        areas += 1;
        *dir_areas += 1;
        if *dir_areas > ISO_MAX_CE_PER_DIR {
            return Err(corrupt(format!(
                "more than {ISO_MAX_CE_PER_DIR} Rock Ridge continuation areas in one directory"
            )));
        }
        if areas > ISO_MAX_CE_AREAS {
            return Err(corrupt(format!(
                "more than {ISO_MAX_CE_AREAS} Rock Ridge continuation areas for one record (a CE loop?)"
            )));
        }
        area = read_ce(vol, block, offset, len)?;
    }
    rock.symlink = link.map(|l| l.target);
    Ok(rock)
}

/// Reads a continuation area, which must lie within one logical block.
fn read_ce(vol: &Volume, block: u64, offset: u64, len: u64) -> Result<Vec<u8>, FsError> {
    let bad = || {
        corrupt(format!("Rock Ridge CE area at block {block} offset {offset} length {len} does not fit in one block"))
    };
    if offset
        .checked_add(len)
        .is_none_or(|end| end > vol.block_size)
    {
        return Err(bad());
    }
    let at = block
        .checked_mul(vol.block_size)
        .and_then(|b| b.checked_add(offset))
        .ok_or_else(bad)?;
    let mut buf = vec![0u8; usize::try_from(len).map_err(|_| bad())?];
    vol.slice.read_exact_at(at, &mut buf)?;
    Ok(buf)
}

fn both32(b: &[u8], at: usize) -> Option<u64> {
    b.get(at..at + 4)?
        .try_into()
        .ok()
        .map(|a| u64::from(u32::from_le_bytes(a)))
}

/// Applies the entries of one area to `rock`; returns the continuation area it names.
fn entries(
    mut area: &[u8],
    rock: &mut Rock,
    link: &mut Option<LinkBuilder>,
) -> Result<Option<(u64, u64, u64)>, FsError> {
    let mut ce = None;
    while area.len() >= 4 {
        let len = usize::from(area[2]);
        let Some(entry) = area.get(..len).filter(|_| len >= 4) else {
            break; // padding or garbage ends the area, as in Linux
        };
        let data = entry.get(4..).unwrap_or_default();
        match &entry[..2] {
            b"NM" => name_piece(rock, data)?,
            b"SL" => link
                .get_or_insert_with(LinkBuilder::default)
                .add(data.get(1..).unwrap_or_default())?,
            b"PX" => rock.file_type = both32(data, 0).map(|m| m as u32 & S_IFMT),
            b"RE" => rock.relocated = true,
            b"CL" => rock.child = both32(data, 0),
            b"ZF" => rock.encoding = Some("zisofs compression"),
            b"SF" => rock.encoding = Some("Rock Ridge sparse file"),
            b"SP" if data.get(..2) == Some(&[0xbe, 0xef]) => rock.sp_skip = data.get(2).copied(),
            b"ER" => rock.er = true,
            b"CE" => {
                ce = match (both32(data, 0), both32(data, 8), both32(data, 16)) {
                    (Some(b), Some(o), Some(l)) => Some((b, o, l)),
                    _ => None,
                }
            }
            b"ST" => break,
            _ => {}
        }
        area = area.get(len..).unwrap_or_default();
    }
    Ok(ce)
}

fn name_piece(rock: &mut Rock, data: &[u8]) -> Result<(), FsError> {
    let Some((&flags, text)) = data.split_first() else {
        return Ok(());
    };
    if flags & 0x06 != 0 {
        rock.dot = true;
        return Ok(());
    }
    let name = rock.name.get_or_insert_with(Vec::new);
    name.extend_from_slice(text);
    if name.len() > ISO_MAX_NAME {
        return Err(corrupt(format!(
            "Rock Ridge name longer than {ISO_MAX_NAME} bytes"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sl(flags: u8, comps: &[(u8, &[u8])]) -> Vec<u8> {
        let mut d = vec![flags];
        for (f, t) in comps {
            d.push(*f);
            d.push(t.len() as u8);
            d.extend_from_slice(t);
        }
        d
    }

    fn link(entries: &[Vec<u8>]) -> Vec<u8> {
        let mut b = LinkBuilder::default();
        for e in entries {
            b.add(&e[1..]).unwrap();
        }
        b.target
    }

    #[test]
    fn symlink_components() {
        assert_eq!(
            link(&[sl(0, &[(8, b""), (0, b"boot"), (0, b"vmlinuz-6.1")])]),
            b"/boot/vmlinuz-6.1"
        );
        assert_eq!(link(&[sl(0, &[(4, b""), (2, b""), (0, b"x")])]), b".././x");
        // A component continued in the next SL entry.
        assert_eq!(
            link(&[
                sl(1, &[(0, b"a"), (1, b"lo")]),
                sl(0, &[(0, b"ng"), (0, b"b")])
            ]),
            b"a/long/b"
        );
    }

    #[test]
    fn entries_with_bad_lengths_end_the_area() {
        let mut rock = Rock::default();
        let mut l = None;
        let area = [b'N', b'M', 2, 1, 0, b'x'];
        assert!(entries(&area, &mut rock, &mut l).unwrap().is_none());
        assert!(rock.name.is_none());
        let area = [b'N', b'M', 200, 1, 0, b'x'];
        assert!(entries(&area, &mut rock, &mut l).unwrap().is_none());
        let area = [b'N', b'M', 6, 1, 0, b'x', b'R', b'E', 4, 1];
        entries(&area, &mut rock, &mut l).unwrap();
        assert_eq!(rock.name.as_deref(), Some(&b"x"[..]));
        assert!(rock.relocated);
    }

    #[test]
    fn long_names_are_refused() {
        let mut rock = Rock::default();
        let piece = [&[1u8][..], &[b'a'; 200][..]].concat();
        name_piece(&mut rock, &piece).unwrap();
        assert!(name_piece(&mut rock, &piece).is_err());
    }
}
