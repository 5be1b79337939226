//! ext2/3/4 reading compared with e2fsprogs: every file and symlink our reader finds must
//! read back exactly what `debugfs -R 'rdump / DIR'` writes, and every file debugfs writes
//! must be found. The image must be byte-identical afterwards.

mod common;

use domuloader::disk::Disk;
use domuloader::fs::ext::ExtFs;
use domuloader::fs::{FileKind, Filesystem, FsError, FsType};
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::Command;

fn sha256_file(p: &Path) -> Vec<u8> {
    let mut f = std::fs::File::open(p).unwrap();
    let mut h = Sha256::new();
    std::io::copy(&mut f, &mut h).unwrap();
    h.finalize().to_vec()
}

fn have_debugfs() -> bool {
    Command::new("debugfs").arg("-V").output().is_ok()
}

pub fn open(img: &Path) -> ExtFs {
    let disk = Disk::open(img).unwrap();
    ExtFs::open(disk.whole()).unwrap_or_else(|e| panic!("{}: {e}", img.display()))
}

/// What e2fsprogs sees: the image's tree dumped by debugfs into a fresh directory.
fn rdump(img: &Path) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new("debugfs")
        .arg("-R")
        .arg(format!("rdump / {}", dir.path().display()))
        .arg(img)
        .output()
        .unwrap();
    assert!(out.status.success(), "debugfs: {}", String::from_utf8_lossy(&out.stderr));
    dir
}

#[derive(Default, Debug)]
struct Counts {
    files: usize,
    symlinks: usize,
    dirs: usize,
    encrypted_dirs: usize,
    bytes: u64,
}

/// Compares our tree under `path` with the host copy under `host`.
fn compare(fs: &ExtFs, path: &[u8], host: &Path, n: &mut Counts) {
    n.dirs += 1;
    let ours = match fs.read_dir(path) {
        Ok(v) => v,
        Err(FsError::UnsupportedFeature { feature, .. }) if feature == "encrypt" => {
            // Names and contents are ciphertext: nothing to compare (debugfs dumps them raw).
            assert!(host.is_dir(), "{}", host.display());
            n.encrypted_dirs += 1;
            return;
        }
        Err(e) => panic!("{}: {e}", String::from_utf8_lossy(path)),
    };
    let mut host_names: BTreeSet<Vec<u8>> =
        std::fs::read_dir(host).unwrap().map(|e| e.unwrap().file_name().as_bytes().to_vec()).collect();
    // Lookups are linear scans, so checking every entry of a huge directory is quadratic:
    // compare all names and kinds, but stat and read only a sample there.
    let stride = if ours.len() > 400 { ours.len() / 100 } else { 1 };
    for (i, (name, kind)) in ours.into_iter().enumerate() {
        let mut child = path.to_vec();
        if child.last() != Some(&b'/') {
            child.push(b'/');
        }
        child.extend_from_slice(&name);
        let hp = host.join(OsStr::from_bytes(&name));
        let shown = String::from_utf8_lossy(&child).into_owned();
        if i % stride != 0 {
            assert!(host_names.remove(&name) || kind == FileKind::Other, "{shown}: debugfs did not dump it");
            let meta = std::fs::symlink_metadata(&hp);
            assert!(kind == FileKind::Other || meta.is_ok(), "{shown}");
            continue;
        }
        let st = fs.stat(&child).unwrap().unwrap_or_else(|| panic!("{shown}: listed but not found"));
        assert_eq!(st.kind, kind, "{shown}");
        if kind == FileKind::Other {
            continue; // debugfs does not dump devices, FIFOs, sockets
        }
        assert!(host_names.remove(&name), "{shown}: debugfs did not dump it");
        match kind {
            FileKind::Dir => compare(fs, &child, &hp, n),
            FileKind::Symlink => {
                let want = std::fs::read_link(&hp).unwrap();
                assert_eq!(fs.read_link(&child).unwrap(), want.as_os_str().as_bytes(), "{shown}");
                n.symlinks += 1;
            }
            FileKind::File => {
                let want = std::fs::read(&hp).unwrap();
                let mut got = Vec::new();
                fs.open(&child).unwrap().read_to_end(&mut got).unwrap();
                assert_eq!(st.size, want.len() as u64, "{shown}: size");
                assert!(got == want, "{shown}: content differs ({} vs {} bytes)", got.len(), want.len());
                n.files += 1;
                n.bytes += got.len() as u64;
            }
            FileKind::Other => {}
        }
    }
    assert!(host_names.is_empty(), "{}: we missed {host_names:?}", String::from_utf8_lossy(path));
}

