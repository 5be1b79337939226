#![no_main]
//! LVM2: the metadata text parser and typed VG (input starting with `T`); VG assembly from a
//! fuzzed text behind a valid label and area header (`V`: text length as u16 LE, the text,
//! then the PV's data from 1 MiB on), so mutations reach the assembly despite the checksums;
//! or the whole volume layer on a raw disk image. Every LV is read at both ends and through
//! `host_extent`, and the filesystems on LVs are walked.
#[path = "common/mod.rs"]
mod common;
use domuloader::guest::devname::DevName;
use domuloader::guest::diskset::DiskSet;
use domuloader::volume::lvm;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some((b'T', text)) = data.split_first() {
        if let Ok(root) = lvm::text::parse(text) {
            let _ = lvm::metadata::vg_from_text(&root);
        }
        return;
    }
    let image;
    let data = match data.split_first() {
        Some((b'V', rest)) => {
            image = pv_image(rest);
            &image[..]
        }
        _ => data,
    };
    let disk = common::disk(data);
    let Ok(name) = DevName::parse("xvda") else { return };
    let Ok(set) = DiskSet::from_opened(vec![(disk, name)]) else { return };
    for v in set.volumes() {
        let _ = (v.dm_name(), v.dm_uuid(), v.is_named("/dev/mapper/x"));
        let Ok(d) = &v.disk else { continue };
        let n = d.size().min(64 * 1024);
        let mut buf = vec![0u8; n as usize];
        let _ = d.read_exact_at(0, &mut buf);
        let _ = d.read_exact_at(d.size() - n, &mut buf);
        let _ = d.host_extent(0, d.size());
        let _ = d.host_extent(d.size() / 2, d.size() - d.size() / 2);
    }
    let _ = set.unreadable();
    for (_, fs) in set.filesystems() {
        let mut budget = 200;
        common::walk(fs.as_ref(), &mut budget);
    }
});

/// The PV UUID of `V` inputs; texts name it `fuzzfu-zzfu-zzfu-zzfu-zzfu-zzfu-zzfuzz`.
const UUID: &[u8; 32] = b"fuzzfuzzfuzzfuzzfuzzfuzzfuzzfuzz";

/// A whole-disk PV: label in sector 1, a metadata area at 4 KiB holding the text (checksums
/// right), the rest of the input from 1 MiB on.
fn pv_image(rest: &[u8]) -> Vec<u8> {
    let (len, rest) = match rest {
        [a, b, rest @ ..] => (usize::from(u16::from_le_bytes([*a, *b])), rest),
        _ => (0, rest),
    };
    let (text, data) = rest.split_at(len.min(rest.len()));
    const MB: usize = 1 << 20;
    let mut img = vec![0u8; MB + data.len()];
    img[MB..].copy_from_slice(data);
    let l = &mut img[512..1024];
    l[..8].copy_from_slice(b"LABELONE");
    l[8..16].copy_from_slice(&1u64.to_le_bytes());
    l[20..24].copy_from_slice(&32u32.to_le_bytes());
    l[24..32].copy_from_slice(b"LVM2 001");
    l[32..64].copy_from_slice(UUID);
    let locs: [u64; 8] = [MB as u64, 0, 0, 0, 4096, (MB - 4096) as u64, 0, 0];
    for (i, v) in locs.iter().enumerate() {
        l[72 + 8 * i..80 + 8 * i].copy_from_slice(&v.to_le_bytes());
    }
    let c = lvm::crc(&l[20..]);
    l[16..20].copy_from_slice(&c.to_le_bytes());
    let h = &mut img[4096..4608];
    h[4..20].copy_from_slice(b" LVM2 x[5A%r0N*>");
    h[20..24].copy_from_slice(&1u32.to_le_bytes());
    h[24..32].copy_from_slice(&4096u64.to_le_bytes());
    h[32..40].copy_from_slice(&((MB - 4096) as u64).to_le_bytes());
    h[40..48].copy_from_slice(&512u64.to_le_bytes());
    h[48..56].copy_from_slice(&(text.len() as u64).to_le_bytes());
    h[56..60].copy_from_slice(&lvm::crc(text).to_le_bytes());
    let c = lvm::crc(&h[4..]);
    h[0..4].copy_from_slice(&c.to_le_bytes());
    img[4608..4608 + text.len()].copy_from_slice(text);
    img
}
