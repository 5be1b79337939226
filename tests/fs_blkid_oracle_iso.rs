//! UUID and label of every iso9660 image (and session) in util-linux's blkid corpus equal
//! what blkid reports (`ORACLE.tsv`, from upstream's expected `blkid -p -o udev` output),
//! and every file of each one reads. Later sessions of a multi-session image are skipped
//! (extents are disc-absolute; Linux on an image file mounts the first session too). Opt-in: skipped without the corpus.

mod common;

use domuloader::disk::Disk;
use domuloader::fs::iso9660::IsoFs;
use domuloader::fs::{FileKind, Filesystem, FsType};

#[test]
fn iso9660_uuid_and_label_match_blkid() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let blkid = corpus.join("blkid");
    let oracle = std::fs::read(blkid.join("ORACLE.tsv")).unwrap();
    let oracle = String::from_utf8_lossy(&oracle);
    let mut checked = 0;
    let mut files = 0;
    let mut wrong = Vec::new();
    for line in oracle.lines().skip(1) {
        let cols: Vec<&str> = line.split('\t').collect();
        let [file, fs_type, uuid, label, ..] = cols[..] else {
            panic!("bad ORACLE.tsv line {line:?}");
        };
        if fs_type != "iso9660" {
            continue;
        }
        let (file, offset) = match file.split_once("@offset") {
            Some((f, o)) => (f, o.parse::<u64>().unwrap()),
            None => (file, 0),
        };
        if offset != 0 {
            // Later sessions address their extents from the start of the disc, not of the
            // session; like Linux on an image file we read the first session only.
            continue;
        }
        let img = common::unpacked(&blkid.join(file));
        let disk = Disk::open(&img).unwrap();
        let slice = disk.whole().sub(offset, disk.size() - offset).unwrap();
        let fs = match IsoFs::open(slice) {
            Ok(fs) => fs,
            Err(e) => {
                wrong.push(format!("{file}@{offset}: open failed: {e}"));
                continue;
            }
        };
        let got = fs.info().clone();
        checked += 1;
        if got.fs_type != FsType::Iso9660 || got.uuid != uuid || got.label != label {
            wrong.push(format!(
                "{file}@{offset}: got {:?} {:?}, blkid says {uuid:?} {label:?}",
                got.uuid, got.label
            ));
        }
        // Every file of the tree reads to its stated size.
        let mut stack = vec![b"/".to_vec()];
        while let Some(dir) = stack.pop() {
            for (name, kind) in fs.read_dir(&dir).unwrap() {
                let path = [&dir[..], if dir.len() > 1 { b"/" } else { b"" }, &name].concat();
                match kind {
                    FileKind::Dir => stack.push(path),
                    FileKind::File => {
                        let size = fs.stat(&path).unwrap().unwrap().size;
                        let mut buf = Vec::new();
                        std::io::Read::read_to_end(&mut fs.open(&path).unwrap(), &mut buf).unwrap();
                        assert_eq!(buf.len() as u64, size);
                        files += 1;
                    }
                    _ => {}
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} mismatches:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    assert!(checked >= 4, "only {checked} iso9660 images in the oracle");
    assert!(files >= 8, "only {files} files read");
    eprintln!("{checked} iso9660 images match blkid; {files} files read");
}
