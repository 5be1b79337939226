//! Issue 13, image formats: every qcow2 fixture's virtual disk equals `qemu-img convert -O
//! raw` of it (whole-disk sha256 recorded by fixtures/build/qcow2.sh), qcow2 guests boot like
//! their raw originals (menu, fstab path entry, fstab across disks with `--disks`), a
//! backing file is refused without being opened, every other format is refused by name, and
//! the crafted qcow2 set fails cleanly within the robustness limits.

mod common;

use domuloader::disk::{Disk, ImageFormat};
use sha2::{Digest, Sha256};
use std::io::Read;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const TIME_LIMIT: Duration = Duration::from_secs(2);
const MEM_LIMIT: u64 = 256 * 1024 * 1024;

fn hex(d: &[u8]) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// `(name, virtual size, sha256)` from fixtures/expected/qcow2.manifest.
fn manifest() -> Vec<(String, u64, String)> {
    let text = std::fs::read_to_string(common::repo().join("fixtures/expected/qcow2.manifest"))
        .expect("manifest");
    let rows: Vec<_> = text
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f[0].to_owned(), f[1].parse().unwrap(), f[2].to_owned())
        })
        .collect();
    assert!(rows.len() >= 9, "manifest too short");
    rows
}

fn qcow2(name: &str) -> PathBuf {
    common::fixture(&format!("{name}.qcow2"))
}

/// Reads the whole virtual disk through `Disk` and checks every host extent it hands out
/// against the bytes read: the zero-copy path must copy exactly what a read returns.
#[test]
fn every_qcow2_fixture_reads_like_qemu_img() {
    for (name, size, sha) in manifest() {
        let path = qcow2(&name);
        let disk = Disk::open(&path).unwrap();
        assert_eq!(disk.format(), "qcow2", "{name}");
        assert_eq!(disk.size(), size, "{name}");
        let file = std::fs::File::open(&path).unwrap();
        let mut h = Sha256::new();
        let mut buf = vec![0u8; 1 << 20];
        let (mut at, mut mapped) = (0u64, 0u64);
        while at < size {
            let n = (size - at).min(buf.len() as u64) as usize;
            disk.read_exact_at(at, &mut buf[..n]).unwrap();
            h.update(&buf[..n]);
            let mut off = 0u64;
            while off < n as u64 {
                let step = match disk.host_extent(at + off, n as u64 - off).unwrap() {
                    Some(e) => {
                        let mut host = vec![0u8; e.len as usize];
                        file.read_exact_at(&mut host, e.offset).unwrap();
                        let o = off as usize;
                        assert!(
                            host == buf[o..o + host.len()],
                            "{name}: extent at {}",
                            at + off
                        );
                        mapped += e.len;
                        e.len
                    }
                    None => 512,
                };
                off += step;
            }
            at += n as u64;
        }
        assert_eq!(
            hex(&h.finalize()),
            sha,
            "{name}: differs from qemu-img convert -O raw"
        );
        let compressed = ["zstd", "deflate", "v2", "guest-b"]
            .iter()
            .any(|c| name.contains(c));
        assert!(compressed || mapped > 0, "{name}: no host extent at all");
    }
}

/// A disk opened the way a positional disk is, at a tiny read budget: the image file's
/// reads (tables, compressed clusters) are charged too, so the budget stops them.
#[test]
fn reads_are_charged_to_the_budget() {
    let disk = Disk::open(&qcow2("qcow2-menu-zstd")).unwrap();
    disk.set_read_budget(256 * 1024);
    let mut buf = vec![0u8; 64 * 1024];
    let mut err = None;
    for i in 0..256u64 {
        if let Err(e) = disk.read_exact_at(i * 64 * 1024, &mut buf) {
            err = Some(e.to_string());
            break;
        }
    }
    let err = err.expect("budget never hit");
    assert!(err.contains("bytes read from the disk in one run"), "{err}");
}

/// Inflating is charged too: 512-byte reads from distinct compressed clusters exhaust a
/// budget far larger than the bytes they return.
#[test]
fn inflating_is_charged_to_the_budget() {
    let disk = Disk::open(&qcow2("qcow2-menu-deflate")).unwrap();
    disk.set_read_budget(disk.bytes_read() + 96 * 1024);
    let mut buf = [0u8; 512];
    let mut ok = 0u64;
    let mut err = None;
    for i in 0..disk.size() / 65536 {
        match disk.read_exact_at(i * 65536, &mut buf) {
            Ok(()) => ok += 1,
            Err(e) => {
                err = Some(e.to_string());
                break;
            }
        }
    }
    let err = err.expect("budget never hit");
    assert!(err.contains("bytes read from the disk in one run"), "{err}");
    assert!(ok * 512 < 48 * 1024, "{ok} reads before the budget");
}

