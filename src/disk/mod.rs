//! Disk source: a guest disk opened read-only, with bounds-checked positioned reads and cheap
//! views of a byte range (a partition).
//!
//! A [`Disk`] is a byte array of known size behind a [`Backing`]: a raw image file or block
//! device ([`raw`]), and — stacked on other disks — image formats and logical volumes, which
//! live in their own modules and plug in through [`Disk::from_backing`]. Everything above this
//! layer (partition tables, filesystems) sees only [`Disk`] and [`Slice`], so a filesystem
//! inside a qcow2 image or an LVM volume is read exactly like one on a raw disk.
//!
//! Why positioned reads and no memory map: a mapped file that another process truncates
//! under us delivers SIGBUS on the next access, which kills the process instead of giving an
//! error. The guest (or its admin) owns the image, so that must be a clean error. `pread`
//! returns a short read instead, which we report as [`DiskError::Shrunk`]. The cost is one
//! syscall per read; callers read in large chunks where it matters (file extraction).
//!
//! Every read through a [`Disk`] is charged to its per-run read budget, so crafted metadata
//! cannot make us read without bound; a disk stacked on others charges theirs too.

pub mod format;
pub mod qcow2;
pub mod raw;

pub use format::ImageFormat;

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// What can go wrong reading the disk. Every variant names the disk.
#[derive(Debug, thiserror::Error)]
pub enum DiskError {
    #[error("cannot open disk {path}: {source}")]
    Open { path: PathBuf, source: io::Error },
    #[error("{path}: read of {len} bytes at offset {offset} is outside the {size}-byte range")]
    OutOfBounds {
        path: PathBuf,
        offset: u64,
        len: u64,
        size: u64,
    },
    #[error("{path}: read error at offset {offset}: {source}")]
    Io {
        path: PathBuf,
        offset: u64,
        source: io::Error,
    },
    #[error("{path}: disk shrank while being read (short read at offset {offset})")]
    Shrunk { path: PathBuf, offset: u64 },
    #[error("{path}: more than {budget} bytes read from the disk in one run: refusing to read more (crafted metadata?)")]
    ReadBudget { path: PathBuf, budget: u64 },
    #[error("{path}: {format} image (unsupported; convert with qemu-img)")]
    Unsupported { path: PathBuf, format: &'static str },
    #[error("{path}: format {given} was given, but the image is {found}")]
    FormatMismatch {
        path: PathBuf,
        given: &'static str,
        found: &'static str,
    },
    /// The reason is inline (not a `#[source]`): it is the message, printed once.
    #[error("{path}: qcow2 image: {reason}")]
    Qcow2 {
        path: PathBuf,
        reason: qcow2::Qcow2Error,
    },
}

/// Where a disk's bytes come from: a raw file, or a format or volume mapped onto other disks.
/// Implementations must never panic or loop without bound on hostile metadata.
pub trait Backing: Send + Sync {
    /// Fills `buf` from `offset`. The caller has checked that the range lies inside the
    /// disk's size and charged the read budget.
    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> Result<(), DiskError>;

    /// Where the bytes from `offset` (at most `len` of them) are stored as they are, in one
    /// piece of a host file, so extraction can `copy_file_range` them. `Ok(None)` when they
    /// are not (compressed, unallocated, or a backing that is not file-based): callers then
    /// read them through [`Disk::read_exact_at`].
    fn host_extent(&self, offset: u64, len: u64) -> Result<Option<HostExtent<'_>>, DiskError>;

    /// The format's name for messages and `--inspect` (`raw`, `qcow2`, …).
    fn format(&self) -> &'static str;

    /// Passes [`Disk::set_read_budget`] on to the disks this one reads (an image file under
    /// a format), so their reads are bounded by the same budget.
    fn set_read_budget(&self, _budget: u64) {}
}

/// A piece of a host file holding disk bytes verbatim.
#[derive(Clone, Copy, Debug)]
pub struct HostExtent<'a> {
    pub file: &'a File,
    /// Offset in `file`.
    pub offset: u64,
    /// Bytes, at least 1 and at most the length asked for.
    pub len: u64,
}

struct Inner {
    backing: Box<dyn Backing>,
    size: u64,
    path: PathBuf,
    /// Bytes read so far, and the most this run may read (see [`crate::limits::read_budget`]).
    read: AtomicU64,
    budget: AtomicU64,
}

