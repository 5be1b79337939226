//! Issue 8 acceptance: with no entry configured in dom0, the real binary boots what the
//! guest's own boot configuration says, and `-l` lists it (text and JSON). Fixtures from
//! fixtures/build/menus.sh (its header describes each image); every kernel and initrd is a
//! tagged fake whose sha256 is in fixtures/menus.sha256, so each boot is checked by the
//! bytes copied, not by the names printed.

mod common;

use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::Path;

const ROOT: &str = "root=UUID=3e4a0000-0000-4000-8000-000000000f01";
const MID: &str = "8f2a3e4a5b6c4d7e9f00112233445566";

/// The Debian 12 menu of images A-E (and M's root), in pygrub's flat numbering.
const DEBIAN: [&str; 8] = [
    "Debian GNU/Linux",
    "Debian GNU/Linux, with Linux 6.1.0-13-amd64",
    "Debian GNU/Linux, with Linux 6.1.0-13-amd64 (recovery mode)",
    "Debian GNU/Linux, with Linux 6.1.0-9-amd64",
    "Debian GNU/Linux, with Linux 6.1.0-9-amd64 (recovery mode)",
    "UEFI Firmware Settings",
    "Debian GNU/Linux 6.1.0-9 (pinned)",
    "Debian GNU/Linux 6.1.0-13 (no initrd)",
];

fn sha_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// sha256 -> tag (`IMAGE/NAME`) from fixtures/menus.sha256.
fn manifest() -> HashMap<String, String> {
    std::fs::read_to_string(common::repo().join("fixtures/menus.sha256"))
        .unwrap()
        .lines()
        .map(|l| {
            let (tag, sha) = l.rsplit_once(' ').unwrap();
            (sha.to_owned(), tag.to_owned())
        })
        .collect()
}

/// The manifest tag of the file's bytes; panics on bytes that are no known payload.
fn tag_of(file: &Path) -> String {
    let sha = sha_hex(&std::fs::read(file).unwrap());
    manifest()
        .remove(&sha)
        .unwrap_or_else(|| panic!("{} ({sha}) is not a known payload", file.display()))
}

#[derive(Debug, PartialEq)]
struct Booted {
    kernel: String,
    ramdisk: Option<String>,
    args: String,
}

fn booted(kernel: &str, ramdisk: Option<&str>, args: &str) -> Booted {
    Booted {
        kernel: kernel.to_owned(),
        ramdisk: ramdisk.map(str::to_owned),
        args: args.to_owned(),
    }
}

/// Boots `image` with `--output-format=json`; `Err` holds the one stderr line of a clean
/// failure.
fn boot(image: &str, extra: &[&str]) -> Result<Booted, String> {
    let tmp = tempfile::tempdir().unwrap();
    let img = common::fixture(image);
    let dir = format!("--output-directory={}", tmp.path().display());
    let mut args = vec!["-q", "--output-format=json", &dir];
    args.extend_from_slice(extra);
    args.push(img.to_str().unwrap());
    let o = common::run_str(&args);
    if !o.status.success() {
        return Err(common::assert_clean_failure(&o));
    }
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    Ok(Booted {
        kernel: tag_of(Path::new(v["kernel"].as_str().unwrap())),
        ramdisk: v["ramdisk"].as_str().map(|r| tag_of(Path::new(r))),
        args: v["args"].as_str().unwrap().to_owned(),
    })
}

/// `-l --output-format=json`, after checking that the text listing has the same titles.
fn menu(image: &str, extra: &[&str]) -> Value {
    let img = common::fixture(image);
    let run = |more: &[&str]| {
        let mut args = vec!["-l"];
        args.extend_from_slice(more);
        args.extend_from_slice(extra);
        args.push(img.to_str().unwrap());
        let o = common::run_str(&args);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8(o.stdout).unwrap()
    };
    let v: Value = serde_json::from_str(&run(&["--output-format=json"])).unwrap();
    let text_titles: Vec<String> = run(&[])
        .lines()
        .filter_map(|l| l.strip_prefix("title: ").map(str::to_owned))
        .collect();
    assert_eq!(text_titles, titles(&v), "{image}: text and JSON listings");
    v
}

