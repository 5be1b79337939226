//! Partition discovery on the fixtures of `fixtures/build/partitions.sh`: exact layouts of
//! tables written by sfdisk/fdisk, damaged GPTs, unpartitioned disks, and crafted hostile
//! tables that must end in one clean error line (exit 1), never a panic.

mod common;

use domuloader::disk::Disk;
use domuloader::partition::{self, Layout, PartType, PartitionError, TableKind};

fn layout(fixture: &str) -> Layout {
    let disk = Disk::open(&common::fixture(fixture)).unwrap();
    partition::discover(&disk).unwrap_or_else(|e| panic!("{fixture}: {e}"))
}

/// `(number, start sector, sectors, type)` in the table's own sector size.
fn spans(l: &Layout) -> Vec<(u32, u64, u64, String)> {
    let ss = u64::from(l.sector_size);
    l.partitions
        .iter()
        .map(|p| (p.number, p.start / ss, p.size / ss, p.part_type.to_string()))
        .collect()
}

fn owned(v: &[(u32, u64, u64, &str)]) -> Vec<(u32, u64, u64, String)> {
    v.iter()
        .map(|&(n, s, l, t)| (n, s, l, t.to_owned()))
        .collect()
}

/// The build script writes `DOMULOADER-PART-N` at the first byte of partition N; reading
/// it through `slice_of` proves the byte start is where the tool put the partition.
fn assert_markers(fixture: &str, numbers: &[u32]) {
    let disk = Disk::open(&common::fixture(fixture)).unwrap();
    let l = partition::discover(&disk).unwrap();
    for &n in numbers {
        let p = l
            .get(n)
            .unwrap_or_else(|| panic!("{fixture}: no partition {n}"));
        let slice = partition::slice_of(&disk, p).unwrap();
        let want = format!("DOMULOADER-PART-{n}");
        let mut got = vec![0u8; want.len()];
        slice.read_exact_at(0, &mut got).unwrap();
        assert_eq!(
            String::from_utf8_lossy(&got),
            want,
            "{fixture} partition {n}"
        );
    }
}

#[test]
fn mbr_three_primaries_and_three_logicals() {
    let l = layout("part-mbr.img");
    assert_eq!(l.table, TableKind::Mbr);
    assert_eq!(l.sector_size, 512);
    assert_eq!(
        spans(&l),
        owned(&[
            (1, 2048, 2048, "83"),
            (2, 4096, 2048, "83"),
            (3, 6144, 2048, "82"),
            (4, 8192, 12288, "5"),
            (5, 10240, 2048, "83"),
            (6, 14336, 2048, "8e"),
            (7, 18432, 2048, "c"),
        ])
    );
    let uuids: Vec<_> = l
        .partitions
        .iter()
        .map(|p| p.partuuid.clone().unwrap())
        .collect();
    let want: Vec<_> = [1, 2, 3, 4, 5, 6, 7]
        .iter()
        .map(|n| format!("1234abcd-{n:02x}"))
        .collect();
    assert_eq!(uuids, want);
    assert!(l.partitions.iter().all(|p| p.partlabel.is_none()));
    assert_eq!(l.get(5).unwrap().part_type, PartType::Mbr(0x83));
    assert_markers("part-mbr.img", &[1, 2, 3, 5, 6, 7]);
}

fn assert_gpt512(l: &Layout) {
    assert_eq!(l.table, TableKind::Gpt);
    assert_eq!(l.sector_size, 512);
    assert_eq!(
        spans(l),
        owned(&[
            (1, 2048, 2048, "c12a7328-f81f-11d2-ba4b-00a0c93ec93b"),
            (2, 4096, 4096, "0fc63daf-8483-4772-8e79-3d69d8477de4"),
            (5, 8192, 2048, "0657fd6d-a4ab-43c4-84e5-0933c84b4f4f"),
        ])
    );
    let ids: Vec<_> = l
        .partitions
        .iter()
        .map(|p| (p.partuuid.clone().unwrap(), p.partlabel.clone().unwrap()))
        .collect();
    assert_eq!(
        ids,
        [
            ("0b1c2d3e-0001-4000-8000-000000000001", "EFI System"),
            ("0b1c2d3e-0002-4000-8000-000000000002", "root"),
            ("0b1c2d3e-0005-4000-8000-000000000005", "swap"),
        ]
        .map(|(u, n)| (u.to_owned(), n.to_owned()))
    );
}

#[test]
fn gpt_512_entries_numbered_by_index() {
    assert_gpt512(&layout("part-gpt512.img"));
    assert_markers("part-gpt512.img", &[1, 2, 5]);
}

#[test]
fn gpt_damaged_primary_header_uses_backup() {
    assert_gpt512(&layout("part-gpt-backup.img"));
}

#[test]
fn gpt_damaged_primary_entries_use_backup_entries() {
    // The primary entry 1 name was changed to "XFI System"; the CRC must reject it.
    assert_gpt512(&layout("part-gpt-badentries.img"));
}

fn assert_gpt4096(l: &Layout) {
    assert_eq!(l.table, TableKind::Gpt);
    assert_eq!(l.sector_size, 4096);
    assert_eq!(
        spans(l),
        owned(&[
            (1, 256, 256, "c12a7328-f81f-11d2-ba4b-00a0c93ec93b"),
            (2, 512, 512, "0fc63daf-8483-4772-8e79-3d69d8477de4"),
        ])
    );
    assert_eq!(l.get(1).unwrap().start, 1024 * 1024);
    let ids: Vec<_> = l
        .partitions
        .iter()
        .map(|p| (p.partuuid.clone().unwrap(), p.partlabel.clone().unwrap()))
        .collect();
    assert_eq!(
        ids,
        [
            ("4c1d0000-0001-4000-8000-000000000001", "esp4k"),
            ("4c1d0000-0002-4000-8000-000000000002", "root4k"),
        ]
        .map(|(u, n)| (u.to_owned(), n.to_owned()))
    );
}

