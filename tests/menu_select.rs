//! Issue 8: with no entry configured in dom0, boot what the guest's own configuration says
//! — grub2 (submenu paths in `set default`), grub-legacy, extlinux (relative paths, `initrd=`
//! in APPEND), BLS on a logical partition, a FAT ESP — else the newest /boot/vmlinuz-*.
//! Fixtures from fixtures/build/menus.sh; payload hashes in fixtures/menus.sha256.

mod common;

use sha2::{Digest, Sha256};
use std::path::Path;

/// The tag (`g2-k9`, …) of a payload with this hash.
fn tag_of(file: &Path) -> String {
    let hash: String = Sha256::digest(std::fs::read(file).unwrap())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    std::fs::read_to_string(common::repo().join("fixtures/menus.sha256"))
        .unwrap()
        .lines()
        .find_map(|l| l.strip_suffix(&format!(" {hash}")).map(str::to_owned))
        .unwrap_or_else(|| panic!("{} is not a known payload", file.display()))
}

#[derive(Debug)]
struct Booted {
    kernel: String,
    ramdisk: Option<String>,
    args: String,
}

fn boot(image: &str, extra: &[&str]) -> Result<Booted, String> {
    let tmp = tempfile::tempdir().unwrap();
    let img = common::fixture(image);
    let mut args = vec![
        "-q".to_owned(),
        "--output-format=json".to_owned(),
        format!("--output-directory={}", tmp.path().display()),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    args.push(img.display().to_string());
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = common::run_str(&refs);
    if !o.status.success() {
        return Err(common::assert_clean_failure(&o));
    }
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    Ok(Booted {
        kernel: tag_of(Path::new(v["kernel"].as_str().unwrap())),
        ramdisk: v["ramdisk"].as_str().map(|r| tag_of(Path::new(r))),
        args: v["args"].as_str().unwrap().to_owned(),
    })
}

fn titles(image: &str) -> Vec<String> {
    let img = common::fixture(image);
    let o = common::run_str(&["-l", "--output-format=json", img.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    v["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["title"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn grub2_default_by_submenu_path_and_choices_by_index_and_title() {
    assert_eq!(
        titles("menu-grub2.img"),
        [
            "Debian GNU/Linux",
            "Debian, with Linux 6.1.0-13",
            "Debian, with Linux 6.1.0-9",
            "Old kernel, no initrd"
        ]
    );
    // `set default="Advanced options for Debian>Debian, with Linux 6.1.0-9"`, as grub does.
    let b = boot("menu-grub2.img", &[]).unwrap();
    assert_eq!(
        (b.kernel.as_str(), b.ramdisk.as_deref()),
        ("g2-k9", Some("g2-i9"))
    );
    assert_eq!(b.args, "root=/dev/xvda2 ro single");
    let b = boot("menu-grub2.img", &["--entry=0", "--args=console=hvc0"]).unwrap();
    assert_eq!(b.kernel, "g2-k13");
    assert_eq!(
        b.args, "root=/dev/xvda2 ro quiet console=hvc0",
        "--args comes after the entry's"
    );
    let b = boot("menu-grub2.img", &["--entry=Old kernel, no initrd"]).unwrap();
    assert_eq!((b.kernel.as_str(), b.ramdisk), ("g2-kold", None));
    let e = boot("menu-grub2.img", &["--entry=7"]).unwrap_err();
    assert!(e.contains("no menu entry"), "{e}");
}

#[test]
fn grub_legacy_default_index() {
    assert_eq!(
        titles("menu-legacy.img"),
        ["CentOS (2.6.32-a)", "CentOS (2.6.32-b)"]
    );
    let b = boot("menu-legacy.img", &[]).unwrap();
    assert_eq!(
        (b.kernel.as_str(), b.ramdisk.as_deref()),
        ("leg-kb", Some("leg-ib"))
    );
    assert_eq!(b.args, "ro root=/dev/xvda console=hvc0");
}

#[test]
fn extlinux_relative_paths_and_initrd_in_append() {
    assert_eq!(titles("menu-extlinux.img"), ["a", "b"]);
    let b = boot("menu-extlinux.img", &[]).unwrap();
    assert_eq!(
        (b.kernel.as_str(), b.ramdisk.as_deref()),
        ("ext-kb", Some("ext-ib"))
    );
    assert_eq!(b.args, "root=/dev/xvda1 quiet");
    let b = boot("menu-extlinux.img", &["--entry=a"]).unwrap();
    assert_eq!((b.kernel.as_str(), b.ramdisk), ("ext-ka", None));
}

#[test]
fn bls_on_a_logical_partition_newest_first() {
    assert_eq!(
        titles("menu-bls.img"),
        [
            "Fedora Linux (6.10.1-100.fc39.x86_64) 39",
            "Fedora Linux (6.5.6-300.fc39.x86_64) 39",
            "Fedora Linux (6.2.0-63.fc39.x86_64) 39"
        ]
    );
    let b = boot("menu-bls.img", &[]).unwrap();
    assert_eq!(b.kernel, "bls-k-6.10.1-100.fc39.x86_64");
    assert_eq!(b.ramdisk.as_deref(), Some("bls-i-6.10.1-100.fc39.x86_64"));
    assert_eq!(b.args, "root=LABEL=blsroot ro rhgb");
    let b = boot(
        "menu-bls.img",
        &["--entry=Fedora Linux (6.2.0-63.fc39.x86_64) 39"],
    )
    .unwrap();
    assert_eq!(b.kernel, "bls-k-6.2.0-63.fc39.x86_64");
}

#[test]
fn bls_entry_on_a_fat_esp() {
    let b = boot("menu-esp.img", &[]).unwrap();
    assert_eq!(
        (b.kernel.as_str(), b.ramdisk.as_deref()),
        ("esp-k", Some("esp-i"))
    );
    assert_eq!(b.args, "console=hvc0");
}

#[test]
fn no_config_boots_the_newest_kernel_with_its_initrd() {
    let b = boot("menu-none.img", &[]).unwrap();
    assert_eq!(
        (b.kernel.as_str(), b.ramdisk.as_deref()),
        ("none-k13", Some("none-i13"))
    );
    let img = common::fixture("menu-none.img");
    let o = common::run_str(&["-l", img.to_str().unwrap()]);
    assert!(common::assert_clean_failure(&o).contains("no boot configuration"));
}

#[test]
fn isconfig_reads_a_config_file() {
    let cfg = common::repo().join("../shared/corpus/bootcfg/pygrub_fedora-19.grub2");
    if !cfg.exists() {
        eprintln!("corpus absent: skipped");
        return;
    }
    let o = common::run_str(&[
        "--isconfig",
        "-l",
        "--output-format=json",
        cfg.to_str().unwrap(),
    ]);
    assert!(o.status.success());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v["entries"].as_array().unwrap().len() >= 2);
}