struct Booted {
    kernel: Vec<u8>,
    ramdisk: Option<Vec<u8>>,
    args: String,
}

impl std::fmt::Debug for Booted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let len = self.ramdisk.as_ref().map(Vec::len);
        write!(
            f,
            "Booted(kernel {} bytes, ramdisk {len:?}, args {:?})",
            self.kernel.len(),
            self.args
        )
    }
}

fn boot(image: &Path, extra: &[&str]) -> Result<Booted, String> {
    let tmp = tempfile::tempdir().unwrap();
    let dir = format!("--output-directory={}", tmp.path().display());
    let mut args = vec!["-q", "--output-format=json", &dir];
    args.extend_from_slice(extra);
    args.push(image.to_str().unwrap());
    let o = common::run_str(&args);
    if !o.status.success() {
        let line = common::assert_clean_failure(&o);
        assert_eq!(
            std::fs::read_dir(tmp.path()).unwrap().count(),
            0,
            "left files"
        );
        return Err(line);
    }
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    Ok(Booted {
        kernel: std::fs::read(v["kernel"].as_str().unwrap()).unwrap(),
        ramdisk: v["ramdisk"].as_str().map(|r| std::fs::read(r).unwrap()),
        args: v["args"].as_str().unwrap().to_owned(),
    })
}

fn assert_same(a: &Booted, b: &Booted, what: &str) {
    assert!(a.kernel == b.kernel, "{what}: kernel differs");
    assert!(a.ramdisk == b.ramdisk, "{what}: ramdisk differs");
    assert_eq!(a.args, b.args, "{what}");
    assert!(
        a.kernel.len() > 1000 && a.ramdisk.is_some(),
        "{what}: nothing booted"
    );
}

#[test]
fn qcow2_guest_boots_by_menu_and_by_fstab_path_like_raw() {
    let raw = common::fixture("menu-grub2-index.img");
    let by_menu = boot(&raw, &[]).unwrap();
    let path_entry = "--entry=/boot/vmlinuz-6.1.0-9-amd64,/boot/initrd.img-6.1.0-9-amd64";
    let by_path = boot(&raw, &[path_entry]).unwrap();
    let variants = ["plain", "deflate", "zstd", "2m", "512", "extl2", "v2"];
    for v in variants {
        let q = qcow2(&format!("qcow2-menu-{v}"));
        assert_same(&boot(&q, &[]).unwrap(), &by_menu, v);
        assert_same(&boot(&q, &[path_entry]).unwrap(), &by_path, v);
    }
    // -l lists the same menu.
    let list = |p: &Path| common::run_str(&["-l", p.to_str().unwrap()]).stdout;
    assert_eq!(list(&qcow2("qcow2-menu-zstd")), list(&raw));
}

/// Root on a qcow2 xvda, /boot on a compressed qcow2 xvdb mounted by the root's fstab:
/// positional, `--disks` with `format=qcow2`, and probed (no format stated).
#[test]
fn fstab_across_qcow2_disks() {
    let (ra, rb) = (
        common::fixture("guest-disk-a.img"),
        common::fixture("guest-disk-b.img"),
    );
    let (qa, qb) = (qcow2("qcow2-guest-a"), qcow2("qcow2-guest-b"));
    let s = |p: &Path| p.display().to_string();
    let entry = "--entry=/vmlinuz,/initrd.img";
    let want = boot(
        &ra,
        &[
            &format!("--disks=['{},raw,xvda', '{},raw,xvdb']", s(&ra), s(&rb)),
            entry,
        ],
    )
    .unwrap();
    for disks in [
        format!(
            "['{},qcow2,xvda', 'format=qcow2,vdev=xvdb,target={}']",
            s(&qa),
            s(&qb)
        ),
        format!("['file:{},xvda,w', 'tap:qcow2:{},xvdb,r']", s(&qa), s(&qb)),
        format!("['{},,xvda', '{},raw,xvdb']", s(&qa), s(&rb)),
    ] {
        let got = boot(&qa, &[&format!("--disks={disks}"), entry]).unwrap();
        assert_same(&got, &want, &disks);
    }
}

