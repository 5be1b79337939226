#![no_main]
//! End to end on a whole disk image: partitions, every filesystem, the guest view through
//! its fstab, entry resolution, and the boot menu.
#[path = "common/mod.rs"]
mod common;
use domuloader::boot::{self, Request};
use domuloader::entry::parse_entry;
use domuloader::guest::devname::DevName;
use domuloader::guest::diskset::DiskSet;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let disk = common::disk(data);
    let Ok(name) = DevName::parse("xvda") else { return };
    let Ok(set) = DiskSet::from_opened(vec![(disk, name)]) else { return };
    for entry in ["/vmlinuz,/initrd.img", "xvda1:/boot/vmlinuz", "0"] {
        let req = Request {
            entry: parse_entry(entry).ok(),
            ..Request::default()
        };
        if let Ok(sel) = boot::select(&set, &req) {
            let _ = sel.kernel.open();
        }
    }
    let _ = boot::select(&set, &Request::default());
    let _ = boot::menu::find_menu(&set);
});
