//! Result formats, end to end: byte-exact goldens in `fixtures/expected/`, and rendered
//! results read back by copies of the callers' own readers (xend's sxp parser, libxl's
//! simple0 reader) for thousands of hostile values.
//!
//! Regenerate goldens after an intended format change with `UPDATE_GOLDENS=1`, then review
//! the diff byte by byte.

mod common;
#[path = "output_formats/libxl.rs"]
mod libxl;
#[path = "output_formats/xend_sxp.rs"]
mod xend_sxp;

use domuloader::output::{render, BootResult, Format, OutputError};
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use xend_sxp::{child_value, Sxp};

struct Case {
    name: &'static str,
    kernel: &'static [u8],
    ramdisk: Option<&'static [u8]>,
    args: &'static str,
}

const K: &[u8] = b"/var/lib/xen/tmp/kernel.Ab3dE9";
const R: &[u8] = b"/var/lib/xen/tmp/ramdisk.x9Y2kQ";

const CASES: &[Case] = &[
    Case {
        name: "plain",
        kernel: K,
        ramdisk: Some(R),
        args: "root=/dev/xvda1 ro quiet console=hvc0",
    },
    Case {
        name: "bare-args",
        kernel: K,
        ramdisk: Some(R),
        args: "root=/dev/xvda1",
    },
    Case {
        name: "no-ramdisk",
        kernel: K,
        ramdisk: None,
        args: "root=/dev/xvda2 ro",
    },
    Case {
        name: "no-args",
        kernel: K,
        ramdisk: Some(R),
        args: "",
    },
    Case {
        name: "nasty-args",
        kernel: K,
        ramdisk: Some(R),
        args: "title=\"a (b) #c; it's\" x\ny\tz \\ end",
    },
    Case {
        name: "non-ascii",
        kernel: "/var/lib/xen/tmp/kernel.é".as_bytes(),
        ramdisk: None,
        args: "lang=fr_FR.UTF-8 名前=値",
    },
    Case {
        name: "non-utf8-path",
        kernel: b"/srv/xen/\xff/kernel.Ab3dE9",
        ramdisk: None,
        args: "ro",
    },
];

/// (case, format) pairs that must be refused, and the message.
const REFUSED: &[(&str, Format, &str)] = &[
    (
        "nasty-args",
        Format::Simple,
        "args contains a newline byte, which the simple result format cannot carry",
    ),
    (
        "non-utf8-path",
        Format::Json,
        "kernel path is not valid UTF-8, which the json result format cannot carry",
    ),
];

fn result_of(c: &Case) -> BootResult {
    BootResult {
        kernel: PathBuf::from(OsStr::from_bytes(c.kernel)),
        ramdisk: c.ramdisk.map(|r| PathBuf::from(OsStr::from_bytes(r))),
        args: c.args.to_owned(),
    }
}

fn golden_path(case: &str, f: Format) -> PathBuf {
    common::repo().join(format!("fixtures/expected/{case}.{}", f.name()))
}

#[test]
fn goldens_byte_exact() {
    let update = std::env::var_os("UPDATE_GOLDENS").is_some();
    for c in CASES {
        for f in Format::ALL {
            let got = render(&result_of(c), f);
            let path = golden_path(c.name, f);
            if let Some((_, _, msg)) = REFUSED.iter().find(|(n, rf, _)| *n == c.name && *rf == f) {
                assert_eq!(got.unwrap_err().to_string(), *msg, "{}", path.display());
                assert!(!path.exists(), "{} must not exist", path.display());
                continue;
            }
            let got = got.unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            if update {
                std::fs::write(&path, &got).unwrap();
            }
            let want = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert_eq!(got, want, "{} differs", path.display());
        }
    }
}

#[test]
fn goldens_read_back_by_callers() {
    for c in CASES {
        let r = result_of(c);
        if let Ok(bytes) = std::fs::read(golden_path(c.name, Format::Sxp)) {
            assert_sxp_reads_back(&r, &bytes);
        }
        for (f, sep) in [(Format::Simple0, 0), (Format::Simple, b'\n')] {
            if let Ok(bytes) = std::fs::read(golden_path(c.name, f)) {
                assert_libxl_reads_back(&r, &bytes, sep);
            }
        }
        if let Ok(bytes) = std::fs::read(golden_path(c.name, Format::Json)) {
            assert_json_reads_back(&r, &bytes);
        }
    }
}

