//! Issue 8: where pygrub (Xen 4.17) can read a guest's configuration, we boot the same
//! kernel and initrd with the same arguments, and list the same entries. Opt-in: skipped
//! with a note when pygrub is not installed (`apt-get install xen-utils-4.17`).
//! Known, intended differences are asserted too: pygrub ignores a grub2 `set default` next
//! to a `next_entry` block, cannot read extlinux relative paths, BLS, logical partitions
//! or an ESP, and crashes listing an entry without initrd.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

const PYGRUB: &str = "/usr/lib/xen-4.17/bin/pygrub";

/// (kernel bytes, initrd bytes, args) from a `simple` result.
type Choice = (Vec<u8>, Option<Vec<u8>>, String);

fn parse_simple(out: &Path) -> Choice {
    let text = std::fs::read_to_string(out).unwrap();
    let item = |k: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{k} ")).map(str::to_owned))
    };
    (
        std::fs::read(item("kernel").unwrap()).unwrap(),
        item("ramdisk").map(|r| std::fs::read(r).unwrap()),
        item("args").unwrap_or_default(),
    )
}

fn run_tool(tool: &str, img: &Path, extra: &[&str]) -> Option<Choice> {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    std::fs::write(&out, b"").unwrap();
    let status = Command::new(tool)
        .args(["-q", "--output-format=simple"])
        .arg(format!("--output-directory={}", tmp.path().display()))
        .arg(format!("--output={}", out.display()))
        .args(extra)
        .arg(img)
        .output()
        .unwrap()
        .status;
    status.success().then(|| parse_simple(&out))
}

fn pygrub() -> Option<&'static str> {
    if Path::new(PYGRUB).exists() {
        Some(PYGRUB)
    } else {
        eprintln!("pygrub not installed: comparison skipped");
        None
    }
}

fn image(name: &str) -> PathBuf {
    common::fixture(name)
}

#[test]
fn same_choices_where_pygrub_can_read_the_config() {
    let Some(py) = pygrub() else { return };
    let ours = env!("CARGO_BIN_EXE_domuloader");
    let cases: [(&str, &[&str]); 6] = [
        ("menu-legacy.img", &[]),
        ("menu-legacy.img", &["--entry=0"]),
        ("menu-grub2.img", &["--entry=0"]),
        ("menu-grub2.img", &["--entry=1"]),
        ("menu-grub2.img", &["--entry=2", "--args=console=hvc0"]),
        ("menu-grub2.img", &["--entry=3"]),
    ];
    for (img, extra) in cases {
        let p = run_tool(py, &image(img), extra)
            .unwrap_or_else(|| panic!("pygrub failed on {img} {extra:?}"));
        let o = run_tool(ours, &image(img), extra).unwrap();
        assert_eq!(o, p, "{img} {extra:?}");
    }
}

#[test]
fn intended_differences_from_pygrub() {
    let Some(py) = pygrub() else { return };
    let ours = env!("CARGO_BIN_EXE_domuloader");
    // grub2 default "Submenu>Entry" beside a next_entry block: grub (and we) boot 6.1.0-9.
    let p = run_tool(py, &image("menu-grub2.img"), &[]).unwrap();
    let o = run_tool(ours, &image("menu-grub2.img"), &[]).unwrap();
    assert_ne!(o.0, p.0);
    assert_eq!(o.2, "root=/dev/xvda2 ro single");
    // What pygrub cannot boot at all, we do.
    for img in [
        "menu-extlinux.img",
        "menu-bls.img",
        "menu-esp.img",
        "menu-none.img",
    ] {
        assert!(
            run_tool(py, &image(img), &[]).is_none(),
            "pygrub now reads {img}"
        );
        assert!(run_tool(ours, &image(img), &[]).is_some(), "{img}");
    }
}

#[test]
fn listing_matches_pygrub_until_pygrub_crashes() {
    let Some(py) = pygrub() else { return };
    for img in ["menu-grub2.img", "menu-legacy.img"] {
        let p = Command::new(py)
            .arg("-l")
            .arg(image(img))
            .output()
            .unwrap()
            .stdout;
        let o = common::run_str(&["-l", image(img).to_str().unwrap()]).stdout;
        let (p, o) = (String::from_utf8(p).unwrap(), String::from_utf8(o).unwrap());
        // pygrub stops at the first entry without an initrd (it indexes None).
        assert!(o.starts_with(&p), "{img}:\npygrub:\n{p}\nours:\n{o}");
        assert!(
            o.len() > p.len(),
            "{img}: we list the entries pygrub cannot"
        );
    }
}
