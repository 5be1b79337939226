//! The binary's edge: argument parsing (clap), wiring of the library's stages, and error
//! reporting (anyhow).

pub mod args;
pub mod boot;
pub mod disks;
pub mod menu;
pub mod runas;

use anyhow::Context;
use args::Args;
use domuloader::entry::{parse_entry, EntrySpec, MenuChoice};

/// Runs one invocation.
pub fn run(args: Args) -> anyhow::Result<()> {
    if args.generate_man || args.generate_completions.is_some() {
        return generate(&args);
    }
    let entry = args.entry.as_deref().map(entry_spec).transpose()?;
    if args.inspect {
        return inspect(&args);
    }
    if args.isconfig {
        return menu::isconfig(&args, entry.as_ref());
    }
    let req = boot::request(&args, entry.clone())?;
    let identity = args
        .runas
        .as_deref()
        .map(domuloader::privdrop::Identity::lookup)
        .transpose()?;
    // Everything we read or write is opened first: `--runas` drops privileges after this.
    // The outputs come before the disks: xend blocks opening its FIFO until we open it, so a
    // failure (a missing disk) before that open would hang xend; after it, dropping the
    // unwritten sink gives xend the empty result that means failure.
    let outputs = match args.dryrun || args.list_entries {
        true => None,
        false => Some(boot::Outputs::open(&args)?),
    };
    let disks = disks::open(&args, entry.as_ref())?;
    if args.list_entries {
        return menu::list(&args, &disks.into_set()?);
    }
    match identity {
        Some(id) => runas::run(&args, disks, &req, outputs, &id),
        None => boot::run(&args, &disks.into_set()?, &req, outputs),
    }
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

fn inspect(args: &Args) -> anyhow::Result<()> {
    let path = args.disk.as_deref().context("no disk given (PHYSDISK)")?;
    let disk = domuloader::disk::Disk::open(path)?;
    let report = domuloader::inspect::inspect(&disk)?;
    match args.output_format.as_deref() {
        Some("json") => println!("{}", serde_json::to_string(&report).context("json")?),
        None | Some("text") => print!("{report}"),
        Some(other) => anyhow::bail!("--inspect: unknown output format {other:?} (text or json)"),
    }
    if let Some(e) = report.outside_disk(disk.size()) {
        return Err(e.into());
    }
    Ok(())
}

/// The man page and completion scripts, from the same clap definition as the parser, so
/// they can never disagree with it. Hidden options are left out of both.
fn generate(args: &Args) -> anyhow::Result<()> {
    use clap::CommandFactory;
    let mut cmd = Args::command();
    let mut out = std::io::stdout().lock();
    match args.generate_completions {
        Some(shell) => clap_complete::generate(shell, &mut cmd, "domuloader", &mut out),
        None => clap_mangen::Man::new(cmd)
            .render(&mut out)
            .context("man page")?,
    }
    Ok(())
}
