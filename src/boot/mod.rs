//! Boot entry resolution: from what the caller asked for (`--entry`, `--kernel`/`--ramdisk`,
//! `--root`, or the guest's own boot menu) to the guest files to copy.

mod include;
pub mod iso;
pub mod menu;

use crate::entry::{BootEntry, EntrySpec, MenuChoice};
use crate::guest::diskset::{DiskSet, DiskSetError};
use crate::guest::resolve::{resolve_file, ResolveError, Resolved};
use crate::guest::spec::DeviceSpec;
use crate::guest::view::{self, GuestView, ViewError};

/// What to boot.
#[derive(Clone, Debug, Default)]
pub struct Request {
    /// `--entry`.
    pub entry: Option<EntrySpec>,
    /// pygrub's `--kernel`/`--ramdisk`: guest paths, used when there is no `--entry`.
    pub kernel: Option<Vec<u8>>,
    pub ramdisk: Option<Vec<u8>>,
    /// `--root`.
    pub root: Option<DeviceSpec>,
    /// `--entry` as given. A pygrub title with a `/` in it ("Debian GNU/Linux") parses as a
    /// path; when that path does not resolve, a menu entry with exactly this title is booted.
    pub entry_text: Option<String>,
}

/// The files chosen, and the arguments the guest's own configuration gives them.
pub struct Selection {
    pub kernel: Resolved,
    /// Initrds in load order, concatenated into one ramdisk (grub2 and BLS may list a
    /// microcode archive before the initramfs; cpio archives concatenate).
    pub initrd: Vec<Resolved>,
    /// The boot entry's own kernel arguments (empty unless it came from a menu).
    pub args: String,
    /// The menu entry's title, when the choice came from a menu.
    pub title: Option<String>,
    /// Where the files were found, for messages (`xvda1`).
    pub device: String,
}

/// `cause` without a leading "`path`: " that would only repeat the path just named
/// (a cause about another path — a symlink's target — keeps it).
fn without_path(path: &str, cause: &ResolveError) -> String {
    let text = cause.to_string();
    match text.strip_prefix(path).and_then(|t| t.strip_prefix(": ")) {
        Some(rest) => rest.to_owned(),
        None => text,
    }
}

