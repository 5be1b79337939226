//! Issue 11 through the real binary: SUSE's default install (snapper default subvolume,
//! /boot inside btrfs, grub2 with btrfs_relative_path and ${extra_cmdline}), Fedora's btrfs
//! root (fstab in subvolume `root`, ext4 /boot), `--inspect` naming btrfs as blkid does,
//! and the hostile btrfs images: one line, exit 1, nothing left, within 2 s and 256 MiB.

mod common;

use sha2::{Digest, Sha256};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

fn hex(d: &[u8]) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

fn sha_of(p: &Path) -> String {
    hex(&Sha256::digest(std::fs::read(p).unwrap()))
}

/// sha256 of `path` in the fixture's manifest (taken from the kernel's mount).
fn manifest_sha(name: &str, path: &str) -> String {
    let m = std::fs::read_to_string(
        common::repo().join(format!("fixtures/expected/btrfs-{name}.manifest")),
    )
    .unwrap();
    m.lines()
        .find_map(|l| {
            let f: Vec<&str> = l.splitn(4, '\t').collect();
            (f[3] == path).then(|| f[2].to_owned())
        })
        .unwrap_or_else(|| panic!("{path} not in the {name} manifest"))
}

fn fedora_boot_sha(file: &str) -> String {
    std::fs::read_to_string(common::repo().join("fixtures/expected/btrfs-fedora-boot.sha256"))
        .unwrap()
        .lines()
        .find_map(|l| {
            l.split_once("  ")
                .filter(|(_, n)| *n == file)
                .map(|(h, _)| h.to_owned())
        })
        .unwrap()
}

struct Boot {
    kernel: String,
    ramdisk: String,
    args: String,
}

