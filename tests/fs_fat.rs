//! FAT12/16/32 read back against mtools, lookups like the vfat driver, and the hostile
//! fixtures (cluster loops, broken chains, bad boot sectors): each a clear error, fast, and
//! the image unchanged. Fixtures: `fixtures/build/fat.sh`.

mod common;

use domuloader::disk::Disk;
use domuloader::fs::fat::FatFs;
use domuloader::fs::{FileKind, Filesystem, FsError, Stat};
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// Every hostile case must end within this (the bound for a whole image).
const FAST: Duration = Duration::from_secs(2);

fn open(img: &Path) -> FatFs {
    FatFs::open(Disk::open(img).unwrap().whole()).unwrap()
}

fn sha(img: &Path) -> Vec<u8> {
    Sha256::digest(std::fs::read(img).unwrap()).to_vec()
}

fn read_all(fs: &FatFs, path: &[u8]) -> Result<Vec<u8>, String> {
    let mut r = fs.open(path).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    r.read_to_end(&mut out).map_err(|e| e.to_string())?;
    Ok(out)
}

/// Every path under `dir` ("/a/b" for files, "/a/" for directories), depth first.
fn walk(fs: &FatFs, dir: &str, out: &mut Vec<String>) -> Result<(), FsError> {
    for (name, kind) in fs.read_dir(dir.as_bytes())? {
        let name = String::from_utf8(name).unwrap();
        let path = format!("{}/{name}", dir.trim_end_matches('/'));
        if kind == FileKind::Dir {
            out.push(format!("{path}/"));
            walk(fs, &path, out)?;
        } else {
            out.push(path);
        }
    }
    Ok(())
}

fn mtools() -> bool {
    let ok = Command::new("mcopy")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        common::skip("mtools not installed (apt-get install mtools): mcopy comparison not run");
    }
    ok
}

fn mtool(tool: &str, args: &[&str]) -> Vec<u8> {
    let out = Command::new(tool)
        .env("MTOOLS_SKIP_CHECK", "1")
        .env("LC_ALL", "C.UTF-8")
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{tool} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// The tree as `mdir -/ -b` lists it, in our notation.
fn mdir_tree(img: &str) -> BTreeSet<String> {
    let out = mtool("mdir", &["-/", "-b", "-i", img, "::"]);
    String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| l.strip_prefix("::").unwrap_or(l).to_owned())
        .collect()
}

fn fixture_images() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = ["fat-12.img", "fat-16.img", "fat-32.img", "fat-dirty.img"]
        .iter()
        .map(|n| common::fixture(n))
        .collect();
    if let Some(c) = common::corpus() {
        v.push(common::unpacked(&c.join("fat/fatfs_fat12.img.gz")));
    }
    v
}

#[test]
fn every_file_reads_back_like_mcopy() {
    let have_mtools = mtools();
    for img in fixture_images() {
        let before = sha(&img);
        let fs = open(&img);
        let mut tree = Vec::new();
        walk(&fs, "/", &mut tree).unwrap();
        let files: Vec<&String> = tree.iter().filter(|p| !p.ends_with('/')).collect();
        assert!(files.len() >= 4, "{}: only {files:?}", img.display());
        let img_s = img.to_str().unwrap();
        if have_mtools {
            let ours: BTreeSet<String> = tree.iter().cloned().collect();
            assert_eq!(
                ours,
                mdir_tree(img_s),
                "{}: tree differs from mdir",
                img.display()
            );
        }
        for path in &files {
            let data = read_all(&fs, path.as_bytes()).unwrap();
            let st = fs.stat(path.as_bytes()).unwrap().unwrap();
            assert_eq!(
                st,
                Stat {
                    kind: FileKind::File,
                    size: data.len() as u64
                },
                "{path}"
            );
            if have_mtools {
                let theirs = mtool("mcopy", &["-n", "-i", img_s, &format!("::{path}"), "-"]);
                assert!(
                    data == theirs,
                    "{}:{path}: differs from mcopy",
                    img.display()
                );
            }
        }
        drop(fs);
        assert_eq!(sha(&img), before, "{} changed", img.display());
    }
}

