//! Version ordering (the UAPI group's version format, systemd's `strverscmp_improved`, as
//! `systemd-analyze compare-versions` prints it), used to sort BLS entries and to pick the
//! newest `/boot/vmlinuz-*` when no configuration names one (virt-get-kernel's fallback).
//!
//! Strings split into numeric and alphabetic segments; other characters separate them. A
//! segment may be prefixed by `~` (pre-release: older than anything), `-` (version/release
//! separator), `^` (post-release patch) or `.`; with no prefix it is newest. Numbers compare
//! by value, letters by bytes, and a string with more segments is newer — so `6.7.0-rc4` is
//! newer than `6.7.0`: only `~` marks a pre-release here.

use std::cmp::Ordering;

/// Compares two version strings; `Greater` means `a` is newer.
pub fn compare_versions(a: &str, b: &str) -> Ordering {
    compare_version_bytes(a.as_bytes(), b.as_bytes())
}

/// [`compare_versions`] on raw bytes (file names from a guest need not be UTF-8). A NUL ends
/// the string, as in the C original.
pub fn compare_version_bytes(a: &[u8], b: &[u8]) -> Ordering {
    let mut a = Cursor::new(a);
    let mut b = Cursor::new(b);
    // Each turn consumes at least one byte of either string or returns (see `segment`).
    loop {
        a.skip_invalid();
        b.skip_invalid();
        for prefix in [b'~', 0, b'-', b'^', b'.'] {
            if prefix == 0 {
                // After `~`: whichever string ended first is older.
                if a.at_end() || b.at_end() {
                    return a.peek().cmp(&b.peek());
                }
                continue;
            }
            let (pa, pb) = (a.peek() == prefix, b.peek() == prefix);
            if pa || pb {
                if pa != pb {
                    // The prefixed one is older.
                    return pb.cmp(&pa);
                }
                a.bump();
                b.bump();
            }
        }
        let ord = segment(&mut a, &mut b);
        if ord != Ordering::Equal {
            return ord;
        }
    }
}

/// Compares the next numeric (if either starts with a digit) or alphabetic segments and
/// moves past them.
fn segment(a: &mut Cursor<'_>, b: &mut Cursor<'_>) -> Ordering {
    if a.peek().is_ascii_digit() || b.peek().is_ascii_digit() {
        let sa = a.take_while(|c| c.is_ascii_digit());
        let sb = b.take_while(|c| c.is_ascii_digit());
        // A number is newer than none; then more significant digits; then the digits.
        let (ta, tb) = (trim_zeros(sa), trim_zeros(sb));
        (!sa.is_empty())
            .cmp(&!sb.is_empty())
            .then(ta.len().cmp(&tb.len()))
            .then(ta.cmp(tb))
    } else {
        let sa = a.take_while(|c| c.is_ascii_alphabetic());
        let sb = b.take_while(|c| c.is_ascii_alphabetic());
        let n = sa.len().min(sb.len());
        sa.get(..n).cmp(&sb.get(..n)).then(sa.len().cmp(&sb.len()))
    }
}

fn trim_zeros(s: &[u8]) -> &[u8] {
    let zeros = s.iter().take_while(|&&c| c == b'0').count();
    s.get(zeros..).unwrap_or_default()
}

struct Cursor<'a> {
    s: &'a [u8],
    i: usize,
}

impl<'a> Cursor<'a> {
    fn new(s: &'a [u8]) -> Self {
        let end = s.iter().position(|&c| c == 0).unwrap_or(s.len());
        Cursor {
            s: s.get(..end).unwrap_or_default(),
            i: 0,
        }
    }

    /// The current byte, 0 at the end.
    fn peek(&self) -> u8 {
        self.s.get(self.i).copied().unwrap_or(0)
    }

    fn at_end(&self) -> bool {
        self.i >= self.s.len()
    }

    fn bump(&mut self) {
        if !self.at_end() {
            self.i += 1;
        }
    }

    fn skip_invalid(&mut self) {
        while !self.at_end() && !is_version_char(self.peek()) {
            self.i += 1;
        }
    }

    fn take_while(&mut self, f: impl Fn(u8) -> bool) -> &'a [u8] {
        let start = self.i;
        while !self.at_end() && f(self.peek()) {
            self.i += 1;
        }
        self.s.get(start..self.i).unwrap_or_default()
    }
}

fn is_version_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'~' | b'-' | b'^' | b'.')
}

/// File-name suffixes of copies that are not the installed kernel (backups, signatures,
/// package-manager leftovers, Ubuntu's signed EFI twin of the same kernel).
const NOT_A_KERNEL: &[&[u8]] = &[
    b".old",
    b".bak",
    b".sig",
    b".hmac",
    b".efi.signed",
    b".dpkg-old",
    b".dpkg-new",
    b".dpkg-tmp",
    b".dpkg-bak",
    b".dpkg-dist",
    b".rpmnew",
    b".rpmsave",
    b"~",
];

