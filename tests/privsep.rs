//! Issue 18: `--runas` and the sandbox in every mode that parses guest bytes, a worker that
//! never outlives its parent, reports without a size limit tied to user input, a console
//! line only for a boot that happened, one line per failure, and a metadata budget that
//! does not grow with `--max-size`. Every test goes through the real binary, as root
//! (libxl's restricted mode needs it); without root each prints why it is skipped.

mod common;

use std::io::{BufRead, BufReader, Read};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const UID: &str = "12345";

fn img() -> PathBuf {
    common::fixture("cli-paths.img")
}

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_domuloader"))
}

fn root_or_skip(test: &str) -> bool {
    let root = unsafe { libc::geteuid() } == 0;
    if !root {
        eprintln!("{test}: skipped, needs root to switch users");
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("{test}: CI runs as root");
        }
    }
    root
}

fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// A root-only copy of an image (the parent opens it; the worker could not).
fn root_only_copy(tmp: &Path, src: &Path) -> PathBuf {
    let p = tmp.join("guest.img");
    std::fs::copy(src, &p).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
    p
}

fn parsed_as_uid(err: &str) -> bool {
    err.contains(&format!("parsing the guest as uid {UID}, gid {UID}"))
}

#[test]
fn every_mode_parses_in_the_unprivileged_worker() {
    if !root_or_skip("every_mode_parses_in_the_unprivileged_worker") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let disk = root_only_copy(tmp.path(), &img());
    let menu = tmp.path().join("menu.img");
    std::fs::copy(common::fixture("menu-grub2-index.img"), &menu).unwrap();
    std::fs::set_permissions(&menu, std::fs::Permissions::from_mode(0o600)).unwrap();
    let cfg = tmp.path().join("grub.cfg");
    std::fs::write(
        &cfg,
        "menuentry 'One' {\n linux /vmlinuz root=/dev/xvda1\n}\n",
    )
    .unwrap();
    std::fs::set_permissions(&cfg, std::fs::Permissions::from_mode(0o600)).unwrap();
    let out = tmp.path().join("out");
    let runas = format!("--runas={UID}");
    let modes: Vec<(&str, Vec<String>)> = vec![
        ("-l", vec!["-l".into(), menu.display().to_string()]),
        (
            "--inspect",
            vec!["--inspect".into(), disk.display().to_string()],
        ),
        (
            "--isconfig",
            vec!["--isconfig".into(), cfg.display().to_string()],
        ),
        (
            "dry run",
            vec![
                "-n".into(),
                "--entry=xvda:/vmlinuz".into(),
                disk.display().to_string(),
            ],
        ),
        (
            "boot",
            vec![
                format!("--output-directory={}", out.display()),
                "--entry=xvda:/vmlinuz,/initrd.img".into(),
                disk.display().to_string(),
            ],
        ),
    ];
    for (mode, argv) in modes {
        let o = bin().arg("-v").arg(&runas).args(&argv).output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(o.status.success(), "{mode}: {err}");
        assert!(parsed_as_uid(&err), "{mode}: {err}");
        assert!(err.contains("sandbox: Landlock"), "{mode}: {err}");
        assert!(!o.stdout.is_empty() || mode == "dry run", "{mode}");
    }
    assert_eq!(listing(&out).len(), 2);
}

