//! Path resolution in the guest's namespace, component by component, the way the guest
//! kernel walks a path: symlinks relative to their directory, absolute ones relative to
//! the *guest* root (possibly crossing into another mount), `..` never above the guest
//! root, at most [`MAX_SYMLINKS`] links and [`MAX_PATH`]-byte paths.
//!
//! Only canonical, symlink-free paths are ever handed to a [`Filesystem`](crate::fs::Filesystem), so a guest
//! symlink can never name anything outside the guest's filesystems: there is no host path
//! anywhere in this walk.

use super::mounts::{display_components, join_components, Mount, MountTable};
use crate::fs::{FileKind, FsError, Stat};
use crate::limits::{MAX_LOOKUPS_PER_RESOLUTION, MAX_PATH, MAX_SYMLINKS};
use std::collections::VecDeque;
use std::io::Read;

/// Why a guest path did not resolve. `path` is the guest path as far as it was resolved.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error("{path}: no such file or directory in the guest")]
    NotFound { path: String },
    #[error("{path}: not a directory")]
    NotADirectory { path: String },
    #[error("{path}: is a directory, not a file")]
    IsADirectory { path: String },
    #[error("{path}: not a regular file")]
    NotRegular { path: String },
    #[error("{path}: too many levels of symbolic links (loop, or more than {MAX_SYMLINKS})")]
    TooManySymlinks { path: String },
    #[error("{path}: path or symlink target longer than {MAX_PATH} bytes")]
    TooLong { path: String },
    #[error("{path}: resolving it takes more than {MAX_LOOKUPS_PER_RESOLUTION} directory lookups (a directory loop?)")]
    TooMuchWork { path: String },
    #[error("{path}: larger than {cap} bytes")]
    TooLarge { path: String, cap: u64 },
    #[error("{path}: empty symlink target")]
    EmptyLink { path: String },
    #[error("{path}: {source}")]
    Fs {
        path: String,
        #[source]
        source: FsError,
    },
}

/// A resolved guest file: which mount holds it, its path inside that filesystem, and its
/// canonical guest path.
#[derive(Clone, Debug)]
pub struct Resolved {
    pub mount: Mount,
    /// Absolute path inside `mount.fs`.
    pub fs_path: Vec<u8>,
    /// Canonical path in the guest namespace.
    pub guest_path: Vec<Vec<u8>>,
    pub stat: Stat,
}

impl Resolved {
    /// A stream over the file's bytes.
    pub fn open(&self) -> Result<Box<dyn Read + '_>, FsError> {
        self.mount.fs.open(&self.fs_path)
    }

    /// Reads the whole file, refusing one larger than `cap` bytes (configs, fstab: small
    /// text the guest could otherwise make huge).
    pub fn read_capped(&self, cap: u64) -> Result<Vec<u8>, ResolveError> {
        let fs_err = |source| ResolveError::Fs {
            path: self.display(),
            source,
        };
        let too_large = || ResolveError::TooLarge {
            path: self.display(),
            cap,
        };
        if self.stat.size > cap {
            return Err(too_large());
        }
        let mut bytes = Vec::new();
        self.open()
            .map_err(fs_err)?
            .take(cap.saturating_add(1))
            .read_to_end(&mut bytes)
            .map_err(|e| {
                fs_err(FsError::Io {
                    fs: "guest",
                    detail: e.to_string(),
                })
            })?;
        if bytes.len() as u64 > cap {
            return Err(too_large());
        }
        Ok(bytes)
    }

    /// The canonical guest path, lossy, for messages.
    pub fn display(&self) -> String {
        display_components(&self.guest_path)
    }
}

/// Resolves `path` to a regular file.
pub fn resolve_file(table: &MountTable, path: &[u8]) -> Result<Resolved, ResolveError> {
    let r = walk(table, path)?;
    match r.stat.kind {
        FileKind::File => Ok(r),
        FileKind::Dir => Err(ResolveError::IsADirectory { path: r.display() }),
        _ => Err(ResolveError::NotRegular { path: r.display() }),
    }
}

/// Resolves `path` to a directory, returning its canonical components (used to place
/// mount points where `mount(8)` would: it follows symlinks in the target path).
pub fn resolve_dir(table: &MountTable, path: &[u8]) -> Result<Vec<Vec<u8>>, ResolveError> {
    let r = walk(table, path)?;
    match r.stat.kind {
        FileKind::Dir => Ok(r.guest_path),
        _ => Err(ResolveError::NotADirectory { path: r.display() }),
    }
}

