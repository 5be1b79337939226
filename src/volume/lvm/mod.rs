//! LVM2, read-only: PV labels ([`label`]), metadata areas ([`mda`]), the text metadata
//! ([`text`], [`metadata`]), VG assembly across every partition and disk of the set
//! ([`vg`]) and logical volumes as disks ([`lv`]).
//!
//! Supported: linear LVs with any number of segments and striped LVs, on VGs whose PVs lie
//! on several partitions or disks (matched by PV UUID), using the newest metadata (highest
//! seqno) of all copies on all PVs, every header and text checksum checked. Refused by name,
//! in one line: thin pools and volumes, snapshots, cache, writecache, mirror, RAID, VDO,
//! integrity and layered LVs ("xvda3: LVM2 thin volume vg/root (unsupported)").
//!
//! Why not the `lamlvm` crate (0.1.3, evaluated for issue 12): it opens one PV at a time
//! (no VG across PVs or disks, no newest-seqno choice between PVs), allocates a metadata
//! buffer of the size an area header claims before any cap, has a reachable `panic!` in its
//! metadata deserializer ("deserializing value before key") and unchecked extent arithmetic
//! (`start_extent + extent_count`). A bounded reader of our own is smaller than the fixes.

pub mod label;
pub mod lv;
pub mod mda;
pub mod metadata;
pub mod text;
pub mod vg;

use crate::disk::{Disk, DiskError, Slice};

/// Why an LVM structure or volume cannot be read. One line each; cloneable so a volume's
/// error can be reported wherever the volume is named.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LvmError {
    #[error("{0}")]
    Disk(String),
    #[error("bad LVM2 PV label: {0}")]
    Label(String),
    #[error("LVM2 {0}")]
    MetadataArea(String),
    #[error("bad LVM2 metadata: {0}")]
    Metadata(String),
    /// One of the above, on the block source `pv`.
    #[error("{pv}: {detail}")]
    On { pv: String, detail: String },
    #[error("LVM2 VG {vg}: {detail}")]
    Vg { vg: String, detail: String },
    #[error("{pv}: LVM2 {kind} {vg}/{lv} (unsupported)")]
    Unsupported {
        pv: String,
        vg: String,
        lv: String,
        kind: String,
    },
    #[error("{vg}/{lv}: LVM2 PV {pv} is not in the disk set (give every disk of the VG, e.g. with --disks)")]
    MissingPv { vg: String, lv: String, pv: String },
}

impl From<DiskError> for LvmError {
    fn from(e: DiskError) -> Self {
        LvmError::Disk(e.to_string())
    }
}

impl LvmError {
    /// This error, said to be on block source `pv`.
    fn on(self, pv: &str) -> LvmError {
        LvmError::On {
            pv: pv.to_owned(),
            detail: self.to_string(),
        }
    }
}

/// LVM's CRC: CRC-32 (reflected 0xEDB88320) seeded with 0xf597a6cf, no final inversion.
pub fn crc(bytes: &[u8]) -> u32 {
    crate::crc::crc32(0xf597_a6cf, bytes)
}

/// A block device that may be a PV: a partition or whole disk of the set, with its guest
/// name for messages (`xvda3`).
#[derive(Clone, Debug)]
pub struct PvSource {
    pub name: String,
    pub slice: Slice,
}

/// A visible logical volume, readable or not.
#[derive(Debug)]
pub struct Volume {
    pub vg: String,
    pub lv: String,
    /// UUIDs with dashes, as LVM prints them.
    pub vg_uuid: String,
    pub lv_uuid: String,
    /// Size in bytes.
    pub size: u64,
    /// Names of the block sources its data lies on.
    pub on: Vec<String>,
    /// The LV as a disk, or why it cannot be read.
    pub disk: Result<Disk, LvmError>,
}

impl Volume {
    /// `VG/LV`, the name messages and `DEV:` use.
    pub fn name(&self) -> String {
        format!("{}/{}", self.vg, self.lv)
    }

    /// The device-mapper name: `VG-LV` with dashes inside each name doubled.
    pub fn dm_name(&self) -> String {
        format!(
            "{}-{}",
            self.vg.replace('-', "--"),
            self.lv.replace('-', "--")
        )
    }

    /// The device-mapper UUID: `LVM-` and both UUIDs without dashes.
    pub fn dm_uuid(&self) -> String {
        format!(
            "LVM-{}{}",
            self.vg_uuid.replace('-', ""),
            self.lv_uuid.replace('-', "")
        )
    }

    /// Whether a guest names this LV by `name`: `VG/LV`, `/dev/VG/LV`, `/dev/mapper/VG-LV`,
    /// `/dev/disk/by-id/dm-name-VG-LV` or `/dev/disk/by-id/dm-uuid-LVM-…`.
    pub fn is_named(&self, name: &str) -> bool {
        LvName::parse(name).is_some_and(|n| self.matches(&n))
    }