/// Runs a boot (simple0 output) and returns the sha256s of what was copied, and the args.
fn boot(img: &Path, extra: &[&str]) -> Boot {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_domuloader"));
    cmd.arg("-q")
        .arg("--output-format=simple0")
        .arg(format!("--output-directory={}", dir.path().display()))
        .args(extra)
        .arg(img);
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{extra:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let item = |k: &str| {
        text.split('\0')
            .find_map(|f| f.strip_prefix(k).map(str::to_owned))
            .unwrap_or_default()
    };
    let file = |k: &str| {
        let p = item(k);
        if p.is_empty() {
            String::new()
        } else {
            sha_of(Path::new(&p))
        }
    };
    Boot {
        kernel: file("kernel "),
        ramdisk: file("ramdisk "),
        args: item("args "),
    }
}

const SUSE_K: &str = "/@/.snapshots/1/snapshot/boot/vmlinuz-5.14.21-150500.55.19-default";
const SUSE_I: &str = "/@/.snapshots/1/snapshot/boot/initrd-5.14.21-150500.55.19-default";

#[test]
fn suse_menu_boot_uses_the_default_subvolume_and_expands_like_grub() {
    let img = common::fixture("btrfs-suse.img");
    let b = boot(&img, &[]);
    assert_eq!(b.kernel, manifest_sha("suse", SUSE_K));
    assert_eq!(b.ramdisk, manifest_sha("suse", SUSE_I));
    assert_eq!(
        b.args,
        "root=UUID=5e5e5e5e-1111-4222-8333-5e5e5e5e0001 splash=silent mitigations=auto quiet \
         security=apparmor crashkernel=174M,high"
    );
    // The menu entry by title: the same files and arguments.
    let t = boot(&img, &["--entry=SLES 15-SP5"]);
    assert_eq!((t.kernel, t.args), (b.kernel, b.args));
}

#[test]
fn suse_path_entries_resolve_through_symlinks_and_subvolume_mounts() {
    let img = common::fixture("btrfs-suse.img");
    let b = boot(&img, &["--entry=/boot/vmlinuz,/boot/initrd"]);
    assert_eq!(b.kernel, manifest_sha("suse", SUSE_K));
    assert_eq!(b.ramdisk, manifest_sha("suse", SUSE_I));
    // Files of other subvolumes, mounted by the fstab's subvol= lines under one UUID.
    let h = boot(&img, &["--entry=/home/user/notes.txt"]);
    assert_eq!(h.kernel, manifest_sha("suse", "/@/home/user/notes.txt"));
    let g = boot(&img, &["--entry=/boot/grub2/i386-pc/core.img"]);
    assert_eq!(
        g.kernel,
        manifest_sha("suse", "/@/boot/grub2/i386-pc/core.img")
    );
    // --root naming the btrfs filesystem.
    let r = boot(
        &img,
        &[
            "--root=UUID=5e5e5e5e-1111-4222-8333-5e5e5e5e0001",
            "--entry=/boot/vmlinuz",
        ],
    );
    assert_eq!(r.kernel, manifest_sha("suse", SUSE_K));
}

#[test]
fn fedora_path_entry_resolves_through_the_btrfs_fstab_into_ext4_boot() {
    let img = common::fixture("btrfs-fedora.img");
    let v = "6.5.6-300.fc39.x86_64";
    let k = fedora_boot_sha(&format!("vmlinuz-{v}"));
    let i = fedora_boot_sha(&format!("initramfs-{v}.img"));
    let b = boot(
        &img,
        &[&format!(
            "--entry=/boot/vmlinuz-{v},/boot/initramfs-{v}.img"
        )],
    );
    assert_eq!(
        (b.kernel.as_str(), b.ramdisk.as_str()),
        (k.as_str(), i.as_str())
    );
    // A symlink in the root subvolume pointing into /boot.
    let s = boot(&img, &[&format!("--entry=/usr/lib/modules/{v}/vmlinuz")]);
    assert_eq!(s.kernel, k);
    // --root with the root in a subvolume.
    let r = boot(
        &img,
        &["--root=LABEL=fedora", &format!("--entry=/boot/vmlinuz-{v}")],
    );
    assert_eq!(r.kernel, k);
    // The BLS menu boots the same kernel, with its options.
    let m = boot(&img, &[]);
    assert_eq!(m.kernel, k);
    assert_eq!(
        m.args,
        "root=UUID=fed0fed0-2222-4333-8444-fed0fed00001 ro rootflags=subvol=root rhgb quiet"
    );
    // A compressed (zstd) file of the root subvolume.
    let z = boot(
        &img,
        &[&format!("--entry=/usr/lib/modules/{v}/modules.dep")],
    );
    assert_eq!(
        z.kernel,
        manifest_sha("fedora", &format!("/root/usr/lib/modules/{v}/modules.dep"))
    );
}

#[test]
fn ubuntu_menu_paths_are_read_from_the_top_level() {
    // No btrfs_relative_path: grub reads `/@/boot/vmlinuz-…` from the top-level subvolume;
    // the config itself is found in subvolume `@`, the root (fstab `subvol=@`) likewise.
    let img = common::fixture("btrfs-ubuntu.img");
    let k = manifest_sha("ubuntu", "/@/boot/vmlinuz-6.8.0-31-generic");
    let i = manifest_sha("ubuntu", "/@/boot/initrd.img-6.8.0-31-generic");
    let m = boot(&img, &[]);
    assert_eq!(
        (m.kernel.as_str(), m.ramdisk.as_str()),
        (k.as_str(), i.as_str())
    );
    assert_eq!(
        m.args,
        "root=UUID=0b0b0b0b-5555-4666-8777-0b0b0b0b0001 ro rootflags=subvol=@ quiet splash"
    );
    let p = boot(&img, &["--entry=/vmlinuz,/initrd.img"]);
    assert_eq!(
        (p.kernel.as_str(), p.ramdisk.as_str()),
        (k.as_str(), i.as_str())
    );
    let h = boot(&img, &["--entry=/home/user/notes.txt"]);
    assert_eq!(h.kernel, manifest_sha("ubuntu", "/@home/user/notes.txt"));
}

#[test]
fn compressed_kernels_stream_byte_equal() {
    let img = common::fixture("btrfs-compress.img");
    for c in ["zstd", "lzo", "zlib"] {
        let b = boot(&img, &[&format!("--entry=xvda:/{c}/vmlinuz,/{c}/initrd")]);
        assert_eq!(
            b.kernel,
            manifest_sha("compress", &format!("/{c}/vmlinuz")),
            "{c}"
        );
        assert_eq!(
            b.ramdisk,
            manifest_sha("compress", &format!("/{c}/initrd")),
            "{c}"
        );
    }
}

#[test]
fn inspect_names_btrfs_like_blkid() {
    for name in [
        "suse",
        "fedora",
        "ubuntu",
        "compress",
        "csum-xxhash",
        "csum-sha256",
    ] {
        let img = common::fixture(&format!("btrfs-{name}.img"));
        let out = common::run_str(&["--inspect", img.to_str().unwrap()]);
        assert!(out.status.success());
        let text = String::from_utf8(out.stdout).unwrap();
        let want = std::fs::read_to_string(
            common::repo().join(format!("fixtures/expected/btrfs-{name}.blkid")),
        )
        .unwrap();
        let field = |k: &str| {
            want.lines()
                .find_map(|l| l.strip_prefix(k)?.strip_prefix('='))
                .unwrap()
                .to_owned()
        };
        let row = text
            .lines()
            .find(|l| l.contains(" btrfs "))
            .unwrap_or_else(|| panic!("{name}: no btrfs row in {text}"));
        let cols: Vec<&str> = row.split_whitespace().collect();
        assert!(cols.contains(&field("UUID").as_str()), "{name}: {row}");
        assert_eq!(
            cols.last().copied(),
            Some(field("LABEL").as_str()),
            "{name}: {row}"
        );
    }
}

/// Runs the binary under `ulimit -v` 256 MiB; returns (exit code, stderr, elapsed, files left).
fn hostile_run(img: &Path, entry: &str) -> (Option<i32>, String, Duration, usize) {
    let dir = tempfile::tempdir().unwrap();
    let start = Instant::now();
    let out = Command::new("sh")
        .arg("-c")
        .arg("ulimit -v 262144 && exec \"$@\"")
        .arg("sh")
        .arg(env!("CARGO_BIN_EXE_domuloader"))
        .arg(format!("--output-directory={}", dir.path().display()))
        .arg(format!("--entry={entry}"))
        .arg(img)
        .output()
        .unwrap();
    let left = std::fs::read_dir(dir.path()).unwrap().count();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        start.elapsed(),
        left,
    )
}

