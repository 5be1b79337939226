//! `--inspect` against `sfdisk -J` (util-linux, the reference) on every image of the shared
//! corpus' partition families, and whole-disk filesystems from the corpus. Opt-in: skipped
//! with a note when the corpus or sfdisk is absent.
//!
//! Per-case decisions (checked below, not just skipped):
//! - `sgi.img`, `dissect-volume_bsd.bin`: SGI / BSD labels. sfdisk reads them; a Xen x86 guest
//!   disk never carries one, so we refuse them by name ("unsupported partition table: …")
//!   rather than guess Linux's numbering for them.
//! - `dissect-volume_apm.bin`: Apple partition map. sfdisk finds no table; we refuse it by
//!   name too (reading it as one filesystem would only fail later, less clearly).
//! - `atari-*.img`, `dasd-*.img`: sfdisk finds no table and neither do we: one
//!   unpartitioned disk (partition 0).
//! - `dissect-volume_gpt*.bin`: table heads cut from real disks. Their GPT headers claim a
//!   usable range past the end of the cut file, which libfdisk (and Linux) reject, so sfdisk
//!   reads sector 0 as an MBR, 0xEE entry included; so do we. Where sfdisk warns "GPT PMBR
//!   size mismatch (A != B)", libfdisk reports the 0xEE entry with its corrected size B
//!   (disk sectors - 1); we report the table's A. That one field is compared against A.

mod common;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Images we refuse by name, and the name.
const REFUSED: &[(&str, &str)] = &[("dissect-volume_apm.bin", "Apple partition map")];

/// One partition as both tools report it: number, start and size in bytes, type, PARTUUID
/// (GPT only: sfdisk does not print MBR ones) and PARTLABEL.
type Row = (u64, u64, u64, String, Option<String>, Option<String>);

fn sfdisk_cmd() -> Option<PathBuf> {
    ["sfdisk", "/usr/sbin/sfdisk", "/sbin/sfdisk"]
        .iter()
        .map(PathBuf::from)
        .find(|p| {
            Command::new(p)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
}

fn images(corpus: &Path) -> Vec<PathBuf> {
    let mut v = Vec::new();
    for dir in ["partition", "blkid/images-pt"] {
        for e in std::fs::read_dir(corpus.join(dir)).unwrap() {
            v.push(e.unwrap().path());
        }
    }
    v.sort();
    v
}

/// The name an image keeps once unpacked (without its compression suffix).
fn name_of(src: &Path) -> String {
    let n = src.file_name().unwrap().to_string_lossy().into_owned();
    for ext in [".gz", ".xz", ".zst", ".bz2"] {
        if let Some(stem) = n.strip_suffix(ext) {
            return stem.to_owned();
        }
    }
    n
}

fn ours(path: &Path) -> Output {
    common::run_str(&["--inspect", "--output-format=json", path.to_str().unwrap()])
}

/// "GPT PMBR size mismatch (A != B)" → (A, B).
fn pmbr_correction(stderr: &str) -> Option<(u64, u64)> {
    let rest = stderr.split("GPT PMBR size mismatch (").nth(1)?;
    let (a, rest) = rest.split_once(" != ")?;
    let (b, _) = rest.split_once(')')?;
    Some((a.parse().ok()?, b.parse().ok()?))
}

fn sfdisk_rows(device: &str, table: &Value, stderr: &str) -> Vec<Row> {
    let ss = table["sectorsize"].as_u64().unwrap();
    let correction = pmbr_correction(stderr);
    let lower = |v: &Value| v.as_str().map(str::to_lowercase);
    let mut rows: Vec<Row> = table["partitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let node = p["node"].as_str().unwrap();
            let number = node.strip_prefix(device).unwrap().parse().unwrap();
            let kind = lower(&p["type"]).unwrap();
            let mut size = p["size"].as_u64().unwrap();
            if let Some((table_size, corrected)) = correction {
                if kind == "ee" && size == corrected {
                    size = table_size;
                }
            }
            let start = p["start"].as_u64().unwrap();
            (
                number,
                start * ss,
                size * ss,
                kind,
                lower(&p["uuid"]),
                p["name"].as_str().map(str::to_owned),
            )
        })
        .collect();
    rows.sort();
    rows
}

fn our_rows(doc: &Value) -> Vec<Row> {
    let gpt = doc["table"] == "gpt";
    let mut rows: Vec<Row> = doc["partitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["number"].as_u64().unwrap(),
                p["start"].as_u64().unwrap(),
                p["size"].as_u64().unwrap(),
                p["type"].as_str().unwrap().to_owned(),
                p["partuuid"].as_str().filter(|_| gpt).map(str::to_owned),
                p["partlabel"].as_str().map(str::to_owned),
            )
        })
        .collect();
    rows.sort();
    rows
}

