//! qcow2 (versions 2 and 3), read-only: a [`Backing`] that maps the virtual disk onto the
//! image file through the L1/L2 tables.
//!
//! - [`header`]: the header and its extensions, checked; the refusals (backing file,
//!   encryption, external data file, `corrupt` bit, unknown features) live there. A path
//!   written in the image is only ever quoted in the message, never opened.
//! - [`table`]: L1/L2 entries, read in 4 KiB slices through a small bounded cache.
//! - [`cluster`]: what one L2 entry says (zeros, verbatim bytes, compressed cluster, or
//!   subclusters with extended L2) and decompression (deflate, zstd) into one cluster.
//!
//! Verbatim clusters are handed out as host extents, so extraction from an uncompressed
//! qcow2 stays `copy_file_range`; compressed clusters are inflated into a small cache of
//! whole clusters. Unallocated clusters read as zeros (there is no backing file). Refcounts
//! and snapshots are never read. Every read of the image file goes through a raw [`Disk`],
//! so it is bounds-checked and charged to the read budget like any other read.

pub mod cluster;
pub mod header;
pub mod table;

use super::{Backing, Disk, DiskError, HostExtent};
use crate::limits;
use cluster::Run;
use header::Header;
use std::sync::Mutex;
use table::TableCache;

/// Why a qcow2 image cannot be read. One line each; the disk's path is added by
/// [`DiskError::Qcow2`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Qcow2Error {
    #[error("truncated header")]
    Truncated,
    #[error("version {0} (only versions 2 and 3 are read)")]
    Version(u32),
    #[error("cluster size 2^{0} (qcow2 allows 2^9 to 2^21)")]
    ClusterBits(u32),
    #[error("header length {0} (must be 104 to one cluster)")]
    HeaderLength(u32),
    #[error("header extension of type {kind:#x} and {len} bytes runs past the first cluster")]
    Extension { kind: u32, len: usize },
    #[error("unknown incompatible features {0:#x} (unsupported)")]
    UnknownFeatures(u64),
    #[error("marked corrupt by qemu (refused; `qemu-img check -r all` repairs a copy)")]
    Corrupt,
    #[error("external data file {0:?} (unsupported; a path named in the image is never opened)")]
    DataFile(String),
    #[error("encrypted ({0}; unsupported)")]
    Encrypted(&'static str),
    #[error("backing file {0:?} (unsupported; a path named in the image is never opened: `qemu-img convert` flattens it)")]
    BackingFile(String),
    #[error("unknown compression type {0}")]
    CompressionType(u8),
    #[error("compression type {0} set without its incompatible-feature bit")]
    CompressionBit(u8),
    #[error("extended L2 entries with {0}-byte clusters (qemu needs at least 16 KiB)")]
    ExtendedL2ClusterSize(u64),
    #[error("virtual size {0} is larger than {max}", max = limits::QCOW2_MAX_VIRTUAL_SIZE)]
    VirtualSize(u64),
    #[error("L1 table of {entries} entries is too small for a virtual size of {size} bytes")]
    L1TooSmall { entries: u32, size: u64 },
    #[error("L1 table of {0} entries (more than {max})", max = limits::QCOW2_MAX_L1_ENTRIES)]
    L1TooLarge(u32),
    #[error("L1 table at offset {offset} ({bytes} bytes) is unaligned or outside the image")]
    L1Outside { offset: u64, bytes: u64 },
    #[error("L2 table at offset {offset} is unaligned or outside the image")]
    TableOutside { offset: u64 },
    #[error("data cluster at unaligned offset {offset}")]
    Unaligned { offset: u64 },
    #[error("invalid extended L2 entry (subcluster {index})")]
    Subcluster { index: u64 },
    #[error("compressed cluster at offset {offset} lies outside the image")]
    CompressedOutside { offset: u64 },
    #[error("bad compressed cluster: {0}")]
    Decompress(String),
}

/// A [`DiskError`] naming the image file.
pub(crate) fn qerr(file: &Disk, reason: Qcow2Error) -> DiskError {
    DiskError::Qcow2 {
        path: file.path().to_owned(),
        reason,
    }
}

/// Longest host extent handed out at once: merging contiguous clusters saves
/// `copy_file_range` calls; the bound only keeps one call's lookups short.
const MAX_EXTENT: u64 = 64 << 20;

/// An open qcow2 image.
pub struct Qcow2 {
    /// The image file, as a raw disk (bounds checks and read budget).
    file: Disk,
    header: Header,
    tables: TableCache,
    /// Recently inflated clusters, by host offset (most recent last).
    inflated: Mutex<Vec<(u64, Vec<u8>)>>,
    inflated_max: usize,
}

