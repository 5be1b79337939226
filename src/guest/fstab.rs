//! The guest's `/etc/fstab`: which local filesystems the guest mounts where.
//!
//! Syntax as libmount reads it: `#` starts a comment only as the first non-blank of a
//! line; fields are separated by spaces and tabs; `\NNN` octal escapes (`\040` space,
//! `\011` tab, `\012` newline, `\134` backslash) are decoded in every field; a trailing
//! `\r` is dropped. Fields 1–3 (spec, mount point, type) are required; options default to
//! `defaults`; freq and passno are not read (libmount skips a line whose freq is not a
//! number, e.g. a trailing `# comment` in its place; glibc's getmntent mounts it; we take
//! the line).
//!
//! What is kept: entries that can put a block filesystem on the guest's tree. Dropped
//! silently: swap, pseudo filesystems (proc, sysfs, tmpfs, devpts, cgroup*, …) and network
//! ones (nfs*, cifs, smb*, 9p, fuse*, …). Dropped with a [`Skipped`] note naming the line:
//! `noauto` entries (unless `x-systemd.automount`, which mounts on first access), bind
//! mounts (not followed yet), mount points that are not absolute, contain `..`, a NUL or
//! exceed [`limits::MAX_PATH`], unparsable specs, and lines the guest itself would ignore
//! (fewer than 3 fields, a NUL byte, non-UTF-8 spec/type/options).
//!
//! Garbage therefore never makes the fstab unusable, as for the guest's own `mount -a`;
//! the notes let a caller explain a later failure ("/boot: fstab line 4 skipped: …").
//! Errors are kept for what no guest would have: a file over [`limits::MAX_FSTAB_BYTES`]
//! or more than [`limits::MAX_FSTAB_ENTRIES`] kept entries.

use super::spec::{DeviceSpec, SpecError};
use crate::limits;
use std::fmt;

/// One mount the guest would do at boot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FstabEntry {
    /// 1-based line number, for messages.
    pub line: usize,
    pub spec: DeviceSpec,
    /// Normalised absolute path: no `//`, `.` or trailing `/` (`/` itself for the root).
    pub mount_point: Vec<u8>,
    /// As written (`ext4`, `auto`, `xfs`); whether it is readable is the caller's question.
    pub fstype: String,
    /// Options split at commas outside double quotes; `["defaults"]` when absent.
    pub options: Vec<String>,
}

impl FstabEntry {
    pub fn has_option(&self, name: &str) -> bool {
        self.options.iter().any(|o| o == name)
    }
}

/// A line that was not taken, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skipped {
    pub line: usize,
    /// The mount point as written (unescaped), when the line had one.
    pub mount_point: Option<Vec<u8>>,
    pub reason: SkipReason,
}

/// Why a line was not taken.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SkipReason {
    /// Fewer than 3 fields.
    MissingFields,
    /// A NUL byte in the line.
    Nul,
    /// Spec, type or options not UTF-8.
    NotUtf8,
    NoAuto,
    Bind,
    /// Mount point not absolute, with `..`, a NUL, or too long.
    MountPoint(&'static str),
    Spec(SpecError),
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SkipReason::MissingFields => f.write_str("fewer than 3 fields"),
            SkipReason::Nul => f.write_str("contains a NUL byte"),
            SkipReason::NotUtf8 => f.write_str("spec, type or options are not UTF-8"),
            SkipReason::NoAuto => f.write_str("noauto, not mounted at boot"),
            SkipReason::Bind => f.write_str("bind mounts are not followed"),
            SkipReason::MountPoint(why) => write!(f, "mount point {why}"),
            SkipReason::Spec(e) => e.fmt(f),
        }
    }
}

impl fmt::Display for Skipped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "fstab line {}", self.line)?;
        if let Some(mp) = &self.mount_point {
            // Escaped so a hostile mount point cannot break the one-line message.
            write!(f, " ({})", mp.escape_ascii())?;
        }
        write!(f, " skipped: {}", self.reason)
    }
}

