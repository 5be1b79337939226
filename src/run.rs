//! One boot as a library call: a request, the guest's opened disks and an output directory
//! in; the kernel and ramdisk committed in that directory and the [`BootResult`] out.
//!
//! [`boot()`] does it all in this process. The steps are public too, because the command
//! line runs them in two processes: [`Staged::open`] (everything written, opened first),
//! [`extract`] (every guest byte parsed, and the copying, possibly confined and
//! unprivileged), [`Staged::link`] (the files named) and [`Linked::keep`] (after the caller
//! wrote the result). Until `keep`, dropping any of them removes every file the run made.
//!
//! Before the first byte is copied, the result is rendered with the files' final names
//! (an argument the chosen format cannot carry fails here, not after the copy) and the
//! kernel and the initrds' total size are checked against the cap.
//!
//! ```
//! use domuloader::disk::Disk;
//! use domuloader::guest::{devname::DevName, diskset::DiskSet};
//! use domuloader::entry::parse_entry;
//! use domuloader::run::{boot, BootRequest};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let disk = Disk::open(std::path::Path::new("fixtures/demo.img"))?;
//! let set = DiskSet::from_opened(vec![(disk, DevName::parse("xvda")?)])?;
//! let mut req = BootRequest::default();
//! req.select.entry = Some(parse_entry("/vmlinuz,/initrd.img")?);
//! req.args = Some("console=hvc0".into());
//! let out = tempfile::tempdir()?;
//! let result = boot(&req, &set, out.path())?;
//! assert!(result.kernel.starts_with(out.path()));
//! assert!(std::fs::metadata(&result.kernel)?.len() > 0);
//! assert!(result.ramdisk.is_some());
//! assert!(result.args.ends_with("console=hvc0"));
//! # Ok(())
//! # }
//! ```

use crate::boot::{self, BootError, Request, Selection};
use crate::extract::{copy_capped, copy_segments, ExtractError, OutputDir, OutputFile};
use crate::guest::diskset::DiskSet;
use crate::guest::resolve::Resolved;
use crate::limits::{DEFAULT_MAX_FILE_SIZE, MAX_METADATA_READ};
use crate::output::{render, BootResult, Format, OutputError};
use std::path::{Path, PathBuf};

/// What to boot, and under which limits.
#[derive(Clone, Debug)]
pub struct BootRequest {
    /// Which entry or files (`--entry`, `--kernel`/`--ramdisk`, `--root`).
    pub select: Request,
    /// Arguments appended after the entry's own (`--args`, xapi's `--extra_args`).
    pub args: Option<String>,
    /// Arguments used when the entry has none of its own (xapi's `--default_args`).
    pub default_args: Option<String>,
    /// Largest kernel, and largest total of the initrds.
    pub max_size: u64,
    /// The result format the caller will write: checked before anything is copied.
    pub format: Format,
}

impl Default for BootRequest {
    fn default() -> BootRequest {
        BootRequest {
            select: Request::default(),
            args: None,
            default_args: None,
            max_size: DEFAULT_MAX_FILE_SIZE,
            format: Format::Sxp,
        }
    }
}

/// Why one boot failed.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Boot(#[from] BootError),
    #[error(transparent)]
    Extract(#[from] ExtractError),
    #[error(transparent)]
    Output(#[from] OutputError),
    #[error("{path}")]
    File {
        path: String,
        source: crate::fs::FsError,
    },
    #[error("{what} {path}: {size} bytes is over the {max}-byte size cap")]
    TooLarge {
        what: &'static str,
        path: String,
        size: u64,
        max: u64,
    },
}

/// What extraction found, besides the bytes now in the output files.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct Extracted {
    pub has_ramdisk: bool,
    /// The kernel command line: the entry's arguments, then the request's.
    pub cmdline: String,
    /// The kernel's guest path and the device it came from, for domUloader's console line.
    pub kernel_from: String,
    pub device: String,
    /// Warnings of the filesystems the files came from (an unreplayed journal, …).
    pub warnings: Vec<String>,
    /// "kernel /boot/vmlinuz from xvda1 and initrd …", for messages.
    pub description: String,
}

/// The output directory and both (unnamed) output files, opened before any guest byte is
/// read. Dropping it removes everything it created.
pub struct Staged {
    dir: OutputDir,
    pub kernel: OutputFile,
    pub ramdisk: OutputFile,
}

