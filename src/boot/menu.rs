//! Config-driven selection (pygrub parity, plus BLS and logical partitions): find the
//! guest's boot menu on the disk set, choose an entry, map its paths onto the disks; or,
//! with no menu at all, the newest `/boot/vmlinuz-*` as virt-get-kernel does.

use super::{resolve, BootError, Request, Selection};
use crate::config::{self, bls, grub2, version, ConfigKind, Menu};
use crate::entry::{EntrySpec, MenuChoice};
use crate::fs::FileKind;
use crate::guest::diskset::{DiskSet, PartRef};
use crate::guest::resolve::{list_dir, resolve_file, ResolveError};
use crate::guest::view::{self, GuestView};
use crate::limits::{MAX_CONFIG_BYTES, MAX_MENU_ENTRIES};

/// A boot menu found on the disk set.
pub struct FoundMenu {
    pub menu: Menu,
    /// Path of the config inside its filesystem.
    pub config_path: Vec<u8>,
    /// The filesystem holding it.
    pub part: PartRef,
    /// Mount options of the view it was found in (btrfs `subvolid=N`); empty: as opened.
    pub view_options: Vec<String>,
}

/// The first boot menu on the disk set: pygrub's configuration files (in its order) on
/// every filesystem in disk and partition order, then BLS entries on every filesystem.
/// Config files come first everywhere so that wherever pygrub finds a menu, this is the
/// same one (an ESP with systemd-boot entries before a root with grub.cfg must not win).
/// `Ok(None)` when there is none anywhere.
pub fn find_menu(set: &DiskSet) -> Result<Option<FoundMenu>, BootError> {
    for (r, _) in set.filesystems() {
        let v = view::single(set, r)?;
        if let Some(found) = config_file_on(&v, r)? {
            return Ok(Some(found));
        }
    }
    // A config in another btrfs subvolume (Ubuntu's `@`, with the top level as default).
    for (r, fs) in set.filesystems() {
        for opt in fs.subvolume_options().unwrap_or_default() {
            let options = vec![opt];
            let Ok(v) = view::single_with(set, r, &options) else {
                continue;
            };
            if let Ok(Some(mut found)) = config_file_on(&v, r) {
                found.view_options = options;
                return Ok(Some(found));
            }
        }
    }
    for (r, _) in set.filesystems() {
        let v = view::single(set, r)?;
        if let Some(menu) = bls_menu(&v)? {
            return Ok(Some(FoundMenu {
                menu,
                config_path: b"/loader/entries/".to_vec(),
                part: r,
                view_options: Vec::new(),
            }));
        }
    }
    Ok(None)
}

fn config_file_on(v: &GuestView, r: PartRef) -> Result<Option<FoundMenu>, BootError> {
    for (path, kind) in config::search_paths() {
        let file = match resolve_file(&v.table, path) {
            Ok(f) => f,
            Err(e) if absent(&e) => continue,
            Err(source) => return Err(config_err(path, source)),
        };
        let mut bytes = file
            .read_capped(MAX_CONFIG_BYTES)
            .map_err(|e| config_err(path, e))?;
        if *kind == ConfigKind::Extlinux {
            bytes = super::include::expand(v, path, &bytes)?;
        }
        let parse_err = |e: config::ConfigError| BootError::Config {
            path: String::from_utf8_lossy(path).into_owned(),
            detail: e.to_string(),
        };
        let grubenv = match kind {
            ConfigKind::Grub2 => grubenv_beside(v, path),
            _ => Vec::new(),
        };
        let mut menu = match kind {
            ConfigKind::Grub2 => grub2::parse_with_env(&bytes, &grubenv),
            _ => config::parse(*kind, &bytes),
        }
        .map_err(parse_err)?;
        if *kind == ConfigKind::Grub2 {
            // grub expands `linux` arguments when it runs the entry: variables the config
            // or grubenv sets become their values, others (SUSE's `${extra_cmdline}`) nothing.
            let env: Vec<_> = menu.env.iter().chain(&grubenv).cloned().collect();
            grub2::expand_entry_args(&mut menu, &env).map_err(parse_err)?;
        }
        if menu.blscfg.is_some() {
            if let Some(mut bls) = bls_menu(v)? {
                let env: Vec<_> = menu.env.iter().chain(&grubenv).cloned().collect();
                bls::expand_options(&mut bls, &env)
                    .and_then(|()| menu.insert_bls(bls))
                    .map_err(|e| BootError::Config {
                        path: "BLS entries".into(),
                        detail: e.to_string(),
                    })?;
            }
        }
        return Ok(Some(FoundMenu {
            menu,
            config_path: path.to_vec(),
            part: r,
            view_options: Vec::new(),
        }));
    }
    Ok(None)
}

