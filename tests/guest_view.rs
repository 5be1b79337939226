//! Issue 4: the boot entry resolves as the guest would see it — through its fstab, across
//! mounts and disks, following symlinks inside the guest only. Drives the real binary on
//! fixtures built by fixtures/build/guests.sh.

mod common;

use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

fn manifest() -> HashMap<String, String> {
    std::fs::read_to_string(common::repo().join("fixtures/guests.sha256"))
        .unwrap()
        .lines()
        .map(|l| {
            let (n, h) = l.split_once(' ').unwrap();
            (n.to_owned(), h.to_owned())
        })
        .collect()
}

fn sha256(p: &Path) -> String {
    let d = Sha256::digest(std::fs::read(p).unwrap());
    d.iter().map(|b| format!("{b:02x}")).collect()
}

#[derive(Debug)]
struct Boot {
    kernel: PathBuf,
    ramdisk: Option<PathBuf>,
    _dir: tempfile::TempDir,
}

/// Runs a boot with JSON output into a fresh output directory.
fn boot(extra: &[&str]) -> Result<Boot, String> {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("result.json");
    let mut args = vec![
        format!("--output-directory={}", dir.path().display()),
        format!("--output={}", out.display()),
        "--output-format=json".to_owned(),
        "-q".to_owned(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = common::run_str(&refs);
    if !o.status.success() {
        let line = common::assert_clean_failure(&o);
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert!(left.is_empty(), "files left behind after failure: {left:?}");
        return Err(line);
    }
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    Ok(Boot {
        kernel: PathBuf::from(v["kernel"].as_str().unwrap()),
        ramdisk: v["ramdisk"].as_str().map(PathBuf::from),
        _dir: dir,
    })
}

fn multi() -> String {
    common::fixture("guest-multi.img").display().to_string()
}

fn assert_boots(b: &Boot, kernel: &str, initrd: Option<&str>) {
    let m = manifest();
    assert_eq!(sha256(&b.kernel), m[kernel], "kernel bytes");
    match initrd {
        Some(i) => assert_eq!(sha256(b.ramdisk.as_ref().unwrap()), m[i], "initrd bytes"),
        None => assert!(b.ramdisk.is_none()),
    }
}

#[test]
fn separate_boot_found_through_fstab_by_every_name() {
    // p2: UUID=, p3: LABEL=, p5: /dev/xvda1, p6: /dev/sda1 (other naming scheme), p7: PARTUUID=
    for root in [
        "xvda2",
        "xvda3",
        "xvda5",
        "xvda6",
        "xvda7",
        "LABEL=root-uuid",
    ] {
        let b = boot(&[
            &format!("--root={root}"),
            "--entry=/boot/vmlinuz-1,/boot/initrd.img-1",
            &multi(),
        ])
        .unwrap_or_else(|e| panic!("root {root}: {e}"));
        assert_boots(&b, "boot/vmlinuz-1", Some("boot/initrd.img-1"));
    }
}

#[test]
fn root_symlinks_cross_into_separate_boot() {
    // /vmlinuz -> boot/vmlinuz-1 (relative), /initrd.img -> /boot/initrd.img-1 (absolute)
    let b = boot(&["--root=xvda2", "--entry=/vmlinuz,/initrd.img", &multi()]).unwrap();
    assert_boots(&b, "boot/vmlinuz-1", Some("boot/initrd.img-1"));
    // a symlink inside /boot itself
    let b = boot(&["--root=xvda3", "--entry=/boot/vmlinuz,", &multi()]).unwrap();
    assert_boots(&b, "boot/vmlinuz-1", None);
}

#[test]
fn boot_inside_root() {
    let b = boot(&[
        "--root=UUID=6e570000-0000-4000-8000-000000000008",
        "--entry=/boot/vmlinuz-8,/boot/initrd.img-8",
        &multi(),
    ])
    .unwrap();
    assert_boots(&b, "p8/boot/vmlinuz-8", Some("p8/boot/initrd.img-8"));
}

#[test]
fn boot_itself_a_symlink() {
    // p9: /boot -> system/boot (no mount); /boot2 -> bootfs, where fstab mounts p1
    let b = boot(&["--root=xvda9", "--entry=/boot/vmlinuz-9", &multi()]).unwrap();
    assert_boots(&b, "p9/system/boot/vmlinuz-9", None);
    let b = boot(&[
        "--root=xvda9",
        "--entry=/boot2/vmlinuz,/boot2/initrd.img-1",
        &multi(),
    ])
    .unwrap();
    assert_boots(&b, "boot/vmlinuz-1", Some("boot/initrd.img-1"));
}

#[test]
fn dev_entry_reads_one_filesystem_only() {
    let b = boot(&["--entry=xvda1:/vmlinuz,/initrd.img-1", &multi()]).unwrap();
    assert_boots(&b, "boot/vmlinuz-1", Some("boot/initrd.img-1"));
    // Inside xvda8 alone, an absolute link is relative to that filesystem (like pygrub).
    let e = boot(&["--entry=xvda8:/boot/escape-abs", &multi()]);
    assert!(e.is_ok(), "{e:?}");
}

#[test]
fn root_and_boot_on_different_disks() {
    let a = common::fixture("guest-disk-a.img").display().to_string();
    let b_img = common::fixture("guest-disk-b.img").display().to_string();
    let disks = format!("['file:{a},xvda,w', 'file:{b_img},xvdb,w']");
    let b = boot(&[
        &format!("--disks={disks}"),
        "--entry=/vmlinuz,/initrd.img",
        &a,
    ])
    .unwrap();
    assert_boots(&b, "b1/vmlinuz-1", Some("b1/initrd.img-1"));
    // xl-style disk specs in the same list form work the same.
    let disks = format!(
        "['format=raw,vdev=xvda,access=rw,target={a}', 'format=raw,vdev=xvdb,target={b_img}']"
    );
    let b = boot(&[
        &format!("--disks={disks}"),
        "--entry=/vmlinuz,/initrd.img",
        &a,
    ])
    .unwrap();
    assert_boots(&b, "b1/vmlinuz-1", Some("b1/initrd.img-1"));
}

#[test]
fn root_is_found_without_root_option_when_unique() {
    let a = common::fixture("guest-disk-a.img").display().to_string();
    let b_img = common::fixture("guest-disk-b.img").display().to_string();
    let disks = format!("['file:{a},xvda,w', 'file:{b_img},xvdb,w']");
    assert!(boot(&[&format!("--disks={disks}"), "--entry=/boot/vmlinuz-1", &a]).is_ok());
    // guest-multi has eight filesystems with /etc/fstab: ambiguity lists the candidates.
    let e = boot(&["--entry=/vmlinuz", &multi()]).unwrap_err();
    assert!(e.contains("xvda2") && e.contains("xvda9"), "{e}");
}

#[test]
fn guest_symlinks_never_reach_the_host() {
    // The host sentinel exists; the guest has no such file: the run must fail, not read it.
    let sentinel = Path::new("/tmp/domuloader-host-sentinel");
    std::fs::write(sentinel, b"HOST SECRET").unwrap();
    let e = boot(&["--root=xvda8", "--entry=/boot/host", &multi()]).unwrap_err();
    assert!(e.contains("no such file"), "{e}");
    // Escapes land on the guest's own /etc/shadow.
    for entry in ["--entry=/boot/escape-rel", "--entry=/boot/escape-abs"] {
        let b = boot(&["--root=xvda8", entry, &multi()]).unwrap();
        assert_eq!(std::fs::read(&b.kernel).unwrap(), b"guest p8 shadow\n");
    }
}

#[test]
fn loops_and_long_chains_fail_cleanly() {
    let e = boot(&["--root=xvda8", "--entry=/boot/loop-a", &multi()]).unwrap_err();
    assert!(e.contains("symbolic links"), "{e}");
    let e = boot(&["--root=xvda8", "--entry=/boot/l0", &multi()]).unwrap_err();
    assert!(e.contains("symbolic links"), "{e}");
    // 40 links are fine, like Linux.
    let b = boot(&["--root=xvda8", "--entry=/boot/l1", &multi()]).unwrap();
    assert_boots(&b, "p8/boot/vmlinuz-8", None);
}

#[test]
fn bad_entries_and_devices_are_one_line_errors() {
    for (args, want) in [
        (vec!["--entry=xvda42:/vmlinuz"], "42"),
        (vec!["--entry=xvda2:/nope"], "no such file"),
        (vec!["--entry=xvda2:/etc"], "directory"),
        (vec!["--root=LABEL=missing", "--entry=/vmlinuz"], "missing"),
        (
            vec!["--root=xvda2", "--entry=/boot/initrd.img-1/x"],
            "not a directory",
        ),
    ] {
        let mut a = args.clone();
        let m = multi();
        a.push(&m);
        let e = boot(&a).unwrap_err();
        assert!(e.to_lowercase().contains(want), "{args:?}: {e}");
    }
}
