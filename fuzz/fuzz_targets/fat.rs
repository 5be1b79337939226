#![no_main]
//! FAT12/16/32: open (boot sector checks) and a bounded walk of the tree.
#[path = "common/mod.rs"]
mod common;
use domuloader::fs::fat::FatFs;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let disk = common::disk(data);
    if let Ok(fs) = FatFs::open(disk.whole()) {
        let mut budget = 256;
        common::walk(&fs, &mut budget);
        for p in [&b"/boot/vmlinuz"[..], b"/etc/fstab", b"/vmlinuz"] {
            let _ = domuloader::fs::Filesystem::stat(&fs, p);
        }
    }
});