    /// Whether `name` (parsed once for many volumes) names this LV.
    pub fn matches(&self, name: &LvName) -> bool {
        match name {
            LvName::VgLv(vg, lv) => *vg == self.vg && *lv == self.lv,
            LvName::DmUuid(u) => {
                let (vg, lv) = (self.vg_uuid.replace('-', ""), self.lv_uuid.replace('-', ""));
                u.len() == vg.len() + lv.len() && u.starts_with(&vg) && u.ends_with(&lv)
            }
        }
    }
}

/// A name a guest gives an LV, decoded: VG and LV names (from `VG/LV` or a device-mapper
/// name), or the device-mapper UUID's `<VG UUID><LV UUID>` without dashes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LvName {
    VgLv(String, String),
    DmUuid(String),
}

impl LvName {
    /// Decodes `VG/LV`, `/dev/VG/LV`, `/dev/mapper/VG-LV`, `/dev/disk/by-id/dm-name-VG-LV`,
    /// `/dev/disk/by-id/dm-uuid-LVM-…`; `None` for anything else.
    pub fn parse(name: &str) -> Option<LvName> {
        let plain = name.strip_prefix("/dev/").unwrap_or(name);
        if let Some(dm) = plain.strip_prefix("mapper/") {
            return dm_split(dm);
        }
        if let Some(id) = plain.strip_prefix("disk/by-id/") {
            if let Some(dm) = id.strip_prefix("dm-name-") {
                return dm_split(dm);
            }
            return id
                .strip_prefix("dm-uuid-LVM-")
                .map(|u| LvName::DmUuid(u.to_owned()));
        }
        let (vg, lv) = plain.split_once('/')?;
        (!vg.is_empty() && !lv.is_empty() && !lv.contains('/'))
            .then(|| LvName::VgLv(vg.to_owned(), lv.to_owned()))
    }
}

/// `VG-LV` with dashes inside each name doubled, back into the two names.
fn dm_split(dm: &str) -> Option<LvName> {
    let b = dm.as_bytes();
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        if c == b'-' {
            if b.get(i + 1) == Some(&b'-') {
                i += 2;
                continue;
            }
            let (vg, lv) = (dm.get(..i)?, dm.get(i + 1..)?);
            if vg.is_empty() || lv.is_empty() {
                return None;
            }
            return Some(LvName::VgLv(vg.replace("--", "-"), lv.replace("--", "-")));
        }
        i += 1;
    }
    None
}

/// What a scan of the disk set found.
#[derive(Debug, Default)]
pub struct Scan {
    /// Visible LVs of every VG that could be assembled.
    pub volumes: Vec<Volume>,
    /// Indices (into the sources) of the block sources that carry a PV label.
    pub pvs: Vec<usize>,
    /// PVs, metadata or VGs that could not be read.
    pub errors: Vec<LvmError>,
}

pub use vg::scan;

#[cfg(test)]
pub(crate) mod testdisk {
    use crate::disk::Disk;

    /// A disk over `bytes` in a temporary file (removed with the guard).
    pub fn disk_from_bytes(bytes: &[u8]) -> (tempfile::NamedTempFile, Disk) {
        use std::io::Write;
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(bytes).unwrap();
        let d = Disk::open(f.path()).unwrap();
        (f, d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_matches_lvm() {
        // LVM's calc_crc of an empty buffer is its seed.
        assert_eq!(crc(b""), 0xf597_a6cf);
    }

    #[test]
    fn names() {
        let v = Volume {
            vg: "ubuntu-vg".into(),
            lv: "ubuntu-lv".into(),
            vg_uuid: "aaaa-bb".into(),
            lv_uuid: "cc-dd".into(),
            size: 0,
            on: vec![],
            disk: Err(LvmError::Metadata("x".into())),
        };
        assert_eq!(v.dm_name(), "ubuntu--vg-ubuntu--lv");
        assert_eq!(v.dm_uuid(), "LVM-aaaabbccdd");
        for n in [
            "ubuntu-vg/ubuntu-lv",
            "/dev/ubuntu-vg/ubuntu-lv",
            "/dev/mapper/ubuntu--vg-ubuntu--lv",
            "/dev/disk/by-id/dm-name-ubuntu--vg-ubuntu--lv",
            "/dev/disk/by-id/dm-uuid-LVM-aaaabbccdd",
        ] {
            assert!(v.is_named(n), "{n}");
        }
        for n in [
            "/dev/mapper/ubuntu-vg-ubuntu-lv",
            "ubuntu-vg",
            "/dev/ubuntu-vg/x",
            "x/ubuntu-vg/ubuntu-lv",
        ] {
            assert!(!v.is_named(n), "{n}");
        }
    }
}