/// The newest kernel among `/boot` file names (`vmlinuz-V`, else uncompressed `vmlinux-V`,
/// like virt-get-kernel) and the initrd made for that same version: the first present of
/// `initrd.img-V` (Debian), `initramfs-V.img` (Fedora/RHEL/Arch), `initrd-V` (SUSE),
/// `initrd-V.img`. An initrd of another version is never paired: it would not hold the
/// kernel's modules. Fedora's `vmlinuz-0-rescue-*` sorts below every real version, so it is
/// chosen only when alone. Equal versions (`6.1.0-09` vs `6.1.0-9`) tie-break by name.
pub fn newest_kernel(names: &[Vec<u8>]) -> Option<(Vec<u8>, Option<Vec<u8>>)> {
    let (kernel, ver) = newest_with_prefix(names, b"vmlinuz-")
        .or_else(|| newest_with_prefix(names, b"vmlinux-"))?;
    let patterns: [(&[u8], &[u8]); 4] = [
        (b"initrd.img-", b""),
        (b"initramfs-", b".img"),
        (b"initrd-", b""),
        (b"initrd-", b".img"),
    ];
    let initrd = patterns.iter().find_map(|(pre, post)| {
        let want = [*pre, ver, *post].concat();
        names.iter().find(|n| **n == want).cloned()
    });
    Some((kernel.to_vec(), initrd))
}

