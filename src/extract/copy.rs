//! Copying into an [`OutputFile`], capped: refused up front when the stated size is over
//! the cap, stopped as soon as the source gives more than it stated, failed when it gives
//! less. The cap counts everything written to the file, across calls.

use super::dir::{KernelCopy, OutputFile};
use super::{sys, ExtractError};
use crate::disk::Disk;
use crate::fs::{Segment, SegmentSource};
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;

/// Size of the reusable copy buffer: large enough that a syscall per chunk costs nothing
/// next to the I/O, small enough to be irrelevant to dom0's memory.
pub const COPY_BUFFER_SIZE: usize = 1 << 20;

/// Bytes asked of one `copy_file_range` call; it may copy fewer, and we loop.
const RANGE_CHUNK: usize = 1 << 30;

/// Destination offsets a range copy starts at. On Linux 6.x (ext4, measured on 6.18) a
/// `copy_file_range` that starts at a destination offset off a 64 KiB boundary ran ~40%
/// slower for its whole length (the destination's page cache stays in small folios): a
/// file's second extent at 118 910 976 (ext4 ends an extent wherever its block group does)
/// cost 48 ms for 134 MB instead of 34. Copying the few KiB up to the boundary first keeps
/// the rest at full speed (bench/lvm.sh: 1.42x the `cp` floor before, see README).
const DEST_ALIGN: u64 = 64 * 1024;

/// Copies `expected_size` bytes from `reader` into `out`. Refuses before reading when
/// that would take the file over `max`; fails if the reader gives more or fewer bytes.
/// Returns the bytes copied (= `expected_size`).
pub fn copy_capped(
    out: &mut OutputFile,
    reader: &mut dyn Read,
    expected_size: u64,
    max: u64,
) -> Result<u64, ExtractError> {
    check_cap(out, expected_size, max)?;
    let mut buf = take_buf(out);
    let mut count = 0;
    let res = copy_stream(&mut out.file, reader, expected_size, &mut buf, &mut count);
    out.buf = buf;
    out.written = out.written.saturating_add(count);
    res.map_err(|f| stream_error(out, f, expected_size, max))?;
    Ok(count)
}

/// Copies byte ranges `(offset, len)` of `src`, in order, into `out`: with
/// `copy_file_range` (no copy through user space, reflinks where the filesystem can) and
/// `pread` + `write` where the kernel or filesystem cannot. Refuses before copying when
/// the ranges add up to more than `max`; fails if `src` ends inside a range. Returns the
/// bytes copied.
pub fn copy_from_file_range(
    out: &mut OutputFile,
    src: &File,
    ranges: &[(u64, u64)],
    max: u64,
) -> Result<u64, ExtractError> {
    let total = ranges
        .iter()
        .try_fold(0u64, |sum, &(_, len)| sum.checked_add(len))
        .ok_or_else(|| too_large(out, u64::MAX, max))?;
    check_cap(out, total, max)?;
    for &(offset, len) in ranges {
        copy_range(out, src, offset, len)?;
    }
    Ok(total)
}

/// Copies a file mapped onto its disk ([`SegmentSource`]): data pieces with
/// `copy_file_range` from the image (no copy through user space), holes as zeros. Refuses
/// before copying when `expected_size` would take the file over `max`, and fails if the
/// pieces add up to more or less than `expected_size`.
pub fn copy_segments(
    out: &mut OutputFile,
    src: &mut dyn SegmentSource,
    expected_size: u64,
    max: u64,
) -> Result<u64, ExtractError> {
    check_cap(out, expected_size, max)?;
    let mut done = 0u64;
    let longer = |out: &OutputFile| ExtractError::Longer {
        file: out.path.clone(),
        expected: expected_size,
        max,
    };
    // Ask for one byte past the end so a source longer than stated is caught.
    while let Some(seg) = src
        .next_segment(expected_size.saturating_sub(done).saturating_add(1))
        .map_err(|e| ExtractError::Read {
            file: out.path.clone(),
            source: io::Error::other(e),
        })?
    {
        let len = match seg {
            Segment::Data { disk_offset, len } => {
                if done.saturating_add(len) > expected_size {
                    return Err(longer(out));
                }
                copy_disk_range(out, src.disk(), disk_offset, len)?;
                len
            }
            Segment::Zeros { len } => {
                if done.saturating_add(len) > expected_size {
                    return Err(longer(out));
                }
                write_zeros(out, len)?;
                len
            }
        };
        done += len; // <= expected_size, checked above
    }
    end_holes(out)?;
    match done == expected_size {
        true => Ok(done),
        false => Err(ExtractError::Shorter {
            file: out.path.clone(),
            expected: expected_size,
            got: done,
        }),
    }
}

