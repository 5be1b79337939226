//! The binary's edge: argv mapped to the library's requests (clap), the parse run in a
//! confined worker ([`worker`]), results and errors printed ([`say`], anyhow).
//!
//! Order, in every mode: everything written is opened first (the result destination —
//! xend's FIFO — then the output directory and files), then the inputs, then the worker
//! forks, drops `--runas` privileges, confines itself and parses. A failure before the
//! result destination was opened still releases a FIFO there (see `main`).

pub mod args;
pub mod boot;
pub mod console_client;
pub mod disks;
pub mod menu;
pub mod say;
pub mod signals;
pub mod worker;

use anyhow::Context;
use args::Args;
use domuloader::entry::{parse_entry, EntrySpec, MenuChoice};
use domuloader::limits::worker_report_cap;
use worker::Confinement;

/// Runs one invocation.
pub fn run(args: Args) -> anyhow::Result<()> {
    if args.generate_man || args.generate_completions.is_some() {
        return generate(&args);
    }
    let entry = args.entry.as_deref().map(entry_spec).transpose()?;
    let c = Confinement {
        identity: args
            .runas
            .as_deref()
            .map(domuloader::privdrop::Identity::lookup)
            .transpose()?,
        sandbox: !args.no_sandbox,
        verbose: args.verbose > 0 || args.debug,
        selftest: args.sandbox_selftest,
    };
    if args.sandbox_selftest {
        return in_worker(&c, || Ok(()));
    }
    if args.inspect {
        return inspect(&args, &c);
    }
    if args.isconfig {
        return isconfig(&args, &c, entry.as_ref());
    }
    let req = boot::request(&args, entry.clone())?;
    let specs = disks::specs(&args, entry.as_ref())?;
    disks::refuse_output_on_disk(&args, &specs)?;
    if args.list_entries {
        menu::check_format(&args)?;
        let disks = disks::open(&args, specs)?;
        return in_worker(&c, || menu::list(&args, &disks.into_set()?));
    }
    let outputs = match args.dryrun {
        true => None,
        false => Some(boot::Outputs::open(&args)?),
    };
    let disks = disks::open(&args, specs)?;
    boot::run(&args, &c, disks, &req, outputs)
}

/// Runs `work` in the confined worker; it prints its own output.
fn in_worker(c: &Confinement, work: impl FnOnce() -> anyhow::Result<()>) -> anyhow::Result<()> {
    worker::run(c, worker_report_cap(0), &[], || work().map(|()| Vec::new()))?;
    Ok(())
}

/// `--entry`, parsed; text that is no valid path entry but reads like a title (it has a
/// space: "Debian GNU/Linux, with Linux 6.1, recovery") is a pygrub menu choice.
fn entry_spec(text: &str) -> anyhow::Result<EntrySpec> {
    match parse_entry(text) {
        Ok(e) => Ok(e),
        Err(_) if text.contains(' ') => Ok(EntrySpec::Menu(MenuChoice::Title(text.to_owned()))),
        Err(e) => Err(e.into()),
    }
}

fn isconfig(args: &Args, c: &Confinement, entry: Option<&EntrySpec>) -> anyhow::Result<()> {
    let path = args
        .disk
        .as_deref()
        .context("--isconfig needs a config file (PHYSDISK)")?;
    menu::check_format(args)?;
    // Opening a FIFO would block: only a regular file is a config file.
    if std::fs::metadata(path).is_ok_and(|m| !m.is_file()) {
        anyhow::bail!("{}: not a regular file", path.display());
    }
    let file = std::fs::File::open(path).with_context(|| path.display().to_string())?;
    in_worker(c, || menu::isconfig(args, entry, file, path))
}

fn inspect(args: &Args, c: &Confinement) -> anyhow::Result<()> {
    let path = args.disk.as_deref().context("no disk given (PHYSDISK)")?;
    let json = match args.output_format.as_deref() {
        Some("json") => true,
        None | Some("text") => false,
        Some(other) => anyhow::bail!("--inspect: unknown output format {other:?} (text or json)"),
    };
    let disk = disks::open_disk(path, None)?;
    in_worker(c, || {
        let report = domuloader::inspect::inspect(&disk)?;
        match json {
            true => say::out(format!("{}\n", serde_json::to_string(&report)?).as_bytes())?,
            false => say::out_text(&report.to_string())?,
        }
        if let Some(e) = report.outside_disk(disk.size()) {
            return Err(e.into());
        }
        Ok(())
    })
}

/// The man page and completion scripts, from the same clap definition as the parser, so
/// they can never disagree with it. Hidden options are left out of both.
fn generate(args: &Args) -> anyhow::Result<()> {
    use clap::CommandFactory;
    let mut cmd = Args::command();
    let mut buf = Vec::new();
    match args.generate_completions {
        Some(shell) => clap_complete::generate(shell, &mut cmd, "domuloader", &mut buf),
        None => clap_mangen::Man::new(cmd)
            .render(&mut buf)
            .context("man page")?,
    }
    say::out(&buf)
}
