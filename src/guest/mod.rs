//! The guest view: the disk set, the guest's `/etc/fstab`, its mount table, and path
//! resolution across mounts and symlinks as the guest kernel would do it.
