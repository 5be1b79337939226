//! `--inspect`: the disk's layout and filesystems, for people and as stable JSON.

use crate::disk::Disk;
use crate::fs::{self, FsInfo};
use crate::partition::{self, Layout, PartitionError};
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

/// The whole `--inspect` document.
#[derive(Debug, Serialize)]
pub struct Report {
    pub table: partition::TableKind,
    pub sector_size: u32,
    pub partitions: Vec<PartitionReport>,
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
    Report {
        table: layout.table,
        sector_size: layout.sector_size,
        partitions,
    }
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
        Ok(())
    }
}
