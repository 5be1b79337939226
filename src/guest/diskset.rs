//! The disk set: every disk of the domain, opened read-only, with its partition layout,
//! and the filesystems on them opened lazily (each at most once) and found by the names a
//! guest uses: device name, UUID, LABEL, PARTUUID, PARTLABEL.

use super::devname::{same_device, same_disk, DevName};
use super::spec::{uuid_eq, DeviceSpec};
use crate::disk::{Disk, DiskError};
use crate::fs::{self, Filesystem, FsError};
use crate::partition::{self, Layout, PartType, Partition, PartitionError, TableKind};
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

/// A partition of the set: (disk index, Linux partition number; 0 = whole disk).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PartRef {
    pub disk: usize,
    pub number: u32,
}

type FsCache = HashMap<PartRef, Result<Rc<dyn Filesystem>, String>>;

/// The domain's disks.
pub struct DiskSet {
    disks: Vec<GuestDisk>,
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
        DiskSet {
            disks,
            cache: RefCell::new(HashMap::new()),
        }
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

    /// The guest's name for `r`: `xvda2`, or `xvda` for a whole disk.
    pub fn dev_name(&self, r: PartRef) -> String {
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
            DeviceSpec::Path(_) | DeviceSpec::Other(_) => Ok(None),
        }
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
            return cached.clone().map_err(|e| DiskSetError::Fs {
                dev: self.dev_name(r),
                source: FsError::Io {
                    fs: "cached",
                    detail: e,
                },
            });
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
        let slice =
            partition::slice_of(&disk.disk, p).map_err(|source| DiskSetError::Partition {
                disk: disk.name.to_string(),
                source,
            })?;
        let fs = fs::open(slice).map_err(fs_err)?;
        Ok(Rc::from(fs))
    }

    /// Every readable filesystem of the set, with its partition; unreadable ones (swap,
    /// unsupported, corrupt) are skipped, as a guest's blkid would not name them either.
    /// A partition starting where an earlier one of its disk starts holds the same
    /// filesystem (a hybrid ISO's entry from sector 0 is the whole disk again) and is not
    /// listed twice, so it can neither make the root ambiguous nor hide a menu.
    pub fn filesystems(&self) -> Vec<(PartRef, Rc<dyn Filesystem>)> {
        let mut seen = std::collections::HashSet::new();
        let refs: Vec<PartRef> = self
            .parts()
            .filter(|(r, p)| seen.insert((r.disk, p.start)))
            .map(|(r, _)| r)
            .collect();
        refs.into_iter()
            .filter_map(|r| self.filesystem(r).ok().map(|f| (r, f)))
            .collect()
    }
}