/// Copies `len` bytes of `disk` from `offset`: pieces stored verbatim in a host file with
/// `copy_file_range`, the rest (compressed or unallocated in an image format) through the
/// buffer.
fn copy_disk_range(
    out: &mut OutputFile,
    disk: &Disk,
    mut offset: u64,
    mut len: u64,
) -> Result<(), ExtractError> {
    while len > 0 {
        let read_err = |out: &OutputFile, e: crate::disk::DiskError| ExtractError::Read {
            file: out.path.clone(),
            source: io::Error::other(e),
        };
        let step = match disk
            .host_extent(offset, len)
            .map_err(|e| read_err(out, e))?
        {
            Some(ext) => {
                copy_range(out, ext.file, ext.offset, ext.len)
                    .map_err(|e| shrunk_disk(e, disk, offset))?;
                ext.len
            }
            None => {
                let step = len.min(COPY_BUFFER_SIZE as u64);
                let mut buf = take_buf(out);
                let chunk = buf.get_mut(..step as usize).unwrap_or_default(); // step <= buffer size
                let res = disk
                    .read_exact_at(offset, chunk)
                    .map_err(|e| read_err(out, e))
                    .and_then(|()| out.file.write_all(chunk).map_err(|e| write_error(out, e)));
                out.buf = buf;
                res?;
                out.written = out.written.saturating_add(step);
                step
            }
        };
        offset = offset.saturating_add(step);
        len -= step; // step <= len: host_extent never returns more than asked
    }
    Ok(())
}

/// A data piece that ends early means the image shrank under us: say so, naming the disk.
fn shrunk_disk(e: ExtractError, disk: &Disk, offset: u64) -> ExtractError {
    match e {
        ExtractError::Shorter { file, .. } => ExtractError::Read {
            file,
            source: io::Error::other(crate::disk::DiskError::Shrunk {
                path: disk.path().to_owned(),
                offset,
            }),
        },
        other => other,
    }
}

/// A hole: the output's position moves on without writing, and [`end_holes`] gives the file
/// its full length, so the hole stays a hole and costs nothing however large.
fn write_zeros(out: &mut OutputFile, len: u64) -> Result<(), ExtractError> {
    let step = i64::try_from(len).map_err(|_| ExtractError::BadRange {
        file: out.path.clone(),
        offset: out.written,
        len,
    })?;
    out.file
        .seek(SeekFrom::Current(step))
        .map_err(|e| write_error(out, e))?;
    out.written = out.written.saturating_add(len);
    Ok(())
}

/// Sets the file's length to what was written, so a trailing hole is part of it.
fn end_holes(out: &OutputFile) -> Result<(), ExtractError> {
    out.file
        .set_len(out.written)
        .map_err(|e| write_error(out, e))
}

/// Why a stream copy stopped.
#[derive(Debug)]
enum Failure {
    Read(io::Error),
    Write(io::Error),
    Longer,
    Shorter(u64),
}

/// Copies until EOF, asking for at most one byte past `expected` so an over-long source
/// is caught without reading (or writing) more than a byte of excess. `count` tracks the
/// bytes written, also on failure.
fn copy_stream(
    w: &mut dyn Write,
    r: &mut dyn Read,
    expected: u64,
    buf: &mut [u8],
    count: &mut u64,
) -> Result<(), Failure> {
    loop {
        let room = expected.saturating_sub(*count);
        let want = usize::try_from(room.saturating_add(1)).map_or(buf.len(), |n| n.min(buf.len()));
        let n = match r.read(buf.get_mut(..want).unwrap_or_default()) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Failure::Read(e)),
        };
        let chunk = buf
            .get(..n)
            .ok_or_else(|| Failure::Read(reader_overrun()))?;
        if n as u64 > room {
            return Err(Failure::Longer);
        }
        w.write_all(chunk).map_err(Failure::Write)?;
        *count += n as u64;
    }
    match *count == expected {
        true => Ok(()),
        false => Err(Failure::Shorter(*count)),
    }
}

