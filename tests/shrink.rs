//! Issue 6: an image that shrinks during a run (another process truncates it) gives an
//! error naming the disk, never SIGBUS. We read with pread, so a short read is detected;
//! this drives the real selection and both copy paths (zero-copy and streamed), with the
//! image cut after the file was opened and before its bytes are copied.

mod common;

use domuloader::boot::{self, Request};
use domuloader::entry::parse_entry;
use domuloader::extract::{copy_capped, copy_segments, OutputDir};
use domuloader::guest::devname::DevName;
use domuloader::guest::diskset::DiskSet;
use std::path::{Path, PathBuf};

fn selection() -> (tempfile::TempDir, PathBuf, DiskSet, boot::Selection) {
    let tmp = tempfile::tempdir().unwrap();
    let img = tmp.path().join("guest.img");
    std::fs::copy(common::fixture("guest-multi.img"), &img).unwrap();
    let set = DiskSet::open(&[(img.as_path(), DevName::parse("xvda").unwrap())]).unwrap();
    let req = Request {
        entry: Some(parse_entry("xvda1:/vmlinuz-1").unwrap()),
        ..Request::default()
    };
    let sel = boot::select(&set, &req).unwrap();
    (tmp, img, set, sel)
}

/// An error with its causes, as the command line prints it (each error names its cause
/// only through `source()`).
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        text.push_str(&format!(": {c}"));
        cur = c.source();
    }
    text
}

/// Cuts the image in the middle of partition 1, as another process truncating it would.
fn cut(img: &Path) {
    std::fs::OpenOptions::new()
        .write(true)
        .open(img)
        .unwrap()
        .set_len(1024 * 1024 + 4096)
        .unwrap();
}

#[test]
fn zero_copy_path_reports_the_shrunk_disk() {
    let (tmp, img, _set, sel) = selection();
    let mut dir = OutputDir::prepare(Some(&tmp.path().join("out"))).unwrap();
    let mut out = dir.create("kernel").unwrap();
    let mut src = sel
        .kernel
        .mount
        .fs
        .segments(&sel.kernel.fs_path)
        .unwrap()
        .unwrap();
    cut(&img);
    let err = copy_segments(&mut out, src.as_mut(), sel.kernel.stat.size, 1 << 30).unwrap_err();
    let text = chain(&err);
    assert!(
        text.contains("shorter") || text.contains("shrank"),
        "{text}"
    );
}

#[test]
fn streamed_path_reports_the_shrunk_disk() {
    let (tmp, img, _set, sel) = selection();
    let mut dir = OutputDir::prepare(Some(&tmp.path().join("out"))).unwrap();
    let mut out = dir.create("kernel").unwrap();
    let mut reader = sel.kernel.open().unwrap();
    cut(&img);
    let err = copy_capped(&mut out, &mut reader, sel.kernel.stat.size, 1 << 30).unwrap_err();
    assert!(chain(&err).contains("shrank"), "{err}");
}

#[test]
fn reopening_after_the_cut_reports_it_too() {
    let (_tmp, img, _set, sel) = selection();
    cut(&img);
    let err = sel
        .kernel
        .open()
        .err()
        .expect("open after the cut must fail");
    assert!(err.to_string().contains("shrank"), "{err}");
}

#[test]
fn binary_on_a_truncated_image_fails_with_one_line() {
    let tmp = tempfile::tempdir().unwrap();
    let img = tmp.path().join("cut.img");
    let full = std::fs::read(common::fixture("guest-multi.img")).unwrap();
    // The partition table survives; partition 1's filesystem is cut short.
    std::fs::write(&img, &full[..1024 * 1024 + 64 * 1024]).unwrap();
    let out = tmp.path().join("out");
    let o = common::run_str(&[
        "--entry=xvda1:/vmlinuz-1",
        &format!("--output-directory={}", out.display()),
        img.to_str().unwrap(),
    ]);
    common::assert_clean_failure(&o);
    assert_eq!(std::fs::read_dir(&out).map(|d| d.count()).unwrap_or(0), 0);
}
