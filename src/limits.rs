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

/// Depth of a btrfs tree: the kernel's `BTRFS_MAX_LEVEL` (levels 0..=7). Each step down must
/// lower the level by one, so a crafted node pointing at itself or an ancestor is refused.
pub const BTRFS_MAX_LEVEL: u8 = 8;

/// Tree nodes visited by one btrfs search. A lookup visits one path (≤ 8 nodes); 4096 leaves
/// of a directory hold some 400 000 entries, far more than any directory a boot lists. A
/// crafted tree whose pointers all name the same node (490² paths per two levels) is cut
/// off here instead of being walked.
pub const BTRFS_MAX_NODES_PER_SEARCH: u32 = 4096;

/// btrfs tree nodes kept in memory (at most 64 KiB each): the root-to-leaf paths every
/// lookup walks are read and checksummed once, and a crafted tree that names one node many
/// times costs no rereads.
pub const BTRFS_NODE_CACHE: usize = 16;

/// Chunks in one btrfs chunk map. A 64 TiB filesystem with 1 GiB data chunks has 65 536;
/// each costs under 100 bytes, so the map stays below a few MiB even when crafted.
pub const BTRFS_MAX_CHUNKS: usize = 1 << 17;

/// Largest btrfs node we accept: the kernel's `BTRFS_MAX_METADATA_BLOCKSIZE` (64 KiB).
pub const BTRFS_MAX_NODESIZE: u32 = 64 * 1024;

/// Uncompressed size of one compressed btrfs extent: the kernel's `BTRFS_MAX_UNCOMPRESSED`
/// (128 KiB), which is also the most it writes compressed. A crafted extent claiming more is
/// refused before anything is allocated for it.
pub const BTRFS_MAX_COMPRESSED_EXTENT: u64 = 128 * 1024;

/// File extents gathered from the tree in one step of a btrfs file read, so reading a file
/// walks its extent items in batches instead of holding all of them.
pub const BTRFS_EXTENT_BATCH: usize = 64;

/// Extent items examined to decide whether a btrfs file can be copied zero-copy (all plain
/// extents); a file with more is streamed instead. A 1 GiB file of 128 MiB extents has 8.
pub const BTRFS_MAX_SEGMENT_SCAN: usize = 1 << 16;

/// Subvolumes of one btrfs filesystem searched for a guest root (`/etc/fstab`) when its
/// default subvolume has none (Fedora: root in `root`). Real installs have a handful; SUSE's
/// snapper keeps dozens of snapshots, which are searched last.
pub const BTRFS_MAX_ROOT_CANDIDATES: usize = 64;

/// Decoding rounds for one zstd-compressed btrfs extent. Each round decodes at least one
/// block or ends the frame, and one block fills the 128 KiB extent; the bound only stops a
/// crafted frame of endless empty blocks.
pub const BTRFS_ZSTD_MAX_ROUNDS: usize = 4096;