fn copy_range(out: &mut OutputFile, src: &File, offset: u64, len: u64) -> Result<(), ExtractError> {
    let end = offset
        .checked_add(len)
        .ok_or_else(|| ExtractError::BadRange {
            file: out.path.clone(),
            offset,
            len,
        })?;
    if out.copy_file_range == KernelCopy::WhereShared {
        out.copy_file_range = match sys::may_share_extents(src, &out.file) {
            true => KernelCopy::Always,
            false => KernelCopy::Never,
        };
    }
    let mut pos = offset;
    while pos < end {
        let want = usize::try_from(end - pos).map_or(RANGE_CHUNK, |n| n.min(RANGE_CHUNK));
        let want = to_dest_boundary(out.written, want);
        let n = range_step(out, src, pos, want)?;
        if n == 0 {
            return Err(ExtractError::Shorter {
                file: out.path.clone(),
                expected: len,
                got: pos - offset,
            });
        }
        pos = pos.saturating_add(n);
        out.written = out.written.saturating_add(n);
    }
    Ok(())
}

/// How much of `want` bytes to copy at destination offset `written` so the next copy
/// starts on a [`DEST_ALIGN`] boundary: all of it when it starts on one or ends before
/// the next.
fn to_dest_boundary(written: u64, want: usize) -> usize {
    let head = (DEST_ALIGN - written % DEST_ALIGN) % DEST_ALIGN;
    match usize::try_from(head) {
        Ok(h) if h > 0 && h < want => h,
        _ => want,
    }
}

/// Copies up to `want` bytes at `pos`, with `copy_file_range` where the file uses it;
/// 0 means `src` ended.
fn range_step(
    out: &mut OutputFile,
    src: &File,
    pos: u64,
    want: usize,
) -> Result<u64, ExtractError> {
    if out.copy_file_range == KernelCopy::Always {
        let mut off = pos;
        match sys::copy_file_range(src, &mut off, &out.file, want) {
            Ok(n) => return Ok(n as u64),
            Err(e) if copy_file_range_unsupported(&e) => out.copy_file_range = KernelCopy::Never,
            Err(e) => return Err(write_error(out, e)),
        }
    }
    pread_write(out, src, pos, want)
}

fn pread_write(
    out: &mut OutputFile,
    src: &File,
    pos: u64,
    want: usize,
) -> Result<u64, ExtractError> {
    let mut buf = take_buf(out);
    let res = pread_write_with(
        &out.file,
        src,
        pos,
        buf.get_mut(..want.min(COPY_BUFFER_SIZE))
            .unwrap_or_default(),
    );
    out.buf = buf;
    match res {
        Ok(n) => Ok(n as u64),
        Err(Failure::Read(source)) => Err(ExtractError::Read {
            file: out.path.clone(),
            source,
        }),
        Err(Failure::Write(e)) => Err(write_error(out, e)),
        Err(Failure::Longer | Failure::Shorter(_)) => Ok(0),
    }
}

fn pread_write_with(
    mut dst: &File,
    src: &File,
    pos: u64,
    buf: &mut [u8],
) -> Result<usize, Failure> {
    let n = loop {
        match src.read_at(buf, pos) {
            Ok(n) => break n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Failure::Read(e)),
        }
    };
    let chunk = buf
        .get(..n)
        .ok_or_else(|| Failure::Read(reader_overrun()))?;
    dst.write_all(chunk).map_err(Failure::Write)?;
    Ok(n)
}

/// Errors after which `pread` + `write` can still do the copy: no syscall (< 4.5), a
/// cross-filesystem copy (< 5.3, ≥ 5.19 on some filesystems), a source that is not a
/// regular file (a block device), or a filesystem without support.
fn copy_file_range_unsupported(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::ENOSYS | libc::EXDEV | libc::EINVAL | libc::EOPNOTSUPP)
    )
}

fn check_cap(out: &OutputFile, size: u64, max: u64) -> Result<(), ExtractError> {
    let total = out.written.saturating_add(size);
    match total > max {
        true => Err(too_large(out, total, max)),
        false => Ok(()),
    }
}

fn too_large(out: &OutputFile, size: u64, max: u64) -> ExtractError {
    ExtractError::TooLarge {
        file: out.path.clone(),
        size,
        max,
    }
}

