//! btrfs reading compared with the kernel: every file, symlink and directory of every btrfs
//! fixture, as the manifest written by fixtures/build/btrfs.sh from the mounted top-level
//! subvolume records it, must read back byte-equal through our reader (crossing into nested
//! subvolumes), and the default subvolume, `subvol=` and `subvolid=` views must show what
//! the kernel mounts there. UUID and LABEL must equal `blkid -p`'s.

mod common;

use domuloader::fs::{FileKind, Filesystem, FsType};
use domuloader::guest::devname::DevName;
use domuloader::guest::diskset::DiskSet;
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::io::Read;
use std::rc::Rc;

const FIXTURES: [&str; 6] = [
    "suse",
    "fedora",
    "ubuntu",
    "compress",
    "csum-xxhash",
    "csum-sha256",
];

fn btrfs_of(name: &str) -> (DiskSet, Rc<dyn Filesystem>) {
    let img = common::fixture(&format!("btrfs-{name}.img"));
    let set = DiskSet::open(&[(img.as_path(), DevName::parse("xvda").unwrap())]).unwrap();
    let fs = set
        .filesystems()
        .into_iter()
        .map(|(_, fs)| fs)
        .find(|fs| fs.info().fs_type == FsType::Btrfs)
        .unwrap_or_else(|| panic!("{name}: no btrfs filesystem found"));
    (set, fs)
}

fn top(fs: &dyn Filesystem) -> Box<dyn Filesystem> {
    fs.mount_view(&["subvolid=5".to_owned()]).unwrap().unwrap()
}

fn read_all(fs: &dyn Filesystem, path: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    fs.open(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.escape_ascii()))
        .read_to_end(&mut v)
        .unwrap();
    v
}

fn hex(d: &[u8]) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn every_file_equals_the_kernels_view() {
    for name in FIXTURES {
        let (_set, fs) = btrfs_of(name);
        let top = top(fs.as_ref());
        let manifest = std::fs::read_to_string(
            common::repo().join(format!("fixtures/expected/btrfs-{name}.manifest")),
        )
        .unwrap();
        let mut dirs = std::collections::BTreeMap::<String, BTreeSet<String>>::new();
        let mut counts = [0usize; 3];
        for line in manifest.lines() {
            let f: Vec<&str> = line.splitn(4, '\t').collect();
            let [kind, size, data, path] = f.as_slice() else {
                panic!("bad manifest line {line:?}");
            };
            let p = path.as_bytes();
            let st = top
                .stat(p)
                .unwrap()
                .unwrap_or_else(|| panic!("{name}: {path} not found"));
            if let Some((parent, base)) = path.rsplit_once('/').filter(|_| *path != "/") {
                let parent = if parent.is_empty() { "/" } else { parent };
                dirs.entry(parent.to_owned())
                    .or_default()
                    .insert(base.to_owned());
            }
            match *kind {
                "f" => {
                    assert_eq!(st.kind, FileKind::File, "{name}: {path}");
                    assert_eq!(st.size.to_string(), *size, "{name}: {path} size");
                    let bytes = read_all(top.as_ref(), p);
                    assert_eq!(bytes.len().to_string(), *size, "{name}: {path} length");
                    assert_eq!(hex(&Sha256::digest(&bytes)), *data, "{name}: {path} bytes");
                    counts[0] += 1;
                }
                "l" => {
                    assert_eq!(st.kind, FileKind::Symlink, "{name}: {path}");
                    assert_eq!(top.read_link(p).unwrap(), data.as_bytes(), "{name}: {path}");
                    counts[1] += 1;
                }
                "d" => {
                    assert_eq!(st.kind, FileKind::Dir, "{name}: {path}");
                    dirs.entry(path.to_string()).or_default();
                    counts[2] += 1;
                }
                k => panic!("unknown kind {k}"),
            }
        }
        // Listings name exactly the manifest's entries.
        for (dir, want) in dirs {
            let got: BTreeSet<String> = top
                .read_dir(dir.as_bytes())
                .unwrap()
                .into_iter()
                .map(|(n, _)| String::from_utf8(n).unwrap())
                .collect();
            assert_eq!(got, want, "{name}: listing of {dir}");
        }
        assert!(counts[0] >= 2 && counts[2] >= 2, "{name}: {counts:?}");
    }
}

