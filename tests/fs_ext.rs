//! ext2/3/4 reading compared with e2fsprogs: every file and symlink our reader finds must
//! read back exactly what `debugfs -R 'rdump / DIR'` writes, and every file debugfs writes
//! must be found. The image must be byte-identical afterwards.

mod common;

use domuloader::disk::Disk;
use domuloader::fs::ext::ExtFs;
use domuloader::fs::{FileKind, Filesystem, FsError, FsType};
use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The image's bytes, compared before and after a run (plain comparison: hashing hundreds
/// of MiB in a debug build costs seconds).
fn contents(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap()
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
    // -n: no checksum verification, like our reader (e2fsprogs' replayed test images carry
    // stale bitmap checksums that make debugfs refuse to open them otherwise).
    let out = Command::new("debugfs")
        .arg("-n")
        .arg("-R")
        .arg(format!("rdump / {}", dir.path().display()))
        .arg(img)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "debugfs: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    dir
}

#[derive(Default, Debug)]
struct Counts {
    files: usize,
    symlinks: usize,
    dirs: usize,
    encrypted_dirs: usize,
    /// Inline-data files and directories, which we refuse.
    inline: usize,
    bytes: u64,
}

/// Compares our tree under `path` with the host copy under `host`.
fn compare(fs: &ExtFs, path: &[u8], host: &Path, n: &mut Counts, ignore: &[&[u8]]) {
    n.dirs += 1;
    let ours = match fs.read_dir(path) {
        Ok(v) => v,
        Err(FsError::UnsupportedFeature { feature, .. }) if feature == "inline_data" => {
            n.inline += 1;
            return;
        }
        Err(FsError::UnsupportedFeature { feature, .. }) if feature == "encrypt" => {
            // Names and contents are ciphertext: nothing to compare (debugfs dumps them raw).
            assert!(host.is_dir(), "{}", host.display());
            n.encrypted_dirs += 1;
            return;
        }
        Err(e) => panic!("{}: {e}", String::from_utf8_lossy(path)),
    };
    let mut host_names: BTreeSet<Vec<u8>> = std::fs::read_dir(host)
        .unwrap()
        .map(|e| e.unwrap().file_name().as_bytes().to_vec())
        .collect();
    // Lookups are linear scans, so checking every entry of a huge directory is quadratic:
    // compare all names and kinds, but stat and read only a sample there.
    let stride = if ours.len() > 400 {
        ours.len() / 100
    } else {
        1
    };
    for (i, (name, kind)) in ours.into_iter().enumerate() {
        let mut child = path.to_vec();
        if child.last() != Some(&b'/') {
            child.push(b'/');
        }
        child.extend_from_slice(&name);
        let hp = host.join(OsStr::from_bytes(&name));
        if ignore.contains(&&child[..]) {
            host_names.remove(&name);
            continue;
        }
        let shown = String::from_utf8_lossy(&child).into_owned();
        if i % stride != 0 {
            assert!(
                host_names.remove(&name) || kind == FileKind::Other,
                "{shown}: debugfs did not dump it"
            );
            let meta = std::fs::symlink_metadata(&hp);
            assert!(kind == FileKind::Other || meta.is_ok(), "{shown}");
            continue;
        }
        let st = fs
            .stat(&child)
            .unwrap()
            .unwrap_or_else(|| panic!("{shown}: listed but not found"));
        assert_eq!(st.kind, kind, "{shown}");
        if kind == FileKind::Other {
            continue; // debugfs does not dump devices, FIFOs, sockets
        }
        assert!(host_names.remove(&name), "{shown}: debugfs did not dump it");
        match kind {
            FileKind::Dir => compare(fs, &child, &hp, n, ignore),
            FileKind::Symlink => {
                let want = std::fs::read_link(&hp).unwrap();
                match fs.read_link(&child) {
                    Err(FsError::UnsupportedFeature { feature, .. })
                        if feature == "inline_data" =>
                    {
                        n.inline += 1
                    }
                    got => assert_eq!(got.unwrap(), want.as_os_str().as_bytes(), "{shown}"),
                }
                n.symlinks += 1;
            }
            FileKind::File => {
                let mut want = std::fs::read(&hp).unwrap();
                if want.len() == 60
                    && st.size < 60
                    && want[st.size as usize..].iter().all(|&b| b == 0)
                {
                    // debugfs 1.47.0 dumps a small inline-data file as its whole 60-byte
                    // i_block, zero-padded; the file is i_size long.
                    want.truncate(st.size as usize);
                }
                let mut got = Vec::new();
                match fs.open(&child) {
                    Err(FsError::UnsupportedFeature { feature, .. })
                        if feature == "inline_data" =>
                    {
                        n.inline += 1;
                        continue;
                    }
                    f => f.unwrap().read_to_end(&mut got).unwrap(),
                };
                assert_eq!(st.size, want.len() as u64, "{shown}: size");
                assert!(
                    got == want,
                    "{shown}: content differs ({} vs {} bytes)",
                    got.len(),
                    want.len()
                );
                n.files += 1;
                n.bytes += got.len() as u64;
            }
            FileKind::Other => {}
        }
    }
    assert!(
        host_names.is_empty(),
        "{}: we missed {host_names:?}",
        String::from_utf8_lossy(path)
    );
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
    let out = Command::new("e2fsck")
        .args(["-y", "-E", "journal_only"])
        .arg(&copy)
        .output()
        .unwrap();
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "e2fsck: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    copy
}

