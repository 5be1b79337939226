//! The boot itself: choose the files, copy them into the output directory under the size
//! cap, and write the result once, only when everything succeeded.

use super::args::Args;
use anyhow::Context;
use domuloader::boot::{self, Request, Selection};
use domuloader::entry::EntrySpec;
use domuloader::extract::{copy_capped, OutputDir};
use domuloader::guest::diskset::DiskSet;
use domuloader::guest::resolve::Resolved;
use domuloader::guest::spec::DeviceSpec;
use domuloader::limits::DEFAULT_MAX_FILE_SIZE;
use domuloader::output::sink::ResultSink;
use domuloader::output::{render, BootResult, Format};
use std::io::Read;
use std::path::PathBuf;

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
    })
}

/// Outputs opened before any guest data is parsed, so that `--runas` can drop privileges
/// right after, and a result is written only at the very end.
pub struct Outputs {
    pub dir: OutputDir,
    pub sink: ResultSink,
    pub format: Format,
}

impl Outputs {
    pub fn open(args: &Args) -> anyhow::Result<Outputs> {
        let format: Format = args.output_format.as_deref().unwrap_or("sxp").parse()?;
        let dir = OutputDir::prepare(args.output_directory.as_deref())?;
        let sink = ResultSink::open(args.output.as_deref())?;
        Ok(Outputs { dir, sink, format })
    }
}

/// Chooses, copies and reports. On any error the output directory guard removes every
/// file this run created and the result sink is never written.
pub fn boot(args: &Args, set: &DiskSet, req: &Request, out: Option<Outputs>) -> anyhow::Result<()> {
    let sel = boot::select(set, req)?;
    let cmdline = join_args(&sel.args, args.args.as_deref());
    for fs_warning in set
        .filesystems()
        .iter()
        .flat_map(|(_, f)| f.warnings().to_vec())
    {
        if !args.quiet {
            eprintln!("domuloader: warning: {fs_warning}");
        }
    }
    let Some(mut out) = out else {
        if !args.quiet {
            eprintln!("{}", describe(&sel, "would copy"));
        }
        return Ok(());
    };
    let max = args.max_size.unwrap_or(DEFAULT_MAX_FILE_SIZE);
    let kernel = copy(
        &mut out.dir,
        "kernel",
        std::slice::from_ref(&sel.kernel),
        max,
    )?;
    let ramdisk = match sel.initrd.is_empty() {
        true => None,
        false => Some(copy(&mut out.dir, "ramdisk", &sel.initrd, max)?),
    };
    let result = BootResult {
        kernel: kernel.clone(),
        ramdisk: ramdisk.clone(),
        args: cmdline,
    };
    let bytes = render(&result, out.format)?;
    if !args.quiet {
        announce(args, &sel, &kernel, ramdisk.as_ref());
    }
    out.sink.write(&bytes)?;
    out.dir.commit();
    Ok(())
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

/// Copies `files` (several initrds are concatenated) into a new `PREFIX.XXXXXX`.
fn copy(
    dir: &mut OutputDir,
    prefix: &str,
    files: &[Resolved],
    max: u64,
) -> anyhow::Result<PathBuf> {
    let mut out = dir.create(prefix)?;
    for f in files {
        let mut reader: Box<dyn Read + '_> = f.open().with_context(|| f.display())?;
        let limit = max.saturating_sub(out.written());
        copy_capped(&mut out, &mut reader, f.stat.size, limit)
            .with_context(|| format!("{prefix} {}", f.display()))?;
    }
    Ok(dir.finish(out)?)
}

fn describe(sel: &Selection, verb: &str) -> String {
    let initrds: Vec<String> = sel.initrd.iter().map(Resolved::display).collect();
    let title = sel
        .title
        .as_deref()
        .map(|t| format!(" (entry {t:?})"))
        .unwrap_or_default();
    let initrd = if initrds.is_empty() {
        String::new()
    } else {
        format!(" and initrd {}", initrds.join(" + "))
    };
    format!(
        "domuloader: {verb} kernel {} from {}{initrd}{title}",
        sel.kernel.display(),
        sel.device
    )
}

/// domUloader's console line. It goes to stdout, where xend's console shows it, unless the
/// result itself goes to stdout; then to stderr, so it never mixes into the result.
fn announce(args: &Args, sel: &Selection, kernel: &std::path::Path, ramdisk: Option<&PathBuf>) {
    let mut line = format!(
        "Copy kernel {} from {} to {} for booting",
        sel.kernel.display(),
        sel.device,
        kernel.display()
    );
    if let (Some(r), Some(first)) = (ramdisk, sel.initrd.first()) {
        line.push_str(&format!("; ramdisk {} to {}", first.display(), r.display()));
    }
    let to_stdout = args.output.as_deref().is_some_and(|p| p.as_os_str() != "-");
    if to_stdout {
        println!("{line}");
    } else {
        eprintln!("{line}");
    }
}