/// The file's buffer, allocated once on first use.
fn take_buf(out: &mut OutputFile) -> Vec<u8> {
    let mut buf = std::mem::take(&mut out.buf);
    if buf.len() != COPY_BUFFER_SIZE {
        buf = vec![0; COPY_BUFFER_SIZE];
    }
    buf
}

fn stream_error(out: &OutputFile, f: Failure, expected: u64, max: u64) -> ExtractError {
    let file = out.path.clone();
    match f {
        Failure::Read(source) => ExtractError::Read { file, source },
        Failure::Write(e) => write_error(out, e),
        Failure::Longer => ExtractError::Longer {
            file,
            expected,
            max,
        },
        Failure::Shorter(got) => ExtractError::Shorter {
            file,
            expected,
            got,
        },
    }
}

/// A full filesystem (or quota) gets its own message: it is the likely failure, and the
/// one an admin can fix.
fn write_error(out: &OutputFile, source: io::Error) -> ExtractError {
    let file = out.path.clone();
    match source.raw_os_error() {
        Some(libc::ENOSPC | libc::EDQUOT) => ExtractError::NoSpace {
            file,
            written: out.written,
        },
        _ => ExtractError::Write { file, source },
    }
}

fn reader_overrun() -> io::Error {
    io::Error::other("reader returned more bytes than the buffer holds")
}

#[cfg(test)]
mod tests {
    use super::super::dir::tests::listing;
    use super::super::OutputDir;
    use super::*;
    use std::io::Cursor;

    fn pattern(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
    }

    fn setup() -> (tempfile::TempDir, OutputDir) {
        let tmp = tempfile::tempdir().unwrap();
        let mut dir = OutputDir::prepare(Some(tmp.path())).unwrap();
        dir.use_named_partials();
        (tmp, dir)
    }

