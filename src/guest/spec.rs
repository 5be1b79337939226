//! Device specs as a guest's fstab and `--root=` name a filesystem: `/dev/xvda1`,
//! `UUID=…`, `LABEL=…`, `PARTUUID=…`, `PARTLABEL=…`, `/dev/disk/by-*/…`.
//!
//! Tag names are case-sensitive and values may be quoted (`UUID="…"`, `'…'`), as in
//! libblkid. `/dev/disk/by-*` names are decoded the way udev encodes them (`\x2f` is `/`,
//! `\x20` a space). `ID=…` is `/dev/disk/by-id/…`. A `/dev` path that is not a disk of
//! the guest's naming schemes (device-mapper, LVM, md, by-id, by-path) is kept as
//! [`DeviceSpec::Path`] so a caller can say which mount it could not map.

use super::devname::{DevName, DevNameError};
use crate::limits;
use std::fmt;

/// How a filesystem is named.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeviceSpec {
    /// `/dev/xvda1`, `/dev/sda2` (any scheme of [`DevName`]).
    Dev(DevName),
    /// Filesystem UUID as written; compare with [`uuid_eq`].
    Uuid(String),
    /// Filesystem label, compared exactly.
    Label(String),
    /// Partition UUID as written (GPT GUID or `SSSSSSSS-NN`); compare with [`uuid_eq`].
    PartUuid(String),
    /// GPT partition name, compared exactly.
    PartLabel(String),
    /// Another `/dev` path: `/dev/mapper/vg-root`, `/dev/vg/lv`, `/dev/md0`,
    /// `/dev/disk/by-id/…`. Never matches a disk of the set; kept to be reported.
    Path(String),
    /// Anything else (`rootfs`, `server:/export`, `FOO=bar`, a loop image file). Never
    /// matches; kept to be reported.
    Other(String),
}

/// Why a device spec was refused. One line, naming the input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    #[error("empty device spec")]
    Empty,
    #[error("device spec {0:?}: empty value")]
    EmptyValue(String),
    #[error("device spec {0:?}: unbalanced quote")]
    Quote(String),
    #[error("device spec {0:?}: contains a NUL byte")]
    Nul(String),
    #[error("device spec of {0} bytes is longer than {max}", max = limits::MAX_PATH)]
    TooLong(usize),
    #[error("device spec {0:?}: udev escape decodes to invalid UTF-8")]
    Utf8(String),
    #[error("device spec {0:?}: expected DEV (xvda2), /dev/DEV, UUID=, LABEL=, PARTUUID=, PARTLABEL= or /dev/disk/by-*/")]
    Unrecognised(String),
    #[error(transparent)]
    DevName(#[from] DevNameError),
}

