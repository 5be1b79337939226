//! Builds the guest's namespace: its root filesystem and everything its `/etc/fstab`
//! mounts, in fstab order, with mount points placed where `mount(8)` would put them
//! (following symlinks in the target path).

use super::diskset::{DiskSet, DiskSetError, PartRef};
use super::fstab::{self, covers, Fstab, FstabError};
use super::mounts::MountTable;
use super::resolve::{self, resolve_file, ResolveError};
use super::spec::DeviceSpec;
use crate::fs::Filesystem;
use crate::limits::MAX_FSTAB_BYTES;
use std::rc::Rc;

/// Why the guest's namespace could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ViewError {
    #[error(transparent)]
    DiskSet(#[from] DiskSetError),
    #[error("no guest root filesystem: no /etc/fstab on {searched}{unreadable}; name it with --root or DEV: in --entry")]
    NoRoot {
        searched: String,
        /// What could hold the root but cannot be read ([`DiskSet::unreadable_note`]).
        unreadable: String,
    },
    #[error("several filesystems have /etc/fstab ({candidates}); choose the root with --root")]
    AmbiguousRoot { candidates: String },
    #[error("--root {0}: no such filesystem in the disk set")]
    RootNotFound(String),
    #[error("{dev}: /etc/fstab: {source}")]
    Fstab {
        dev: String,
        #[source]
        source: FstabError,
    },
    #[error("{dev}: /etc/fstab: {source}")]
    FstabRead {
        dev: String,
        #[source]
        source: ResolveError,
    },
    #[error("{dev}: /etc/fstab is larger than {MAX_FSTAB_BYTES} bytes")]
    FstabTooLarge { dev: String },
    #[error("{dev} mounted with {options}: {detail}")]
    MountOptions {
        dev: String,
        options: String,
        detail: String,
    },
}

/// A note on a mount that could not be made, with the mount point it concerns.
#[derive(Clone, Debug)]
pub struct Note {
    pub mount_point: Vec<u8>,
    pub text: String,
}

/// The guest's namespace.
pub struct GuestView {
    pub table: MountTable,
    pub root: PartRef,
    /// Mounts that were skipped or could not be made.
    pub notes: Vec<Note>,
}

impl GuestView {
    /// Notes about mounts that would have covered `path`: the likely reason it is missing.
    pub fn notes_covering(&self, path: &[u8]) -> Vec<&str> {
        self.notes
            .iter()
            .filter(|n| covers(&n.mount_point, path))
            .map(|n| n.text.as_str())
            .collect()
    }
}

/// One filesystem alone on `/` (a `DEV:` entry): no fstab is read.
pub fn single(set: &DiskSet, r: PartRef) -> Result<GuestView, ViewError> {
    let fs = set.filesystem(r)?;
    Ok(GuestView {
        table: MountTable::new(fs, set.dev_name(r)),
        root: r,
        notes: Vec::new(),
    })
}

/// One filesystem alone on `/`, as mounted with `options` (btrfs `subvolid=N`): where a
/// boot menu or root on a subvolume is read.
pub fn single_with(set: &DiskSet, r: PartRef, options: &[String]) -> Result<GuestView, ViewError> {
    let fs = with_options(set.filesystem(r)?, options).map_err(|e| ViewError::MountOptions {
        dev: set.dev_name(r),
        options: options.join(","),
        detail: e.to_string(),
    })?;
    let source = match options {
        [] => set.dev_name(r),
        _ => format!("{} ({})", set.dev_name(r), options.join(",")),
    };
    Ok(GuestView {
        table: MountTable::new(fs, source),
        root: r,
        notes: Vec::new(),
    })
}

/// The filesystem `r` as the guest's root: as opened (btrfs: its default subvolume) when
/// that has `/etc/fstab`, else the first of its subvolumes that has one (Fedora's root
/// lives in subvolume `root` while the default is the top level), else as opened.
fn root_view(set: &DiskSet, r: PartRef) -> Result<GuestView, ViewError> {
    let view = single(set, r)?;
    if resolve_file(&view.table, b"/etc/fstab").is_ok() {
        return Ok(view);
    }
    let options = set.filesystem(r)?.subvolume_options().unwrap_or_default();
    for opt in options {
        if let Ok(sub) = single_with(set, r, std::slice::from_ref(&opt)) {
            if resolve_file(&sub.table, b"/etc/fstab").is_ok() {
                return Ok(sub);
            }
        }
    }
    Ok(view)
}

/// `fs` as an fstab line with `options` mounts it (btrfs `subvol=`, `subvolid=`).
fn with_options(
    fs: Rc<dyn Filesystem>,
    options: &[String],
) -> Result<Rc<dyn Filesystem>, crate::fs::FsError> {
    Ok(match fs.mount_view(options)? {
        Some(view) => Rc::from(view),
        None => fs,
    })
}

