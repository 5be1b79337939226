#![no_main]
//! Caller-given strings: boot entry, --disks lists, device specs and names.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let s = String::from_utf8_lossy(data);
    let _ = domuloader::entry::parse_entry(&s);
    let _ = domuloader::guest::diskspec::parse_disk_list(&s);
    let _ = domuloader::guest::spec::DeviceSpec::parse(&s);
    let _ = domuloader::guest::spec::DeviceSpec::parse_arg(&s);
    let _ = domuloader::guest::devname::DevName::parse(&s);
});
