//! Issue 13, ISO half, through the real binary: the debian-cd style hybrid ISO, the
//! isolinux-only isohybrid and the Rock Ridge ISO boot by menu and by `--kernel/--ramdisk`;
//! `--inspect` and `-l` work on hybrids. What is copied is checked by sha256 against the
//! manifests that `fixtures/build/iso.sh` took from xorriso's extraction.

mod common;

use serde_json::Value;
use sha2::{Digest, Sha256};

/// sha256 of `path` in the manifest of fixture `name`.
fn expected_sha(name: &str, path: &str) -> String {
    let m =
        std::fs::read_to_string(common::repo().join(format!("fixtures/expected/{name}.manifest")))
            .unwrap();
    m.lines()
        .find_map(|l| {
            let f: Vec<&str> = l.splitn(4, ' ').collect();
            (f[0] == "f" && f[3] == path).then(|| f[2].to_owned())
        })
        .unwrap_or_else(|| panic!("{path} not in {name}.manifest"))
}

fn sha_of(p: &str) -> String {
    Sha256::digest(std::fs::read(p).unwrap())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Boots fixture `name` (JSON output) and checks the copied kernel, ramdisk and args.
fn boots(name: &str, extra: &[&str], kernel: &str, ramdisk: &str, args: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let img = common::fixture(&format!("{name}.iso"));
    let dir = format!("--output-directory={}", tmp.path().display());
    let mut argv = vec!["-q", "--output-format=json", &dir];
    argv.extend_from_slice(extra);
    argv.push(img.to_str().unwrap());
    let o = common::run_str(&argv);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{name} {extra:?}: {err}");
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        sha_of(v["kernel"].as_str().unwrap()),
        expected_sha(name, kernel),
        "{name} {extra:?}: kernel"
    );
    assert_eq!(
        sha_of(v["ramdisk"].as_str().unwrap()),
        expected_sha(name, ramdisk),
        "{name} {extra:?}: ramdisk"
    );
    assert_eq!(v["args"], args, "{name} {extra:?}");
}

#[test]
fn debian_hybrid_boots_the_xen_installer_by_default() {
    let x = ("/install.amd/xen/vmlinuz", "/install.amd/xen/initrd.gz");
    boots("iso-debian", &[], x.0, x.1, "");
    boots(
        "iso-debian",
        &["--args=console=hvc0"],
        x.0,
        x.1,
        "console=hvc0",
    );
    // pygrub's way, as Debian's own debian.cfg writes it.
    boots(
        "iso-debian",
        &[
            "--kernel=/install.amd/xen/vmlinuz",
            "--ramdisk=/install.amd/xen/initrd.gz",
        ],
        x.0,
        x.1,
        "",
    );
    // The ISO's menu (its grub.cfg, as pygrub reads it) by number and title.
    boots(
        "iso-debian",
        &["--entry=1"],
        "/install.amd/vmlinuz",
        "/install.amd/initrd.gz",
        "vga=788 --- quiet",
    );
    boots(
        "iso-debian",
        &["--entry=Graphical install"],
        "/install.amd/vmlinuz",
        "/install.amd/gtk/initrd.gz",
        "vga=788 --- quiet",
    );
    // DEV: entries: the whole disk and partition 1 are the ISO; partition 2 the EFI image.
    for dev in ["xvda", "xvda1"] {
        let e = format!("--entry={dev}:/install.amd/vmlinuz,/install.amd/initrd.gz");
        boots(
            "iso-debian",
            &[&e],
            "/install.amd/vmlinuz",
            "/install.amd/initrd.gz",
            "",
        );
    }
}

#[test]
fn rock_ridge_iso_boots_by_menu_and_by_symlinks() {
    let (k, i) = (
        "/boot/vmlinuz-6.1.0-13-amd64",
        "/boot/initrd.img-6.1.0-13-amd64",
    );
    boots("iso-rockridge", &[], k, i, "root=/dev/xvda2 ro quiet");
    boots(
        "iso-rockridge",
        &["--entry=1"],
        k,
        i,
        "root=/dev/xvda2 ro single",
    );
    boots(
        "iso-rockridge",
        &["--kernel=/vmlinuz", "--ramdisk=/initrd.img"],
        k,
        i,
        "",
    );
    boots(
        "iso-rockridge",
        &["--entry=/boot/vmlinuz,/initrd.img"],
        k,
        i,
        "",
    );
}

#[test]
fn isolinux_isohybrid_boots_by_its_included_menu() {
    let (k, i) = ("/boot/vmlinuz", "/boot/initrd.img");
    boots("iso-isolinux", &[], k, i, "boot=live console=hvc0");
    boots(
        "iso-isolinux",
        &["--entry=safe"],
        k,
        i,
        "boot=live nomodeset",
    );
    boots(
        "iso-isolinux",
        &["--kernel=/boot/vmlinuz", "--ramdisk=/boot/initrd.img"],
        k,
        i,
        "",
    );
}

#[test]
fn debian_isolinux_menu_through_its_includes() {
    // isolinux.cfg -> menu.cfg -> gtk.cfg (`menu default`), txt.cfg, adgtk.cfg in a submenu.
    let gtk = "/install.amd/gtk/initrd.gz";
    boots(
        "iso-debian-bios",
        &[],
        "/install.amd/vmlinuz",
        gtk,
        "vga=788 --- quiet",
    );
    boots(
        "iso-debian-bios",
        &["--entry=install"],
        "/install.amd/vmlinuz",
        "/install.amd/initrd.gz",
        "vga=788 --- quiet",
    );
    boots(
        "iso-debian-bios",
        &["--entry=expertgui"],
        "/install.amd/vmlinuz",
        gtk,
        "priority=low vga=788 ---",
    );
}

