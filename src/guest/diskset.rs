//! The disk set: every disk of the domain, opened read-only, with its partition layout,
//! the logical volumes (LVM2) assembled from PVs on any of its partitions and disks, and
//! the filesystems on them opened lazily (each at most once) and found by the names a
//! guest uses: device name, UUID, LABEL, PARTUUID, PARTLABEL, and an LV's `/dev/VG/LV`,
//! `/dev/mapper/VG-LV`, `/dev/disk/by-id/dm-name-…`/`dm-uuid-LVM-…`.

use super::devname::{same_device, same_disk, DevName};
use super::spec::{uuid_eq, DeviceSpec};
use crate::disk::Slice;
use crate::disk::{Disk, DiskError};
use crate::fs::{self, Filesystem, FsError};
use crate::limits::MAX_UNREADABLE_NOTES;
use crate::partition::{self, Layout, PartType, Partition, PartitionError, TableKind};
use crate::volume::lvm::{self, LvmError, PvSource, Volume};
use std::cell::RefCell;
use std::collections::HashMap;
use std::path::Path;
use std::rc::Rc;

/// Why the disk set could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DiskSetError {
    #[error(transparent)]
    Disk(#[from] DiskError),
    #[error("{disk}: {source}")]
    Partition {
        disk: String,
        #[source]
        source: PartitionError,
    },
    #[error("{dev}: {source}")]
    Fs {
        dev: String,
        #[source]
        source: FsError,
    },
    #[error("{disk}: no partition {number}")]
    NoPartition { disk: String, number: u32 },
    #[error("{dev}: no such disk in the disk set ({have})")]
    NoDisk { dev: String, have: String },
    #[error("{0}")]
    Ambiguous(String),
    #[error(transparent)]
    Volume(#[from] LvmError),
    #[error("{name}: no such logical volume in the disk set ({have})")]
    NoVolume { name: String, have: String },
    /// A filesystem that failed to open before, with the message it failed with.
    #[error("{0}")]
    Cached(String),
    #[error("--offset {offset} is beyond the end of {disk} ({size} bytes)")]
    OffsetPastEnd {
        disk: String,
        offset: u64,
        size: u64,
    },
}

/// One disk as the guest names it (`xvda`; or `xvda1` for a bare filesystem exported as a
/// partition, as old xm configs did with an LV).
pub struct GuestDisk {
    pub name: DevName,
    pub disk: Disk,
    pub layout: Layout,
}

/// A block source of the set: (disk index, Linux partition number; 0 = whole disk), or a
/// logical volume ([`PartRef::volume`]: a disk index no disk has, and the volume's index).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PartRef {
    pub disk: usize,
    pub number: u32,
}

impl PartRef {
    /// The `disk` of every volume reference: never a real disk's index (a grub device hint
    /// gives at most `u32::MAX`), so a volume is never mistaken for a partition.
    const VOLUMES: usize = usize::MAX;

    /// The logical volume with index `i` in [`DiskSet::volumes`].
    pub fn volume(i: usize) -> Option<PartRef> {
        Some(PartRef {
            disk: PartRef::VOLUMES,
            number: u32::try_from(i).ok()?,
        })
    }

    /// The volume index, when this names a logical volume.
    pub fn volume_index(self) -> Option<usize> {
        (self.disk == PartRef::VOLUMES)
            .then(|| usize::try_from(self.number).ok())
            .flatten()
    }
}

type FsCache = HashMap<PartRef, Result<Rc<dyn Filesystem>, String>>;

/// The domain's disks.
pub struct DiskSet {
    disks: Vec<GuestDisk>,
    /// Logical volumes assembled from the PVs of the set.
    volumes: Vec<Volume>,
    /// PVs, metadata and VGs that could not be read.
    volume_errors: Vec<LvmError>,
    /// The partitions that are LVM PVs (their contents are the volumes).
    pvs: Vec<PartRef>,
    cache: RefCell<FsCache>,
}

impl DiskSet {
    /// Opens each `(path, guest name)` and reads its partition table.
    pub fn open(disks: &[(&Path, DevName)]) -> Result<DiskSet, DiskSetError> {
        let opened = disks
            .iter()
            .map(|(p, n)| Ok((Disk::open(p)?, n.clone())))
            .collect::<Result<Vec<_>, DiskError>>()?;
        DiskSet::from_opened(opened)
    }