/// A stated raw is read raw (not probed); a stated qcow2 must be one.
#[test]
fn stated_formats_are_checked() {
    let q = qcow2("qcow2-menu-plain");
    let raw = common::fixture("menu-grub2-index.img");
    let e = boot(
        &q,
        &[&format!(
            "--disks=format=raw,vdev=xvda,target={}",
            q.display()
        )],
    );
    let e = e.expect_err("a qcow2 read as raw boots nothing");
    assert!(!e.contains("qcow2"), "{e}");
    let e = boot(&raw, &[&format!("--disks={},qcow2,xvda", raw.display())]).unwrap_err();
    assert_eq!(
        e,
        format!(
            "domuloader: xvda: {}: format qcow2 was given, but the image is raw",
            raw.display()
        )
    );
    let d = Disk::open_as(&q, Some(ImageFormat::Raw)).unwrap();
    assert_eq!(
        (d.format(), d.size()),
        ("raw", std::fs::metadata(&q).unwrap().len())
    );
}

#[test]
fn other_formats_are_refused_by_name() {
    let cases = [
        ("fmt-vmdk.vmdk", "VMDK"),
        ("fmt-vmdk-desc.vmdk", "VMDK"),
        ("fmt-vdi.vdi", "VDI"),
        ("fmt-vhd.vhd", "VHD"),
        ("fmt-vhd-fixed.vhd", "VHD"),
        ("fmt-vhdx.vhdx", "VHDX"),
        ("fmt-qed.qed", "QED"),
        ("fmt-qcow.qcow", "qcow (version 1)"),
    ];
    for (file, name) in cases {
        let p = common::fixture(file);
        let want = format!(
            "domuloader: xvda: {}: {name} image (unsupported; convert with qemu-img)",
            p.display()
        );
        assert_eq!(boot(&p, &[]).unwrap_err(), want, "{file}");
        let disks = format!("--disks=['file:{},xvda,r']", p.display());
        assert_eq!(boot(&p, &[&disks]).unwrap_err(), want, "{file} in --disks");
        let line =
            common::assert_clean_failure(&common::run_str(&["--inspect", p.to_str().unwrap()]));
        assert!(
            line.ends_with(&format!(
                "{name} image (unsupported; convert with qemu-img)"
            )),
            "{line}"
        );
    }
    let vhd = common::fixture("fmt-vhd.vhd");
    let e = boot(
        &vhd,
        &[&format!(
            "--disks=format=vhd,vdev=xvdb,target={}",
            vhd.display()
        )],
    );
    assert_eq!(
        e.unwrap_err(),
        format!(
            "domuloader: xvdb: {}: VHD image (unsupported; convert with qemu-img)",
            vhd.display()
        )
    );
}

/// The backing file named in the header is a FIFO here: opening it for reading would block
/// (no writer), so a run that finishes, within the limit, never opened it.
#[test]
fn backing_file_is_refused_without_being_opened() {
    let tmp = tempfile::tempdir().unwrap();
    let fifo = tmp.path().join("backing-fifo");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let mut img = std::fs::read(common::fixture("hostile/qcow2-backing-shadow.qcow2")).unwrap();
    let off = u64::from_be_bytes(img[8..16].try_into().unwrap()) as usize;
    let name = fifo.to_str().unwrap().as_bytes();
    img[off..off + name.len()].copy_from_slice(name);
    img[16..20].copy_from_slice(&(name.len() as u32).to_be_bytes());
    let path = tmp.path().join("with-backing.qcow2");
    std::fs::write(&path, &img).unwrap();
    let r = limited(&[path.to_str().unwrap()]);
    let line = common::assert_clean_failure(&r.out);
    assert_eq!(
        line,
        format!(
            "domuloader: xvda: {}: qcow2 image: backing file {:?} (unsupported; a path named in the image is never opened: `qemu-img convert` flattens it)",
            path.display(),
            fifo.display().to_string()
        )
    );
    assert!(r.elapsed < TIME_LIMIT, "{:?}", r.elapsed);
}

struct Limited {
    out: Output,
    elapsed: Duration,
    outdir_entries: usize,
}

