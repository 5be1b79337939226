//! ext2/ext3/ext4 through `ext4-view`, guarded against its known hazards.

use super::{FileKind, Filesystem, FsError, FsInfo, FsPath, Stat};
use crate::disk::Slice;
use std::io::Read;

/// An ext2/3/4 filesystem. Implemented by the filesystem issue.
pub struct ExtFs {
    info: FsInfo,
}

impl ExtFs {
    /// Opens the ext filesystem in `slice`.
    pub fn open(_slice: Slice) -> Result<ExtFs, FsError> {
        Err(FsError::Unsupported("ext (not yet implemented)".into()))
    }
}

impl Filesystem for ExtFs {
    fn info(&self) -> &FsInfo {
        &self.info
    }
    fn stat(&self, _path: FsPath<'_>) -> Result<Option<Stat>, FsError> {
        let _ = FileKind::File;
        Ok(None)
    }
    fn read_link(&self, _path: FsPath<'_>) -> Result<Vec<u8>, FsError> {
        Ok(Vec::new())
    }
    fn open(&self, _path: FsPath<'_>) -> Result<Box<dyn Read + '_>, FsError> {
        Err(FsError::Unsupported("ext".into()))
    }
}