#[test]
fn hostile_images_fail_in_one_line_within_bounds() {
    let cases = [
        ("bad-csum", "xvda:/zstd/vmlinuz", "checksum mismatch"),
        (
            "bad-sb",
            "xvda:/zstd/vmlinuz",
            "superblock at 65536: checksum mismatch",
        ),
        ("chunk-loop", "xvda:/zstd/vmlinuz", "level 1, expected 0"),
        ("chunk-overlap", "xvda:/zstd/vmlinuz", "overlaps another"),
        ("tree-cycle", "xvda:/zstd/vmlinuz", "level 1, expected 0"),
        ("huge-items", "xvda:/zstd/vmlinuz", "items do not fit"),
        (
            "huge-extent",
            "xvda:/zstd/vmlinuz",
            "claims 1099511627776 bytes",
        ),
        (
            "huge-extent",
            "xvda:/zlib/vmlinuz",
            "1099511627776 bytes on disk",
        ),
        ("fanout", "xvda:/zstd/vmlinuz", "no such file"),
        ("fanout", "/zstd/vmlinuz", "no such file"),
    ];
    for (name, entry, want) in cases {
        let img = common::fixture(&format!("hostile/btrfs-{name}.img"));
        let before = std::fs::read(&img).unwrap();
        let (code, err, took, left) = hostile_run(&img, entry);
        assert_eq!(code, Some(1), "{name}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{name}: {err}");
        assert!(!err.contains("panicked"), "{name}: {err}");
        assert!(err.contains(want), "{name}: want {want:?} in {err}");
        assert!(took < Duration::from_secs(2), "{name}: {took:?}");
        assert_eq!(left, 0, "{name}: files left behind");
        assert!(
            before == std::fs::read(&img).unwrap(),
            "{name}: image changed"
        );
    }
}

#[test]
fn first_of_two_devices_reads_the_raid1_mirror_and_refuses_raid0_data() {
    let img = common::fixture("btrfs-multi.img");
    // Inline data lives in the metadata, a RAID1 mirror of which is on this device.
    let b = boot(&img, &["--entry=xvda:/boot/inline.txt"]);
    assert_eq!(
        b.kernel,
        hex(&Sha256::digest(
            b"small inline file on a RAID1 metadata mirror\n"
        ))
    );
    // The kernel's data is striped across both devices.
    let (code, err, _, left) = hostile_run(&img, "xvda:/boot/vmlinuz");
    assert_eq!(code, Some(1), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(
        err.contains("unsupported btrfs feature RAID0 profile"),
        "{err}"
    );
    assert_eq!(left, 0);
}

#[test]
fn fanout_tree_listing_is_cut_off() {
    use domuloader::fs::Filesystem;
    let img = common::fixture("hostile/btrfs-fanout.img");
    let disk = domuloader::disk::Disk::open(&img).unwrap();
    let fs = domuloader::fs::btrfs::BtrfsFs::open(disk.whole()).unwrap();
    let start = Instant::now();
    let err = fs.read_dir(b"/").unwrap_err().to_string();
    assert!(err.contains("visits more than 4096 nodes"), "{err}");
    assert!(start.elapsed() < Duration::from_secs(2));
}

#[test]
fn damaged_primary_superblock_falls_back_to_the_mirror() {
    let img = common::fixture("hostile/btrfs-sb-mirror.img");
    let dir = tempfile::tempdir().unwrap();
    let out = common::run_str(&[
        &format!("--output-directory={}", dir.path().display()),
        "--entry=xvda:/zstd/vmlinuz",
        img.to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("using the copy at 67108864"), "{err}");
}
