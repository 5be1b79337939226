//! Hostile ISO 9660 images (fixtures/build/iso-hostile.sh) through the real binary: each
//! run ends in one line naming what is wrong, exit 1, within 2 s and a 256 MiB address
//! space, with nothing left in the output directory and the image unchanged.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const TIME_LIMIT: Duration = Duration::from_secs(2);
const MEM_LIMIT: u64 = 256 * 1024 * 1024;

/// Runs the binary under RLIMIT_AS; returns (exit code, stderr, elapsed).
fn run_limited(args: &[String]) -> (Option<i32>, String, Duration) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_domuloader"));
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    common::limit_address_space(&mut cmd, MEM_LIMIT);
    let start = Instant::now();
    let out = cmd.output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        start.elapsed(),
    )
}

fn long(prefix: &str, rep: &str, n: usize, last: &str) -> String {
    format!("{prefix}{}{last}", rep.repeat(n))
}

#[test]
fn hostile_isos_fail_cleanly_fast_and_small() {
    let deep = "/deep/l2/l3/l4/l5/l6/l7";
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "iso-blocksize",
            "xvda:/boot/vmlinuz,".into(),
            "logical block size 0",
        ),
        (
            "iso-celoop",
            "xvda:/boot/vmlinuz,".into(),
            "continuation areas",
        ),
        (
            "iso-dirloop",
            format!("xvda:{},", long("", "/a", 1900, "/missing")),
            // The resolver's work bound (MAX_LOOKUPS_PER_RESOLUTION) ends it first.
            "directory lookups",
        ),
        (
            "iso-hugedir",
            "xvda:/boot/vmlinuz,".into(),
            "more than 134217728",
        ),
        (
            "iso-hugeextent",
            "xvda:/boot/vmlinuz,".into(),
            // Sized before a byte is read: the 4 GiB claim is over the file cap
            // (the reader's own past-the-end check: iso-pastend).
            "size cap",
        ),
        (
            "iso-pastend",
            "xvda:/boot/vmlinuz,".into(),
            "block 2147483647",
        ),
        (
            "iso-nofinal",
            "xvda:/boot/vmlinuz,".into(),
            "without its final extent",
        ),
        (
            "iso-relocloop",
            format!("xvda:{},", long(deep, "/l8", 1000, "/f")),
            "directory lookups",
        ),
        (
            "iso-relocbad",
            format!("xvda:{deep}/l8/l9/f,"),
            "no directory at block 0",
        ),
        ("iso-includeloop", "xvda:/vmlinuz,".into(), "no such file"),
    ];
    for (name, entry, want) in cases {
        let img = common::fixture(&format!("hostile/{name}.iso"));
        let before = std::fs::read(&img).unwrap();
        let out = tempfile::tempdir().unwrap();
        for extra in [
            vec![format!("--entry={entry}")],
            vec![],
            vec!["-l".to_owned()],
        ] {
            let mut args = vec![
                "-q".to_owned(),
                format!("--output-directory={}", out.path().display()),
            ];
            args.extend(extra.iter().cloned());
            args.push(img.display().to_string());
            let (code, err, took) = run_limited(&args);
            let what = format!("{name} {extra:?}");
            assert!(took < TIME_LIMIT, "{what}: took {took:?}");
            assert!(!err.contains("panicked"), "{what}: {err}");
            assert_eq!(code, Some(1), "{what}: {err}");
            assert_eq!(err.trim_end().lines().count(), 1, "{what}: {err:?}");
            if extra.first().is_some_and(|a| a.starts_with("--entry")) {
                assert!(err.contains(want), "{what}: {err}");
            }
            assert_eq!(
                std::fs::read_dir(out.path()).unwrap().count(),
                0,
                "{what}: files left"
            );
        }
        assert!(
            std::fs::read(&img).unwrap() == before,
            "{name}: image changed"
        );
    }
}

#[test]
fn include_loop_is_one_line() {
    let img = common::fixture("hostile/iso-includeloop.iso");
    for extra in [&[][..], &["-l"][..]] {
        let out = tempfile::tempdir().unwrap();
        let mut args = vec![
            "-q".to_owned(),
            format!("--output-directory={}", out.path().display()),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        args.push(img.display().to_string());
        let (code, err, took) = run_limited(&args);
        assert_eq!(code, Some(1), "{err}");
        assert!(took < TIME_LIMIT);
        assert!(err.contains("includes nested deeper than 32"), "{err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{err:?}");
    }
}