/// The exact bytes for the everyday case, spelled out, so the goldens are not only checked
/// against themselves.
#[test]
fn everyday_results_spelled_out() {
    let r = result_of(&CASES[0]);
    assert_eq!(
        render(&r, Format::Sxp).unwrap(),
        b"linux (kernel /var/lib/xen/tmp/kernel.Ab3dE9)(ramdisk /var/lib/xen/tmp/ramdisk.x9Y2kQ)\
          (args 'root=/dev/xvda1 ro quiet console=hvc0')"
    );
    assert_eq!(
        render(&r, Format::Simple0).unwrap(),
        b"kernel /var/lib/xen/tmp/kernel.Ab3dE9\0ramdisk /var/lib/xen/tmp/ramdisk.x9Y2kQ\0\
          args root=/dev/xvda1 ro quiet console=hvc0\0\0"
    );
    let bare = result_of(&CASES[1]);
    assert!(render(&bare, Format::Sxp)
        .unwrap()
        .ends_with(b"(args root=/dev/xvda1)"));
}

fn atom(v: &[u8]) -> Sxp {
    Sxp::Atom(v.to_vec())
}

fn assert_sxp_reads_back(r: &BootResult, bytes: &[u8]) {
    assert!(!bytes.ends_with(b"\n"), "no trailing newline");
    let top = xend_sxp::parse(bytes)
        .unwrap_or_else(|e| panic!("xend: {e}: {:?}", String::from_utf8_lossy(bytes)));
    assert_eq!(top.first(), Some(&atom(b"linux")));
    assert_eq!(
        child_value(&top, b"kernel"),
        Some(&atom(r.kernel.as_os_str().as_bytes()))
    );
    let ramdisk = r.ramdisk.as_ref().map(|p| atom(p.as_os_str().as_bytes()));
    assert_eq!(child_value(&top, b"ramdisk"), ramdisk.as_ref());
    let args = (!r.args.is_empty()).then(|| atom(r.args.as_bytes()));
    assert_eq!(
        child_value(&top, b"args"),
        args.as_ref(),
        "{:?}",
        String::from_utf8_lossy(bytes)
    );
}

fn assert_libxl_reads_back(r: &BootResult, bytes: &[u8], sep: u8) {
    assert!(bytes.ends_with(&[sep, sep]) || bytes == [sep]);
    let got = libxl::parse(bytes, sep);
    assert!(got.warnings.is_empty(), "{:?}", got.warnings);
    assert_eq!(got.kernel.as_deref(), Some(r.kernel.as_os_str().as_bytes()));
    assert_eq!(
        got.ramdisk.as_deref(),
        r.ramdisk.as_ref().map(|p| p.as_os_str().as_bytes())
    );
    // libxl skips whitespace before a value: harmless for a command line.
    let args = (!r.args.is_empty()).then(|| {
        r.args
            .trim_start_matches(|c: char| c.is_ascii() && libxl::is_space(c as u8))
    });
    assert_eq!(got.args.as_deref(), args.map(str::as_bytes));
}

fn assert_json_reads_back(r: &BootResult, bytes: &[u8]) {
    assert!(bytes.ends_with(b"}\n"));
    let v: serde_json::Value = serde_json::from_slice(bytes).unwrap();
    let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
    assert_eq!(keys.len(), 3);
    assert_eq!(v["kernel"], r.kernel.to_str().unwrap());
    match &r.ramdisk {
        Some(p) => assert_eq!(v["ramdisk"], p.to_str().unwrap()),
        None => assert!(v["ramdisk"].is_null()),
    }
    assert_eq!(v["args"], r.args.as_str());
}