/// An open guest disk. Cloning is cheap and shares the file descriptor.
#[derive(Clone)]
pub struct Disk {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Disk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Disk({}, {} bytes)",
            self.inner.path.display(),
            self.inner.size
        )
    }
}

impl Disk {
    /// Opens the image file or block device at `path` read-only, as the format it is
    /// (see [`mod@format`]): raw or qcow2; any other image format is refused by name.
    pub fn open(path: &Path) -> Result<Disk, DiskError> {
        Disk::open_as(path, None)
    }

    /// Opens `path` read-only as `format` when the caller states one, else as what it
    /// looks like. A stated `raw` is not probed (the caller's word over guest bytes); a
    /// stated `qcow2` must be one; any other format is refused by name.
    pub fn open_as(path: &Path, format: Option<ImageFormat>) -> Result<Disk, DiskError> {
        let raw = raw::RawFile::open(path)?;
        let size = raw.size();
        let file = Disk::from_backing(path.to_owned(), size, Box::new(raw));
        let found = match format {
            Some(ImageFormat::Raw) => return Ok(file),
            Some(f) if f != ImageFormat::Qcow2 => return Err(f.unsupported(path)),
            _ => file.probe()?,
        };
        match (format, found) {
            (Some(given), found) if given != found => Err(DiskError::FormatMismatch {
                path: path.to_owned(),
                given: given.name(),
                found: found.name(),
            }),
            (_, ImageFormat::Raw) => Ok(file),
            (_, ImageFormat::Qcow2) => {
                let q = qcow2::Qcow2::open(file)?;
                Ok(Disk::from_backing(path.to_owned(), q.size(), Box::new(q)))
            }
            (_, other) => Err(other.unsupported(path)),
        }
    }

    /// What the disk's bytes look like: its first and last [`format::PROBE_BYTES`].
    pub fn probe(&self) -> Result<ImageFormat, DiskError> {
        let n = self.size().min(format::PROBE_BYTES as u64);
        let mut head = vec![0u8; n as usize];
        let mut tail = vec![0u8; n as usize];
        self.read_exact_at(0, &mut head)?;
        self.read_exact_at(self.size() - n, &mut tail)?;
        Ok(format::sniff(&head, &tail))
    }

    /// A disk of `size` bytes read through `backing`; `name` is what messages call it
    /// (an image path, or `vg/lv` for a logical volume).
    pub fn from_backing(name: PathBuf, size: u64, backing: Box<dyn Backing>) -> Disk {
        Disk {
            inner: Arc::new(Inner {
                backing,
                size,
                path: name,
                read: AtomicU64::new(0),
                budget: AtomicU64::new(crate::limits::read_budget(
                    crate::limits::DEFAULT_MAX_FILE_SIZE,
                )),
            }),
        }
    }

    /// The image format behind this disk (`raw`, …).
    pub fn format(&self) -> &'static str {
        self.inner.backing.format()
    }

    /// Where the bytes from absolute `offset` (at most `len`) lie verbatim in a host file,
    /// for zero-copy extraction; `None` when they must be read through [`Disk::read_exact_at`].
    pub fn host_extent(&self, offset: u64, len: u64) -> Result<Option<HostExtent<'_>>, DiskError> {
        self.whole().check(offset, len)?;
        if len == 0 {
            return Ok(None);
        }
        let ext = self.inner.backing.host_extent(offset, len)?;
        // A backing that returns an empty or over-long piece would make the caller spin or
        // copy too much: treat it as "not mapped".
        Ok(ext.filter(|e| e.len > 0 && e.len <= len))
    }

    /// Size in bytes as seen when the disk was opened.
    pub fn size(&self) -> u64 {
        self.inner.size
    }

    /// The path the disk was opened from, for messages.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Sets the most bytes this run may read from the disk through `pread`.
    pub fn set_read_budget(&self, budget: u64) {
        self.inner.budget.store(budget, Ordering::Relaxed);
        self.inner.backing.set_read_budget(budget);
    }

    /// Bytes read so far through `pread`.
    pub fn bytes_read(&self) -> u64 {
        self.inner.read.load(Ordering::Relaxed)
    }

    /// A view of the whole disk.
    pub fn whole(&self) -> Slice {
        Slice {
            disk: self.clone(),
            start: 0,
            len: self.inner.size,
        }
    }

    /// Fills `buf` from absolute `offset`, failing if any byte lies past the end.
    pub fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> Result<(), DiskError> {
        self.whole().read_exact_at(offset, buf)
    }

    fn pread_exact(&self, offset: u64, buf: &mut [u8]) -> Result<(), DiskError> {
        self.charge(buf.len() as u64)?;
        self.inner.backing.read_exact_at(offset, buf)
    }
}

