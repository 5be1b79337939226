//! Hostile XFS images (fixtures/build/xfs-hostile.sh) through the real binary: each run
//! fails with one line naming the defect, exit status 1, nothing left in the output
//! directory, in under 2 s and under a 256 MiB address-space limit.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const TIME_LIMIT: Duration = Duration::from_secs(2);
const MEM_LIMIT: u64 = 256 * 1024 * 1024;

/// (fixture, entry, what the one error line must contain). An empty entry boots the newest
/// /boot/vmlinuz-*; superblock refusals name the device (`xvda:`), which a default boot
/// cannot, as no filesystem was read.
const CASES: &[(&str, &str, &str)] = &[
    (
        "xfs-badcrc-sb",
        "xvda:/boot/vmlinuz-1",
        "superblock checksum mismatch",
    ),
    ("xfs-badcrc-inode", "", "inode 132: checksum mismatch"),
    (
        "xfs-geometry",
        "xvda:/boot/vmlinuz-1",
        "invalid allocation group geometry",
    ),
    (
        "xfs-blocksize",
        "xvda:/boot/vmlinuz-1",
        "invalid block size",
    ),
    (
        "xfs-realtime",
        "xvda:/boot/vmlinuz-1",
        "unsupported xfs feature realtime device",
    ),
    (
        "xfs-extlog",
        "xvda:/boot/vmlinuz-1",
        "unsupported xfs feature external log",
    ),
    (
        "xfs-needsrepair",
        "xvda:/boot/vmlinuz-1",
        "unsupported xfs feature needsrepair",
    ),
    (
        "xfs-unknown-incompat",
        "xvda:/boot/vmlinuz-1",
        "unknown incompatible feature 0x40000000",
    ),
    (
        "xfs-huge-extents",
        "",
        "4294967295 extents do not fit its fork",
    ),
    ("xfs-extent-outside", "", "is outside the filesystem"),
    (
        "xfs-btree-shared",
        "",
        "extents overlap or are out of order",
    ),
    ("xfs-btree-cycle", "", "extent tree levels are inconsistent"),
    (
        "xfs-dir-tail",
        "/d/entry-1",
        "directory block tail is invalid",
    ),
    // "/boot" names the root directory itself: no kernel is found, and nothing loops.
    ("xfs-dirloop", "", "no /boot/vmlinuz-*"),
];

#[test]
fn hostile_xfs_images_fail_cleanly_and_quickly() {
    for &(name, entry, want) in CASES {
        let img = common::unpacked(&common::repo().join(format!("fixtures/hostile/{name}.img.gz")));
        let before = std::fs::read(&img).unwrap();
        let out = tempfile::tempdir().unwrap();
        let mut args = vec![format!("--output-directory={}", out.path().display())];
        if !entry.is_empty() {
            args.push(format!("--entry={entry}"));
        }
        args.push(img.to_string_lossy().into_owned());
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_domuloader"));
        cmd.args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        common::limit_address_space(&mut cmd, MEM_LIMIT);
        let start = Instant::now();
        let o = cmd.output().unwrap();
        let took = start.elapsed();
        let line = common::assert_clean_failure(&o);
        assert!(line.contains(want), "{name}: {line}");
        assert!(took < TIME_LIMIT, "{name}: took {took:?}");
        assert_eq!(
            std::fs::read_dir(out.path()).unwrap().count(),
            0,
            "{name}: files left behind"
        );
        assert!(
            before == std::fs::read(&img).unwrap(),
            "{name}: image changed"
        );
    }
}