fn paused_runas_boot(dir: &Path, disk: &Path) -> (std::process::Child, i32) {
    let mut child = bin()
        .args([
            "-q",
            &format!("--runas={UID}"),
            &format!("--output-directory={}", dir.display()),
            "--entry=xvda:/vmlinuz,/initrd.img",
        ])
        .arg(disk)
        .env("DOMULOADER_TEST_PAUSE", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    err.read_line(&mut line).unwrap();
    let worker = line
        .trim()
        .strip_prefix("test pause: worker ")
        .unwrap_or_else(|| panic!("no pause line: {line:?}"))
        .parse()
        .unwrap();
    (child, worker)
}

fn gone(pid: i32) -> bool {
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            Err(_) => return true,
            Ok(s) if s.contains(") Z ") => return true,
            Ok(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
    false
}

#[test]
fn the_worker_dies_with_its_parent_and_leaves_nothing() {
    if !root_or_skip("the_worker_dies_with_its_parent_and_leaves_nothing") {
        return;
    }
    for sig in [libc::SIGKILL, libc::SIGTERM] {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let disk = root_only_copy(tmp.path(), &img());
        let dir = tmp.path().join("bootloader.7.d");
        std::fs::create_dir(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
        let (mut child, worker) = paused_runas_boot(&dir, &disk);
        let status = std::fs::read_to_string(format!("/proc/{worker}/status")).unwrap();
        assert!(
            status
                .lines()
                .any(|l| l.starts_with("Uid:") && l.contains(UID)),
            "{status}"
        );
        unsafe { libc::kill(child.id() as i32, sig) };
        child.wait().unwrap();
        assert!(gone(worker), "signal {sig}: the worker outlived its parent");
        assert!(
            listing(&dir).is_empty(),
            "signal {sig}: {:?}",
            listing(&dir)
        );
    }
}

#[test]
fn long_args_work_with_runas() {
    if !root_or_skip("long_args_work_with_runas") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let args = "x".repeat(100 * 1024);
    let o = bin()
        .args([
            "-q",
            &format!("--runas={UID}"),
            "--output-format=json",
            &format!("--output-directory={}", tmp.path().display()),
            "--entry=xvda:/vmlinuz,",
            &format!("--args={args}"),
        ])
        .arg(img())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["args"].as_str().unwrap().len(), args.len());
}

#[test]
fn the_console_line_only_follows_a_written_result() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("d");
    let o = bin()
        .args([
            "--output=/dev/full",
            &format!("--output-directory={}", dir.display()),
            "--entry=xvda:/vmlinuz,/initrd.img",
        ])
        .arg(img())
        .output()
        .unwrap();
    let line = common::assert_clean_failure(&o);
    assert!(line.contains("/dev/full"), "{line}");
    assert!(
        !String::from_utf8_lossy(&o.stdout).contains("Copy kernel"),
        "console claims a boot that did not happen"
    );
    assert!(!dir.exists());
    // And on success it is there, on stdout when the result goes to a file.
    let out = tmp.path().join("result");
    let o = bin()
        .args([
            &format!("--output={}", out.display()),
            &format!("--output-directory={}", dir.display()),
            "--entry=xvda:/vmlinuz,/initrd.img",
        ])
        .arg(img())
        .output()
        .unwrap();
    assert!(o.status.success());
    assert!(String::from_utf8_lossy(&o.stdout).starts_with("Copy kernel /vmlinuz from xvda"));
}

/// ext3 with a needs_recovery flag and a zeroed journal superblock: the reader warns that
/// it reads the (possibly stale) on-disk state.
fn unreplayable_journal(tmp: &Path) -> PathBuf {
    let p = tmp.join("ext3-badjournal.img");
    let mut bytes = std::fs::read(common::fixture("ext-ext3-dirty.img")).unwrap();
    // The journal's first block (debugfs "bmap <8> 0") is 266 in this fixture.
    bytes[266 * 4096..267 * 4096].fill(0);
    std::fs::write(&p, bytes).unwrap();
    p
}

#[test]
fn warnings_before_an_error_show_only_under_verbose() {
    let tmp = tempfile::tempdir().unwrap();
    let disk = unreplayable_journal(tmp.path());
    let argv = |v: bool| {
        let mut a = vec![
            format!("--output-directory={}", tmp.path().join("d").display()),
            "--max-size=1000000".to_owned(),
            "--entry=xvda:/boot/vmlinuz-6.1.0-test".to_owned(),
            disk.display().to_string(),
        ];
        if v {
            a.push("-v".into());
        }
        a
    };
    let o = bin().args(argv(false)).output().unwrap();
    let line = common::assert_clean_failure(&o);
    assert!(line.contains("size cap"), "{line}");
    let o = bin().args(argv(true)).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("warning: xvda: ext3 filesystem was not cleanly unmounted"),
        "{err}"
    );
}

#[test]
fn the_metadata_budget_does_not_grow_with_max_size() {
    // A directory loop walked under a huge --max-size still ends fast.
    let tmp = tempfile::tempdir().unwrap();
    let start = Instant::now();
    let mut err = String::new();
    let mut child = bin()
        .args([
            "-q",
            "--max-size=1T",
            &format!("--output-directory={}", tmp.path().display()),
            &format!("--entry=xvda:{}/vmlinuz,", "/l".repeat(2000)),
        ])
        .arg(img())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert_eq!(child.wait().unwrap().code(), Some(1), "{err}");
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
}