#[test]
fn inspect_and_list_work_on_hybrids() {
    let img = common::fixture("iso-debian.iso");
    let o = common::run_str(&["--inspect", "--output-format=json", img.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["table"], "mbr");
    let parts = v["partitions"].as_array().unwrap();
    let summary: Vec<(u64, u64, &str, &str, &str)> = parts
        .iter()
        .map(|p| {
            (
                p["number"].as_u64().unwrap(),
                p["start"].as_u64().unwrap(),
                p["type"].as_str().unwrap(),
                p["filesystem"]["type"].as_str().unwrap(),
                p["filesystem"]["label"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (0, 0, "disk", "iso9660", "Debian 12.5.0 amd64 n"),
            (1, 0, "0", "iso9660", "Debian 12.5.0 amd64 n"),
            (2, 188 * 512, "ef", "vfat", "DEBIAN_EFI"),
        ]
    );
    let o = common::run_str(&[
        "--inspect",
        common::fixture("iso-isolinux.iso").to_str().unwrap(),
    ]);
    assert!(o.status.success());
    let text = String::from_utf8_lossy(&o.stdout);
    assert_eq!(text.matches("iso9660").count(), 2, "{text}");

    let o = common::run_str(&["-l", "--output-format=json", img.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let s = v.to_string();
    for title in [
        "Graphical install",
        "Install",
        "... Graphical expert install",
    ] {
        assert!(s.contains(&format!("\"{title}\"")), "{title}: {s}");
    }
}

/// Partitions 1… of each hybrid equal `sfdisk -J`'s listing taken at build time.
#[test]
fn hybrid_partitions_are_listed_as_sfdisk_lists_them() {
    for name in ["iso-debian", "iso-debian-bios", "iso-isolinux"] {
        let want: Value = serde_json::from_str(
            &std::fs::read_to_string(
                common::repo().join(format!("fixtures/expected/{name}.sfdisk.json")),
            )
            .unwrap(),
        )
        .unwrap();
        let want: Vec<(u64, u64, u64, String)> = want["partitiontable"]["partitions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                let node = p["node"].as_str().unwrap();
                let stem = node.trim_end_matches(|c: char| c.is_ascii_digit());
                let number = node[stem.len()..].parse().unwrap();
                (
                    number,
                    p["start"].as_u64().unwrap() * 512,
                    p["size"].as_u64().unwrap() * 512,
                    p["type"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        let img = common::fixture(&format!("{name}.iso"));
        let o = common::run_str(&["--inspect", "--output-format=json", img.to_str().unwrap()]);
        assert!(o.status.success());
        let v: Value = serde_json::from_slice(&o.stdout).unwrap();
        let got: Vec<(u64, u64, u64, String)> = v["partitions"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["number"] != 0)
            .map(|p| {
                (
                    p["number"].as_u64().unwrap(),
                    p["start"].as_u64().unwrap(),
                    p["size"].as_u64().unwrap(),
                    p["type"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        assert_eq!(got, want, "{name}");
        assert!(!got.is_empty());
    }
}

#[test]
fn zisofs_files_are_refused_by_name() {
    let tmp = tempfile::tempdir().unwrap();
    let img = common::fixture("iso-zisofs.iso");
    let dir = format!("--output-directory={}", tmp.path().display());
    let o = common::run_str(&["-q", &dir, "--kernel=/boot/vmlinuz", img.to_str().unwrap()]);
    let line = common::assert_clean_failure(&o);
    assert!(
        line.contains("unsupported iso9660 feature zisofs compression"),
        "{line}"
    );
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0);
}

/// The hybrid's entry from sector 0 is the whole-disk ISO again: scans (menus, root search,
/// UUID= lookups) see each filesystem once; `xvda1:` still names it.
#[test]
fn hybrid_iso_filesystems_are_listed_once() {
    use domuloader::guest::devname::DevName;
    use domuloader::guest::diskset::DiskSet;
    let img = common::fixture("iso-debian.iso");
    let set = DiskSet::open(&[(img.as_path(), DevName::parse("xvda").unwrap())]).unwrap();
    let numbers: Vec<u32> = set.filesystems().iter().map(|(r, _)| r.number).collect();
    assert_eq!(numbers, vec![0, 2]);
    let one = set.find_dev(&DevName::parse("xvda1").unwrap()).unwrap();
    assert_eq!(
        set.filesystem(one).unwrap().info().label,
        "Debian 12.5.0 amd64 n"
    );
}

/// With an installed guest's disk before the ISO, the guest's menu boots; with the ISO
/// first (or no other menu), Debian's Xen installer does.
#[test]
fn xen_installer_only_replaces_the_isos_own_menu() {
    let iso = common::fixture("iso-debian.iso");
    let guest = common::fixture("menu-grub2-index.img");
    let dry = |disks: &[(&std::path::Path, &str)]| {
        let list: Vec<String> = disks
            .iter()
            .map(|(p, v)| format!("'file:{},{v},r'", p.display()))
            .collect();
        let arg = format!("--disks=[{}]", list.join(", "));
        let o = common::run_str(&["-n", &arg]);
        let err = String::from_utf8_lossy(&o.stderr).into_owned();
        assert!(o.status.success(), "{err}");
        err
    };
    let e = dry(&[(&guest, "xvda"), (&iso, "xvdb")]);
    assert!(
        e.contains("from xvda1") && !e.contains("install.amd"),
        "{e}"
    );
    let e = dry(&[(&iso, "xvda"), (&guest, "xvdb")]);
    assert!(e.contains("/install.amd/xen/vmlinuz from xvda "), "{e}");
}