#[test]
fn blkid_uuid_and_label() {
    for name in FIXTURES {
        let (_set, fs) = btrfs_of(name);
        let want = std::fs::read_to_string(
            common::repo().join(format!("fixtures/expected/btrfs-{name}.blkid")),
        )
        .unwrap();
        let field = |k: &str| {
            want.lines()
                .find_map(|l| l.strip_prefix(k)?.strip_prefix('='))
                .unwrap_or("")
                .to_owned()
        };
        assert_eq!(fs.info().uuid, field("UUID"), "{name}");
        assert_eq!(fs.info().label, field("LABEL"), "{name}");
        assert_eq!(field("TYPE"), "btrfs");
    }
}

#[test]
fn default_and_named_subvolumes() {
    let (_set, fs) = btrfs_of("suse");
    // The default subvolume is the snapper snapshot, with /boot inside.
    assert!(fs.stat(b"/boot/grub2/grub.cfg").unwrap().is_some());
    assert!(fs.stat(b"/etc/fstab").unwrap().is_some());
    assert!(fs.stat(b"/@").unwrap().is_none());
    let home = fs
        .mount_view(&["subvol=/@/home".to_owned()])
        .unwrap()
        .unwrap();
    assert_eq!(
        read_all(home.as_ref(), b"/user/notes.txt"),
        b"a file in @/home\n"
    );
    let snap = fs
        .mount_view(&["subvol=@/.snapshots".to_owned()])
        .unwrap()
        .unwrap();
    assert!(snap.stat(b"/1/info.xml").unwrap().is_some());
    assert!(snap.stat(b"/1/snapshot/etc/fstab").unwrap().is_some());
    // Options that name no subvolume change nothing.
    assert!(fs.mount_view(&["defaults".to_owned()]).unwrap().is_none());
    // A path that is no subvolume root is refused, as the kernel does.
    assert!(fs.mount_view(&["subvol=/@/var/log".to_owned()]).is_err());
    assert!(fs.mount_view(&["subvolid=4242".to_owned()]).is_err());

    let (_set, fs) = btrfs_of("fedora");
    // Default: the top level; the root is in `root`.
    assert!(fs.stat(b"/root/etc/fstab").unwrap().is_some());
    let root = fs.mount_view(&["subvol=root".to_owned(), "compress=zstd:1".to_owned()]);
    let root = root.unwrap().unwrap();
    assert!(root.stat(b"/etc/fstab").unwrap().is_some());
    assert!(fs
        .subvolume_options()
        .unwrap()
        .contains(&"subvolid=256".to_owned()));
}

#[test]
fn plain_files_map_to_the_disk_and_compressed_ones_stream() {
    let (_set, fs) = btrfs_of("compress");
    assert!(fs.segments(b"/plain/vmlinuz").unwrap().is_some());
    for c in ["zstd", "lzo", "zlib"] {
        let p = format!("/{c}/vmlinuz");
        assert!(fs.segments(p.as_bytes()).unwrap().is_none(), "{c}");
    }
    // Segments of the plain kernel give its bytes.
    let mut src = fs.segments(b"/plain/vmlinuz").unwrap().unwrap();
    let mut got = Vec::new();
    while let Some(seg) = src.next_segment(1 << 20).unwrap() {
        match seg {
            domuloader::fs::Segment::Data { disk_offset, len } => {
                let mut b = vec![0u8; len as usize];
                src.disk().read_exact_at(disk_offset, &mut b).unwrap();
                got.extend(b);
            }
            domuloader::fs::Segment::Zeros { len } => got.extend(vec![0u8; len as usize]),
        }
    }
    assert_eq!(got, read_all(fs.as_ref(), b"/plain/vmlinuz"));
}

#[test]
fn blake2b_checksums_are_refused_by_name() {
    let img = common::fixture("btrfs-csum-blake2.img");
    let disk = domuloader::disk::Disk::open(&img).unwrap();
    let err = domuloader::fs::open(disk.whole())
        .err()
        .unwrap()
        .to_string();
    assert_eq!(err, "unsupported btrfs feature blake2b checksums");
}
