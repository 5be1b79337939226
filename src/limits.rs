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

/// ISO 9660 volume descriptors read from sector 16 on, looking for the primary and the
/// Joliet descriptor. Linux's isofs scans 84 (sectors 16–99); real discs have 3–5 before
/// the terminator, so a crafted run of thousands costs nothing.
pub const ISO_MAX_VOLUME_DESCRIPTORS: u64 = 84;

/// Rock Ridge continuation areas (`CE`) followed for one directory record: Linux's own
/// `RR_MAX_CE_ENTRIES`, so a CE chain that loops ends after 32 small reads.
pub const ISO_MAX_CE_AREAS: u32 = 32;

/// Extents of one multi-extent ISO 9660 file. mkisofs/xorriso split files at 4 GiB, so a
/// 1 GiB kernel or initrd needs one; 4096 allows small `-file_size_limit` values while
/// keeping the extent list of a crafted file (16 bytes each) tiny.
pub const ISO_MAX_FILE_EXTENTS: usize = 4096;

/// Bytes of a Rock Ridge name assembled from `NM` pieces: Linux's `NAME_MAX` (255); a
/// longer name is corrupt (the guest kernel truncates it, so no real path can use it).
pub const ISO_MAX_NAME: usize = 255;

/// Files spliced into one syslinux/isolinux config by `include` (Debian's installer menu
/// includes 10–15); with [`MAX_CONFIG_NESTING`] and [`MAX_CONFIG_BYTES`] it bounds what an
/// include loop or a fan of includes can make us read.
pub const MAX_CONFIG_INCLUDES: usize = 64;

/// Rock Ridge continuation areas read in one ISO 9660 directory scan. Real records need one
/// only for very long names or link targets (and the root's `.` for `ER`); 16384 areas of at
/// most 2 KiB keep a directory whose every record chains 32 areas at 32 MiB of reads.
pub const ISO_MAX_CE_PER_DIR: u32 = 16384;

/// Directories remembered by one ISO 9660 filesystem's lookup cache (a name and a location
/// each, under 300 bytes): the resolver looks up every prefix of a path, and the cache keeps
/// that linear even through a directory loop. Cleared when full.
pub const ISO_DIR_CACHE: usize = 4096;
/// Bytes of one LVM2 metadata text read and parsed. LVM's default metadata area is 1 MiB and
/// it keeps a text well under half of that (a VG with a thousand LVs is ~1 MiB); 4 MiB bounds
/// what a crafted area header can make us read, per copy.
pub const MAX_LVM_METADATA_BYTES: u64 = 4 * 1024 * 1024;

/// Values, sections and array elements in one LVM2 metadata text. A real VG has a few dozen
/// per LV; 2^17 holds thousands of LVs and bounds the tree a crafted text can make us build.
pub const MAX_LVM_NODES: usize = 1 << 17;

/// Nesting of sections in LVM2 metadata text. LVM writes four levels (VG, `logical_volumes`,
/// LV, segment); 16 leaves room while keeping the recursive parser's stack small.
pub const MAX_LVM_NESTING: usize = 16;

/// Physical volumes of one VG. LVM sets no limit, but a guest has a handful of disks; 1024
/// bounds the PV table and the per-PV work.
pub const MAX_LVM_PVS: usize = 1024;

/// Segments (and stripes) of all the LVs of one VG. A heavily extended LV has tens; 2^16
/// bounds the segment tables and the overlap check (sorted once).
pub const MAX_LVM_SEGMENTS: usize = 1 << 16;

/// Metadata areas read per run across the disk set (two per PV at most). Bounds the
/// metadata reads and parses a disk set full of PV labels can cause.
pub const MAX_LVM_AREAS: usize = 64;

/// Unreadable devices named in one error message ("no /etc/fstab …; cannot read: …"): enough
/// for any real guest, short enough to stay one readable line on a crafted disk set.
pub const MAX_UNREADABLE_NOTES: usize = 8;
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
/// Virtual size of a qcow2 image: the most qemu's own L1 cap (32 MiB of L1 table) can map
/// with 2 MiB clusters (2^22 L1 entries × 2^39 bytes each). A header claiming more is crafted.
pub const QCOW2_MAX_VIRTUAL_SIZE: u64 = 1 << 61;

/// Entries of a qcow2 L1 table: qemu's `QCOW_MAX_L1_SIZE` (32 MiB of table). The table is
/// never loaded whole (see `QCOW2_TABLE_SLICE`); the cap refuses what qemu would refuse.
pub const QCOW2_MAX_L1_ENTRIES: u64 = (32 << 20) / 8;

