//! The guest's disk set as the caller describes it: `--disks=` (an xm-style Python list or
//! one disk spec) and the positional `PHYSDISK [VIRTDISK]` pair.
//!
//! Disk specs follow xl-disk-configuration(5), including its deprecated xm forms:
//! - xm: `phy:/dev/vg/lv,xvda,w`, `file:/srv/x.img,xvdb,r`, `tap:aio:/x,xvda,w`,
//!   `tap:qcow2:/x,xvda,w`, `tap2:…`, `raw:/x,hdc:cdrom,ro`, `phy:vg/lv,hda,w`.
//! - xl positional `TARGET,FORMAT,VDEV,ACCESS` (`/x.img,raw,xvda,rw`, `/x,,xvdb`) and
//!   `key=value` (`format=raw, vdev=xvdb, access=ro, target=/path`, where `target=` takes
//!   the rest of the spec, commas included).
//!
//! Choices made here beyond xl: an unknown `key=value` is ignored (so a newer xl option
//! does not stop a boot), a second positional that is a device name rather than a format is
//! taken as the vdev (`/x.img,xvda,w`, as xm wrote it), `w!` is read-write (xend's shared
//! write), `sync:` is raw (xend's blktap driver), and after `tap:`/`tap2:` an unknown
//! driver (`tap:vmdk:`) is kept as that format. As in xl, a target not starting with `/`
//! gets `/dev/` prepended, and the vdev may name a partition (`phy:/dev/vg/root,xvda1,w`
//! exports a bare filesystem as partition 1).
//!
//! A `--disks` value is either a Python list of quoted strings (`['…', "…",]`, with `\\`,
//! `\'`, `\"` escapes) or exactly one spec; several disks need the list form. Empty CD-ROM
//! drives (`,hdc:cdrom,r`) are skipped: there is nothing to read on them.

use super::devname::{DevName, DevNameError};
use crate::disk::ImageFormat;
use crate::limits;
use std::fmt;
use std::path::{Path, PathBuf};

/// Image format of a disk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DiskFormat {
    Raw,
    /// `qcow2` (read), `qcow`, `vhd`, `qed`, `vmdk`, …: parsed so the disk list is accepted,
    /// refused by [`DiskSpec::require_readable`] when a disk must be read.
    Other(String),
}

impl fmt::Display for DiskFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DiskFormat::Raw => f.write_str("raw"),
            DiskFormat::Other(o) => f.write_str(o),
        }
    }
}

/// One disk of the guest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiskSpec {
    /// Image file or block device in dom0 (for a `script` disk, the script's argument).
    pub path: PathBuf,
    /// The guest's name for it: a whole disk (`xvda`), or a partition (`xvda1`) when a
    /// bare filesystem is exported as one.
    pub vdev: DevName,
    /// The stated format; `None` when the spec names none (the image is then probed).
    pub format: Option<DiskFormat>,
    /// The config's access mode; a hint only: we never write.
    pub readonly: bool,
    pub cdrom: bool,
    /// Hotplug script (`block-iscsi`, …) that turns `path` into a device; such a disk has no
    /// path we can open.
    pub script: Option<String>,
}

/// Why a disk spec or list was refused. One line, naming the input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DiskSpecError {
    #[error("empty disk spec")]
    Empty,
    #[error("disk spec {spec:?}: unknown format {value:?} (raw, qcow, qcow2, vhd, qed)")]
    Format { spec: String, value: String },
    #[error("disk spec {spec:?}: unknown access {value:?} (r, ro, w, rw)")]
    Access { spec: String, value: String },
    #[error("disk spec {spec:?}: unknown device type {value:?} (disk, cdrom)")]
    Devtype { spec: String, value: String },
    #[error("disk spec {spec:?}: unknown prefix {prefix:?}")]
    Prefix { spec: String, prefix: String },
    #[error("disk spec {spec:?}: {param} given twice")]
    Twice { spec: String, param: &'static str },
    #[error("disk spec {spec:?}: too many positional parameters at {value:?}")]
    TooMany { spec: String, value: String },
    #[error("disk spec {spec:?}: bad parameter {value:?} (a path containing '=' needs target=)")]
    Param { spec: String, value: String },
    #[error("disk spec {spec:?}: no vdev (the guest's name for the disk, e.g. xvda)")]
    NoVdev { spec: String },
    #[error("disk spec {spec:?}: no target path")]
    NoTarget { spec: String },
    #[error("disk spec {spec:?}: {source}")]
    Vdev { spec: String, source: DevNameError },
    #[error("disk spec {spec:?}: target contains a NUL byte")]
    Nul { spec: String },
    #[error("disk spec {spec:?}: target of {len} bytes is longer than {max}", max = limits::MAX_PATH)]
    TooLong { spec: String, len: usize },
    #[error("--disks: {0}")]
    List(String),
    #[error("--disks: {0} is given twice")]
    Duplicate(String),
    #[error("{vdev}: {path}: {format} image (unsupported; convert with qemu-img)")]
    Unsupported {
        vdev: String,
        path: String,
        format: String,
    },
    #[error(
        "disk {vdev} ({path}): reached through script {script}, not a path that can be opened"
    )]
    Script {
        vdev: String,
        path: String,
        script: String,
    },
}