/// A prefix and the spec variant its value makes.
type Named = (&'static str, fn(String) -> DeviceSpec);

/// `/dev/disk/by-*` directories and the spec each one means.
const BY_DIRS: [Named; 4] = [
    ("/dev/disk/by-uuid/", DeviceSpec::Uuid),
    ("/dev/disk/by-label/", DeviceSpec::Label),
    ("/dev/disk/by-partuuid/", DeviceSpec::PartUuid),
    ("/dev/disk/by-partlabel/", DeviceSpec::PartLabel),
];

/// Tags and the spec each one means. `ID=` is handled apart: it maps to a path.
const TAGS: [Named; 4] = [
    ("UUID=", DeviceSpec::Uuid),
    ("LABEL=", DeviceSpec::Label),
    ("PARTUUID=", DeviceSpec::PartUuid),
    ("PARTLABEL=", DeviceSpec::PartLabel),
];

impl DeviceSpec {
    /// Parses the first field of an fstab line (already octal-unescaped). Specs that
    /// cannot name a disk partition become [`DeviceSpec::Path`] or [`DeviceSpec::Other`];
    /// errors are kept for input no reading could make sense of (empty tag value, bad
    /// quote, NUL, over-long).
    pub fn parse(s: &str) -> Result<DeviceSpec, SpecError> {
        check_basic(s)?;
        if let Some(spec) = parse_tag(s)? {
            return Ok(spec);
        }
        if let Some(spec) = parse_by_dir(s)? {
            return Ok(spec);
        }
        if let Some(name) = s.strip_prefix("/dev/") {
            return Ok(match DevName::parse(name) {
                Ok(d) if !name.starts_with('/') => DeviceSpec::Dev(d),
                _ => DeviceSpec::Path(s.to_owned()),
            });
        }
        Ok(DeviceSpec::Other(s.to_owned()))
    }

    /// Parses a `--root=` value: as [`DeviceSpec::parse`], but a bare device name
    /// (`xvda2`) is accepted, and a value that could never match ([`DeviceSpec::Other`])
    /// is an error.
    pub fn parse_arg(s: &str) -> Result<DeviceSpec, SpecError> {
        check_basic(s)?;
        if let Ok(d) = DevName::parse(s) {
            return Ok(DeviceSpec::Dev(d));
        }
        match DeviceSpec::parse(s)? {
            // `VG/LV`: a logical volume, as `/dev/VG/LV`.
            DeviceSpec::Other(o) if o.contains('/') && !o.contains(':') => {
                Ok(DeviceSpec::Path(format!("/dev/{o}")))
            }
            DeviceSpec::Other(o) => Err(SpecError::Unrecognised(o)),
            spec => Ok(spec),
        }
    }

    /// Whether this spec can ever match a filesystem of the disk set.
    pub fn is_matchable(&self) -> bool {
        !matches!(self, DeviceSpec::Path(_) | DeviceSpec::Other(_))
    }
}

impl fmt::Display for DeviceSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeviceSpec::Dev(d) => write!(f, "/dev/{d}"),
            DeviceSpec::Uuid(v) => write!(f, "UUID={v}"),
            DeviceSpec::Label(v) => write!(f, "LABEL={v}"),
            DeviceSpec::PartUuid(v) => write!(f, "PARTUUID={v}"),
            DeviceSpec::PartLabel(v) => write!(f, "PARTLABEL={v}"),
            DeviceSpec::Path(p) | DeviceSpec::Other(p) => f.write_str(p),
        }
    }
}

/// UUIDs and PARTUUIDs compare ASCII case-insensitively: blkid prints ext UUIDs lower-case
/// and FAT serials upper-case, and fstabs are written either way.
pub fn uuid_eq(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

fn check_basic(s: &str) -> Result<(), SpecError> {
    if s.is_empty() {
        return Err(SpecError::Empty);
    }
    if s.len() > limits::MAX_PATH {
        return Err(SpecError::TooLong(s.len()));
    }
    if s.contains('\0') {
        return Err(SpecError::Nul(s.to_owned()));
    }
    Ok(())
}

/// `TAG=value` with libblkid's quoting; `Ok(None)` when `s` is not one of our tags.
fn parse_tag(s: &str) -> Result<Option<DeviceSpec>, SpecError> {
    if let Some(id) = s.strip_prefix("ID=") {
        let id = unquote(s, id)?;
        return Ok(Some(DeviceSpec::Path(format!("/dev/disk/by-id/{id}"))));
    }
    for (tag, make) in TAGS {
        if let Some(raw) = s.strip_prefix(tag) {
            return Ok(Some(make(unquote(s, raw)?.to_owned())));
        }
    }
    Ok(None)
}

/// Strips one pair of matching `"` or `'` quotes; refuses an empty value.
fn unquote<'a>(whole: &str, raw: &'a str) -> Result<&'a str, SpecError> {
    let value = match raw.chars().next() {
        Some(q @ ('"' | '\'')) => raw
            .strip_prefix(q)
            .and_then(|r| r.strip_suffix(q))
            .ok_or_else(|| SpecError::Quote(whole.to_owned()))?,
        _ => raw,
    };
    if value.is_empty() {
        return Err(SpecError::EmptyValue(whole.to_owned()));
    }
    Ok(value)
}

