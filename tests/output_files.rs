//! Issue 5: output files are safe — a planted symlink is never followed, concurrent runs
//! never collide, a full output filesystem or a size cap fails cleanly leaving nothing, and
//! `--runas` really runs the parsing as an unprivileged uid.

mod common;

use std::ffi::OsStr;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

fn multi() -> PathBuf {
    common::fixture("guest-multi.img")
}

fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn boot_args(dir: &Path, extra: &[&str]) -> Vec<String> {
    let mut v = vec![
        "-q".to_owned(),
        "--output-format=simple0".to_owned(),
        format!("--output-directory={}", dir.display()),
        "--entry=xvda1:/vmlinuz-1,/initrd.img-1".to_owned(),
    ];
    v.extend(extra.iter().map(|s| s.to_string()));
    v.push(multi().display().to_string());
    v
}

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_domuloader"))
}

#[test]
fn planted_symlinks_are_never_followed_or_touched() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("out");
    std::fs::create_dir(&dir).unwrap();
    let victim = tmp.path().join("victim");
    std::fs::write(&victim, b"precious").unwrap();
    // Names an attacker might guess, in every form we create.
    let mut planted = Vec::new();
    for name in [
        "kernel.AAAAAA",
        ".kernel.AAAAAA.partial",
        "ramdisk.AAAAAA",
        ".ramdisk.AAAAAA.partial",
    ] {
        std::os::unix::fs::symlink(&victim, dir.join(name)).unwrap();
        planted.push(name.to_owned());
    }
    for _ in 0..10 {
        let o = bin().args(boot_args(&dir, &[])).output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
    for name in &planted {
        assert!(dir
            .join(name)
            .symlink_metadata()
            .unwrap()
            .file_type()
            .is_symlink());
    }
    assert_eq!(
        listing(&dir).len(),
        planted.len() + 20,
        "10 kernels, 10 ramdisks, links intact"
    );
}

#[test]
fn thirty_two_concurrent_runs_get_distinct_files() {
    let tmp = tempfile::tempdir().unwrap();
    let children: Vec<_> = (0..32)
        .map(|i| {
            let out = tmp.path().join(format!("result.{i}"));
            bin()
                .args(boot_args(
                    tmp.path(),
                    &[&format!("--output={}", out.display())],
                ))
                .spawn()
                .unwrap()
        })
        .collect();
    for mut c in children {
        assert!(c.wait().unwrap().success());
    }
    let mut named = std::collections::HashSet::new();
    for i in 0..32 {
        let r = std::fs::read(tmp.path().join(format!("result.{i}"))).unwrap();
        for item in r.split(|&b| b == 0).filter(|i| !i.is_empty()) {
            if !item.starts_with(b"args") {
                assert!(named.insert(item.to_vec()), "a file named twice");
            }
        }
    }
    assert_eq!(named.len(), 64);
    let files = listing(tmp.path())
        .into_iter()
        .filter(|n| !n.starts_with("result."))
        .count();
    assert_eq!(files, 64);
}

#[test]
fn size_cap_fails_before_copying_and_leaves_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let o = bin()
        .args(boot_args(tmp.path(), &["--max-size=10K"]))
        .output()
        .unwrap();
    let line = common::assert_clean_failure(&o);
    assert!(line.contains("10240"), "{line}");
    assert!(listing(tmp.path()).is_empty(), "{:?}", listing(tmp.path()));
}