    /// Reads the partition tables of disks opened earlier (so that `--runas` can open
    /// them with privileges and parse them without).
    pub fn from_opened(disks: Vec<(Disk, DevName)>) -> Result<DiskSet, DiskSetError> {
        let mut out = Vec::with_capacity(disks.len());
        for (disk, name) in disks {
            let layout = partition::discover(&disk).map_err(|source| DiskSetError::Partition {
                disk: disk.path().display().to_string(),
                source,
            })?;
            out.push(GuestDisk { name, disk, layout });
        }
        Ok(DiskSet::from_disks(out))
    }

    /// A single disk whose filesystem starts at byte `offset` (pygrub's `--offset`): no
    /// partition discovery.
    pub fn at_offset(disk: Disk, name: DevName, offset: u64) -> Result<DiskSet, DiskSetError> {
        let size = disk
            .size()
            .checked_sub(offset)
            .filter(|s| *s > 0)
            .ok_or_else(|| DiskSetError::OffsetPastEnd {
                disk: disk.path().display().to_string(),
                offset,
                size: disk.size(),
            })?;
        let layout = Layout {
            table: TableKind::None,
            sector_size: 512,
            partitions: vec![Partition {
                number: 0,
                start: offset,
                size,
                part_type: PartType::Whole,
                partuuid: None,
                partlabel: None,
            }],
        };
        Ok(DiskSet::from_disks(vec![GuestDisk { name, disk, layout }]))
    }

    fn from_disks(disks: Vec<GuestDisk>) -> DiskSet {
        let mut set = DiskSet {
            disks,
            volumes: Vec::new(),
            volume_errors: Vec::new(),
            pvs: Vec::new(),
            cache: RefCell::new(HashMap::new()),
        };
        set.scan_volumes();
        set
    }

    /// Finds the LVM PVs among the partitions (and unpartitioned disks) of every disk and
    /// assembles their volume groups.
    fn scan_volumes(&mut self) {
        let refs: Vec<PartRef> = self.parts().map(|(r, _)| r).collect();
        let mut sources = Vec::new();
        let mut source_refs = Vec::new();
        for r in refs {
            if let Ok(slice) = self.slice(r) {
                sources.push(PvSource {
                    name: self.dev_name(r),
                    slice,
                });
                source_refs.push(r);
            }
        }
        let scan = lvm::scan(&sources);
        self.pvs = scan
            .pvs
            .iter()
            .filter_map(|&i| source_refs.get(i).copied())
            .collect();
        self.volumes = scan.volumes;
        self.volume_errors = scan.errors;
    }

    /// The logical volumes of the set, readable or not.
    pub fn volumes(&self) -> &[Volume] {
        &self.volumes
    }

    /// The disks, in the order given.
    pub fn disks(&self) -> &[GuestDisk] {
        &self.disks
    }

    /// Every partition of every disk (the whole disk when it has no table).
    pub fn parts(&self) -> impl Iterator<Item = (PartRef, &Partition)> {
        self.disks.iter().enumerate().flat_map(|(i, d)| {
            d.layout.partitions.iter().map(move |p| {
                (
                    PartRef {
                        disk: i,
                        number: p.number,
                    },
                    p,
                )
            })
        })
    }

    /// The partition record behind `r`.
    pub fn partition(&self, r: PartRef) -> Option<&Partition> {
        self.disks.get(r.disk)?.layout.get(r.number)
    }

    /// The guest's name for `r`: `xvda2`, `xvda` for a whole disk, `VG/LV` for a volume.
    pub fn dev_name(&self, r: PartRef) -> String {
        if let Some(i) = r.volume_index() {
            return self
                .volumes
                .get(i)
                .map_or_else(|| "?".to_owned(), Volume::name);
        }
        match self.disks.get(r.disk) {
            None => "?".to_owned(),
            Some(d) if r.number == 0 => d.name.to_string(),
            Some(d) => format!("{}{}", d.name.disk(), r.number),
        }
    }

    fn disk_names(&self) -> String {
        let names: Vec<String> = self.disks.iter().map(|d| d.name.to_string()).collect();
        names.join(", ")
    }

    fn no_disk(&self, want: &DevName) -> DiskSetError {
        DiskSetError::NoDisk {
            dev: want.to_string(),
            have: self.disk_names(),
        }
    }

    /// The partition the guest calls `want` (`xvda2`, `/dev/sda2`, `xvdb`), under any
    /// naming scheme (see [`super::devname`]). An exact disk name beats an alias.
    pub fn find_dev(&self, want: &DevName) -> Result<PartRef, DiskSetError> {
        let i = self.pick_disk(want)?;
        let disk = self.disks.get(i).ok_or_else(|| self.no_disk(want))?;
        // A disk exported as a partition (`xvda1`) is that partition, whole.
        let number = if disk.name.is_whole_disk() {
            want.part().unwrap_or(0)
        } else if same_device(&disk.name, want) {
            0
        } else {
            return Err(self.no_disk(want));
        };
        let r = PartRef { disk: i, number };
        match self.partition(r) {
            Some(_) => Ok(r),
            None => Err(DiskSetError::NoPartition {
                disk: disk.name.to_string(),
                number,
            }),
        }
    }

