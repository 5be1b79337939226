//! Where the rendered result goes, written once, only on success.
//!
//! - No destination, or `-`: standard output.
//! - An existing path is opened `O_WRONLY` without `O_CREAT`, following symlinks (the path is
//!   the caller's choice, not the guest's): xend's FIFO, libxl's pre-created file, a device.
//!   It is not truncated when opened: a failed run leaves a previous result as it was. A
//!   regular file is emptied (`ftruncate`) only when the result is written, so old content
//!   never trails a shorter result.
//! - A missing path is created `O_CREAT|O_EXCL`, mode 0600; a planted dangling symlink there
//!   makes that fail instead of creating its target.
//! - A file descriptor is passed as `/dev/fd/N`. SUSE's domUloader also took a bare number
//!   (`--output=3`); we do not, because `3` is just as well a file name in the current
//!   directory, and guessing wrong would write the result into an unrelated descriptor.
//!   xend and libxl always pass a path.
//!
//! Two steps for `--runas`: [`ResultSink::open`] before dropping privileges (libxl's file
//! is root's), [`ResultSink::write`] at the end. [`write_result`] does both at once.

use super::OutputError;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::fd::IntoRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// Attempts at the open-existing / create-new race before giving up.
const OPEN_ATTEMPTS: usize = 3;

/// An opened result destination, not yet written.
#[derive(Debug)]
pub struct ResultSink {
    file: Option<File>,
    path: Option<PathBuf>,
    /// We created the file: remove it again if nothing gets written.
    created: bool,
}

/// Set once this process opened a result destination: until then, a failure must still
/// release a waiting reader (see [`release`]).
static OPENED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// For a run that fails before it opened its result destination (a usage error, a bad
/// option value): opens `dest` if it is an existing FIFO and closes it again, so a reader
/// blocked on it (xend) gets the empty result that means failure instead of waiting
/// forever. Nothing is created or written.
pub fn release(dest: Option<&Path>) {
    use std::os::unix::fs::FileTypeExt;
    if OPENED.load(std::sync::atomic::Ordering::Relaxed) {
        return;
    }
    let Some(path) = dest.filter(|p| p.as_os_str() != "-") else {
        return;
    };
    if std::fs::metadata(path).is_ok_and(|m| m.file_type().is_fifo()) {
        drop(open_existing(path));
    }
}

impl ResultSink {
    /// Opens `dest` (`None` or `-` = standard output) without writing anything.
    pub fn open(dest: Option<&Path>) -> Result<ResultSink, OutputError> {
        let Some(path) = dest.filter(|p| p.as_os_str() != "-") else {
            return Ok(ResultSink {
                file: None,
                path: None,
                created: false,
            });
        };
        OPENED.store(true, std::sync::atomic::Ordering::Relaxed);
        let (file, created) = open_path(path).map_err(|source| OutputError::Open {
            path: path.to_owned(),
            source,
        })?;
        Ok(ResultSink {
            file: Some(file),
            path: Some(path.to_owned()),
            created,
        })
    }

    /// Writes `bytes` and closes the destination, reporting a failed close too.
    pub fn write(mut self, bytes: &[u8]) -> Result<(), OutputError> {
        let res = match self.file.take() {
            None => write_stdout(bytes),
            Some(file) => write_file(file, bytes),
        };
        self.created = false;
        res.map_err(|source| OutputError::Write {
            dest: self.dest_name(),
            source,
        })
    }

    /// The open destination's descriptor; `None` for standard output.
    pub fn raw_fd(&self) -> Option<std::os::fd::RawFd> {
        self.file.as_ref().map(std::os::fd::AsRawFd::as_raw_fd)
    }

    fn dest_name(&self) -> String {
        match &self.path {
            Some(p) => p.display().to_string(),
            None => "stdout".to_owned(),
        }
    }
}