#[test]
fn gpt_4096_byte_sectors() {
    assert_gpt4096(&layout("part-gpt4096.img"));
    assert_markers("part-gpt4096.img", &[1, 2]);
}

#[test]
fn gpt_4096_damaged_primary_uses_backup() {
    assert_gpt4096(&layout("part-gpt4096-backup.img"));
}

#[test]
fn unpartitioned_ext_and_fat_disks_are_one_filesystem() {
    // The FAT boot sectors end in 0x55AA and their "partition entries" are zeros, which
    // Linux's MBR test alone would take for an empty MBR.
    for fixture in [
        "part-none-ext.img",
        "part-none-fat.img",
        "part-none-fat32.img",
    ] {
        let path = common::fixture(fixture);
        let l = layout(fixture);
        assert_eq!(l.table, TableKind::None, "{fixture}");
        assert_eq!(l.partitions.len(), 1);
        let p = l.get(0).unwrap();
        assert_eq!((p.start, p.part_type.clone()), (0, PartType::Whole));
        assert_eq!(p.size, std::fs::metadata(&path).unwrap().len());
    }
}

#[test]
fn inspect_json_is_the_documented_document() {
    let path = common::fixture("part-gpt512.img");
    let out = common::run_str(&["--inspect", "--output-format=json", path.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["table"], "gpt");
    assert_eq!(v["sector_size"], 512);
    let p = &v["partitions"][1];
    assert_eq!(p["number"], 2);
    assert_eq!(p["start"], 4096 * 512);
    assert_eq!(p["size"], 4096 * 512);
    assert_eq!(p["type"], "0fc63daf-8483-4772-8e79-3d69d8477de4");
    assert_eq!(p["partuuid"], "0b1c2d3e-0002-4000-8000-000000000002");
    assert_eq!(p["partlabel"], "root");

    let path = common::fixture("part-mbr.img");
    let out = common::run_str(&["--inspect", "--output-format=json", path.to_str().unwrap()]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["table"], "mbr");
    assert_eq!(v["partitions"][4]["partuuid"], "1234abcd-05");
    assert!(v["partitions"][4].get("partlabel").is_none());
}

/// Each crafted table: `discover` fails with `Invalid`, and `--inspect` (text and JSON)
/// exits 1 with one line naming the problem.
#[test]
fn hostile_tables_fail_cleanly() {
    let cases = [
        (
            "hostile/part-ebr-loop.img",
            "loop in the extended partition chain",
        ),
        ("hostile/part-ebr-outside.img", "lies outside the disk"),
        ("hostile/part-ebr-chain10000.img", "longer than 256 EBRs"),
        ("hostile/part-mbr-start0.img", "starts at sector 0"),
        ("hostile/part-gpt-entry256.img", "partition entry size 256"),
        (
            "hostile/part-gpt-huge-count.img",
            "4294967295 partition entries",
        ),
    ];
    for (fixture, want) in cases {
        let path = common::fixture(fixture);
        let disk = Disk::open(&path).unwrap();
        match partition::discover(&disk) {
            Err(PartitionError::Invalid(m)) => assert!(m.contains(want), "{fixture}: {m}"),
            other => panic!("{fixture}: expected Invalid, got {other:?}"),
        }
        for extra in [&[][..], &["--output-format=json"][..]] {
            let mut args = vec!["--inspect"];
            args.extend_from_slice(extra);
            args.push(path.to_str().unwrap());
            let line = common::assert_clean_failure(&common::run_str(&args));
            assert!(line.contains(want), "{fixture}: {line}");
            assert!(
                line.starts_with("domuloader: bad partition table: "),
                "{line}"
            );
        }
    }
}

/// sfdisk lists a partition that runs past the end of the disk, so discovery does too;
/// reading it is what fails, with an error naming the partition.
#[test]
fn partition_past_the_end_is_listed_but_not_readable() {
    let path = common::fixture("hostile/part-past-end.img");
    let disk = Disk::open(&path).unwrap();
    let l = partition::discover(&disk).unwrap();
    assert_eq!(
        spans(&l),
        owned(&[(1, 2048, 1024, "83"), (2, 3072, 3072, "83")])
    );
    assert!(partition::slice_of(&disk, l.get(1).unwrap()).is_ok());
    let err = partition::slice_of(&disk, l.get(2).unwrap()).unwrap_err();
    assert!(
        matches!(err, PartitionError::OutsideDisk { number: 2, .. }),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        "partition 2 lies outside the disk (start 1572864, size 1572864, disk 2097152 bytes)"
    );

    // The layout is still printed, but the damaged disk fails the run with one line.
    let out = common::run_str(&["--inspect", "--output-format=json", path.to_str().unwrap()]);
    let line = common::assert_clean_failure(&out);
    assert!(line.contains("partition 2 lies outside the disk"), "{line}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let fs_err = v["partitions"][1]["filesystem_error"].as_str().unwrap();
    assert!(fs_err.contains("outside the disk"), "{fs_err}");
}

#[test]
fn tiny_and_empty_disks_are_unpartitioned() {
    for len in [0usize, 100, 511, 512, 1024] {
        let f = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(f.path(), vec![0u8; len]).unwrap();
        let disk = Disk::open(f.path()).unwrap();
        let l = partition::discover(&disk).unwrap();
        assert_eq!(l.table, TableKind::None);
        assert_eq!(l.get(0).unwrap().size, len as u64);
    }
}
