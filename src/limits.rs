//! Every cap on guest-driven work, in one place, each with its reason. The guest owns every
//! byte we read and we run in dom0, so nothing a guest writes may make us loop, allocate or
//! write without bound.

/// Symlinks followed while resolving one path: Linux's `MAXSYMLINKS`, so a path the guest
/// kernel can open, we can open, and a longer chain fails the same way.
pub const MAX_SYMLINKS: u32 = 40;

/// Length of a path or symlink target: Linux's `PATH_MAX`.
pub const MAX_PATH: usize = 4096;

/// Logical partitions in an MBR extended chain. Linux's own limit is far lower in practice
/// (sd: 15 minors by default); 256 keeps crafted 10 000-long chains cheap to reject.
pub const MAX_LOGICAL_PARTITIONS: usize = 256;

/// GPT partition entries we accept. 128 is the standard; 1024 leaves room for odd tools
/// while bounding the entry array read to 128 KiB at 128 bytes an entry.
pub const MAX_GPT_ENTRIES: u32 = 1024;

/// Bytes of `/etc/fstab` read. Real ones are a few KiB.
pub const MAX_FSTAB_BYTES: u64 = 1024 * 1024;

/// Bytes of a boot configuration file read: pygrub's own cap.
pub const MAX_CONFIG_BYTES: u64 = 1024 * 1024;

/// Default cap for an extracted kernel or ramdisk: libxc's domain builder refuses larger
/// images (XSA-25), so copying more would only fill dom0's disk.
pub const DEFAULT_MAX_FILE_SIZE: u64 = 1024 * 1024 * 1024;

/// Bytes a run may read from one disk beyond what it extracts: partition tables, superblocks,
/// inode and extent trees, directories, journals, fstab and menus. Real boots read well under
/// 1 MiB of metadata; the budget only stops a crafted image from making us read (or rescan)
/// far more than the files we copy.
pub const MAX_METADATA_READ: u64 = 512 * 1024 * 1024;

/// Total bytes read from one disk through `pread` in a run: the metadata budget plus twice
/// the extraction cap (kernel and ramdisk streamed through a buffer, when zero-copy is not
/// possible). Zero-copy extraction (`copy_file_range`) is bounded by the extraction cap itself.
pub const fn read_budget(max_file_size: u64) -> u64 {
    MAX_METADATA_READ.saturating_add(max_file_size.saturating_mul(2))
}

/// Directory entries scanned in one directory lookup.
pub const MAX_DIR_ENTRIES: u64 = 1 << 20;

/// Mount entries kept from one guest fstab. Real ones have a dozen; the bound keeps the
/// mount table, and the longest-prefix search done for every path component, small.
pub const MAX_FSTAB_ENTRIES: usize = 1024;

/// Skipped fstab lines remembered with their reason, for messages; further ones are only
/// counted, so a hostile fstab of a million bad lines costs no memory.
pub const MAX_FSTAB_NOTES: usize = 64;

/// Entries in one boot menu (grub2, grub-legacy, extlinux, or BLS files merged). Real menus
/// hold tens (Debian's live ISO menu: 81); the cap bounds what a crafted config can make us
/// build and list.
pub const MAX_MENU_ENTRIES: usize = 1024;

/// Nesting of blocks (`{…}`, `if…fi`, `menu begin…end`) tracked in a boot config. Deeper
/// blocks are still skipped correctly (counted, not stored) but their contents are ignored:
/// real configs nest 3–4 levels.
pub const MAX_CONFIG_NESTING: usize = 32;

/// Bytes of text in one parsed menu entry (title, paths, arguments, submenu titles), and of
/// one expanded argument string. Real entries are well under 4 KiB (Linux caps its command
/// line at 2 KiB on x86, Xen a PV guest's at 1 KiB); the cap stops a config from having one
/// large `APPEND`, `set root=` or submenu title copied into every entry (1024 × 1 MiB).
pub const MAX_MENU_ENTRY_BYTES: usize = 16 * 1024;

/// Clusters of a FAT32 root directory searched for the volume label: blkid's own bound
/// (`maxloop` in libblkid's vfat.c), so the label we report is the one blkid reports even on
/// a root directory longer than that, and a looping root chain costs at most this much.
pub const FAT_LABEL_MAX_CLUSTERS: u32 = 99;

/// Bytes of one directory read by a lookup or listing. Without large_dir an ext4 directory
/// stays below 2 GiB, but a directory that a boot path goes through is small; 128 MiB holds
/// a million entries with long names, and a hostile directory whose blocks all map the same
/// disk block is read in well under a second.
pub const MAX_DIR_BYTES: u64 = 128 * 1024 * 1024;

/// Bytes of an ext journal log scanned for in-memory replay. mke2fs makes journals of at
/// most 1 GiB by default; a longer log is read without replay, with a warning.
pub const MAX_JOURNAL_LOG_BYTES: u64 = 1024 * 1024 * 1024;

/// Logged blocks and revoke records kept for an in-memory journal replay (each costs a map
/// entry of a few dozen bytes): 2^20 covers a full 1 GiB journal of 1 KiB blocks.
pub const MAX_JOURNAL_ENTRIES: usize = 1 << 20;

/// Extents kept for one XFS file or directory. A 1 GiB kernel (the extraction cap) in
/// scattered 4 KiB blocks has 2^18 extents; 2^20 (24 MiB of map) covers 1 KiB blocks too.
pub const XFS_MAX_EXTENTS: usize = 1 << 20;

/// Depth of an XFS extent B+tree, counting the root in the inode. 2^48 extents in half-full
/// 512-byte v4 blocks (15 records each) need 13 levels below the root, so no tree the
/// kernel builds is deeper; deeper ones are refused.
pub const XFS_MAX_BMAP_LEVELS: usize = 14;

/// Blocks of one XFS extent B+tree visited: enough leaves for [`XFS_MAX_EXTENTS`] at the
/// smallest fanout (512-byte v4 blocks hold 30 records), with its nodes. Pointers shared
/// between nodes could otherwise multiply the walk.
pub const XFS_MAX_BMAP_BLOCKS: u64 = 1 << 16;

/// 512-byte log blocks searched backwards from the XFS log head for the last record header:
/// a record is at most 256 KiB of data plus 8 header blocks (`XLOG_MAX_RECORD_BSIZE`).
pub const XFS_LOG_HEADER_SEARCH: u64 = 520;