/// grub's environment block next to `config` (`load_env` reads `$prefix/grubenv`, the
/// directory grub.cfg is in). Missing or unreadable: empty, as grub boots without it.
fn grubenv_beside(v: &GuestView, config: &[u8]) -> Vec<(String, String)> {
    let dir = config
        .iter()
        .rposition(|&c| c == b'/')
        .and_then(|i| config.get(..i))
        .unwrap_or_default();
    let path = [dir, b"/grubenv"].concat();
    resolve_file(&v.table, &path)
        .and_then(|f| f.read_capped(MAX_CONFIG_BYTES))
        .map(|bytes| grub2::parse_grubenv(&bytes))
        .unwrap_or_default()
}

/// Missing files and directories (or a path through a file) mean "no config here".
fn absent(e: &ResolveError) -> bool {
    matches!(
        e,
        ResolveError::NotFound { .. } | ResolveError::NotADirectory { .. }
    )
}

fn config_err(path: &[u8], source: ResolveError) -> BootError {
    BootError::Config {
        path: String::from_utf8_lossy(path).into_owned(),
        detail: source.to_string(),
    }
}

/// BLS entries from the first `loader/entries` directory that has any.
fn bls_menu(v: &GuestView) -> Result<Option<Menu>, BootError> {
    for dir in config::BLS_DIRS {
        let names = match list_dir(&v.table, dir) {
            Ok(n) => n,
            Err(e) if absent(&e) => continue,
            Err(e) => return Err(config_err(dir, e)),
        };
        let mut entries = Vec::new();
        for (name, kind) in names.into_iter().take(MAX_MENU_ENTRIES) {
            if kind == FileKind::Dir || !name.ends_with(b".conf") {
                continue;
            }
            let path = [*dir, b"/", &name].concat();
            let Ok(file) = resolve_file(&v.table, &path) else {
                continue; // a dangling entry is skipped, as systemd-boot does
            };
            let bytes = file
                .read_capped(MAX_CONFIG_BYTES)
                .map_err(|e| config_err(&path, e))?;
            if let Ok(entry) = bls::parse_entry(&bytes) {
                entries.push((String::from_utf8_lossy(&name).into_owned(), entry));
            }
        }
        if !entries.is_empty() {
            let menu = bls::menu_from_entries(entries).map_err(|e| BootError::Config {
                path: String::from_utf8_lossy(dir).into_owned(),
                detail: e.to_string(),
            })?;
            return Ok(Some(menu));
        }
    }
    Ok(None)
}

/// The menu entry `req` asks for (or the menu's default), mapped onto the disk set.
pub fn select_entry(
    set: &DiskSet,
    req: &Request,
    found: &FoundMenu,
) -> Result<Selection, BootError> {
    let menu = &found.menu;
    let index = match &req.entry {
        Some(EntrySpec::Menu(MenuChoice::Index(n))) => *n,
        Some(EntrySpec::Menu(MenuChoice::Title(t))) => menu
            .find(t)
            .ok_or_else(|| BootError::NoSuchEntry(t.clone()))?,
        _ => menu.default,
    };
    let entry = menu
        .entries
        .get(index)
        .ok_or_else(|| BootError::NoSuchEntry(index.to_string()))?;
    if !entry.is_bootable() {
        return Err(BootError::NotLinux(entry.title.clone()));
    }
    let on = |p: &[u8]| config::resolve_path(menu.kind, &found.config_path, p);
    let kernel_path = on(&entry.kernel);
    let initrds: Vec<Vec<u8>> = entry.initrd.iter().map(|p| on(p)).collect();
    let mut last_err = None;
    for part in candidate_parts(set, found, menu.kind, entry.device_hint.as_deref()) {
        let v = if part == found.part {
            view::single_with(set, part, &paths_view(found))?
        } else {
            view::single(set, part)?
        };
        match files(&v, &kernel_path, &initrds) {
            Ok((kernel, initrd)) => {
                return Ok(Selection {
                    device: set.dev_name(part),
                    kernel,
                    initrd,
                    args: entry.args.clone(),
                    title: Some(entry.title.clone()),
                })
            }
            Err(e) => {
                last_err.get_or_insert(e);
            }
        }
    }
    Err(last_err.unwrap_or(BootError::NoEntry))
}