/// Compares one image; returns a short verdict for the summary.
fn compare(sfdisk: &Path, src: &Path) -> String {
    let name = name_of(src);
    let path = common::unpacked(src);
    let device = path.to_str().unwrap();
    let ours = ours(&path);
    if let Some((_, label)) = REFUSED.iter().find(|(n, _)| *n == name) {
        let line = common::assert_clean_failure(&ours);
        assert!(line.contains(label), "{name}: {line}");
        return format!("{name}: refused ({label})");
    }
    // A partition past the end is listed (as sfdisk does) and also fails the run.
    if !ours.status.success() {
        let line = common::assert_clean_failure(&ours);
        assert!(
            line.contains("lies outside the disk"),
            "{name}: we failed where sfdisk does not: {line}"
        );
    }
    let doc: Value = serde_json::from_slice(&ours.stdout).unwrap();
    let sf = Command::new(sfdisk).arg("-J").arg(&path).output().unwrap();
    let sf_err = String::from_utf8_lossy(&sf.stderr).into_owned();
    if sf.stdout.iter().all(u8::is_ascii_whitespace) {
        assert!(
            sf_err.contains("does not contain a recognized partition table"),
            "{name}: {sf_err}"
        );
        assert_eq!(doc["table"], "none", "{name}: sfdisk finds no table");
        let size = std::fs::metadata(&path).unwrap().len();
        let want = vec![(0, 0, size, "disk".to_owned(), None, None)];
        assert_eq!(our_rows(&doc), want, "{name}");
        return format!("{name}: no table (both)");
    }
    let sf_doc: Value = serde_json::from_slice(&sf.stdout).unwrap();
    let table = &sf_doc["partitiontable"];
    let label = match table["label"].as_str().unwrap() {
        "dos" => "mbr",
        "gpt" => "gpt",
        "sgi" => "sgi",
        "bsd" => "bsd",
        other => panic!("{name}: sfdisk reads a {other} label; decide and add it to REFUSED"),
    };
    assert_eq!(doc["table"], label, "{name}");
    assert_eq!(doc["sector_size"], table["sectorsize"], "{name}");
    let want = sfdisk_rows(device, table, &sf_err);
    assert_eq!(
        our_rows(&doc),
        want,
        "{name}: ours (left) vs sfdisk -J (right)"
    );
    format!("{name}: {label}, {} partitions agree", want.len())
}

#[test]
fn inspect_agrees_with_sfdisk_on_the_corpus() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let Some(sfdisk) = sfdisk_cmd() else {
        common::skip("sfdisk not installed (apt-get install fdisk)");
        return;
    };
    let images = images(&corpus);
    assert!(
        images.len() >= 15,
        "corpus partition families shrank: {images:?}"
    );
    for src in &images {
        eprintln!("{}", compare(&sfdisk, src));
    }
}

/// Whole-disk ext and FAT filesystems from the corpus: no table, partition 0. The FAT ones
/// end their boot sector in 0x55AA, like an MBR.
#[test]
fn corpus_whole_disk_filesystems_are_unpartitioned() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let mut srcs: Vec<PathBuf> = std::fs::read_dir(corpus.join("blkid/images-fs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy();
            n.starts_with("ext") || n.starts_with("fat")
        })
        .collect();
    srcs.push(corpus.join("fat/fatfs_fat12.img.gz"));
    srcs.push(corpus.join("ext-misc/dfvfs_ext2.raw.gz"));
    srcs.push(corpus.join("ext-misc/dissect-extfs_ext4.bin.gz"));
    srcs.sort();
    assert!(srcs.len() >= 18, "{srcs:?}");
    for src in &srcs {
        let disk = domuloader::disk::Disk::open(&common::unpacked(src)).unwrap();
        let l = domuloader::partition::discover(&disk).unwrap();
        assert_eq!(
            l.table,
            domuloader::partition::TableKind::None,
            "{}",
            src.display()
        );
        assert_eq!(l.partitions.len(), 1);
    }
}