    /// A reader that must never be read.
    struct Untouchable;
    impl Read for Untouchable {
        fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
            panic!("read although the size was over the cap");
        }
    }

    #[test]
    fn copies_exactly_and_reuses_its_buffer() {
        let (_tmp, mut dir) = setup();
        let data = pattern(3 * COPY_BUFFER_SIZE + 17);
        let mut f = dir.create("kernel").unwrap();
        let n = copy_capped(&mut f, &mut Cursor::new(&data[..100]), 100, 1 << 30).unwrap();
        assert_eq!(n, 100);
        let buf_ptr = f.buf.as_ptr();
        let rest = &data[100..];
        copy_capped(&mut f, &mut Cursor::new(rest), rest.len() as u64, 1 << 30).unwrap();
        assert_eq!(f.buf.as_ptr(), buf_ptr, "one buffer per file");
        assert_eq!(f.written(), data.len() as u64);
        let path = dir.finish(f).unwrap();
        assert_eq!(std::fs::read(path).unwrap(), data);
    }

    #[test]
    fn over_cap_refused_before_reading() {
        let (tmp, mut dir) = setup();
        let mut f = dir.create("kernel").unwrap();
        let e = copy_capped(&mut f, &mut Untouchable, 1001, 1000).unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains(".kernel.") && msg.ends_with("1001 bytes is over the 1000-byte size cap"),
            "{msg}"
        );
        copy_capped(&mut f, &mut Cursor::new(vec![1; 600]), 600, 1000).unwrap();
        let e = copy_capped(&mut f, &mut Untouchable, 401, 1000).unwrap_err();
        assert!(
            matches!(
                e,
                ExtractError::TooLarge {
                    size: 1001,
                    max: 1000,
                    ..
                }
            ),
            "{e}"
        );
        drop((f, dir));
        assert!(listing(tmp.path()).is_empty());
    }

    #[test]
    fn longer_source_stopped_after_one_extra_byte() {
        let (_tmp, mut dir) = setup();
        let mut f = dir.create("ramdisk").unwrap();
        let mut src = Cursor::new(pattern(5000));
        let e = copy_capped(&mut f, &mut src, 4000, 1 << 20).unwrap_err();
        assert!(
            matches!(
                e,
                ExtractError::Longer {
                    expected: 4000,
                    max: 1048576,
                    ..
                }
            ),
            "{e}"
        );
        assert!(f.written() <= 4000);
        assert!(src.position() <= 4001, "read {} bytes", src.position());
    }

    #[test]
    fn shorter_source_fails() {
        let (_tmp, mut dir) = setup();
        let mut f = dir.create("ramdisk").unwrap();
        let e = copy_capped(&mut f, &mut Cursor::new(vec![0; 10]), 11, 100).unwrap_err();
        assert!(
            e.to_string()
                .ends_with("source ended after 10 of its stated 11 bytes"),
            "{e}"
        );
    }

    #[test]
    fn full_filesystem_fails_cleanly_and_leaves_nothing() {
        let (tmp, mut dir) = setup();
        let mut k = dir.create("kernel").unwrap();
        copy_capped(&mut k, &mut Cursor::new(b"K".to_vec()), 1, 10).unwrap();
        dir.finish(k).unwrap();
        let mut r = dir.create("ramdisk").unwrap();
        // /dev/full: every write fails with ENOSPC, from the kernel.
        r.file = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap();
        let data = pattern(3 << 20);
        let e =
            copy_capped(&mut r, &mut Cursor::new(&data), data.len() as u64, 1 << 30).unwrap_err();
        assert!(matches!(e, ExtractError::NoSpace { written: 0, .. }), "{e}");
        assert!(e.to_string().contains("output filesystem full"), "{e}");
        let e = copy_from_file_range(&mut r, &File::open("/dev/zero").unwrap(), &[(0, 100)], 1000)
            .unwrap_err();
        assert!(matches!(e, ExtractError::NoSpace { .. }), "{e}");
        assert_eq!(listing(tmp.path()).len(), 2);
        drop((r, dir));
        assert!(listing(tmp.path()).is_empty());
    }

    /// Accepts `room` bytes, then reports a full disk.
    struct FillsUp {
        room: usize,
        got: Vec<u8>,
    }
    impl Write for FillsUp {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            let n = b.len().min(self.room - self.got.len());
            if n == 0 {
                return Err(io::Error::from_raw_os_error(libc::ENOSPC));
            }
            self.got.extend_from_slice(&b[..n]);
            Ok(n)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn stream_counts_bytes_before_enospc() {
        let mut w = FillsUp {
            room: 1500,
            got: Vec::new(),
        };
        let data = pattern(4096);
        let mut buf = vec![0; 1024];
        let mut count = 0;
        let f =
            copy_stream(&mut w, &mut Cursor::new(&data), 4096, &mut buf, &mut count).unwrap_err();
        assert!(
            matches!(f, Failure::Write(ref e) if e.raw_os_error() == Some(libc::ENOSPC)),
            "{f:?}"
        );
        assert_eq!(count, 1024, "the second chunk did not fit");
        assert_eq!(w.got, data[..1500]);
    }

    fn ranges_copy(use_copy_file_range: bool) {
        let (tmp, mut dir) = setup();
        let data = pattern(5 << 20);
        let src_path = tmp.path().join("disk.img");
        std::fs::write(&src_path, &data).unwrap();
        let src = File::open(&src_path).unwrap();
        let ranges = [(100u64, 5000u64), (0, 10), (3 << 20, (1 << 20) + 3), (7, 0)];
        let mut f = dir.create("kernel").unwrap();
        f.copy_file_range = match use_copy_file_range {
            true => KernelCopy::Always,
            false => KernelCopy::Never,
        };
        let n = copy_from_file_range(&mut f, &src, &ranges, 1 << 30).unwrap();
        let want: Vec<u8> = ranges
            .iter()
            .flat_map(|&(o, l)| data[o as usize..(o + l) as usize].to_vec())
            .collect();
        assert_eq!(n, want.len() as u64);
        assert_eq!(f.written(), n);
        let path = dir.finish(f).unwrap();
        assert_eq!(std::fs::read(path).unwrap(), want);
    }

    #[test]
    fn a_range_copy_reaches_a_64k_destination_boundary_first() {
        const A: u64 = DEST_ALIGN;
        assert_eq!(to_dest_boundary(0, 1 << 20), 1 << 20);
        assert_eq!(to_dest_boundary(A * 3, 1 << 20), 1 << 20);
        assert_eq!(to_dest_boundary(5010, 1 << 20), (A - 5010) as usize);
        assert_eq!(to_dest_boundary(118_910_976, 133_750_784), 36_864);
        // ends before the boundary, or exactly on it: one piece
        assert_eq!(to_dest_boundary(5010, 100), 100);
        assert_eq!(
            to_dest_boundary(5010, (A - 5010) as usize),
            (A - 5010) as usize
        );
    }

    #[test]
    fn file_ranges_with_copy_file_range() {
        ranges_copy(true);
    }

    #[test]
    fn file_ranges_with_pread_fallback() {
        ranges_copy(false);
    }

    #[test]
    fn file_range_errors() {
        let (tmp, mut dir) = setup();
        let src_path = tmp.path().join("disk.img");
        std::fs::write(&src_path, pattern(1000)).unwrap();
        let src = File::open(&src_path).unwrap();
        let mut f = dir.create("kernel").unwrap();
        let e = copy_from_file_range(&mut f, &src, &[(900, 200)], 1000).unwrap_err();
        assert!(
            matches!(
                e,
                ExtractError::Shorter {
                    expected: 200,
                    got: 100,
                    ..
                }
            ),
            "{e}"
        );
        let e = copy_from_file_range(&mut f, &src, &[(0, 600), (0, 600)], 1000).unwrap_err();
        assert!(matches!(e, ExtractError::TooLarge { .. }), "{e}");
        let e = copy_from_file_range(&mut f, &src, &[(0, u64::MAX), (0, 2)], u64::MAX).unwrap_err();
        assert!(matches!(e, ExtractError::TooLarge { .. }), "{e}");
        let e = copy_from_file_range(&mut f, &src, &[(u64::MAX, 2)], u64::MAX).unwrap_err();
        assert!(matches!(e, ExtractError::BadRange { .. }), "{e}");
    }

    #[test]
    fn block_device_like_source_falls_back() {
        // /dev/zero is not a regular file: copy_file_range refuses, pread + write copies.
        let (_tmp, mut dir) = setup();
        let mut f = dir.create("kernel").unwrap();
        f.copy_file_range = KernelCopy::Always;
        let n = copy_from_file_range(
            &mut f,
            &File::open("/dev/zero").unwrap(),
            &[(0, 3 << 20)],
            1 << 30,
        )
        .unwrap();
        assert_eq!(n, 3 << 20);
        assert_eq!(f.copy_file_range, KernelCopy::Never);
        let path = dir.finish(f).unwrap();
        let got = std::fs::read(path).unwrap();
        assert_eq!(got.len(), 3 << 20);
        assert!(got.iter().all(|&b| b == 0));
    }

    /// Pieces of a test disk, as an ext file would map them.
    struct Pieces {
        disk: crate::disk::Disk,
        segs: Vec<Segment>,
    }

    impl SegmentSource for Pieces {
        fn disk(&self) -> &crate::disk::Disk {
            &self.disk
        }
        fn next_segment(&mut self, max: u64) -> Result<Option<Segment>, crate::fs::FsError> {
            if self.segs.is_empty() {
                return Ok(None);
            }
            let seg = self.segs.remove(0);
            let (len, rest) = match seg {
                Segment::Data { len, .. } | Segment::Zeros { len } => {
                    (len.min(max), len.saturating_sub(max))
                }
            };
            let (now, later) = match seg {
                Segment::Data { disk_offset, .. } => (
                    Segment::Data { disk_offset, len },
                    Segment::Data {
                        disk_offset: disk_offset + len,
                        len: rest,
                    },
                ),
                Segment::Zeros { .. } => (Segment::Zeros { len }, Segment::Zeros { len: rest }),
            };
            if rest > 0 {
                self.segs.insert(0, later);
            }
            Ok(Some(now))
        }
    }

    fn pieces(tmp: &tempfile::TempDir, segs: Vec<Segment>) -> Pieces {
        let img = tmp.path().join("disk.img");
        std::fs::write(&img, pattern(1 << 20)).unwrap();
        Pieces {
            disk: crate::disk::Disk::open(&img).unwrap(),
            segs,
        }
    }

    #[test]
    fn segments_copy_data_and_holes_in_order() {
        let (tmp, mut dir) = setup();
        let mut src = pieces(
            &tmp,
            vec![
                Segment::Data {
                    disk_offset: 4096,
                    len: 5000,
                },
                Segment::Zeros { len: 3000 },
                Segment::Data {
                    disk_offset: 100,
                    len: 7,
                },
            ],
        );
        let mut f = dir.create("kernel").unwrap();
        assert_eq!(
            copy_segments(&mut f, &mut src, 8007, 1 << 20).unwrap(),
            8007
        );
        let path = dir.finish(f).unwrap();
        let got = std::fs::read(path).unwrap();
        let disk = pattern(1 << 20);
        let mut want = disk[4096..9096].to_vec();
        want.extend(std::iter::repeat_n(0u8, 3000));
        want.extend(&disk[100..107]);
        assert_eq!(got, want);
    }

    #[test]
    fn segments_longer_or_shorter_than_stated_fail() {
        let (tmp, mut dir) = setup();
        let mut f = dir.create("kernel").unwrap();
        let mut src = pieces(
            &tmp,
            vec![Segment::Data {
                disk_offset: 0,
                len: 100,
            }],
        );
        assert!(matches!(
            copy_segments(&mut f, &mut src, 50, 1 << 20),
            Err(ExtractError::Longer { .. })
        ));
        let mut f = dir.create("kernel").unwrap();
        let mut src = pieces(&tmp, vec![Segment::Zeros { len: 10 }]);
        assert!(matches!(
            copy_segments(&mut f, &mut src, 50, 1 << 20),
            Err(ExtractError::Shorter { .. })
        ));
        let mut f = dir.create("kernel").unwrap();
        let mut src = pieces(
            &tmp,
            vec![Segment::Data {
                disk_offset: 0,
                len: 100,
            }],
        );
        assert!(matches!(
            copy_segments(&mut f, &mut src, 100, 99),
            Err(ExtractError::TooLarge { .. })
        ));
    }

    #[test]
    fn segments_past_the_disk_end_fail() {
        let (tmp, mut dir) = setup();
        let mut f = dir.create("kernel").unwrap();
        let mut src = pieces(
            &tmp,
            vec![Segment::Data {
                disk_offset: (1 << 20) - 10,
                len: 100,
            }],
        );
        assert!(copy_segments(&mut f, &mut src, 100, 1 << 20).is_err());
    }
}

