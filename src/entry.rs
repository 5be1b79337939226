//! The boot entry given by `--entry` (compat.md §1, §3): a domUloader entry
//! `[DEV:]KERNEL[,INITRD]`, or a pygrub menu choice (an index or a title).
//!
//! Grammar, decided here where compat.md leaves a choice:
//! - A value containing `:` or `/` is a domUloader entry; anything else is a menu choice:
//!   all ASCII digits → a 0-based index (pygrub's), else a title. So a menu title with `/`
//!   or `:` (`Debian GNU/Linux`) cannot be chosen by title; use its index or a part of it.
//! - `DEV:` is everything before the first `:`. It must be a device name ([`DevName`]),
//!   optionally `/dev/`-prefixed, or a logical volume: `VG/LV`, `/dev/VG/LV`,
//!   `/dev/mapper/VG-LV` (any name with a `/` that is not a device name). A kernel path containing `:` therefore needs a `DEV:`
//!   (`xvda1:/boot/a:b`), because without it `/boot/a` would be read as the device.
//! - After `DEV:`, the first `,` separates KERNEL from INITRD; a second `,` is refused,
//!   since a comma inside either path would make the split ambiguous.
//! - A path not starting with `/` gets one prepended; `KERNEL,` means no initrd.
//! - Refused: an empty DEV or KERNEL (`/` alone counts as empty), a NUL, a path longer
//!   than [`limits::MAX_PATH`] bytes.

use crate::guest::devname::{DevName, DevNameError};
use crate::limits;

/// A kernel (and initrd) named by path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BootEntry {
    /// The partition (or unpartitioned disk) holding both files; `None` when the paths are
    /// in the guest's root filesystem, located through its fstab.
    pub dev: Option<DevName>,
    /// The logical volume holding both files, as `DEV:` named it (`VG/LV`,
    /// `/dev/mapper/VG-LV`); set instead of `dev`.
    pub volume: Option<String>,
    /// Absolute guest path of the kernel.
    pub kernel: Vec<u8>,
    /// Absolute guest path of the initrd.
    pub initrd: Option<Vec<u8>>,
}

/// A pygrub-style menu choice.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MenuChoice {
    /// 0-based entry index.
    Index(usize),
    /// Entry title, as given.
    Title(String),
}

/// What `--entry` asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EntrySpec {
    Path(BootEntry),
    Menu(MenuChoice),
}

/// Why an entry was refused. One line, naming the input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EntryError {
    #[error("empty boot entry")]
    Empty,
    #[error("boot entry {0:?}: empty device before ':'")]
    EmptyDevice(String),
    #[error("boot entry {entry:?}: {source}")]
    BadDevice { entry: String, source: DevNameError },
    #[error("boot entry {0:?}: no kernel path")]
    EmptyKernel(String),
    #[error("boot entry {0:?}: more than one ',' (expected [DEV:]KERNEL[,INITRD])")]
    ExtraComma(String),
    #[error("boot entry {0:?}: contains a NUL byte")]
    Nul(String),
    #[error("boot entry: {what} path of {len} bytes is longer than {max}", max = limits::MAX_PATH)]
    TooLong { what: &'static str, len: usize },
    #[error("boot entry {0:?}: menu index too large")]
    BadIndex(String),
}

/// Parses an `--entry` value; see the module doc for the grammar.
pub fn parse_entry(s: &str) -> Result<EntrySpec, EntryError> {
    if s.is_empty() {
        return Err(EntryError::Empty);
    }
    if s.contains('\0') {
        return Err(EntryError::Nul(s.to_owned()));
    }
    if s.contains([':', '/']) {
        return parse_path_entry(s).map(EntrySpec::Path);
    }
    parse_menu_choice(s).map(EntrySpec::Menu)
}

fn parse_menu_choice(s: &str) -> Result<MenuChoice, EntryError> {
    if s.bytes().all(|b| b.is_ascii_digit()) {
        return s
            .parse()
            .map(MenuChoice::Index)
            .map_err(|_| EntryError::BadIndex(s.to_owned()));
    }
    Ok(MenuChoice::Title(s.to_owned()))
}