impl Qcow2 {
    /// Reads and checks the header of the qcow2 image in `file` (a raw disk).
    pub fn open(file: Disk) -> Result<Qcow2, DiskError> {
        let first_len = file.size().min(512);
        let mut first = vec![0u8; first_len as usize];
        file.read_exact_at(0, &mut first)?;
        let bits = header::cluster_bits(&first).map_err(|e| qerr(&file, e))?;
        let mut cluster = vec![0u8; file.size().min(1 << bits) as usize]; // <= 2 MiB
        file.read_exact_at(0, &mut cluster)?;
        let header = header::parse(&cluster, file.size()).map_err(|e| qerr(&file, e))?;
        let cluster_size = header.cluster_size();
        Ok(Qcow2 {
            tables: TableCache::new(cluster_size),
            inflated: Mutex::new(Vec::new()),
            inflated_max: (limits::QCOW2_INFLATED_CACHE_BYTES / cluster_size)
                .clamp(1, limits::QCOW2_INFLATED_CACHE_CLUSTERS as u64)
                as usize,
            file,
            header,
        })
    }

    /// The checked header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The virtual disk's size.
    pub fn size(&self) -> u64 {
        self.header.size
    }

    /// What virtual `offset` holds, and for how many bytes (within its cluster).
    fn run_at(&self, offset: u64) -> Result<(Run, u64), DiskError> {
        let h = &self.header;
        let vcluster = offset >> h.cluster_bits;
        let in_cluster = offset & (h.cluster_size() - 1);
        let (entry, bitmap) = self.l2_entry(vcluster)?;
        cluster::decode(h, entry, bitmap, in_cluster).map_err(|e| qerr(&self.file, e))
    }

    /// The L2 entry (and subcluster bitmap) of virtual cluster `vcluster`; zeros when its L2
    /// table is unallocated.
    fn l2_entry(&self, vcluster: u64) -> Result<(u64, u64), DiskError> {
        let h = &self.header;
        let l1_index = vcluster / h.l2_entries();
        // l1_index < l1_used (offset < size) <= 2^22, so the products cannot overflow.
        let l1e = self
            .tables
            .entry::<8>(&self.file, h.l1_offset, h.l1_used * 8, l1_index * 8)?;
        let l2 = u64::from_be_bytes(l1e) & 0x00ff_ffff_ffff_fe00;
        if l2 == 0 {
            return Ok((0, 0));
        }
        let cluster = h.cluster_size();
        if l2 % cluster != 0 || l2.checked_add(cluster).is_none_or(|e| e > self.file.size()) {
            return Err(qerr(&self.file, Qcow2Error::TableOutside { offset: l2 }));
        }
        let index = (vcluster % h.l2_entries()) * h.l2_entry_bytes();
        if h.extended_l2 {
            let e = self.tables.entry::<16>(&self.file, l2, cluster, index)?;
            let (a, b) = e.split_at(8);
            Ok((be(a), be(b)))
        } else {
            let e = self.tables.entry::<8>(&self.file, l2, cluster, index)?;
            Ok((u64::from_be_bytes(e), 0))
        }
    }

    /// Fills `dst` from host offset `host`; bytes past the end of the file read as zeros,
    /// as qemu reads them.
    fn read_host(&self, host: u64, dst: &mut [u8]) -> Result<(), DiskError> {
        let avail = self.file.size().saturating_sub(host).min(dst.len() as u64) as usize;
        let (data, tail) = dst.split_at_mut(avail);
        self.file.read_exact_at(host, data)?;
        tail.fill(0);
        Ok(())
    }

    /// Copies `dst.len()` bytes from `in_cluster` of the compressed cluster at `host`.
    fn read_compressed(
        &self,
        host: u64,
        len: u64,
        in_cluster: u64,
        dst: &mut [u8],
    ) -> Result<(), DiskError> {
        let mut cache = self.inflated.lock().unwrap_or_else(|p| p.into_inner());
        let pos = match cache.iter().position(|(h, _)| *h == host) {
            Some(p) => p,
            None => {
                let data = self.inflate(host, len)?;
                if cache.len() >= self.inflated_max {
                    cache.remove(0);
                }
                cache.push((host, data));
                cache.len() - 1
            }
        };
        let entry = cache.remove(pos);
        let src = usize::try_from(in_cluster)
            .ok()
            .and_then(|s| entry.1.get(s..s.checked_add(dst.len())?));
        let res = match src {
            Some(s) => {
                dst.copy_from_slice(s);
                Ok(())
            }
            None => Err(qerr(&self.file, Qcow2Error::Truncated)),
        };
        cache.push(entry);
        res
    }

    /// The stored bytes of a compressed cluster, clipped at the end of the file (the last
    /// one may end there), read for inflating. The read budget is charged the bytes read and
    /// the cluster they inflate to: a 4 KiB read of a crafted image may inflate a 2 MiB
    /// cluster, and scattered reads over many distinct compressed clusters must not turn the
    /// budget's bytes into 512 times as much work.
    fn compressed_input(&self, host: u64, len: u64) -> Result<Vec<u8>, DiskError> {
        self.file.charge(self.header.cluster_size())?;
        let size = self.file.size();
        if host >= size {
            return Err(qerr(
                &self.file,
                Qcow2Error::CompressedOutside { offset: host },
            ));
        }
        let mut input = vec![0u8; len.min(size - host) as usize]; // len <= 2 clusters
        self.file.read_exact_at(host, &mut input)?;
        Ok(input)
    }

