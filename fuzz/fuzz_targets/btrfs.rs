#![no_main]
//! btrfs: open (superblock, chunk map, root tree, default subvolume), every subvolume view,
//! and a bounded walk of the tree. btrfs images are at least ~110 MiB, so the input is a
//! packed sparse image: a flag byte, then records of (u32 LE 4 KiB block index, 4096 bytes)
//! written into a sparse file of up to 128 MiB (seeds: fuzz/seed.sh packs the fixtures'
//! non-zero blocks). With flag bit 0 set, the superblock's and every node's crc32c is
//! recomputed first, so mutations reach past the checksums.
#[path = "common/mod.rs"]
mod common;
use domuloader::disk::Disk;
use domuloader::fs::btrfs::BtrfsFs;
use domuloader::fs::Filesystem;
use libfuzzer_sys::fuzz_target;
use std::os::unix::fs::FileExt;

const BLOCK: usize = 4096;
const MAX_BLOCKS: u32 = 128 * 256;

fn crc32c(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0x82F6_3B78 } else { crc >> 1 };
        }
    }
    !crc
}

fn fix_csum(block: &mut [u8]) {
    let c = crc32c(&block[32..]);
    block[..4].copy_from_slice(&c.to_le_bytes());
}

fn image(data: &[u8]) -> Option<Disk> {
    let (&flags, rest) = data.split_first()?;
    let mut blocks: Vec<(u32, Vec<u8>)> = rest
        .chunks(4 + BLOCK)
        .filter(|r| r.len() > 4)
        .map(|r| {
            let idx = u32::from_le_bytes([r[0], r[1], r[2], r[3]]) % MAX_BLOCKS;
            let mut b = r[4..].to_vec();
            b.resize(BLOCK, 0);
            (idx, b)
        })
        .collect();
    blocks.sort_by_key(|b| b.0);
    if flags & 1 != 0 {
        let nodesize = blocks
            .iter()
            .find(|b| b.0 == 16)
            .map(|b| u32::from_le_bytes([b.1[148], b.1[149], b.1[150], b.1[151]]) as usize)
            .filter(|n| n.is_power_of_two() && (BLOCK..=65536).contains(n))
            .unwrap_or(16384);
        let per = nodesize / BLOCK;
        // Group consecutive blocks into nodes starting at node-aligned indexes.
        let mut i = 0;
        while i < blocks.len() {
            let start = blocks[i].0;
            if start == 16 {
                fix_csum(&mut blocks[i].1);
                i += 1;
                continue;
            }
            let run = blocks[i..]
                .iter()
                .enumerate()
                .take_while(|(k, b)| b.0 == start + *k as u32)
                .count();
            if start as usize % per == 0 && run >= per {
                let mut node: Vec<u8> = blocks[i..i + per].iter().flat_map(|b| b.1.clone()).collect();
                fix_csum(&mut node);
                for (k, b) in blocks[i..i + per].iter_mut().enumerate() {
                    b.1.copy_from_slice(&node[k * BLOCK..(k + 1) * BLOCK]);
                }
                i += per;
            } else {
                i += 1;
            }
        }
    }
    let path = format!("/dev/shm/domuloader-fuzz-btrfs-{}", std::process::id());
    let f = std::fs::File::create(&path).ok()?;
    f.set_len(u64::from(MAX_BLOCKS) * BLOCK as u64).ok()?;
    for (idx, b) in &blocks {
        f.write_all_at(b, u64::from(*idx) * BLOCK as u64).ok()?;
    }
    Disk::open(std::path::Path::new(&path)).ok()
}

fuzz_target!(|data: &[u8]| {
    let Some(disk) = image(data) else { return };
    if let Ok(fs) = BtrfsFs::open(disk.whole()) {
        let mut budget = 256;
        common::walk(&fs, &mut budget);
        for p in [&b"/boot/vmlinuz"[..], b"/etc/fstab", b"/zstd/vmlinuz"] {
            let _ = fs.stat(p);
        }
        if let Ok(opts) = fs.subvolume_options() {
            for o in opts.iter().take(8) {
                if let Ok(Some(sub)) = fs.mount_view(std::slice::from_ref(o)) {
                    let mut budget = 64;
                    common::walk(sub.as_ref(), &mut budget);
                }
            }
        }
        let _ = fs.mount_view(&["subvol=/@/home".to_owned()]);
    }
});
