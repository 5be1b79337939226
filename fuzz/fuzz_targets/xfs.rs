#![no_main]
//! XFS: open (superblock checks, log state) and a bounded walk of the tree.
#[path = "common/mod.rs"]
mod common;
use domuloader::fs::xfs::XfsFs;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let disk = common::disk(data);
    if let Ok(fs) = XfsFs::open(disk.whole()) {
        let mut budget = 256;
        common::walk(&fs, &mut budget);
        for p in [&b"/boot/vmlinuz"[..], b"/etc/fstab", b"/vmlinuz"] {
            let _ = domuloader::fs::Filesystem::stat(&fs, p);
        }
    }
});