/// The parsed fstab: kept entries in file order (a later entry for the same mount point
/// mounts over an earlier one), and notes on skipped lines.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Fstab {
    pub entries: Vec<FstabEntry>,
    /// The first [`limits::MAX_FSTAB_NOTES`] skipped lines.
    pub skipped: Vec<Skipped>,
    /// Skipped lines beyond those.
    pub more_skipped: usize,
}

impl Fstab {
    /// The entry mounted on `/`: the last one, as a later mount covers an earlier one.
    pub fn root(&self) -> Option<&FstabEntry> {
        self.entries.iter().rev().find(|e| e.mount_point == b"/")
    }

    /// Skipped lines whose mount point would have covered `path` (absolute, normalised):
    /// the likely cause when `path` is not found.
    pub fn skipped_covering<'a>(&'a self, path: &'a [u8]) -> impl Iterator<Item = &'a Skipped> {
        self.skipped.iter().filter(move |s| {
            s.mount_point
                .as_deref()
                .and_then(|m| normalise_mount_point(m).ok())
                .is_some_and(|m| covers(&m, path))
        })
    }
}

/// Whether the normalised mount point `mp` is `path` or one of its ancestors, component
/// by component (`/boot` covers `/boot/vmlinuz`, not `/bootx`).
pub fn covers(mp: &[u8], path: &[u8]) -> bool {
    if mp == b"/" {
        return path.starts_with(b"/");
    }
    match path.strip_prefix(mp) {
        Some(rest) => rest.is_empty() || rest.starts_with(b"/"),
        None => false,
    }
}

/// Why an fstab could not be used at all. One line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FstabError {
    #[error("/etc/fstab is larger than {max} bytes", max = limits::MAX_FSTAB_BYTES)]
    TooLarge,
    #[error("/etc/fstab has more than {max} mount entries (line {line})", max = limits::MAX_FSTAB_ENTRIES)]
    TooManyEntries { line: usize },
}

/// Parses fstab bytes; see the module doc for what is kept.
pub fn parse_fstab(bytes: &[u8]) -> Result<Fstab, FstabError> {
    if u64::try_from(bytes.len()).map_or(true, |n| n > limits::MAX_FSTAB_BYTES) {
        return Err(FstabError::TooLarge);
    }
    let mut out = Fstab::default();
    for (idx, raw) in bytes.split(|&b| b == b'\n').enumerate() {
        let line = idx.saturating_add(1);
        match parse_line(raw) {
            Ok(None) => {}
            Ok(Some(entry)) => {
                if out.entries.len() >= limits::MAX_FSTAB_ENTRIES {
                    return Err(FstabError::TooManyEntries { line });
                }
                out.entries.push(FstabEntry { line, ..entry });
            }
            Err((mount_point, reason)) => {
                if out.skipped.len() < limits::MAX_FSTAB_NOTES {
                    out.skipped.push(Skipped {
                        line,
                        mount_point,
                        reason,
                    });
                } else {
                    out.more_skipped = out.more_skipped.saturating_add(1);
                }
            }
        }
    }
    Ok(out)
}

type LineResult = Result<Option<FstabEntry>, (Option<Vec<u8>>, SkipReason)>;