/// Where the files are meant to end up, for the render check before copying.
#[derive(Clone, Debug)]
pub struct Planned {
    pub kernel: PathBuf,
    pub ramdisk: PathBuf,
}

impl Staged {
    /// Opens (creating if needed) `dir` and creates both output files in it.
    pub fn open(dir: Option<&Path>) -> Result<Staged, RunError> {
        let mut dir = OutputDir::prepare(dir)?;
        let kernel = dir.create("kernel")?;
        let ramdisk = dir.create("ramdisk")?;
        Ok(Staged {
            dir,
            kernel,
            ramdisk,
        })
    }

    /// The output directory's descriptor (a forked worker closes it: it needs only the
    /// files).
    pub fn dir_fd(&self) -> std::os::fd::RawFd {
        self.dir.raw_fd()
    }

    /// The final paths the files are meant to get.
    pub fn planned(&self) -> Planned {
        Planned {
            kernel: self.dir.path().join(self.kernel.planned_name()),
            ramdisk: self.dir.path().join(self.ramdisk.planned_name()),
        }
    }

    /// Names the finished files; the ramdisk only if there is one.
    pub fn link(mut self, x: &Extracted) -> Result<Linked, RunError> {
        let kernel = self.dir.finish(self.kernel)?;
        let ramdisk = match x.has_ramdisk {
            true => Some(self.dir.finish(self.ramdisk)?),
            false => None, // never finished: dropped with the run
        };
        Ok(Linked {
            dir: self.dir,
            result: BootResult {
                kernel,
                ramdisk,
                args: x.cmdline.clone(),
            },
        })
    }
}

/// Files named in the output directory but not yet kept: dropping this removes them.
pub struct Linked {
    dir: OutputDir,
    pub result: BootResult,
}

impl Linked {
    /// Keeps the files for good (after the caller delivered the result).
    pub fn keep(self) -> BootResult {
        self.dir.commit();
        self.result
    }
}

/// Where [`extract`] copies to: both open files and the names they are meant to get.
pub struct Target<'a> {
    pub kernel: &'a mut OutputFile,
    pub ramdisk: &'a mut OutputFile,
    pub planned: Planned,
}

impl Staged {
    /// The target for [`extract`].
    pub fn target(&mut self) -> Target<'_> {
        let planned = self.planned();
        Target {
            kernel: &mut self.kernel,
            ramdisk: &mut self.ramdisk,
            planned,
        }
    }
}

/// Boots `req` from `set` into `dir` in this process: the files are committed and the
/// result returned; on any error nothing is left in `dir` (and a directory this call
/// created is removed).
pub fn boot(req: &BootRequest, set: &DiskSet, dir: &Path) -> Result<BootResult, RunError> {
    let mut staged = Staged::open(Some(dir))?;
    let x = extract(set, req, Some(staged.target()), &mut Vec::new())?;
    let linked = staged.link(&x)?;
    render(&linked.result, req.format)?;
    Ok(linked.keep())
}

/// Chooses the files on `set` and copies them into `target`; without a target (a dry
/// run), only chooses. Warnings of the filesystems used are pushed to `warnings` as soon as
/// they are known, so a caller can show them even when the copy then fails.
pub fn extract(
    set: &DiskSet,
    req: &BootRequest,
    target: Option<Target<'_>>,
    warnings: &mut Vec<String>,
) -> Result<Extracted, RunError> {
    let sel = boot::select(set, &req.select)?;
    *warnings = used_filesystem_warnings(&sel);
    let x = Extracted {
        has_ramdisk: !sel.initrd.is_empty(),
        cmdline: cmdline(&sel.args, req),
        kernel_from: sel.kernel.display(),
        device: sel.device.clone(),
        warnings: warnings.clone(),
        description: describe(&sel),
    };
    let Some(t) = target else {
        return Ok(x);
    };
    let planned = BootResult {
        kernel: t.planned.kernel.clone(),
        ramdisk: x.has_ramdisk.then(|| t.planned.ramdisk.clone()),
        args: x.cmdline.clone(),
    };
    render(&planned, req.format)?;
    let total = check_sizes(&sel, req.max_size)?;
    allow_file_reads(set, total);
    copy(t.kernel, std::slice::from_ref(&sel.kernel), req.max_size)?;
    copy(t.ramdisk, &sel.initrd, req.max_size)?;
    Ok(x)
}

