//! The output directory, its files, and the guard that removes them on failure.
//!
//! The directory path is the caller's (xend's, libxl's or the admin's `--output-directory`),
//! never the guest's, so a symlink *to* the directory is followed — `/var/lib/xen/tmp` may
//! well be one. It is opened once and pinned by descriptor; only names *inside* it are
//! guarded (`O_EXCL|O_NOFOLLOW`, no-replace renames). A directory anyone may write to without
//! the sticky bit is refused: another user could swap our finished file before xend reads it.
//!
//! Creating, renaming and removing need write access to the directory. Under `--runas`
//! (libxl's directory is root's, mode 0600) do those in a privileged process and only the
//! copying in the deprivileged one: the copy needs just the open [`OutputFile`].
//! A forked child must leave with `_exit`, so that its copy of the guard does not run.

use super::{sys, ExtractError};
use std::ffi::{CStr, CString};
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// domUloader's default output directory.
pub const DEFAULT_OUTPUT_DIR: &str = "/var/lib/xen/tmp";

/// Random names tried before giving up: 62^6 names make a collision in a sane directory
/// rare, so many failures mean something is wrong, not unlucky.
const NAME_ATTEMPTS: usize = 100;

/// Length of the random part of a name, as in mkstemp's `XXXXXX`.
const SUFFIX_LEN: usize = 6;

type Suffix = [u8; SUFFIX_LEN];

/// The opened output directory, and the files this run created in it.
#[derive(Debug)]
pub struct OutputDir {
    path: PathBuf,
    cleanup: Cleanup,
    /// Create files with `O_TMPFILE` (cleared when the filesystem lacks it).
    unnamed: bool,
}

/// Whether [`OutputFile`] copies ranges of a host file with `copy_file_range` rather than
/// `pread` + `write`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum KernelCopy {
    /// Not decided: at the first range, where the kernel can share or offload the copy
    /// ([`super::sys::may_share_extents`]); a file's ranges all come from one image.
    WhereShared,
    Always,
    /// Never (a filesystem where it only costs, or it proved unsupported for this file).
    Never,
}

/// A file being written, still under its partial name. Finish it with the
/// [`OutputDir::finish`] of the directory that created it.
pub struct OutputFile {
    pub(super) file: File,
    pub(super) path: PathBuf,
    pub(super) written: u64,
    /// Reused across chunks and calls; allocated on the first copy.
    pub(super) buf: Vec<u8>,
    /// When ranges of a host file are copied with `copy_file_range`.
    pub(super) copy_file_range: KernelCopy,
    prefix: String,
    suffix: Suffix,
    /// The `.partial` name, or `None` for an unnamed (`O_TMPFILE`) file.
    partial: Option<CString>,
}

impl std::fmt::Debug for OutputFile {
    /// Without the 1 MiB buffer.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutputFile")
            .field("path", &self.path)
            .field("written", &self.written)
            .finish_non_exhaustive()
    }
}

impl OutputFile {
    /// Where the data is being written: the partial name, or for an unnamed file the
    /// name it is meant to get.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The final name this file is meant to get ([`OutputDir::finish`] picks another only
    /// if someone took this one meanwhile).
    pub fn planned_name(&self) -> String {
        final_name(&self.prefix, &self.suffix)
    }

    /// True for an `O_TMPFILE` file, which has no name until finished.
    pub fn is_unnamed(&self) -> bool {
        self.partial.is_none()
    }

    /// Bytes written so far.
    pub fn written(&self) -> u64 {
        self.written
    }
}

