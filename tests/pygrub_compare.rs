//! Issue 8: where pygrub (Xen 4.17) can read a guest's configuration, we boot the same
//! kernel and initrd bytes with the same arguments for every menu entry, and list the same
//! titles. Opt-in: skipped with a note when pygrub is not installed (`apt-get install
//! xen-utils-4.17`; `$PYGRUB` names another binary). bench/compare-pygrub.sh prints the
//! same comparison as a table, for any image.
//!
//! Where we differ on purpose, the test asserts both sides, so a change on either shows:
//! - grub2 `set default=` by title, by `>`-path and `${saved_entry}` (from grubenv): pygrub
//!   takes entry 0 for anything but a number; we resolve them as grub does.
//! - extlinux `MENU DEFAULT`: pygrub ignores it (entry 0 when `DEFAULT` names menu.c32).
//! - `initrd A B` (grub2 loads both back to back): pygrub takes the whole line as one path,
//!   which its FAT reader cuts at the space, so it loads only A; we concatenate A and B.
//! - extlinux `LINUX` and `INITRD` lines: pygrub knows only `KERNEL` and `APPEND initrd=`,
//!   so it cannot boot a `LINUX` label and boots an `INITRD` label without its initrd.
//! - An entry without a kernel (`fwsetup`): pygrub's `-l` crashes on it and lists nothing
//!   after it; booting it fails in both.
//! - What pygrub cannot boot at all, we do: BLS (also on a logical partition), a FAT ESP
//!   holding only systemd-boot entries, no configuration (newest /boot/vmlinuz-*).

mod common;

use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::Command;

/// (kernel sha256, initrd sha256, args) of one boot.
type Choice = (String, Option<String>, String);