/// The guest's root (`root`, or the one filesystem with `/etc/fstab`) with its fstab mounted.
pub fn guest(set: &DiskSet, root: Option<&DeviceSpec>) -> Result<GuestView, ViewError> {
    let r = match root {
        Some(spec) => set
            .find(spec)?
            .ok_or_else(|| ViewError::RootNotFound(spec.to_string()))?,
        None => find_root(set)?,
    };
    let mut view = root_view(set, r)?;
    if let Some(fstab) = read_fstab(set, &view)? {
        mount_all(set, &mut view, &fstab);
    }
    Ok(view)
}

/// The filesystem that has `/etc/fstab`. Where several do, the ones whose fstab mounts
/// themselves on `/` are preferred; still several is an error listing them.
fn find_root(set: &DiskSet) -> Result<PartRef, ViewError> {
    let all = set.filesystems();
    let with_fstab: Vec<PartRef> = all
        .iter()
        .filter_map(|(r, _)| {
            let v = root_view(set, *r).ok()?;
            resolve_file(&v.table, b"/etc/fstab").ok().map(|_| *r)
        })
        .collect();
    let names = |rs: &[PartRef]| -> String {
        rs.iter()
            .map(|r| set.dev_name(*r))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match with_fstab.as_slice() {
        [one] => return Ok(*one),
        [] => {
            let searched: Vec<PartRef> = all.iter().map(|(r, _)| *r).collect();
            return Err(ViewError::NoRoot {
                searched: if searched.is_empty() {
                    "any readable filesystem".to_owned()
                } else {
                    names(&searched)
                },
                unreadable: set.unreadable_note(),
            });
        }
        _ => {}
    }
    let self_rooted: Vec<PartRef> = with_fstab
        .iter()
        .copied()
        .filter(|r| names_itself_as_root(set, *r))
        .collect();
    match self_rooted.as_slice() {
        [one] => Ok(*one),
        _ => Err(ViewError::AmbiguousRoot {
            candidates: names(&with_fstab),
        }),
    }
}

fn names_itself_as_root(set: &DiskSet, r: PartRef) -> bool {
    let Ok(view) = root_view(set, r) else {
        return false;
    };
    let Ok(Some(fstab)) = read_fstab(set, &view) else {
        return false;
    };
    fstab
        .root()
        .and_then(|e| set.find(&e.spec).ok().flatten())
        .is_some_and(|found| found == r)
}

/// The root's `/etc/fstab`, parsed; `None` when it has none.
fn read_fstab(set: &DiskSet, view: &GuestView) -> Result<Option<Fstab>, ViewError> {
    let dev = set.dev_name(view.root);
    let file = match resolve_file(&view.table, b"/etc/fstab") {
        Ok(f) => f,
        Err(ResolveError::NotFound { .. }) => return Ok(None),
        Err(source) => return Err(ViewError::FstabRead { dev, source }),
    };
    let bytes = file
        .read_capped(MAX_FSTAB_BYTES)
        .map_err(|source| match source {
            ResolveError::TooLarge { .. } => ViewError::FstabTooLarge { dev: dev.clone() },
            source => ViewError::FstabRead {
                dev: dev.clone(),
                source,
            },
        })?;
    fstab::parse_fstab(&bytes)
        .map(Some)
        .map_err(|source| ViewError::Fstab { dev, source })
}

/// Mounts every fstab entry that names a filesystem of the set; the rest become notes.
fn mount_all(set: &DiskSet, view: &mut GuestView, fstab: &Fstab) {
    for s in &fstab.skipped {
        if let Some(mp) = &s.mount_point {
            view.notes.push(Note {
                mount_point: mp.clone(),
                text: s.to_string(),
            });
        }
    }
    for e in fstab.entries.iter().filter(|e| e.mount_point != b"/") {
        let note = |text: String| Note {
            mount_point: e.mount_point.clone(),
            text: format!(
                "fstab line {} ({}): {text}",
                e.line,
                e.mount_point.escape_ascii()
            ),
        };
        let r = match set.find(&e.spec) {
            Ok(Some(r)) => r,
            Ok(None) => {
                view.notes
                    // A UUID= or LABEL= of a filesystem we cannot read matches nothing:
                    // name what could not be read, so the cause is in the message.
                    .push(note(format!(
                        "{} matches no disk of the set{}",
                        e.spec,
                        set.unreadable_note()
                    )));
                continue;
            }
            Err(err) => {
                view.notes.push(note(err.to_string()));
                continue;
            }
        };
        let fs = match set
            .filesystem(r)
            .map_err(|e| e.to_string())
            .and_then(|fs| with_options(fs, &e.options).map_err(|e| e.to_string()))
        {
            Ok(fs) => fs,
            Err(err) => {
                view.notes.push(note(err));
                continue;
            }
        };
        // mount(8) follows symlinks in the target; systemd creates a missing one.
        let point = match resolve::resolve_dir(&view.table, &e.mount_point) {
            Ok(p) => p,
            Err(_) => e
                .mount_point
                .split(|&b| b == b'/')
                .filter(|c| !c.is_empty())
                .map(<[u8]>::to_vec)
                .collect(),
        };
        view.table
            .mount(point, fs, format!("{} ({})", set.dev_name(r), e.spec));
    }
}
