//! `--inspect`: the disk's layout and filesystems, for people and as stable JSON.

use crate::disk::Disk;
use crate::fs::{self, FsInfo};
use crate::partition::{self, Layout, PartitionError};
use crate::volume::lvm::{self, PvSource};
use serde::Serialize;

/// One partition in the report.
#[derive(Debug, Serialize)]
pub struct PartitionReport {
    pub number: u32,
    pub start: u64,
    pub size: u64,
    #[serde(rename = "type")]
    pub part_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partuuid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partlabel: Option<String>,
    /// Filesystem identity, when one is recognised and readable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filesystem: Option<FsInfo>,
    /// Why no filesystem is reported (unsupported type, corrupt, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filesystem_error: Option<String>,
}

/// One logical volume in the report (LVM2).
#[derive(Debug, Serialize)]
pub struct VolumeReport {
    pub vg: String,
    pub lv: String,
    /// The LV's UUID, as `lvs -o lv_uuid` prints it.
    pub uuid: String,
    /// Bytes.
    pub size: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filesystem: Option<FsInfo>,
    /// Why no filesystem is reported (unsupported LV type, missing PV, unsupported or
    /// corrupt filesystem, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filesystem_error: Option<String>,
}

/// The whole `--inspect` document.
#[derive(Debug, Serialize)]
pub struct Report {
    pub table: partition::TableKind,
    pub sector_size: u32,
    pub partitions: Vec<PartitionReport>,
    /// Logical volumes whose PVs are on this disk.
    pub volumes: Vec<VolumeReport>,
    /// PVs or volume groups that could not be read.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub volume_errors: Vec<String>,
}

/// Reads the layout of `disk` and probes each partition's filesystem.
pub fn inspect(disk: &Disk) -> Result<Report, PartitionError> {
    let layout = partition::discover(disk)?;
    Ok(report(disk, &layout))
}

fn report(disk: &Disk, layout: &Layout) -> Report {
    let partitions = layout
        .partitions
        .iter()
        .map(|p| {
            let fs = partition::slice_of(disk, p)
                .map_err(|e| e.to_string())
                .and_then(|s| fs::open(s).map_err(|e| e.to_string()));
            let (filesystem, filesystem_error) = match fs {
                Ok(f) => (Some(f.info().clone()), None),
                Err(e) => (None, Some(e)),
            };
            PartitionReport {
                number: p.number,
                start: p.start,
                size: p.size,
                part_type: p.part_type.to_string(),
                partuuid: p.partuuid.clone(),
                partlabel: p.partlabel.clone(),
                filesystem,
                filesystem_error,
            }
        })
        .collect();
    let (volumes, volume_errors) = volumes(disk, layout);
    Report {
        table: layout.table,
        sector_size: layout.sector_size,
        partitions,
        volumes,
        volume_errors,
    }
}

/// The LVs of the VGs whose PVs are partitions of this disk (a VG spanning other disks is
/// reported with its missing PVs).
fn volumes(disk: &Disk, layout: &Layout) -> (Vec<VolumeReport>, Vec<String>) {
    let sources: Vec<PvSource> = layout
        .partitions
        .iter()
        .filter_map(|p| {
            let slice = partition::slice_of(disk, p).ok()?;
            let name = match p.number {
                0 => "disk".to_owned(),
                n => format!("partition {n}"),
            };
            Some(PvSource { name, slice })
        })
        .collect();
    let scan = lvm::scan(&sources);
    let volumes = scan
        .volumes
        .into_iter()
        .map(|v| {
            let fs = v
                .disk
                .as_ref()
                .map_err(|e| e.to_string())
                .and_then(|d| fs::open(d.whole()).map_err(|e| e.to_string()));
            let (filesystem, filesystem_error) = match fs {
                Ok(f) => (Some(f.info().clone()), None),
                Err(e) => (None, Some(e)),
            };
            VolumeReport {
                vg: v.vg,
                lv: v.lv,
                uuid: v.lv_uuid,
                size: v.size,
                filesystem,
                filesystem_error,
            }
        })
        .collect();
    (volumes, scan.errors.iter().map(|e| e.to_string()).collect())
}

impl Report {
    /// The first partition that lies outside the disk: the report still lists it (as
    /// sfdisk does), but the disk is damaged and `--inspect` says so with a failing exit.
    pub fn outside_disk(&self, disk_size: u64) -> Option<PartitionError> {
        self.partitions
            .iter()
            .find(|p| {
                p.start
                    .checked_add(p.size)
                    .is_none_or(|end| end > disk_size)
            })
            .map(|p| PartitionError::OutsideDisk {
                number: p.number,
                start: p.start,
                size: p.size,
                disk_size,
            })
    }
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "table: {}, sector size {}",
            serde_json::to_value(self.table)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
            self.sector_size
        )?;
        writeln!(
            f,
            "{:>3} {:>14} {:>14} {:<36} {:<6} {:<36} LABEL",
            "NR", "START", "SIZE", "TYPE", "FS", "UUID"
        )?;
        for p in &self.partitions {
            let (fs_type, uuid, label) = match &p.filesystem {
                Some(i) => (i.fs_type.as_str(), i.uuid.as_str(), i.label.as_str()),
                None => ("-", "-", p.filesystem_error.as_deref().unwrap_or("")),
            };
            // Guest bytes: a label or message with a newline must not forge a line.
            let esc = crate::term::escape;
            writeln!(
                f,
                "{:>3} {:>14} {:>14} {:<36} {:<6} {:<36} {}",
                p.number,
                p.start,
                p.size,
                esc(&p.part_type),
                esc(fs_type),
                esc(uuid),
                esc(label)
            )?;
        }
        if !self.volumes.is_empty() {
            writeln!(
                f,
                "{:<32} {:>14} {:<6} {:<36} LABEL",
                "VOLUME", "SIZE", "FS", "UUID"
            )?;
        }
        for v in &self.volumes {
            let (fs_type, uuid, label) = match &v.filesystem {
                Some(i) => (i.fs_type.as_str(), i.uuid.as_str(), i.label.as_str()),
                None => ("-", "-", v.filesystem_error.as_deref().unwrap_or("")),
            };
            let name = format!("{}/{}", v.vg, v.lv);
            writeln!(
                f,
                "{name:<32} {:>14} {fs_type:<6} {uuid:<36} {label}",
                v.size
            )?;
        }
        for e in &self.volume_errors {
            writeln!(f, "volumes: {e}")?;
        }
        Ok(())
    }
}
