//! Filesystems, read-only, behind one small trait: detection by magic (blkid's probe order),
//! and bounded readers for ext2/3/4 ([`ext`]) and FAT12/16/32 ([`fat`]). The rest of the
//! program sees only [`Filesystem`], so path resolution, fstab and extraction never depend on
//! how a filesystem is read. (Why not the `ext4-view` and `fatfs` crates: see those modules.)

pub mod btrfs;
pub mod detect;
pub mod ext;
pub mod fat;
pub mod iso9660;
pub mod xfs;

use crate::disk::{DiskError, Slice};
use std::io::Read;

/// Filesystem types we read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FsType {
    Ext2,
    Ext3,
    Ext4,
    Vfat,
    Btrfs,
    Xfs,
    Iso9660,
}

impl FsType {
    /// The name blkid uses (`TYPE=`).
    pub fn as_str(self) -> &'static str {
        match self {
            FsType::Ext2 => "ext2",
            FsType::Ext3 => "ext3",
            FsType::Ext4 => "ext4",
            FsType::Vfat => "vfat",
            FsType::Btrfs => "btrfs",
            FsType::Xfs => "xfs",
            FsType::Iso9660 => "iso9660",
        }
    }
}

/// Identity of a filesystem, in the forms blkid prints.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct FsInfo {
    #[serde(rename = "type")]
    pub fs_type: FsType,
    /// ext: 8-4-4-4-12 lower-case; FAT: `XXXX-XXXX` upper-case volume serial.
    pub uuid: String,
    /// Empty when the filesystem has no label.
    pub label: String,
}

/// What a path names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    File,
    Dir,
    Symlink,
    /// Device, FIFO, socket: never extracted.
    Other,
}

/// The part of an inode we need.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stat {
    pub kind: FileKind,
    pub size: u64,
}

/// A filesystem path as raw bytes, absolute within one filesystem (`b"/boot/vmlinuz"`).
/// Callers of [`Filesystem`] pass only resolved paths: normal components, no `.`/`..`,
/// and no symlink before the last component. The guest-view resolver guarantees that.
pub type FsPath<'a> = &'a [u8];

/// Errors from reading a filesystem. One line each, naming the cause.
#[derive(Debug, thiserror::Error)]
pub enum FsError {
    #[error(transparent)]
    Disk(#[from] DiskError),
    #[error("unsupported filesystem {0}")]
    Unsupported(String),
    #[error("no filesystem recognised")]
    Unrecognised,
    #[error("unsupported {fs} feature {feature}")]
    UnsupportedFeature { fs: &'static str, feature: String },
    #[error("corrupt {fs} filesystem: {detail}")]
    Corrupt { fs: &'static str, detail: String },
    #[error("{path}: {what}")]
    Path { path: String, what: String },
    #[error("{fs} read error: {detail}")]
    Io { fs: &'static str, detail: String },
}

/// A read-only filesystem. Implementations must never panic or loop without bound on
/// hostile bytes, and must never write.
pub trait Filesystem {
    /// Type, UUID and label.
    fn info(&self) -> &FsInfo;

    /// Looks up `path` without following a symlink in its last component. `Ok(None)` when
    /// the last component does not exist.
    fn stat(&self, path: FsPath<'_>) -> Result<Option<Stat>, FsError>;

    /// The target of the symlink at `path`, at most [`crate::limits::MAX_PATH`] bytes.
    fn read_link(&self, path: FsPath<'_>) -> Result<Vec<u8>, FsError>;

    /// A stream over the regular file at `path`.
    fn open(&self, path: FsPath<'_>) -> Result<Box<dyn Read + '_>, FsError>;

    /// The entries of the directory at `path` (without `.` and `..`), capped by
    /// [`crate::limits::MAX_DIR_ENTRIES`]. Needed to list e.g. `/loader/entries`.
    fn read_dir(&self, path: FsPath<'_>) -> Result<Vec<(Vec<u8>, FileKind)>, FsError> {
        let _ = path;
        Err(FsError::Unsupported(format!(
            "{} directory listing",
            self.info().fs_type.as_str()
        )))
    }

    /// The regular file at `path` as pieces of the disk, so extraction can copy it with
    /// `copy_file_range` straight from the image instead of through a buffer. `Ok(None)`
    /// when this filesystem does not map files; callers then use [`Filesystem::open`].
    fn segments(&self, path: FsPath<'_>) -> Result<Option<Box<dyn SegmentSource + '_>>, FsError> {
        let _ = path;
        Ok(None)
    }

    /// The filesystem as the guest mounts it with these fstab options, for filesystems with
    /// subvolumes (btrfs `subvol=`/`subvolid=`). `Ok(None)` when the options change nothing:
    /// mount the filesystem as opened (btrfs: its default subvolume).
    fn mount_view(&self, options: &[String]) -> Result<Option<Box<dyn Filesystem>>, FsError> {
        let _ = options;
        Ok(None)
    }

    /// Mount options naming each other view of this filesystem where a guest root may live
    /// (btrfs: `subvolid=N` for each subvolume), at most
    /// [`crate::limits::BTRFS_MAX_ROOT_CANDIDATES`]. Empty for filesystems without subvolumes.
    fn subvolume_options(&self) -> Result<Vec<String>, FsError> {
        Ok(Vec::new())
    }

    /// Notes to show the user once (e.g. a dirty journal that was not replayed).
    fn warnings(&self) -> &[String] {
        &[]
    }
}

pub use ext::Segment;

/// A file mapped onto the disk, piece by piece in file order.
pub trait SegmentSource {
    /// The disk the [`Segment::Data`] offsets refer to.
    fn disk(&self) -> &crate::disk::Disk;
    /// The next piece of at most `max` bytes; `None` at end of file.
    fn next_segment(&mut self, max: u64) -> Result<Option<Segment>, FsError>;
}

/// Detects the filesystem in `slice` and opens it. Unknown or unsupported types are errors
/// that name the type when it is recognisable.
pub fn open(slice: Slice) -> Result<Box<dyn Filesystem>, FsError> {
    match detect::detect(&slice)? {
        detect::Detected::Ext => Ok(Box::new(ext::ExtFs::open(slice)?)),
        detect::Detected::Fat => Ok(Box::new(fat::FatFs::open(slice)?)),
        // Readers land one per module; until then each is named, never misread.
        detect::Detected::Btrfs => Ok(Box::new(btrfs::BtrfsFs::open(slice)?)),
        detect::Detected::Xfs => Ok(Box::new(xfs::XfsFs::open(slice)?)),
        detect::Detected::Iso9660 => Ok(Box::new(iso9660::IsoFs::open(slice)?)),
        detect::Detected::Other(name) => Err(FsError::Unsupported(name.to_owned())),
        detect::Detected::Nothing => Err(FsError::Unrecognised),
    }
}
