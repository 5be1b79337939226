//! Installer ISOs: Debian's Xen installer. debian-cd puts a kernel and initrd built for Xen
//! PV guests in `/install.<arch>/xen/` (with a `debian.cfg` that tells pygrub to boot them by
//! `--kernel`/`--ramdisk`), while the ISO's own menus (grub.cfg, isolinux) boot the
//! bare-metal installer, whose default "Graphical install" needs a framebuffer a PV guest
//! usually lacks. So when nothing is asked for (no `--entry`, no `--kernel`) and the boot
//! menu that would be used is on such an ISO (or there is no menu anywhere), the Xen
//! installer boots instead. An installed guest disk's menu found first still wins (a disk
//! set with the guest's disk before the ISO boots the guest); `--entry=N|TITLE` still picks
//! from the ISO's menu, as with pygrub.

use super::{resolve, BootError, Selection};
use crate::fs::FsType;
use crate::guest::diskset::{DiskSet, PartRef};
use crate::guest::resolve::resolve_file;
use crate::guest::view;

/// Kernel and initrd of Debian's Xen installer, per architecture debian-cd builds it for.
const XEN_INSTALLERS: &[(&[u8], &[u8])] = &[
    (b"/install.amd/xen/vmlinuz", b"/install.amd/xen/initrd.gz"),
    (b"/install.386/xen/vmlinuz", b"/install.386/xen/initrd.gz"),
];

/// Debian's Xen installer on the first ISO 9660 filesystem of the set that has one.
pub fn xen_installer(set: &DiskSet) -> Result<Option<Selection>, BootError> {
    for (r, _) in set.filesystems() {
        if let Some(sel) = xen_installer_on(set, r)? {
            return Ok(Some(sel));
        }
    }
    Ok(None)
}

/// Debian's Xen installer on the filesystem `r`, if it is an ISO 9660 one that has it.
pub fn xen_installer_on(set: &DiskSet, r: PartRef) -> Result<Option<Selection>, BootError> {
    if set.filesystem(r)?.info().fs_type != FsType::Iso9660 {
        return Ok(None);
    }
    let v = view::single(set, r)?;
    for (kernel, initrd) in XEN_INSTALLERS {
        let Ok(kernel) = resolve_file(&v.table, kernel) else {
            continue;
        };
        let initrd = resolve(&v, "initrd", initrd)?;
        return Ok(Some(Selection {
            kernel,
            initrd: vec![initrd],
            args: String::new(),
            title: None,
            device: set.dev_name(r),
        }));
    }
    Ok(None)
}