fn titles(menu: &Value) -> Vec<String> {
    menu["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["title"].as_str().unwrap().to_owned())
        .collect()
}

fn default_of(menu: &Value) -> u64 {
    menu["default"].as_u64().unwrap()
}

/// Entry `v` of a Debian grub2 image: kernel/initrd tags and args.
fn debian(image: &str, v: &str, args: &str) -> Booted {
    let k = format!("{image}/vmlinuz-6.1.0-{v}-amd64");
    let i = format!("{image}/initrd.img-6.1.0-{v}-amd64");
    booted(&k, Some(&i), &format!("{ROOT} {args}"))
}

#[test]
fn grub2_separate_boot_default_by_index() {
    let img = "menu-grub2-index";
    let m = menu(&format!("{img}.img"), &[]);
    assert_eq!(titles(&m), DEBIAN);
    assert_eq!(m["kind"], "grub2");
    assert_eq!(default_of(&m), 3);
    assert_eq!(m["default_spec"], "3");
    // Paths are relative to the /boot filesystem; the hint is `set root='hd0,msdos1'`.
    assert_eq!(m["entries"][3]["kernel"], "/vmlinuz-6.1.0-9-amd64");
    assert_eq!(m["entries"][3]["device_hint"], "(hd0,msdos1)");
    assert_eq!(
        m["entries"][3]["id"],
        "gnulinux-6.1.0-9-amd64-advanced-3e4a0000-0000-4000-8000-000000000f01"
    );
    assert_eq!(
        m["entries"][3]["submenu"][0],
        "Advanced options for Debian GNU/Linux"
    );
    assert_eq!(
        boot(&format!("{img}.img"), &[]),
        Ok(debian(img, "9", "ro console=hvc0 quiet"))
    );
}

#[test]
fn grub2_default_by_title() {
    let img = "menu-grub2-title";
    let m = menu(&format!("{img}.img"), &[]);
    assert_eq!(titles(&m), DEBIAN);
    assert_eq!(default_of(&m), 6);
    assert_eq!(
        boot(&format!("{img}.img"), &[]),
        Ok(debian(img, "9", "ro console=hvc0 pinned"))
    );
}

#[test]
fn grub2_default_by_submenu_path() {
    let img = "menu-grub2-path";
    assert_eq!(default_of(&menu(&format!("{img}.img"), &[])), 3);
    assert_eq!(
        boot(&format!("{img}.img"), &[]),
        Ok(debian(img, "9", "ro console=hvc0 quiet"))
    );
}

#[test]
fn grub2_saved_entry_comes_from_grubenv() {
    let img = "menu-grub2-saved";
    let m = menu(&format!("{img}.img"), &[]);
    assert_eq!(titles(&m), DEBIAN);
    // grubenv: saved_entry=gnulinux-advanced-ROOT>gnulinux-6.1.0-9-amd64-recovery-ROOT
    assert_eq!(default_of(&m), 4);
    let uuid = "3e4a0000-0000-4000-8000-000000000f01";
    assert_eq!(
        m["default_spec"],
        format!("gnulinux-advanced-{uuid}>gnulinux-6.1.0-9-amd64-recovery-{uuid}")
    );
    assert_eq!(
        boot(&format!("{img}.img"), &[]),
        Ok(debian(img, "9", "ro single console=hvc0"))
    );
}

#[test]
fn grub2_entry_choices_and_args() {
    let img = "menu-grub2-index";
    let file = format!("{img}.img");
    let by_index = |n: usize| boot(&file, &[&format!("--entry={n}")]);
    assert_eq!(by_index(0), Ok(debian(img, "13", "ro console=hvc0 quiet")));
    assert_eq!(by_index(2), Ok(debian(img, "13", "ro single console=hvc0")));
    assert_eq!(by_index(4), Ok(debian(img, "9", "ro single console=hvc0")));
    assert_eq!(by_index(6), Ok(debian(img, "9", "ro console=hvc0 pinned")));
    // An entry without initrd boots without ramdisk.
    assert_eq!(
        by_index(7),
        Ok(booted(
            &format!("{img}/vmlinuz-6.1.0-13-amd64"),
            None,
            &format!("{ROOT} ro console=hvc0 noinitrd")
        ))
    );
    // `fwsetup` boots no kernel: refused, not replaced by another entry.
    let e = by_index(5).unwrap_err();
    assert!(e.contains("does not boot a Linux kernel"), "{e}");
    for bad in ["--entry=8", "--entry=No such entry"] {
        let e = boot(&file, &[bad]).unwrap_err();
        assert!(e.contains("no menu entry"), "{bad}: {e}");
    }
    // A title with `/` parses as a domUloader path; when no such file exists, the menu entry
    // with exactly that title is booted, as pygrub would.
    assert_eq!(
        boot(
            &file,
            &["--entry=Debian GNU/Linux, with Linux 6.1.0-9-amd64"]
        ),
        Ok(debian(img, "9", "ro console=hvc0 quiet"))
    );
    assert_eq!(
        boot(&file, &["--entry=Debian GNU/Linux"]),
        Ok(debian(img, "13", "ro console=hvc0 quiet"))
    );
    // Neither a file nor a title: the path's own error.
    let e = boot(&file, &["--entry=Debian GNU/Hurd"]).unwrap_err();
    assert!(e.contains("no such file"), "{e}");
    // By grub id (`$menuentry_id_option 'pinned-6.1.0-9'`).
    assert_eq!(
        boot(&file, &["--entry=pinned-6.1.0-9"]),
        Ok(debian(img, "9", "ro console=hvc0 pinned"))
    );
    // --args comes after the entry's own arguments, with the default or a chosen entry.
    assert_eq!(
        boot(&file, &["--args=console=tty0 extra=1"]),
        Ok(debian(
            img,
            "9",
            "ro console=hvc0 quiet console=tty0 extra=1"
        ))
    );
    assert_eq!(
        boot(&file, &["--entry=0", "--args=init=/bin/sh"]),
        Ok(debian(img, "13", "ro console=hvc0 quiet init=/bin/sh"))
    );
}

#[test]
fn grub2_boot_inside_the_root_filesystem() {
    let img = "menu-grub2-inroot";
    let m = menu(&format!("{img}.img"), &[]);
    assert_eq!(titles(&m), DEBIAN);
    assert_eq!(m["entries"][0]["kernel"], "/boot/vmlinuz-6.1.0-13-amd64");
    assert_eq!(
        m["entries"][0]["initrd"][0],
        "/boot/initrd.img-6.1.0-13-amd64"
    );
    // `set default="1>2"`: top-level item 1 is the submenu, its item 2 is 6.1.0-9.
    assert_eq!(default_of(&m), 3);
    assert_eq!(
        boot(&format!("{img}.img"), &[]),
        Ok(debian(img, "9", "ro console=hvc0 quiet"))
    );
    assert_eq!(
        boot(&format!("{img}.img"), &["--entry=1"]),
        Ok(debian(img, "13", "ro console=hvc0 quiet"))
    );
}

#[test]
fn grub_legacy_root_hd00_and_default_1() {
    let img = "menu-legacy";
    let m = menu(&format!("{img}.img"), &[]);
    assert_eq!(
        titles(&m),
        [
            "CentOS (2.6.32-754.35.1.el6.x86_64)",
            "CentOS 6 (2.6.32-754.el6.x86_64)"
        ]
    );
    assert_eq!(m["kind"], "grub_legacy");
    assert_eq!(default_of(&m), 1);
    assert_eq!(m["entries"][1]["device_hint"], "(hd0,0)");
    let listing = common::run_str(&["-l", common::fixture("menu-legacy.img").to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&listing.stdout).contains("\n  root: d0p0\n"));
    let args = format!(
        "ro {ROOT} rd_NO_LUKS LANG=en_US.UTF-8 rd_NO_MD console=hvc0 KEYTABLE=us rd_NO_LVM rd_NO_DM"
    );
    let want = |v: &str| {
        booted(
            &format!("{img}/vmlinuz-2.6.32-{v}.x86_64"),
            Some(&format!("{img}/initramfs-2.6.32-{v}.x86_64.img")),
            &args,
        )
    };
    assert_eq!(boot(&format!("{img}.img"), &[]), Ok(want("754.el6")));
    assert_eq!(
        boot(&format!("{img}.img"), &["--entry=0"]),
        Ok(want("754.35.1.el6"))
    );
    assert_eq!(
        boot(
            &format!("{img}.img"),
            &["--entry=CentOS (2.6.32-754.35.1.el6.x86_64)"]
        ),
        Ok(want("754.35.1.el6"))
    );
}

#[test]
fn extlinux_relative_paths_initrd_in_append_and_menu_default() {
    let img = "menu-extlinux";
    let m = menu(&format!("{img}.img"), &[]);
    assert_eq!(titles(&m), ["lts", "virt"]);
    assert_eq!(m["kind"], "extlinux");
    assert_eq!(m["entries"][0]["kernel"], "vmlinuz-lts");
    assert_eq!(m["entries"][0]["initrd"][0], "initramfs-lts");
    // DEFAULT names menu.c32; MENU DEFAULT marks virt, which the menu boots.
    assert_eq!(default_of(&m), 1);
    let want = |label: &str, args: &str| {
        booted(
            &format!("{img}/vmlinuz-{label}"),
            Some(&format!("{img}/initramfs-{label}")),
            &format!("{ROOT} modules=sd-mod,usb-storage,ext4 {args} rootfstype=ext4"),
        )
    };
    assert_eq!(
        boot(&format!("{img}.img"), &[]),
        Ok(want("virt", "console=hvc0"))
    );
    assert_eq!(
        boot(&format!("{img}.img"), &["--entry=lts"]),
        Ok(want("lts", "quiet"))
    );
}

#[test]
fn extlinux_in_a_subdirectory_linux_and_initrd_lines() {
    let img = "menu-extlinux-subdir";
    let m = menu(&format!("{img}.img"), &[]);
    assert_eq!(titles(&m), ["a", "b"]);
    assert_eq!(default_of(&m), 1, "DEFAULT b names a label");
    // `INITRD` line (syslinux 4+), absolute paths.
    assert_eq!(
        boot(&format!("{img}.img"), &[]),
        Ok(booted(
            &format!("{img}/vmlinuz-b"),
            Some(&format!("{img}/initramfs-b")),
            "root=/dev/xvda ro quiet"
        ))
    );
    // `LINUX ../vmlinuz-a` is relative to /boot/extlinux/, syslinux's working directory.
    assert_eq!(
        boot(&format!("{img}.img"), &["--entry=a"]),
        Ok(booted(
            &format!("{img}/vmlinuz-a"),
            None,
            "root=/dev/xvda ro modules=ext4"
        ))
    );
}

#[test]
fn bls_on_a_logical_partition() {
    let img = "menu-bls-logical";
    let m = menu(&format!("{img}.img"), &[]);
    let fedora = |v: &str| format!("Fedora Linux ({v}) 39 (Thirty Nine)");
    assert_eq!(
        titles(&m),
        [
            fedora("6.10.12-200.fc39.x86_64"),
            fedora("6.8.9-100.fc39.x86_64"),
            fedora("6.5.6-300.fc39.x86_64"),
            fedora(&format!("0-rescue-{MID}")),
            "UEFI Firmware Settings".to_owned(),
        ],
        "newest first by version (6.10 > 6.8 > 6.5), rescue last"
    );
    assert_eq!(default_of(&m), 0);
    let opts = format!("{ROOT} ro rootflags=subvol=root console=hvc0 rhgb quiet");
    let want = |v: &str, args: &str| {
        booted(
            &format!("{img}/vmlinuz-{v}"),
            Some(&format!("{img}/initramfs-{v}.img")),
            args,
        )
    };
    assert_eq!(
        boot(&format!("{img}.img"), &[]),
        Ok(want("6.10.12-200.fc39.x86_64", &opts))
    );
    // `options $kernelopts $tuned_params`: kernelopts from /grub2/grubenv, tuned_params unset.
    assert_eq!(
        boot(
            &format!("{img}.img"),
            &[&format!("--entry={}", fedora("6.8.9-100.fc39.x86_64"))]
        ),
        Ok(want("6.8.9-100.fc39.x86_64", &opts))
    );
    assert_eq!(m["entries"][1]["args"], opts, "-l shows expanded options");
    // By BLS id (file name without .conf), as grubenv's saved_entry would name it.
    assert_eq!(
        boot(
            &format!("{img}.img"),
            &[&format!("--entry={MID}-6.5.6-300.fc39.x86_64")]
        ),
        Ok(want("6.5.6-300.fc39.x86_64", &opts))
    );
    assert_eq!(
        boot(
            &format!("{img}.img"),
            &["--entry=3", "--args=systemd.unit=rescue.target"]
        ),
        Ok(want(
            &format!("0-rescue-{MID}"),
            &format!("{ROOT} ro console=hvc0 systemd.unit=rescue.target")
        ))
    );
}

#[test]
fn grub_on_a_fat_esp_with_two_initrds() {
    let img = "menu-esp";
    let m = menu(&format!("{img}.img"), &[]);
    assert_eq!(
        titles(&m),
        [
            "Arch Linux",
            "Arch Linux, with Linux linux",
            "Arch Linux, with Linux linux (fallback initramfs)"
        ]
    );
    assert_eq!(
        m["entries"][0]["initrd"],
        serde_json::json!(["/intel-ucode.img", "/initramfs-linux.img"])
    );
    let args = format!("{ROOT} rw console=hvc0 loglevel=3 quiet");
    let want = |initrd: &str| {
        booted(
            &format!("{img}/vmlinuz-linux"),
            Some(&format!("{img}/intel-ucode.img+{initrd}")),
            &args,
        )
    };
    // Both initrds, concatenated in order (grub loads them back to back).
    assert_eq!(
        boot(&format!("{img}.img"), &[]),
        Ok(want("initramfs-linux.img"))
    );
    assert_eq!(
        boot(&format!("{img}.img"), &["--entry=2"]),
        Ok(want("initramfs-linux-fallback.img"))
    );
}

#[test]
fn systemd_boot_esp_and_grub_on_the_root() {
    let img = "menu-esp-bls";
    // grub.cfg on p2 (pygrub's file) wins over the BLS entries on the ESP (p1).
    let m = menu(&format!("{img}.img"), &[]);
    assert_eq!(titles(&m), DEBIAN);
    assert_eq!(m["entries"][0]["kernel"], "/boot/vmlinuz-6.1.0-13-amd64");
    assert_eq!(
        boot(&format!("{img}.img"), &[]),
        Ok(debian(img, "13", "ro console=hvc0 quiet"))
    );
    // The ESP alone: systemd-boot's entries, newest version first, same titles.
    let esp = ["--offset=1048576"];
    let m = menu(&format!("{img}.img"), &esp);
    assert_eq!(m["kind"], "bls");
    assert_eq!(titles(&m), ["Debian GNU/Linux 12 (bookworm)"; 2]);
    assert_eq!(m["entries"][0]["id"], format!("{MID}-6.1.0-13-amd64"));
    let want = |v: &str| {
        booted(
            &format!("{img}/6.1.0-{v}-amd64/linux"),
            Some(&format!("{img}/6.1.0-{v}-amd64/initrd")),
            &format!("{ROOT} ro console=hvc0 systemd.machine_id={MID}"),
        )
    };
    assert_eq!(boot(&format!("{img}.img"), &esp), Ok(want("13")));
    assert_eq!(
        boot(&format!("{img}.img"), &["--offset=1048576", "--entry=1"]),
        Ok(want("9"))
    );
    assert_eq!(
        boot(
            &format!("{img}.img"),
            &["--offset=1048576", &format!("--entry={MID}-6.1.0-9-amd64")]
        ),
        Ok(want("9"))
    );
}

#[test]
fn no_config_boots_the_newest_kernel_with_its_initrd() {
    let cases = [
        (
            "menu-newest-initrdimg",
            "vmlinuz-6.1.0-13-amd64",
            "initrd.img-6.1.0-13-amd64",
        ),
        (
            "menu-newest-initramfs",
            "vmlinuz-6.10.12-200.fc39.x86_64",
            "initramfs-6.10.12-200.fc39.x86_64.img",
        ),
        (
            "menu-newest-initrd",
            "vmlinuz-6.4.0-150600.23.25-default",
            "initrd-6.4.0-150600.23.25-default",
        ),
    ];
    for (img, k, i) in cases {
        let file = format!("{img}.img");
        assert_eq!(
            boot(&file, &[]),
            Ok(booted(
                &format!("{img}/{k}"),
                Some(&format!("{img}/{i}")),
                ""
            )),
            "{img}"
        );
        assert_eq!(
            boot(&file, &["--args=root=/dev/xvda1 ro"]).map(|b| b.args),
            Ok("root=/dev/xvda1 ro".to_owned())
        );
        let o = common::run_str(&["-l", common::fixture(&file).to_str().unwrap()]);
        assert!(common::assert_clean_failure(&o).contains("no boot configuration"));
        // A menu choice needs a menu.
        let e = boot(&file, &["--entry=0"]).unwrap_err();
        assert!(e.contains("no boot configuration"), "{e}");
    }
}

#[test]
fn isconfig_reads_a_config_file() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let cfg = corpus.join("bootcfg/pygrub_fedora-19.grub2");
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
