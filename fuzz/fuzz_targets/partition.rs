#![no_main]
//! Partition discovery (MBR, EBR chain, GPT) on arbitrary bytes.
#[path = "common/mod.rs"]
mod common;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let disk = common::disk(data);
    if let Ok(layout) = domuloader::partition::discover(&disk) {
        for p in &layout.partitions {
            let _ = domuloader::partition::slice_of(&disk, p);
        }
    }
});