/// Full comparison of one image; returns the counts for a sanity floor.
fn check_image(img: &Path) -> Counts {
    check_image_ignoring(img, &[])
}

/// The same, leaving out paths where e2fsck's recovery does more than replay the journal.
fn check_image_ignoring(img: &Path, ignore: &[&[u8]]) -> Counts {
    let before = contents(img);
    let fs = open(img);
    let tmp = tempfile::tempdir().unwrap();
    let dump = rdump(&recovered(img, tmp.path()));
    let mut n = Counts::default();
    compare(&fs, b"/", dump.path(), &mut n, ignore);
    drop(fs);
    assert!(before == contents(img), "{}: image changed", img.display());
    eprintln!("{}: {n:?}", img.display());
    n
}

fn ext4_view_images() -> Vec<PathBuf> {
    let Some(c) = common::corpus() else {
        return Vec::new();
    };
    let mut v: Vec<PathBuf> = std::fs::read_dir(c.join("ext4-view"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v.iter().map(|p| common::unpacked(p)).collect()
}

#[test]
fn ext4_view_corpus_matches_debugfs() {
    if !have_debugfs() {
        common::skip("debugfs not installed (apt-get install e2fsprogs)");
        return;
    }
    for img in ext4_view_images() {
        let n = check_image(&img);
        assert!(
            n.files + n.symlinks + n.dirs > 100,
            "{}: too little found: {n:?}",
            img.display()
        );
    }
}

#[test]
fn ext4_view_corpus_identity() {
    for img in ext4_view_images() {
        let fs = open(&img);
        let name = img.file_name().unwrap().to_string_lossy().into_owned();
        let want = if name.contains("ext3") {
            FsType::Ext3
        } else {
            FsType::Ext4
        };
        assert_eq!(fs.info().fs_type, want, "{name}");
        assert_eq!(fs.info().label, "ext4-view testfs");
        assert_eq!(fs.info().uuid.len(), 36);
        if name.contains("journal") {
            // Its newest directories exist only in the journal (ext4-view's own test).
            assert!(fs.warnings()[0].contains("replayed"), "{:?}", fs.warnings());
            assert_eq!(
                fs.stat(b"/dir500").unwrap().map(|s| s.kind),
                Some(FileKind::Dir)
            );
        } else {
            assert!(fs.warnings().is_empty(), "{name}: {:?}", fs.warnings());
        }
    }
}

/// (fixture, type, uuid suffix, label)
const FIXTURES: &[(&str, FsType, &str, &str)] = &[
    ("ext2", FsType::Ext2, "02", "ext2-fixture"),
    ("ext3", FsType::Ext3, "03", "ext3-fixture"),
    ("ext3-flag", FsType::Ext3, "03", "ext3-fixture"),
    ("ext3-dirty", FsType::Ext3, "03", "ext3-fixture"),
    ("ext4", FsType::Ext4, "04", "ext4-fixture"),
    ("ext4-dirty", FsType::Ext4, "04", "ext4-fixture"),
    ("ext4-1k", FsType::Ext4, "05", "ext4-1k-metabg"),
    ("bigalloc", FsType::Ext4, "06", "bigalloc"),
    ("bigalloc-1k", FsType::Ext4, "08", "bigalloc-1k"),
    ("inline", FsType::Ext4, "07", "inline"),
];

fn fixture(name: &str) -> PathBuf {
    common::fixture(&format!("ext-{name}.img"))
}

fn read_all(fs: &ExtFs, path: &str) -> Vec<u8> {
    let mut v = Vec::new();
    fs.open(path.as_bytes())
        .unwrap()
        .read_to_end(&mut v)
        .unwrap();
    v
}

#[test]
fn fixtures_match_debugfs() {
    if !have_debugfs() {
        common::skip("debugfs not installed (apt-get install e2fsprogs)");
        return;
    }
    for (name, ..) in FIXTURES {
        let n = check_image(&fixture(name));
        assert!(
            n.files >= 100 && n.symlinks >= 5,
            "{name}: too little found: {n:?}"
        );
        assert_eq!(n.inline, 0, "{name}: {n:?}");
    }
}

#[test]
fn fixture_identity_and_content() {
    for (name, ty, uuid, label) in FIXTURES {
        let fs = open(&fixture(name));
        assert_eq!(fs.info().fs_type, *ty, "{name}");
        assert_eq!(
            fs.info().uuid,
            format!("0b5e2d1c-0000-4000-8000-0000000000{uuid}"),
            "{name}"
        );
        assert_eq!(fs.info().label, *label, "{name}");
        let kernel = read_all(&fs, "/boot/vmlinuz-6.1.0-test");
        assert_eq!(kernel.len(), 1200 * 1024 + 123, "{name}");
        assert!(
            kernel.starts_with(b"kernel KiB 00000000\n")
                && kernel[1024..].starts_with(b"kernel KiB 00000001\n")
        );
        assert_eq!(
            fs.read_link(b"/vmlinuz").unwrap(),
            b"boot/vmlinuz-6.1.0-test"
        );
        assert_eq!(
            fs.read_link(b"/initrd.img").unwrap(),
            b"/boot/initrd.img-6.1.0-test"
        );
        assert_eq!(
            fs.stat(b"/dev/fifo").unwrap().unwrap().kind,
            FileKind::Other
        );
        assert_eq!(fs.stat(b"/boot/nonexistent").unwrap(), None);
        assert_eq!(fs.stat(b"/nonexistent/deeper").unwrap(), None);
        assert!(
            fs.stat(b"/etc/fstab/x").is_err(),
            "a file is not a directory"
        );
        assert!(
            fs.open(b"/boot").is_err()
                && fs.open(b"/vmlinuz").is_err()
                && fs.read_link(b"/etc").is_err()
        );
        assert_eq!(fs.read_dir(b"/big").unwrap().len(), 600, "{name}");
        let sparse = fs.stat(b"/sparse").unwrap().unwrap();
        assert_eq!(sparse.size, 80 * 1024 * 1024 - 3 + 1000);
        let grub = read_all(&fs, "/boot/grub/grub.cfg");
        match *name {
            "ext3-dirty" | "ext4-dirty" => {
                assert!(
                    fs.warnings()[0].contains("replayed"),
                    "{name}: {:?}",
                    fs.warnings()
                );
                let want: &[u8] = if *name == "ext3-dirty" {
                    b"set default=1 # from the journal\0"
                } else {
                    b"set default=2 # from the v3 journal\0"
                };
                assert!(grub.starts_with(want), "{name}");
                // The revoked copy of fstab's block must not be used.
                assert!(read_all(&fs, "/etc/fstab").starts_with(b"UUID="), "{name}");
            }
            "ext3-flag" => {
                assert!(
                    fs.warnings()[0].contains("journal is empty"),
                    "{:?}",
                    fs.warnings()
                );
                assert!(grub.starts_with(b"set default=0"));
            }
            _ => assert!(fs.warnings().is_empty(), "{name}: {:?}", fs.warnings()),
        }
        if *name == "ext4" || *name == "ext4-dirty" {
            // Preallocated (unwritten) blocks hold stale bytes on disk but read as zeros.
            let b = read_all(&fs, "/one-block");
            assert_eq!(b.len(), 32768);
            assert!(
                b[..4096].starts_with(b"one KiB 00000000") && b[4096..].iter().all(|&x| x == 0),
                "{name}"
            );
        }
    }
}

#[test]
fn whole_files_stream_in_few_calls() {
    // Read calls fill the caller's buffer across blocks and extents.
    let fs = open(&fixture("ext4"));
    let mut f = fs.open_file(b"/boot/vmlinuz-6.1.0-test").unwrap();
    let mut buf = vec![0u8; 1 << 20];
    assert_eq!(f.read(&mut buf).unwrap(), 1 << 20);
    let mut segs = 0;
    let mut f = fs.open_file(b"/boot/initrd.img-6.1.0-test").unwrap();
    while let Some(_s) = f.next_segment(u64::MAX).unwrap() {
        segs += 1;
    }
    assert!(segs <= 2, "{segs} segments for a contiguous file");
}

/// Runs `f`, asserting it finishes within `secs` (debug build).
fn quick<T>(what: &str, secs: f64, f: impl FnOnce() -> T) -> T {
    let t = std::time::Instant::now();
    let r = f();
    let took = t.elapsed().as_secs_f64();
    assert!(took < secs, "{what} took {took:.2}s");
    r
}

#[test]
fn hostile_fixture_is_bounded() {
    let img = fixture("hostile");
    let before = contents(&img);
    let fs = open(&img);
    // Depth-5 fan-out of zero-length extents: one mapping call covers the file with zeros.
    quick("fan-out extent tree", 2.0, || {
        let mut f = fs.open(b"/fan").unwrap().take(4 << 20);
        let mut v = Vec::new();
        f.read_to_end(&mut v).unwrap();
        assert!(v.len() == 4 << 20 && v.iter().all(|&b| b == 0));
    });
    assert_eq!(fs.stat(b"/fan").unwrap().unwrap().size, 1 << 30);
    let err = fs
        .open(b"/badtree")
        .unwrap()
        .read(&mut [0u8; 16])
        .unwrap_err();
    assert!(err.to_string().contains("depth"), "{err}");
    // 128 MiB directory mapping the same empty blocks over and over: scanned within caps.
    quick("huge directory", 2.0, || {
        assert_eq!(fs.stat(b"/hugedir/missing").unwrap(), None);
        assert!(fs.read_dir(b"/hugedir").unwrap().is_empty());
    });
    let err = fs.stat(b"/toobigdir/x").unwrap_err();
    assert!(err.to_string().contains("cap"), "{err}");
    let err = fs.read_link(b"/bigsym").unwrap_err();
    assert!(err.to_string().contains("2147483648 bytes"), "{err}");
    // A 2^60-byte file: the data that exists, then zeros, as far as the caller reads.
    assert_eq!(fs.stat(b"/hugefile").unwrap().unwrap().size, 1 << 60);
    let mut v = Vec::new();
    fs.open(b"/hugefile")
        .unwrap()
        .take(3 << 20)
        .read_to_end(&mut v)
        .unwrap();
    assert!(v[..1 << 20].iter().all(|&b| b == b'h') && v[1 << 20..].iter().all(|&b| b == 0));
    // A directory cycle only costs what the path asks for.
    assert_eq!(
        fs.stat(b"/loop/self/self/self/self").unwrap().unwrap().kind,
        FileKind::Dir
    );
    assert_eq!(read_all(&fs, "/ok.txt"), b"still readable\n");
    drop(fs);
    assert!(before == contents(&img), "hostile image changed");
}

/// A copy of the ext4 fixture with superblock bytes patched.
fn patched(tmp: &Path, patches: &[(usize, &[u8])]) -> PathBuf {
    let mut b = std::fs::read(fixture("ext2")).unwrap();
    for (off, bytes) in patches {
        b[1024 + off..1024 + off + bytes.len()].copy_from_slice(bytes);
    }
    let p = tmp.join("patched.img");
    std::fs::write(&p, b).unwrap();
    p
}

#[test]
fn hostile_superblocks_are_clear_errors() {
    let tmp = tempfile::tempdir().unwrap();
    type Patch<'a> = &'a [(usize, &'a [u8])];
    let cases: &[(Patch, &str)] = &[
        (&[(0x4, &u32::MAX.to_le_bytes())], "inode geometry"),
        (&[(0x20, &1u32.to_le_bytes())], "inode geometry"),
        (&[(0x20, &0u32.to_le_bytes())], "blocks per group"),
        (&[(0x28, &0u32.to_le_bytes())], "inode geometry"),
        (&[(0x18, &7u32.to_le_bytes())], "block size"),
        (&[(0x58, &100u16.to_le_bytes())], "inode size"),
        (&[(0x14, &0u32.to_le_bytes())], "first data block"),
        (
            &[(0x60, &0x2_0802u32.to_le_bytes())],
            "unsupported ext4 feature incompat 0x800",
        ),
        (&[(0x60, &0x3u32.to_le_bytes())], "compression"),
        (&[(0x64, &0x403u32.to_le_bytes())], "checksum mismatch"),
        (&[(0x38, &[0, 0])], "magic"),
    ];
    for (patches, want) in cases {
        let img = patched(tmp.path(), patches);
        let disk = Disk::open(&img).unwrap();
        let err = quick("open", 1.0, || ExtFs::open(disk.whole()))
            .err()
            .unwrap_or_else(|| panic!("{want}: opened"));
        assert!(err.to_string().contains(want), "want {want:?}, got: {err}");
    }
    // A slice too short for the filesystem it claims: named, with a warning; what lies
    // beyond the slice is a clear read error.
    let disk = Disk::open(&fixture("ext2")).unwrap();
    let fs = ExtFs::open(disk.whole().sub(0, 512 << 10).unwrap()).unwrap();
    assert!(
        fs.warnings()[0].contains("truncated: it claims 8388608 bytes, the partition holds 524288"),
        "{:?}",
        fs.warnings()
    );
    assert_eq!(fs.info().label, "ext2-fixture");
    let mut v = Vec::new();
    let err = fs.open(b"/boot/vmlinuz-6.1.0-test").and_then(|mut f| {
        f.read_to_end(&mut v).map_err(|e| FsError::Io {
            fs: "ext2",
            detail: e.to_string(),
        })
    });
    assert!(
        err.is_err() && err.err().unwrap().to_string().contains("outside"),
        "read beyond the slice"
    );
    let err = ExtFs::open(disk.whole().sub(0, 1500).unwrap())
        .err()
        .unwrap();
    assert!(err.to_string().contains("too small"), "{err}");
}

/// The needs_recovery images of the e2fsprogs corpus, with paths e2fsck changes beyond the
/// replay (f_journal: it moves a visible /journal file into a hidden inode). Left out:
/// f_ext_journal and j_corrupt_sb_csum (not replayable: external journal, bad journal
/// superblock; we read the on-disk state), and j_recover_fast_commit (fast commits are not
/// replayed).
const E2FSPROGS_JOURNALS: &[(&str, &[&[u8]])] = &[
    ("f_jnl_32bit.image.gz", &[]),
    ("f_journal.image.gz", &[b"/journal"]),
    ("j_corrupt_commit_csum.image.gz", &[]),
    ("j_corrupt_descr_csum.image.gz", &[]),
    ("j_corrupt_descr_tid.image.gz", &[]),
    ("j_corrupt_journal_block.image.gz", &[]),
    ("j_corrupt_revoke_csum.image.gz", &[]),
    ("j_recover_csum2_64bit.image.bz2", &[]),
    ("j_recover_csum3_64bit.image.bz2", &[]),
];

/// e2fsprogs' journal test images that need recovery: after our in-memory replay, every
/// file must read as debugfs sees it once e2fsck has replayed the journal of a copy.
#[test]
fn e2fsprogs_journals_match_e2fsck_replay() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    if !have_debugfs() {
        common::skip("debugfs not installed (apt-get install e2fsprogs)");
        return;
    }
    let mut replayed = 0;
    for (name, ignore) in E2FSPROGS_JOURNALS {
        let img = common::unpacked(&corpus.join("e2fsprogs").join(name));
        assert!(needs_recovery(&img), "{name}");
        let fs = open(&img);
        replayed += usize::from(fs.warnings()[0].contains("replayed"));
        drop(fs);
        check_image_ignoring(&img, ignore);
    }
    assert!(replayed >= 5, "only {replayed} journals replayed");
}
