//! `xl create -c` with a bootloader done within a second (README, "`xl create -c`"): a
//! successful boot does not exit before xl's console client — a sibling process named `xl`
//! that execs `xenconsole`, which opens the bootloader's pty — is on a pty. Here the test
//! process plays xl: it starts a fake console child, then domuloader, as libxl does.
//! One test in its own binary, so no other test's domuloader sees the fake client.

mod common;

use std::fs::File;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// A pty pair; returns the master (kept open so the slave can be opened) and the slave path.
fn pty() -> (File, PathBuf) {
    let master = File::options()
        .read(true)
        .write(true)
        .open("/dev/ptmx")
        .expect("open /dev/ptmx");
    let fd = std::os::fd::AsRawFd::as_raw_fd(&master);
    let mut name = [0 as libc::c_char; 64];
    // SAFETY: fd is an open ptmx descriptor; the buffer outlives the call and its length
    // is passed.
    let ok = unsafe {
        libc::unlockpt(fd) == 0 && libc::ptsname_r(fd, name.as_mut_ptr(), name.len()) == 0
    };
    assert!(
        ok,
        "unlockpt/ptsname_r: {}",
        std::io::Error::last_os_error()
    );
    // SAFETY: ptsname_r wrote a NUL-terminated string into `name`.
    let path = unsafe { std::ffi::CStr::from_ptr(name.as_ptr()) };
    (master, PathBuf::from(path.to_str().unwrap()))
}

fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    p
}

/// xl's console child: `xl` for 1 s, then `xenconsole`, which opens the pty on fd 3 and
/// records that moment in `attached`.
fn fake_console_child(dir: &Path, pts: &Path) -> Child {
    let attached = dir.join("attached");
    script(
        dir,
        "xenconsole",
        // blocks in the shell itself (no child left behind when the test kills it)
        &format!(
            "exec 3<>{}\n: > {}\nmkfifo {d}/hold && read x < {d}/hold",
            pts.display(),
            attached.display(),
            d = dir.display()
        ),
    );
    let xl = script(
        dir,
        "xl",
        &format!("sleep 1\nexec {}/xenconsole", dir.display()),
    );
    Command::new(xl)
        .spawn()
        .expect("spawn fake xl console child")
}

fn boot(dir: &Path, extra: &[&str]) -> (std::process::Output, Duration) {
    let out = dir.join("bootloader.7.out");
    let outdir = dir.join("bootloader.7.d");
    std::fs::write(&out, b"").unwrap();
    let _ = std::fs::remove_dir_all(&outdir);
    std::fs::create_dir(&outdir).unwrap();
    let disk = common::fixture("guest-multi.img");
    let t = Instant::now();
    let o = Command::new(env!("CARGO_BIN_EXE_domuloader"))
        .arg(format!("--output={}", out.display()))
        .arg("--output-format=simple0")
        .arg(format!("--output-directory={}", outdir.display()))
        .args(extra)
        .arg(&disk)
        .output()
        .expect("spawn domuloader");
    (o, t.elapsed())
}

#[test]
fn a_boot_waits_for_xls_console_client_and_only_for_it() {
    let tmp = tempfile::tempdir().unwrap();
    let (_master, pts) = pty();

    // No console child: no wait.
    let (o, took) = boot(tmp.path(), &["-v"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        took < Duration::from_millis(900),
        "waited without a console child: {took:?}"
    );
    assert!(!String::from_utf8_lossy(&o.stderr).contains("console client"));

    // With one: domuloader is done long before the client starts, and exits after it is on
    // the pty (not at the 5 s cap).
    let (o, took) = with_console_child(tmp.path(), &pts, &["-v"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(
        took < Duration::from_millis(4500),
        "ran into the cap: {took:?}"
    );
    assert!(err.contains("for xl's console client"), "{err}");

    // A failure waits too, so the client shows our one line; still one line, exit 1.
    let (o, _) = with_console_child(tmp.path(), &pts, &["--entry=xvda2:/boot/no-such-kernel"]);
    let line = common::assert_clean_failure(&o);
    assert!(line.contains("no-such-kernel"), "{line}");
}

/// Boots with a fake console child running; checks domuloader exited only after the client
/// was on the pty.
fn with_console_child(dir: &Path, pts: &Path, extra: &[&str]) -> (std::process::Output, Duration) {
    let _ = std::fs::remove_file(dir.join("attached"));
    let _ = std::fs::remove_file(dir.join("hold"));
    let mut child = fake_console_child(dir, pts);
    let (o, took) = boot(dir, extra);
    let attached = dir.join("attached").exists();
    child.kill().ok();
    child.wait().ok();
    assert!(
        attached,
        "domuloader exited ({took:?}) before the console client was on the pty"
    );
    assert!(took >= Duration::from_millis(900), "{took:?}");
    (o, took)
}
