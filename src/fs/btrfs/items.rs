//! Item payloads: inode, directory entries, root items and file extents, each checked for
//! length before any field is trusted.

use super::tree::Root;
use super::{corrupt, le16, le32, le64, Key};
use crate::fs::{FileKind, FsError};
use crate::limits::BTRFS_MAX_LEVEL;

pub const INODE_ITEM_KEY: u8 = 1;
pub const DIR_ITEM_KEY: u8 = 84;
pub const DIR_INDEX_KEY: u8 = 96;
pub const EXTENT_DATA_KEY: u8 = 108;
pub const ROOT_ITEM_KEY: u8 = 132;

const INODE_ITEM_SIZE: usize = 160;
/// The size of a root item before `generation_v2` was added; newer ones are longer.
const ROOT_ITEM_MIN: usize = 239;
const DIR_HEAD: usize = 30;

/// The fields of an inode we use.
#[derive(Clone, Copy, Debug)]
pub struct InodeItem {
    pub size: u64,
    pub mode: u32,
}

impl InodeItem {
    pub fn kind(&self) -> FileKind {
        match self.mode & 0o170_000 {
            0o100_000 => FileKind::File,
            0o040_000 => FileKind::Dir,
            0o120_000 => FileKind::Symlink,
            _ => FileKind::Other,
        }
    }
}

pub fn inode_item(d: &[u8]) -> Result<InodeItem, FsError> {
    if d.len() < INODE_ITEM_SIZE {
        return Err(corrupt(format!("inode item of {} bytes", d.len())));
    }
    Ok(InodeItem {
        size: le64(d, 16),
        mode: le32(d, 52),
    })
}

/// One name in a `DIR_ITEM`/`DIR_INDEX` item.
#[derive(Clone, Debug)]
pub struct DirEntry {
    pub location: Key,
    pub kind: FileKind,
    pub name: Vec<u8>,
}

/// The entries packed in one directory item (several share a `DIR_ITEM` on a hash collision).
pub fn dir_entries(d: &[u8]) -> Result<Vec<DirEntry>, FsError> {
    let mut out = Vec::new();
    let mut pos = 0usize;
    while pos < d.len() {
        let rest = d.get(pos..).unwrap_or_default();
        let bad = || corrupt("malformed directory item".into());
        let location = Key::parse(rest).ok_or_else(bad)?;
        let data_len = usize::from(le16(rest, 25));
        let name_len = usize::from(le16(rest, 27));
        let ty = rest.get(29).copied().ok_or_else(bad)?;
        let name = rest
            .get(DIR_HEAD..DIR_HEAD + name_len)
            .filter(|n| !n.is_empty())
            .ok_or_else(bad)?;
        if ty & 0x80 != 0 {
            return Err(super::unsupported("encrypted directory entries"));
        }
        let kind = match ty {
            1 => FileKind::File,
            2 => FileKind::Dir,
            7 => FileKind::Symlink,
            _ => FileKind::Other,
        };
        out.push(DirEntry {
            location,
            kind,
            name: name.to_vec(),
        });
        pos += DIR_HEAD + name_len + data_len;
    }
    Ok(out)
}

/// A root item's tree root and root directory.
pub fn root_item(d: &[u8]) -> Result<(Root, u64), FsError> {
    if d.len() < ROOT_ITEM_MIN {
        return Err(corrupt(format!("root item of {} bytes", d.len())));
    }
    let level = d.get(238).copied().unwrap_or(u8::MAX);
    if level >= BTRFS_MAX_LEVEL {
        return Err(corrupt(format!("subvolume tree level {level}")));
    }
    Ok((
        Root {
            bytenr: le64(d, 176),
            level,
        },
        le64(d, 168),
    ))
}

/// One file extent item.
#[derive(Clone, Debug)]
pub struct Extent {
    /// File offset the extent starts at (the item key's offset).
    pub start: u64,
    pub kind: ExtentKind,
    pub compression: u8,
}

#[derive(Clone, Debug)]
pub enum ExtentKind {
    /// Data stored in the item itself (possibly compressed): (ram_bytes, data).
    Inline { ram: u64, data: Vec<u8> },
    /// `len` file bytes: a hole when `disk` is 0, zeros when `prealloc`.
    Regular {
        disk: u64,
        disk_len: u64,
        offset: u64,
        len: u64,
        ram: u64,
        prealloc: bool,
    },
}