/// Whether the superblock says needs_recovery (incompat RECOVER).
fn needs_recovery(img: &Path) -> bool {
    let mut f = std::fs::File::open(img).unwrap();
    let mut sb = [0u8; 1024];
    std::io::Seek::seek(&mut f, std::io::SeekFrom::Start(1024)).unwrap();
    f.read_exact(&mut sb).unwrap();
    sb[0x60] & 0x4 != 0
}

/// The image as e2fsprogs sees it after recovery: a copy whose journal e2fsck replayed
/// (only the journal: `-E journal_only`), or the image itself when it is clean.
fn recovered(img: &Path, tmp: &Path) -> PathBuf {
    if !needs_recovery(img) {
        return img.to_owned();
    }
    let copy = tmp.join("recovered.img");
    std::fs::copy(img, &copy).unwrap();
    let out = Command::new("e2fsck").args(["-y", "-E", "journal_only"]).arg(&copy).output().unwrap();
    assert!(matches!(out.status.code(), Some(0 | 1)), "e2fsck: {}", String::from_utf8_lossy(&out.stdout));
    copy
}

/// Full comparison of one image; returns the counts for a sanity floor.
fn check_image(img: &Path) -> Counts {
    let before = sha256_file(img);
    let fs = open(img);
    let tmp = tempfile::tempdir().unwrap();
    let dump = rdump(&recovered(img, tmp.path()));
    let mut n = Counts::default();
    compare(&fs, b"/", dump.path(), &mut n);
    drop(fs);
    assert_eq!(before, sha256_file(img), "{}: image changed", img.display());
    eprintln!("{}: {n:?}", img.display());
    n
}

fn ext4_view_images() -> Vec<PathBuf> {
    let Some(c) = common::corpus() else { return Vec::new() };
    let mut v: Vec<PathBuf> = std::fs::read_dir(c.join("ext4-view")).unwrap().map(|e| e.unwrap().path()).collect();
    v.sort();
    v.iter().map(|p| common::unpacked(p)).collect()
}

#[test]
fn ext4_view_corpus_matches_debugfs() {
    if !have_debugfs() {
        eprintln!("debugfs missing: skipping");
        return;
    }
    for img in ext4_view_images() {
        let n = check_image(&img);
        assert!(n.files + n.symlinks + n.dirs > 100, "{}: too little found: {n:?}", img.display());
    }
}

#[test]
fn ext4_view_corpus_identity() {
    for img in ext4_view_images() {
        let fs = open(&img);
        let name = img.file_name().unwrap().to_string_lossy().into_owned();
        let want = if name.contains("ext3") { FsType::Ext3 } else { FsType::Ext4 };
        assert_eq!(fs.info().fs_type, want, "{name}");
        assert_eq!(fs.info().label, "ext4-view testfs");
        assert_eq!(fs.info().uuid.len(), 36);
        if name.contains("journal") {
            // Its newest directories exist only in the journal (ext4-view's own test).
            assert!(fs.warnings()[0].contains("replayed"), "{:?}", fs.warnings());
            assert_eq!(fs.stat(b"/dir500").unwrap().map(|s| s.kind), Some(FileKind::Dir));
        } else {
            assert!(fs.warnings().is_empty(), "{name}: {:?}", fs.warnings());
        }
    }
}