fn parse_path_entry(s: &str) -> Result<BootEntry, EntryError> {
    let (dev, volume, files) = match s.split_once(':') {
        Some((dev, files)) => match parse_dev(s, dev) {
            Ok(d) => (Some(d), None, files),
            Err(_) if is_volume_name(dev) => (None, Some(dev.to_owned()), files),
            Err(e) => return Err(e),
        },
        None => (None, None, s),
    };
    let (kernel, initrd) = match files.split_once(',') {
        Some((_, rest)) if rest.contains(',') => return Err(EntryError::ExtraComma(s.into())),
        Some((k, i)) => (k, (!i.is_empty()).then_some(i)),
        None => (files, None),
    };
    let kernel = absolute(kernel, "kernel")?;
    if kernel == b"/" {
        return Err(EntryError::EmptyKernel(s.to_owned()));
    }
    let initrd = initrd.map(|i| absolute(i, "initrd")).transpose()?;
    Ok(BootEntry {
        dev,
        volume,
        kernel,
        initrd,
    })
}

fn parse_dev(entry: &str, dev: &str) -> Result<DevName, EntryError> {
    if dev.is_empty() {
        return Err(EntryError::EmptyDevice(entry.to_owned()));
    }
    DevName::parse(dev).map_err(|source| EntryError::BadDevice {
        entry: entry.to_owned(),
        source,
    })
}

/// `VG/LV`, `/dev/VG/LV`, `/dev/mapper/VG-LV`: a name with a `/` after any `/dev/`, no empty
/// part and no space.
fn is_volume_name(dev: &str) -> bool {
    let plain = dev.strip_prefix("/dev/").unwrap_or(dev);
    plain.len() <= limits::MAX_PATH
        && plain.contains('/')
        && plain.split('/').all(|p| !p.is_empty())
        && !plain.contains(char::is_whitespace)
}