/// The kernel and the initrds together must each fit the cap: refused before copying.
/// Returns the bytes to copy.
fn check_sizes(sel: &Selection, max: u64) -> Result<u64, RunError> {
    let too_large = |what, path, size| RunError::TooLarge {
        what,
        path,
        size,
        max,
    };
    if sel.kernel.stat.size > max {
        return Err(too_large(
            "kernel",
            sel.kernel.display(),
            sel.kernel.stat.size,
        ));
    }
    let initrd = sel
        .initrd
        .iter()
        .try_fold(0u64, |sum, f| sum.checked_add(f.stat.size))
        .unwrap_or(u64::MAX);
    if initrd > max {
        let names: Vec<String> = sel.initrd.iter().map(Resolved::display).collect();
        return Err(too_large("initrd", names.join(" + "), initrd));
    }
    Ok(sel.kernel.stat.size.saturating_add(initrd))
}

/// File bytes have their own budget: the metadata budget each disk was opened with does not
/// grow with `--max-size`, and the copy may read the files' bytes (plus another metadata
/// budget for their extent trees) on top of what the walk already read.
fn allow_file_reads(set: &DiskSet, file_bytes: u64) {
    for d in set.disks() {
        let budget = d
            .disk
            .bytes_read()
            .saturating_add(MAX_METADATA_READ)
            .saturating_add(file_bytes);
        d.disk.set_read_budget(budget);
    }
}

/// Warnings of the filesystems the files come from, once each.
fn used_filesystem_warnings(sel: &Selection) -> Vec<String> {
    let mut seen: Vec<String> = Vec::new();
    for f in std::iter::once(&sel.kernel).chain(&sel.initrd) {
        for w in f.mount.fs.warnings() {
            let line = format!("{}: {w}", f.mount.source);
            if !seen.contains(&line) {
                seen.push(line);
            }
        }
    }
    seen
}

/// The entry's own arguments (or the default ones when it has none), then the request's
/// (pygrub: `--args` is appended).
fn cmdline(own: &str, req: &BootRequest) -> String {
    let own = match own.trim() {
        "" => req.default_args.as_deref().unwrap_or("").trim(),
        o => o,
    };
    let extra = req.args.as_deref().map(str::trim).filter(|e| !e.is_empty());
    match (own, extra) {
        ("", None) => String::new(),
        ("", Some(e)) => e.to_owned(),
        (o, None) => o.to_owned(),
        (o, Some(e)) => format!("{o} {e}"),
    }
}

/// Copies `files` (several initrds are concatenated) into `out`, under the cap in total.
/// Zero-copy from the image where the filesystem maps the file onto the disk, else
/// through a buffer.
fn copy(out: &mut OutputFile, files: &[Resolved], max: u64) -> Result<(), RunError> {
    for f in files {
        match f
            .mount
            .fs
            .segments(&f.fs_path)
            .map_err(|e| file_error(f, e))?
        {
            Some(mut src) => copy_segments(out, src.as_mut(), f.stat.size, max)?,
            None => {
                let mut reader = f.open().map_err(|e| file_error(f, e))?;
                copy_capped(out, &mut reader, f.stat.size, max)?
            }
        };
    }
    Ok(())
}

fn file_error(f: &Resolved, source: crate::fs::FsError) -> RunError {
    RunError::File {
        path: f.display(),
        source,
    }
}

/// A one-line description of the choice: "kernel /boot/vmlinuz from xvda1 and initrd …".
pub fn describe(sel: &Selection) -> String {
    let initrds: Vec<String> = sel.initrd.iter().map(Resolved::display).collect();
    let title = sel
        .title
        .as_deref()
        .map(|t| format!(" (entry {t:?})"))
        .unwrap_or_default();
    let initrd = match initrds.is_empty() {
        true => String::new(),
        false => format!(" and initrd {}", initrds.join(" + ")),
    };
    format!(
        "kernel {} from {}{initrd}{title}",
        sel.kernel.display(),
        sel.device
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cmdline_joins_defaults_and_extras() {
        let mut req = BootRequest::default();
        assert_eq!(cmdline("", &req), "");
        req.args = Some(" quiet ".into());
        assert_eq!(cmdline("root=/dev/xvda1", &req), "root=/dev/xvda1 quiet");
        req.default_args = Some("ro".into());
        assert_eq!(cmdline("", &req), "ro quiet");
        assert_eq!(cmdline("own", &req), "own quiet");
    }
}