/// Why no kernel could be chosen. One line each.
#[derive(Debug, thiserror::Error)]
pub enum BootError {
    #[error(transparent)]
    View(#[from] ViewError),
    #[error(transparent)]
    DiskSet(#[from] DiskSetError),
    // The cause is in the text and deliberately not a `#[source]` (nor named `source`,
    // which thiserror would make one): the caller's error chain would print it twice.
    #[error("{what} {path}: {}{hint}", without_path(.path, .cause))]
    Resolve {
        what: &'static str,
        path: String,
        cause: Box<ResolveError>,
        hint: String,
    },
    #[error("no boot entry: give --entry=[DEV:]KERNEL[,INITRD] or --kernel=PATH")]
    NoEntry,
    #[error("boot configuration {path}: {detail}")]
    Config { path: String, detail: String },
    #[error("no menu entry {0:?} in the guest's boot configuration")]
    NoSuchEntry(String),
    #[error("menu entry {0:?} does not boot a Linux kernel")]
    NotLinux(String),
    #[error("--entry names a menu entry, but the guest has no boot configuration (grub, extlinux or BLS)")]
    NoMenu,
    #[error("no boot configuration and no /boot/vmlinuz-* on any filesystem{0}: give --entry")]
    NoKernelFound(String),
}

/// Chooses the kernel and initrd on `set` as `req` asks.
pub fn select(set: &DiskSet, req: &Request) -> Result<Selection, BootError> {
    match &req.entry {
        Some(EntrySpec::Path(e)) => match select_path(set, e, req.root.as_ref()) {
            Err(err) if e.dev.is_none() && e.volume.is_none() => {
                menu_title_fallback(set, req).unwrap_or(Err(err))
            }
            other => other,
        },
        Some(EntrySpec::Menu(_)) => match menu::find_menu(set)? {
            Some(found) => menu::select_entry(set, req, &found),
            None => Err(BootError::NoMenu),
        },
        None => match &req.kernel {
            Some(k) => {
                let e = BootEntry {
                    dev: None,
                    volume: None,
                    kernel: absolute(k),
                    initrd: req.ramdisk.as_deref().map(absolute),
                };
                select_path(set, &e, req.root.as_ref())
            }
            None => match menu::find_menu(set)? {
                Some(found) => match iso::xen_installer_on(set, found.part)? {
                    Some(sel) => Ok(sel),
                    None => menu::select_entry(set, req, &found),
                },
                None => match iso::xen_installer(set)? {
                    Some(sel) => Ok(sel),
                    None => menu::newest_kernel(set, req),
                },
            },
        },
    }
}

/// The menu entry titled exactly like `--entry`, if the guest's menu has one (see
/// [`Request::entry_text`]); `None` to keep the path's own error.
fn menu_title_fallback(set: &DiskSet, req: &Request) -> Option<Result<Selection, BootError>> {
    let title = req.entry_text.as_deref()?;
    let found = menu::find_menu(set).ok().flatten()?;
    found.menu.find(title)?;
    let as_title = Request {
        entry: Some(EntrySpec::Menu(MenuChoice::Title(title.to_owned()))),
        ..req.clone()
    };
    Some(menu::select_entry(set, &as_title, &found))
}

fn absolute(p: &[u8]) -> Vec<u8> {
    if p.first() == Some(&b'/') {
        p.to_vec()
    } else {
        [b"/", p].concat()
    }
}

fn select_path(
    set: &DiskSet,
    e: &BootEntry,
    root: Option<&DeviceSpec>,
) -> Result<Selection, BootError> {
    let view = match (&e.dev, &e.volume) {
        (Some(dev), _) => view::single(set, set.find_dev(dev)?)?,
        (None, Some(lv)) => view::single(set, set.find_volume_dev(lv)?)?,
        (None, None) => match view::guest(set, root) {
            Err(ViewError::NoRoot { .. }) if root.is_none() => {
                return first_with_kernel(set, e);
            }
            other => other?,
        },
    };
    files_in(&view, e)
}

/// With no root filesystem anywhere (a boot-only disk), pygrub's behaviour: the paths
/// are on the first filesystem that has the kernel.
fn first_with_kernel(set: &DiskSet, e: &BootEntry) -> Result<Selection, BootError> {
    let mut first_err = None;
    for (r, _) in set.filesystems() {
        let v = view::single(set, r)?;
        match files_in(&v, e) {
            Ok(s) => return Ok(s),
            Err(err) => {
                first_err.get_or_insert(err);
            }
        }
    }
    // The root may be what cannot be read (an LV missing a PV, an unsupported filesystem):
    // say so rather than only "no such file" on some other filesystem.
    if let Some(BootError::Resolve { hint, .. }) = &mut first_err {
        hint.push_str(&set.unreadable_note());
    }
    Err(first_err.unwrap_or(BootError::View(ViewError::NoRoot {
        searched: "any readable filesystem".into(),
        unreadable: set.unreadable_note(),
    })))
}

fn files_in(view: &GuestView, e: &BootEntry) -> Result<Selection, BootError> {
    let kernel = resolve(view, "kernel", &e.kernel)?;
    let initrd = match &e.initrd {
        Some(p) => vec![resolve(view, "initrd", p)?],
        None => Vec::new(),
    };
    Ok(Selection {
        device: kernel.mount.source.clone(),
        kernel,
        initrd,
        args: String::new(),
        title: None,
    })
}

pub(crate) fn resolve(
    view: &GuestView,
    what: &'static str,
    path: &[u8],
) -> Result<Resolved, BootError> {
    resolve_file(&view.table, path).map_err(|source| {
        let notes = view.notes_covering(path);
        BootError::Resolve {
            what,
            path: String::from_utf8_lossy(path).into_owned(),
            cause: Box::new(source),
            hint: if notes.is_empty() {
                String::new()
            } else {
                format!(" (note: {})", notes.join("; "))
            },
        }
    })
}
