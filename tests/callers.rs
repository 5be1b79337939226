//! Issue 5: every caller of compat.md §1 works unchanged — libxl (simple0 into a file it
//! created), xend (sxp into a FIFO), SUSE domUloader (sxp on stdout) and pygrub-style
//! options — and the result parses with each caller's own rules. Goldens cover every format.

mod common;
#[path = "output_formats/libxl.rs"]
mod libxl;
#[path = "output_formats/xend_sxp.rs"]
mod xend_sxp;

use sha2::{Digest, Sha256};
use std::ffi::OsStr;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

fn multi() -> PathBuf {
    common::fixture("guest-multi.img")
}

fn manifest(name: &str) -> String {
    let text = std::fs::read_to_string(common::repo().join("fixtures/guests.sha256")).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")).map(str::to_owned))
        .unwrap()
}

fn sha256(p: &Path) -> String {
    Sha256::digest(std::fs::read(p).unwrap())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// libxl's output file and directory, as `libxl_bootloader.c` makes them.
fn libxl_dirs() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("bootloader.7.out");
    let dir = tmp.path().join("bootloader.7.d");
    std::fs::write(&out, b"").unwrap();
    std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::create_dir(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    (tmp, out, dir)
}

fn libxl_argv(out: &Path, dir: &Path, extra: &[&str], disk: &Path) -> Vec<String> {
    let mut v = vec![
        "--args=root=/dev/xvda2 ro console=hvc0".to_owned(),
        format!("--output={}", out.display()),
        "--output-format=simple0".to_owned(),
        format!("--output-directory={}", dir.display()),
    ];
    v.extend(extra.iter().map(|s| s.to_string()));
    v.push(disk.display().to_string());
    v
}

fn run(argv: &[String]) -> std::process::Output {
    let v: Vec<&OsStr> = argv.iter().map(OsStr::new).collect();
    common::run(&v)
}

#[test]
fn libxl_simple0_result_parses_with_libxl_rules() {
    let (_tmp, out, dir) = libxl_dirs();
    let argv = libxl_argv(
        &out,
        &dir,
        &["--entry=xvda1:/vmlinuz-1,/initrd.img-1"],
        &multi(),
    );
    let o = run(&argv);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let bytes = std::fs::read(&out).unwrap();
    assert!(bytes.ends_with(b"\0\0"), "{bytes:?}");
    let r = libxl::parse(&bytes, 0);
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    let kernel = PathBuf::from(String::from_utf8(r.kernel.unwrap()).unwrap());
    let ramdisk = PathBuf::from(String::from_utf8(r.ramdisk.unwrap()).unwrap());
    assert_eq!(
        kernel.parent(),
        Some(dir.as_path()),
        "kernel inside --output-directory"
    );
    assert_eq!(ramdisk.parent(), Some(dir.as_path()));
    assert_eq!(sha256(&kernel), manifest("boot/vmlinuz-1"));
    assert_eq!(sha256(&ramdisk), manifest("boot/initrd.img-1"));
    assert_eq!(r.args.unwrap(), b"root=/dev/xvda2 ro console=hvc0");
    assert_eq!(
        listing(&dir).len(),
        2,
        "exactly kernel and ramdisk: {:?}",
        listing(&dir)
    );
}

#[test]
fn libxl_failure_writes_nothing_and_exits_1() {
    let (_tmp, out, dir) = libxl_dirs();
    let argv = libxl_argv(&out, &dir, &["--entry=xvda1:/no-such-kernel"], &multi());
    let line = common::assert_clean_failure(&run(&argv));
    assert!(line.contains("no-such-kernel"), "{line}");
    assert_eq!(std::fs::read(&out).unwrap(), b"", "result file untouched");
    assert!(listing(&dir).is_empty(), "{:?}", listing(&dir));
}

/// Reads a FIFO to EOF in a thread, as xend does.
fn fifo_reader(path: &Path) -> std::thread::JoinHandle<Vec<u8>> {
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let p = path.to_owned();
    std::thread::spawn(move || {
        let mut v = Vec::new();
        std::fs::File::open(p).unwrap().read_to_end(&mut v).unwrap();
        v
    })
}

#[test]
fn xend_fifo_gets_sxp_that_xend_parses() {
    let tmp = tempfile::tempdir().unwrap();
    let fifo = tmp.path().join("xenbl.fifo");
    let reader = fifo_reader(&fifo);
    let dir = tmp.path().join("out");
    let argv: Vec<String> = vec![
        "--args=root=/dev/xvda2 ro (quiet) #1".into(),
        "-q".into(),
        format!("--output={}", fifo.display()),
        format!("--output-directory={}", dir.display()),
        "--entry=xvda1:/vmlinuz-1,/initrd.img-1".into(),
        multi().display().to_string(),
    ];
    let o = run(&argv);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let bytes = reader.join().unwrap();
    assert!(
        bytes.starts_with(b"linux "),
        "{}",
        String::from_utf8_lossy(&bytes)
    );
    // xend: `pin.input(ret); blcfg = pin.val`, then `sxp.child_value(blcfg, 'kernel')`,
    // which skips the leading `linux` element name.
    let sxp = xend_sxp::parse(&bytes).unwrap();
    let value = |k: &[u8]| match xend_sxp::child_value(&sxp, k) {
        Some(xend_sxp::Sxp::Atom(a)) => a.clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!(
        sha256(Path::new(std::str::from_utf8(&value(b"kernel")).unwrap())),
        manifest("boot/vmlinuz-1")
    );
    assert_eq!(
        sha256(Path::new(std::str::from_utf8(&value(b"ramdisk")).unwrap())),
        manifest("boot/initrd.img-1")
    );
    assert_eq!(value(b"args"), b"root=/dev/xvda2 ro (quiet) #1");
}

#[test]
fn xend_fifo_stays_empty_on_failure() {
    let tmp = tempfile::tempdir().unwrap();
    let fifo = tmp.path().join("xenbl.fifo");
    let reader = fifo_reader(&fifo);
    let argv: Vec<String> = vec![
        "-q".into(),
        format!("--output={}", fifo.display()),
        format!("--output-directory={}", tmp.path().join("out").display()),
        "--entry=xvda1:/missing".into(),
        multi().display().to_string(),
    ];
    common::assert_clean_failure(&run(&argv));
    assert_eq!(
        reader.join().unwrap(),
        b"",
        "xend reads empty output = failure"
    );
}

#[test]
fn xend_fifo_is_released_when_the_disk_is_missing() {
    // Before the fix the FIFO was opened only after the disks: xend would block forever.
    let tmp = tempfile::tempdir().unwrap();
    let fifo = tmp.path().join("xenbl.fifo");
    let reader = fifo_reader(&fifo);
    let argv: Vec<String> = vec![
        "-q".into(),
        format!("--output={}", fifo.display()),
        format!("--output-directory={}", tmp.path().join("out").display()),
        "--entry=xvda1:/vmlinuz-1".into(),
        tmp.path().join("no-such-disk.img").display().to_string(),
    ];
    common::assert_clean_failure(&run(&argv));
    assert_eq!(reader.join().unwrap(), b"");
    assert!(
        !tmp.path().join("out").exists(),
        "the output directory this run created is removed again"
    );
}

#[test]
fn domuloader_argv_prints_sxp_on_stdout_and_the_copy_line_elsewhere() {
    let tmp = tempfile::tempdir().unwrap();
    let argv: Vec<String> = vec![
        "--entry=xvda1:/vmlinuz-1,/initrd.img-1".into(),
        format!("--tmpdir={}", tmp.path().display()),
        multi().display().to_string(),
        "xvda".into(),
    ];
    let o = run(&argv);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stdout = String::from_utf8_lossy(&o.stdout);
    let sxp = xend_sxp::parse(&o.stdout).unwrap();
    assert_eq!(
        sxp.first(),
        Some(&xend_sxp::Sxp::Atom(b"linux".to_vec())),
        "{stdout}"
    );
    assert!(xend_sxp::child_value(&sxp, b"kernel").is_some(), "{stdout}");
    assert!(
        !stdout.contains("Copy kernel"),
        "stdout holds the result only: {stdout}"
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("for booting"));
    let names = listing(tmp.path());
    assert!(
        names.iter().any(|n| n.starts_with("kernel."))
            && names.iter().any(|n| n.starts_with("ramdisk.")),
        "{names:?}"
    );
}

#[test]
fn pygrub_style_kernel_ramdisk_and_args() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("result");
    let argv: Vec<String> = vec![
        multi().display().to_string(),
        "--kernel=boot/vmlinuz-1".into(),
        "--ramdisk=/boot/initrd.img-1".into(),
        "--root=xvda2".into(),
        "--args=console=hvc0".into(),
        "--output-format=simple".into(),
        format!("--output={}", out.display()),
        format!("--output-directory={}", tmp.path().display()),
        "-q".into(),
    ];
    let o = run(&argv);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let r = libxl::parse(&std::fs::read(&out).unwrap(), b'\n');
    assert_eq!(r.args.unwrap(), b"console=hvc0");
    let k = PathBuf::from(String::from_utf8(r.kernel.unwrap()).unwrap());
    assert_eq!(sha256(&k), manifest("boot/vmlinuz-1"));
}

#[test]
fn harmless_options_of_other_callers_are_tolerated() {
    let tmp = tempfile::tempdir().unwrap();
    for extra in [["-i", "--debug"], ["--not-really", "-v"], ["-n", "--quiet"]] {
        let mut argv: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
        argv.push(format!("--output-directory={}", tmp.path().display()));
        argv.push("--entry=xvda1:/vmlinuz-1".into());
        argv.push(multi().display().to_string());
        let o = run(&argv);
        assert!(
            o.status.success(),
            "{extra:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
}

#[test]
fn dry_run_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("result");
    let argv: Vec<String> = vec![
        "-n".into(),
        format!("--output={}", out.display()),
        format!("--output-directory={}", tmp.path().join("d").display()),
        "--entry=xvda1:/vmlinuz-1,/initrd.img-1".into(),
        multi().display().to_string(),
    ];
    let o = run(&argv);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(o.stdout.is_empty());
    assert!(String::from_utf8_lossy(&o.stderr).contains("would copy kernel /vmlinuz-1"));
    assert!(listing(tmp.path()).is_empty(), "{:?}", listing(tmp.path()));
}

/// The result with the output directory and the random suffixes replaced, for goldens.
fn normalised(bytes: &[u8], dir: &Path) -> Vec<u8> {
    let text = String::from_utf8_lossy(bytes).replace(&dir.display().to_string(), "DIR");
    let mut out = String::new();
    let mut rest = text.as_str();
    while let Some(i) = rest.find("DIR/") {
        out.push_str(&rest[..i + 4]);
        rest = &rest[i + 4..];
        for prefix in ["kernel.", "ramdisk."] {
            if let Some(r) = rest.strip_prefix(prefix) {
                out.push_str(prefix);
                out.push_str("XXXXXX");
                rest = &r[6.min(r.len())..];
            }
        }
    }
    out.push_str(rest);
    out.into_bytes()
}

#[test]
fn every_format_matches_its_golden() {
    let cases: [(&str, &[&str]); 4] = [
        (
            "plain",
            &[
                "--entry=xvda1:/vmlinuz-1,/initrd.img-1",
                "--args=root=/dev/xvda2 ro",
            ],
        ),
        ("no-ramdisk", &["--entry=xvda1:/vmlinuz-1,"]),
        ("no-args", &["--entry=xvda1:/vmlinuz-1,/initrd.img-1"]),
        (
            "nasty-args",
            &[
                "--entry=xvda1:/vmlinuz-1,/initrd.img-1",
                "--args=a 'b' \"c\" (d) #e; f\\g",
            ],
        ),
    ];
    let update = std::env::var_os("UPDATE_GOLDENS").is_some();
    for (name, extra) in cases {
        for format in ["sxp", "simple", "simple0", "json"] {
            let tmp = tempfile::tempdir().unwrap();
            let out = tmp.path().join("result");
            let mut argv: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
            argv.extend([
                "-q".into(),
                format!("--output-format={format}"),
                format!("--output={}", out.display()),
                format!("--output-directory={}", tmp.path().display()),
                multi().display().to_string(),
            ]);
            let o = run(&argv);
            assert!(
                o.status.success(),
                "{name}.{format}: {}",
                String::from_utf8_lossy(&o.stderr)
            );
            let got = normalised(&std::fs::read(&out).unwrap(), tmp.path());
            let golden = common::repo().join(format!("fixtures/expected/cli/{name}.{format}"));
            if update {
                std::fs::write(&golden, &got).unwrap();
            }
            assert_eq!(
                String::from_utf8_lossy(&got),
                String::from_utf8_lossy(&std::fs::read(&golden).unwrap()),
                "{name}.{format} (UPDATE_GOLDENS=1 to rewrite)"
            );
        }
    }
}

#[test]
fn a_value_with_the_separator_is_refused_not_written() {
    for (format, args) in [("simple", "a\nb"), ("sxp", "ok"), ("simple0", "ok")] {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("result");
        std::fs::write(&out, b"").unwrap();
        let argv: Vec<String> = vec![
            format!("--output-format={format}"),
            format!("--args={args}"),
            format!("--output={}", out.display()),
            format!("--output-directory={}", tmp.path().join("d").display()),
            "--entry=xvda1:/vmlinuz-1".into(),
            multi().display().to_string(),
        ];
        let o = run(&argv);
        if args.contains('\n') {
            let line = common::assert_clean_failure(&o);
            assert!(
                line.contains("separator") || line.contains("newline"),
                "{line}"
            );
            assert_eq!(std::fs::read(&out).unwrap(), b"");
            assert!(!tmp.path().join("d").exists(), "created directory removed");
        } else {
            assert!(o.status.success());
        }
    }
}
