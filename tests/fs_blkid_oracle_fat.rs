//! UUID and label of every vfat image in util-linux's blkid corpus equal what blkid reports
//! (`ORACLE.tsv`, derived from upstream's expected `blkid -p -o udev` output). Opens `FatFs`
//! directly: detection is tested with the other filesystems. Opt-in: skipped without corpus.

mod common;

use domuloader::disk::Disk;
use domuloader::fs::fat::FatFs;
use domuloader::fs::{Filesystem, FsType};

#[test]
fn vfat_uuid_and_label_match_blkid() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let blkid = corpus.join("blkid");
    let oracle = std::fs::read(blkid.join("ORACLE.tsv")).unwrap();
    let oracle = String::from_utf8_lossy(&oracle);
    let mut checked = 0;
    let mut wrong = Vec::new();
    for line in oracle.lines().skip(1) {
        let cols: Vec<&str> = line.split('\t').collect();
        let [file, fs_type, uuid, label, ..] = cols[..] else {
            panic!("bad ORACLE.tsv line {line:?}");
        };
        if fs_type != "vfat" {
            continue;
        }
        assert!(!file.contains('@'), "FAT images have one session: {file}");
        let img = common::unpacked(&blkid.join(file));
        let disk = Disk::open(&img).unwrap();
        let before = std::fs::read(&img).unwrap();
        let got = match FatFs::open(disk.whole()) {
            Ok(fs) => fs.info().clone(),
            Err(e) => {
                wrong.push(format!("{file}: open failed: {e}"));
                continue;
            }
        };
        assert_eq!(std::fs::read(&img).unwrap(), before, "{file} changed");
        checked += 1;
        if got.fs_type != FsType::Vfat || got.uuid != uuid || got.label != label {
            wrong.push(format!(
                "{file}: got {:?} {:?} {:?}, blkid says vfat {uuid:?} {label:?}",
                got.fs_type, got.uuid, got.label
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} mismatches:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    assert!(checked >= 15, "only {checked} vfat images in the oracle");
    eprintln!("{checked} vfat images match blkid");
}