/// One line: `Ok(None)` for comments, blanks and silently ignored types; the entry
/// (with line 0) when kept; the reason when skipped with a note.
fn parse_line(raw: &[u8]) -> LineResult {
    let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
    let mut fields = raw
        .split(|&b| b == b' ' || b == b'\t')
        .filter(|f| !f.is_empty());
    let Some(first) = fields.next() else {
        return Ok(None);
    };
    if first.starts_with(b"#") {
        return Ok(None);
    }
    if raw.contains(&0) {
        return Err((None, SkipReason::Nul));
    }
    let (Some(mp), Some(ty)) = (fields.next(), fields.next()) else {
        return Err((None, SkipReason::MissingFields));
    };
    let mount_raw = unescape(mp);
    let skip = |reason| Err((Some(mount_raw.clone()), reason));
    let (Ok(fstype), Ok(opts)) = (
        String::from_utf8(unescape(ty)),
        String::from_utf8(fields.next().map_or_else(|| b"defaults".to_vec(), unescape)),
    ) else {
        return skip(SkipReason::NotUtf8);
    };
    let options = split_options(&opts);
    let has = |o: &str| options.iter().any(|x| x == o);
    if has("bind") || has("rbind") {
        return skip(SkipReason::Bind);
    }
    if is_ignored_type(&fstype) {
        return Ok(None);
    }
    if has("noauto") && !has("x-systemd.automount") {
        return skip(SkipReason::NoAuto);
    }
    let mount_point = match normalise_mount_point(&mount_raw) {
        Ok(m) => m,
        Err(why) => return skip(SkipReason::MountPoint(why)),
    };
    let Ok(spec_str) = String::from_utf8(unescape(first)) else {
        return skip(SkipReason::NotUtf8);
    };
    let spec = match DeviceSpec::parse(&spec_str) {
        Ok(s) => s,
        Err(e) => return skip(SkipReason::Spec(e)),
    };
    Ok(Some(FstabEntry {
        line: 0,
        spec,
        mount_point,
        fstype,
        options,
    }))
}

