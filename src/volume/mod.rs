//! The volume layer, between partitions and filesystems: volume managers whose volumes are
//! block devices made of pieces of partitions or disks. Each volume becomes a
//! [`crate::disk::Disk`] stacked on the partitions it lies on, so filesystem detection and
//! reading see it exactly like a partition, and extraction stays zero-copy (a volume maps
//! its bytes onto the underlying disks' host files).
//!
//! Today: LVM2 ([`lvm`]) — PV labels, metadata areas, the text metadata, and linear and
//! striped logical volumes; every other LV type is named and refused.

pub mod lvm;
