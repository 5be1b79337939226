use super::*;
use crate::guest::testfs::MemFs;
use std::rc::Rc;

fn comps(p: &str) -> Vec<Vec<u8>> {
    p.split('/')
        .filter(|c| !c.is_empty())
        .map(|c| c.as_bytes().to_vec())
        .collect()
}

/// Debian-like guest: root with fstab-style symlinks, separate /boot.
fn debian() -> MountTable {
    let root = MemFs::new("r", "root")
        .dir("/boot")
        .file("/boot/vmlinuz-HIDDEN", b"hidden under the mount")
        .link("/vmlinuz", "boot/vmlinuz-6.1")
        .link("/initrd.img", "/boot/initrd.img-6.1")
        .file("/etc/shadow", b"guest shadow")
        .link("/escape-rel", "../../../../etc/shadow")
        .link("/escape-abs", "/etc/shadow")
        .link("/loop-a", "loop-b")
        .link("/loop-b", "loop-a")
        .link("/dir-link", "/boot")
        .file("/etc/fstab", b"");
    let boot = MemFs::new("b", "boot")
        .file("/vmlinuz-6.1", b"kernel")
        .file("/initrd.img-6.1", b"initrd")
        .link("/vmlinuz", "vmlinuz-6.1")
        .link("/up", "../etc/shadow");
    let mut t = MountTable::new(Rc::new(root), "xvda2".into());
    t.mount(comps("/boot"), Rc::new(boot), "xvda1".into());
    t
}

fn read(t: &MountTable, p: &str) -> Result<Vec<u8>, ResolveError> {
    let r = resolve_file(t, p.as_bytes())?;
    let mut v = Vec::new();
    r.open().unwrap().read_to_end(&mut v).unwrap();
    Ok(v)
}

#[test]
fn relative_link_crosses_into_mounted_boot() {
    let t = debian();
    assert_eq!(read(&t, "/vmlinuz").unwrap(), b"kernel");
    let r = resolve_file(&t, b"/vmlinuz").unwrap();
    assert_eq!(r.mount.source, "xvda1");
    assert_eq!(r.fs_path, b"/vmlinuz-6.1");
    assert_eq!(r.display(), "/boot/vmlinuz-6.1");
}

#[test]
fn absolute_link_is_relative_to_guest_root() {
    assert_eq!(read(&debian(), "/initrd.img").unwrap(), b"initrd");
}

#[test]
fn mount_hides_what_lies_beneath() {
    assert!(matches!(
        read(&debian(), "/boot/vmlinuz-HIDDEN"),
        Err(ResolveError::NotFound { .. })
    ));
}

#[test]
fn dotdot_never_climbs_above_guest_root() {
    let t = debian();
    assert_eq!(read(&t, "/escape-rel").unwrap(), b"guest shadow");
    assert_eq!(read(&t, "/escape-abs").unwrap(), b"guest shadow");
    assert_eq!(
        read(&t, "/../../boot/../../etc/shadow").unwrap(),
        b"guest shadow"
    );
    // `..` out of a mount's root goes to the parent mount, like the kernel.
    assert_eq!(read(&t, "/boot/up").unwrap(), b"guest shadow");
}

#[test]
fn loops_and_long_chains_fail() {
    let t = debian();
    assert!(matches!(
        read(&t, "/loop-a"),
        Err(ResolveError::TooManySymlinks { .. })
    ));
    let mut fs = MemFs::new("c", "chain").file("/f", b"end");
    for i in 0..41 {
        let target = if i == 40 {
            "f".to_string()
        } else {
            format!("l{}", i + 1)
        };
        fs = fs.link(&format!("/l{i}"), &target);
    }
    let t = MountTable::new(Rc::new(fs), "x".into());
    // l0 -> l1 -> ... -> l40 -> f is 41 links: one more than Linux follows.
    assert!(matches!(
        read(&t, "/l0"),
        Err(ResolveError::TooManySymlinks { .. })
    ));
    assert_eq!(read(&t, "/l1").unwrap(), b"end");
}

#[test]
fn wrong_kinds_are_clear_errors() {
    let t = debian();
    assert!(matches!(
        read(&t, "/boot"),
        Err(ResolveError::IsADirectory { .. })
    ));
    assert!(matches!(
        read(&t, "/dir-link"),
        Err(ResolveError::IsADirectory { .. })
    ));
    assert!(matches!(
        read(&t, "/etc/fstab/x"),
        Err(ResolveError::NotADirectory { .. })
    ));
    assert!(matches!(
        read(&t, "/nope"),
        Err(ResolveError::NotFound { .. })
    ));
    let long = format!("/{}", "a".repeat(MAX_PATH));
    assert!(matches!(read(&t, &long), Err(ResolveError::TooLong { .. })));
}

#[test]
fn directory_links_resolve_for_mount_points() {
    let t = debian();
    assert_eq!(resolve_dir(&t, b"/dir-link").unwrap(), comps("/boot"));
    assert_eq!(read(&t, "/dir-link/vmlinuz").unwrap(), b"kernel");
}