#[test]
fn file_size_limit_fails_cleanly_not_by_signal() {
    // RLIMIT_FSIZE makes writes fail as on a full disk; SIGXFSZ must not kill us.
    let tmp = tempfile::tempdir().unwrap();
    let mut cmd = bin();
    cmd.args(boot_args(tmp.path(), &[]));
    unsafe {
        cmd.pre_exec(|| {
            let lim = libc::rlimit {
                rlim_cur: 16 * 1024,
                rlim_max: 16 * 1024,
            };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let o = cmd.output().unwrap();
    common::assert_clean_failure(&o);
    assert!(listing(tmp.path()).is_empty(), "{:?}", listing(tmp.path()));
}

#[test]
fn full_output_filesystem_fails_cleanly() {
    if !common::have_root() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let mnt = tmp.path().join("small");
    std::fs::create_dir(&mnt).unwrap();
    let ok = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=64k", "tmpfs"])
        .arg(&mnt)
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        common::skip("cannot mount a tmpfs here (RLIMIT_FSIZE case covers it)");
        return;
    }
    let o = bin().args(boot_args(&mnt, &[])).output().unwrap();
    let before = listing(&mnt);
    let _ = Command::new("umount").arg(&mnt).status();
    let line = common::assert_clean_failure(&o);
    assert!(line.contains("filesystem full"), "{line}");
    assert!(before.is_empty(), "{before:?}");
}

/// A libxl-like setup readable by `uid`: image 0644, output dir and file owned by root.
fn runas_setup() -> (tempfile::TempDir, PathBuf, PathBuf, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let img = tmp.path().join("guest.img");
    std::fs::copy(multi(), &img).unwrap();
    std::fs::set_permissions(&img, std::fs::Permissions::from_mode(0o644)).unwrap();
    let dir = tmp.path().join("bootloader.7.d");
    std::fs::create_dir(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    let out = tmp.path().join("bootloader.7.out");
    std::fs::write(&out, b"").unwrap();
    std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o600)).unwrap();
    (tmp, img, dir, out)
}

fn runas_argv(img: &Path, dir: &Path, out: &Path, entry: &str) -> Vec<String> {
    vec![
        "--runas=12345".into(),
        "--quiet".into(),
        format!("--output={}", out.display()),
        "--output-format=simple0".into(),
        format!("--output-directory={}", dir.display()),
        format!("--entry={entry}"),
        img.display().to_string(),
    ]
}

#[test]
fn runas_parses_as_the_unprivileged_uid() {
    if !common::have_root() {
        return;
    }
    let (_tmp, img, dir, out) = runas_setup();
    let o = bin()
        .args(runas_argv(
            &img,
            &dir,
            &out,
            "xvda1:/vmlinuz-1,/initrd.img-1",
        ))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let files = listing(&dir);
    assert_eq!(files.len(), 2, "{files:?}");
    assert!(!std::fs::read(&out).unwrap().is_empty());
    // The image is readable by uid 12345 but the output dir (0700 root) is not writable by
    // it: success proves the parent created and renamed, the child only wrote.
    for f in files {
        assert_eq!(
            std::fs::metadata(dir.join(f)).unwrap().mode() & 0o777,
            0o600
        );
    }
}

#[test]
fn runas_failure_is_reported_with_the_real_status() {
    if !common::have_root() {
        return;
    }
    let (_tmp, img, dir, out) = runas_setup();
    let o = bin()
        .args(runas_argv(&img, &dir, &out, "xvda1:/missing"))
        .output()
        .unwrap();
    let line = common::assert_clean_failure(&o);
    assert!(line.contains("missing"), "{line}");
    assert!(listing(&dir).is_empty(), "{:?}", listing(&dir));
    assert_eq!(std::fs::read(&out).unwrap(), b"");
}

#[test]
fn runas_child_cannot_read_root_only_disks() {
    if !common::have_root() {
        return;
    }
    // The disk is opened by the privileged parent: a root-only image still works, as libxl
    // expects (the loader opens inputs before dropping).
    let (_tmp, img, dir, out) = runas_setup();
    std::fs::set_permissions(&img, std::fs::Permissions::from_mode(0o600)).unwrap();
    let o = bin()
        .args(runas_argv(&img, &dir, &out, "xvda1:/vmlinuz-1"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn works_as_an_ordinary_user_on_a_readable_image() {
    if !common::have_root() {
        return;
    }
    let (tmp, img, _dir, _out) = runas_setup();
    let userdir = tmp.path().join("user-out");
    std::fs::create_dir(&userdir).unwrap();
    let c = std::ffi::CString::new(userdir.as_os_str().as_encoded_bytes()).unwrap();
    assert_eq!(unsafe { libc::chown(c.as_ptr(), 12345, 12345) }, 0);
    let mut cmd = bin();
    cmd.args([
        "-q",
        "--entry=xvda1:/vmlinuz-1",
        &format!("--output-directory={}", userdir.display()),
    ])
    .arg(OsStr::new(&img));
    unsafe {
        cmd.pre_exec(|| {
            if libc::setgroups(0, std::ptr::null()) != 0
                || libc::setgid(12345) != 0
                || libc::setuid(12345) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let o = cmd.output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(listing(&userdir).len(), 1);
}