/// `/dev/disk/by-{uuid,label,partuuid,partlabel}/NAME`; `Ok(None)` for other paths.
fn parse_by_dir(s: &str) -> Result<Option<DeviceSpec>, SpecError> {
    for (dir, make) in BY_DIRS {
        if let Some(name) = s.strip_prefix(dir) {
            if name.is_empty() {
                return Err(SpecError::EmptyValue(s.to_owned()));
            }
            let decoded = udev_unescape(name).ok_or_else(|| SpecError::Utf8(s.to_owned()))?;
            return Ok(Some(make(decoded)));
        }
    }
    Ok(None)
}

/// Decodes udev's `\xHH` escapes; other backslashes stay literal (as libmount's
/// `unhexmangle`). `None` when the result is not UTF-8.
fn udev_unescape(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        let hex = match (c, b.get(i + 1), b.get(i + 2), b.get(i + 3)) {
            (b'\\', Some(b'x'), Some(&h), Some(&l)) => hex_val(h).zip(hex_val(l)),
            _ => None,
        };
        match hex {
            Some((h, l)) => {
                out.push(h << 4 | l);
                i += 4;
            }
            None => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

fn hex_val(c: u8) -> Option<u8> {
    char::from(c)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dev(s: &str) -> DeviceSpec {
        DeviceSpec::Dev(DevName::parse(s).unwrap())
    }

    #[test]
    fn parses_specs() {
        use DeviceSpec::*;
        let u = "0a1b2c3d-1111-2222-3333-444455556666";
        let cases: Vec<(&str, DeviceSpec)> = vec![
            ("/dev/xvda1", dev("xvda1")),
            ("/dev/sda2", dev("sda2")),
            ("/dev/hdb", dev("hdb")),
            ("/dev/vdaa3", dev("vdaa3")),
            ("UUID=0a1b2c3d-1111-2222-3333-444455556666", Uuid(u.into())),
            (
                "UUID=\"0a1b2c3d-1111-2222-3333-444455556666\"",
                Uuid(u.into()),
            ),
            ("UUID='ABCD-1234'", Uuid("ABCD-1234".into())),
            ("LABEL=root", Label("root".into())),
            ("LABEL=my boot", Label("my boot".into())),
            ("LABEL=\"x=y\"", Label("x=y".into())),
            ("PARTUUID=1234abcd-02", PartUuid("1234abcd-02".into())),
            ("PARTLABEL=EFI System", PartLabel("EFI System".into())),
            ("/dev/disk/by-uuid/ABCD-1234", Uuid("ABCD-1234".into())),
            ("/dev/disk/by-label/my\\x20boot", Label("my boot".into())),
            ("/dev/disk/by-label/a\\x2fb", Label("a/b".into())),
            ("/dev/disk/by-label/a\\x2Fb", Label("a/b".into())),
            ("/dev/disk/by-label/bad\\xzz", Label("bad\\xzz".into())),
            ("/dev/disk/by-label/end\\x2", Label("end\\x2".into())),
            ("/dev/disk/by-label/caf\\xc3\\xa9", Label("café".into())),
            (
                "/dev/disk/by-partuuid/1234abcd-01",
                PartUuid("1234abcd-01".into()),
            ),
            ("/dev/disk/by-partlabel/root", PartLabel("root".into())),
            (
                "/dev/disk/by-id/ata-X",
                Path("/dev/disk/by-id/ata-X".into()),
            ),
            ("ID=ata-X", Path("/dev/disk/by-id/ata-X".into())),
            ("/dev/mapper/vg-root", Path("/dev/mapper/vg-root".into())),
            ("/dev/vg/lv", Path("/dev/vg/lv".into())),
            ("/dev/md0", Path("/dev/md0".into())),
            ("/dev/nvme0n1p2", Path("/dev/nvme0n1p2".into())),
            ("/dev/root", Path("/dev/root".into())),
            ("/dev//dev/xvda1", Path("/dev//dev/xvda1".into())),
            ("rootfs", Other("rootfs".into())),
            ("server:/export", Other("server:/export".into())),
            ("uuid=abc", Other("uuid=abc".into())),
            ("xvda1", Other("xvda1".into())),
            ("/srv/disk.img", Other("/srv/disk.img".into())),
        ];
        for (input, want) in cases {
            assert_eq!(DeviceSpec::parse(input), Ok(want), "{input:?}");
        }
    }

    #[test]
    fn rejects_specs() {
        let long = format!("LABEL={}", "a".repeat(limits::MAX_PATH));
        let cases: Vec<(&str, SpecError)> = vec![
            ("", SpecError::Empty),
            ("UUID=", SpecError::EmptyValue("UUID=".into())),
            ("LABEL=\"\"", SpecError::EmptyValue("LABEL=\"\"".into())),
            ("UUID=\"abc", SpecError::Quote("UUID=\"abc".into())),
            ("UUID='abc\"", SpecError::Quote("UUID='abc\"".into())),
            ("LABEL=\"", SpecError::Quote("LABEL=\"".into())),
            (
                "/dev/disk/by-uuid/",
                SpecError::EmptyValue("/dev/disk/by-uuid/".into()),
            ),
            (
                "/dev/disk/by-label/\\xff",
                SpecError::Utf8("/dev/disk/by-label/\\xff".into()),
            ),
            ("LABEL=a\0b", SpecError::Nul("LABEL=a\0b".into())),
            (&long, SpecError::TooLong(long.len())),
        ];
        for (input, want) in cases {
            assert_eq!(DeviceSpec::parse(input), Err(want), "{input:?}");
        }
    }

    #[test]
    fn root_arg() {
        assert_eq!(DeviceSpec::parse_arg("xvda2"), Ok(dev("xvda2")));
        assert_eq!(DeviceSpec::parse_arg("/dev/sda1"), Ok(dev("sda1")));
        assert_eq!(
            DeviceSpec::parse_arg("LABEL=root"),
            Ok(DeviceSpec::Label("root".into()))
        );
        assert_eq!(
            DeviceSpec::parse_arg("/dev/mapper/x"),
            Ok(DeviceSpec::Path("/dev/mapper/x".into()))
        );
        let err = DeviceSpec::parse_arg("root").unwrap_err();
        assert_eq!(err, SpecError::Unrecognised("root".into()));
        assert!(err
            .to_string()
            .starts_with("device spec \"root\": expected DEV"));
        assert_eq!(DeviceSpec::parse_arg(""), Err(SpecError::Empty));
    }

    #[test]
    fn display_and_matchable() {
        for s in [
            "/dev/xvda1",
            "UUID=ab",
            "LABEL=x y",
            "PARTUUID=1-01",
            "PARTLABEL=p",
        ] {
            let spec = DeviceSpec::parse(s).unwrap();
            assert_eq!(spec.to_string(), s);
            assert!(spec.is_matchable(), "{s}");
        }
        for s in ["/dev/mapper/x", "tmpfs"] {
            let spec = DeviceSpec::parse(s).unwrap();
            assert_eq!(spec.to_string(), s);
            assert!(!spec.is_matchable(), "{s}");
        }
    }

    #[test]
    fn uuid_comparison() {
        assert!(uuid_eq("abcd-1234", "ABCD-1234"));
        assert!(uuid_eq(
            "0A1B2C3D-1111-2222-3333-444455556666",
            "0a1b2c3d-1111-2222-3333-444455556666"
        ));
        assert!(!uuid_eq("abcd-1234", "abcd-1235"));
        assert!(!uuid_eq("abcd-1234", "abcd-12345"));
    }
}
