//! Issue 6: the whole shared corpus (real images, many deliberately corrupted), every
//! partition, every way of asking for a kernel: no panic, no signal, no run over 2 s or
//! 256 MiB, and nothing left in the output directory after a failure. Opt-in: skipped
//! with a note when ../shared/corpus is absent.

mod common;

use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const TIME_LIMIT: Duration = Duration::from_secs(2);
const MEM_LIMIT: u64 = 256 * 1024 * 1024;

struct Run {
    code: Option<i32>,
    signal: Option<i32>,
    elapsed: Duration,
    /// Peak resident set seen in /proc (VmHWM); the limit itself is enforced by
    /// RLIMIT_AS, so exceeding it shows up as a failed allocation and a signal.
    max_rss_kib: u64,
    stderr: String,
    stdout: String,
}

/// VmHWM of a live process, in KiB (0 once it is gone).
fn vm_hwm_kib(pid: libc::pid_t) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// Runs the binary under a 256 MiB address-space limit, killing it past the time limit.
/// (`wait4`'s ru_maxrss would count the test process's own pages, inherited by the fork.)
fn run(args: &[String]) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_domuloader"));
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    common::limit_address_space(&mut cmd, MEM_LIMIT);
    let mut child = cmd.spawn().unwrap();
    let pid = child.id() as libc::pid_t;
    let (mut out, mut err) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut out, &mut s);
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut err, &mut s);
        s
    });
    let start = Instant::now();
    let mut status = 0;
    let mut hwm = 0;
    loop {
        hwm = hwm.max(vm_hwm_kib(pid));
        let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        if r == pid {
            break;
        }
        if start.elapsed() > TIME_LIMIT * 5 {
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let elapsed = start.elapsed();
    std::mem::forget(child); // already reaped by waitpid
    let st = std::process::ExitStatus::from_raw(status);
    Run {
        code: st.code(),
        signal: st.signal(),
        elapsed,
        max_rss_kib: hwm,
        stdout: reader.join().unwrap(),
        stderr: err_reader.join().unwrap(),
    }
}

/// Every image file of the corpus, decompressed (tar archives are skipped).
fn images(corpus: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut dirs = vec![corpus.to_owned()];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let name = p.to_string_lossy().into_owned();
            if p.is_dir() {
                if !name.ends_with("/expected") && !name.contains("bootcfg") {
                    dirs.push(p);
                }
            } else if !name.ends_with(".tar.bz2")
                && !name.ends_with(".md")
                && !name.ends_with(".tsv")
                && !name.ends_with(".sh")
            {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

fn partitions(inspect_json: &str) -> Vec<u64> {
    serde_json::from_str::<serde_json::Value>(inspect_json)
        .ok()
        .and_then(|v| v["partitions"].as_array().cloned())
        .unwrap_or_default()
        .iter()
        .filter_map(|p| p["number"].as_u64())
        .collect()
}

/// Checks one run; returns a problem description, if any.
fn check(what: &str, r: &Run, outdir: &Path) -> Option<String> {
    if let Some(s) = r.signal {
        return Some(format!(
            "{what}: killed by signal {s} after {:?}",
            r.elapsed
        ));
    }
    if r.elapsed > TIME_LIMIT {
        return Some(format!("{what}: took {:?}", r.elapsed));
    }
    if r.stderr.contains("panicked") {
        return Some(format!("{what}: panic: {}", r.stderr));
    }
    match r.code {
        Some(0) => None,
        Some(1) => {
            let lines = r.stderr.trim_end().lines().count();
            let left = std::fs::read_dir(outdir).map(|d| d.count()).unwrap_or(0);
            if lines != 1 {
                Some(format!("{what}: {lines} stderr lines: {:?}", r.stderr))
            } else if left != 0 {
                Some(format!("{what}: {left} files left after failure"))
            } else {
                None
            }
        }
        other => Some(format!("{what}: exit {other:?}")),
    }
}

#[test]
fn whole_corpus_never_panics_hangs_or_leaks_files() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let mut imgs = images(&corpus);
    assert!(imgs.len() > 200, "corpus looks incomplete: {}", imgs.len());
    // The corpus has one small btrfs image; sweep the btrfs fixtures too (issue 11).
    for dir in ["fixtures", "fixtures/hostile"] {
        for e in std::fs::read_dir(common::repo().join(dir)).unwrap() {
            let p = e.unwrap().path();
            if p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("btrfs-"))
            {
                imgs.push(p);
            }
        }
    }
    let (mut problems, mut runs, mut slowest, mut biggest) = (Vec::new(), 0, Duration::ZERO, 0);
    for src in &imgs {
        let img = common::unpacked(src);
        let img_s = img.display().to_string();
        let inspect = run(&[
            "--inspect".into(),
            "--output-format=json".into(),
            img_s.clone(),
        ]);
        let mut argvs: Vec<Vec<String>> = vec![vec!["-l".into()], vec![]];
        for n in partitions(&inspect.stdout) {
            let dev = if n == 0 {
                "xvda".to_owned()
            } else {
                format!("xvda{n}")
            };
            for path in ["/boot/vmlinuz", "/vmlinuz", "/etc/fstab"] {
                argvs.push(vec![format!("--entry={dev}:{path}")]);
            }
        }
        for path in ["/vmlinuz,/initrd.img", "/boot/vmlinuz"] {
            argvs.push(vec![format!("--entry={path}")]);
        }
        let outdir = tempfile::tempdir().unwrap();
        if let Some(p) = check(
            &format!("{} --inspect", src.display()),
            &inspect,
            outdir.path(),
        ) {
            problems.push(p);
        }
        for mut argv in argvs {
            argv.extend([
                "-q".into(),
                format!("--output-directory={}", outdir.path().display()),
                format!("--output={}", outdir.path().join("result").display()),
                "--max-size=64M".into(),
                img_s.clone(),
            ]);
            let r = run(&argv);
            runs += 1;
            slowest = slowest.max(r.elapsed);
            biggest = biggest.max(r.max_rss_kib);
            if let Some(p) = check(
                &format!("{} {:?}", src.display(), &argv[..1]),
                &r,
                outdir.path(),
            ) {
                problems.push(p);
            }
            // A success leaves its files: clear them for the next run's leak check.
            for e in std::fs::read_dir(outdir.path()).unwrap() {
                let _ = std::fs::remove_file(e.unwrap().path());
            }
        }
    }
    eprintln!(
        "sweep: {} images, {runs} runs, slowest {slowest:?}, peak RSS {biggest} KiB",
        imgs.len()
    );
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}
