//! A boot from the command line: argv mapped to the library's [`BootRequest`], the
//! library's steps ([`domuloader::run`]) split between the parent (outputs, result) and the
//! confined worker (parsing, copying), and the result written in the chosen format.

use super::args::Args;
use super::disks::OpenDisks;
use super::say;
use super::worker::{self, Confinement};
use anyhow::Context;
use domuloader::boot::Request;
use domuloader::entry::EntrySpec;
use domuloader::guest::spec::DeviceSpec;
use domuloader::limits::{worker_report_cap, DEFAULT_MAX_FILE_SIZE};
use domuloader::output::sink::ResultSink;
use domuloader::output::{render, Format};
use domuloader::run::{extract, BootRequest, Extracted, Staged};

/// What the caller asked for, as the library's request.
pub fn request(args: &Args, entry: Option<EntrySpec>) -> anyhow::Result<BootRequest> {
    let root = args
        .root
        .as_deref()
        .map(DeviceSpec::parse_arg)
        .transpose()
        .context("--root")?;
    let format: Format = args.output_format.as_deref().unwrap_or("sxp").parse()?;
    let extra: Vec<&str> = [args.args.as_deref(), args.extra_args.as_deref()]
        .into_iter()
        .flatten()
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .collect();
    Ok(BootRequest {
        select: Request {
            entry,
            kernel: args.kernel.as_ref().map(|k| k.as_bytes().to_vec()),
            ramdisk: args.ramdisk.as_ref().map(|k| k.as_bytes().to_vec()),
            root,
            entry_text: args.entry.clone(),
        },
        args: (!extra.is_empty()).then(|| extra.join(" ")),
        default_args: args.default_args.clone(),
        max_size: args.max_size.unwrap_or(DEFAULT_MAX_FILE_SIZE),
        format,
    })
}

/// Everything we write, opened before any guest byte is parsed. Dropping it without
/// [`Outputs::finish`] removes every file it created.
pub struct Outputs {
    staged: Staged,
    sink: ResultSink,
}

impl Outputs {
    pub fn open(args: &Args) -> anyhow::Result<Outputs> {
        let sink = ResultSink::open(args.output.as_deref())?;
        let staged = Staged::open(args.output_directory.as_deref())?;
        Ok(Outputs { staged, sink })
    }

    /// Names the finished files, writes the result once, keeps the files; only then says
    /// "Copy kernel … for booting".
    pub fn finish(self, args: &Args, req: &BootRequest, x: &Extracted) -> anyhow::Result<()> {
        let linked = self.staged.link(x)?;
        let bytes = render(&linked.result, req.format)?;
        super::signals::check()?;
        self.sink.write(&bytes)?;
        let result = linked.keep();
        if !args.quiet {
            for w in &x.warnings {
                say::err(&format!("warning: {w}"));
            }
            let mut line = format!(
                "Copy kernel {} from {} to {} for booting",
                x.kernel_from,
                x.device,
                result.kernel.display()
            );
            if let Some(r) = &result.ramdisk {
                line.push_str(&format!(" (ramdisk {})", r.display()));
            }
            announce(args, &line);
        }
        Ok(())
    }
}

/// domUloader's console line goes to stdout, where xend's console shows it, unless the
/// result itself goes to stdout; then to stderr, so it never mixes into the result. The
/// result is already delivered: a console that cannot take the line changes nothing.
fn announce(args: &Args, line: &str) {
    let result_on_stdout = args.output.as_deref().is_none_or(|p| p.as_os_str() == "-");
    if result_on_stdout {
        say::raw_err(line);
    } else {
        let _ = say::out(format!("{}\n", domuloader::term::escape(line)).as_bytes());
    }
}

/// Runs the boot: the worker parses and copies, the parent commits.
pub fn run(
    args: &Args,
    c: &Confinement,
    disks: OpenDisks,
    req: &BootRequest,
    outputs: Option<Outputs>,
) -> anyhow::Result<()> {
    let cap = worker_report_cap(caller_arg_bytes(args));
    let verbose = c.verbose;
    match outputs {
        None => {
            worker::run(c, cap, &[], || {
                let set = disks.into_set()?;
                let mut warnings = Vec::new();
                let x = extract(&set, req, None, &mut warnings)
                    .map_err(|e| with_warnings(e.into(), &warnings, verbose))?;
                if !args.quiet {
                    for w in &x.warnings {
                        say::err(&format!("warning: {w}"));
                    }
                    say::err(&format!("dry run: would copy {}", x.description));
                }
                Ok(Vec::new())
            })?;
            Ok(())
        }
        Some(mut out) => {
            let mut hide = vec![libc::STDOUT_FILENO, out.staged.dir_fd()];
            hide.extend(out.sink.raw_fd());
            let target = out.staged.target();
            let report = worker::run(c, cap, &hide, move || {
                let set = disks.into_set()?;
                let mut warnings = Vec::new();
                let x = extract(&set, req, Some(target), &mut warnings)
                    .map_err(|e| with_warnings(e.into(), &warnings, verbose))?;
                if verbose {
                    say::err(&format!("copied {}", x.description));
                }
                #[cfg(debug_assertions)]
                pause_for_tests();
                Ok(serde_json::to_vec(&x)?)
            })?;
            let x: Extracted =
                serde_json::from_slice(&report).context("worker process sent a bad report")?;
            out.finish(args, req, &x)
        }
    }
}

/// Warnings that came before an error are shown only under `-v`, so a failure is one line.
fn with_warnings(e: anyhow::Error, warnings: &[String], verbose: bool) -> anyhow::Error {
    if verbose {
        for w in warnings {
            say::err(&format!("warning: {w}"));
        }
    }
    e
}

/// Bytes of the arguments the caller passed that can end up in the report.
fn caller_arg_bytes(args: &Args) -> u64 {
    [
        &args.args,
        &args.extra_args,
        &args.default_args,
        &args.entry,
    ]
    .iter()
    .filter_map(|a| a.as_ref())
    .map(|a| a.len() as u64)
    .sum()
}

/// Test hook, in debug builds only: with `DOMULOADER_TEST_PAUSE` set, the worker says so
/// on stderr once both files are copied (not yet named, no result written) and waits, so
/// a test can signal or kill the run at exactly that point.
#[cfg(debug_assertions)]
fn pause_for_tests() {
    if std::env::var_os("DOMULOADER_TEST_PAUSE").is_some() {
        say::raw_err(&format!("test pause: worker {}", std::process::id()));
        loop {
            std::thread::sleep(std::time::Duration::from_secs(1));
        }
    }
}
