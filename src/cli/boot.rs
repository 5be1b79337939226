//! The boot itself: choose the files, copy them into the output directory under the size
//! cap, and write the result once, only when everything succeeded.
//!
//! Split in two so that `--runas` can run the first half in an unprivileged child:
//! [`Outputs::open`] (privileged: directory, both output files, result sink) and
//! [`extract`] (guest parsing and copying into the already open files) and
//! [`Outputs::finish`] (renames, result, commit).

use super::args::Args;
use anyhow::Context;
use domuloader::boot::{self, Request, Selection};
use domuloader::entry::EntrySpec;
use domuloader::extract::{copy_capped, copy_segments, OutputDir, OutputFile};
use domuloader::guest::diskset::DiskSet;
use domuloader::guest::resolve::Resolved;
use domuloader::guest::spec::DeviceSpec;
use domuloader::limits::DEFAULT_MAX_FILE_SIZE;
use domuloader::output::sink::ResultSink;
use domuloader::output::{render, BootResult, Format};
use serde::{Deserialize, Serialize};
use std::io::Read;

/// What the caller asked for, as the library's request.
pub fn request(args: &Args, entry: Option<EntrySpec>) -> anyhow::Result<Request> {
    let root = args
        .root
        .as_deref()
        .map(DeviceSpec::parse_arg)
        .transpose()
        .context("--root")?;
    Ok(Request {
        entry,
        kernel: args.kernel.as_ref().map(|k| k.as_bytes().to_vec()),
        ramdisk: args.ramdisk.as_ref().map(|k| k.as_bytes().to_vec()),
        root,
        entry_text: args.entry.clone(),
    })
}

/// Everything we write, opened before any guest byte is parsed. Dropping it without
/// [`Outputs::finish`] removes every file it created.
pub struct Outputs {
    dir: OutputDir,
    sink: ResultSink,
    format: Format,
    pub kernel: OutputFile,
    pub ramdisk: OutputFile,
}

/// What the extraction produced, besides the bytes in the output files.
#[derive(Debug, Serialize, Deserialize)]
pub struct Extracted {
    pub has_ramdisk: bool,
    pub cmdline: String,
    /// domUloader's "Copy kernel … for booting" line, without the output file names.
    pub kernel_from: String,
    pub device: String,
}

impl Outputs {
    pub fn open(args: &Args) -> anyhow::Result<Outputs> {
        let format: Format = args.output_format.as_deref().unwrap_or("sxp").parse()?;
        let mut dir = OutputDir::prepare(args.output_directory.as_deref())?;
        let kernel = dir.create("kernel")?;
        let ramdisk = dir.create("ramdisk")?;
        let sink = ResultSink::open(args.output.as_deref())?;
        Ok(Outputs {
            dir,
            sink,
            format,
            kernel,
            ramdisk,
        })
    }

    /// Renames the finished files into place, writes the result once, and keeps the files.
    pub fn finish(mut self, args: &Args, x: &Extracted) -> anyhow::Result<()> {
        let kernel = self.dir.finish(self.kernel)?;
        let ramdisk = match x.has_ramdisk {
            true => Some(self.dir.finish(self.ramdisk)?),
            false => None, // never finished: commit removes it
        };
        let result = BootResult {
            kernel: kernel.clone(),
            ramdisk: ramdisk.clone(),
            args: x.cmdline.clone(),
        };
        let bytes = render(&result, self.format)?;
        if !args.quiet {
            let mut line = format!(
                "Copy kernel {} from {} to {} for booting",
                x.kernel_from,
                x.device,
                kernel.display()
            );
            if let Some(r) = &ramdisk {
                line.push_str(&format!(" (ramdisk {})", r.display()));
            }
            announce(args, &line);
        }
        self.sink.write(&bytes)?;
        self.dir.commit();
        Ok(())
    }
}