/// The config's own filesystem first (pygrub), then the one its device hint names.
/// Where a menu's paths are read on the filesystem holding it. grub reads a btrfs path from
/// the top-level subvolume unless the config sets `btrfs_relative_path="y"` (SUSE), which
/// makes it relative to the default subvolume, the view btrfs is opened at. Other
/// filesystems ignore the option.
fn paths_view(found: &FoundMenu) -> Vec<String> {
    let relative = found
        .menu
        .env
        .iter()
        .any(|(k, v)| k == "btrfs_relative_path" && v.trim_matches('"') == "y");
    if found.menu.kind == ConfigKind::Grub2 && !relative {
        vec!["subvolid=5".to_owned()]
    } else {
        found.view_options.clone()
    }
}

fn candidate_parts(
    set: &DiskSet,
    found: &FoundMenu,
    kind: ConfigKind,
    hint: Option<&str>,
) -> Vec<PartRef> {
    let mut parts = vec![found.part];
    let hinted = hint
        .and_then(|h| config::parse_device_hint(kind, h))
        .and_then(|h| {
            let r = PartRef {
                disk: usize::try_from(h.disk).ok()?,
                number: h.partition.unwrap_or(0),
            };
            set.partition(r).map(|_| r)
        });
    if let Some(r) = hinted.filter(|r| *r != found.part) {
        parts.push(r);
    }
    parts
}

type Files = (
    crate::guest::resolve::Resolved,
    Vec<crate::guest::resolve::Resolved>,
);

fn files(v: &GuestView, kernel: &[u8], initrds: &[Vec<u8>]) -> Result<Files, BootError> {
    let k = resolve(v, "kernel", kernel)?;
    let i = initrds
        .iter()
        .map(|p| resolve(v, "initrd", p))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((k, i))
}

/// No entry and no menu: the newest `vmlinuz-*` with its matching initrd, looked for in
/// the guest's `/boot` (through its fstab) and then in `/boot` and `/` of every filesystem.
pub fn newest_kernel(set: &DiskSet, req: &Request) -> Result<Selection, BootError> {
    let mut views: Vec<(GuestView, &[u8])> = Vec::new();
    if let Ok(v) = view::guest(set, req.root.as_ref()) {
        views.push((v, b"/boot"));
    }
    for (r, _) in set.filesystems() {
        let v = view::single(set, r)?;
        let again = views.iter().any(|(w, d)| w.root == r && *d == b"/boot");
        if !again {
            views.push((view::single(set, r)?, b"/boot"));
        }
        views.push((v, b"/"));
    }
    for (v, dir) in &views {
        let Ok(listing) = list_dir(&v.table, dir) else {
            continue;
        };
        let names: Vec<Vec<u8>> = listing
            .into_iter()
            .filter(|(_, k)| *k != FileKind::Dir)
            .map(|(n, _)| n)
            .collect();
        let Some((k, i)) = version::newest_kernel(&names) else {
            continue;
        };
        let join = |n: &[u8]| [dir.strip_suffix(b"/").unwrap_or(dir), b"/", n].concat();
        let initrds: Vec<Vec<u8>> = i.iter().map(|n| join(n)).collect();
        let (kernel, initrd) = files(v, &join(&k), &initrds)?;
        return Ok(Selection {
            device: kernel.mount.source.clone(),
            kernel,
            initrd,
            args: String::new(),
            title: None,
        });
    }
    Err(BootError::NoKernelFound(set.unreadable_note()))
}
