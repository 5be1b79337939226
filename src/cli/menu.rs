//! `-l/--list-entries` and `--isconfig`: the guest's boot menu, shown rather than booted.

use super::args::Args;
use super::say;
use anyhow::{bail, Context};
use domuloader::boot::menu::find_menu;
use domuloader::config::{self, bls, list_pygrub_style, ConfigKind, Menu};
use domuloader::entry::{EntrySpec, MenuChoice};
use domuloader::guest::diskset::DiskSet;
use domuloader::limits::MAX_CONFIG_BYTES;
use std::io::Read;
use std::path::Path;

/// Prints the menu found on the disk set.
pub fn list(args: &Args, set: &DiskSet) -> anyhow::Result<()> {
    let found = find_menu(set)?
        .context("no boot configuration (grub, extlinux or BLS) on any filesystem")?;
    print_menu(args, &found.menu)
}

fn print_menu(args: &Args, menu: &Menu) -> anyhow::Result<()> {
    match args.output_format.as_deref() {
        Some("json") => say::out(format!("{}\n", serde_json::to_string(menu)?).as_bytes()),
        None | Some("text") | Some("sxp") => say::out_text(&list_pygrub_style(menu)),
        Some(other) => bail!("--list-entries: unknown output format {other:?} (text or json)"),
    }
}

/// Refuses an `--output-format` the listing cannot print, before any worker starts.
pub fn check_format(args: &Args) -> anyhow::Result<()> {
    match args.output_format.as_deref() {
        None | Some("json" | "text" | "sxp") => Ok(()),
        Some(other) => bail!("--list-entries: unknown output format {other:?} (text or json)"),
    }
}

/// `--isconfig`: PHYSDISK is a config file (opened by the caller, parsed here, in the
/// worker); list it (`-l`) or print the entry `--entry` (or the default) would boot,
/// without reading any disk.
pub fn isconfig(
    args: &Args,
    entry: Option<&EntrySpec>,
    file: std::fs::File,
    path: &Path,
) -> anyhow::Result<()> {
    let menu = read_config(file, path)?;
    if args.list_entries {
        return print_menu(args, &menu);
    }
    let index = match entry {
        Some(EntrySpec::Menu(MenuChoice::Index(n))) => *n,
        Some(EntrySpec::Menu(MenuChoice::Title(t))) => menu
            .find(t)
            .with_context(|| format!("no menu entry {t:?}"))?,
        Some(EntrySpec::Path(_)) => bail!("--isconfig takes a menu number or title as --entry"),
        None => menu.default,
    };
    let chosen = Menu {
        entries: menu.entries.get(index).cloned().into_iter().collect(),
        default: 0,
        ..menu
    };
    if chosen.entries.is_empty() {
        bail!("no menu entry {index}");
    }
    print_menu(args, &chosen)
}

fn read_config(file: std::fs::File, path: &Path) -> anyhow::Result<Menu> {
    let mut bytes = Vec::new();
    file.take(MAX_CONFIG_BYTES + 1)
        .read_to_end(&mut bytes)
        .with_context(|| path.display().to_string())?;
    if bytes.len() as u64 > MAX_CONFIG_BYTES {
        bail!("{}: larger than {MAX_CONFIG_BYTES} bytes", path.display());
    }
    let kind = kind_of(path);
    if kind == ConfigKind::Bls {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let entry = bls::parse_entry(&bytes)?;
        return Ok(bls::menu_from_entries(vec![(name, entry)])?);
    }
    Ok(config::parse(kind, &bytes)?)
}

/// The config kind by file name, as the search paths name them; grub2 otherwise.
fn kind_of(path: &Path) -> ConfigKind {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    let has = |words: &[&str]| words.iter().any(|w| name.contains(w));
    if has(&["menu.lst", "grub.conf", "grub-legacy", "grub1"]) {
        ConfigKind::GrubLegacy
    } else if has(&["extlinux", "isolinux", "syslinux", "pxelinux"]) {
        ConfigKind::Extlinux
    } else if name.ends_with(".conf") && path.to_string_lossy().contains("entries") {
        ConfigKind::Bls
    } else {
        ConfigKind::Grub2
    }
}