thread_local! {
    /// pygrub runs of the test on this thread (libtest runs each test on its own thread).
    static PYGRUB_RUNS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// The pygrub binary; when the test ends without failing it prints how many pygrub runs it
/// compared with ours (on the uncaptured stderr, so `.ci/run` shows the count).
struct Pygrub(PathBuf);

impl std::ops::Deref for Pygrub {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl Drop for Pygrub {
    fn drop(&mut self) {
        let runs = PYGRUB_RUNS.with(|r| r.get());
        if !std::thread::panicking() && runs > 0 {
            common::note(&format!(
                "pygrub comparison {}: {runs} pygrub runs compared with ours",
                common::test_name()
            ));
        }
    }
}

fn count_pygrub_run(tool: &Path) {
    if tool != ours() {
        PYGRUB_RUNS.with(|r| r.set(r.get() + 1));
    }
}

fn pygrub() -> Option<Pygrub> {
    let p = std::env::var_os("PYGRUB")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/lib/xen-4.17/bin/pygrub"));
    if p.exists() {
        Some(Pygrub(p))
    } else {
        common::skip(&format!(
            "pygrub not found at {} (apt-get install xen-utils-4.17, or set PYGRUB)",
            p.display()
        ));
        None
    }
}

fn ours() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_domuloader"))
}

fn sha_file(p: &str) -> String {
    Sha256::digest(std::fs::read(p).unwrap())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// One libxl-style boot (`--output-format=simple0`); `None` when the tool fails.
fn boot(tool: &Path, img: &Path, extra: &[&str]) -> Option<Choice> {
    count_pygrub_run(tool);
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    std::fs::write(&out, b"").unwrap();
    let o = Command::new(tool)
        .args(["-q", "--output-format=simple0"])
        .arg(format!("--output-directory={}", tmp.path().display()))
        .arg(format!("--output={}", out.display()))
        .args(extra)
        .arg(img)
        .output()
        .unwrap();
    if !o.status.success() {
        return None;
    }
    let text = String::from_utf8(std::fs::read(&out).unwrap()).unwrap();
    let item = |k: &str| {
        text.split('\0')
            .find_map(|l| l.strip_prefix(&format!("{k} ")).map(str::to_owned))
    };
    Some((
        sha_file(&item("kernel").unwrap()),
        item("ramdisk").map(|r| sha_file(&r)),
        item("args").unwrap_or_default(),
    ))
}

/// `-l` text and its titles.
fn listing(tool: &Path, img: &Path) -> (String, Vec<String>) {
    count_pygrub_run(tool);
    let o = Command::new(tool).arg("-l").arg(img).output().unwrap();
    let text = String::from_utf8(o.stdout).unwrap();
    let titles = text
        .lines()
        .filter_map(|l| l.strip_prefix("title: ").map(str::to_owned))
        .collect();
    (text, titles)
}

/// Our menu entries: (title, bootable) in order.
fn our_entries(img: &Path) -> Vec<(String, bool)> {
    let o = Command::new(ours())
        .args(["-l", "--output-format=json"])
        .arg(img)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    v["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let kernel = e["kernel"].as_str().unwrap();
            (e["title"].as_str().unwrap().to_owned(), !kernel.is_empty())
        })
        .collect()
}

/// Every entry by index, the default, and the default with --args: same bytes and args,
/// except the default on images whose default differs on purpose (`same_default` false).
/// Returns (pygrub's, our) default.
fn compare_image(py: &Path, name: &str, same_default: bool) -> (Choice, Choice) {
    let img = common::fixture(name);
    let entries = our_entries(&img);
    for (i, (title, bootable)) in entries.iter().enumerate() {
        let arg = format!("--entry={i}");
        let p = boot(py, &img, &[&arg]);
        let o = boot(&ours(), &img, &[&arg]);
        if !bootable {
            assert_eq!((p, o), (None, None), "{name} {title}: both refuse it");
            continue;
        }
        let p = p.unwrap_or_else(|| panic!("pygrub fails on {name} {arg}"));
        let o = o.unwrap_or_else(|| panic!("we fail on {name} {arg}"));
        assert_eq!(o, p, "{name} {arg} ({title})");
    }
    let p = boot(py, &img, &[]).unwrap();
    let o = boot(&ours(), &img, &[]).unwrap();
    if same_default {
        assert_eq!(o, p, "{name}: default");
    } else {
        assert_ne!(o, p, "{name}: the default differs on purpose");
    }
    let extra = ["--args=console=ttyS0 extra=1"];
    let pa = boot(py, &img, &extra).unwrap();
    let oa = boot(&ours(), &img, &extra).unwrap();
    assert_eq!(pa.2, format!("{} console=ttyS0 extra=1", p.2), "{name}");
    assert_eq!(oa.2, format!("{} console=ttyS0 extra=1", o.2), "{name}");
    (p, o)
}

/// Our boot of `--entry=N`.
fn ours_at(name: &str, n: usize) -> Choice {
    boot(&ours(), &common::fixture(name), &[&format!("--entry={n}")]).unwrap()
}

#[test]
fn grub2_where_pygrub_agrees_on_the_default() {
    let Some(py) = pygrub() else { return };
    // `set default="3"` (separate /boot) and `set default="0"` (grub.cfg on p2 of a GPT
    // disk whose ESP holds systemd-boot entries: the grub.cfg wins for both).
    compare_image(&py, "menu-grub2-index.img", true);
    compare_image(&py, "menu-esp-bls.img", true);
}

#[test]
fn grub2_defaults_pygrub_ignores() {
    let Some(py) = pygrub() else { return };
    // (image, our default): title 6, `Sub>Entry` 3, grubenv saved_entry 4, `1>2` 3.
    for (name, ours_default) in [
        ("menu-grub2-title.img", 6),
        ("menu-grub2-path.img", 3),
        ("menu-grub2-saved.img", 4),
        ("menu-grub2-inroot.img", 3),
    ] {
        let (p, o) = compare_image(&py, name, false);
        assert_eq!(p, ours_at(name, 0), "{name}: pygrub boots entry 0");
        assert_eq!(o, ours_at(name, ours_default), "{name}");
    }
}

#[test]
fn grub_legacy_and_extlinux() {
    let Some(py) = pygrub() else { return };
    compare_image(&py, "menu-legacy.img", true);
    // MENU DEFAULT on label 1 (virt): pygrub boots label 0.
    let (p, o) = compare_image(&py, "menu-extlinux.img", false);
    assert_eq!(p, ours_at("menu-extlinux.img", 0));
    assert_eq!(o, ours_at("menu-extlinux.img", 1));
}

#[test]
fn extlinux_keywords_pygrub_does_not_know() {
    let Some(py) = pygrub() else { return };
    let img = common::fixture("menu-extlinux-subdir.img");
    let p = boot(&py, &img, &[]).unwrap();
    let o = boot(&ours(), &img, &[]).unwrap();
    assert_eq!((&p.0, &p.2), (&o.0, &o.2), "label b: same kernel and args");
    assert_eq!(p.1, None, "pygrub drops the INITRD line");
    assert!(o.1.is_some());
    assert_eq!(
        boot(&py, &img, &["--entry=0"]),
        None,
        "pygrub: LINUX unknown"
    );
    assert!(boot(&ours(), &img, &["--entry=0"]).is_some());
    // pygrub's listing stops at label a (no kernel it can print).
    assert_eq!(listing(&py, &img).1, ["a"]);
    assert_eq!(listing(&ours(), &img).1, ["a", "b"]);
}

#[test]
fn grub_on_a_fat_esp_with_two_initrds() {
    let Some(py) = pygrub() else { return };
    let name = "menu-esp.img";
    let img = common::fixture(name);
    let manifest = std::fs::read_to_string(common::repo().join("fixtures/menus.sha256")).unwrap();
    let sha = |tag: &str| {
        manifest
            .lines()
            .find_map(|l| l.strip_prefix(&format!("menu-esp/{tag} ")))
            .unwrap()
            .to_owned()
    };
    for (n, second) in [
        (0, "initramfs-linux.img"),
        (2, "initramfs-linux-fallback.img"),
    ] {
        let arg = format!("--entry={n}");
        let p = boot(&py, &img, &[&arg]).unwrap();
        let o = boot(&ours(), &img, &[&arg]).unwrap();
        assert_eq!((&o.0, &o.2), (&p.0, &p.2), "{name} {arg}: kernel and args");
        assert_eq!(
            p.1,
            Some(sha("intel-ucode.img")),
            "pygrub: the first file only"
        );
        assert_eq!(o.1, Some(sha(&format!("intel-ucode.img+{second}"))));
    }
    assert_eq!(
        boot(&py, &img, &[]).unwrap().0,
        boot(&ours(), &img, &[]).unwrap().0
    );
}

#[test]
fn what_pygrub_cannot_boot() {
    let Some(py) = pygrub() else { return };
    for (name, extra) in [
        ("menu-bls-logical.img", &[][..]),
        ("menu-esp-bls.img", &["--offset=1048576"][..]),
        ("menu-newest-initrdimg.img", &[][..]),
        ("menu-newest-initramfs.img", &[][..]),
        ("menu-newest-initrd.img", &[][..]),
    ] {
        let img = common::fixture(name);
        assert_eq!(
            boot(&py, &img, extra),
            None,
            "pygrub now boots {name} {extra:?}"
        );
        assert!(boot(&ours(), &img, extra).is_some(), "{name} {extra:?}");
    }
}

#[test]
fn listings() {
    let Some(py) = pygrub() else { return };
    // Byte-identical `-l` where pygrub lists every entry.
    for name in ["menu-legacy.img", "menu-extlinux.img", "menu-esp.img"] {
        let img = common::fixture(name);
        assert_eq!(listing(&py, &img), listing(&ours(), &img), "{name}");
    }
    // Debian's menu has `UEFI Firmware Settings` (no kernel) at 5: pygrub prints its title
    // and root, then crashes; the rest of its text is a prefix of ours.
    for name in [
        "menu-grub2-index.img",
        "menu-grub2-saved.img",
        "menu-grub2-inroot.img",
        "menu-esp-bls.img",
    ] {
        let img = common::fixture(name);
        let (pt, p) = listing(&py, &img);
        let (ot, o) = listing(&ours(), &img);
        assert_eq!(p.len(), 6, "{name}: {p:?}");
        assert_eq!(p[..], o[..6], "{name}");
        assert_eq!(o.len(), 8, "{name}");
        assert!(ot.starts_with(&pt), "{name}:\npygrub:\n{pt}\nours:\n{ot}");
    }
    // pygrub lists nothing for BLS (nor on logical partitions).
    let img = common::fixture("menu-bls-logical.img");
    assert!(listing(&py, &img).1.is_empty());
    assert_eq!(listing(&ours(), &img).1.len(), 5);
}

/// The realistic Debian guests of `$DOMULOADER_GUEST_IMAGES` (default `../guest-images`;
/// `.ci/run` builds them with `../shared/corpus/make-guest-images.sh`): same default
/// kernel, initrd and args, same titles.
#[test]
fn realistic_guest_images() {
    let Some(py) = pygrub() else { return };
    let dir = std::env::var_os("DOMULOADER_GUEST_IMAGES")
        .map(PathBuf::from)
        .unwrap_or_else(|| common::repo().join("../guest-images"));
    let Ok(list) = std::fs::read_dir(&dir) else {
        common::skip(&format!(
            "no guest images at {} (set DOMULOADER_GUEST_IMAGES; make them with ../shared/corpus/make-guest-images.sh DIR)",
            dir.display()
        ));
        return;
    };
    let mut seen = 0;
    for img in list.flatten().map(|e| e.path()) {
        if img.extension().is_none_or(|x| x != "img") {
            continue;
        }
        let p = boot(&py, &img, &[]).unwrap_or_else(|| panic!("pygrub: {}", img.display()));
        let o = boot(&ours(), &img, &[]).unwrap_or_else(|| panic!("ours: {}", img.display()));
        assert_eq!(o, p, "{}", img.display());
        assert_eq!(
            listing(&py, &img).1,
            listing(&ours(), &img).1,
            "{}",
            img.display()
        );
        seen += 1;
    }
    if seen == 0 {
        common::skip(&format!("no *.img in {}", dir.display()));
    }
    common::note(&format!(
        "pygrub comparison: {seen} realistic guest images compared"
    ));
}
