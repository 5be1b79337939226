//! Shared helpers for integration tests: fixtures (committed compressed, decompressed once
//! into the target dir), the optional real-image corpus, and running the real binary.
#![allow(dead_code)]

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The shared corpus (`../shared/corpus`, or `$DOMULOADER_CORPUS`), if present.
/// When it is absent the calling test is reported as skipped ([`skip`]; a failure under
/// `CI=true`).
pub fn corpus() -> Option<PathBuf> {
    let p = std::env::var_os("DOMULOADER_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("../shared/corpus"));
    if p.is_dir() {
        Some(p)
    } else {
        skip(&format!(
            "corpus not found at {} (set DOMULOADER_CORPUS)",
            p.display()
        ));
        None
    }
}

/// Decompresses `src` (by extension: .gz .xz .zst .bz2, else plain copy) to bytes.
pub fn decompress(src: &Path) -> Vec<u8> {
    let f = std::fs::File::open(src).unwrap_or_else(|e| panic!("{}: {e}", src.display()));
    let mut out = Vec::new();
    let name = src.to_string_lossy();
    if name.ends_with(".gz") {
        flate2::read::MultiGzDecoder::new(f)
            .read_to_end(&mut out)
            .unwrap();
    } else if name.ends_with(".xz") {
        lzma_rs::xz_decompress(&mut std::io::BufReader::new(f), &mut out).unwrap();
    } else if name.ends_with(".zst") {
        zstd::stream::read::Decoder::new(f)
            .unwrap()
            .read_to_end(&mut out)
            .unwrap();
    } else if name.ends_with(".bz2") {
        bzip2::read::MultiBzDecoder::new(f)
            .read_to_end(&mut out)
            .unwrap();
    } else {
        std::fs::File::open(src)
            .unwrap()
            .read_to_end(&mut out)
            .unwrap();
    }
    out
}

/// A decompressed copy of `src` in the test cache, made once (atomic rename, so parallel
/// tests never see a half-written image).
pub fn unpacked(src: &Path) -> PathBuf {
    let cache = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("unpacked");
    std::fs::create_dir_all(&cache).unwrap();
    let rel = src
        .strip_prefix(repo())
        .unwrap_or(src)
        .to_string_lossy()
        .replace(['/', '.'], "_");
    let dst = cache.join(rel);
    let fresh = match (std::fs::metadata(&dst), std::fs::metadata(src)) {
        (Ok(d), Ok(s)) => d.modified().unwrap() >= s.modified().unwrap(),
        _ => false,
    };
    if !fresh {
        let tmp = cache.join(format!(
            ".tmp-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        std::fs::write(&tmp, decompress(src)).unwrap();
        std::fs::rename(&tmp, &dst).unwrap();
    }
    dst
}

/// A fixture from `fixtures/`: `NAME` if committed raw, else `NAME.gz` unpacked.
pub fn fixture(name: &str) -> PathBuf {
    let raw = repo().join("fixtures").join(name);
    if raw.exists() {
        return raw;
    }
    let gz = repo().join("fixtures").join(format!("{name}.gz"));
    assert!(
        gz.exists(),
        "missing fixture {name} (.gz): run the script in fixtures/build/ that makes it"
    );
    unpacked(&gz)
}

/// Runs the real `domuloader` binary.
pub fn run(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_domuloader"))
        .args(args)
        .output()
        .expect("spawn domuloader")
}

/// Runs the binary with string arguments.
pub fn run_str(args: &[&str]) -> Output {
    let v: Vec<&std::ffi::OsStr> = args.iter().map(std::ffi::OsStr::new).collect();
    run(&v)
}

/// Asserts a failed run: exit 1, no panic, exactly one line on stderr. Returns that line.
pub fn assert_clean_failure(out: &Output) -> String {
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "expected exit 1, stderr: {err}");
    assert!(!err.contains("panicked"), "panic: {err}");
    assert_eq!(err.trim_end().lines().count(), 1, "want one line: {err:?}");
    err.trim_end().to_owned()
}

// ---- Skips that a person sees (issue 16) ----

/// Where [`skip`] records each skipped test, one line each; `.ci/run` prints it at the end.
pub fn skip_log() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("skipped-tests.txt")
}

/// The running test's name: libtest runs each test on a thread named after it.
pub fn test_name() -> String {
    std::thread::current()
        .name()
        .unwrap_or("unknown test")
        .to_owned()
}

/// Writes `line` to the process's stderr where a person sees it even when libtest captures
/// the test's output: libtest captures only the `print!`/`eprint!` macros, not writes to
/// the `std::io::stderr()` handle, so this line shows in a plain `cargo test` on a terminal.
pub fn note(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// The calling test cannot run because `reason` (a missing tool, corpus, image or root).
/// Prints `SKIPPED <test>: <reason>` (see [`note`]), appends it to [`skip_log`], and panics
/// when `CI=true`: in CI every prerequisite must be there, so a skip is a failure. The
/// caller returns right after, asserting nothing.
pub fn skip(reason: &str) {
    let line = format!("SKIPPED {}: {reason}", test_name());
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{line} (CI=true: every prerequisite must be present)");
    }
    note(&line);
    use std::io::Write;
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(skip_log())
    {
        let _ = writeln!(f, "{line}");
    }
}

/// Whether `tool` runs (`tool ARG` can be spawned); if not, the test is skipped with a
/// reason naming the Debian package.
pub fn have_tool(tool: &str, arg: &str, package: &str) -> bool {
    let ok = Command::new(tool)
        .arg(arg)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok();
    if !ok {
        skip(&format!("{tool} not installed (apt-get install {package})"));
    }
    ok
}

/// Whether the tests run as root; if not, the test is skipped.
pub fn have_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    if !root {
        skip("needs root");
    }
    root
}

/// Limits the address space of the process `cmd` will start to `bytes` (RLIMIT_AS), so an
/// allocation bomb in the binary fails there instead of swapping the test machine.
pub fn limit_address_space(cmd: &mut Command, bytes: u64) {
    // SAFETY: between fork and exec the closure only calls setrlimit, which is
    // async-signal-safe, on a stack value.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(cmd, move || {
            let lim = libc::rlimit {
                rlim_cur: bytes,
                rlim_max: bytes,
            };
            match libc::setrlimit(libc::RLIMIT_AS, &lim) {
                0 => Ok(()),
                _ => Err(std::io::Error::last_os_error()),
            }
        });
    }
}
