//! Differential test of the ISO 9660 reader: every path of every ISO fixture (built by
//! `fixtures/build/iso.sh` with xorriso/genisoimage) has the kind, size, sha256 or symlink
//! target that `xorriso -osirrox on -extract` gave at build time (`fixtures/expected/
//! iso-*.manifest`), both through `open` and through the zero-copy `segments`; and each
//! manifest path is found by lookup. Needs only cargo.

mod common;

use domuloader::disk::Disk;
use domuloader::fs::{self, FileKind, Filesystem, FsType, Segment};
use domuloader::partition;
use sha2::{Digest, Sha256};
use std::io::Read;

const FIXTURES: &[&str] = &[
    "iso-debian",
    "iso-debian-bios",
    "iso-isolinux",
    "iso-rockridge",
    "iso-joliet",
    "iso-plain",
    "iso-multiextent",
];

fn hex(d: &[u8]) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

fn read_all(f: &dyn Filesystem, path: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    f.open(path).unwrap().read_to_end(&mut v).unwrap();
    v
}

/// The file's bytes gathered from its segments, read straight from the disk.
fn read_segments(f: &dyn Filesystem, disk: &Disk, path: &[u8]) -> Vec<u8> {
    let mut src = f
        .segments(path)
        .unwrap()
        .expect("ISO files map onto the disk");
    let mut out = Vec::new();
    while let Some(seg) = src.next_segment(7000).unwrap() {
        match seg {
            Segment::Data { disk_offset, len } => {
                let mut b = vec![0u8; len as usize];
                disk.read_exact_at(disk_offset, &mut b).unwrap();
                out.extend_from_slice(&b);
            }
            Segment::Zeros { len } => out.resize(out.len() + len as usize, 0),
        }
    }
    out
}

fn walk(f: &dyn Filesystem, disk: &Disk, dir: &[u8], out: &mut Vec<String>) {
    for (name, kind) in f.read_dir(dir).unwrap() {
        let path = [dir, if dir == b"/" { b"" } else { b"/" }, &name].concat();
        let shown = String::from_utf8(path.clone()).unwrap();
        match kind {
            FileKind::Dir => {
                out.push(format!("d 0 - {shown}"));
                walk(f, disk, &path, out);
            }
            FileKind::Symlink => {
                let t = String::from_utf8(f.read_link(&path).unwrap()).unwrap();
                out.push(format!("l 0 {t} {shown}"));
            }
            FileKind::File => {
                let data = read_all(f, &path);
                assert_eq!(f.stat(&path).unwrap().unwrap().size, data.len() as u64);
                assert!(read_segments(f, disk, &path) == data, "{shown}: segments");
                let sum = hex(&Sha256::digest(&data));
                out.push(format!("f {} {sum} {shown}", data.len()));
            }
            FileKind::Other => out.push(format!("o 0 - {shown}")),
        }
    }
}

#[test]
fn every_file_equals_what_xorriso_extracts() {
    for name in FIXTURES {
        let img = common::fixture(&format!("{name}.iso"));
        let disk = Disk::open(&img).unwrap();
        let layout = partition::discover(&disk).unwrap();
        let whole = layout.get(0).expect("partition 0 is the ISO");
        let f = fs::open(partition::slice_of(&disk, whole).unwrap()).unwrap();
        assert_eq!(f.info().fs_type, FsType::Iso9660, "{name}");
        let mut got = Vec::new();
        walk(f.as_ref(), &disk, b"/", &mut got);
        let manifest = common::repo().join(format!("fixtures/expected/{name}.manifest"));
        let text = std::fs::read_to_string(&manifest).unwrap();
        let mut want: Vec<String> = text.lines().map(str::to_owned).collect();
        // Plain ISO 9660 names: Linux (and we) show them lower-cased, xorriso as written.
        if *name == "iso-plain" {
            got.iter_mut().for_each(|l| *l = l.to_lowercase());
            want.iter_mut().for_each(|l| *l = l.to_lowercase());
        }
        got.sort();
        want.sort();
        assert_eq!(got, want, "{name}");
        // Every path is found as the manifest writes it (plain names: upper case).
        for line in text.lines() {
            let path = line.splitn(4, ' ').nth(3).unwrap();
            assert!(f.stat(path.as_bytes()).unwrap().is_some(), "{name}: {path}");
        }
        eprintln!("{name}: {} paths match", got.len());
    }
}

#[test]
fn names_and_lookups_follow_linux() {
    let open = |name: &str| {
        let disk = Disk::open(&common::fixture(&format!("{name}.iso"))).unwrap();
        fs::open(disk.whole()).unwrap()
    };
    // Plain: lower-case names, case-insensitive lookups, ";1" stripped.
    let plain = open("iso-plain");
    assert!(plain.stat(b"/boot/vmlinuz").unwrap().is_some());
    assert!(plain.stat(b"/BOOT/VMLINUZ").unwrap().is_some());
    assert!(plain.stat(b"/boot/vmlinuz;1").unwrap().is_none());
    // Rock Ridge: exact names.
    let rr = open("iso-rockridge");
    assert!(rr.stat(b"/MixedCase/ReadMe.TXT").unwrap().is_some());
    assert!(rr.stat(b"/mixedcase/readme.txt").unwrap().is_none());
    assert_eq!(
        rr.stat(b"/vmlinuz").unwrap().unwrap().kind,
        FileKind::Symlink
    );
    // Relocated directory: reached through its CL entry, hidden in rr_moved.
    assert!(rr.read_dir(b"/rr_moved").unwrap().is_empty());
    // Joliet: case-insensitive.
    let j = open("iso-joliet");
    assert!(j.stat(b"/boot/vmlinuz-6.1.0-13-amd64").unwrap().is_some());
    // Errors name the path.
    let e = rr.open(b"/boot").err().unwrap().to_string();
    assert!(e.contains("/boot") && e.contains("directory"), "{e}");
}
