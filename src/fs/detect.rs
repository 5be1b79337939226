//! Filesystem detection by magic numbers, including the common types we do not read, so
//! they are named in errors ("unsupported filesystem xfs") rather than misread.

use super::FsError;
use crate::disk::Slice;

/// Result of probing a byte range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Detected {
    Ext,
    Fat,
    /// A recognised filesystem or container we do not read, by its blkid name.
    Other(&'static str),
    Nothing,
}

/// Probes `slice`. Implemented by the filesystem issue.
pub fn detect(slice: &Slice) -> Result<Detected, FsError> {
    let mut magic = [0u8; 2];
    if slice.read_exact_at(0x438, &mut magic).is_ok() && magic == [0x53, 0xef] {
        return Ok(Detected::Ext);
    }
    Ok(Detected::Nothing)
}
