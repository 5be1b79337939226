//! The line formats: items `kernel P`, `ramdisk Q`, `args A`, each ended by a separator,
//! then one more separator: `\n` for simple, `\0` for simple0 (what libxl asks for).
//!
//! libxl (`parse_bootloader_result`) reads NUL-terminated items into a `PATH_MAX*2` buffer,
//! skips longer items with only a log warning, matches `kernel`/`ramdisk`/`args` followed by
//! whitespace, and skips all whitespace before the value. Hence we refuse, rather than write:
//! - a value containing the separator (it would split the item), and in simple also a NUL
//!   (C readers of a line stop there; in simple0 the NUL *is* the separator);
//! - an item longer than [`LIBXL_MAX_ITEM`]: libxl would drop it and boot without it;
//! - a path starting with whitespace: libxl would strip it and open another file.
//!
//! Args starting with whitespace are written as they are: libxl strips that whitespace,
//! which does not change a kernel command line.

use super::{BootResult, Format, OutputError};
use std::os::unix::ffi::OsStrExt;

/// Longest item (keyword, space, value; without the terminator) libxl accepts: its buffer is
/// `PATH_MAX * 2` bytes including the terminating NUL.
pub const LIBXL_MAX_ITEM: usize = 4096 * 2 - 1;

/// Renders the simple (`sep == b'\n'`) or simple0 (`sep == 0`) result.
pub fn render(result: &BootResult, sep: u8) -> Result<Vec<u8>, OutputError> {
    let mut out = Vec::new();
    path_item(
        &mut out,
        "kernel",
        result.kernel.as_os_str().as_bytes(),
        sep,
    )?;
    if let Some(ramdisk) = &result.ramdisk {
        path_item(&mut out, "ramdisk", ramdisk.as_os_str().as_bytes(), sep)?;
    }
    if !result.args.is_empty() {
        item(&mut out, "args", result.args.as_bytes(), sep)?;
    }
    out.push(sep);
    Ok(out)
}

/// Like [`item`], refusing leading whitespace libxl would strip.
fn path_item(
    out: &mut Vec<u8>,
    field: &'static str,
    value: &[u8],
    sep: u8,
) -> Result<(), OutputError> {
    if value.first().is_some_and(|&b| is_c_space(b)) {
        return Err(OutputError::LeadingSpace { field });
    }
    item(out, field, value, sep)
}

/// Appends `FIELD VALUE` and the separator, after checking the value can be read back.
fn item(out: &mut Vec<u8>, field: &'static str, value: &[u8], sep: u8) -> Result<(), OutputError> {
    check_bytes(field, value, sep)?;
    let len = field.len() + 1 + value.len();
    if len > LIBXL_MAX_ITEM {
        return Err(OutputError::ItemTooLong {
            field,
            len,
            max: LIBXL_MAX_ITEM,
        });
    }
    out.extend_from_slice(field.as_bytes());
    out.push(b' ');
    out.extend_from_slice(value);
    out.push(sep);
    Ok(())
}

/// Refuses the separator, and NUL in any format.
fn check_bytes(field: &'static str, value: &[u8], sep: u8) -> Result<(), OutputError> {
    let (format, bad) = match sep {
        0 => (Format::Simple0, None),
        _ => (Format::Simple, Some(sep)),
    };
    let found = value.iter().find(|&&b| b == 0 || Some(b) == bad);
    match found {
        None => Ok(()),
        Some(&b) => Err(OutputError::Separator {
            format,
            field,
            byte: if b == 0 { "NUL" } else { "newline" },
        }),
    }
}

/// C's `isspace` in the "C" locale, which libxl uses to end the keyword.
fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
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

    #[test]
    fn layout() {
        let r = result("/d/kernel.a", Some("/d/ramdisk.b"), "root=/dev/xvda1 ro");
        assert_eq!(
            render(&r, b'\n').unwrap(),
            b"kernel /d/kernel.a\nramdisk /d/ramdisk.b\nargs root=/dev/xvda1 ro\n\n"
        );
        assert_eq!(
            render(&r, 0).unwrap(),
            b"kernel /d/kernel.a\0ramdisk /d/ramdisk.b\0args root=/dev/xvda1 ro\0\0"
        );
        assert_eq!(
            render(&result("/k", None, ""), 0).unwrap(),
            b"kernel /k\0\0"
        );
    }

    #[test]
    fn separator_refused() {
        let e = render(&result("/k", None, "a\nb"), b'\n').unwrap_err();
        assert_eq!(
            e.to_string(),
            "args contains a newline byte, which the simple result format cannot carry"
        );
        assert_eq!(
            render(&result("/k", None, "a\nb"), 0).unwrap(),
            b"kernel /k\0args a\nb\0\0"
        );
        for sep in [0, b'\n'] {
            let e = render(&result("/k", None, "a\0b"), sep).unwrap_err();
            assert!(e.to_string().starts_with("args contains a NUL byte"), "{e}");
        }
        let e = render(&result("/k\nx", None, ""), b'\n').unwrap_err();
        assert!(
            e.to_string().starts_with("kernel contains a newline"),
            "{e}"
        );
    }

    #[test]
    fn item_length_cap_is_libxl_buffer() {
        let fits = "a".repeat(LIBXL_MAX_ITEM - "args ".len());
        assert!(render(&result("/k", None, &fits), 0).is_ok());
        let over = format!("{fits}b");
        let e = render(&result("/k", None, &over), 0).unwrap_err();
        assert_eq!(
            e.to_string(),
            "args is 8192 bytes: libxl ignores result items over 8191 bytes"
        );
    }

    #[test]
    fn leading_space_in_path_refused_in_args_kept() {
        let e = render(&result(" /k", None, ""), 0).unwrap_err();
        assert_eq!(
            e.to_string(),
            "kernel path starts with whitespace, which libxl strips"
        );
        assert_eq!(
            render(&result("/k", None, " ro"), 0).unwrap(),
            b"kernel /k\0args  ro\0\0"
        );
    }
}