/// Bytes of a qcow2 L1 or L2 table read at once: 4 KiB, qemu's default L2 cache entry size.
/// A table is up to 2 MiB (one cluster) but a lookup needs 8 or 16 bytes of it, so a
/// scattered small read of guest metadata costs at most two 4 KiB table reads.
pub const QCOW2_TABLE_SLICE: u64 = 4096;

/// Table slices kept in the qcow2 lookup cache: 64 × 4 KiB = 256 KiB, which maps 2 GiB of
/// disk at the default 64 KiB clusters, so sequential reads almost never miss.
pub const QCOW2_TABLE_CACHE_SLICES: usize = 64;

/// Bytes of inflated qcow2 clusters kept (at least one cluster): 4 MiB holds two 2 MiB
/// clusters, so reads that cross a cluster boundary never inflate one twice, and keeps a
/// compressed image's extraction within a few MiB of memory.
pub const QCOW2_INFLATED_CACHE_BYTES: u64 = 4 << 20;

/// Inflated qcow2 clusters kept, whatever their size: the cache is searched linearly, so
/// 512-byte clusters (8192 of them in 4 MiB) must not make every read scan thousands.
pub const QCOW2_INFLATED_CACHE_CLUSTERS: usize = 64;

/// Window a zstd-compressed qcow2 cluster may declare. qemu compresses each cluster (at
/// most 2 MiB) as one frame, so its window never exceeds the cluster; 8 MiB leaves room for
/// other writers while stopping a crafted frame from making the decoder allocate 128 MiB.
pub const QCOW2_ZSTD_MAX_WINDOW: u64 = 8 << 20;

/// Bytes of a path named in a qcow2 header (backing or data file) quoted in the refusal:
/// qemu's own limit for a backing file name (1023). Such a path is never opened.
pub const QCOW2_MAX_NAME_BYTES: usize = 1023;

/// Threads inflating the compressed clusters of one large qcow2 read (extraction reads 1 MiB
/// at a time). Decompression is the whole cost of a compressed image (deflate especially);
/// two threads use a dom0's second vCPU for it. Bounded: at most a cache's worth of clusters
/// (`QCOW2_INFLATED_CACHE_BYTES`) is inflated ahead.
pub const QCOW2_INFLATE_THREADS: usize = 2;
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
/// Bytes of the confined worker's report (JSON: the chosen files' names, the command line,
/// warnings) beyond the arguments the caller passed (`--args`, `--extra_args`,
/// `--default_args`), which are counted on top (see [`worker_report_cap`]): the cap must
/// never refuse what the caller itself asked for, only a runaway report. Guest-derived
/// parts are small (a menu entry ≤ [`MAX_MENU_ENTRY_BYTES`], paths ≤ [`MAX_PATH`],
/// a few warnings), 1 MiB covers them many times over with JSON escaping.
pub const WORKER_REPORT_BASE: u64 = 1024 * 1024;

/// The most the parent reads of the worker's report: [`WORKER_REPORT_BASE`] plus six times
/// the caller's own argument bytes (JSON escapes a control byte as `\u00XX`, six bytes).
pub const fn worker_report_cap(caller_arg_bytes: u64) -> u64 {
    WORKER_REPORT_BASE.saturating_add(caller_arg_bytes.saturating_mul(6))
}

/// Lookups (one directory search each) made to resolve one guest path. Our filesystems
/// are asked for whole paths, so every prefix is walked from its filesystem's root and the
/// work grows with the square of the depth: a 2 000-component path through a directory
/// hard-link loop took ~10 s. 2^15 allows a 255-component-deep path (real boot paths
/// have 2–5) with symlinks on top, and ends such a loop in a fraction of a second.
pub const MAX_LOOKUPS_PER_RESOLUTION: u64 = 1 << 15;

/// Logical volumes of one VG. LVM sets no limit; a guest has a handful and a large server a
/// few hundred. 4096 bounds the LV table and the per-LV work of a crafted text.
pub const MAX_LVM_LVS: usize = 4096;

/// The longest a run for a toolstack (`--output`) waits, before exiting, for `xl create -c`'s
/// console client to attach to our pty (see the binary's `cli::console_client`). xl starts the client 1 s
/// after the bootloader; it is on the pty within ~1.1 s on hardware, within ~2 s in a dom0
/// under emulation (TCG). Past 5 s something else is wrong, and xl's own wait is no better
/// for ours.
pub const CONSOLE_CLIENT_WAIT: std::time::Duration = std::time::Duration::from_secs(5);