    /// Reads and inflates one compressed cluster.
    fn inflate(&self, host: u64, len: u64) -> Result<Vec<u8>, DiskError> {
        let input = self.compressed_input(host, len)?;
        let mut out = vec![0u8; self.header.cluster_size() as usize];
        cluster::decompress(self.header.compression, &input, &mut out)
            .map_err(|e| qerr(&self.file, e))?;
        Ok(out)
    }
}

impl Qcow2 {
    /// Inflates the compressed clusters of a large read on [`limits::QCOW2_INFLATE_THREADS`]
    /// threads ahead of the read itself, which then finds them cached. Only as many as the
    /// cache holds; any failure is left for the read to meet and report.
    fn prefetch(&self, offset: u64, len: u64) {
        let cluster = self.header.cluster_size();
        let last = offset.saturating_add(len.saturating_sub(1)) / cluster;
        if len == 0 || last == offset / cluster || limits::QCOW2_INFLATE_THREADS < 2 {
            return;
        }
        let mut jobs: Vec<(u64, Vec<u8>)> = Vec::new();
        let mut at = offset - offset % cluster;
        while at < offset.saturating_add(len) && jobs.len() < self.inflated_max {
            if let Ok((Run::Compressed { host, len }, _)) = self.run_at(at) {
                if !self.is_inflated(host) && !jobs.iter().any(|(h, _)| *h == host) {
                    match self.compressed_input(host, len) {
                        Ok(input) => jobs.push((host, input)),
                        Err(_) => break,
                    }
                }
            }
            at = at.saturating_add(cluster);
        }
        if jobs.len() < 2 {
            return;
        }
        let kind = self.header.compression;
        let inflate = |part: &[(u64, Vec<u8>)]| -> Vec<(u64, Vec<u8>)> {
            part.iter()
                .filter_map(|(host, input)| {
                    let mut out = vec![0u8; cluster as usize];
                    cluster::decompress(kind, input, &mut out).ok()?;
                    Some((*host, out))
                })
                .collect()
        };
        let per = jobs.len().div_ceil(limits::QCOW2_INFLATE_THREADS);
        let done: Vec<_> = std::thread::scope(|s| {
            // A thread the sandbox (or a resource limit) refuses is no error: that part is
            // inflated here instead, as `spawn` would otherwise panic.
            let mut all = Vec::new();
            let workers: Vec<_> = jobs
                .chunks(per)
                .skip(1)
                .filter_map(|part| {
                    let spawned =
                        std::thread::Builder::new().spawn_scoped(s, move || inflate(part));
                    if spawned.is_err() {
                        all.extend(inflate(part));
                    }
                    spawned.ok()
                })
                .collect();
            all.extend(inflate(jobs.chunks(per).next().unwrap_or_default()));
            for w in workers {
                all.extend(w.join().unwrap_or_default());
            }
            all
        });
        let mut cache = self.inflated.lock().unwrap_or_else(|p| p.into_inner());
        for entry in done {
            if cache.len() >= self.inflated_max {
                cache.remove(0);
            }
            cache.push(entry);
        }
    }

    fn is_inflated(&self, host: u64) -> bool {
        let cache = self.inflated.lock().unwrap_or_else(|p| p.into_inner());
        cache.iter().any(|(h, _)| *h == host)
    }
}

fn be(b: &[u8]) -> u64 {
    b.try_into().map(u64::from_be_bytes).unwrap_or(0)
}

impl Backing for Qcow2 {
    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> Result<(), DiskError> {
        self.prefetch(offset, buf.len() as u64);
        let mut done = 0usize;
        while done < buf.len() {
            let at = offset.saturating_add(done as u64);
            let (run, n) = self.run_at(at)?;
            let take = n.min((buf.len() - done) as u64) as usize; // n >= 1
            let dst = buf.get_mut(done..done + take).unwrap_or_default();
            match run {
                Run::Zeros => dst.fill(0),
                Run::Host(h) => self.read_host(h, dst)?,
                Run::Compressed { host, len } => {
                    let in_cluster = at & (self.header.cluster_size() - 1);
                    self.read_compressed(host, len, in_cluster, dst)?
                }
            }
            done += take;
        }
        Ok(())
    }

    fn host_extent(&self, offset: u64, len: u64) -> Result<Option<HostExtent<'_>>, DiskError> {
        let want = len.min(MAX_EXTENT);
        let (Run::Host(host), n) = self.run_at(offset)? else {
            return Ok(None);
        };
        let mut got = n.min(want);
        while got < want {
            match self.run_at(offset + got)? {
                // offset + len <= size: checked by the caller
                (Run::Host(h), n) if Some(h) == host.checked_add(got) => got += n.min(want - got),
                _ => break,
            }
        }
        let got = got.min(self.file.size().saturating_sub(host));
        if got == 0 {
            return Ok(None);
        }
        self.file.host_extent(host, got)
    }

    fn format(&self) -> &'static str {
        "qcow2"
    }

    /// The image file may be read (and inflated) twice what the virtual disk is: a byte of
    /// a compressed cluster costs its stored bytes and its share of the inflated cluster.
    fn set_read_budget(&self, budget: u64) {
        self.file.set_read_budget(budget.saturating_mul(2));
    }
}