/// Runs the binary under a 256 MiB address-space limit, killed after 10 s, with a fresh
/// output directory.
fn limited(args: &[&str]) -> Limited {
    let tmp = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_domuloader"));
    cmd.arg(format!("--output-directory={}", tmp.path().display()))
        .arg("-q")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    common::limit_address_space(&mut cmd, MEM_LIMIT);
    let start = Instant::now();
    let mut child = cmd.spawn().unwrap();
    let pid = child.id();
    let watchdog = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(10));
        unsafe { libc::kill(pid as i32, libc::SIGKILL) };
    });
    let mut stderr = Vec::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_end(&mut stderr)
        .unwrap();
    let mut stdout = Vec::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_end(&mut stdout)
        .unwrap();
    let status = child.wait().unwrap();
    let elapsed = start.elapsed();
    drop(watchdog); // detached: the kill of a reaped pid is harmless within 10 s of a test run
    Limited {
        out: Output {
            status,
            stdout,
            stderr,
        },
        elapsed,
        outdir_entries: std::fs::read_dir(tmp.path()).unwrap().count(),
    }
}

#[test]
fn hostile_qcow2_images_fail_cleanly() {
    let cases = [
        ("l1-huge", "L1 table of 4294967295 entries (more than 4194304)"),
        ("l1-outside", "L1 table at offset 1099511627776 (8 bytes) is unaligned or outside the image"),
        ("l2-outside", "L2 table at offset 1125899906842624 is unaligned or outside the image"),
        ("l2-self", "no boot configuration"),
        ("data-unaligned", "data cluster at unaligned offset 66048"),
        ("cluster-bits", "cluster size 2^30 (qcow2 allows 2^9 to 2^21)"),
        ("size-overflow", "virtual size 18446744073709551104 is larger than"),
        ("version4", "version 4 (only versions 2 and 3 are read)"),
        ("encrypted", "encrypted (LUKS; unsupported)"),
        ("corrupt", "marked corrupt by qemu"),
        ("unknown-feature", "unknown incompatible features 0x8000000000000000"),
        ("ext-huge", "header extension of type 0x12345678 and 4294967280 bytes runs past"),
        ("datafile-shadow", "external data file \"/etc/shadow\" (unsupported; a path named in the image is never opened)"),
        ("backing-shadow", "backing file \"/etc/shadow\" (unsupported"),
        ("deflate-huge", "bad compressed cluster: invalid deflate data"),
        ("deflate-overrun", "bad compressed cluster"),
        ("deflate-outside", "compressed cluster at offset 1125899906842624 lies outside the image"),
        ("zstd-huge", "bad compressed cluster: zstd"),
        ("zstd-overrun", "bad compressed cluster: zstd"),
        ("zstd-outside", "compressed cluster at offset 1125899906842624 lies outside the image"),
        ("zstd-window", "zstd: Frame requires too much memory for decoding"),
    ];
    for (name, want) in cases {
        let p = common::fixture(&format!("hostile/qcow2-{name}.qcow2"));
        for extra in [&[][..], &["--inspect"][..]] {
            let mut args = extra.to_vec();
            args.push(p.to_str().unwrap());
            let r = limited(&args);
            match (extra.is_empty(), r.out.status.signal_or_code()) {
                (true, _) | (false, Some(1)) => {
                    let line = common::assert_clean_failure(&r.out);
                    assert!(extra.len() == 1 || line.contains(want), "{name}: {line}");
                }
                // --inspect lists the partitions of an image whose header is fine.
                (false, code) => assert_eq!(code, Some(0), "{name}"),
            }
            assert!(r.elapsed < TIME_LIMIT, "{name}: {:?}", r.elapsed);
            assert_eq!(r.outdir_entries, 0, "{name}: left files");
        }
    }
    // Read as they are, and boot: a first cluster full of empty unknown extensions (a
    // bounded walk), the dirty bit (only refcounts may be stale), refcount and snapshot
    // tables far outside the file (never read).
    for name in ["ext-many", "dirty", "refcount-snapshot-garbage"] {
        let p = common::fixture(&format!("hostile/qcow2-{name}.qcow2"));
        let r = limited(&[p.to_str().unwrap()]);
        assert!(
            r.out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&r.out.stderr)
        );
        assert!(r.elapsed < TIME_LIMIT, "{name}: {:?}", r.elapsed);
        assert_eq!(r.outdir_entries, 2, "{name}: kernel and ramdisk");
    }
}

trait SignalOrCode {
    fn signal_or_code(&self) -> Option<i32>;
}

impl SignalOrCode for std::process::ExitStatus {
    /// The exit code, or 128 + the signal that killed it.
    fn signal_or_code(&self) -> Option<i32> {
        use std::os::unix::process::ExitStatusExt;
        self.code().or(self.signal().map(|s| 128 + s))
    }
}