/// xorshift64*: deterministic, so a failure reproduces.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Characters that end atoms, start strings or comments, need escapes, or are not ASCII.
const NASTY: &[&str] = &[
    " ", "\t", "\n", "\r", "\x0b", "\x0c", "\0", "\x04", "\x1b", "\x7f", "'", "\"", "\\", "(", ")",
    "#", ";", "{", "}", "[", "]", "<", ">", "!", "@", "a", "Z", "0", "7", "x", "/", "=", "-", ".",
    "é", "€", "\u{80}", "\\x41", "\\101", "linux", "kernel ",
];

fn nasty_string(rng: &mut Rng) -> String {
    let len = rng.below(24);
    (0..len).map(|_| *rng.pick(NASTY)).collect()
}

/// An absolute path: any bytes but NUL, including invalid UTF-8.
fn nasty_path(rng: &mut Rng) -> PathBuf {
    let mut bytes = b"/".to_vec();
    for _ in 0..rng.below(20) {
        match rng.below(4) {
            0 => bytes.push(*rng.pick(&[0xff, 0x80, 0xc3, 0xfe])),
            _ => bytes.extend_from_slice(rng.pick(NASTY).as_bytes()),
        }
    }
    bytes.retain(|&b| b != 0);
    PathBuf::from(OsStr::from_bytes(&bytes))
}

fn nasty_result(rng: &mut Rng) -> BootResult {
    BootResult {
        kernel: nasty_path(rng),
        ramdisk: (rng.below(2) == 0).then(|| nasty_path(rng)),
        args: nasty_string(rng),
    }
}

const ROUNDS: usize = 20_000;

#[test]
fn sxp_always_reads_back_in_xend() {
    let mut rng = Rng(0x5eed_0001);
    for _ in 0..ROUNDS {
        let r = nasty_result(&mut rng);
        assert_sxp_reads_back(&r, &render(&r, Format::Sxp).unwrap());
    }
}

#[test]
fn simple0_reads_back_in_libxl_or_is_refused() {
    let mut rng = Rng(0x5eed_0002);
    let mut refused = 0;
    for _ in 0..ROUNDS {
        let r = nasty_result(&mut rng);
        match render(&r, Format::Simple0) {
            Ok(bytes) => assert_libxl_reads_back(&r, &bytes, 0),
            Err(OutputError::Separator {
                field: "args",
                byte: "NUL",
                ..
            }) => {
                assert!(r.args.contains('\0'));
                refused += 1;
            }
            Err(e) => panic!("{e}: {r:?}"),
        }
    }
    assert!(refused > 0 && refused < ROUNDS / 2, "{refused}");
}

#[test]
fn simple_reads_back_or_is_refused() {
    let mut rng = Rng(0x5eed_0003);
    let mut refused = 0;
    for _ in 0..ROUNDS {
        let r = nasty_result(&mut rng);
        let has_bad = |b: &[u8]| b.contains(&b'\n') || b.contains(&0);
        let bad = has_bad(r.kernel.as_os_str().as_bytes())
            || r.ramdisk
                .as_ref()
                .is_some_and(|p| has_bad(p.as_os_str().as_bytes()))
            || has_bad(r.args.as_bytes());
        match render(&r, Format::Simple) {
            Ok(bytes) => {
                assert!(!bad, "{r:?}");
                assert_libxl_reads_back(&r, &bytes, b'\n');
            }
            Err(OutputError::Separator { .. }) => {
                assert!(bad, "{r:?}");
                refused += 1;
            }
            Err(e) => panic!("{e}: {r:?}"),
        }
    }
    assert!(refused > 0, "{refused}");
}

#[test]
fn json_reads_back_or_refuses_non_utf8() {
    let mut rng = Rng(0x5eed_0004);
    for _ in 0..ROUNDS {
        let r = nasty_result(&mut rng);
        let utf8 =
            r.kernel.to_str().is_some() && r.ramdisk.as_ref().is_none_or(|p| p.to_str().is_some());
        match render(&r, Format::Json) {
            Ok(bytes) => assert_json_reads_back(&r, &bytes),
            Err(OutputError::NotUtf8 { .. }) => assert!(!utf8, "{r:?}"),
            Err(e) => panic!("{e}: {r:?}"),
        }
    }
}
