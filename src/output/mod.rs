//! The result handed back to the caller: which files on dom0 hold the kernel and ramdisk,
//! and the kernel command line. Rendered byte-exact in the format each caller reads
//! (compat.md §2): xend's sxp ([`sxp`]), libxl's simple/simple0 ([`simple`]), and our own
//! JSON ([`json`]); written once, only on success, by [`sink`].
//!
//! Values are bytes to every reader except JSON: paths are written as the raw bytes of the
//! `OsStr`, so a non-UTF-8 output directory works for sxp, simple and simple0. JSON can only
//! carry Unicode, so it refuses such a path instead of mangling it.

pub mod json;
pub mod simple;
pub mod sink;
pub mod sxp;

pub use sink::write_result;

use std::path::PathBuf;
use std::str::FromStr;

/// What the bootloader found, as the caller sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BootResult {
    /// The extracted kernel, a file on dom0.
    pub kernel: PathBuf,
    /// The extracted initrd, if the entry has one.
    pub ramdisk: Option<PathBuf>,
    /// Kernel command line; empty means "none" (no `args` item is written).
    pub args: String,
}

/// A result format.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Format {
    /// xend's s-expression (the default of domUloader and pygrub).
    #[default]
    Sxp,
    /// Newline-separated items.
    Simple,
    /// NUL-separated items (libxl).
    Simple0,
    /// A JSON object for scripts; see [`json`].
    Json,
}

impl Format {
    /// Every format, in the order shown to users.
    pub const ALL: [Format; 4] = [Format::Sxp, Format::Simple, Format::Simple0, Format::Json];

    /// The name used by `--output-format`.
    pub fn name(self) -> &'static str {
        match self {
            Format::Sxp => "sxp",
            Format::Simple => "simple",
            Format::Simple0 => "simple0",
            Format::Json => "json",
        }
    }
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// An `--output-format` value that names no format.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown output format {0:?}; valid formats: sxp, simple, simple0, json")]
pub struct UnknownFormat(pub String);

impl FromStr for Format {
    type Err = UnknownFormat;

    /// Exact, lower-case names, as pygrub and libxl spell them.
    fn from_str(s: &str) -> Result<Format, UnknownFormat> {
        Format::ALL
            .into_iter()
            .find(|f| f.name() == s)
            .ok_or_else(|| UnknownFormat(s.to_owned()))
    }
}

/// Why a result could not be rendered or written. Rendering errors name the field.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error("{field} contains a {byte} byte, which the {format} result format cannot carry")]
    Separator {
        format: Format,
        field: &'static str,
        /// Printable name of the byte: `NUL` or `newline`.
        byte: &'static str,
    },
    #[error("{field} is {len} bytes: libxl ignores result items over {max} bytes")]
    ItemTooLong {
        field: &'static str,
        len: usize,
        max: usize,
    },
    #[error("{field} path is empty")]
    EmptyPath { field: &'static str },
    #[error("{field} path starts with whitespace, which libxl strips")]
    LeadingSpace { field: &'static str },
    #[error("{field} path is not valid UTF-8, which the json result format cannot carry")]
    NotUtf8 { field: &'static str },
    #[error("cannot open result file {path}")]
    Open {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write result to {dest}")]
    Write {
        /// The path, or `stdout`.
        dest: String,
        source: std::io::Error,
    },
}

/// Renders `result` in `format`, byte-exact as the caller reads it.
pub fn render(result: &BootResult, format: Format) -> Result<Vec<u8>, OutputError> {
    check_paths(result)?;
    match format {
        Format::Sxp => Ok(sxp::render(result)),
        Format::Simple => simple::render(result, b'\n'),
        Format::Simple0 => simple::render(result, 0),
        Format::Json => json::render(result),
    }
}

/// The named paths, as (field, path) pairs.
fn paths(result: &BootResult) -> impl Iterator<Item = (&'static str, &PathBuf)> {
    std::iter::once(("kernel", &result.kernel)).chain(result.ramdisk.iter().map(|r| ("ramdisk", r)))
}

/// An empty path means a caller bug; no reader can use it.
fn check_paths(result: &BootResult) -> Result<(), OutputError> {
    match paths(result).find(|(_, p)| p.as_os_str().is_empty()) {
        Some((field, _)) => Err(OutputError::EmptyPath { field }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_names_round_trip() {
        for f in Format::ALL {
            assert_eq!(f.name().parse::<Format>().unwrap(), f);
            assert_eq!(f.to_string(), f.name());
        }
        assert_eq!(Format::default(), Format::Sxp);
    }

    #[test]
    fn unknown_format_lists_valid_names() {
        let e = "SXP".parse::<Format>().unwrap_err();
        assert_eq!(
            e.to_string(),
            "unknown output format \"SXP\"; valid formats: sxp, simple, simple0, json"
        );
        assert!("".parse::<Format>().is_err());
    }

    #[test]
    fn empty_path_refused_in_every_format() {
        let r = BootResult {
            kernel: PathBuf::from("/k"),
            ramdisk: Some(PathBuf::new()),
            args: String::new(),
        };
        for f in Format::ALL {
            let e = render(&r, f).unwrap_err();
            assert_eq!(e.to_string(), "ramdisk path is empty");
        }
    }
}
