//! Extraction: copy the resolved kernel and initrd into the output directory on dom0, safely.
//!
//! - [`OutputDir::prepare`] opens the directory once (default [`DEFAULT_OUTPUT_DIR`], created
//!   0750 if missing); every later operation is relative to that descriptor.
//! - [`OutputDir::create`] makes `.PREFIX.XXXXXX.partial` with `O_CREAT|O_EXCL|O_NOFOLLOW`,
//!   mode 0600; [`OutputDir::finish`] renames it to `PREFIX.XXXXXX` without ever replacing
//!   an existing name. A reader therefore never sees a half-written kernel under its final
//!   name.
//! - [`copy_capped`] (any `Read`) and [`copy_from_file_range`] (extents of a dom0 file,
//!   zero-copy where the kernel allows) enforce a size cap before and while copying, so a
//!   guest cannot fill dom0's disk.
//! - Until [`OutputDir::commit`], dropping the [`OutputDir`] removes every file this run
//!   created, partial or finished: any error path leaves nothing behind.

mod copy;
mod dir;
mod sys;

pub use copy::{copy_capped, copy_from_file_range, copy_segments, COPY_BUFFER_SIZE};
pub use dir::{OutputDir, OutputFile, DEFAULT_OUTPUT_DIR};

use std::io;
use std::path::PathBuf;

/// What can go wrong extracting. File variants name the output file (its partial name
/// while it is being written).
#[derive(Debug, thiserror::Error)]
pub enum ExtractError {
    #[error("output directory {path}: {source}")]
    Dir { path: PathBuf, source: io::Error },
    #[error("output directory {path} is writable by everyone and not sticky: refusing to use it")]
    UnsafeDir { path: PathBuf },
    #[error("invalid output file prefix {0:?} (want letters, digits, '_' or '-')")]
    BadPrefix(String),
    #[error("cannot create a {prefix} file in {dir}: {source}")]
    Create {
        dir: PathBuf,
        prefix: String,
        source: io::Error,
    },
    #[error("no free name for a {prefix} file in {dir} after {tries} tries")]
    NoFreeName {
        dir: PathBuf,
        prefix: String,
        tries: usize,
    },
    #[error("cannot rename {from} into place: {source}")]
    Rename { from: PathBuf, source: io::Error },
    #[error("{file}: {size} bytes is over the {max}-byte size cap")]
    TooLarge { file: PathBuf, size: u64, max: u64 },
    #[error("{file}: source has more than its stated {expected} bytes (size cap {max} bytes)")]
    Longer {
        file: PathBuf,
        expected: u64,
        max: u64,
    },
    #[error("{file}: source ended after {got} of its stated {expected} bytes")]
    Shorter {
        file: PathBuf,
        expected: u64,
        got: u64,
    },
    #[error("{file}: source range at offset {offset} + {len} bytes overflows")]
    BadRange {
        file: PathBuf,
        offset: u64,
        len: u64,
    },
    #[error("{file}: error reading the source: {source}")]
    Read { file: PathBuf, source: io::Error },
    #[error("{file}: output filesystem full after {written} bytes")]
    NoSpace { file: PathBuf, written: u64 },
    #[error("{file}: write error: {source}")]
    Write { file: PathBuf, source: io::Error },
}