/// Chooses the files and copies them into `files` (kernel, ramdisk); with no files
/// (`--dryrun`) only reports what it would copy.
pub fn extract(
    args: &Args,
    set: &DiskSet,
    req: &Request,
    files: Option<(&mut OutputFile, &mut OutputFile)>,
) -> anyhow::Result<Extracted> {
    let sel = boot::select(set, req)?;
    if !args.quiet {
        warn_used_filesystems(&sel);
    }
    let x = Extracted {
        has_ramdisk: !sel.initrd.is_empty(),
        cmdline: join_args(&sel.args, args.args.as_deref()),
        kernel_from: sel.kernel.display(),
        device: sel.device.clone(),
    };
    let Some((kernel, ramdisk)) = files else {
        if !args.quiet {
            eprintln!("domuloader: dry run: would copy {}", describe(&sel));
        }
        return Ok(x);
    };
    if args.verbose > 0 || args.debug {
        eprintln!("domuloader: copying {}", describe(&sel));
    }
    let max = args.max_size.unwrap_or(DEFAULT_MAX_FILE_SIZE);
    copy(kernel, "kernel", std::slice::from_ref(&sel.kernel), max)?;
    copy(ramdisk, "ramdisk", &sel.initrd, max)?;
    Ok(x)
}

/// Warnings (an unreplayed journal, …) of the filesystems the files come from, once each.
fn warn_used_filesystems(sel: &Selection) {
    let mut seen: Vec<String> = Vec::new();
    for f in std::iter::once(&sel.kernel).chain(&sel.initrd) {
        for w in f.mount.fs.warnings() {
            if !seen.contains(w) {
                eprintln!("domuloader: warning: {}: {w}", f.mount.source);
                seen.push(w.clone());
            }
        }
    }
}

/// The menu entry's own arguments, then the caller's (pygrub: `--args` is appended).
fn join_args(own: &str, extra: Option<&str>) -> String {
    match (own.trim(), extra.map(str::trim).filter(|e| !e.is_empty())) {
        ("", None) => String::new(),
        ("", Some(e)) => e.to_owned(),
        (o, None) => o.to_owned(),
        (o, Some(e)) => format!("{o} {e}"),
    }
}

/// Copies `files` (several initrds are concatenated) into `out`, under the cap in total
/// (the cap counts what `out` already holds). Zero-copy from the image where the
/// filesystem maps the file onto the disk, else through a buffer.
fn copy(out: &mut OutputFile, what: &str, files: &[Resolved], max: u64) -> anyhow::Result<()> {
    for f in files {
        let context = || format!("{what} {}", f.display());
        let fs_path = &f.fs_path;
        match f.mount.fs.segments(fs_path).with_context(context)? {
            Some(mut src) => copy_segments(out, src.as_mut(), f.stat.size, max),
            None => {
                let mut reader: Box<dyn Read + '_> = f.open().with_context(context)?;
                copy_capped(out, &mut reader, f.stat.size, max)
            }
        }
        .with_context(context)?;
    }
    Ok(())
}

fn describe(sel: &Selection) -> String {
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

/// domUloader's console line goes to stdout, where xend's console shows it, unless the
/// result itself goes to stdout; then to stderr, so it never mixes into the result.
fn announce(args: &Args, line: &str) {
    let result_on_stdout = args.output.as_deref().is_none_or(|p| p.as_os_str() == "-");
    if result_on_stdout {
        eprintln!("{line}");
    } else {
        println!("{line}");
    }
}

/// Runs everything in this process (no `--runas`).
pub fn run(
    args: &Args,
    set: &DiskSet,
    req: &Request,
    outputs: Option<Outputs>,
) -> anyhow::Result<()> {
    match outputs {
        None => extract(args, set, req, None).map(|_| ()),
        Some(mut out) => {
            let x = extract(args, set, req, Some((&mut out.kernel, &mut out.ramdisk)))?;
            out.finish(args, &x)
        }
    }
}
