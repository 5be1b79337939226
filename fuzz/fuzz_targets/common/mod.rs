//! Shared by the fuzz targets: the input as a disk image, and a bounded filesystem walk.
#![allow(dead_code)]

use domuloader::disk::{Disk, ImageFormat};
use domuloader::fs::{FileKind, Filesystem};
use std::io::Read;
use std::path::PathBuf;

/// Writes `data` to a per-process file in /dev/shm (memory) and opens it as a raw disk:
/// `Disk` reads files only, as domuloader does.
pub fn disk(data: &[u8]) -> Disk {
    let path = image_file(data);
    Disk::open_as(&path, Some(ImageFormat::Raw)).expect("open fuzz image")
}

/// The per-process file holding `data`.
pub fn image_file(data: &[u8]) -> PathBuf {
    let path = PathBuf::from(format!("/dev/shm/domuloader-fuzz-{}", std::process::id()));
    std::fs::write(&path, data).expect("write fuzz image");
    path
}

/// Visits up to `budget` entries below `/`, stats, reads links and up to 64 KiB of files.
pub fn walk(fs: &dyn Filesystem, budget: &mut u32) {
    walk_dir(fs, b"/".to_vec(), 0, budget);
}

fn walk_dir(fs: &dyn Filesystem, dir: Vec<u8>, depth: u32, budget: &mut u32) {
    let Ok(entries) = fs.read_dir(&dir) else { return };
    for (name, kind) in entries {
        if *budget == 0 || depth > 6 {
            return;
        }
        *budget -= 1;
        let mut path = dir.clone();
        if path.last() != Some(&b'/') {
            path.push(b'/');
        }
        path.extend_from_slice(&name);
        let _ = fs.stat(&path);
        match kind {
            FileKind::Dir => walk_dir(fs, path, depth + 1, budget),
            FileKind::Symlink => {
                let _ = fs.read_link(&path);
            }
            FileKind::File => {
                if let Ok(mut r) = fs.open(&path) {
                    let mut buf = vec![0u8; 4096];
                    let mut left = 64 * 1024;
                    while left > 0 {
                        match r.read(&mut buf) {
                            Ok(0) | Err(_) => break,
                            Ok(n) => left -= n.min(left),
                        }
                    }
                }
                if let Ok(Some(mut segs)) = fs.segments(&path) {
                    for _ in 0..1024 {
                        match segs.next_segment(1 << 20) {
                            Ok(Some(_)) => {}
                            _ => break,
                        }
                    }
                }
            }
            FileKind::Other => {}
        }
    }
}