#[test]
fn fixture_contents_are_what_the_script_wrote() {
    // Independent of mtools: the multi-cluster and fragmented files hold their known lines.
    for name in ["fat-12.img", "fat-16.img", "fat-32.img"] {
        let fs = open(&common::fixture(name));
        let k = read_all(&fs, b"/EFI/debian/vmlinuz").unwrap();
        assert_eq!(k.len(), 300 * 1024, "{name}");
        assert!(k.starts_with(b"vmlinuz line 000000 \n"), "{name}");
        let line = b"vmlinuz line 001234 ";
        assert!(k.windows(line.len()).any(|w| w == line), "{name}");
        let frag = read_all(&fs, b"/FRAG.BIN").unwrap();
        let want: Vec<u8> = (0..800)
            .flat_map(|i| format!("frag {i:05}\n").into_bytes())
            .collect();
        assert!(frag == want, "{name}: FRAG.BIN");
        assert_eq!(read_all(&fs, b"/empty.bin").unwrap(), b"");
        assert_eq!(fs.read_dir(b"/many").unwrap().len(), 40, "{name}");
    }
}

/// `blkid -p` on `img`: (UUID, LABEL), or `None` without blkid.
fn blkid(img: &Path) -> Option<(String, String)> {
    let out = Command::new("blkid")
        .args(["-p", "-o", "udev"])
        .arg(img)
        .output()
        .ok()
        .filter(|o| o.status.success())?;
    let text = String::from_utf8(out.stdout).unwrap();
    let get = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(key))
            .unwrap_or("")
            .to_owned()
    };
    // The fixtures' labels are plain ASCII, so the `_ENC` escaping is only `\x20` for space.
    Some((
        get("ID_FS_UUID="),
        get("ID_FS_LABEL_ENC=").replace("\\x20", " "),
    ))
}

#[test]
fn info_of_the_fixtures() {
    for (name, uuid, label) in [
        ("fat-12.img", "0A0B-0C0D", "Fix12"),
        ("fat-16.img", "1616-1616", "FIX16"),
        ("fat-32.img", "3232-3232", "Fix 32"),
        ("fat-dirty.img", "1616-1616", "FIX16"),
        ("hostile/fat-rootloop.img", "0BAD-0BAD", "HOSTILE"),
    ] {
        let img = common::fixture(name);
        let fs = open(&img);
        assert_eq!(fs.info().fs_type.as_str(), "vfat");
        let got = (fs.info().uuid.clone(), fs.info().label.clone());
        assert_eq!(got, (uuid.to_owned(), label.to_owned()), "{name}");
        match blkid(&img) {
            Some(theirs) => assert_eq!(got, theirs, "{name}: blkid differs"),
            None => common::skip(&format!(
                "blkid not installed (apt-get install util-linux): {name} checked against the script only"
            )),
        }
    }
}

