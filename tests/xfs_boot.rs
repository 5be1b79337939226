//! Booting from an XFS /boot through the real binary: RHEL 9's layout (GPT, bios-boot,
//! XFS /boot with grub2 + BLS entries + grubenv `kernelopts` and `saved_entry`), by menu and
//! by `DEV:` path entry. Every copied file is checked against the sha256 the fixture build
//! recorded from the source tree.

mod common;

use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::HashMap;

const IMG: &str = "xfs-rhel-boot.img";
const OLD: &str = "5.14.0-70.13.1.el9_0.x86_64";
const NEW: &str = "5.14.0-162.6.1.el9_1.x86_64";
const KOPTS: &str = "root=/dev/mapper/rhel-root ro crashkernel=1G-4G:192M,4G-64G:256M,64G-:512M \
                     resume=/dev/mapper/rhel-swap rd.lvm.lv=rhel/root rd.lvm.lv=rhel/swap console=hvc0";

/// sha256 -> file name, from fixtures/expected/xfs-rhel-boot.sha256.
fn names() -> HashMap<String, String> {
    std::fs::read_to_string(common::repo().join("fixtures/expected/xfs-rhel-boot.sha256"))
        .unwrap()
        .lines()
        .map(|l| {
            let (sha, name) = l.split_once("  ").unwrap();
            (sha.to_owned(), name.to_owned())
        })
        .collect()
}

fn name_of(path: &str) -> String {
    let sha: String = Sha256::digest(std::fs::read(path).unwrap())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    names()
        .remove(&sha)
        .unwrap_or_else(|| panic!("{path}: not a file of the fixture"))
}

/// Boots with `extra`; returns (kernel file, ramdisk file, args) by the copies' contents.
fn boot(extra: &[&str]) -> (String, Option<String>, String) {
    let tmp = tempfile::tempdir().unwrap();
    let img = common::fixture(IMG);
    let dir = format!("--output-directory={}", tmp.path().display());
    let mut args = vec!["-q", "--output-format=json", &dir];
    args.extend_from_slice(extra);
    args.push(img.to_str().unwrap());
    let o = common::run_str(&args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    (
        name_of(v["kernel"].as_str().unwrap()),
        v["ramdisk"].as_str().map(name_of),
        v["args"].as_str().unwrap().to_owned(),
    )
}

fn files(v: &str) -> (String, Option<String>) {
    (format!("vmlinuz-{v}"), Some(format!("initramfs-{v}.img")))
}

#[test]
fn bls_menu_from_xfs_boot_with_grubenv_kernelopts() {
    let img = common::fixture(IMG);
    let o = common::run_str(&["-l", "--output-format=json", img.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let m: Value = serde_json::from_slice(&o.stdout).unwrap();
    let titles: Vec<&str> = m["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["title"].as_str().unwrap())
        .collect();
    assert_eq!(
        titles,
        [
            format!("Red Hat Enterprise Linux ({NEW}) 9.1 (Plow)"),
            format!("Red Hat Enterprise Linux ({OLD}) 9.0 (Plow)"),
            "Red Hat Enterprise Linux (0-rescue-4d8e7a2b1c3f4e5d9a8b7c6d5e4f3a2b) 9.1 (Plow)"
                .to_owned(),
        ]
    );
    // grubenv's saved_entry names the older kernel's BLS id.
    assert_eq!(m["default"], 1);
    assert_eq!(
        m["entries"][0]["args"], KOPTS,
        "$kernelopts $tuned_params expanded"
    );

    let (k, i, args) = boot(&[]);
    assert_eq!((k, i), files(OLD));
    assert_eq!(args, KOPTS);
    let (k, i, args) = boot(&["--entry=0", "--args=quiet"]);
    assert_eq!((k, i), files(NEW));
    assert_eq!(args, format!("{KOPTS} quiet"));
}

#[test]
fn path_entries_on_the_xfs_partition() {
    let entry = format!("--entry=xvda2:/vmlinuz-{NEW},/initramfs-{NEW}.img");
    let (k, i, args) = boot(&[&entry, "--args=root=/dev/mapper/rhel-root ro"]);
    assert_eq!((k, i), files(NEW));
    assert_eq!(args, "root=/dev/mapper/rhel-root ro");
    let entry = format!("--entry=xvda2:/vmlinuz-{OLD},");
    let (k, i, _) = boot(&[&entry]);
    assert_eq!((k, i), (format!("vmlinuz-{OLD}"), None));
    // A missing file is one clean line naming it.
    let tmp = tempfile::tempdir().unwrap();
    let img = common::fixture(IMG);
    let o = common::run_str(&[
        &format!("--output-directory={}", tmp.path().display()),
        "--entry=xvda2:/vmlinuz-missing",
        img.to_str().unwrap(),
    ]);
    let line = common::assert_clean_failure(&o);
    assert!(line.contains("vmlinuz-missing"), "{line}");
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0);
}

#[test]
fn inspect_names_the_xfs_boot_partition() {
    let img = common::fixture(IMG);
    let o = common::run_str(&["--inspect", "--output-format=json", img.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8_lossy(&o.stdout);
    let want =
        std::fs::read_to_string(common::repo().join("fixtures/expected/xfs-rhel-boot.blkid"))
            .unwrap();
    assert!(
        want.contains("UUID=8e1f6a2c-3b4d-4e5f-9a0b-1c2d3e4f5a6b"),
        "{want}"
    );
    assert!(
        text.contains("\"type\":\"xfs\"") && text.contains("8e1f6a2c-3b4d-4e5f-9a0b-1c2d3e4f5a6b"),
        "{text}"
    );
}

/// A dirty log is not replayed: the boot goes on from the on-disk state, with one warning.
#[test]
fn dirty_log_boots_with_one_warning() {
    let tmp = tempfile::tempdir().unwrap();
    let img = common::fixture("xfs-dirty.img");
    let o = common::run_str(&[
        &format!("--output-directory={}", tmp.path().display()),
        "--entry=/boot/vmlinuz-5.14.0-70.13.1.el9_0.x86_64",
        img.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let err = String::from_utf8_lossy(&o.stderr);
    let warnings: Vec<&str> = err.lines().filter(|l| l.contains("warning")).collect();
    assert_eq!(warnings.len(), 1, "{err}");
    assert!(warnings[0].contains("xfs log is dirty"), "{err}");
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 1);
}