impl Extent {
    /// File bytes the extent covers (an inline extent: its uncompressed size).
    pub fn len(&self) -> u64 {
        match &self.kind {
            ExtentKind::Inline { ram, .. } => *ram,
            ExtentKind::Regular { len, .. } => *len,
        }
    }

    pub fn end(&self) -> u64 {
        self.start.saturating_add(self.len())
    }
}

pub fn extent(key: Key, d: &[u8]) -> Result<Extent, FsError> {
    let bad = |what: &str| corrupt(format!("file extent at {}: {what}", key.offset));
    if d.len() < 21 {
        return Err(bad("too short"));
    }
    if d.get(17).copied().unwrap_or(0) != 0 || le16(d, 18) != 0 {
        return Err(super::unsupported("encrypted or encoded extents"));
    }
    let compression = d.get(16).copied().unwrap_or(0);
    let ram = le64(d, 8);
    let kind = match d.get(20).copied().unwrap_or(u8::MAX) {
        0 => ExtentKind::Inline {
            ram: if compression == 0 {
                (d.len() - 21) as u64
            } else {
                ram
            },
            data: d.get(21..).unwrap_or_default().to_vec(),
        },
        t @ (1 | 2) => {
            if d.len() < 53 {
                return Err(bad("too short"));
            }
            ExtentKind::Regular {
                disk: le64(d, 21),
                disk_len: le64(d, 29),
                offset: le64(d, 37),
                len: le64(d, 45),
                ram,
                prealloc: t == 2,
            }
        }
        t => return Err(bad(&format!("unknown type {t}"))),
    };
    Ok(Extent {
        start: key.offset,
        kind,
        compression,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir_item(name: &[u8], ty: u8, data_len: u16) -> Vec<u8> {
        let mut d = vec![0u8; DIR_HEAD];
        d[0..8].copy_from_slice(&257u64.to_le_bytes());
        d[8] = INODE_ITEM_KEY;
        d[25..27].copy_from_slice(&data_len.to_le_bytes());
        d[27..29].copy_from_slice(&(name.len() as u16).to_le_bytes());
        d[29] = ty;
        d.extend_from_slice(name);
        d.extend(std::iter::repeat_n(0, usize::from(data_len)));
        d
    }

    #[test]
    fn packed_directory_entries() {
        let mut d = dir_item(b"vmlinuz", 1, 0);
        d.extend(dir_item(b"boot", 2, 3));
        d.extend(dir_item(b"link", 7, 0));
        let e = dir_entries(&d).unwrap();
        let got: Vec<_> = e.iter().map(|e| (e.name.as_slice(), e.kind)).collect();
        assert_eq!(
            got,
            [
                (&b"vmlinuz"[..], FileKind::File),
                (&b"boot"[..], FileKind::Dir),
                (&b"link"[..], FileKind::Symlink)
            ]
        );
        assert_eq!(e[0].location, Key::new(257, INODE_ITEM_KEY, 0));
    }

    #[test]
    fn malformed_items_are_errors() {
        let mut long = dir_item(b"x", 1, 0);
        long[27] = 200; // name runs past the item
        assert!(dir_entries(&long).is_err());
        assert!(dir_entries(&dir_item(b"", 1, 0)).is_err());
        assert!(dir_entries(&[0u8; 10]).is_err());
        assert!(dir_entries(&dir_item(b"e", 0x81, 0)).is_err()); // encrypted
        assert!(inode_item(&[0u8; 100]).is_err());
        assert!(root_item(&[0u8; 100]).is_err());
        let mut root = vec![0u8; 439];
        root[238] = 9;
        assert!(root_item(&root).is_err());
        let k = Key::new(257, EXTENT_DATA_KEY, 0);
        assert!(extent(k, &[0u8; 20]).is_err());
        let mut reg = vec![0u8; 30];
        reg[20] = 1; // regular, but too short
        assert!(extent(k, &reg).is_err());
        let mut bad = vec![0u8; 53];
        bad[20] = 7;
        assert!(extent(k, &bad).is_err());
    }
}
