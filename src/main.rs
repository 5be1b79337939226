//! The `domuloader` command: argument parsing and error reporting only; all work is in
//! the library.

mod cli;

use clap::Parser;
use cli::args::Args;
use std::process::ExitCode;

/// Help and version print and exit 0; any other usage error is one line and exit 1, like
/// every other failure (callers treat any non-zero exit as failure).
fn parse_args() -> Result<Args, ExitCode> {
    use clap::error::ErrorKind;
    Args::try_parse().map_err(|e| match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = e.print();
            ExitCode::SUCCESS
        }
        _ => {
            let text = e.to_string();
            let first = text.lines().next().unwrap_or("invalid arguments");
            eprintln!("domuloader: {}", first.trim_start_matches("error: "));
            ExitCode::FAILURE
        }
    })
}

fn main() -> ExitCode {
    // A file-size limit (RLIMIT_FSIZE) must fail the write like a full disk, with a clean
    // error and cleanup, rather than kill us with SIGXFSZ halfway through a copy.
    // SAFETY: setting a signal to SIG_IGN before any thread exists.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
    let args = match parse_args() {
        Ok(a) => a,
        Err(code) => return code,
    };
    match cli::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.downcast_ref::<cli::runas::AlreadyReported>().is_some() => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("domuloader: {e:#}");
            ExitCode::FAILURE
        }
    }
}
