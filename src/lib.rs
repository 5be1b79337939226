//! domuloader: a pure-userspace bootloader for Xen PV guests.
//!
//! The flow is one module per stage:
//! [`disk`] (image file or block device, read-only; raw or qcow2) → [`partition`] (MBR, GPT,
//! hybrid ISO) → [`volume`] (LVM2) → [`fs`] (ext2/3/4, FAT, btrfs, XFS, ISO 9660) →
//! [`guest`] (fstab, mounts incl. btrfs subvolumes, symlinks as the guest sees them) →
//! [`entry`] / [`boot`] (the boot entry `[DEV:]KERNEL[,INITRD]`, or the guest's menu) →
//! [`extract`] (copy into the output directory) → [`output`] (sxp, simple, simple0, JSON).
//! [`run::boot`] is one boot as a library call; [`sandbox`] confines the process that parses
//! guest bytes; [`decompress`] is the zstd decoder the btrfs and qcow2 readers share.

pub mod boot;
pub mod config;
pub mod crc;
pub mod decompress;
pub mod disk;
pub mod entry;
pub mod extract;
pub mod fs;
pub mod guest;
pub mod inspect;
pub mod limits;
pub mod output;
pub mod partition;
pub mod privdrop;
pub mod run;
pub mod sandbox;
pub mod term;
#[cfg(test)]
mod testutil;
pub mod volume;