impl DiskSpec {
    /// Parses one xm or xl disk spec. An empty CD-ROM drive is [`DiskSpecError::NoTarget`].
    pub fn parse(s: &str) -> Result<DiskSpec, DiskSpecError> {
        Parsed::parse(s)?.finish(s)
    }

    /// The disk from the positional `PHYSDISK [VIRTDISK]` pair. VIRTDISK (`xvda`,
    /// `/dev/xvda`, or a partition name) defaults to the whole disk of the entry's `DEV`,
    /// else `xvda` (libxl passes only the first disk and no name for it).
    pub fn positional(
        physdisk: &Path,
        virtdisk: Option<&str>,
        entry_dev: Option<&DevName>,
    ) -> Result<DiskSpec, DiskSpecError> {
        let shown = physdisk.display().to_string();
        if physdisk.as_os_str().is_empty() {
            return Err(DiskSpecError::NoTarget { spec: shown });
        }
        let vdev = match (virtdisk, entry_dev) {
            (Some(v), _) => parse_vdev(&shown, v)?,
            (None, Some(d)) => d.whole_disk(),
            (None, None) => DevName::parse("xvda").map_err(|source| DiskSpecError::Vdev {
                spec: shown.clone(),
                source,
            })?,
        };
        Ok(DiskSpec {
            path: physdisk.to_path_buf(),
            vdev,
            format: None,
            readonly: false,
            cdrom: false,
            script: None,
        })
    }

    /// Refuses a disk we cannot read (a script-backed target, a format other than raw or
    /// qcow2) and says how to open the rest: `None` when no format was stated (the image
    /// is probed), else the stated format, which the image must then be.
    pub fn require_readable(&self) -> Result<Option<ImageFormat>, DiskSpecError> {
        let vdev = self.vdev.to_string();
        let path = self.path.display().to_string();
        if let Some(script) = &self.script {
            return Err(DiskSpecError::Script {
                vdev,
                path,
                script: script.clone(),
            });
        }
        let name = match &self.format {
            None => return Ok(None),
            Some(DiskFormat::Raw) => return Ok(Some(ImageFormat::Raw)),
            Some(DiskFormat::Other(f)) => f,
        };
        match ImageFormat::from_spec_name(name) {
            Some(f @ (ImageFormat::Raw | ImageFormat::Qcow2)) => Ok(Some(f)),
            known => Err(DiskSpecError::Unsupported {
                vdev,
                path,
                format: known.map_or_else(|| name.clone(), |f| f.name().to_owned()),
            }),
        }
    }
}

impl fmt::Display for DiskSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.vdev, self.path.display())
    }
}

/// Parses a `--disks=` value: a Python list of specs or one spec. Empty CD-ROM drives are
/// left out; an empty list and a vdev named twice are errors.
pub fn parse_disk_list(s: &str) -> Result<Vec<DiskSpec>, DiskSpecError> {
    let trimmed = s.trim();
    let items = if trimmed.starts_with('[') {
        python_list(trimmed)?
    } else {
        vec![trimmed.to_owned()]
    };
    let mut disks: Vec<DiskSpec> = Vec::new();
    for item in &items {
        let parsed = Parsed::parse(item)?;
        if parsed.cdrom && parsed.target.as_deref().is_none_or(str::is_empty) {
            continue;
        }
        let disk = parsed.finish(item)?;
        if disks.iter().any(|d| d.vdev == disk.vdev) {
            return Err(DiskSpecError::Duplicate(disk.vdev.to_string()));
        }
        disks.push(disk);
    }
    if disks.is_empty() {
        return Err(DiskSpecError::List("no disks".into()));
    }
    Ok(disks)
}

/// A spec's parameters as collected, before defaults and checks.
#[derive(Default)]
struct Parsed {
    target: Option<String>,
    format: Option<DiskFormat>,
    /// The FORMAT position was used (possibly empty), so the next positional is the vdev.
    format_pos_done: bool,
    /// An xm prefix was seen: xm specs have no FORMAT position.
    had_prefix: bool,
    /// `Some("")`: the VDEV position was used, empty.
    vdev: Option<String>,
    access: Option<bool>,
    access_pos_done: bool,
    cdrom: bool,
    script: Option<String>,
}

