//! LVM2 (issue 12): logical volumes read back against lvm's own mapping, every file of every
//! fixture against its source tree, boots through the real binary (path entries through the
//! LV root's fstab, menus, `DEV:` as `VG/LV`, a VG on two disks), `--inspect`, and the hostile
//! metadata fixtures (one line, exit 1, nothing left, ≤ 2 s, ≤ 256 MiB).
//!
//! Fixtures: `fixtures/build/lvm.sh` (real lvm2 tools) and `fixtures/build/lvm-hostile.py`;
//! expected values in `fixtures/expected/lvm-*.manifest`.

mod common;

use domuloader::guest::devname::DevName;
use domuloader::guest::diskset::{DiskSet, PartRef};
use sha2::{Digest, Sha256};
use std::io::Read;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn sha(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}

/// One line of a manifest, split on spaces (paths in the fixtures have none).
fn manifest(name: &str) -> Vec<Vec<String>> {
    let p = common::repo().join(format!("fixtures/expected/{name}.manifest"));
    std::fs::read_to_string(&p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .lines()
        .map(|l| l.split(' ').map(str::to_owned).collect())
        .collect()
}

fn set_of(images: &[&str]) -> DiskSet {
    let paths: Vec<PathBuf> = images.iter().map(|i| common::fixture(i)).collect();
    let names = ["xvda", "xvdb", "xvdc"];
    let disks: Vec<(&Path, DevName)> = paths
        .iter()
        .zip(names)
        .map(|(p, n)| (p.as_path(), DevName::parse(n).unwrap()))
        .collect();
    DiskSet::open(&disks).unwrap()
}

/// `p2` (a partition of the first disk) or `VG/LV`.
fn block(set: &DiskSet, dev: &str) -> PartRef {
    match dev.strip_prefix('p') {
        Some(n) if n.bytes().all(|b| b.is_ascii_digit()) => set
            .find_dev(&DevName::parse(&format!("xvda{n}")).unwrap())
            .unwrap(),
        _ => set.find_volume_dev(dev).unwrap(),
    }
}

/// Whether this build reads XFS (the reader lands on branch `xfs`, merged separately).
fn reads_xfs(set: &DiskSet, dev: &str) -> bool {
    match set.filesystem(block(set, dev)) {
        Ok(_) => true,
        Err(e) if e.to_string().contains("unsupported filesystem xfs") => {
            eprintln!("skipping: this build has no XFS reader yet ({e}); passes once branch xfs is merged");
            false
        }
        Err(e) => panic!("{dev}: {e}"),
    }
}

/// Every LV's bytes equal what lvm's own segment map gives (sha256 at build time), with the
/// UUIDs lvm reports; every file and symlink of the source trees reads back identically.
fn check_fixture(manifest_name: &str, images: &[&str]) {
    let set = set_of(images);
    let lines = manifest(manifest_name);
    assert!(!lines.is_empty());
    let mut checked = 0;
    for l in &lines {
        match l.first().map(String::as_str) {
            Some("lv") => {
                let r = block(&set, &l[1]);
                let v = &set.volumes()[r.volume_index().unwrap()];
                assert_eq!(v.size.to_string(), l[2], "{}", l[1]);
                assert_eq!(
                    (v.vg_uuid.as_str(), v.lv_uuid.as_str()),
                    (l[4].as_str(), l[5].as_str())
                );
                let disk = v.disk.as_ref().unwrap();
                let mut h = Sha256::new();
                let mut buf = vec![0u8; 1 << 20];
                let mut off = 0;
                while off < disk.size() {
                    let n = (disk.size() - off).min(buf.len() as u64) as usize;
                    disk.read_exact_at(off, &mut buf[..n]).unwrap();
                    h.update(&buf[..n]);
                    off += n as u64;
                }
                assert_eq!(format!("{:x}", h.finalize()), l[3], "LV {} bytes", l[1]);
            }
            Some("file") => {
                let fs = set.filesystem(block(&set, &l[1])).unwrap();
                let mut data = Vec::new();
                fs.open(l[2].as_bytes())
                    .unwrap_or_else(|e| panic!("{} {}: {e}", l[1], l[2]))
                    .read_to_end(&mut data)
                    .unwrap();
                assert_eq!(data.len().to_string(), l[3], "{} {}", l[1], l[2]);
                assert_eq!(sha(&data), l[4], "{} {}", l[1], l[2]);
            }
            Some("link") => {
                let fs = set.filesystem(block(&set, &l[1])).unwrap();
                assert_eq!(fs.read_link(l[2].as_bytes()).unwrap(), l[3].as_bytes());
            }
            other => panic!("manifest line {other:?}"),
        }
        checked += 1;
    }
    assert_eq!(checked, lines.len());
}

#[test]
fn debian_lvm_reads_back() {
    check_fixture("lvm-debian", &["lvm-debian.img"]);
}

#[test]
fn ubuntu_multi_segment_lv_reads_back() {
    let set = set_of(&["lvm-ubuntu.img"]);
    // The fixture's LV has three segments: the mapping is what is under test.
    assert_eq!(set.volumes().len(), 3);
    check_fixture("lvm-ubuntu", &["lvm-ubuntu.img"]);
}

#[test]
fn vg_on_two_disks_reads_back() {
    check_fixture("lvm-span", &["lvm-span-a.img", "lvm-span-b.img"]);
}

#[test]
fn rhel_ext4_reads_back() {
    check_fixture("lvm-rhel-ext4", &["lvm-rhel-ext4.img"]);
}

/// Needs the XFS reader (branch `xfs`): skipped with a note until it is merged.
#[test]
fn rhel_xfs_reads_back() {
    let set = set_of(&["lvm-rhel-xfs.img"]);
    if reads_xfs(&set, "p2") {
        check_fixture("lvm-rhel-xfs", &["lvm-rhel-xfs.img"]);
    }
}

#[test]
fn metadata_wrapping_round_the_area_reads() {
    let set = set_of(&["lvm-debian-wrap.img"]);
    let r = set.find_volume_dev("debian-vg/root").unwrap();
    assert_eq!(set.filesystem(r).unwrap().info().label, "debroot");
}

#[test]
fn the_newest_metadata_copy_wins() {
    let set = set_of(&["lvm-span-a.img", "lvm-span-newer-b.img"]);
    let names: Vec<String> = set.volumes().iter().map(|v| v.name()).collect();
    assert_eq!(names, ["span/newroot", "span/striped"]);
    // In the other order too: the seqno decides, not the disk.
    let set = set_of(&["lvm-span-newer-b.img", "lvm-span-a.img"]);
    let names: Vec<String> = set.volumes().iter().map(|v| v.name()).collect();
    assert_eq!(names, ["span/newroot", "span/striped"]);
}

#[test]
fn every_guest_name_of_an_lv_finds_it() {
    let set = set_of(&["lvm-ubuntu.img"]);
    let lv = manifest("lvm-ubuntu")
        .into_iter()
        .find(|l| l[0] == "lv")
        .unwrap();
    let want = set.find_volume_dev("ubuntu-vg/ubuntu-lv").unwrap();
    let dm_uuid = format!("LVM-{}{}", lv[4].replace('-', ""), lv[5].replace('-', ""));
    for name in [
        "/dev/ubuntu-vg/ubuntu-lv".to_owned(),
        "/dev/mapper/ubuntu--vg-ubuntu--lv".to_owned(),
        "/dev/disk/by-id/dm-name-ubuntu--vg-ubuntu--lv".to_owned(),
        format!("/dev/disk/by-id/dm-uuid-{dm_uuid}"),
    ] {
        let spec = domuloader::guest::spec::DeviceSpec::parse(&name).unwrap();
        assert_eq!(set.find(&spec).unwrap(), Some(want), "{name}");
    }
    for name in ["UUID=1e000000-0000-4000-8000-000000000b01", "LABEL=uburoot"] {
        let spec = domuloader::guest::spec::DeviceSpec::parse(name).unwrap();
        assert_eq!(set.find(&spec).unwrap(), Some(want), "{name}");
    }
    let spec =
        domuloader::guest::spec::DeviceSpec::parse("/dev/mapper/ubuntu-vg-ubuntu-lv").unwrap();
    assert_eq!(
        set.find(&spec).unwrap(),
        None,
        "single dashes are not the dm name"
    );
}

// ---- through the real binary

/// The sha256 of a file of the manifest.
fn expected_sha(manifest_name: &str, dev: &str, path: &str) -> String {
    manifest(manifest_name)
        .into_iter()
        .find(|l| l[0] == "file" && l[1] == dev && l[2] == path)
        .unwrap_or_else(|| panic!("{dev} {path} not in {manifest_name}"))[4]
        .clone()
}

struct Booted {
    kernel: String,
    ramdisk: String,
    args: String,
}

/// Boots with `args` (plus JSON output into a fresh directory) and hashes what was copied.
fn boot(args: &[&str]) -> Booted {
    let out = tempfile::tempdir().unwrap();
    let dir = format!("--output-directory={}", out.path().display());
    let mut all = vec!["-q", "--output-format=json", dir.as_str()];
    all.extend_from_slice(args);
    let r = common::run_str(&all);
    assert!(
        r.status.success(),
        "{all:?}: {}",
        String::from_utf8_lossy(&r.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&r.stdout).unwrap();
    let hash = |k: &str| match v[k].as_str() {
        Some(p) => sha(&std::fs::read(p).unwrap()),
        None => String::new(),
    };
    Booted {
        kernel: hash("kernel"),
        ramdisk: hash("ramdisk"),
        args: v["args"].as_str().unwrap_or_default().to_owned(),
    }
}

fn fixture_str(name: &str) -> String {
    common::fixture(name).to_str().unwrap().to_owned()
}

const DEB_K: &str = "6.1.0-13-amd64";

#[test]
fn debian_lvm_boots_by_path_through_the_lv_roots_fstab() {
    let img = fixture_str("lvm-debian.img");
    let b = boot(&["--entry=/boot/vmlinuz,/boot/initrd.img", &img]);
    assert_eq!(
        b.kernel,
        expected_sha("lvm-debian", "p1", &format!("/vmlinuz-{DEB_K}"))
    );
    assert_eq!(
        b.ramdisk,
        expected_sha("lvm-debian", "p1", &format!("/initrd.img-{DEB_K}"))
    );
    // The root's own symlinks /vmlinuz -> boot/vmlinuz-K, followed into the /boot mount.
    let b = boot(&["--entry=/vmlinuz,/initrd.img", &img]);
    assert_eq!(
        b.kernel,
        expected_sha("lvm-debian", "p1", &format!("/vmlinuz-{DEB_K}"))
    );
    // --root as VG/LV and as the dm name.
    for root in [
        "--root=debian-vg/root",
        "--root=/dev/mapper/debian--vg-root",
    ] {
        let b = boot(&[root, "--entry=/boot/vmlinuz", &img]);
        assert_eq!(
            b.kernel,
            expected_sha("lvm-debian", "p1", &format!("/vmlinuz-{DEB_K}"))
        );
    }
}

#[test]
fn debian_lvm_boots_by_menu() {
    let img = fixture_str("lvm-debian.img");
    let b = boot(&[&img]);
    assert_eq!(
        b.kernel,
        expected_sha("lvm-debian", "p1", &format!("/vmlinuz-{DEB_K}"))
    );
    assert_eq!(
        b.ramdisk,
        expected_sha("lvm-debian", "p1", &format!("/initrd.img-{DEB_K}"))
    );
    assert_eq!(b.args, "root=/dev/mapper/debian--vg-root ro quiet");
}

#[test]
fn all_in_lvm_boots_by_path_menu_and_dev_volume() {
    let img = fixture_str("lvm-ubuntu.img");
    let k = expected_sha(
        "lvm-ubuntu",
        "ubuntu-vg/ubuntu-lv",
        "/boot/vmlinuz-6.8.0-31-generic",
    );
    let i = expected_sha(
        "lvm-ubuntu",
        "ubuntu-vg/ubuntu-lv",
        "/boot/initrd.img-6.8.0-31-generic",
    );
    for args in [
        vec!["--entry=/boot/vmlinuz,/boot/initrd.img", img.as_str()],
        vec![
            "--entry=ubuntu-vg/ubuntu-lv:/boot/vmlinuz,/boot/initrd.img",
            img.as_str(),
        ],
        vec![
            "--entry=/dev/mapper/ubuntu--vg-ubuntu--lv:/boot/vmlinuz,/boot/initrd.img",
            img.as_str(),
        ],
        vec![img.as_str()],
    ] {
        let b = boot(&args);
        assert_eq!(
            (b.kernel.as_str(), b.ramdisk.as_str()),
            (k.as_str(), i.as_str()),
            "{args:?}"
        );
    }
    assert_eq!(
        boot(&[&img]).args,
        "root=/dev/mapper/ubuntu--vg-ubuntu--lv ro"
    );
}

#[test]
fn vg_on_two_disks_boots_with_disks() {
    let (a, b) = (fixture_str("lvm-span-a.img"), fixture_str("lvm-span-b.img"));
    let disks = format!("--disks=['file:{a},xvda,w', 'file:{b},xvdb,w']");
    let got = boot(&[&disks, "--entry=/boot/vmlinuz,/boot/initrd.img"]);
    assert_eq!(
        got.kernel,
        expected_sha("lvm-span", "p1", &format!("/vmlinuz-{DEB_K}"))
    );
    assert_eq!(
        got.ramdisk,
        expected_sha("lvm-span", "p1", &format!("/initrd.img-{DEB_K}"))
    );
    // A file of the LV root, which lies across both disks.
    let got = boot(&[&disks, "--entry=span/root:/etc/big,"]);
    assert_eq!(
        got.kernel,
        expected_sha("lvm-span", "span/root", "/etc/big")
    );
}

#[test]
fn vg_missing_a_disk_names_the_missing_pv() {
    let out = tempfile::tempdir().unwrap();
    let dir = format!("--output-directory={}", out.path().display());
    let r = common::run_str(&[
        &dir,
        "--entry=/boot/vmlinuz,/boot/initrd.img",
        &fixture_str("lvm-span-a.img"),
    ]);
    let line = common::assert_clean_failure(&r);
    assert!(
        line.contains("span/root: LVM2 PV") && line.contains("not in the disk set"),
        "{line}"
    );
    assert_eq!(std::fs::read_dir(out.path()).unwrap().count(), 0);
}

#[test]
fn rhel_ext4_boots_by_bls_menu_and_path() {
    let img = fixture_str("lvm-rhel-ext4.img");
    rhel_boots("lvm-rhel-ext4", &img);
}

/// Needs the XFS reader (branch `xfs`): skipped with a note until it is merged.
#[test]
fn rhel_xfs_boots_by_bls_menu_and_path() {
    let set = set_of(&["lvm-rhel-xfs.img"]);
    if reads_xfs(&set, "p2") {
        rhel_boots("lvm-rhel-xfs", &fixture_str("lvm-rhel-xfs.img"));
    }
}

fn rhel_boots(name: &str, img: &str) {
    const R: &str = "5.14.0-362.8.1.el9_3.x86_64";
    let k = expected_sha(name, "p2", &format!("/vmlinuz-{R}"));
    let i = expected_sha(name, "p2", &format!("/initramfs-{R}.img"));
    let menu = boot(&[img]);
    assert_eq!(
        (menu.kernel.as_str(), menu.ramdisk.as_str()),
        (k.as_str(), i.as_str())
    );
    assert_eq!(
        menu.args,
        "root=/dev/mapper/rhel-root ro crashkernel=1G-4G:192M,4G-64G:256M resume=/dev/mapper/rhel-swap rd.lvm.lv=rhel/root rd.lvm.lv=rhel/swap"
    );
    let path = boot(&["--entry=/boot/vmlinuz,/boot/initramfs.img", img]);
    assert_eq!(
        (path.kernel.as_str(), path.ramdisk.as_str()),
        (k.as_str(), i.as_str())
    );
}

#[test]
fn inspect_lists_the_lvs() {
    let img = fixture_str("lvm-debian.img");
    let r = common::run_str(&["--inspect", "--output-format=json", &img]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let v: serde_json::Value = serde_json::from_slice(&r.stdout).unwrap();
    let lvs = v["volumes"].as_array().unwrap();
    let m = manifest("lvm-debian");
    let root = m
        .iter()
        .find(|l| l[0] == "lv" && l[1] == "debian-vg/root")
        .unwrap();
    assert_eq!(lvs.len(), 2);
    assert_eq!(lvs[0]["vg"], "debian-vg");
    assert_eq!(lvs[0]["lv"], "root");
    assert_eq!(lvs[0]["uuid"], root[5].as_str());
    assert_eq!(lvs[0]["size"].to_string(), root[2]);
    assert_eq!(lvs[0]["filesystem"]["type"], "ext4");
    assert_eq!(
        lvs[0]["filesystem"]["uuid"],
        "1e000000-0000-4000-8000-000000000d02"
    );
    assert_eq!(lvs[0]["filesystem"]["label"], "debroot");
    assert_eq!(lvs[1]["lv"], "swap_1");
    assert_eq!(lvs[1]["filesystem_error"], "unsupported filesystem swap");
    let r = common::run_str(&["--inspect", &img]);
    let text = String::from_utf8(r.stdout).unwrap();
    assert!(
        text.lines().any(|l| l.starts_with("debian-vg/root ")
            && l.contains("ext4")
            && l.contains("debroot")),
        "{text}"
    );
    // A disk without LVM has an empty list.
    let r = common::run_str(&[
        "--inspect",
        "--output-format=json",
        &fixture_str("part-mbr.img"),
    ]);
    let v: serde_json::Value = serde_json::from_slice(&r.stdout).unwrap();
    assert_eq!(v["volumes"], serde_json::json!([]));
}

// ---- hostile metadata

/// Time and memory bounds of the issue.
const TIME_LIMIT: Duration = Duration::from_secs(2);
const MEM_LIMIT: u64 = 256 * 1024 * 1024;

/// Runs the binary under RLIMIT_AS = 256 MiB; returns (exit code, stderr, elapsed).
fn run_bounded(args: &[String]) -> (Option<i32>, String, Duration) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_domuloader"));
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    common::limit_address_space(&mut cmd, MEM_LIMIT);
    let start = Instant::now();
    let out = cmd.output().unwrap();
    let elapsed = start.elapsed();
    assert_eq!(out.status.signal(), None, "{args:?}: killed");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        elapsed,
    )
}

/// Each hostile image, booted by path entry and by menu: one line naming the problem, exit
/// 1, nothing left in the output directory, within the time and memory bounds.
#[test]
fn hostile_metadata_fails_cleanly() {
    let cases: &[(&[&str], &str)] = &[
        (
            &["lvm-thin"],
            "xvda5: LVM2 thin volume debian-vg/root (unsupported)",
        ),
        (
            &["lvm-loop"],
            "LVM2 layered volume debian-vg/root (unsupported)",
        ),
        (
            &["lvm-huge-extents"],
            "LV root uses extents 0..4611686018427387904",
        ),
        (&["lvm-past-end"], "runs past the end of PV xvda5"),
        (
            &["lvm-overlap-pe"],
            "PV extent 10 is used by both root and swap_1",
        ),
        (&["lvm-overlap-le"], "segments overlap or leave a gap"),
        (&["lvm-garbage"], "bad LVM2 metadata: text line 1"),
        (&["lvm-deep"], "nested deeper than 16"),
        (&["lvm-many"], "more than 131072 values"),
        (&["lvm-two-vgs"], "more than one volume group"),
        (
            &["lvm-huge-text"],
            "text of 2147483648 bytes is larger than",
        ),
        (&["lvm-outside-area"], "text lies outside its area"),
        (&["lvm-bad-header"], "header checksum mismatch"),
        (
            &["lvm-seqno-a", "lvm-seqno-b"],
            "two different metadata texts both have seqno",
        ),
        (&["lvm-many-lvs"], "no guest root filesystem"),
    ];
    for (images, want) in cases {
        let paths: Vec<String> = images
            .iter()
            .map(|i| fixture_str(&format!("hostile/{i}.img")))
            .collect();
        // Size and mtime: any write would change them (hashing 40 MiB images in a debug
        // build would dominate the test's time).
        let stamp = |p: &String| {
            let m = std::fs::metadata(p).unwrap();
            (m.len(), m.modified().unwrap())
        };
        let before: Vec<_> = paths.iter().map(stamp).collect();
        let disks = match paths.as_slice() {
            [one] => one.clone(),
            [a, b] => format!("--disks=['file:{a},xvda,r', 'file:{b},xvdb,r']"),
            _ => unreachable!(),
        };
        for entry in ["--entry=/boot/vmlinuz,/boot/initrd.img", "--entry=0"] {
            let out = tempfile::tempdir().unwrap();
            let args = vec![
                format!("--output-directory={}", out.path().display()),
                entry.to_owned(),
                disks.clone(),
            ];
            let (code, err, elapsed) = run_bounded(&args);
            let what = format!("{images:?} {entry}");
            assert_eq!(code, Some(1), "{what}: {err}");
            assert!(!err.contains("panicked"), "{what}: {err}");
            assert_eq!(err.trim_end().lines().count(), 1, "{what}: {err:?}");
            if entry != "--entry=0" {
                assert!(err.contains(want), "{what}: {err}");
            }
            assert!(elapsed < TIME_LIMIT, "{what}: took {elapsed:?}");
            assert_eq!(std::fs::read_dir(out.path()).unwrap().count(), 0, "{what}");
        }
        let r = common::run_str(&["--inspect", &paths[0]]);
        assert!(!String::from_utf8_lossy(&r.stderr).contains("panicked"));
        let after: Vec<_> = paths.iter().map(stamp).collect();
        assert_eq!(before, after, "{images:?} changed");
    }
}

#[test]
fn duplicate_pv_uuids_are_refused() {
    let img = fixture_str("lvm-debian.img");
    let out = tempfile::tempdir().unwrap();
    let args = vec![
        format!("--output-directory={}", out.path().display()),
        "--entry=/boot/vmlinuz".to_owned(),
        format!("--disks=['file:{img},xvda,r', 'file:{img},xvdb,r']"),
    ];
    let (code, err, elapsed) = run_bounded(&args);
    assert_eq!(code, Some(1), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err:?}");
    assert!(
        err.contains("found on several devices (xvda5, xvdb5)"),
        "{err}"
    );
    assert!(elapsed < TIME_LIMIT);
}

/// /boot's filesystem cannot be read (here: an XFS magic over the ext2 /boot, unsupported or
/// corrupt depending on the build): the error names that device, not only "no such file".
#[test]
fn unreadable_boot_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let img = tmp.path().join("bootxfs.img");
    let mut bytes = std::fs::read(common::fixture("lvm-debian.img")).unwrap();
    bytes[2048 * 512..2048 * 512 + 4].copy_from_slice(b"XFSB");
    std::fs::write(&img, bytes).unwrap();
    let out = tmp.path().join("out");
    let r = common::run_str(&[
        &format!("--output-directory={}", out.display()),
        "--entry=/boot/vmlinuz,/boot/initrd.img",
        img.to_str().unwrap(),
    ]);
    let line = common::assert_clean_failure(&r);
    assert!(
        line.contains("fstab line 4 (/boot)") && line.contains("cannot read: xvda1: "),
        "{line}"
    );
    assert!(!out.exists() || std::fs::read_dir(&out).unwrap().count() == 0);
}