/// The path as bytes with a leading `/` ensured, length-checked after prepending.
fn absolute(p: &str, what: &'static str) -> Result<Vec<u8>, EntryError> {
    let mut out = Vec::with_capacity(p.len().saturating_add(1));
    if !p.starts_with('/') {
        out.push(b'/');
    }
    out.extend_from_slice(p.as_bytes());
    if out.len() > limits::MAX_PATH {
        return Err(EntryError::TooLong {
            what,
            len: out.len(),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(dev: Option<&str>, kernel: &str, initrd: Option<&str>) -> EntrySpec {
        EntrySpec::Path(BootEntry {
            dev: dev.map(|d| DevName::parse(d).unwrap()),
            volume: None,
            kernel: kernel.as_bytes().to_vec(),
            initrd: initrd.map(|i| i.as_bytes().to_vec()),
        })
    }

    #[test]
    fn parses_entries() {
        let cases: Vec<(&str, EntrySpec)> = vec![
            (
                "xvda2:/boot/vmlinuz,/boot/initrd",
                path(Some("xvda2"), "/boot/vmlinuz", Some("/boot/initrd")),
            ),
            (
                "xvda1:vmlinuz,initrd.img",
                path(Some("xvda1"), "/vmlinuz", Some("/initrd.img")),
            ),
            ("hda1:/vmlinuz", path(Some("hda1"), "/vmlinuz", None)),
            ("sda5:/vmlinuz,", path(Some("sda5"), "/vmlinuz", None)),
            (
                "/dev/xvda2:/boot/vmlinuz",
                path(Some("xvda2"), "/boot/vmlinuz", None),
            ),
            (
                "xvda:/boot/vmlinuz",
                path(Some("xvda"), "/boot/vmlinuz", None),
            ),
            ("xvdaa3:/k", path(Some("xvdaa3"), "/k", None)),
            ("vda2:/k", path(Some("vda2"), "/k", None)),
            ("/boot/vmlinuz", path(None, "/boot/vmlinuz", None)),
            (
                "/boot/vmlinuz,/boot/initrd",
                path(None, "/boot/vmlinuz", Some("/boot/initrd")),
            ),
            ("boot/vmlinuz,", path(None, "/boot/vmlinuz", None)),
            ("xvda1:/boot/a:b", path(Some("xvda1"), "/boot/a:b", None)),
            (
                "xvda1:/boot/vmlinuz 6.1,/boot/initrd 6.1",
                path(Some("xvda1"), "/boot/vmlinuz 6.1", Some("/boot/initrd 6.1")),
            ),
            ("0", EntrySpec::Menu(MenuChoice::Index(0))),
            ("12", EntrySpec::Menu(MenuChoice::Index(12))),
            (
                "Debian",
                EntrySpec::Menu(MenuChoice::Title("Debian".into())),
            ),
            (
                "Ubuntu 22.04, recovery",
                EntrySpec::Menu(MenuChoice::Title("Ubuntu 22.04, recovery".into())),
            ),
            // compat.md: a '/' makes it a path, even when meant as a title.
            ("Debian GNU/Linux", path(None, "/Debian GNU/Linux", None)),
            ("-1", EntrySpec::Menu(MenuChoice::Title("-1".into()))),
            (
                "vmlinuz",
                EntrySpec::Menu(MenuChoice::Title("vmlinuz".into())),
            ),
        ];
        for (input, want) in cases {
            assert_eq!(parse_entry(input), Ok(want), "{input:?}");
        }
    }

    #[test]
    fn whole_disk_of_entry() {
        let Ok(EntrySpec::Path(e)) = parse_entry("xvda2:/k") else {
            panic!("not a path entry")
        };
        assert_eq!(e.dev.unwrap().whole_disk(), DevName::parse("xvda").unwrap());
    }

    use crate::testutil::noise;

    #[test]
    fn noise_never_panics() {
        let alphabet = b":/,\0xvdahs1209 bootvmlinuz";
        for seed in 0..3000 {
            let bytes = noise(seed, (seed % 40) as usize, alphabet);
            let s = String::from_utf8(bytes).unwrap();
            if let Ok(EntrySpec::Path(e)) = parse_entry(&s) {
                assert!(e.kernel.starts_with(b"/") && e.kernel.len() > 1);
                assert!(e.initrd.is_none_or(|i| i.starts_with(b"/")));
            }
        }
    }

    #[test]
    fn rejects_entries() {
        let long = format!("xvda1:/{}", "k".repeat(limits::MAX_PATH));
        let long_initrd = format!("xvda1:/k,{}", "i".repeat(limits::MAX_PATH));
        let max_ok = format!("xvda1:{}", "k".repeat(limits::MAX_PATH - 1));
        assert!(parse_entry(&max_ok).is_ok());
        let cases: Vec<(&str, &str)> = vec![
            ("", "empty boot entry"),
            (":/boot/vmlinuz", "boot entry \":/boot/vmlinuz\": empty device before ':'"),
            ("xvda1:", "boot entry \"xvda1:\": no kernel path"),
            ("xvda1:/", "boot entry \"xvda1:/\": no kernel path"),
            ("xvda1:,/initrd", "boot entry \"xvda1:,/initrd\": no kernel path"),
            (
                "xvda1:/k,/i,/x",
                "boot entry \"xvda1:/k,/i,/x\": more than one ',' (expected [DEV:]KERNEL[,INITRD])",
            ),
            ("/k,,", "boot entry \"/k,,\": more than one ',' (expected [DEV:]KERNEL[,INITRD])"),
            ("xvda1:/k\0", "boot entry \"xvda1:/k\\0\": contains a NUL byte"),
            ("3\0", "boot entry \"3\\0\": contains a NUL byte"),
            (
                "nvme0n1p2:/k",
                "boot entry \"nvme0n1p2:/k\": device name \"nvme0n1p2\": expected xvdX, hdX, sdX or vdX with an optional partition number (e.g. xvda2)",
            ),
            (
                "xvda0:/k",
                "boot entry \"xvda0:/k\": device name \"xvda0\": bad partition number (1 or more, no leading zero)",
            ),
            (
                "/boot/vmlinuz:1",
                "boot entry \"/boot/vmlinuz:1\": device name \"/boot/vmlinuz\": expected xvdX, hdX, sdX or vdX with an optional partition number (e.g. xvda2)",
            ),
            (
                "99999999999999999999999",
                "boot entry \"99999999999999999999999\": menu index too large",
            ),
            (&long, "boot entry: kernel path of 4097 bytes is longer than 4096"),
            (&long_initrd, "boot entry: initrd path of 4097 bytes is longer than 4096"),
        ];
        for (input, msg) in cases {
            let err = parse_entry(input).expect_err(input);
            assert_eq!(err.to_string(), msg, "{:?}", input.get(..80));
        }
    }

    #[test]
    fn volume_devices() {
        for (text, lv) in [
            (
                "debian-vg/root:/boot/vmlinuz,/boot/initrd.img",
                "debian-vg/root",
            ),
            ("/dev/vg/lv:/vmlinuz", "/dev/vg/lv"),
            (
                "/dev/mapper/ubuntu--vg-ubuntu--lv:/boot/vmlinuz",
                "/dev/mapper/ubuntu--vg-ubuntu--lv",
            ),
        ] {
            let Ok(EntrySpec::Path(e)) = parse_entry(text) else {
                panic!("{text}");
            };
            assert_eq!((e.dev, e.volume.as_deref()), (None, Some(lv)), "{text}");
        }
        assert!(parse_entry("vg/:/vmlinuz").is_err());
        assert!(parse_entry("nodev:/vmlinuz").is_err());
        let Ok(EntrySpec::Path(e)) = parse_entry("xvda2:/vmlinuz") else {
            panic!()
        };
        assert_eq!(e.volume, None);
    }
}