/// Flags without a value that change nothing we read.
const IGNORED_FLAGS: [&str; 7] = [
    "direct-io-safe",
    "discard",
    "no-discard",
    "colo",
    "no-colo",
    "trusted",
    "untrusted",
];

/// Prefixes xl strips and ignores (`tap:aio:` and friends); `sync:` is xend's raw driver.
const IGNORED_PREFIXES: [&str; 8] = [
    "tapdisk", "tap2", "tap", "aio", "ioemu", "file", "phy", "sync",
];

/// Prefixes naming a hotplug script (`iscsi:` → `block-iscsi`).
const SCRIPT_PREFIXES: [&str; 4] = ["iscsi", "nbd", "enbd", "drbd"];

/// Format names, positional or `format=`; `empty` is an empty CD-ROM.
const FORMATS: [&str; 6] = ["raw", "qcow", "qcow2", "vhd", "qed", "empty"];

impl Parsed {
    fn parse(spec: &str) -> Result<Parsed, DiskSpecError> {
        if spec.trim().is_empty() {
            return Err(DiskSpecError::Empty);
        }
        let mut p = Parsed::default();
        let mut rest = spec;
        loop {
            rest = rest.trim_start_matches([' ', '\t', '\n']);
            if let Some(t) = rest.strip_prefix("target=") {
                let t = t.strip_suffix(',').unwrap_or(t);
                p.set_target(spec, t.to_owned())?;
                break;
            }
            let (token, next) = match rest.split_once(',') {
                Some((tok, next)) => (tok, Some(next)),
                None => (rest, None),
            };
            p.token(spec, token.trim_end_matches([' ', '\t', '\n']))?;
            match next {
                Some(n) => rest = n,
                None => break,
            }
        }
        Ok(p)
    }

    fn token(&mut self, spec: &str, tok: &str) -> Result<(), DiskSpecError> {
        if self.target.is_none() {
            if let Some(target) = self.strip_prefixes(spec, tok)? {
                return self.set_target(spec, target.to_owned());
            }
        }
        if let Some((key, value)) = tok.split_once('=') {
            if !is_param_name(key) {
                return Err(DiskSpecError::Param {
                    spec: spec.into(),
                    value: tok.into(),
                });
            }
            return self.key_value(spec, key, value);
        }
        match tok {
            "cdrom" => self.cdrom = true,
            f if IGNORED_FLAGS.contains(&f) => {}
            _ => self.positional(spec, tok)?,
        }
        Ok(())
    }