#[test]
fn lookups_behave_like_vfat() {
    let fs = open(&common::fixture("fat-16.img"));
    let kernel = Some(Stat {
        kind: FileKind::File,
        size: 300 * 1024,
    });
    for p in [
        "/EFI/debian/vmlinuz",
        "/efi/DEBIAN/VMLINUZ",
        "//EFI//debian/vmlinuz",
    ] {
        assert_eq!(fs.stat(p.as_bytes()).unwrap(), kernel, "{p}");
    }
    let file = |p: &str| fs.stat(p.as_bytes()).unwrap().map(|s| s.kind);
    for p in [
        "/This is a Long File Name.txt",
        "/this IS a long file name.TXT",
        "/THISIS~1.TXT",
        "/mixedcase.cfg",
        "/MIXEDCASE.CFG",
        "/upper.txt",
        "/LOWER.TXT",
        "/deep/A/b/C/d/E/f/NESTED FILE.TXT",
        "/UPPER.TXT.",
    ] {
        assert_eq!(file(p), Some(FileKind::File), "{p}");
    }
    assert_eq!(file("/"), Some(FileKind::Dir));
    assert_eq!(file("/deep/a/b/"), Some(FileKind::Dir));
    assert_eq!(file("/nope"), None);
    assert_eq!(file("/nope/deeper"), None);
    assert_eq!(file("/This is a Long"), None);
    assert_eq!(fs.stat(b"/\xff\xfe").unwrap(), None);
    let e = fs.stat(b"/UPPER.TXT/x").unwrap_err().to_string();
    assert!(e.contains("not a directory"), "{e}");
    let e = fs.read_link(b"/UPPER.TXT").unwrap_err().to_string();
    assert!(e.contains("not a symbolic link"), "{e}");
    assert!(fs.read_link(b"/nope").is_err());
    let e = fs.open(b"/EFI").err().unwrap().to_string();
    assert!(e.contains("is a directory"), "{e}");
    let e = fs.open(b"/nope").err().unwrap().to_string();
    assert!(e.contains("no such file"), "{e}");
    assert!(fs.read_dir(b"/UPPER.TXT").is_err());
}

#[test]
fn small_reads_stream_the_same_bytes() {
    let fs = open(&common::fixture("fat-32.img"));
    let whole = read_all(&fs, b"/FRAG.BIN").unwrap();
    let mut r = fs.open(b"/FRAG.BIN").unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 333];
    loop {
        let n = r.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
    }
    assert_eq!(got, whole);
}

#[test]
fn dirty_volume_reads_and_stays_untouched() {
    let img = common::fixture("fat-dirty.img");
    let raw = std::fs::read(&img).unwrap();
    assert_eq!(raw[0x25] & 1, 1, "fixture lost its dirty bit");
    let before = sha(&img);
    {
        let fs = open(&img);
        assert_eq!(
            read_all(&fs, b"/EFI/debian/vmlinuz").unwrap().len(),
            300 * 1024
        );
        let mut tree = Vec::new();
        walk(&fs, "/", &mut tree).unwrap();
    }
    assert_eq!(sha(&img), before);
}

/// Runs `f` on a hostile fixture: it must finish fast and leave the image as it was.
fn hostile(name: &str, f: impl FnOnce(&Path)) {
    let img = common::fixture(&format!("hostile/{name}"));
    let before = sha(&img);
    let t = Instant::now();
    f(&img);
    eprintln!("{name}: {:?}", t.elapsed());
    assert!(t.elapsed() < FAST, "{name}: took {:?}", t.elapsed());
    assert_eq!(sha(&img), before, "{name} changed");
}

