#![no_main]
//! Image formats: the format sniffers on the input's first and last bytes, then the input
//! opened as `Disk::open` opens a positional disk (probed: qcow2 header, extensions and
//! feature checks), and for a qcow2 the virtual disk read through the L1/L2 walk and the
//! deflate/zstd inflaters: its first MiB, samples spread over the whole virtual size, host
//! extents, and the partition table on top.
#[path = "common/mod.rs"]
mod common;
use domuloader::disk::{format, Disk};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let head = data.get(..format::PROBE_BYTES).unwrap_or(data);
    let tail = data.get(data.len().saturating_sub(format::PROBE_BYTES)..).unwrap_or(data);
    let _ = format::sniff(head, tail);
    let path = common::image_file(data);
    let Ok(disk) = Disk::open(&path) else { return };
    disk.set_read_budget(64 << 20);
    let size = disk.size();
    let mut buf = vec![0u8; 64 << 10];
    let mut at = 0u64;
    while at < size.min(1 << 20) {
        let n = (size - at).min(buf.len() as u64) as usize;
        if disk.read_exact_at(at, &mut buf[..n]).is_err() {
            break;
        }
        at += n as u64;
    }
    for i in 0..64u64 {
        let off = (size / 64).saturating_mul(i);
        let n = (size - off).min(4096) as usize;
        let _ = disk.read_exact_at(off, &mut buf[..n]);
        if let Ok(Some(e)) = disk.host_extent(off, (size - off).min(1 << 30)) {
            assert!(e.len > 0 && e.len <= (size - off).min(1 << 30));
        }
    }
    if let Ok(layout) = domuloader::partition::discover(&disk) {
        for p in &layout.partitions {
            let _ = domuloader::partition::slice_of(&disk, p);
        }
    }
});
