//! Regular files: the cluster chain checked end to end before the first byte is handed out,
//! then streamed cluster by cluster (contiguous clusters in one read), never more than the
//! size the directory entry gives.
//!
//! The check is stricter than Linux, which reads a file whose chain loops back on itself
//! without noticing as long as the loop is within the file's size: here the chain must reach
//! its end-of-chain marker at most one cluster after the clusters the size needs. A loop
//! never reaches that marker, so it is an error after at most `size / cluster + 2` links.

use super::table::{FatTable, Link};
use super::{corrupt, Volume};
use crate::fs::FsError;
use std::io::{self, Read};

/// Clusters needed for `size` bytes.
fn clusters_for(size: u64, cluster_size: u32) -> u64 {
    size.div_ceil(u64::from(cluster_size))
}

/// Checks that the chain from `first` holds `size` bytes and ends right after them.
pub(super) fn check_chain(vol: &Volume, first: u32, size: u32) -> Result<(), FsError> {
    let size = u64::from(size);
    if size == 0 {
        return Ok(());
    }
    let geo = &vol.geo;
    if !geo.is_cluster(first) {
        return Err(corrupt(format!(
            "file starts at cluster {first}, which is not on the volume"
        )));
    }
    let need = clusters_for(size, geo.cluster_size);
    if need > u64::from(geo.clusters) {
        return Err(corrupt(format!(
            "file size {size} is larger than the volume"
        )));
    }
    let mut fat = FatTable::new(vol);
    let mut cluster = first;
    for have in 1..need {
        match fat.next(cluster)? {
            Link::Next(n) => cluster = n,
            Link::End => {
                return Err(corrupt(format!(
                    "cluster chain ends after {have} of the {need} clusters of a {size}-byte file"
                )))
            }
        }
    }
    // One spare cluster is tolerated (some writers preallocate); anything longer loops or
    // disagrees with the size.
    if let Link::Next(spare) = fat.next(cluster)? {
        if fat.next(spare)? != Link::End {
            return Err(corrupt(format!(
                "cluster chain of a {size}-byte file does not end after {need} clusters (loop?)"
            )));
        }
    }
    Ok(())
}

/// A stream over one file whose chain [`check_chain`] accepted.
pub(super) struct FileReader<'a> {
    vol: &'a Volume,
    fat: FatTable<'a>,
    cluster: u32,
    /// Bytes of `cluster` already returned.
    pos: u32,
    left: u64,
}

impl<'a> FileReader<'a> {
    pub(super) fn new(vol: &'a Volume, first: u32, size: u32) -> Self {
        FileReader {
            vol,
            fat: FatTable::new(vol),
            cluster: first,
            pos: 0,
            left: u64::from(size),
        }
    }

    fn read_some(&mut self, buf: &mut [u8]) -> Result<usize, FsError> {
        let want = self.left.min(buf.len() as u64);
        if want == 0 {
            return Ok(0);
        }
        let cs = self.vol.geo.cluster_size;
        if self.pos >= cs {
            self.advance()?;
        }
        let start = self
            .vol
            .geo
            .cluster_offset(self.cluster)
            .ok_or_else(|| corrupt(format!("cluster {} is not on the volume", self.cluster)))?
            + u64::from(self.pos); // pos < cluster size: inside the cluster
        let mut span = want.min(u64::from(cs - self.pos));
        self.pos += span as u32; // span <= cs - pos
                                 // Extend the read over clusters that follow on disk; a gap waits for the next call.
        while span < want {
            match self.fat.next(self.cluster)? {
                Link::Next(n) if Some(n) == self.cluster.checked_add(1) => {
                    let take = (want - span).min(u64::from(cs));
                    self.cluster = n;
                    self.pos = take as u32; // take <= cs
                    span += take;
                }
                _ => break,
            }
        }
        let len = usize::try_from(span).map_err(|_| corrupt("read length".into()))?;
        let dst = buf
            .get_mut(..len)
            .ok_or_else(|| corrupt("read length".into()))?;
        self.vol.slice.read_exact_at(start, dst)?;
        self.left -= span;
        Ok(len)
    }

    fn advance(&mut self) -> Result<(), FsError> {
        match self.fat.next(self.cluster)? {
            Link::Next(n) => {
                self.cluster = n;
                self.pos = 0;
                Ok(())
            }
            Link::End => Err(corrupt(format!(
                "cluster chain ends {} bytes before the end of the file",
                self.left
            ))),
        }
    }
}

impl Read for FileReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.read_some(buf).map_err(io::Error::other)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_counts() {
        assert_eq!(clusters_for(0, 512), 0);
        assert_eq!(clusters_for(1, 512), 1);
        assert_eq!(clusters_for(512, 512), 1);
        assert_eq!(clusters_for(513, 512), 2);
        assert_eq!(clusters_for(u64::from(u32::MAX), 512), 1 << 23);
    }
}