impl Disk {
    /// Counts `len` bytes against the run's read budget (also work done for them, such as
    /// inflating a compressed cluster).
    fn charge(&self, len: u64) -> Result<(), DiskError> {
        let before = self.inner.read.fetch_add(len, Ordering::Relaxed);
        let budget = self.inner.budget.load(Ordering::Relaxed);
        match before.checked_add(len) {
            Some(total) if total <= budget => Ok(()),
            _ => Err(DiskError::ReadBudget {
                path: self.inner.path.clone(),
                budget,
            }),
        }
    }
}

/// A byte range of a disk (a partition, or the whole disk). Offsets given to a slice are
/// relative to its start and checked against its length.
#[derive(Clone, Debug)]
pub struct Slice {
    disk: Disk,
    start: u64,
    len: u64,
}

impl Slice {
    /// Length of the range in bytes.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// True for an empty range.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Absolute offset of the range on the disk.
    pub fn start(&self) -> u64 {
        self.start
    }

    /// The disk this range belongs to.
    pub fn disk(&self) -> &Disk {
        &self.disk
    }

    /// A sub-range; fails unless it lies entirely inside this one.
    pub fn sub(&self, offset: u64, len: u64) -> Result<Slice, DiskError> {
        self.check(offset, len)?;
        Ok(Slice {
            disk: self.disk.clone(),
            start: self.start + offset, // checked by `check`: offset+len <= self.len, start+self.len <= disk size
            len,
        })
    }

    /// Absolute disk offset of relative `offset`, after checking `offset..offset+len` fits.
    pub fn absolute(&self, offset: u64, len: u64) -> Result<u64, DiskError> {
        self.check(offset, len)?;
        Ok(self.start + offset)
    }

    /// Fills `buf` from relative `offset`; the whole read must lie inside the range.
    pub fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> Result<(), DiskError> {
        let abs = self.absolute(offset, buf.len() as u64)?;
        self.disk.pread_exact(abs, buf)
    }

    /// A `Read + Seek` cursor over the range, for crates that want a stream. It never
    /// reads outside the range; writes through [`ReadOnly`] always fail.
    pub fn cursor(&self) -> SliceCursor {
        SliceCursor {
            slice: self.clone(),
            pos: 0,
        }
    }

    fn check(&self, offset: u64, len: u64) -> Result<(), DiskError> {
        match offset.checked_add(len) {
            Some(end) if end <= self.len => Ok(()),
            _ => Err(DiskError::OutOfBounds {
                path: self.disk.inner.path.clone(),
                offset,
                len,
                size: self.len,
            }),
        }
    }
}

/// `Read + Seek` over a [`Slice`]. Reads stop at the end of the range (a short read),
/// like a file; disk errors become `io::Error`s carrying the [`DiskError`] text.
#[derive(Clone, Debug)]
pub struct SliceCursor {
    slice: Slice,
    pos: u64,
}

impl SliceCursor {
    /// The range being read.
    pub fn slice(&self) -> &Slice {
        &self.slice
    }
}

impl Read for SliceCursor {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let remaining = self.slice.len.saturating_sub(self.pos);
        let n = usize::try_from(remaining).map_or(buf.len(), |r| r.min(buf.len()));
        if n == 0 {
            return Ok(0);
        }
        let dst = buf
            .get_mut(..n)
            .ok_or_else(|| io::Error::other("read length"))?;
        self.slice
            .read_exact_at(self.pos, dst)
            .map_err(io::Error::other)?;
        self.pos += n as u64; // n <= remaining
        Ok(n)
    }
}

