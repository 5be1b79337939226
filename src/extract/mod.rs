//! Extraction: copy the resolved kernel and initrd into the output directory on dom0, safely.
//!
//! - [`OutputDir::prepare`] opens the directory once (default [`DEFAULT_OUTPUT_DIR`], created
//!   0750 if missing); every later operation is relative to that descriptor.
//! - [`OutputDir::create`] makes an unnamed file (`O_TMPFILE`, mode 0600) that
//!   [`OutputDir::finish`] links in as `PREFIX.XXXXXX` with `linkat`, never replacing an
//!   existing name: until then nothing is visible, and a run killed even by SIGKILL leaves
//!   nothing. Where the filesystem lacks `O_TMPFILE` it makes `.PREFIX.XXXXXX.partial`
//!   (`O_CREAT|O_EXCL|O_NOFOLLOW`) and renames it without replacing. Either way a reader
//!   never sees a half-written kernel under its final name.
//! - Holes in a source file stay holes (the output is seeked over and sized with
//!   `ftruncate`), so a sparse 1 GiB kernel costs no writes.
//! - Errors carry their cause as `source()` only, never again in their own text, so a
//!   printed chain names each cause once.
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
    #[error("output directory {path}")]
    Dir { path: PathBuf, source: io::Error },
    #[error("output directory {path} is writable by everyone and not sticky: refusing to use it")]
    UnsafeDir { path: PathBuf },
    #[error("invalid output file prefix {0:?} (want letters, digits, '_' or '-')")]
    BadPrefix(String),
    #[error("cannot create a {prefix} file in {dir}")]
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
    #[error("cannot move {from} into place")]
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
    #[error("{file}: error reading the source")]
    Read { file: PathBuf, source: io::Error },
    #[error("{file}: output filesystem full after {written} bytes")]
    NoSpace { file: PathBuf, written: u64 },
    #[error("{file}: write error")]
    Write { file: PathBuf, source: io::Error },
}
