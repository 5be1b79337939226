//! The guest view: the disk set, the guest's `/etc/fstab`, its mount table, and path
//! resolution across mounts and symlinks as the guest kernel would do it.

pub mod devname;
pub mod diskset;
pub mod diskspec;
pub mod fstab;
pub mod mounts;
pub mod resolve;
pub mod spec;
#[cfg(test)]
pub(crate) mod testfs;
pub mod view;