fn err_text<T>(r: Result<T, FsError>) -> String {
    match r {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn directory_cluster_loop_is_a_clear_error() {
    hostile("fat-dirloop.img", |img| {
        let fs = open(img);
        let e = err_text(fs.read_dir(b"/LOOPDIR"));
        assert!(e.contains("/LOOPDIR") && e.contains("loop"), "{e}");
        let e = err_text(fs.stat(b"/LOOPDIR/MISSING.TXT"));
        assert!(e.contains("loop"), "{e}");
        // Linux would still find an entry before the loop; the chain is checked first here,
        // so every lookup in a looping directory is the same clear error.
        let e = err_text(fs.stat(b"/LOOPDIR/F00.TXT"));
        assert!(e.contains("loop"), "{e}");
        assert_eq!(read_all(&fs, b"/LOOP.BIN").unwrap().len(), 5500);
    });
}

#[test]
fn root_cluster_loop_is_a_clear_error() {
    hostile("fat-rootloop.img", |img| {
        let fs = open(img);
        // blkid reads up to 99 clusters of a FAT32 root for the label, loop or not.
        assert_eq!(fs.info().uuid, "0BAD-0BAD");
        assert_eq!(fs.info().label, "HOSTILE");
        let e = err_text(fs.read_dir(b"/"));
        assert!(e.contains("loop"), "{e}");
        let e = err_text(fs.stat(b"/NOT-THERE"));
        assert!(e.contains("loop"), "{e}");
    });
}

#[test]
fn file_cluster_loop_is_a_clear_error() {
    hostile("fat-fileloop.img", |img| {
        let fs = open(img);
        let st = fs.stat(b"/LOOP.BIN").unwrap().unwrap();
        assert_eq!(
            st,
            Stat {
                kind: FileKind::File,
                size: 5500
            }
        );
        let e = err_text(fs.open(b"/LOOP.BIN").map(|_| ()));
        assert!(e.contains("/LOOP.BIN") && e.contains("loop"), "{e}");
        assert_eq!(read_all(&fs, b"/OK.BIN").unwrap().len(), 5500);
    });
}

#[test]
fn broken_chains_are_clear_errors() {
    hostile("fat-badchain.img", |img| {
        let fs = open(img);
        for (path, want) in [
            ("/FREE.BIN", "free"),
            ("/SHORT.BIN", "ends after 2 of the 11 clusters"),
            ("/BEYOND.BIN", "not on the volume"),
            ("/ONE.BIN", "starts at cluster 1"),
        ] {
            let e = read_all(&fs, path.as_bytes()).unwrap_err();
            assert!(e.contains(path) && e.contains(want), "{path}: {e}");
        }
        let e = err_text(fs.read_dir(b"/BADDIR"));
        assert!(e.contains("not on the volume"), "{e}");
        assert_eq!(read_all(&fs, b"/OK.BIN").unwrap().len(), 5500);
    });
}

#[test]
fn hostile_boot_sectors_are_refused() {
    for (name, want) in [
        ("fat-zerospc.img", "sectors per cluster 0"),
        ("fat-hugefat.img", "no room for data"),
    ] {
        hostile(name, |img| {
            let e = err_text(FatFs::open(Disk::open(img).unwrap().whole()).map(|_| ()));
            assert!(e.contains("boot sector") && e.contains(want), "{name}: {e}");
        });
    }
}

/// Opens, walks and reads everything reachable; returns the entries reached. Errors are
/// fine, panics and hangs are not.
fn walk_everything(img: &Path) -> usize {
    let Ok(fs) = FatFs::open(Disk::open(img).unwrap().whole()) else {
        return 0;
    };
    let mut reached = 0;
    let mut dirs = vec!["/".to_owned()];
    while let Some(d) = dirs.pop() {
        let Ok(list) = fs.read_dir(d.as_bytes()) else {
            continue;
        };
        for (n, kind) in list {
            let p = format!(
                "{}/{}",
                d.trim_end_matches('/'),
                String::from_utf8(n).unwrap()
            );
            reached += 1;
            match kind {
                FileKind::Dir => dirs.push(p),
                _ => {
                    let _ = read_all(&fs, p.as_bytes());
                }
            }
        }
    }
    reached
}

#[test]
fn blkid_corpus_vfat_images_walk_cleanly() {
    let Some(c) = common::corpus() else {
        return;
    };
    let dir = c.join("blkid/images-fs");
    let (mut images, mut reached) = (0, 0);
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        if !p.file_name().unwrap().to_string_lossy().starts_with("fat") {
            continue;
        }
        let img = common::unpacked(&p);
        let t = Instant::now();
        reached += walk_everything(&img);
        let took = t.elapsed();
        assert!(took < FAST, "{}: took {took:?}", p.display());
        images += 1;
    }
    assert!(images >= 15, "only {images} FAT images");
    // fat16_noheads holds PHOTO, VIDEO and DOWNLOAD; the FAT32 ones are empty.
    assert!(reached >= 3, "reached only {reached} entries");
}

#[test]
fn every_hostile_fixture_walks_without_panic() {
    let mut reached = 0;
    for name in [
        "fat-dirloop.img",
        "fat-rootloop.img",
        "fat-fileloop.img",
        "fat-badchain.img",
        "fat-zerospc.img",
        "fat-hugefat.img",
    ] {
        hostile(name, |img| reached += walk_everything(img));
    }
    assert!(reached > 20, "reached only {reached} entries");
}
