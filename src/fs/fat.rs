//! FAT12/16/32 through `fatfs`, guarded against its known hazards.

use super::{FileKind, Filesystem, FsError, FsInfo, FsPath, Stat};
use crate::disk::Slice;
use std::io::Read;

/// A FAT filesystem. Implemented by the filesystem issue.
pub struct FatFs {
    info: FsInfo,
}

impl FatFs {
    /// Opens the FAT filesystem in `slice`.
    pub fn open(_slice: Slice) -> Result<FatFs, FsError> {
        Err(FsError::Unsupported("vfat (not yet implemented)".into()))
    }
}

impl Filesystem for FatFs {
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
        Err(FsError::Unsupported("vfat".into()))
    }
}
