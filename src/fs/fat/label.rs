//! UUID and label exactly as blkid reports them (util-linux `libblkid/src/superblocks/vfat.c`),
//! so that `UUID=` and `LABEL=` in a guest's fstab match what the guest's own blkid saw.
//!
//! - UUID: the volume serial as `XXXX-XXXX`, upper-case; none when the serial is zero or,
//!   on FAT12/16, when there is no extended boot signature.
//! - LABEL: only the volume-label entry of the root directory. The boot-sector label is
//!   blkid's `LABEL_FATBOOT`, not `LABEL`: a label erased by Windows or mlabel survives in the
//!   boot sector but is no longer the label. Trailing white space is trimmed; an all-blank
//!   label is no label. On FAT32 blkid looks at most 99 clusters of the root directory.

use super::bpb::RootDir;
use super::dir::{DirLoc, RawEntries};
use super::Volume;
use crate::limits::FAT_LABEL_MAX_CLUSTERS;

/// The serial as blkid prints it, or empty.
pub(super) fn uuid(serial: Option<u32>) -> String {
    match serial {
        Some(s) if s != 0 => format!("{:04X}-{:04X}", s >> 16, s & 0xFFFF),
        _ => String::new(),
    }
}

/// The label blkid reports, or empty. An unreadable root directory means no label, as for
/// blkid; it is reported when a path is looked up.
pub(super) fn label(vol: &Volume) -> String {
    find(vol).map(|raw| clean(&raw)).unwrap_or_default()
}

fn find(vol: &Volume) -> Option<[u8; 11]> {
    let per_cluster = u64::from(vol.geo.cluster_size / 32);
    // blkid stops a fixed root directory at its first never-used entry, but only the current
    // cluster of a FAT32 root, going on with the next one.
    let (limit, fixed) = match vol.geo.root {
        RootDir::Fixed { entries, .. } => (u64::from(entries), true),
        RootDir::Chain(_) => (per_cluster * u64::from(FAT_LABEL_MAX_CLUSTERS), false),
    };
    let mut raw = RawEntries::prefix(vol, DirLoc::Root).ok()?;
    let mut skipping = false;
    for i in 0..limit {
        let e = raw.next_raw().ok()??;
        if !fixed && per_cluster > 0 && i % per_cluster == 0 {
            skipping = false;
        }
        if skipping {
            continue;
        }
        if e[0] == 0 {
            if fixed {
                break;
            }
            skipping = true;
            continue;
        }
        let attr = e[11];
        let in_use = e[0] != 0xE5 && e[20..22] == [0, 0] && e[26..28] == [0, 0];
        if in_use && attr & 0x3F != 0x0F && attr & 0x18 == 0x08 {
            let mut name = [0u8; 11];
            name.copy_from_slice(&e[..11]);
            return Some(name);
        }
    }
    None
}

/// The label text: 0x05 read as 0xE5, cut at a NUL, trailing white space trimmed (blkid
/// trims with C `isspace`). Bytes are passed through as blkid passes them, decoded as UTF-8
/// where they are valid.
fn clean(raw: &[u8; 11]) -> String {
    let mut raw = *raw;
    if raw[0] == 0x05 {
        raw[0] = 0xE5;
    }
    let end = raw.iter().position(|&b| b == 0).unwrap_or(raw.len());
    let bytes = raw.get(..end).unwrap_or(&raw);
    let keep = bytes
        .iter()
        .rposition(|&b| !matches!(b, b' ' | b'\t' | b'\n' | 0x0B | 0x0C | b'\r'))
        .map_or(0, |p| p + 1);
    String::from_utf8_lossy(bytes.get(..keep).unwrap_or(bytes)).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_format() {
        assert_eq!(uuid(Some(0xDEAD_BEEF)), "DEAD-BEEF");
        assert_eq!(uuid(Some(0x0000_0A0B)), "0000-0A0B");
        assert_eq!(uuid(Some(0)), "");
        assert_eq!(uuid(None), "");
    }

    #[test]
    fn label_cleanup() {
        assert_eq!(clean(b"VTech 1070 "), "VTech 1070");
        assert_eq!(clean(b"           "), "");
        assert_eq!(clean(b"AB\0CD      "), "AB");
        assert_eq!(clean(b" LEAD      "), " LEAD");
        assert_eq!(clean(b"\x05X         "), "\u{FFFD}X");
    }
}