impl OutputDir {
    /// Opens `path` (default [`DEFAULT_OUTPUT_DIR`]), creating it with mode 0750 if missing.
    /// Relative paths are made absolute, since the caller reads the result elsewhere.
    pub fn prepare(path: Option<&Path>) -> Result<OutputDir, ExtractError> {
        let given = path.unwrap_or(Path::new(DEFAULT_OUTPUT_DIR));
        let dir_err = |source| ExtractError::Dir {
            path: given.to_owned(),
            source,
        };
        let path = std::path::absolute(given).map_err(dir_err)?;
        let missing = missing_ancestors(&path);
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o750)
            .create(&path)
            .map_err(dir_err)?;
        // From here on, a failure removes the directories this run created.
        let mut created = CreatedDirs(missing);
        let dir = open_dir(&path).map_err(dir_err)?;
        check_not_world_writable(&dir, &path)?;
        Ok(OutputDir {
            path,
            cleanup: Cleanup {
                dir: dir.into(),
                entries: Vec::new(),
                created: std::mem::take(&mut created.0),
                armed: true,
            },
            unnamed: can_link_unnamed(),
        })
    }

    /// Uses the named `.partial` scheme even where `O_TMPFILE` works (for tests of the
    /// fallback).
    pub fn use_named_partials(&mut self) {
        self.unnamed = false;
    }

    /// The directory, absolute.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The directory's descriptor (for a forked worker to close: it needs only the files).
    pub fn raw_fd(&self) -> std::os::fd::RawFd {
        std::os::fd::AsRawFd::as_raw_fd(&self.cleanup.dir)
    }

    /// Creates a new, empty file for writing: unnamed (`O_TMPFILE`) where the filesystem
    /// supports it, else `.PREFIX.XXXXXX.partial`.
    pub fn create(&mut self, prefix: &str) -> Result<OutputFile, ExtractError> {
        check_prefix(prefix)?;
        for _ in 0..NAME_ATTEMPTS {
            let suffix = random_suffix().map_err(|e| self.create_error(prefix, e))?;
            match self.create_with_suffix(prefix, suffix) {
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                other => return other.map_err(|e| self.create_error(prefix, e)),
            }
        }
        Err(self.no_free_name(prefix))
    }

    /// Moves a completely written file to `PREFIX.XXXXXX` and returns that path. If the
    /// name was taken meanwhile, another random name is used: nothing is ever replaced.
    pub fn finish(&mut self, file: OutputFile) -> Result<PathBuf, ExtractError> {
        let mut suffix = file.suffix;
        for _ in 0..NAME_ATTEMPTS {
            let name = final_name(&file.prefix, &suffix);
            let cname = sys::cstring(&name).map_err(|e| rename_error(&file, e))?;
            let placed = match &file.partial {
                Some(partial) => self.move_into_place(partial, &cname),
                None => self.link_unnamed(&file.file, &cname),
            };
            match placed {
                Ok(()) => return Ok(self.path.join(name)),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(rename_error(&file, e)),
            }
            suffix = random_suffix().map_err(|e| rename_error(&file, e))?;
        }
        Err(self.no_free_name(&file.prefix))
    }

    /// Keeps the finished files and returns their paths; removes files never finished.
    pub fn commit(mut self) -> Vec<PathBuf> {
        self.cleanup.armed = false;
        let dir = self.cleanup.dir.as_fd();
        let mut kept = Vec::new();
        for (name, finished) in &self.cleanup.entries {
            match finished {
                true => kept.push(self.path.join(name.to_string_lossy().as_ref())),
                false => {
                    let _ = sys::unlink(dir, name);
                }
            }
        }
        kept
    }

    fn create_with_suffix(&mut self, prefix: &str, suffix: Suffix) -> io::Result<OutputFile> {
        if self.unnamed {
            match sys::create_unnamed(self.cleanup.dir.as_fd()) {
                Ok(file) => return Ok(self.output_file(file, prefix, suffix, None)),
                Err(e) if sys::unnamed_unsupported(&e) => self.unnamed = false,
                Err(e) => return Err(e),
            }
        }
        let name = partial_name(prefix, &suffix);
        let partial = sys::cstring(&name)?;
        let file = sys::create_excl(self.cleanup.dir.as_fd(), &partial)?;
        self.cleanup.record(partial.clone(), false);
        Ok(self.output_file(file, prefix, suffix, Some(partial)))
    }

    fn output_file(
        &self,
        file: File,
        prefix: &str,
        suffix: Suffix,
        partial: Option<CString>,
    ) -> OutputFile {
        let shown = match &partial {
            Some(p) => p.to_string_lossy().into_owned(),
            None => final_name(prefix, &suffix),
        };
        OutputFile {
            file,
            path: self.path.join(shown),
            written: 0,
            buf: Vec::new(),
            copy_file_range: KernelCopy::WhereShared,
            prefix: prefix.to_owned(),
            suffix,
            partial,
        }
    }

    /// Names an unnamed file; never replaces (`linkat` fails with `EEXIST`).
    fn link_unnamed(&mut self, file: &File, name: &CStr) -> io::Result<()> {
        sys::link_fd(file, self.cleanup.dir.as_fd(), name)?;
        self.cleanup.record(name.to_owned(), true);
        Ok(())
    }

    /// Renames without replacing; `link` + `unlink` where `RENAME_NOREPLACE` is missing.
    /// The guard learns of a final name only once it is ours, so it never removes a file
    /// someone else owns under that name.
    fn move_into_place(&mut self, partial: &CStr, name: &CStr) -> io::Result<()> {
        let dir = self.cleanup.dir.as_fd();
        match sys::rename_noreplace(dir, partial, name) {
            Ok(()) => {
                self.cleanup.record(name.to_owned(), true);
                self.cleanup.forget(partial);
                return Ok(());
            }
            Err(e) if !sys::noreplace_unsupported(&e) => return Err(e),
            Err(_) => {}
        }
        self.link_into_place(partial, name)
    }

    fn link_into_place(&mut self, partial: &CStr, name: &CStr) -> io::Result<()> {
        sys::link(self.cleanup.dir.as_fd(), partial, name)?;
        self.cleanup.record(name.to_owned(), true);
        sys::unlink(self.cleanup.dir.as_fd(), partial)?;
        self.cleanup.forget(partial);
        Ok(())
    }

    fn create_error(&self, prefix: &str, source: io::Error) -> ExtractError {
        ExtractError::Create {
            dir: self.path.clone(),
            prefix: prefix.to_owned(),
            source,
        }
    }

    fn no_free_name(&self, prefix: &str) -> ExtractError {
        ExtractError::NoFreeName {
            dir: self.path.clone(),
            prefix: prefix.to_owned(),
            tries: NAME_ATTEMPTS,
        }
    }
}