    fn pick_disk(&self, want: &DevName) -> Result<usize, DiskSetError> {
        let exact =
            |d: &GuestDisk| d.name.scheme() == want.scheme() && d.name.index() == want.index();
        if let Some(i) = self.disks.iter().position(exact) {
            return Ok(i);
        }
        let hits: Vec<usize> = (0..self.disks.len())
            .filter(|&i| self.disks.get(i).is_some_and(|d| same_disk(&d.name, want)))
            .collect();
        match hits.as_slice() {
            [one] => Ok(*one),
            [] => Err(self.no_disk(want)),
            _ => Err(DiskSetError::Ambiguous(format!(
                "{want}: matches several disks ({})",
                self.disk_names()
            ))),
        }
    }

    /// The partition named by an fstab or `--root` spec; `Ok(None)` when nothing in the
    /// set matches (a network filesystem, a disk not passed to us).
    pub fn find(&self, spec: &DeviceSpec) -> Result<Option<PartRef>, DiskSetError> {
        match spec {
            DeviceSpec::Dev(d) => match self.find_dev(d) {
                Ok(r) => Ok(Some(r)),
                Err(DiskSetError::NoDisk { .. } | DiskSetError::NoPartition { .. }) => Ok(None),
                Err(e) => Err(e),
            },
            DeviceSpec::Uuid(u) => Ok(self.find_fs(|i| uuid_eq(&i.uuid, u))),
            DeviceSpec::Label(l) => Ok(self.find_fs(|i| i.label == *l)),
            DeviceSpec::PartUuid(u) => {
                Ok(self.find_part(|p| p.partuuid.as_deref().is_some_and(|x| uuid_eq(x, u))))
            }
            DeviceSpec::PartLabel(l) => {
                Ok(self.find_part(|p| p.partlabel.as_deref() == Some(l.as_str())))
            }
            DeviceSpec::Path(p) => self.find_volume(p),
            DeviceSpec::Other(_) => Ok(None),
        }
    }

    /// The logical volume a guest names `name` (`/dev/VG/LV`, `/dev/mapper/VG-LV`,
    /// `/dev/disk/by-id/dm-name-…` or `dm-uuid-LVM-…`, or `VG/LV`); `Ok(None)` when none is.
    pub fn find_volume(&self, name: &str) -> Result<Option<PartRef>, DiskSetError> {
        let Some(want) = lvm::LvName::parse(name) else {
            return Ok(None);
        };
        let hits: Vec<usize> = (0..self.volumes.len())
            .filter(|&i| self.volumes.get(i).is_some_and(|v| v.matches(&want)))
            .collect();
        match hits.as_slice() {
            [] => Ok(None),
            [one] => Ok(PartRef::volume(*one)),
            _ => Err(DiskSetError::Ambiguous(format!(
                "{name}: names several logical volumes (volume groups with the same name)"
            ))),
        }
    }

    /// The logical volume `DEV:` names in an entry (`VG/LV`, `/dev/mapper/VG-LV`, …).
    pub fn find_volume_dev(&self, name: &str) -> Result<PartRef, DiskSetError> {
        self.find_volume(name)?.ok_or_else(|| {
            let names: Vec<String> = self.volumes.iter().map(Volume::name).collect();
            let mut have = match names.is_empty() {
                true => "no logical volumes found".to_owned(),
                false => format!("volumes: {}", names.join(", ")),
            };
            if let Some(e) = self.volume_errors.first() {
                have.push_str(&format!("; {e}"));
            }
            DiskSetError::NoVolume {
                name: name.to_owned(),
                have,
            }
        })
    }

    fn find_fs(&self, want: impl Fn(&crate::fs::FsInfo) -> bool) -> Option<PartRef> {
        self.filesystems()
            .into_iter()
            .find(|(_, f)| want(f.info()))
            .map(|(r, _)| r)
    }

    fn find_part(&self, want: impl Fn(&Partition) -> bool) -> Option<PartRef> {
        self.parts().find(|(_, p)| want(p)).map(|(r, _)| r)
    }

