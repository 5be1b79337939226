//! The `domuloader` command: argument parsing and error reporting only; all work is in
//! the library.

use anyhow::Context;
use clap::Parser;
use std::path::PathBuf;
use std::process::ExitCode;

/// Extract a Xen PV guest's kernel and initrd from its disk, without mounting it.
#[derive(Parser, Debug)]
#[command(name = "domuloader", version, about)]
struct Args {
    /// Print the disk's partitions and filesystems instead of booting.
    #[arg(long)]
    inspect: bool,

    /// Result format: sxp, simple, simple0, json (for --inspect: text or json).
    #[arg(long = "output-format", value_name = "FMT")]
    output_format: Option<String>,

    /// The guest disk (image file or block device).
    #[arg(value_name = "PHYSDISK")]
    disk: PathBuf,
}

fn run(args: Args) -> anyhow::Result<()> {
    let disk = domuloader::disk::Disk::open(&args.disk)?;
    if args.inspect {
        let report = domuloader::inspect::inspect(&disk)?;
        match args.output_format.as_deref() {
            Some("json") => println!("{}", serde_json::to_string(&report).context("json")?),
            None | Some("text") => print!("{report}"),
            Some(other) => anyhow::bail!("--inspect: unknown output format {other:?}"),
        }
        return Ok(());
    }
    anyhow::bail!("booting is not implemented yet; use --inspect")
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("domuloader: {e:#}");
            ExitCode::FAILURE
        }
    }
}
