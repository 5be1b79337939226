//! XFS reading compared with the kernel: every fixture's tree (every directory listing,
//! file's bytes, symlink target) must equal the manifest that fixtures/build/xfs.sh took from
//! the mounted filesystem (or, for v4, which the kernel here no longer mounts, from the
//! source tree the image was made from), and its UUID and LABEL must equal `blkid -p`'s.

mod common;

use domuloader::disk::Disk;
use domuloader::fs::{self, FileKind, Filesystem, Segment};
use sha2::{Digest, Sha256};
use std::io::Read;

/// Fixture name and, for partitioned disks, the filesystem's byte range.
const FIXTURES: &[(&str, Option<(u64, u64)>)] = &[
    ("xfs-v5", None),
    ("xfs-v5-1k", None),
    ("xfs-v5-proto", None),
    ("xfs-v4", None),
    ("xfs-v4-noftype", None),
    ("xfs-dirty", None),
    ("xfs-rhel-boot", Some((4096 * 512, 65536 * 512))),
];

fn sha_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The manifest's escaping: printable ASCII except `%` as is, other bytes as `%XX`.
fn esc(b: &[u8]) -> String {
    b.iter()
        .map(|&c| {
            if (0x21..=0x7e).contains(&c) && c != b'%' {
                (c as char).to_string()
            } else {
                format!("%{c:02x}")
            }
        })
        .collect()
}

fn open(name: &str, range: Option<(u64, u64)>) -> Box<dyn Filesystem> {
    let img = common::fixture(&format!("{name}.img"));
    let disk = Disk::open(&img).unwrap();
    let slice = match range {
        Some((off, len)) => disk.whole().sub(off, len).unwrap(),
        None => disk.whole(),
    };
    fs::open(slice).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The file's bytes through its disk segments (the zero-copy path).
fn by_segments(fs: &dyn Filesystem, path: &[u8]) -> Vec<u8> {
    let mut src = fs.segments(path).unwrap().expect("xfs maps files");
    let mut out = Vec::new();
    while let Some(seg) = src.next_segment(1 << 20).unwrap() {
        match seg {
            Segment::Data { disk_offset, len } => {
                let mut buf = vec![0u8; len as usize];
                src.disk().read_exact_at(disk_offset, &mut buf).unwrap();
                out.extend_from_slice(&buf);
            }
            Segment::Zeros { len } => out.resize(out.len() + len as usize, 0),
        }
    }
    out
}

fn walk(fs: &dyn Filesystem, dir: &[u8], out: &mut Vec<String>) {
    for (name, kind) in fs
        .read_dir(if dir.is_empty() { b"/" } else { dir })
        .unwrap()
    {
        let mut path = dir.to_vec();
        path.push(b'/');
        path.extend_from_slice(&name);
        let st = fs.stat(&path).unwrap().unwrap();
        assert_eq!(st.kind, kind, "{}", esc(&path));
        match kind {
            FileKind::Dir => {
                out.push(format!("d - - {}", esc(&path)));
                walk(fs, &path, out);
            }
            FileKind::File => {
                let mut data = Vec::new();
                fs.open(&path).unwrap().read_to_end(&mut data).unwrap();
                assert_eq!(data.len() as u64, st.size, "{}", esc(&path));
                assert!(
                    by_segments(fs, &path) == data,
                    "{}: segments differ",
                    esc(&path)
                );
                out.push(format!("f {} {} {}", st.size, sha_hex(&data), esc(&path)));
            }
            FileKind::Symlink => {
                let target = fs.read_link(&path).unwrap();
                out.push(format!("l - {} {}", esc(&target), esc(&path)));
            }
            FileKind::Other => out.push(format!("o - - {}", esc(&path))),
        }
    }
}

fn expected(name: &str, file: &str) -> String {
    std::fs::read_to_string(
        common::repo()
            .join("fixtures/expected")
            .join(format!("{name}.{file}")),
    )
    .unwrap()
}

#[test]
fn every_fixture_tree_equals_its_manifest() {
    for &(name, range) in FIXTURES {
        let fs = open(name, range);
        let mut got = Vec::new();
        walk(fs.as_ref(), b"", &mut got);
        // Written after the last clean unmount: on disk or only in the dirty log.
        got.retain(|l| !l.ends_with(" /after-shutdown"));
        got.sort();
        let want: Vec<String> = expected(name, "manifest")
            .lines()
            .map(str::to_owned)
            .collect();
        assert!(want.len() > 10, "{name}: manifest too small");
        if got != want {
            let missing: Vec<_> = want.iter().filter(|l| !got.contains(l)).take(5).collect();
            let extra: Vec<_> = got.iter().filter(|l| !want.contains(l)).take(5).collect();
            panic!("{name}: tree differs\nmissing: {missing:#?}\nextra: {extra:#?}");
        }
    }
}

#[test]
fn uuid_and_label_equal_blkid() {
    for &(name, range) in FIXTURES {
        let fs = open(name, range);
        let info = fs.info();
        let mut want = expected(name, "blkid");
        if !want.contains("LABEL=") {
            want.push_str("LABEL=\n");
        }
        let got = format!("TYPE=xfs\nUUID={}\nLABEL={}\n", info.uuid, info.label);
        let sorted = |s: &str| {
            let mut v: Vec<_> = s.lines().map(str::to_owned).collect();
            v.sort();
            v
        };
        assert_eq!(sorted(&got), sorted(&want), "{name}");
    }
}

#[test]
fn only_the_dirty_log_warns() {
    for &(name, range) in FIXTURES {
        let fs = open(name, range);
        let w = fs.warnings();
        if name == "xfs-dirty" {
            assert_eq!(w.len(), 1, "{w:?}");
            assert!(w[0].contains("log is dirty"), "{w:?}");
        } else {
            assert!(w.is_empty(), "{name}: {w:?}");
        }
    }
}

/// The fixtures hold the forms they are meant to test (else the tree test proves less).
#[test]
fn fixtures_cover_every_directory_and_fork_form() {
    let fs = open("xfs-v5", None);
    let n = |p: &str| fs.read_dir(p.as_bytes()).unwrap().len();
    assert_eq!(n("/dirs/short"), 3);
    assert_eq!(n("/dirs/block"), 40);
    assert_eq!(n("/dirs/leaf"), 250);
    assert_eq!(n("/dirs/node"), 1000);
    assert_eq!(n("/dirs/btree"), 1200);
    let reflinked = by_segments(fs.as_ref(), b"/reflinked");
    let kernel = by_segments(fs.as_ref(), b"/boot/vmlinuz-5.14.0-70.13.1.el9_0.x86_64");
    assert_eq!(reflinked, kernel);
}

/// `--inspect` through the binary shows blkid's UUID and LABEL for every fixture.
#[test]
fn inspect_shows_blkid_identity() {
    for &(name, _) in FIXTURES {
        let img = common::fixture(&format!("{name}.img"));
        let o = common::run_str(&["--inspect", "--output-format=json", img.to_str().unwrap()]);
        assert!(
            o.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        let text = v.to_string();
        for line in expected(name, "blkid").lines() {
            let (k, val) = line.split_once('=').unwrap();
            let key = k.to_lowercase();
            assert!(
                text.contains(&format!("\"{key}\":\"{val}\"")),
                "{name}: {key}={val} not in {text}"
            );
        }
    }
}
