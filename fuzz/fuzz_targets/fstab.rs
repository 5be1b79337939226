#![no_main]
//! The guest's /etc/fstab parser.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = domuloader::guest::fstab::parse_fstab(data);
});