/// Names created in the directory; removed on drop unless disarmed by `commit`.
#[derive(Debug)]
struct Cleanup {
    dir: OwnedFd,
    /// (name, finished): finished names survive `commit`, partial ones do not.
    entries: Vec<(CString, bool)>,
    /// Directories `prepare` created, outermost first: removed (if empty) on failure.
    created: Vec<PathBuf>,
    armed: bool,
}

impl Cleanup {
    fn record(&mut self, name: CString, finished: bool) {
        self.entries.push((name, finished));
    }

    fn forget(&mut self, name: &CStr) {
        self.entries.retain(|(n, _)| n.as_c_str() != name);
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        for (name, _) in &self.entries {
            let _ = sys::unlink(self.dir.as_fd(), name);
        }
        for d in self.created.iter().rev() {
            let _ = std::fs::remove_dir(d);
        }
    }
}

/// Directories created by a `prepare` that then failed: removed again, innermost first.
struct CreatedDirs(Vec<PathBuf>);

impl Drop for CreatedDirs {
    fn drop(&mut self) {
        for d in self.0.iter().rev() {
            let _ = std::fs::remove_dir(d);
        }
    }
}

/// Whether an unnamed file can be given a name later: with `AT_EMPTY_PATH` (root's
/// `CAP_DAC_READ_SEARCH`, or any user since Linux 6.10) or through `/proc/self/fd`. If
/// neither may work, the named `.partial` scheme is used from the start.
fn can_link_unnamed() -> bool {
    // SAFETY: geteuid cannot fail.
    let root = unsafe { libc::geteuid() } == 0;
    root || Path::new("/proc/self/fd").is_dir()
}

