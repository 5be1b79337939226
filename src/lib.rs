//! domuloader: a pure-userspace bootloader for Xen PV guests.
//!
//! The flow is one module per stage:
//! [`disk`] (image or block device, read-only) → [`partition`] (MBR, GPT) → [`volume`] (LVM2) →
//! [`fs`] (ext2/3/4, FAT) → [`guest`] (fstab, mounts, symlinks as the guest sees them) →
//! [`entry`] (the boot entry `[DEV:]KERNEL[,INITRD]`) → [`extract`] (copy into the output
//! directory) → [`output`] (sxp, simple, simple0, JSON results).

pub mod boot;
pub mod config;
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