impl Drop for ResultSink {
    /// A file we created but never wrote would read as an empty result: remove it. Best
    /// effort; it may fail after privileges were dropped.
    fn drop(&mut self) {
        if let (true, Some(path)) = (self.created, &self.path) {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Writes `bytes` to `dest` (`None` or `-` = standard output), once.
pub fn write_result(dest: Option<&Path>, bytes: &[u8]) -> Result<(), OutputError> {
    ResultSink::open(dest)?.write(bytes)
}

/// Opens an existing path, else creates it; returns whether we created it.
fn open_path(path: &Path) -> io::Result<(File, bool)> {
    let mut last = io::Error::from(io::ErrorKind::NotFound);
    for _ in 0..OPEN_ATTEMPTS {
        match open_existing(path) {
            Ok(f) => return Ok((f, false)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        match create_new(path) {
            Ok(f) => return Ok((f, true)),
            // Appeared in between (or a dangling symlink): try opening it again.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = e,
            Err(e) => return Err(e),
        }
    }
    Err(last)
}

fn open_existing(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_NOCTTY | libc::O_CLOEXEC)
        .open(path)
}

fn create_new(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOCTTY | libc::O_CLOEXEC)
        .open(path)
}

fn write_stdout(bytes: &[u8]) -> io::Result<()> {
    let mut out = io::stdout().lock();
    out.write_all(bytes)?;
    out.flush()
}

fn write_file(mut file: File, bytes: &[u8]) -> io::Result<()> {
    if file.metadata()?.is_file() {
        file.set_len(0)?;
    }
    file.write_all(bytes)?;
    close(file)
}

/// `close(2)` with its error: on NFS a failed write can surface only here.
fn close(file: File) -> io::Result<()> {
    let fd = file.into_raw_fd();
    // SAFETY: `fd` was just released from a `File`, so we own it and close it exactly once.
    let r = unsafe { libc::close(fd) };
    let err = io::Error::last_os_error();
    // Linux releases the descriptor even when close is interrupted.
    if r == -1 && err.kind() != io::ErrorKind::Interrupted {
        return Err(err);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CString;
    use std::io::Read;
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::fs::PermissionsExt;

    fn mkfifo(path: &Path) {
        let c = CString::new(path.as_os_str().as_bytes()).unwrap();
        // SAFETY: valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    }

    #[test]
    fn fifo_gets_result_once() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("xenbl.1234");
        mkfifo(&fifo);
        let reader_path = fifo.clone();
        let reader = std::thread::spawn(move || {
            let mut got = Vec::new();
            File::open(reader_path)
                .unwrap()
                .read_to_end(&mut got)
                .unwrap();
            got
        });
        write_result(Some(&fifo), b"linux (kernel /k)").unwrap();
        assert_eq!(reader.join().unwrap(), b"linux (kernel /k)");
        let kind = std::fs::symlink_metadata(&fifo).unwrap().file_type();
        assert!(
            std::os::unix::fs::FileTypeExt::is_fifo(&kind),
            "still a FIFO"
        );
    }

    #[test]
    fn existing_file_is_truncated_not_recreated() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("bootloader.7.out");
        std::fs::write(&out, b"old longer content").unwrap();
        std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o640)).unwrap();
        write_result(Some(&out), b"kernel /k\0\0").unwrap();
        assert_eq!(std::fs::read(&out).unwrap(), b"kernel /k\0\0");
        let mode = std::fs::metadata(&out).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o640, "existing file keeps its mode");
    }

    #[test]
    fn existing_file_is_kept_until_written() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("bootloader.7.out");
        std::fs::write(&out, b"previous result").unwrap();
        drop(ResultSink::open(Some(&out)).unwrap());
        assert_eq!(std::fs::read(&out).unwrap(), b"previous result");
    }

    #[test]
    fn missing_file_is_created_0600() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("result");
        write_result(Some(&out), b"x").unwrap();
        assert_eq!(std::fs::read(&out).unwrap(), b"x");
        let mode = std::fs::metadata(&out).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn dangling_symlink_is_not_followed_to_create() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target");
        let link = dir.path().join("result");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let e = write_result(Some(&link), b"x").unwrap_err();
        assert!(e.to_string().starts_with("cannot open result file"), "{e}");
        assert!(!target.exists());
    }

    #[test]
    fn dev_fd_names_a_descriptor() {
        let mut fds = [0; 2];
        // SAFETY: `fds` has room for the two descriptors.
        assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
        let (r, w) = (fds[0], fds[1]);
        let path = PathBuf::from(format!("/dev/fd/{w}"));
        write_result(Some(&path), b"kernel /k\n\n").unwrap();
        // SAFETY: we own `w` and close it once; `r` becomes owned by the File.
        unsafe { libc::close(w) };
        let mut got = Vec::new();
        unsafe { <File as std::os::fd::FromRawFd>::from_raw_fd(r) }
            .read_to_end(&mut got)
            .unwrap();
        assert_eq!(got, b"kernel /k\n\n");
    }

    #[test]
    fn unwritten_created_file_is_removed() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("result");
        drop(ResultSink::open(Some(&out)).unwrap());
        assert!(!out.exists());
        let existing = dir.path().join("existing");
        std::fs::write(&existing, b"").unwrap();
        drop(ResultSink::open(Some(&existing)).unwrap());
        assert!(existing.exists(), "a file we did not create stays");
    }

    #[test]
    fn directory_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let e = write_result(Some(dir.path()), b"x").unwrap_err();
        assert!(
            e.to_string().contains(&dir.path().display().to_string()),
            "{e}"
        );
    }
}