/// `path` and its ancestors that do not exist yet, outermost first (what `create_dir_all`
/// is about to create). Bounded by the path's own components.
fn missing_ancestors(path: &Path) -> Vec<PathBuf> {
    let mut missing: Vec<PathBuf> = path
        .ancestors()
        .take_while(|p| std::fs::symlink_metadata(p).is_err())
        .map(Path::to_path_buf)
        .collect();
    missing.reverse();
    missing
}

fn open_dir(path: &Path) -> io::Result<File> {
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY | libc::O_CLOEXEC)
        .open(path)
}

fn check_not_world_writable(dir: &File, path: &Path) -> Result<(), ExtractError> {
    let meta = dir.metadata().map_err(|source| ExtractError::Dir {
        path: path.to_owned(),
        source,
    })?;
    let mode = meta.mode();
    if mode & libc::S_IWOTH != 0 && mode & libc::S_ISVTX == 0 {
        return Err(ExtractError::UnsafeDir {
            path: path.to_owned(),
        });
    }
    Ok(())
}

/// A prefix is one plain name component: `kernel`, `ramdisk`, `boot_kernel`, …
fn check_prefix(prefix: &str) -> Result<(), ExtractError> {
    let ok = !prefix.is_empty()
        && prefix.len() <= 64
        && prefix
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    match ok {
        true => Ok(()),
        false => Err(ExtractError::BadPrefix(prefix.to_owned())),
    }
}

fn partial_name(prefix: &str, suffix: &Suffix) -> String {
    format!(".{}.partial", final_name(prefix, suffix))
}

fn final_name(prefix: &str, suffix: &Suffix) -> String {
    // The suffix is ASCII alphanumerics by construction.
    format!("{prefix}.{}", String::from_utf8_lossy(suffix))
}

fn rename_error(file: &OutputFile, source: io::Error) -> ExtractError {
    ExtractError::Rename {
        from: file.path.clone(),
        source,
    }
}

