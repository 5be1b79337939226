//! The `domuloader` command: argument parsing and error reporting only; all work is in
//! the library.

mod cli;

use anyhow::Context;
use clap::Parser;
use cli::args::Args;
use std::process::ExitCode;

fn run(args: Args) -> anyhow::Result<()> {
    let path = args.disk.as_deref().context("no disk given (PHYSDISK)")?;
    let disk = domuloader::disk::Disk::open(path)?;
    if args.inspect {
        let report = domuloader::inspect::inspect(&disk)?;
        match args.output_format.as_deref() {
            Some("json") => println!("{}", serde_json::to_string(&report).context("json")?),
            None | Some("text") => print!("{report}"),
            Some(other) => anyhow::bail!("--inspect: unknown output format {other:?}"),
        }
        if let Some(e) = report.outside_disk(disk.size()) {
            return Err(e.into());
        }
        return Ok(());
    }
    anyhow::bail!("booting is not implemented yet; use --inspect")
}

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
    let args = match parse_args() {
        Ok(a) => a,
        Err(code) => return code,
    };
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("domuloader: {e:#}");
            ExitCode::FAILURE
        }
    }
}