#[cfg(test)]
mod stacked_tests {
    use super::*;
    use crate::disk::{Backing, DiskError, HostExtent};
    use crate::extract::OutputDir;

    /// A disk whose bytes are in memory, stored verbatim in a host file only for the
    /// second half (as a qcow2 image stores some clusters compressed and some plain).
    struct HalfMapped {
        bytes: Vec<u8>,
        file: File,
    }

    impl Backing for HalfMapped {
        fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> Result<(), DiskError> {
            let start = offset as usize;
            buf.copy_from_slice(&self.bytes[start..start + buf.len()]);
            Ok(())
        }
        fn host_extent(&self, offset: u64, len: u64) -> Result<Option<HostExtent<'_>>, DiskError> {
            let half = self.bytes.len() as u64 / 2;
            Ok(match offset >= half {
                true => Some(HostExtent {
                    file: &self.file,
                    offset,
                    len,
                }),
                false => None,
            })
        }
        fn format(&self) -> &'static str {
            "test"
        }
    }

    struct OneRange(crate::disk::Disk, Option<Segment>);

    impl SegmentSource for OneRange {
        fn disk(&self) -> &crate::disk::Disk {
            &self.0
        }
        fn next_segment(&mut self, _max: u64) -> Result<Option<Segment>, crate::fs::FsError> {
            Ok(self.1.take())
        }
    }

    #[test]
    fn unmapped_pieces_are_read_and_mapped_ones_copied() {
        let tmp = tempfile::tempdir().unwrap();
        let bytes: Vec<u8> = (0..3 << 20).map(|i: u32| (i % 251) as u8).collect();
        let img = tmp.path().join("host.img");
        std::fs::write(&img, &bytes).unwrap();
        let backing = HalfMapped {
            bytes: bytes.clone(),
            file: File::open(&img).unwrap(),
        };
        let disk = Disk::from_backing(img.clone(), bytes.len() as u64, Box::new(backing));
        let (start, len) = (1000u64, (3 << 20) - 2000u64);
        let mut src = OneRange(
            disk,
            Some(Segment::Data {
                disk_offset: start,
                len,
            }),
        );
        let mut dir = OutputDir::prepare(Some(tmp.path())).unwrap();
        let mut f = dir.create("kernel").unwrap();
        assert_eq!(copy_segments(&mut f, &mut src, len, 1 << 30).unwrap(), len);
        let path = dir.finish(f).unwrap();
        assert_eq!(
            std::fs::read(path).unwrap(),
            &bytes[start as usize..(start + len) as usize]
        );
    }
}
