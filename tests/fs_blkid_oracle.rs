//! Detection and ext identity against util-linux's blkid test images and their expected
//! output (`../shared/corpus/blkid/ORACLE.tsv`): ext rows must match TYPE/UUID/LABEL exactly,
//! vfat rows must be detected as FAT (their identity is the FAT adapter's test), and every
//! other row must never be taken for ext or FAT, and is named like blkid when we know it.

mod common;

use domuloader::disk::Disk;
use domuloader::fs::detect::{detect, Detected};
use domuloader::fs::{self, FsError};
use std::io::{BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Types this detector does not know (all need more than a fixed-offset magic, or are rare
/// enough not to matter for Xen guest disks). Anything else in the oracle must be named.
const NOT_DETECTED: &[&str] = &["drbd", "mpool", "scoutfs_meta"];

/// Bytes of each image decompressed when only start-of-device magics matter (the deepest
/// is VMFS's at 2 MiB).
const PREFIX: u64 = 0x21_0000;

struct Row {
    file: String,
    offset: u64,
    ty: String,
    uuid: String,
    label: String,
}

fn rows(corpus: &Path) -> Vec<Row> {
    let text = std::fs::read(corpus.join("blkid/ORACLE.tsv")).unwrap();
    let text = String::from_utf8_lossy(&text);
    let mut out = Vec::new();
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split('\t').collect();
        if f.len() < 4 || !f[0].starts_with("images-fs/") {
            continue;
        }
        let (file, offset) = match f[0].split_once("@offset") {
            Some((file, off)) => (file, off.parse().unwrap()),
            None => (f[0], 0),
        };
        out.push(Row {
            file: file.into(),
            offset,
            ty: f[1].into(),
            uuid: f[2].into(),
            label: f[3].into(),
        });
    }
    out
}

/// Stops decompression once `limit` bytes are written.
struct Capped {
    out: Vec<u8>,
    limit: u64,
}

impl Write for Capped {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let room = self.limit.saturating_sub(self.out.len() as u64);
        if room == 0 {
            return Err(std::io::Error::other("enough"));
        }
        let n = buf.len().min(usize::try_from(room).unwrap_or(usize::MAX));
        self.out.extend_from_slice(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The first `limit` bytes of an `.xz` image (all of it for `u64::MAX`), cached.
fn unpack(src: &Path, limit: u64) -> PathBuf {
    let cache = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("blkid-oracle");
    std::fs::create_dir_all(&cache).unwrap();
    let name = src.file_name().unwrap().to_string_lossy();
    let dst = cache.join(format!("{name}.{limit}"));
    if !dst.exists() {
        let out = xz_cli(src, limit).unwrap_or_else(|| {
            // lzma-rs decodes a whole dictionary before writing, so it cannot stop early.
            let mut w = Capped {
                out: Vec::new(),
                limit,
            };
            let mut r = BufReader::new(std::fs::File::open(src).unwrap());
            if let Err(e) = lzma_rs::xz_decompress(&mut r, &mut w) {
                assert!(w.out.len() as u64 >= limit, "{name}: {e:?}");
            }
            w.out
        });
        let tmp = cache.join(format!(".{name}.{}", std::process::id()));
        std::fs::write(&tmp, &out).unwrap();
        std::fs::rename(&tmp, &dst).unwrap();
    }
    dst
}

/// The `xz` tool, when installed, stops after the prefix (about 50 times faster here).
fn xz_cli(src: &Path, limit: u64) -> Option<Vec<u8>> {
    let mut child = Command::new("xz")
        .arg("-dc")
        .arg(src)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let mut out = Vec::new();
    let read = child.stdout.take()?.take(limit).read_to_end(&mut out);
    let _ = child.kill(); // stops it early when only a prefix was wanted
    let status = child.wait().ok()?;
    let complete = out.len() as u64 == limit || status.success();
    (read.is_ok() && complete).then_some(out)
}

#[test]
fn blkid_oracle() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let mut named = 0;
    let mut missed = Vec::new();
    for row in rows(&corpus) {
        let is_ext = matches!(row.ty.as_str(), "ext2" | "ext3" | "ext4");
        // End-of-device RAID signatures need the real size; the rest only the start.
        let full =
            is_ext || row.ty.ends_with("raid_member") || row.ty == "xfs" || row.ty == "btrfs";
        let img = unpack(
            &corpus.join("blkid").join(&row.file),
            if full { u64::MAX } else { PREFIX },
        );
        let before = std::fs::read(&img).unwrap();
        let disk = Disk::open(&img).unwrap();
        let slice = disk
            .whole()
            .sub(row.offset, disk.size() - row.offset)
            .unwrap();
        let what = format!("{}@{} ({})", row.file, row.offset, row.ty);
        let found = detect(&slice).unwrap_or_else(|e| panic!("{what}: {e}"));
        match row.ty.as_str() {
            "ext2" | "ext3" | "ext4" => {
                assert_eq!(found, Detected::Ext, "{what}");
                let f = fs::open(slice).unwrap_or_else(|e| panic!("{what}: {e}"));
                let info = f.info();
                assert_eq!(
                    (
                        info.fs_type.as_str(),
                        info.uuid.as_str(),
                        info.label.as_str()
                    ),
                    (row.ty.as_str(), row.uuid.as_str(), row.label.as_str()),
                    "{what}"
                );
                named += 1;
            }
            "vfat" => assert_eq!(found, Detected::Fat, "{what}"),
            // btrfs and XFS identity through their readers (issues 11 and 12).
            "btrfs" | "xfs" => {
                let want = match row.ty.as_str() {
                    "btrfs" => Detected::Btrfs,
                    _ => Detected::Xfs,
                };
                assert_eq!(found, want, "{what}");
                let f = fs::open(slice).unwrap_or_else(|e| panic!("{what}: {e}"));
                let info = f.info();
                assert_eq!(
                    (info.uuid.as_str(), info.label.as_str()),
                    (row.uuid.as_str(), row.label.as_str()),
                    "{what}"
                );
                named += 1;
            }
            // Identity and contents: tests/fs_blkid_oracle_iso.rs.
            "iso9660" => {
                assert_eq!(found, Detected::Iso9660, "{what}");
                named += 1;
            }
            ty => {
                assert!(
                    !matches!(found, Detected::Ext | Detected::Fat),
                    "{what}: misread as {found:?}"
                );
                match found {
                    // Read by a reader of their own (or named until it lands).
                    Detected::Btrfs | Detected::Xfs | Detected::Iso9660 => {
                        match fs::open(slice) {
                            Ok(f) => {
                                let info = f.info();
                                assert_eq!(
                                    (
                                        info.fs_type.as_str(),
                                        info.uuid.as_str(),
                                        info.label.as_str()
                                    ),
                                    (row.ty.as_str(), row.uuid.as_str(), row.label.as_str()),
                                    "{what}"
                                );
                            }
                            Err(err) => assert_eq!(
                                err.to_string(),
                                format!("unsupported filesystem {ty}"),
                                "{what}"
                            ),
                        }
                        named += 1;
                    }
                    Detected::Other(name) => {
                        assert_eq!(name, ty, "{what}");
                        let err = fs::open(slice).err().unwrap();
                        assert!(matches!(err, FsError::Unsupported(_)), "{what}: {err}");
                        assert_eq!(err.to_string(), format!("unsupported filesystem {ty}"));
                        named += 1;
                    }
                    _ => {
                        assert!(
                            matches!(fs::open(slice).err(), Some(FsError::Unrecognised)),
                            "{what}"
                        );
                        missed.push(ty.to_owned());
                    }
                }
            }
        }
        assert!(
            before == std::fs::read(&img).unwrap(),
            "{what}: image changed"
        );
    }
    missed.sort();
    missed.dedup();
    eprintln!("named {named}; not detected: {missed:?}");
    assert_eq!(missed, NOT_DETECTED, "types not detected");
}