    /// Strips xm prefixes (`tap:aio:`, `phy:`, `qcow2:`, `iscsi:`) off a target-position
    /// token. `Ok(None)` when it has none.
    fn strip_prefixes<'a>(
        &mut self,
        spec: &str,
        tok: &'a str,
    ) -> Result<Option<&'a str>, DiskSpecError> {
        let mut rest = tok;
        let mut after_tap = false;
        while let Some((name, tail)) = split_prefix(rest) {
            if IGNORED_PREFIXES.contains(&name) {
                after_tap = name.starts_with("tap");
            } else if matches!(name, "raw" | "qcow" | "qcow2" | "vhd") {
                self.set_format(spec, name, false)?;
            } else if SCRIPT_PREFIXES.contains(&name) {
                self.script = Some(format!("block-{name}"));
            } else if after_tap {
                self.set_format(spec, name, true)?;
            } else if tail.starts_with(|c: char| c.is_ascii_alphanumeric()) {
                break; // `vg:lv` is a target, as in xl
            } else {
                return Err(DiskSpecError::Prefix {
                    spec: spec.into(),
                    prefix: format!("{name}:"),
                });
            }
            self.had_prefix = true;
            rest = tail;
        }
        Ok((rest.len() != tok.len()).then_some(rest))
    }

    fn key_value(&mut self, spec: &str, key: &str, value: &str) -> Result<(), DiskSpecError> {
        match key {
            "format" => self.set_format(spec, value, false),
            "vdev" => self.set_vdev(spec, value),
            "access" => self.set_access(spec, value),
            "script" => {
                self.script = (!value.is_empty()).then(|| value.to_owned());
                Ok(())
            }
            "devtype" => match value {
                "cdrom" => {
                    self.cdrom = true;
                    Ok(())
                }
                "disk" => {
                    self.cdrom = false;
                    Ok(())
                }
                _ => Err(DiskSpecError::Devtype {
                    spec: spec.into(),
                    value: value.into(),
                }),
            },
            // backend=, backendtype=, specification=, colo-*=, grant_usage=, and any
            // option a newer xl adds: nothing we read depends on them.
            _ => Ok(()),
        }
    }

    fn positional(&mut self, spec: &str, tok: &str) -> Result<(), DiskSpecError> {
        if self.target.is_none() {
            return self.set_target(spec, tok.to_owned());
        }
        if !self.had_prefix && !self.format_pos_done && self.format.is_none() {
            self.format_pos_done = true;
            if tok.is_empty() || FORMATS.contains(&tok) {
                return self.set_format(spec, tok, false);
            }
            if !looks_like_vdev(tok) {
                return Err(DiskSpecError::Format {
                    spec: spec.into(),
                    value: tok.into(),
                });
            }
        }
        if self.vdev.is_none() {
            return self.set_vdev(spec, tok);
        }
        if !self.access_pos_done {
            self.access_pos_done = true;
            return self.set_access(spec, tok);
        }
        Err(DiskSpecError::TooMany {
            spec: spec.into(),
            value: tok.into(),
        })
    }

    fn set_target(&mut self, spec: &str, t: String) -> Result<(), DiskSpecError> {
        // Like xl, an empty value means "unset" and may be given again.
        if self.target.as_deref().is_some_and(|old| !old.is_empty()) {
            return Err(twice(spec, "target"));
        }
        self.target = Some(t);
        Ok(())
    }

    /// `any`: accept an unknown name (a blktap driver after `tap:`).
    fn set_format(&mut self, spec: &str, f: &str, any: bool) -> Result<(), DiskSpecError> {
        let new = match f {
            "" | "raw" => DiskFormat::Raw,
            other if any || FORMATS.contains(&other) => DiskFormat::Other(other.into()),
            other => {
                return Err(DiskSpecError::Format {
                    spec: spec.into(),
                    value: other.into(),
                })
            }
        };
        if f.is_empty() {
            return Ok(());
        }
        match &self.format {
            Some(old) if *old != new => Err(twice(spec, "format")),
            _ => {
                self.format = Some(new);
                Ok(())
            }
        }
    }

    fn set_vdev(&mut self, spec: &str, v: &str) -> Result<(), DiskSpecError> {
        if v.is_empty() {
            self.vdev.get_or_insert_with(String::new);
            return Ok(());
        }
        if self.vdev.as_deref().is_some_and(|old| !old.is_empty()) {
            return Err(twice(spec, "vdev"));
        }
        let (name, devtype) = match v.rsplit_once(':') {
            Some((name, t)) => (name, Some(t)),
            None => (v, None),
        };
        match devtype {
            None | Some("disk") => {}
            Some("cdrom") => self.cdrom = true,
            Some(other) => {
                return Err(DiskSpecError::Devtype {
                    spec: spec.into(),
                    value: other.into(),
                })
            }
        }
        self.vdev = Some(name.to_owned());
        Ok(())
    }

    fn set_access(&mut self, spec: &str, a: &str) -> Result<(), DiskSpecError> {
        let readonly = match a {
            "" => return Ok(()), // default: read-only only for a CD-ROM
            "r" | "ro" => true,
            "w" | "rw" | "w!" => false,
            _ => {
                return Err(DiskSpecError::Access {
                    spec: spec.into(),
                    value: a.into(),
                })
            }
        };
        if self.access.is_some_and(|old| old != readonly) {
            return Err(twice(spec, "access"));
        }
        self.access = Some(readonly);
        Ok(())
    }

    /// Applies defaults and checks: vdev required, target required and bounded.
    fn finish(self, spec: &str) -> Result<DiskSpec, DiskSpecError> {
        let vdev_str = self
            .vdev
            .as_deref()
            .filter(|v| !v.is_empty())
            .ok_or_else(|| DiskSpecError::NoVdev { spec: spec.into() })?;
        let vdev = parse_vdev(spec, vdev_str)?;
        let target = self
            .target
            .filter(|t| !t.is_empty())
            .ok_or_else(|| DiskSpecError::NoTarget { spec: spec.into() })?;
        let path = if target.starts_with('/') || self.script.is_some() {
            target
        } else {
            format!("/dev/{target}")
        };
        if path.contains('\0') {
            return Err(DiskSpecError::Nul { spec: spec.into() });
        }
        if path.len() > limits::MAX_PATH {
            return Err(DiskSpecError::TooLong {
                spec: spec.into(),
                len: path.len(),
            });
        }
        Ok(DiskSpec {
            path: PathBuf::from(path),
            vdev,
            format: self.format,
            readonly: self.access.unwrap_or(self.cdrom),
            cdrom: self.cdrom,
            script: self.script,
        })
    }
}

/// A vdev positional, possibly with xm's `:cdrom`/`:disk` suffix.
fn looks_like_vdev(tok: &str) -> bool {
    let name = match tok.rsplit_once(':') {
        Some((name, "cdrom" | "disk")) => name,
        _ => tok,
    };
    DevName::parse(name).is_ok()
}