/// Six characters from `[A-Za-z0-9]`, uniformly (rejection sampling over random bytes).
fn random_suffix() -> io::Result<Suffix> {
    const ALPHABET: &[u8; 62] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut out = [0u8; SUFFIX_LEN];
    let mut filled = 0;
    // 248 = 4 * 62: bytes below it map uniformly; each byte is accepted with p = 0.97, so
    // 8 rounds of 32 bytes failing to yield 6 is beyond any plausible chance.
    for _ in 0..8 {
        let mut random = [0u8; 32];
        sys::random_bytes(&mut random)?;
        for b in random.into_iter().filter(|&b| b < 248) {
            if let Some(slot) = out.get_mut(filled) {
                *slot = ALPHABET[usize::from(b % 62)];
                filled += 1;
            }
        }
        if filled == SUFFIX_LEN {
            return Ok(out);
        }
    }
    Err(io::Error::other(
        "random source returned too few usable bytes",
    ))
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use std::collections::HashSet;
    use std::io::Write;
    use std::os::unix::fs::PermissionsExt;

    /// Names in `dir`, sorted, including dot files.
    pub fn listing(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    /// An output directory using the named `.partial` scheme.
    fn named(path: &Path) -> OutputDir {
        let mut dir = OutputDir::prepare(Some(path)).unwrap();
        dir.use_named_partials();
        dir
    }

    fn written(dir: &mut OutputDir, prefix: &str, data: &[u8]) -> PathBuf {
        let mut f = dir.create(prefix).unwrap();
        f.file.write_all(data).unwrap();
        dir.finish(f).unwrap()
    }

    #[test]
    fn create_write_finish_commit() {
        let tmp = tempfile::tempdir().unwrap();
        let mut dir = named(tmp.path());
        let f = dir.create("kernel").unwrap();
        let name = f.path().file_name().unwrap().to_str().unwrap().to_owned();
        assert!(
            name.starts_with(".kernel.") && name.ends_with(".partial"),
            "{name}"
        );
        let meta = std::fs::symlink_metadata(f.path()).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        drop(f);
        let k = written(&mut dir, "kernel", b"K");
        let kname = k.file_name().unwrap().to_str().unwrap();
        assert_eq!(kname.len(), "kernel.".len() + 6);
        assert!(kname["kernel.".len()..]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric()));
        assert_eq!(std::fs::read(&k).unwrap(), b"K");
        assert_eq!(dir.commit(), vec![k.clone()]);
        // The unfinished partial is gone, the finished file stays.
        assert_eq!(listing(tmp.path()), vec![kname.to_owned()]);
    }

    #[test]
    fn unnamed_files_appear_only_when_finished() {
        let tmp = tempfile::tempdir().unwrap();
        let mut dir = OutputDir::prepare(Some(tmp.path())).unwrap();
        let mut f = dir.create("kernel").unwrap();
        assert!(f.is_unnamed(), "O_TMPFILE works on the test filesystem");
        f.file.write_all(b"K").unwrap();
        assert!(
            listing(tmp.path()).is_empty(),
            "nothing visible while writing"
        );
        let planned = f.planned_name();
        let k = dir.finish(f).unwrap();
        assert_eq!(k, tmp.path().join(&planned));
        let _unfinished = dir.create("ramdisk").unwrap();
        assert_eq!(dir.commit(), vec![k.clone()]);
        assert_eq!(listing(tmp.path()), vec![planned]);
        assert_eq!(std::fs::read(k).unwrap(), b"K");
    }

    #[test]
    fn created_directories_removed_on_failure() {
        let tmp = tempfile::tempdir().unwrap();
        let deep = tmp.path().join("a/b/c");
        let mut dir = OutputDir::prepare(Some(&deep)).unwrap();
        written(&mut dir, "kernel", b"K");
        drop(dir);
        assert!(listing(tmp.path()).is_empty(), "a/b/c removed again");
        let dir = OutputDir::prepare(Some(&deep)).unwrap();
        dir.commit();
        assert!(deep.is_dir(), "kept on success");
    }

    #[test]
    fn drop_without_commit_removes_everything() {
        let tmp = tempfile::tempdir().unwrap();
        let mut dir = named(tmp.path());
        written(&mut dir, "kernel", b"K");
        let _partial = dir.create("ramdisk").unwrap();
        assert_eq!(listing(tmp.path()).len(), 2);
        drop(dir);
        assert!(listing(tmp.path()).is_empty());
    }

    #[test]
    fn planted_symlink_at_partial_name_is_not_followed() {
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path().join("target");
        let link = tmp.path().join(".kernel.AAAAAA.partial");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let mut dir = named(tmp.path());
        let e = dir.create_with_suffix("kernel", *b"AAAAAA").unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::AlreadyExists);
        assert!(!target.exists(), "symlink target must not be created");
        drop(dir);
        assert!(
            std::fs::symlink_metadata(&link).is_ok(),
            "not our file: kept"
        );
    }

    #[test]
    fn planted_symlink_at_final_name_is_not_replaced() {
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path().join("target");
        std::fs::write(&target, b"precious").unwrap();
        let link = tmp.path().join("kernel.BBBBBB");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let mut dir = named(tmp.path());
        let mut f = dir.create_with_suffix("kernel", *b"BBBBBB").unwrap();
        f.file.write_all(b"KERNEL").unwrap();
        let out = dir.finish(f).unwrap();
        assert_ne!(out, link);
        assert_eq!(std::fs::read(&out).unwrap(), b"KERNEL");
        assert_eq!(std::fs::read_link(&link).unwrap(), target);
        assert_eq!(std::fs::read(&target).unwrap(), b"precious");
        drop(dir);
        assert_eq!(listing(tmp.path()), vec!["kernel.BBBBBB", "target"]);
    }

    #[test]
    fn link_fallback_never_replaces() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("kernel.CCCCCC"), b"other").unwrap();
        let mut dir = named(tmp.path());
        let f = dir.create_with_suffix("kernel", *b"CCCCCC").unwrap();
        let taken = sys::cstring("kernel.CCCCCC").unwrap();
        let partial = f.partial.clone().unwrap();
        let e = dir.link_into_place(&partial, &taken).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::AlreadyExists);
        let free = sys::cstring("kernel.DDDDDD").unwrap();
        dir.link_into_place(&partial, &free).unwrap();
        assert_eq!(dir.commit(), vec![tmp.path().join("kernel.DDDDDD")]);
        assert_eq!(listing(tmp.path()), vec!["kernel.CCCCCC", "kernel.DDDDDD"]);
        assert_eq!(
            std::fs::read(tmp.path().join("kernel.CCCCCC")).unwrap(),
            b"other"
        );
    }

    #[test]
    fn concurrent_runs_get_distinct_files() {
        let tmp = tempfile::tempdir().unwrap();
        let threads: Vec<_> = (0..32)
            .map(|i| {
                let path = tmp.path().to_owned();
                std::thread::spawn(move || {
                    let mut dir = OutputDir::prepare(Some(&path)).unwrap();
                    let k = written(&mut dir, "kernel", format!("k{i}").as_bytes());
                    let r = written(&mut dir, "ramdisk", format!("r{i}").as_bytes());
                    dir.commit();
                    (i, k, r)
                })
            })
            .collect();
        let mut seen = HashSet::new();
        for t in threads {
            let (i, k, r) = t.join().unwrap();
            assert_eq!(std::fs::read(&k).unwrap(), format!("k{i}").as_bytes());
            assert_eq!(std::fs::read(&r).unwrap(), format!("r{i}").as_bytes());
            assert!(seen.insert(k) && seen.insert(r));
        }
        assert_eq!(listing(tmp.path()).len(), 64);
    }

    #[test]
    fn missing_dir_created_0750_and_relative_made_absolute() {
        let tmp = tempfile::tempdir().unwrap();
        let want = tmp.path().join("a/b");
        let dir = OutputDir::prepare(Some(&want)).unwrap();
        assert_eq!(dir.path(), want);
        let mode = std::fs::metadata(&want).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o750 & !current_umask());
        let rel = OutputDir::prepare(Some(Path::new("."))).unwrap();
        assert!(rel.path().is_absolute());
    }

    fn current_umask() -> u32 {
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let line = status.lines().find(|l| l.starts_with("Umask:")).unwrap();
        u32::from_str_radix(line["Umask:".len()..].trim(), 8).unwrap()
    }

    #[test]
    fn world_writable_dir_refused_unless_sticky() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
        let e = OutputDir::prepare(Some(tmp.path())).unwrap_err();
        assert!(matches!(e, ExtractError::UnsafeDir { .. }), "{e}");
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o1777)).unwrap();
        assert!(OutputDir::prepare(Some(tmp.path())).is_ok());
    }

    #[test]
    fn symlink_to_dir_is_followed() {
        let tmp = tempfile::tempdir().unwrap();
        let real = tmp.path().join("real");
        std::fs::create_dir(&real).unwrap();
        let link = tmp.path().join("link");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let mut dir = OutputDir::prepare(Some(&link)).unwrap();
        let k = written(&mut dir, "kernel", b"K");
        assert_eq!(k.parent().unwrap(), link);
        dir.commit();
        assert_eq!(listing(&real).len(), 1);
    }

    #[test]
    fn bad_prefixes() {
        let tmp = tempfile::tempdir().unwrap();
        let mut dir = OutputDir::prepare(Some(tmp.path())).unwrap();
        for p in ["", "../x", "a/b", ".hidden", "a b", "é"] {
            assert!(
                matches!(dir.create(p), Err(ExtractError::BadPrefix(_))),
                "{p:?}"
            );
        }
        assert!(dir.create("boot_kernel").is_ok());
    }

    #[test]
    fn suffixes_look_random() {
        let all: HashSet<Suffix> = (0..1000).map(|_| random_suffix().unwrap()).collect();
        assert!(all.len() > 990);
        assert!(all.iter().flatten().all(|b| b.is_ascii_alphanumeric()));
    }
}
