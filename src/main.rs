//! The `domuloader` command: argument parsing and error reporting only; all work is in
//! the library.
//!
//! Whatever happens, the run ends with exit 0 (success, `--help`, `--version`) or exit 1
//! and one line on stderr: a usage error, a failure, a signal, even a panic (a hook prints
//! one line; the unwind runs the cleanup). And whatever happens, a FIFO named by
//! `--output` is opened once, so xend never waits forever for a result.

mod cli;

use clap::Parser;
use cli::args::Args;
use cli::say;
use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    cli::signals::install();
    std::panic::set_hook(Box::new(|info| {
        let msg = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "panic".to_owned());
        let at = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        say::err(&format!("internal error: {msg}{at}"));
    }));
    let argv: Vec<OsString> = std::env::args_os().collect();
    // Test hook, in debug builds only: a panic through the real binary.
    #[cfg(debug_assertions)]
    if std::env::var_os("DOMULOADER_TEST_PANIC").is_some() {
        let _ = std::panic::catch_unwind(|| panic!("test panic\x1b[2J"));
        domuloader::output::sink::release(output_arg(&argv).as_deref());
        return ExitCode::FAILURE;
    }
    let ok = std::panic::catch_unwind(|| run(&argv)).unwrap_or(false);
    if ok {
        return ExitCode::SUCCESS;
    }
    domuloader::output::sink::release(output_arg(&argv).as_deref());
    ExitCode::FAILURE
}

/// Parses and runs; false on any failure (already reported in one line).
fn run(argv: &[OsString]) -> bool {
    use clap::error::ErrorKind;
    let args = match Args::try_parse_from(argv) {
        Ok(a) => a,
        Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => {
            let _ = say::out(e.to_string().as_bytes());
            return true;
        }
        Err(e) => {
            let text = e.to_string();
            let first = text.lines().next().unwrap_or("invalid arguments");
            say::err(first.trim_start_matches("error: "));
            return false;
        }
    };
    // libxl always names the result file; a run that does not is no `xl create`
    let for_a_toolstack = args.output.is_some();
    let verbose = args.verbose > 0 || args.debug;
    let ok = match cli::run(args) {
        Ok(()) => true,
        Err(e) => {
            if let Some(sig) = cli::signals::pending() {
                say::err(&cli::signals::Interrupted(sig).to_string());
            } else if e.downcast_ref::<cli::worker::AlreadyReported>().is_none() {
                say::err(&say::one_line(&e));
            }
            false
        }
    };
    // after the last line, so xl's console client shows it: see cli::console_client
    if for_a_toolstack {
        if let Some(waited) = cli::console_client::wait() {
            if verbose {
                say::err(&format!(
                    "waited {} ms for xl's console client",
                    waited.as_millis()
                ));
            }
        }
    }
    ok
}

/// `--output`'s value, read from argv without clap (which may just have refused argv).
fn output_arg(argv: &[OsString]) -> Option<PathBuf> {
    use std::os::unix::ffi::OsStrExt;
    let mut it = argv.iter().skip(1);
    let mut found = None;
    while let Some(a) = it.next() {
        let b = a.as_bytes();
        if b == b"--" {
            break;
        } else if b == b"--output" {
            found = it.next().map(PathBuf::from);
        } else if let Some(v) = b.strip_prefix(b"--output=") {
            found = Some(PathBuf::from(std::ffi::OsStr::from_bytes(v)));
        }
    }
    found
}