/// xl parameter names: `[a-z][-a-z0-9_]*`.
fn is_param_name(key: &str) -> bool {
    let mut chars = key.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

fn twice(spec: &str, param: &'static str) -> DiskSpecError {
    DiskSpecError::Twice {
        spec: spec.into(),
        param,
    }
}

fn parse_vdev(spec: &str, v: &str) -> Result<DevName, DiskSpecError> {
    DevName::parse(v).map_err(|source| DiskSpecError::Vdev {
        spec: spec.into(),
        source,
    })
}

/// `name:` at the start, xl's `[a-z][a-z0-9]*:`.
fn split_prefix(s: &str) -> Option<(&str, &str)> {
    let (name, tail) = s.split_once(':')?;
    let mut chars = name.chars();
    let ok = chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    ok.then_some((name, tail))
}

/// Items of a Python list of string literals: `['a', "b",]`.
fn python_list(s: &str) -> Result<Vec<String>, DiskSpecError> {
    let inner = s
        .strip_prefix('[')
        .and_then(|r| r.strip_suffix(']'))
        .ok_or_else(|| DiskSpecError::List("list does not end with ']'".into()))?;
    let mut items = Vec::new();
    let mut rest = inner.trim_start();
    while !rest.is_empty() {
        let (item, after) = python_string(rest)?;
        items.push(item);
        let after = after.trim_start();
        rest = match after.strip_prefix(',') {
            Some(r) => r.trim_start(),
            None if after.is_empty() => after,
            None => {
                return Err(DiskSpecError::List(format!(
                    "expected ',' or ']' before {:?}",
                    after
                )))
            }
        };
    }
    Ok(items)
}

/// One `'…'` or `"…"` literal at the start of `s`, and what follows it.
fn python_string(s: &str) -> Result<(String, &str), DiskSpecError> {
    let mut chars = s.char_indices();
    let quote = match chars.next() {
        Some((_, q @ ('\'' | '"'))) => q,
        _ => {
            return Err(DiskSpecError::List(format!(
                "expected a quoted disk spec at {s:?}"
            )))
        }
    };
    let mut out = String::new();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some((_, e @ ('\\' | '\'' | '"'))) => out.push(e),
                _ => {
                    return Err(DiskSpecError::List(format!(
                        "unsupported escape in {s:?} (only \\\\, \\' and \\\")"
                    )))
                }
            },
            c if c == quote => return Ok((out, s.get(i + 1..).unwrap_or(""))),
            c => out.push(c),
        }
    }
    Err(DiskSpecError::List(format!("unterminated string {s:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dn(s: &str) -> DevName {
        DevName::parse(s).unwrap()
    }

    /// A stated `raw`.
    const R: Option<DiskFormat> = Some(DiskFormat::Raw);

    fn disk(path: &str, vdev: &str, format: Option<DiskFormat>, readonly: bool) -> DiskSpec {
        DiskSpec {
            path: PathBuf::from(path),
            vdev: dn(vdev),
            format,
            readonly,
            cdrom: false,
            script: None,
        }
    }

    fn other(f: &str) -> Option<DiskFormat> {
        Some(DiskFormat::Other(f.into()))
    }

    #[test]
    fn parses_specs() {
        let cases: Vec<(&str, DiskSpec)> = vec![
            // xm forms
            (
                "phy:/dev/vg/lv,xvda,w",
                disk("/dev/vg/lv", "xvda", None, false),
            ),
            (
                "file:/srv/x.img,xvdb,r",
                disk("/srv/x.img", "xvdb", None, true),
            ),
            (
                "phy:VG_Xen/LV_dom5,hda,w",
                disk("/dev/VG_Xen/LV_dom5", "hda", None, false),
            ),
            (
                "file:/var/lib/xen/test,sda,w",
                disk("/var/lib/xen/test", "sda", None, false),
            ),
            (
                "tap:aio:/srv/x.img,xvda,w",
                disk("/srv/x.img", "xvda", None, false),
            ),
            (
                "tap:sync:/srv/x.img,xvda,w",
                disk("/srv/x.img", "xvda", None, false),
            ),
            (
                "tap2:tapdisk:aio:/x,xvda,w",
                disk("/x", "xvda", None, false),
            ),
            (
                "tap:qcow2:/x.qcow2,xvda,w",
                disk("/x.qcow2", "xvda", other("qcow2"), false),
            ),
            (
                "tap:qcow:/x,xvda,w",
                disk("/x", "xvda", other("qcow"), false),
            ),
            (
                "tap:vhd:/x.vhd,xvda,w",
                disk("/x.vhd", "xvda", other("vhd"), false),
            ),
            (
                "tap:vmdk:/x.vmdk,xvda,w",
                disk("/x.vmdk", "xvda", other("vmdk"), false),
            ),
            ("raw:/x,xvda,w", disk("/x", "xvda", R, false)),
            ("qcow2:/x,xvda,w", disk("/x", "xvda", other("qcow2"), false)),
            (
                "phy:/dev/vg/root,xvda1,w",
                disk("/dev/vg/root", "xvda1", None, false),
            ),
            (
                "phy:/dev/vg/lv,xvda,w!",
                disk("/dev/vg/lv", "xvda", None, false),
            ),
            (
                "phy:/dev/vg/lv, xvda, r",
                disk("/dev/vg/lv", "xvda", None, true),
            ),
            (
                "phy:/dev/vg/lv,/dev/xvda,w",
                disk("/dev/vg/lv", "xvda", None, false),
            ),
            // xl positional
            (
                "/dev/vg/guest-volume,,hda",
                disk("/dev/vg/guest-volume", "hda", None, false),
            ),
            (
                "/dev/vg/guest-volume,raw,hda,rw",
                disk("/dev/vg/guest-volume", "hda", R, false),
            ),
            (
                "/x.img,qcow2,xvda",
                disk("/x.img", "xvda", other("qcow2"), false),
            ),
            ("/x.img,xvda,w", disk("/x.img", "xvda", None, false)),
            ("/x.img,xvdb", disk("/x.img", "xvdb", None, false)),
            ("vg/lv,raw,xvda", disk("/dev/vg/lv", "xvda", R, false)),
            // xl key=value
            (
                "format=raw, vdev=hda, access=rw, target=/dev/vg/guest-volume",
                disk("/dev/vg/guest-volume", "hda", R, false),
            ),
            (
                "format=raw,vdev=xvdb,access=ro,target=/srv/a,b c.img",
                disk("/srv/a,b c.img", "xvdb", R, true),
            ),
            ("vdev=xvdb,target=/x,", disk("/x", "xvdb", None, false)),
            ("vdev=xvdb,,target=/x", disk("/x", "xvdb", None, false)),
            (
                "backendtype=qdisk,discard,vdev=xvdc,newopt=1,/x.img",
                disk("/x.img", "xvdc", None, false),
            ),
            (
                "format=vhd,vdev=xvdb,target=/x",
                disk("/x", "xvdb", other("vhd"), false),
            ),
            ("/x,raw,xvda,rw,format=raw", disk("/x", "xvda", R, false)),
            ("/x,raw,,rw,vdev=xvdd", disk("/x", "xvdd", R, false)),
            ("/x,raw,xvda,,access=ro", disk("/x", "xvda", R, true)),
            (
                "phy:/srv/a=b.img,xvda,w",
                disk("/srv/a=b.img", "xvda", None, false),
            ),
        ];
        for (input, want) in cases {
            assert_eq!(DiskSpec::parse(input).as_ref(), Ok(&want), "{input:?}");
        }
    }

    #[test]
    fn cdroms_and_scripts() {
        let cd = DiskSpec::parse("/root/image.iso,,hdc,cdrom").unwrap();
        assert_eq!(
            (cd.cdrom, cd.readonly, cd.vdev.to_string()),
            (true, true, "hdc".into())
        );
        for s in [
            "/root/image.iso,,hdc,,cdrom",
            "/root/image.iso,raw,hdc,devtype=cdrom",
            "format=raw, vdev=hdc, access=ro, devtype=cdrom, target=/root/image.iso",
            "raw:/root/image.iso,hdc:cdrom,ro",
        ] {
            let d = DiskSpec::parse(s).unwrap();
            assert_eq!(d.path, PathBuf::from("/root/image.iso"), "{s}");
            assert!(d.cdrom && d.readonly, "{s}");
            assert_eq!(d.vdev, dn("hdc"), "{s}");
        }
        let rw_cd = DiskSpec::parse("/x.iso,,hdc,rw,cdrom").unwrap();
        assert!(rw_cd.cdrom && !rw_cd.readonly);
        let iscsi = DiskSpec::parse("iscsi:iqn.2001-04.com.example:disk,xvdb,w").unwrap();
        assert_eq!(iscsi.script.as_deref(), Some("block-iscsi"));
        assert_eq!(iscsi.path, PathBuf::from("iqn.2001-04.com.example:disk"));
        let nbd = DiskSpec::parse("script=block-nbd,vdev=xvdc,target=host:1234").unwrap();
        assert_eq!(nbd.script.as_deref(), Some("block-nbd"));
        assert_eq!(
            nbd.require_readable().unwrap_err().to_string(),
            "disk xvdc (host:1234): reached through script block-nbd, not a path that can be opened"
        );
    }

    #[test]
    fn require_readable() {
        let ok = |spec: &str| DiskSpec::parse(spec).unwrap().require_readable();
        assert_eq!(ok("phy:/dev/vg/lv,xvda,w"), Ok(None), "not stated: probed");
        assert_eq!(ok("/x,raw,xvda"), Ok(Some(ImageFormat::Raw)));
        assert_eq!(ok("tap:qcow2:/x,xvda"), Ok(Some(ImageFormat::Qcow2)));
        assert_eq!(
            ok("format=qcow2,vdev=xvda,target=/x"),
            Ok(Some(ImageFormat::Qcow2))
        );
        for (spec, msg) in [
            (
                "tap:vmdk:/srv/x.vmdk,xvdb,w",
                "xvdb: /srv/x.vmdk: VMDK image (unsupported; convert with qemu-img)",
            ),
            (
                "format=vhd,vdev=xvda,target=/x",
                "xvda: /x: VHD image (unsupported; convert with qemu-img)",
            ),
            (
                "/x,qcow,xvda",
                "xvda: /x: qcow (version 1) image (unsupported; convert with qemu-img)",
            ),
            (
                "tap:foo:/x,xvda",
                "xvda: /x: foo image (unsupported; convert with qemu-img)",
            ),
        ] {
            assert_eq!(ok(spec).unwrap_err().to_string(), msg, "{spec}");
        }
    }

    #[test]
    fn rejects_specs() {
        let long = format!("/{},xvda", "a".repeat(limits::MAX_PATH));
        let cases: Vec<(&str, &str)> = vec![
            ("", "empty disk spec"),
            ("  ", "empty disk spec"),
            ("/x,xvda,w,extra", "disk spec \"/x,xvda,w,extra\": too many positional parameters at \"extra\""),
            ("/x,foo,xvda", "disk spec \"/x,foo,xvda\": unknown format \"foo\" (raw, qcow, qcow2, vhd, qed)"),
            ("format=vmdk,vdev=xvda,target=/x", "disk spec \"format=vmdk,vdev=xvda,target=/x\": unknown format \"vmdk\" (raw, qcow, qcow2, vhd, qed)"),
            ("phy:/x,xvda,rx", "disk spec \"phy:/x,xvda,rx\": unknown access \"rx\" (r, ro, w, rw)"),
            ("phy:/x,xvda:floppy,w", "disk spec \"phy:/x,xvda:floppy,w\": unknown device type \"floppy\" (disk, cdrom)"),
            ("devtype=tape,vdev=xvda,target=/x", "disk spec \"devtype=tape,vdev=xvda,target=/x\": unknown device type \"tape\" (disk, cdrom)"),
            ("foo:/x,xvda,w", "disk spec \"foo:/x,xvda,w\": unknown prefix \"foo:\""),
            ("phy:/x,xvda,w,vdev=xvdb", "disk spec \"phy:/x,xvda,w,vdev=xvdb\": vdev given twice"),
            ("format=raw,qcow2:/x,xvda", "disk spec \"format=raw,qcow2:/x,xvda\": format given twice"),
            ("phy:/x,xvda,w,format=foo", "disk spec \"phy:/x,xvda,w,format=foo\": unknown format \"foo\" (raw, qcow, qcow2, vhd, qed)"),
            ("target=/x", "disk spec \"target=/x\": no vdev (the guest's name for the disk, e.g. xvda)"),
            ("phy:/x", "disk spec \"phy:/x\": no vdev (the guest's name for the disk, e.g. xvda)"),
            ("/x,raw,,rw", "disk spec \"/x,raw,,rw\": no vdev (the guest's name for the disk, e.g. xvda)"),
            ("/x,,hdc,,rw", "disk spec \"/x,,hdc,,rw\": too many positional parameters at \"rw\""),
            (",,xvda", "disk spec \",,xvda\": no target path"),
            ("phy:/x,nvme0n1,w", "disk spec \"phy:/x,nvme0n1,w\": device name \"nvme0n1\": expected xvdX, hdX, sdX or vdX with an optional partition number (e.g. xvda2)"),
            ("vdev=xvda,target=/a\0b", "disk spec \"vdev=xvda,target=/a\\0b\": target contains a NUL byte"),
            ("/srv/a=b.img,xvda", "disk spec \"/srv/a=b.img,xvda\": bad parameter \"/srv/a=b.img\" (a path containing '=' needs target=)"),
        ];
        for (input, msg) in cases {
            let err = DiskSpec::parse(input).expect_err(input).to_string();
            assert_eq!(err, msg, "{input:?}");
        }
        let err = DiskSpec::parse(&long).unwrap_err().to_string();
        assert!(
            err.ends_with("target of 4097 bytes is longer than 4096"),
            "{err}"
        );
    }

    #[test]
    fn parses_lists() {
        let l = parse_disk_list("['phy:/dev/vg/lv,xvda,w', 'file:/srv/x.img,xvdb,r']").unwrap();
        assert_eq!(
            l,
            vec![
                disk("/dev/vg/lv", "xvda", None, false),
                disk("/srv/x.img", "xvdb", None, true),
            ]
        );
        let suse = parse_disk_list("['phy:VG_Xen/LV_dom5,hda,w', 'file:/var/lib/xen/test,sda,w']")
            .unwrap();
        assert_eq!(suse.len(), 2);
        assert_eq!(suse[0].path, PathBuf::from("/dev/VG_Xen/LV_dom5"));
        assert_eq!(suse[1].vdev, dn("sda"));
        let odd = parse_disk_list(
            "  [ \"phy:/dev/vg/lv,xvda,w\" ,'/x\\'s.img,raw,xvdb,r', ',hdc:cdrom,r', ] ",
        )
        .unwrap();
        assert_eq!(odd.len(), 2, "empty cdrom skipped");
        assert_eq!(odd[1].path, PathBuf::from("/x's.img"));
        let single = parse_disk_list("format=raw,vdev=xvda,target=/srv/a, b.img").unwrap();
        assert_eq!(single[0].path, PathBuf::from("/srv/a, b.img"));
        let bare = parse_disk_list("phy:/dev/vg/lv,xvda,w").unwrap();
        assert_eq!(bare, vec![disk("/dev/vg/lv", "xvda", None, false)]);
        let withq = parse_disk_list("['tap:qcow2:/q,xvdb,w', 'phy:/r,xvda,w']").unwrap();
        assert_eq!(
            withq[0].format,
            other("qcow2"),
            "non-raw disks stay in the list"
        );
    }

    #[test]
    fn rejects_lists() {
        let cases: Vec<(&str, &str)> = vec![
            ("[]", "--disks: no disks"),
            ("['',]", "empty disk spec"),
            ("[',hdc:cdrom,r']", "--disks: no disks"),
            ("['phy:/x,xvda,w'", "--disks: list does not end with ']'"),
            (
                "[phy:/x,xvda,w]",
                "--disks: expected a quoted disk spec at \"phy:/x,xvda,w\"",
            ),
            (
                "['a,xvda' 'b,xvdb']",
                "--disks: expected ',' or ']' before \"'b,xvdb'\"",
            ),
            ("['/x,xvda]", "--disks: unterminated string \"'/x,xvda\""),
            (
                "['/x\\n,xvda']",
                "--disks: unsupported escape in \"'/x\\\\n,xvda'\" (only \\\\, \\' and \\\")",
            ),
            ("['/a,xvda', '/b,xvda']", "--disks: xvda is given twice"),
            (
                "['/a,xvda', '/b,foo']",
                "disk spec \"/b,foo\": unknown format \"foo\" (raw, qcow, qcow2, vhd, qed)",
            ),
        ];
        for (input, msg) in cases {
            let err = parse_disk_list(input).expect_err(input).to_string();
            assert_eq!(err, msg, "{input:?}");
        }
    }

    use crate::testutil::noise;

    #[test]
    fn noise_never_panics() {
        let alphabet = b"[]'\", \\:=/phyfiletap2aioqcowxvdab1rw!targetvdevformatcdrom";
        for seed in 0..3000 {
            let bytes = noise(seed, (seed % 80) as usize, alphabet);
            let s = String::from_utf8(bytes).unwrap();
            if let Ok(disks) = parse_disk_list(&s) {
                assert!(!disks.is_empty());
            }
            let _ = DiskSpec::parse(&s).map(|d| d.require_readable());
        }
    }

    #[test]
    fn positional_pair() {
        let p = Path::new("/srv/guest.img");
        let d = DiskSpec::positional(p, Some("xvdb"), None).unwrap();
        assert_eq!((d.path.as_path(), d.vdev.to_string()), (p, "xvdb".into()));
        let d = DiskSpec::positional(p, Some("/dev/hda"), None).unwrap();
        assert_eq!(d.vdev, dn("hda"));
        let d = DiskSpec::positional(p, None, Some(&dn("sda2"))).unwrap();
        assert_eq!(d.vdev, dn("sda"));
        let d = DiskSpec::positional(p, None, None).unwrap();
        assert_eq!(d.vdev, dn("xvda"));
        assert_eq!(d.format, None);
        assert_eq!(d.to_string(), "xvda (/srv/guest.img)");
        let d = DiskSpec::positional(p, Some("xvda1"), Some(&dn("xvda1"))).unwrap();
        assert_eq!(d.vdev, dn("xvda1"));
        let err = DiskSpec::positional(p, Some("disk0"), None).unwrap_err();
        assert!(err
            .to_string()
            .starts_with("disk spec \"/srv/guest.img\": device name \"disk0\""));
        assert!(DiskSpec::positional(Path::new(""), None, None).is_err());
    }
}
