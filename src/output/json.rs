//! Our JSON result, for scripts and CI. One object and a newline:
//!
//! ```json
//! {"kernel":"/var/lib/xen/tmp/kernel.Ab3dE9","ramdisk":"/var/lib/xen/tmp/ramdisk.x9Y2kQ","args":"root=/dev/xvda1 ro"}
//! ```
//!
//! Stable: keys appear in this order, `ramdisk` is `null` without an initrd, `args` is `""`
//! when there are none. Later versions may add keys, never remove or retype them. Paths must
//! be UTF-8 (JSON strings are Unicode); a non-UTF-8 path is refused, not mangled.

use super::{BootResult, OutputError};
use std::path::Path;

#[derive(serde::Serialize)]
struct Json<'a> {
    kernel: &'a str,
    ramdisk: Option<&'a str>,
    args: &'a str,
}

/// Renders the JSON result, ending with a newline.
pub fn render(result: &BootResult) -> Result<Vec<u8>, OutputError> {
    let json = Json {
        kernel: utf8("kernel", &result.kernel)?,
        ramdisk: result
            .ramdisk
            .as_deref()
            .map(|r| utf8("ramdisk", r))
            .transpose()?,
        args: &result.args,
    };
    // Serializing a struct of strings into memory cannot fail; fall back to an explicit
    // error rather than a panic all the same.
    let mut out = serde_json::to_vec(&json).map_err(|e| OutputError::Write {
        dest: "json".to_owned(),
        source: e.into(),
    })?;
    out.push(b'\n');
    Ok(out)
}

fn utf8<'a>(field: &'static str, path: &'a Path) -> Result<&'a str, OutputError> {
    path.to_str().ok_or(OutputError::NotUtf8 { field })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    use std::path::PathBuf;

    #[test]
    fn shape() {
        let r = BootResult {
            kernel: PathBuf::from("/d/kernel.a"),
            ramdisk: None,
            args: "a \"b\"\n".to_owned(),
        };
        assert_eq!(
            render(&r).unwrap(),
            b"{\"kernel\":\"/d/kernel.a\",\"ramdisk\":null,\"args\":\"a \\\"b\\\"\\n\"}\n"
        );
    }

    #[test]
    fn non_utf8_path_refused() {
        let r = BootResult {
            kernel: PathBuf::from("/k"),
            ramdisk: Some(PathBuf::from(OsStr::from_bytes(b"/r\xff"))),
            args: String::new(),
        };
        assert_eq!(
            render(&r).unwrap_err().to_string(),
            "ramdisk path is not valid UTF-8, which the json result format cannot carry"
        );
    }
}
