//! A test-only copy of libxl's result reader (`libxl_bootloader.c`,
//! `parse_bootloader_result`): items end at NUL (or, for the simple format, newline);
//! an item of `PATH_MAX*2` bytes or more is skipped with a warning; an item is `kernel`,
//! `ramdisk` or `args`, then at least one `isspace` byte, then whitespace is skipped and the
//! rest, as a C string, is the value; a later item replaces an earlier one.
#![allow(dead_code)]

/// libxl's buffer, `PATH_MAX * 2`.
const BUF: usize = 8192;

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Result {
    pub kernel: Option<Vec<u8>>,
    pub ramdisk: Option<Vec<u8>>,
    pub args: Option<Vec<u8>>,
    /// Items libxl would log and ignore.
    pub warnings: Vec<Vec<u8>>,
}

/// Reads a result with items separated by `sep` (0 = simple0, as libxl does).
pub fn parse(bytes: &[u8], sep: u8) -> Result {
    let mut out = Result::default();
    let mut rest = bytes;
    while !rest.is_empty() {
        let end = rest.iter().position(|&b| b == sep).unwrap_or(rest.len());
        let item = &rest[..end];
        rest = rest.get(end + 1..).unwrap_or(&[]);
        if item.len() >= BUF {
            out.warnings.push(item[..150].to_vec());
            continue;
        }
        // libxl sees a C string: it ends at the first NUL.
        let item = &item[..item.iter().position(|&b| b == 0).unwrap_or(item.len())];
        if let Some(v) = command(item, b"kernel") {
            out.kernel = Some(v);
        } else if let Some(v) = command(item, b"ramdisk") {
            out.ramdisk = Some(v);
        } else if let Some(v) = command(item, b"args") {
            out.args = Some(v);
        } else if !item.is_empty() {
            out.warnings.push(item.to_vec());
        }
    }
    out
}

/// `bootloader_result_command`.
fn command(item: &[u8], prefix: &[u8]) -> Option<Vec<u8>> {
    let rhs = item.strip_prefix(prefix)?;
    if !rhs.first().is_some_and(|&b| is_space(b)) {
        return None;
    }
    let start = rhs.iter().position(|&b| !is_space(b)).unwrap_or(rhs.len());
    Some(rhs[start..].to_vec())
}

pub fn is_space(b: u8) -> bool {
    b" \t\n\x0b\x0c\r".contains(&b)
}

#[test]
fn reader_matches_libxl_semantics() {
    let r = parse(
        b"kernel /k\0ramdisk\t /r\0args  a b\0bogus\0kernelx /no\0\0",
        0,
    );
    assert_eq!(r.kernel.as_deref(), Some(&b"/k"[..]));
    assert_eq!(r.ramdisk.as_deref(), Some(&b"/r"[..]));
    assert_eq!(r.args.as_deref(), Some(&b"a b"[..]));
    assert_eq!(r.warnings, vec![b"bogus".to_vec(), b"kernelx /no".to_vec()]);
    let long = [b"args ".to_vec(), vec![b'a'; BUF]].concat();
    assert_eq!(parse(&long, 0).args, None);
    assert_eq!(parse(b"kernel /k", 0).kernel.as_deref(), Some(&b"/k"[..]));
}