fn newest_with_prefix<'a>(names: &'a [Vec<u8>], prefix: &[u8]) -> Option<(&'a [u8], &'a [u8])> {
    names
        .iter()
        .filter_map(|n| Some((n.as_slice(), n.strip_prefix(prefix)?)))
        .filter(|(_, v)| !v.is_empty() && !NOT_A_KERNEL.iter().any(|s| v.ends_with(s)))
        .max_by(|(na, va), (nb, vb)| compare_version_bytes(va, vb).then(na.cmp(nb)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use Ordering::*;

    /// systemd's documented order (oldest first), every pair checked both ways.
    #[test]
    fn systemd_reference_order() {
        let order = [
            "122.1",
            "123~rc1-1",
            "123",
            "123-a",
            "123-a.1",
            "123-1",
            "123-1.1",
            "123^post1",
            "123.a-1",
            "123.1-1",
            "123a-1",
            "124-1",
        ];
        for (i, a) in order.iter().enumerate() {
            for (j, b) in order.iter().enumerate() {
                assert_eq!(compare_versions(a, b), i.cmp(&j), "{a} vs {b}");
            }
        }
    }

    #[test]
    fn kernel_versions() {
        let cases = [
            // Debian: ABI number compares as a number.
            ("6.1.0-13-amd64", "6.1.0-9-amd64", Greater),
            ("6.1.0-13-amd64", "6.1.0-13-amd64", Equal),
            ("4.19.0-9-amd64", "4.9.0-3-amd64", Greater),
            // RHEL/Fedora release strings.
            (
                "5.14.0-362.8.1.el9_3.x86_64",
                "5.14.0-284.11.1.el9_2.x86_64",
                Greater,
            ),
            (
                "5.14.0-362.8.1.el9_3.x86_64",
                "5.14.0-362.8.1.el9_3.x86_64",
                Equal,
            ),
            (
                "5.6.6-300.fc32.x86_64",
                "0-rescue-de8380606ce44a2dabad127eb049acbe",
                Greater,
            ),
            ("3.10.0-1127.el7.x86_64", "3.10.0-957.el7.x86_64", Greater),
            // Ubuntu.
            ("4.10.0-42-generic", "4.10.0-40-generic", Greater),
            ("5.15.0-105-generic", "5.15.0-97-generic", Greater),
            // -rc: not a pre-release marker in this scheme (more segments = newer)...
            ("6.7.0-rc4", "6.7.0", Greater),
            ("6.7.0-rc4", "6.7.0-rc10", Less),
            // ...but Fedora's rc packaging (release 0.rcN) sorts before the final 1.fcN.
            (
                "5.11.0-0.rc5.20210128git76c057c84d28.137.fc34",
                "5.11.0-1.fc34",
                Less,
            ),
            ("1.0~rc1", "1.0", Less),
            // Leading zeros and separators.
            ("00123", "123", Equal),
            ("1_2", "1.2", Greater), // `_` separates like nothing: "2" beats ".2"
            ("123_a", "123a", Equal),
            ("", "", Equal),
            ("", "0", Less),
            ("a", "", Greater),
            ("1\0zzz", "1", Equal),
        ];
        for (a, b, want) in cases {
            assert_eq!(compare_versions(a, b), want, "{a} vs {b}");
            assert_eq!(compare_versions(b, a), want.reverse(), "{b} vs {a}");
        }
    }

    #[test]
    fn hostile_bytes_terminate() {
        let junk: Vec<u8> = (0..=255u8).cycle().take(10_000).collect();
        let _ = compare_version_bytes(&junk, &junk[1..]);
        let seps = b"-.^~-.^~".repeat(1000);
        assert_eq!(compare_version_bytes(&seps, &seps), Equal);
        assert_eq!(compare_version_bytes(b"\xff\xfe1", b"1"), Equal);
    }

    fn names(v: &[&str]) -> Vec<Vec<u8>> {
        v.iter().map(|s| s.as_bytes().to_vec()).collect()
    }

    fn pick(v: &[&str]) -> Option<(String, Option<String>)> {
        newest_kernel(&names(v)).map(|(k, i)| {
            (
                String::from_utf8(k).unwrap(),
                i.map(|i| String::from_utf8(i).unwrap()),
            )
        })
    }

    fn some(k: &str, i: Option<&str>) -> Option<(String, Option<String>)> {
        Some((k.into(), i.map(Into::into)))
    }

    #[test]
    fn newest_debian_kernel_and_its_initrd() {
        let boot = [
            "config-6.1.0-9-amd64",
            "initrd.img-6.1.0-9-amd64",
            "vmlinuz-6.1.0-9-amd64",
            "initrd.img-6.1.0-13-amd64",
            "vmlinuz-6.1.0-13-amd64",
            "System.map-6.1.0-13-amd64",
            "vmlinuz.old",
            "grub",
        ];
        assert_eq!(
            pick(&boot),
            some("vmlinuz-6.1.0-13-amd64", Some("initrd.img-6.1.0-13-amd64"))
        );
    }

    #[test]
    fn newest_fedora_kernel_skips_rescue_and_hmac() {
        let boot = [
            "vmlinuz-0-rescue-8d62a0261d8147dc84eb89292ebc1666",
            "initramfs-0-rescue-8d62a0261d8147dc84eb89292ebc1666.img",
            "vmlinuz-5.14.0-362.8.1.el9_3.x86_64",
            "initramfs-5.14.0-362.8.1.el9_3.x86_64.img",
            "initramfs-5.14.0-362.8.1.el9_3.x86_64kdump.img",
            "vmlinuz-5.14.0-284.11.1.el9_2.x86_64",
            "initramfs-5.14.0-284.11.1.el9_2.x86_64.img",
            ".vmlinuz-5.14.0-362.8.1.el9_3.x86_64.hmac",
        ];
        assert_eq!(
            pick(&boot),
            some(
                "vmlinuz-5.14.0-362.8.1.el9_3.x86_64",
                Some("initramfs-5.14.0-362.8.1.el9_3.x86_64.img")
            )
        );
        assert_eq!(
            pick(&boot[..2]),
            some(
                "vmlinuz-0-rescue-8d62a0261d8147dc84eb89292ebc1666",
                Some("initramfs-0-rescue-8d62a0261d8147dc84eb89292ebc1666.img")
            )
        );
    }

    #[test]
    fn newest_ubuntu_suse_and_fallbacks() {
        let ubuntu = [
            "vmlinuz-4.10.0-42-generic.efi.signed",
            "vmlinuz-4.10.0-42-generic",
            "vmlinuz-4.10.0-40-generic",
            "initrd.img-4.10.0-40-generic",
            "initrd.img-4.10.0-42-generic",
        ];
        assert_eq!(
            pick(&ubuntu),
            some(
                "vmlinuz-4.10.0-42-generic",
                Some("initrd.img-4.10.0-42-generic")
            )
        );
        let suse = [
            "vmlinuz-6.4.0-150600.23.25-default",
            "initrd-6.4.0-150600.23.25-default",
        ];
        assert_eq!(pick(&suse), some(suse[0], Some(suse[1])));
        let img = ["vmlinuz-2.6.32", "initrd-2.6.32.img"];
        assert_eq!(pick(&img), some(img[0], Some(img[1])));
        // No initrd of that version: none rather than a mismatched one.
        assert_eq!(
            pick(&["vmlinuz-6.1", "initrd.img-6.0"]),
            some("vmlinuz-6.1", None)
        );
        // Uncompressed kernels only when no vmlinuz exists.
        assert_eq!(
            pick(&["vmlinux-6.1", "vmlinuz-5.0"]),
            some("vmlinuz-5.0", None)
        );
        assert_eq!(pick(&["vmlinux-6.1"]), some("vmlinux-6.1", None));
        assert_eq!(
            pick(&["vmlinuz-", "vmlinuz", "vmlinuz-6.1.old", "initrd.img"]),
            None
        );
        assert_eq!(pick(&[]), None);
        // Equal versions: deterministic by name.
        assert_eq!(
            pick(&["vmlinuz-6.1.0-9", "vmlinuz-6.1.0-09"]),
            some("vmlinuz-6.1.0-9", None)
        );
    }
}
