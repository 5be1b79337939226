//! Partition discovery: protective MBR → GPT, else MBR with its extended/logical chain,
//! else the whole disk as one filesystem. Owns Linux partition numbering and the
//! identifiers the guest's fstab may name (PARTUUID, PARTLABEL).

use crate::disk::{Disk, DiskError, Slice};

/// Which kind of table the disk carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TableKind {
    Mbr,
    Gpt,
    /// No partition table: the whole disk is one filesystem (or nothing).
    None,
}

/// Partition type as the table records it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PartType {
    /// MBR system id byte, e.g. 0x83.
    Mbr(u8),
    /// GPT partition type GUID, lower-case 8-4-4-4-12.
    Gpt(String),
    /// The whole unpartitioned disk.
    Whole,
}

impl std::fmt::Display for PartType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PartType::Mbr(b) => write!(f, "{b:x}"),
            PartType::Gpt(g) => f.write_str(g),
            PartType::Whole => f.write_str("disk"),
        }
    }
}

/// One partition, in bytes, with Linux's number (MBR primaries 1–4, logicals from 5 in
/// chain order; GPT entries by index from 1). The whole-disk pseudo-partition has number 0.
#[derive(Clone, Debug)]
pub struct Partition {
    pub number: u32,
    pub start: u64,
    pub size: u64,
    pub part_type: PartType,
    /// Linux's PARTUUID: GPT entry GUID, or `<mbr disk signature>-<NN>` for MBR.
    pub partuuid: Option<String>,
    /// GPT partition name.
    pub partlabel: Option<String>,
}

/// The disk's partition layout.
#[derive(Clone, Debug)]
pub struct Layout {
    pub table: TableKind,
    pub sector_size: u32,
    pub partitions: Vec<Partition>,
}

impl Layout {
    /// The partition with Linux number `n` (0 = whole unpartitioned disk).
    pub fn get(&self, n: u32) -> Option<&Partition> {
        self.partitions.iter().find(|p| p.number == n)
    }
}

/// Why a partition table could not be read. Messages are one line and name the cause.
#[derive(Debug, thiserror::Error)]
pub enum PartitionError {
    #[error(transparent)]
    Disk(#[from] DiskError),
    #[error("bad partition table: {0}")]
    Invalid(String),
    #[error("partition {number} lies outside the disk (start {start}, size {size}, disk {disk_size} bytes)")]
    OutsideDisk {
        number: u32,
        start: u64,
        size: u64,
        disk_size: u64,
    },
}

/// Reads the layout of `disk`. Implemented by the partition issue.
pub fn discover(disk: &Disk) -> Result<Layout, PartitionError> {
    Ok(Layout {
        table: TableKind::None,
        sector_size: 512,
        partitions: vec![Partition {
            number: 0,
            start: 0,
            size: disk.size(),
            part_type: PartType::Whole,
            partuuid: None,
            partlabel: None,
        }],
    })
}

/// The byte range of partition `p` on `disk`, bounds-checked.
pub fn slice_of(disk: &Disk, p: &Partition) -> Result<Slice, PartitionError> {
    disk.whole()
        .sub(p.start, p.size)
        .map_err(|_| PartitionError::OutsideDisk {
            number: p.number,
            start: p.start,
            size: p.size,
            disk_size: disk.size(),
        })
}
