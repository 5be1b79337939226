//! xend's s-expression result: `linux (kernel P)(ramdisk Q)(args A)`, no trailing newline.
//!
//! xend parses it with `xen/xend/sxp.py` and skips the first element, so the leading `linux`
//! atom is required. It then takes the first value of each `(kernel …)`, `(ramdisk …)`,
//! `(args …)` list, so a value must be exactly one token.
//!
//! # Quoting
//!
//! Every value — kernel, ramdisk and args alike — is written the way domUloader wrote it,
//! bare, when it is a plain atom to xend's parser: non-empty, printable ASCII without space,
//! and none of the bytes that end an atom or start something else (`{}()<>[]!;#`, quotes,
//! backslash). Otherwise it is written single-quoted. So `(args root=/dev/xvda1)` stays as
//! domUloader had it, while the usual multi-word command line becomes
//! `(args 'root=/dev/xvda1 ro')`: domUloader's bare form would have lost everything after
//! the first word, since xend takes only the first token.
//!
//! Inside quotes, `\` and `'` are backslash-escaped, newline and tab become `\n` and `\t`,
//! and every other control byte becomes a three-digit octal escape (`\033`). We never write
//! `\xHH`: xend's hex escape decodes `a`–`f` as 0–5 (it subtracts `ord('a')`, not
//! `ord('a') - 10`) and raises a `NameError` when fewer than two digits follow, while its
//! octal escape is correct and ends by itself after three digits. Bytes ≥ 0x80 (UTF-8, or a
//! non-UTF-8 path) are written raw inside quotes, where xend's parser keeps any byte; bare,
//! they would be refused when they start a token.

use super::BootResult;
use std::os::unix::ffi::OsStrExt;

/// Renders the sxp result.
pub fn render(result: &BootResult) -> Vec<u8> {
    let mut out = b"linux ".to_vec();
    item(&mut out, "kernel", result.kernel.as_os_str().as_bytes());
    if let Some(ramdisk) = &result.ramdisk {
        item(&mut out, "ramdisk", ramdisk.as_os_str().as_bytes());
    }
    if !result.args.is_empty() {
        item(&mut out, "args", result.args.as_bytes());
    }
    out
}

/// Appends `(NAME VALUE)`.
fn item(out: &mut Vec<u8>, name: &str, value: &[u8]) {
    out.push(b'(');
    out.extend_from_slice(name.as_bytes());
    out.push(b' ');
    value_into(out, value);
    out.push(b')');
}

/// Appends `value` bare when xend reads it back as one atom, else quoted.
fn value_into(out: &mut Vec<u8>, value: &[u8]) {
    if is_plain_atom(value) {
        out.extend_from_slice(value);
    } else {
        quoted_into(out, value);
    }
}

/// True when xend's parser reads `value`, unquoted, as exactly this one atom.
fn is_plain_atom(value: &[u8]) -> bool {
    !value.is_empty() && value.iter().all(|&b| is_atom_byte(b))
}

/// Bytes that may appear anywhere in a bare atom. Quotes and backslash are literal inside an
/// atom to xend, but they start a string at the beginning of one; excluding them everywhere
/// keeps the rule simple and the output unambiguous to a human reader too.
fn is_atom_byte(b: u8) -> bool {
    (0x21..=0x7e).contains(&b) && !b"{}()<>[]!;#\"'\\".contains(&b)
}

/// Appends `value` single-quoted with escapes xend's parser decodes exactly.
fn quoted_into(out: &mut Vec<u8>, value: &[u8]) {
    out.push(b'\'');
    for &b in value {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\'' => out.extend_from_slice(b"\\'"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0..=0x1f | 0x7f => octal_into(out, b),
            _ => out.push(b),
        }
    }
    out.push(b'\'');
}

/// `\ooo`: always three digits, so the escape ends before the next byte whatever it is.
fn octal_into(out: &mut Vec<u8>, b: u8) {
    out.extend_from_slice(&[
        b'\\',
        b'0' + (b >> 6),
        b'0' + ((b >> 3) & 7),
        b'0' + (b & 7),
    ]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn result(kernel: &str, ramdisk: Option<&str>, args: &str) -> BootResult {
        BootResult {
            kernel: PathBuf::from(kernel),
            ramdisk: ramdisk.map(PathBuf::from),
            args: args.to_owned(),
        }
    }

    fn value(v: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        value_into(&mut out, v);
        out
    }

    #[test]
    fn domuloader_form_when_nothing_needs_escaping() {
        let r = result("/t/kernel.a", Some("/t/ramdisk.b"), "root=/dev/xvda1");
        assert_eq!(
            render(&r),
            b"linux (kernel /t/kernel.a)(ramdisk /t/ramdisk.b)(args root=/dev/xvda1)"
        );
    }

    #[test]
    fn ramdisk_and_args_only_when_present() {
        assert_eq!(render(&result("/k", None, "")), b"linux (kernel /k)");
        assert_eq!(
            render(&result("/k", None, "ro")),
            b"linux (kernel /k)(args ro)"
        );
    }

    #[test]
    fn multi_word_args_are_quoted() {
        assert_eq!(
            render(&result("/k", None, "root=/dev/xvda1 ro")),
            b"linux (kernel /k)(args 'root=/dev/xvda1 ro')"
        );
    }

    #[test]
    fn escapes() {
        assert_eq!(value(b"a'b"), b"'a\\'b'");
        assert_eq!(value(b"a\"b"), b"'a\"b'");
        assert_eq!(value(b"a\\b"), b"'a\\\\b'");
        assert_eq!(value(b"a\nb\tc"), b"'a\\nb\\tc'");
        assert_eq!(value(b"\x00\x1b\x7f\r"), b"'\\000\\033\\177\\015'");
        assert_eq!(value(b""), b"''");
        assert_eq!(value("é".as_bytes()), "'é'".as_bytes());
        assert_eq!(value(b"\xff"), b"'\xff'");
    }

    #[test]
    fn every_atom_ending_byte_forces_quotes() {
        for &b in b" \t\n\x0b\x0c\r{}()<>[]!;#\"'\\" {
            let v = [b'a', b, b'z'];
            assert_eq!(value(&v)[0], b'\'', "byte {b:#x}");
        }
        assert_eq!(
            value(b"/boot/vmlinuz-6.1_x.y:z=@~%&$^*+,-?"),
            b"/boot/vmlinuz-6.1_x.y:z=@~%&$^*+,-?"
        );
    }
}
