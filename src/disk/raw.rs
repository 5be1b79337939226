//! A raw disk: an image file or block device whose bytes are the disk's bytes.

use super::{Backing, DiskError, HostExtent};
use std::fs::File;
use std::io::{self, Seek, SeekFrom};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// An image file or block device opened read-only.
pub struct RawFile {
    file: File,
    size: u64,
    path: PathBuf,
}

impl RawFile {
    /// Opens `path` read-only. The size comes from seeking to the end, because a block
    /// device's metadata length is 0.
    pub fn open(path: &Path) -> Result<RawFile, DiskError> {
        let open_err = |source| DiskError::Open {
            path: path.to_owned(),
            source,
        };
        let mut file = File::open(path).map_err(open_err)?;
        if file.metadata().map_err(open_err)?.is_dir() {
            return Err(open_err(io::Error::from(io::ErrorKind::IsADirectory)));
        }
        let size = file.seek(SeekFrom::End(0)).map_err(open_err)?;
        Ok(RawFile {
            file,
            size,
            path: path.to_owned(),
        })
    }

    /// Size in bytes when opened.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The open file, for formats that read their own structures from it.
    pub fn file(&self) -> &File {
        &self.file
    }
}

impl Backing for RawFile {
    fn read_exact_at(&self, mut offset: u64, mut buf: &mut [u8]) -> Result<(), DiskError> {
        while !buf.is_empty() {
            match self.file.read_at(buf, offset) {
                Ok(0) => {
                    return Err(DiskError::Shrunk {
                        path: self.path.clone(),
                        offset,
                    })
                }
                Ok(n) => {
                    buf = buf.get_mut(n..).unwrap_or_default();
                    offset = offset.saturating_add(n as u64);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(source) => {
                    return Err(DiskError::Io {
                        path: self.path.clone(),
                        offset,
                        source,
                    })
                }
            }
        }
        Ok(())
    }

    fn host_extent(&self, offset: u64, len: u64) -> Result<Option<HostExtent<'_>>, DiskError> {
        Ok(Some(HostExtent {
            file: &self.file,
            offset,
            len,
        }))
    }

    fn format(&self) -> &'static str {
        "raw"
    }
}
