#![no_main]
//! ISO 9660: open (descriptors, Rock Ridge/Joliet choice) and a bounded walk of the tree,
//! plus lookups of the paths a boot would try.
#[path = "common/mod.rs"]
mod common;
use domuloader::fs::iso9660::IsoFs;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let disk = common::disk(data);
    if let Ok(fs) = IsoFs::open(disk.whole()) {
        let mut budget = 256;
        common::walk(&fs, &mut budget);
        for p in [
            &b"/boot/grub/grub.cfg"[..],
            b"/isolinux/isolinux.cfg",
            b"/install.amd/xen/vmlinuz",
            b"/vmlinuz",
        ] {
            let _ = domuloader::fs::Filesystem::stat(&fs, p);
            let _ = domuloader::fs::Filesystem::read_link(&fs, p);
        }
    }
});
