//! Robustness sweep over e2fsprogs' regression images (../shared/corpus/e2fsprogs), most of
//! them deliberately corrupted: each is opened and walked — every directory listed, every
//! entry stat'ed, every file read up to a cap, every symlink read — with no panic, no hang
//! (each image under 2 s even in a debug build), each failure a one-line error, and the
//! image unchanged.

mod common;

use domuloader::disk::Disk;
use domuloader::fs::ext::ExtFs;
use domuloader::fs::{FileKind, Filesystem, FsError};
use std::io::Read;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::time::{Duration, Instant};

/// Bytes read from each file: enough to cross block maps, small enough to stay fast.
const READ_CAP: u64 = 256 * 1024;
/// Entries visited per image, and directory depth (the corpus has directory loops).
const MAX_ENTRIES: usize = 5_000;
const MAX_DEPTH: usize = 24;
const TIME_LIMIT: Duration = Duration::from_secs(2);

#[derive(Default)]
struct Tally {
    entries: usize,
    bytes: u64,
    kind_mismatches: usize,
    errors: Vec<String>,
}

impl Tally {
    fn error(&mut self, path: &[u8], e: &FsError) {
        let msg = e.to_string();
        assert!(
            !msg.is_empty() && !msg.contains('\n'),
            "{}: bad error message {msg:?}",
            String::from_utf8_lossy(path)
        );
        self.errors
            .push(format!("{}: {msg}", String::from_utf8_lossy(path)));
    }
}

fn walk(fs: &ExtFs, path: &[u8], depth: usize, t: &mut Tally) {
    let entries = match fs.read_dir(path) {
        Ok(v) => v,
        Err(e) => return t.error(path, &e),
    };
    for (name, kind) in entries {
        if t.entries >= MAX_ENTRIES {
            return;
        }
        t.entries += 1;
        if name.contains(&b'/') {
            continue; // a corrupt name no path can reach (f_baddir has "foo/bar")
        }
        let mut child = path.to_vec();
        if child.last() != Some(&b'/') {
            child.push(b'/');
        }
        child.extend_from_slice(&name);
        // The entry's type byte and the inode's mode may disagree on a corrupt image: act
        // on the inode, as the kernel does.
        let kind = match fs.stat(&child) {
            Ok(Some(st)) => {
                t.kind_mismatches += usize::from(st.kind != kind);
                st.kind
            }
            Ok(None) => panic!("{}: listed but not found", String::from_utf8_lossy(&child)),
            Err(e) => {
                t.error(&child, &e);
                continue;
            }
        };
        match kind {
            FileKind::Dir if depth < MAX_DEPTH => walk(fs, &child, depth + 1, t),
            FileKind::File => match fs.open(&child) {
                Ok(f) => {
                    let mut sink = Vec::new();
                    match f.take(READ_CAP).read_to_end(&mut sink) {
                        Ok(n) => t.bytes += n as u64,
                        Err(e) => t.error(
                            &child,
                            &FsError::Io {
                                fs: "ext",
                                detail: e.to_string(),
                            },
                        ),
                    }
                }
                Err(e) => t.error(&child, &e),
            },
            FileKind::Symlink => {
                if let Err(e) = fs.read_link(&child) {
                    t.error(&child, &e);
                }
            }
            _ => {}
        }
    }
}

/// The image's bytes, to compare before and after (a plain comparison: hashing hundreds
/// of MiB in a debug build would dominate the test's time).
fn contents(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap()
}

#[test]
fn e2fsprogs_corpus_is_walked_safely() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let mut images: Vec<_> = std::fs::read_dir(corpus.join("e2fsprogs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let n = p.to_string_lossy();
            (n.ends_with(".gz") || n.ends_with(".bz2")) && !n.ends_with(".tar.bz2")
        })
        .collect();
    images.sort();
    assert!(
        images.len() > 100,
        "corpus incomplete: {} images",
        images.len()
    );
    let (mut opened, mut refused, mut slowest) = (0, 0, (Duration::ZERO, String::new()));
    for src in &images {
        let name = src.file_name().unwrap().to_string_lossy().into_owned();
        let img = common::unpacked(src);
        let before = contents(&img);
        let started = Instant::now();
        let result = catch_unwind(AssertUnwindSafe(|| {
            let disk = Disk::open(&img).unwrap();
            let mut t = Tally::default();
            match ExtFs::open(disk.whole()) {
                Ok(fs) => {
                    walk(&fs, b"/", 0, &mut t);
                    Ok((t, fs.warnings().to_vec()))
                }
                Err(e) => {
                    t.error(b"(open)", &e);
                    Err(t.errors.remove(0))
                }
            }
        }));
        let took = started.elapsed();
        let outcome = result.unwrap_or_else(|_| panic!("{name}: panicked"));
        assert!(took < TIME_LIMIT, "{name}: took {took:?}");
        if took > slowest.0 {
            slowest = (took, name.clone());
        }
        match outcome {
            Ok((t, warnings)) => {
                opened += 1;
                eprintln!(
                    "{name}: {took:?} {} entries, {} bytes, {} errors {:?} {warnings:?}",
                    t.entries,
                    t.bytes,
                    t.errors.len(),
                    t.errors.first()
                );
            }
            Err(e) => {
                refused += 1;
                eprintln!("{name}: refused: {e}");
            }
        }
        assert!(before == contents(&img), "{name}: image changed");
    }
    eprintln!("{opened} opened, {refused} refused, slowest {slowest:?}");
    // Most of the corpus is ext with damage in a few inodes: it must mostly open.
    assert!(
        opened > images.len() * 3 / 4,
        "only {opened} of {} opened",
        images.len()
    );
}