/// Lists the directory at guest `path` (following symlinks): names and kinds, bounded by
/// the filesystem's directory scan cap.
pub fn list_dir(table: &MountTable, path: &[u8]) -> Result<Vec<(Vec<u8>, FileKind)>, ResolveError> {
    let dir = resolve_dir(table, path)?;
    let (mount, rest) = table.locate(&dir);
    mount
        .fs
        .read_dir(&join_components(rest))
        .map_err(|source| ResolveError::Fs {
            path: display_components(&dir),
            source,
        })
}

/// Splits a path into its components, dropping empty ones (`//`).
fn components(path: &[u8]) -> impl DoubleEndedIterator<Item = &[u8]> {
    path.split(|&b| b == b'/').filter(|c| !c.is_empty())
}

/// Follows every symlink, including in the last component.
pub fn walk(table: &MountTable, path: &[u8]) -> Result<Resolved, ResolveError> {
    if path.len() > MAX_PATH {
        return Err(ResolveError::TooLong {
            path: String::from_utf8_lossy(path.get(..64).unwrap_or(path)).into_owned() + "…",
        });
    }
    let mut todo: VecDeque<Vec<u8>> = components(path).map(<[u8]>::to_vec).collect();
    let mut cur: Vec<Vec<u8>> = Vec::new();
    let mut links = 0u32;
    // Each stat walks the prefix from its filesystem's root: the work is the sum of the
    // prefix depths, bounded here, not only the path's length.
    let mut lookups = 0u64;
    while let Some(c) = todo.pop_front() {
        match c.as_slice() {
            b"." => continue,
            b".." => {
                cur.pop(); // at the root, `..` is the root itself
                continue;
            }
            _ => {}
        }
        cur.push(c);
        lookups = lookups.saturating_add(cur.len() as u64);
        if lookups > MAX_LOOKUPS_PER_RESOLUTION {
            return Err(ResolveError::TooMuchWork {
                path: display_components(cur.get(..8).unwrap_or(&cur)) + "/…",
            });
        }
        let stat = stat_at(table, &cur)?;
        match stat.kind {
            FileKind::Symlink => {
                links += 1;
                if links > MAX_SYMLINKS {
                    return Err(ResolveError::TooManySymlinks {
                        path: display_components(&cur),
                    });
                }
                let target = read_link_at(table, &cur)?;
                cur.pop();
                if target.first() == Some(&b'/') {
                    cur.clear(); // absolute: the guest's root, never dom0's
                }
                for t in components(&target).rev() {
                    todo.push_front(t.to_vec());
                }
            }
            FileKind::Dir => {}
            _ if todo.is_empty() => {}
            _ => {
                return Err(ResolveError::NotADirectory {
                    path: display_components(&cur),
                })
            }
        }
    }
    finish(table, cur)
}

fn finish(table: &MountTable, cur: Vec<Vec<u8>>) -> Result<Resolved, ResolveError> {
    let stat = stat_at(table, &cur)?;
    let (mount, rest) = table.locate(&cur);
    Ok(Resolved {
        mount: mount.clone(),
        fs_path: join_components(rest),
        stat,
        guest_path: cur,
    })
}

/// Stats a canonical guest path (no symlink before its last component).
fn stat_at(table: &MountTable, path: &[Vec<u8>]) -> Result<Stat, ResolveError> {
    let (mount, rest) = table.locate(path);
    if rest.is_empty() {
        // A mount point (or `/`) is the root directory of the mounted filesystem.
        return Ok(Stat {
            kind: FileKind::Dir,
            size: 0,
        });
    }
    let fs_path = join_components(rest);
    match mount.fs.stat(&fs_path) {
        Ok(Some(s)) => Ok(s),
        Ok(None) => Err(ResolveError::NotFound {
            path: display_components(path),
        }),
        Err(source) => Err(ResolveError::Fs {
            path: display_components(path),
            source,
        }),
    }
}

fn read_link_at(table: &MountTable, path: &[Vec<u8>]) -> Result<Vec<u8>, ResolveError> {
    let (mount, rest) = table.locate(path);
    let target = mount
        .fs
        .read_link(&join_components(rest))
        .map_err(|source| ResolveError::Fs {
            path: display_components(path),
            source,
        })?;
    if target.is_empty() {
        return Err(ResolveError::EmptyLink {
            path: display_components(path),
        });
    }
    // Linux stores at most PATH_MAX - 1 bytes in a symlink (the NUL takes the last one).
    if target.len() >= MAX_PATH {
        return Err(ResolveError::TooLong {
            path: display_components(path),
        });
    }
    Ok(target)
}

#[cfg(test)]
mod tests;