/// libmount's `unmangle`: `\` and three octal digits is one byte (taken modulo 256, as C
/// does); any other backslash is literal.
fn unescape(field: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(field.len());
    let mut i = 0;
    while let Some(&c) = field.get(i) {
        let oct = |k: usize| field.get(i + k).filter(|d| (b'0'..=b'7').contains(d));
        match (c, oct(1), oct(2), oct(3)) {
            (b'\\', Some(a), Some(b), Some(d)) => {
                let v = u16::from(a - b'0') * 64 + u16::from(b - b'0') * 8 + u16::from(d - b'0');
                out.push(v.to_le_bytes()[0]);
                i += 4;
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

/// Splits options at commas that are not inside double quotes (`context="a,b"`).
fn split_options(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in s.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                cur.push(c);
            }
            ',' if !quoted => out.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    out.push(cur);
    out.retain(|o| !o.is_empty());
    out
}

/// Types that never put a block filesystem on the tree: swap, pseudo, network.
fn is_ignored_type(t: &str) -> bool {
    const EXACT: [&str; 38] = [
        "swap",
        "proc",
        "sysfs",
        "tmpfs",
        "devpts",
        "devtmpfs",
        "ramfs",
        "securityfs",
        "debugfs",
        "tracefs",
        "configfs",
        "mqueue",
        "hugetlbfs",
        "binfmt_misc",
        "rpc_pipefs",
        "nfsd",
        "autofs",
        "pstore",
        "efivarfs",
        "bpf",
        "fusectl",
        "selinuxfs",
        "usbfs",
        "usbdevfs",
        "xenfs",
        "shm",
        "none",
        "ignore",
        "overlay",
        "aufs",
        "cifs",
        "9p",
        "ceph",
        "glusterfs",
        "afs",
        "davfs",
        "virtiofs",
        "ncpfs",
    ];
    const PREFIX: [&str; 4] = ["cgroup", "nfs", "smb", "fuse"];
    EXACT.contains(&t) || PREFIX.iter().any(|p| t.starts_with(p))
}

/// Absolute, components joined by one `/`, `.` dropped, `..` refused.
fn normalise_mount_point(mp: &[u8]) -> Result<Vec<u8>, &'static str> {
    if !mp.starts_with(b"/") {
        return Err("is not absolute");
    }
    if mp.contains(&0) {
        return Err("contains a NUL byte");
    }
    if mp.len() > limits::MAX_PATH {
        return Err("is too long");
    }
    let mut out = Vec::with_capacity(mp.len());
    for comp in mp.split(|&b| b == b'/') {
        match comp {
            b"" | b"." => {}
            b".." => return Err("contains '..'"),
            c => {
                out.push(b'/');
                out.extend_from_slice(c);
            }
        }
    }
    if out.is_empty() {
        out.push(b'/');
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::guest::devname::DevName;

    fn parse(s: &str) -> Fstab {
        parse_fstab(s.as_bytes()).unwrap()
    }

    /// (line, spec, mount point, type, options) of each kept entry.
    fn kept(f: &Fstab) -> Vec<(usize, String, String, String, String)> {
        f.entries
            .iter()
            .map(|e| {
                (
                    e.line,
                    e.spec.to_string(),
                    String::from_utf8_lossy(&e.mount_point).into_owned(),
                    e.fstype.clone(),
                    e.options.join(","),
                )
            })
            .collect()
    }

    fn row(
        l: usize,
        s: &str,
        m: &str,
        t: &str,
        o: &str,
    ) -> (usize, String, String, String, String) {
        (l, s.into(), m.into(), t.into(), o.into())
    }

    #[test]
    fn debian_installer_fstab() {
        let f = parse(
            "# /etc/fstab: static file system information.\n\
             #\n\
             # Use 'blkid' to print the universally unique identifier for a\n\
             # device; this may be used with UUID= as a more robust way to name devices\n\
             # that works even if disks are added and removed. See fstab(5).\n\
             #\n\
             # <file system> <mount point>   <type>  <options>       <dump>  <pass>\n\
             # / was on /dev/xvda2 during installation\n\
             UUID=0a1b2c3d-1111-2222-3333-444455556666 /               ext4    errors=remount-ro 0       1\n\
             # /boot was on /dev/xvda1 during installation\n\
             UUID=5e6f7a8b-1111-2222-3333-444455556666 /boot           ext2    defaults        0       2\n\
             # swap was on /dev/xvda3 during installation\n\
             UUID=9c0d1e2f-1111-2222-3333-444455556666 none            swap    sw              0       0\n\
             /dev/sr0        /media/cdrom0   udf,iso9660 user,noauto     0       0\n",
        );
        assert_eq!(
            kept(&f),
            vec![
                row(
                    9,
                    "UUID=0a1b2c3d-1111-2222-3333-444455556666",
                    "/",
                    "ext4",
                    "errors=remount-ro"
                ),
                row(
                    11,
                    "UUID=5e6f7a8b-1111-2222-3333-444455556666",
                    "/boot",
                    "ext2",
                    "defaults"
                ),
            ]
        );
        assert_eq!(f.skipped.len(), 1);
        assert_eq!(
            f.skipped[0].to_string(),
            "fstab line 14 (/media/cdrom0) skipped: noauto, not mounted at boot"
        );
    }

    #[test]
    fn classic_xen_guest_fstab() {
        let f = parse(
            "/dev/xvda2\t/\text3\tdefaults,errors=remount-ro\t0 1\n\
             /dev/xvda1 /boot ext2 defaults 0 2\n\
             /dev/sdb1 /srv ext4 defaults\n\
             /dev/hda3 none swap sw 0 0\n\
             proc /proc proc defaults 0 0\n\
             sysfs /sys sysfs defaults 0 0\n\
             devpts /dev/pts devpts gid=5,mode=620 0 0\n\
             tmpfs /dev/shm tmpfs defaults 0 0\n\
             none /sys/fs/cgroup cgroup2 defaults 0 0\n\
             server:/export /mnt/nfs nfs4 rw 0 0\n\
             //srv/share /mnt/smb cifs credentials=/x 0 0\n\
             sshfs#me@host:/ /mnt/ssh fuse defaults 0 0\n\
             me@host:/ /mnt/ssh2 fuse.sshfs defaults 0 0\n\
             host0 /mnt/9p 9p trans=virtio 0 0\n",
        );
        assert_eq!(
            kept(&f),
            vec![
                row(1, "/dev/xvda2", "/", "ext3", "defaults,errors=remount-ro"),
                row(2, "/dev/xvda1", "/boot", "ext2", "defaults"),
                row(3, "/dev/sdb1", "/srv", "ext4", "defaults"),
            ]
        );
        assert_eq!(f.skipped, vec![]);
        assert_eq!(
            f.entries[0].spec,
            DeviceSpec::Dev(DevName::parse("xvda2").unwrap())
        );
        assert!(f.entries[0].has_option("errors=remount-ro"));
        assert!(!f.entries[0].has_option("noauto"));
    }

    #[test]
    fn escapes_labels_and_tags() {
        let f = parse(
            "LABEL=my\\040root / ext4 defaults 0 1\n\
             LABEL=\"boot\" /boot vfat umask=0077\n\
             PARTUUID=1234abcd-02 /home ext4 defaults\n\
             PARTLABEL=data\\011x /srv/my\\040data ext4 defaults\n\
             /dev/disk/by-label/EFI\\x20System /boot/efi vfat defaults\n\
             /dev/disk/by-uuid/ABCD-1234 /boot/firmware vfat defaults\n\
             /dev/disk/by-partuuid/1234abcd-03 /var ext4 defaults\n\
             /dev/disk/by-partlabel/tmp /tmp2 ext4 defaults\n\
             /dev/mapper/vg-opt /opt ext4 defaults\n\
             /dev/x\\134y /x\\012y ext4 defaults\n\
             /dev/bad\\08 /oct ext4 defaults\n\
             /dev/wrap\\501 /wrap ext4 defaults\n",
        );
        use DeviceSpec::*;
        let specs: Vec<_> = f.entries.iter().map(|e| e.spec.clone()).collect();
        assert_eq!(
            specs,
            vec![
                Label("my root".into()),
                Label("boot".into()),
                PartUuid("1234abcd-02".into()),
                PartLabel("data\tx".into()),
                Label("EFI System".into()),
                Uuid("ABCD-1234".into()),
                PartUuid("1234abcd-03".into()),
                PartLabel("tmp".into()),
                Path("/dev/mapper/vg-opt".into()),
                Path("/dev/x\\y".into()),
                Path("/dev/bad\\08".into()),
                Path("/dev/wrapA".into()),
            ]
        );
        let mps: Vec<&[u8]> = f.entries.iter().map(|e| e.mount_point.as_slice()).collect();
        assert_eq!(mps[3], b"/srv/my data");
        assert_eq!(mps[9], b"/x\ny");
        assert_eq!(f.entries[1].options, vec!["umask=0077"]);
        assert_eq!(f.skipped, vec![]);
    }

    #[test]
    fn comments_blanks_and_whitespace() {
        let f = parse(
            "\n   \n\t# indented comment\n  #another\n\
             \t /dev/xvda1 \t /boot\text2  \r\n\
             /dev/xvda2 / ext4 defaults 0 1 # trailing comment is ignored\n\
             /dev/xvda3 /home ext4 defaults # in the freq position\n\
             /dev/xvda4 /data#1 ext4 defaults\n\
             /dev/xvda5 /var ext4",
        );
        assert_eq!(
            kept(&f),
            vec![
                row(5, "/dev/xvda1", "/boot", "ext2", "defaults"),
                row(6, "/dev/xvda2", "/", "ext4", "defaults"),
                row(7, "/dev/xvda3", "/home", "ext4", "defaults"),
                row(8, "/dev/xvda4", "/data#1", "ext4", "defaults"),
                row(9, "/dev/xvda5", "/var", "ext4", "defaults"),
            ]
        );
    }

    #[test]
    fn mount_point_normalisation() {
        let f = parse(
            "/dev/xvda1 //boot// ext2 defaults\n\
             /dev/xvda2 /./srv/./x/ ext4 defaults\n\
             /dev/xvda3 /// ext4 defaults\n",
        );
        let mps: Vec<String> = kept(&f).into_iter().map(|r| r.2).collect();
        assert_eq!(mps, vec!["/boot", "/srv/x", "/"]);
    }

    #[test]
    fn skips_with_notes() {
        let long = format!(
            "/dev/xvda1 /{} ext4 defaults\n",
            "a".repeat(limits::MAX_PATH)
        );
        let text = format!(
            "/dev/xvda1 /boot\n\
             /dev/xvda1\n\
             /dev/xvda1 /boot ext2 noauto,defaults\n\
             /dev/xvda1 /efi vfat noauto,x-systemd.automount\n\
             /srv/boot /boot none bind 0 0\n\
             /srv/boot /boot2 ext4 rbind\n\
             /dev/xvda2 boot ext4 defaults\n\
             /dev/xvda2 none ext4 defaults\n\
             /dev/xvda2 /a/../etc ext4 defaults\n\
             /dev/xvda2 /a\\000b ext4 defaults\n\
             UUID= /x ext4 defaults\n\
             LABEL=\"x /y ext4 defaults\n\
             /dev/xvda2 /z ext4 a,\"b,c\",d\n\
             {long}"
        );
        let f = parse(&text);
        assert_eq!(
            kept(&f),
            vec![
                row(
                    4,
                    "/dev/xvda1",
                    "/efi",
                    "vfat",
                    "noauto,x-systemd.automount"
                ),
                row(13, "/dev/xvda2", "/z", "ext4", "a,\"b,c\",d"),
            ]
        );
        assert_eq!(f.entries[1].options, vec!["a", "\"b,c\"", "d"]);
        let notes: Vec<String> = f.skipped.iter().map(ToString::to_string).collect();
        assert_eq!(
            notes,
            vec![
                "fstab line 1 skipped: fewer than 3 fields",
                "fstab line 2 skipped: fewer than 3 fields",
                "fstab line 3 (/boot) skipped: noauto, not mounted at boot",
                "fstab line 5 (/boot) skipped: bind mounts are not followed",
                "fstab line 6 (/boot2) skipped: bind mounts are not followed",
                "fstab line 7 (boot) skipped: mount point is not absolute",
                "fstab line 8 (none) skipped: mount point is not absolute",
                "fstab line 9 (/a/../etc) skipped: mount point contains '..'",
                "fstab line 10 (/a\\x00b) skipped: mount point contains a NUL byte",
                "fstab line 11 (/x) skipped: device spec \"UUID=\": empty value",
                "fstab line 12 (/y) skipped: device spec \"LABEL=\\\"x\": unbalanced quote",
                &format!(
                    "fstab line 14 (/{}) skipped: mount point is too long",
                    "a".repeat(limits::MAX_PATH)
                ),
            ]
        );
        assert_eq!(f.more_skipped, 0);
    }

    #[test]
    fn garbage_lines() {
        let mut bytes = b"/dev/xvda1 /boot ext2 defaults\n".to_vec();
        bytes.extend_from_slice(b"/dev/xvda2 / ext4 de\0faults\n");
        bytes.extend_from_slice(b"/dev/xvda3 /x \xff\xfe defaults\n");
        bytes.extend_from_slice(b"\xff /y ext4 defaults\n");
        bytes.extend_from_slice(b"/dev/xvda4 /z ext4 \xc3\x28\n");
        bytes.extend_from_slice(b"\x01\x02\x03 \x04 \x05\n");
        bytes.extend_from_slice(b"/dev/xvda5 /srv ext4\n");
        let f = parse_fstab(&bytes).unwrap();
        let mps: Vec<String> = kept(&f).into_iter().map(|r| r.2).collect();
        assert_eq!(mps, vec!["/boot", "/srv"]);
        let notes: Vec<String> = f.skipped.iter().map(ToString::to_string).collect();
        assert_eq!(
            notes,
            vec![
                "fstab line 2 skipped: contains a NUL byte",
                "fstab line 3 (/x) skipped: spec, type or options are not UTF-8",
                "fstab line 4 (/y) skipped: spec, type or options are not UTF-8",
                "fstab line 5 (/z) skipped: spec, type or options are not UTF-8",
                "fstab line 6 (\\x04) skipped: mount point is not absolute",
            ]
        );
    }

    #[test]
    fn caps() {
        let big = vec![b'#'; usize::try_from(limits::MAX_FSTAB_BYTES).unwrap() + 1];
        assert_eq!(parse_fstab(&big), Err(FstabError::TooLarge));
        assert_eq!(
            FstabError::TooLarge.to_string(),
            "/etc/fstab is larger than 1048576 bytes"
        );
        let at_cap = vec![b'#'; usize::try_from(limits::MAX_FSTAB_BYTES).unwrap()];
        assert_eq!(parse_fstab(&at_cap), Ok(Fstab::default()));

        let many: String = (0..=limits::MAX_FSTAB_ENTRIES)
            .map(|i| format!("/dev/xvda1 /m{i} ext4 defaults\n"))
            .collect();
        let err = parse_fstab(many.as_bytes()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "/etc/fstab has more than 1024 mount entries (line 1025)"
        );

        let bad: String = (0..limits::MAX_FSTAB_NOTES + 10).map(|_| "x y\n").collect();
        let f = parse(&bad);
        assert_eq!(f.skipped.len(), limits::MAX_FSTAB_NOTES);
        assert_eq!(f.more_skipped, 10);
    }

    #[test]
    fn root_and_covering() {
        let f = parse(
            "/dev/xvda2 / ext4 defaults\n\
             /dev/xvda1 /boot ext2 noauto\n\
             /dev/xvda3 //boot/efi/ vfat bind\n\
             /dev/xvdb1 / ext4 defaults\n",
        );
        assert_eq!(f.root().map(|e| e.line), Some(4));
        let lines = |p: &[u8]| f.skipped_covering(p).map(|s| s.line).collect::<Vec<_>>();
        assert_eq!(lines(b"/boot/vmlinuz"), vec![2]);
        assert_eq!(lines(b"/boot/efi/x"), vec![2, 3]);
        assert_eq!(lines(b"/bootx"), Vec::<usize>::new());
        assert_eq!(parse("/dev/xvda1 /boot ext2 defaults\n").root(), None);
    }

    #[test]
    fn covering() {
        let cases: &[(&[u8], &[u8], bool)] = &[
            (b"/", b"/", true),
            (b"/", b"/boot/x", true),
            (b"/boot", b"/boot", true),
            (b"/boot", b"/boot/vmlinuz", true),
            (b"/boot", b"/bootx", false),
            (b"/boot", b"/", false),
            (b"/boot/efi", b"/boot", false),
            (b"/", b"relative", false),
        ];
        for &(mp, path, want) in cases {
            assert_eq!(
                covers(mp, path),
                want,
                "{:?} {:?}",
                mp.escape_ascii().to_string(),
                path.escape_ascii().to_string()
            );
        }
    }

    use crate::testutil::noise;

    #[test]
    fn noise_never_panics() {
        let alphabet = b" \t\n\r#\\0178/.=,\"'\0\xffUIDLABEPRTxvdasb1mnoautbind";
        for seed in 0..2000 {
            let bytes = noise(seed, (seed % 300) as usize, alphabet);
            let f = parse_fstab(&bytes).unwrap();
            for e in &f.entries {
                assert!(e.mount_point.starts_with(b"/"));
                assert!(!e.mount_point.windows(2).any(|w| w == b"//"));
            }
            for s in &f.skipped {
                assert!(!s.to_string().contains('\n'));
            }
        }
    }

    #[test]
    fn empty_and_comment_only() {
        assert_eq!(parse(""), Fstab::default());
        assert_eq!(parse("# nothing\n\n"), Fstab::default());
    }
}