    /// The filesystem on `r`, opened once and shared.
    pub fn filesystem(&self, r: PartRef) -> Result<Rc<dyn Filesystem>, DiskSetError> {
        if let Some(cached) = self.cache.borrow().get(&r) {
            return cached.clone().map_err(DiskSetError::Cached);
        }
        let opened = self.open_fs(r);
        let entry = match &opened {
            Ok(fs) => Ok(fs.clone()),
            Err(e) => Err(e.to_string()),
        };
        self.cache.borrow_mut().insert(r, entry);
        opened
    }

    fn open_fs(&self, r: PartRef) -> Result<Rc<dyn Filesystem>, DiskSetError> {
        let fs_err = |source| DiskSetError::Fs {
            dev: self.dev_name(r),
            source,
        };
        let slice = self.slice(r)?;
        let fs = fs::open(slice).map_err(fs_err)?;
        Ok(Rc::from(fs))
    }

    /// The bytes of `r`: a partition's range, or a volume's whole disk.
    fn slice(&self, r: PartRef) -> Result<Slice, DiskSetError> {
        if let Some(i) = r.volume_index() {
            let v = self.volumes.get(i).ok_or_else(|| DiskSetError::NoVolume {
                name: self.dev_name(r),
                have: String::new(),
            })?;
            return match &v.disk {
                Ok(d) => Ok(d.whole()),
                Err(e) => Err(e.clone().into()),
            };
        }
        let disk = self
            .disks
            .get(r.disk)
            .ok_or_else(|| DiskSetError::NoPartition {
                disk: self.dev_name(r),
                number: r.number,
            })?;
        let p = self.partition(r).ok_or_else(|| DiskSetError::NoPartition {
            disk: disk.name.to_string(),
            number: r.number,
        })?;
        partition::slice_of(&disk.disk, p).map_err(|source| DiskSetError::Partition {
            disk: disk.name.to_string(),
            source,
        })
    }

    /// Every readable filesystem of the set, with its partition; unreadable ones (swap,
    /// unsupported, corrupt) are skipped, as a guest's blkid would not name them either.
    /// A partition starting where an earlier one of its disk starts holds the same
    /// filesystem (a hybrid ISO's entry from sector 0 is the whole disk again) and is not
    /// listed twice, so it can neither make the root ambiguous nor hide a menu.
    pub fn filesystems(&self) -> Vec<(PartRef, Rc<dyn Filesystem>)> {
        let mut seen = std::collections::HashSet::new();
        self.blocks()
            .into_iter()
            .filter(|r| match self.partition(*r) {
                Some(p) => seen.insert((r.disk, p.start)),
                None => true, // a logical volume
            })
            .filter_map(|r| self.filesystem(r).ok().map(|f| (r, f)))
            .collect()
    }
}

impl DiskSet {
    /// Every block source that may hold a filesystem: partitions (and whole disks) in disk
    /// and partition order, then logical volumes in VG metadata order.
    pub fn blocks(&self) -> Vec<PartRef> {
        let parts = self.parts().map(|(r, _)| r);
        let volumes = (0..self.volumes.len()).filter_map(PartRef::volume);
        parts.chain(volumes).collect()
    }

    /// What the set holds but cannot read, one `DEV: reason` each, for messages that would
    /// otherwise only say "not found": PVs or VGs that failed, LVs of an unsupported type or
    /// missing a PV, and partitions or LVs whose filesystem is recognised but not readable
    /// (swap and PVs themselves are not listed). At most [`MAX_UNREADABLE_NOTES`].
    pub fn unreadable(&self) -> Vec<String> {
        let mut out: Vec<String> = self.volume_errors.iter().map(|e| e.to_string()).collect();
        for r in self.blocks() {
            if out.len() >= MAX_UNREADABLE_NOTES {
                break; // enough to name the cause; a crafted set may have thousands
            }
            if self.pvs.contains(&r) {
                continue;
            }
            let recognised = match self.slice(r) {
                Err(e) => {
                    out.push(e.to_string());
                    continue;
                }
                Ok(slice) => fs::detect::detect(&slice),
            };
            let named = match recognised {
                Ok(fs::detect::Detected::Nothing) => false,
                Ok(fs::detect::Detected::Other(n)) => !matches!(n, "swap" | "LVM2_member"),
                _ => true,
            };
            if let (true, Err(e)) = (named, self.filesystem(r)) {
                out.push(e.to_string());
            }
        }
        out.dedup();
        out.truncate(MAX_UNREADABLE_NOTES);
        out
    }

    /// [`DiskSet::unreadable`] as a clause for an error message: empty, or
    /// ` (cannot read: A; B)`.
    pub fn unreadable_note(&self) -> String {
        let u = self.unreadable();
        match u.is_empty() {
            true => String::new(),
            false => format!(" (cannot read: {})", u.join("; ")),
        }
    }
}