impl Seek for SliceCursor {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let new = match to {
            SeekFrom::Start(p) => Some(p),
            SeekFrom::End(d) => self.slice.len.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        let new = new.ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, "seek outside the disk range")
        })?;
        self.pos = new;
        Ok(new)
    }
}

/// Gives a reader the `Write` that some crates demand (`fatfs`, `gpt`) while guaranteeing
/// that nothing is ever written: every write fails. The image is opened read-only anyway;
/// this makes the failure explicit and early.
#[derive(Debug)]
pub struct ReadOnly<T>(pub T);

impl<T: Read> Read for ReadOnly<T> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }
}

impl<T: Seek> Seek for ReadOnly<T> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        self.0.seek(to)
    }
}

impl<T> Write for ReadOnly<T> {
    fn write(&mut self, _buf: &[u8]) -> io::Result<usize> {
        Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            "domuloader never writes the guest disk",
        ))
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_disk(bytes: &[u8]) -> (tempfile_path::TempPath, Disk) {
        let p = tempfile_path::TempPath::new(bytes);
        let d = Disk::open_as(p.path(), Some(ImageFormat::Raw)).unwrap();
        (p, d)
    }

    mod tempfile_path {
        pub struct TempPath(std::path::PathBuf);
        impl TempPath {
            pub fn new(bytes: &[u8]) -> Self {
                use std::sync::atomic::{AtomicU32, Ordering};
                static N: AtomicU32 = AtomicU32::new(0);
                let p = std::env::temp_dir().join(format!(
                    "domuloader-disk-test-{}-{}",
                    std::process::id(),
                    N.fetch_add(1, Ordering::SeqCst)
                ));
                std::fs::write(&p, bytes).unwrap();
                TempPath(p)
            }
            pub fn path(&self) -> &std::path::Path {
                &self.0
            }
        }
        impl Drop for TempPath {
            fn drop(&mut self) {
                let _ = std::fs::remove_file(&self.0);
            }
        }
    }

    #[test]
    fn slice_reads_are_relative_and_bounded() {
        let bytes: Vec<u8> = (0..=255).collect();
        let (_t, d) = temp_disk(&bytes);
        let s = d.whole().sub(16, 32).unwrap();
        let mut b = [0u8; 4];
        s.read_exact_at(28, &mut b).unwrap();
        assert_eq!(b, [44, 45, 46, 47]);
        assert!(matches!(
            s.read_exact_at(29, &mut b),
            Err(DiskError::OutOfBounds { .. })
        ));
        assert!(s.sub(30, 3).is_err());
        assert!(s.sub(u64::MAX, 2).is_err());
    }

    #[test]
    fn cursor_stops_at_end_of_range() {
        let bytes: Vec<u8> = (0..100).collect();
        let (_t, d) = temp_disk(&bytes);
        let mut c = d.whole().sub(90, 10).unwrap().cursor();
        let mut v = Vec::new();
        c.read_to_end(&mut v).unwrap();
        assert_eq!(v, (90..100).collect::<Vec<u8>>());
        assert!(c.seek(SeekFrom::Current(-20)).is_err());
    }

    #[test]
    fn shrinking_file_is_an_error_not_a_signal() {
        let (t, d) = temp_disk(&[7u8; 8192]);
        std::fs::OpenOptions::new()
            .write(true)
            .open(t.path())
            .unwrap()
            .set_len(100)
            .unwrap();
        let mut b = [0u8; 512];
        let err = d.read_exact_at(4096, &mut b).unwrap_err();
        assert!(matches!(err, DiskError::Shrunk { .. }), "{err}");
    }

    #[test]
    fn reads_beyond_the_budget_fail() {
        let (_t, d) = temp_disk(&[1u8; 4096]);
        d.set_read_budget(5000);
        let mut b = [0u8; 4096];
        d.read_exact_at(0, &mut b).unwrap();
        assert_eq!(d.bytes_read(), 4096);
        let err = d.read_exact_at(0, &mut b).unwrap_err();
        assert!(
            matches!(err, DiskError::ReadBudget { budget: 5000, .. }),
            "{err}"
        );
    }

    #[test]
    fn writes_through_read_only_fail() {
        let mut w = ReadOnly(std::io::Cursor::new(vec![0u8; 4]));
        assert!(w.write(b"x").is_err());
    }
}
