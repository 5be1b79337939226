//! The boot entry grammar `[DEV:]KERNEL[,INITRD]` (compat.md §3). Implemented by the
//! entry-resolution issue.
