//! Every boot configuration in the shared corpus (`bootcfg/`: pygrub's examples and
//! u-root's distribution samples) parses to what a person reading it expects. Expectations
//! were written by reading each file. Opt-in: skipped (with a note) when the corpus is absent.
//!
//! Files that are not menus: `grubenv` is read with `grub2::parse_grubenv` (a variable block
//! for `saved_entry`/`kernelopts`); syslinux `stdmenu.cfg` (only `menu` styling) and
//! Debian's `isolinux.cfg` / EFI `grub.cfg` stubs (only `include`/`source`) parse to empty
//! menus that list what they include.

mod common;

use domuloader::config::{self, bls, grub2, list_pygrub_style, parse, ConfigKind, Menu, MenuEntry};
use std::path::{Path, PathBuf};

fn bootcfg() -> Option<PathBuf> {
    common::corpus().map(|c| c.join("bootcfg"))
}

fn read(dir: &Path, name: &str) -> Vec<u8> {
    std::fs::read(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// One expected entry (paths and args as the parser reports them).
struct Want {
    index: usize,
    title: &'static str,
    kernel: &'static str,
    initrd: &'static [&'static str],
    args: &'static str,
    hint: Option<&'static str>,
}

struct Case {
    file: &'static str,
    kind: ConfigKind,
    /// All titles in menu order, or just the count when `titles` is empty.
    titles: &'static [&'static str],
    count: usize,
    default: usize,
    entries: &'static [Want],
    includes: &'static [&'static str],
}

const CASES: &[Case] = &[
    Case {
        file: "pygrub_alpine-linux-2.3.2.extlinux",
        kind: ConfigKind::Extlinux,
        titles: &["grsec"],
        count: 1,
        // DEFAULT names menu.c32; MENU DEFAULT marks grsec.
        default: 0,
        entries: &[Want {
            index: 0,
            title: "grsec",
            kernel: "vmlinuz-3.0.10-grsec",
            initrd: &["initramfs-3.0.10-grsec"],
            args: "root=UUID=a97ffe64-430f-4fd3-830e-4736d9a27af0 modules=sd-mod,usb-storage,ext4 quiet",
            hint: None,
        }],
        includes: &[],
    },
    Case {
        file: "pygrub_debian-wheezy-hvm.grub2",
        kind: ConfigKind::Grub2,
        titles: &[
            "Debian GNU/Linux, with Linux 3.2.0-4-amd64",
            "Debian GNU/Linux, with Linux 3.2.0-4-amd64 (recovery mode)",
        ],
        count: 2,
        default: 0,
        entries: &[
            Want {
                index: 0,
                title: "Debian GNU/Linux, with Linux 3.2.0-4-amd64",
                kernel: "/boot/vmlinuz-3.2.0-4-amd64",
                initrd: &["/boot/initrd.img-3.2.0-4-amd64"],
                args: "root=UUID=f395d5a0-4612-4872-806c-33cd37c152f0 ro",
                hint: Some("(/dev/xvda,msdos1)"),
            },
            Want {
                index: 1,
                title: "Debian GNU/Linux, with Linux 3.2.0-4-amd64 (recovery mode)",
                kernel: "/boot/vmlinuz-3.2.0-4-amd64",
                initrd: &["/boot/initrd.img-3.2.0-4-amd64"],
                args: "root=UUID=f395d5a0-4612-4872-806c-33cd37c152f0 ro single",
                hint: Some("(/dev/xvda,msdos1)"),
            },
        ],
        includes: &["$prefix/custom.cfg"],
    },
    Case {
        file: "pygrub_fedora-19.grub2",
        kind: ConfigKind::Grub2,
        titles: &[
            "Fedora, with Linux 3.9.6-301.fc19.i686.PAE",
            "Fedora, with Linux 0-rescue-8d62a0261d8147dc84eb89292ebc1666",
        ],
        count: 2,
        // `set default="${saved_entry}"` → 0 (pygrub's rule).
        default: 0,
        entries: &[Want {
            index: 0,
            title: "Fedora, with Linux 3.9.6-301.fc19.i686.PAE",
            kernel: "/vmlinuz-3.9.6-301.fc19.i686.PAE",
            initrd: &["/initramfs-3.9.6-301.fc19.i686.PAE.img"],
            args: "root=/dev/mapper/fedora-root ro rd.lvm.lv=fedora/swap rd.md=0 rd.dm=0 vconsole.keymap=us  rd.luks=0 vconsole.font=latarcyrheb-sun16 rd.lvm.lv=fedora/root",
            hint: Some("(hd0,msdos1)"),
        }],
        includes: &["${config_directory}/custom.cfg", "$prefix/custom.cfg"],
    },
    Case {
        file: "pygrub_rhel-7-beta.grub2",
        kind: ConfigKind::Grub2,
        titles: &[
            "Red Hat Enterprise Linux Everything, with Linux 3.10.0-54.0.1.el7.x86_64",
            "Red Hat Enterprise Linux Everything, with Linux 0-rescue-af34f0b8cf364cdbbe6d093f8228a37f",
        ],
        count: 2,
        default: 0,
        entries: &[Want {
            index: 0,
            title: "Red Hat Enterprise Linux Everything, with Linux 3.10.0-54.0.1.el7.x86_64",
            kernel: "/vmlinuz-3.10.0-54.0.1.el7.x86_64",
            initrd: &["/initramfs-3.10.0-54.0.1.el7.x86_64.img"],
            args: "root=/dev/mapper/rhel-root ro rd.lvm.lv=rhel/swap vconsole.keymap=uk crashkernel=auto rd.lvm.lv=rhel/root vconsole.font=latarcyrheb-sun16 LANG=en_GB.UTF-8",
            hint: Some("(hd0,msdos1)"),
        }],
        includes: &["${config_directory}/custom.cfg", "$prefix/custom.cfg"],
    },
    Case {
        file: "u-root/uroot_bls_fedora_32__loader__entries__de8380606ce44a2dabad127eb049acbe-0-rescue.conf",
        kind: ConfigKind::Bls,
        titles: &["Fedora 32 (Server Edition) - Rescue Image"],
        count: 1,
        default: 0,
        entries: &[Want {
            index: 0,
            title: "Fedora 32 (Server Edition) - Rescue Image",
            kernel: "/de8380606ce44a2dabad127eb049acbe/0_rescue/linux",
            initrd: &["/de8380606ce44a2dabad127eb049acbe/0_rescue/initrd"],
            args: "BOOT_IMAGE=(hd0,gpt2)/vmlinuz-5.6.6-300.fc32.x86_64 root=UUID=b0b50629-c323-40de-9b01-05632be6dbd4 ro resume=UUID=abf0a2b5-f8db-411b-b534-1a431c63fbc0 console=ttyS0 rd.auto=1",
            hint: None,
        }],
        includes: &[],
    },
    Case {
        file: "u-root/uroot_bls_fedora_32__loader__entries__de8380606ce44a2dabad127eb049acbe-5.6.6-300.fc32.x86_64.conf",
        kind: ConfigKind::Bls,
        titles: &["Fedora 32 (Server Edition)"],
        count: 1,
        default: 0,
        entries: &[Want {
            index: 0,
            title: "Fedora 32 (Server Edition)",
            kernel: "/de8380606ce44a2dabad127eb049acbe/5_6_6_300_fc32_x86_64/linux",
            initrd: &["/de8380606ce44a2dabad127eb049acbe/5_6_6_300_fc32_x86_64/initrd"],
            args: "root=UUID=b0b50629-c323-40de-9b01-05632be6dbd4 ro resume=UUID=abf0a2b5-f8db-411b-b534-1a431c63fbc0 console=ttyS0",
            hint: None,
        }],
        includes: &[],
    },
    Case {
        file: "u-root/uroot_bls_madeup__loader__entries__entry-1.conf",
        kind: ConfigKind::Bls,
        titles: &["Fedora 19 (Rawhide)"],
        count: 1,
        default: 0,
        entries: &[Want {
            index: 0,
            title: "Fedora 19 (Rawhide)",
            kernel: "fakefile",
            initrd: &["fakefile"],
            // Two `options` lines, joined.
            args: "root=UUID=6d3376e4-fc93-4509-95ec-a21d68011da2 earlyprintk=ttyS0",
            hint: None,
        }],
        includes: &[],
    },
    Case {
        // No `linux` line: not an entry (systemd-boot and grub's blscfg skip it too).
        file: "u-root/uroot_bls_madeup__loader__entries__entry-2.conf",
        kind: ConfigKind::Bls,
        titles: &[],
        count: 0,
        default: 0,
        entries: &[],
        includes: &[],
    },
    Case {
        file: "u-root/uroot_grub_CentOS_7_x86_64_DVD_1810__EFI__BOOT__grub.cfg",
        kind: ConfigKind::Grub2,
        titles: &[
            "Install CentOS 7",
            "Test this media & install CentOS 7",
            "Install CentOS 7 in basic graphics mode",
            "Rescue a CentOS system",
        ],
        count: 4,
        default: 1,
        entries: &[Want {
            index: 1,
            title: "Test this media & install CentOS 7",
            kernel: "/images/pxeboot/vmlinuz",
            initrd: &["/images/pxeboot/initrd.img"],
            // Kept as written (pygrub too): grub's `\x20` is for the kernel to decode.
            args: r"inst.stage2=hd:LABEL=CentOS\x207\x20x86_64 rd.live.check quiet",
            hint: None,
        }],
        includes: &[],
    },
    Case {
        file: "u-root/uroot_grub_CentOS_7_x86_64_DVD_1810_efi_install_sda1__EFI__centos__grub.cfg",
        kind: ConfigKind::Grub2,
        titles: &[
            "CentOS Linux (3.10.0-957.el7.x86_64) 7 (Core)",
            "CentOS Linux (0-rescue-95c8409b55ce443baf15cad9e750348d) 7 (Core)",
        ],
        count: 2,
        default: 0,
        entries: &[Want {
            index: 0,
            title: "CentOS Linux (3.10.0-957.el7.x86_64) 7 (Core)",
            kernel: "/vmlinuz-3.10.0-957.el7.x86_64",
            initrd: &["/initramfs-3.10.0-957.el7.x86_64.img"],
            args: "root=/dev/mapper/centos-root ro crashkernel=auto rd.lvm.lv=centos/root rd.lvm.lv=centos/swap console=ttyS0,115200,8n1 LANG=en_US.UTF-8",
            hint: Some("(hd1,gpt2)"),
        }],
        includes: &["${prefix}/user.cfg", "${config_directory}/custom.cfg", "$prefix/custom.cfg"],
    },
    Case {
        // Its own menu is one tboot entry (multiboot2, no Linux kernel); the real entries come
        // from `blscfg` (see `centos8_blscfg_merges_bls_entries`). The `set default=1` of the
        // boot-counting fallback is conditional and ignored.
        file: "u-root/uroot_grub_CentOS_8_Stream_x86_64_blscfg_sda1__EFI__centos__grub.cfg",
        kind: ConfigKind::Grub2,
        titles: &["CentOS Linux GNU/Linux, with tboot 1.10.2 and Linux 5.18.0"],
        count: 1,
        default: 0,
        entries: &[Want {
            index: 0,
            title: "CentOS Linux GNU/Linux, with tboot 1.10.2 and Linux 5.18.0",
            kernel: "",
            initrd: &[],
            args: "",
            hint: None,
        }],
        includes: &["${prefix}/user.cfg", "${config_directory}/custom.cfg", "$prefix/custom.cfg"],
    },
    Case {
        file: "u-root/uroot_grub_CentOS_8_Stream_x86_64_blscfg_sda1__boot__loader__entries__9af7b02ac08149d985841c07c8ff366e-5.18.0.conf",
        kind: ConfigKind::Bls,
        titles: &["CentOS Linux (5.18.0) 8"],
        count: 1,
        default: 0,
        entries: &[Want {
            index: 0,
            title: "CentOS Linux (5.18.0) 8",
            kernel: "/boot/vmlinuz-5.18.0",
            // `$tuned_initrd` is a grub variable, dropped.
            initrd: &["/boot/initramfs-5.18.0.img"],
            args: "$kernelopts $tuned_params",
            hint: None,
        }],
        includes: &[],
    },
    Case {
        file: "u-root/uroot_grub_debian_10_4_installed__boot__grub__grub.cfg",
        kind: ConfigKind::Grub2,
        titles: &[
            "Debian GNU/Linux",
            "Debian GNU/Linux, with Linux 4.19.0-9-amd64",
            "Debian GNU/Linux, with Linux 4.19.0-9-amd64 (recovery mode)",
        ],
        count: 3,
        default: 0,
        entries: &[
            Want {
                index: 0,
                title: "Debian GNU/Linux",
                kernel: "/boot/vmlinuz-4.19.0-9-amd64",
                initrd: &["/boot/initrd.img-4.19.0-9-amd64"],
                args: "root=UUID=39ec20e2-83f5-44ce-8671-f31ce0856377 ro console=ttyS0 quiet",
                hint: Some("(hd0,msdos1)"),
            },
            Want {
                index: 2,
                title: "Debian GNU/Linux, with Linux 4.19.0-9-amd64 (recovery mode)",
                kernel: "/boot/vmlinuz-4.19.0-9-amd64",
                initrd: &["/boot/initrd.img-4.19.0-9-amd64"],
                args: "root=UUID=39ec20e2-83f5-44ce-8671-f31ce0856377 ro single console=ttyS0",
                hint: Some("(hd0,msdos1)"),
            },
        ],
        includes: &["${config_directory}/custom.cfg", "$prefix/custom.cfg"],
    },
    Case {
        file: "u-root/uroot_grub_debian_9_install__boot__grub__x86_64-efi__grub.cfg",
        kind: ConfigKind::Grub2,
        titles: &[],
        count: 0,
        default: 0,
        entries: &[],
        includes: &["/boot/grub/grub.cfg"],
    },
    Case {
        file: "u-root/uroot_grub_fedora_27_install__EFI__BOOT__grub.cfg",
        kind: ConfigKind::Grub2,
        titles: &[
            "Start Fedora-Workstation-Live 27",
            "Test this media & start Fedora-Workstation-Live 27",
            "Start Fedora-Workstation-Live 27 in basic graphics mode",
        ],
        count: 3,
        default: 1,
        entries: &[Want {
            index: 1,
            title: "Test this media & start Fedora-Workstation-Live 27",
            kernel: "/images/pxeboot/vmlinuz",
            initrd: &["/images/pxeboot/initrd.img"],
            args: "root=live:CDLABEL=Fedora-WS-Live-27-1-6 rd.live.image rd.live.check quiet",
            hint: None,
        }],
        includes: &[],
    },
    Case {
        // Its `menuentry` ids are split across lines inside quotes: pygrub's line regex
        // rejects the file; grub (and we) read the quoted string across the newline.
        file: "u-root/uroot_grub_rhel_7_8_another__boot__grub2__grub.cfg",
        kind: ConfigKind::Grub2,
        titles: &[
            "Red Hat Enterprise Linux Server (3.10.0-1127.el7.x86_64) 7.8 (Maipo)",
            "Red Hat Enterprise Linux Server (0-rescue-8ae51ce6a0a74f8d85fe6f1281d8477f) 7.8 (Maipo)",
        ],
        count: 2,
        default: 0,
        entries: &[Want {
            index: 0,
            title: "Red Hat Enterprise Linux Server (3.10.0-1127.el7.x86_64) 7.8 (Maipo)",
            kernel: "/boot/vmlinuz-3.10.0-1127.el7.x86_64",
            initrd: &["/boot/initramfs-3.10.0-1127.el7.x86_64.img"],
            args: "root=UUID=71360dfb-1e6e-40dc-abec-3538d5fffa39 ro console=tty0 console=ttyS0,115200n8 no_timer_check net.ifnames=0 crashkernel=auto LANG=en_US.UTF-8",
            hint: Some("(hd0,msdos1)"),
        }],
        includes: &["${prefix}/user.cfg", "${config_directory}/custom.cfg", "$prefix/custom.cfg"],
    },
    Case {
        file: "u-root/uroot_grub_rhel_7_8_another__boot__grub__grub.conf",
        kind: ConfigKind::GrubLegacy,
        titles: &["Red Hat Enterprise Linux 7 (3.10.0-1127.el7.x86_64)"],
        count: 1,
        default: 0,
        entries: &[Want {
            index: 0,
            title: "Red Hat Enterprise Linux 7 (3.10.0-1127.el7.x86_64)",
            kernel: "/boot/vmlinuz-3.10.0-1127.el7.x86_64",
            initrd: &["/boot/initramfs-3.10.0-1127.el7.x86_64.img"],
            args: "ro root=UUID=71360dfb-1e6e-40dc-abec-3538d5fffa39 console=hvc0 LANG=en_US.UTF-8",
            hint: Some("(hd0)"),
        }],
        includes: &[],
    },
    Case {
        file: "u-root/uroot_grub_ubuntu_16_04_boot__grub__grub.cfg",
        kind: ConfigKind::Grub2,
        titles: &[
            "Ubuntu",
            "Ubuntu, with Linux 4.10.0-42-generic",
            "Ubuntu, with Linux 4.10.0-42-generic (upstart)",
            "Ubuntu, with Linux 4.10.0-42-generic (recovery mode)",
            "Ubuntu, with Linux 4.10.0-40-generic",
            "Ubuntu, with Linux 4.10.0-40-generic (upstart)",
            "Ubuntu, with Linux 4.10.0-40-generic (recovery mode)",
            "System setup",
        ],
        count: 8,
        default: 0,
        entries: &[
            Want {
                index: 0,
                title: "Ubuntu",
                kernel: "/vmlinuz-4.10.0-42-generic.efi.signed",
                initrd: &["/initrd.img-4.10.0-42-generic"],
                // `$vt_handoff` kept verbatim, like pygrub.
                args: "root=/dev/mapper/ubuntu--vg-root ro  quiet splash $vt_handoff",
                hint: None,
            },
            Want {
                index: 6,
                title: "Ubuntu, with Linux 4.10.0-40-generic (recovery mode)",
                kernel: "/vmlinuz-4.10.0-40-generic.efi.signed",
                initrd: &["/initrd.img-4.10.0-40-generic"],
                args: "root=/dev/mapper/ubuntu--vg-root ro recovery nomodeset",
                hint: None,
            },
            Want {
                index: 7,
                title: "System setup",
                kernel: "",
                initrd: &[],
                args: "",
                hint: None,
            },
        ],
        includes: &["${config_directory}/custom.cfg", "$prefix/custom.cfg"],
    },
    Case {
        file: "u-root/uroot_syslinux_debian_10_install__isolinux__isolinux.cfg",
        kind: ConfigKind::Extlinux,
        titles: &[],
        count: 0,
        default: 0,
        entries: &[],
        includes: &["menu.cfg"],
    },
    Case {
        file: "u-root/uroot_syslinux_debian_10_install__isolinux__stdmenu.cfg",
        kind: ConfigKind::Extlinux,
        titles: &[],
        count: 0,
        default: 0,
        entries: &[],
        includes: &[],
    },
    Case {
        file: "u-root/uroot_syslinux_debian_10_install__isolinux__txt.cfg",
        kind: ConfigKind::Extlinux,
        titles: &["install"],
        count: 1,
        default: 0,
        entries: &[Want {
            index: 0,
            title: "install",
            kernel: "/install.amd/vmlinuz",
            initrd: &["/install.amd/initrd.gz"],
            args: "vga=788 --- quiet",
            hint: None,
        }],
        includes: &[],
    },
    Case {
        // 81 labels: the live entry, 76 locales inside `menu begin advanced`, its "Back"
        // label (`menu exit`, no kernel), three installers.
        file: "u-root/uroot_syslinux_debian_9_install__isolinux__menu.cfg",
        kind: ConfigKind::Extlinux,
        titles: &[],
        count: 81,
        default: 0,
        entries: &[
            Want {
                index: 0,
                title: "Debian GNU/Linux Live (kernel 4.9.0-3-amd64)",
                kernel: "/live/vmlinuz-4.9.0-3-amd64",
                initrd: &["/live/initrd.img-4.9.0-3-amd64"],
                args: "boot=live components",
                hint: None,
            },
            Want {
                index: 76,
                title: "Welsh (cy)",
                kernel: "/live/vmlinuz-4.9.0-3-amd64",
                initrd: &["/live/initrd.img-4.9.0-3-amd64"],
                args: "boot=live components locales=cy_GB.UTF-8",
                hint: None,
            },
            Want {
                index: 77,
                title: "mainmenu",
                kernel: "",
                initrd: &[],
                args: "",
                hint: None,
            },
            Want {
                index: 78,
                title: "Graphical Debian Installer",
                kernel: "/d-i/gtk/vmlinuz",
                initrd: &["/d-i/gtk/initrd.gz"],
                // The stray `append` word is in the file.
                args: "append video=vesa:ywrap,mtrr vga=788",
                hint: None,
            },
            Want {
                index: 80,
                title: "Debian Installer with Speech Synthesis",
                kernel: "/d-i/gtk/vmlinuz",
                initrd: &["/d-i/gtk/initrd.gz"],
                args: "speakup.synth=soft",
                hint: None,
            },
        ],
        includes: &["stdmenu.cfg"],
    },
    Case {
        file: "u-root/uroot_syslinux_debian_9_install__isolinux__stdmenu.cfg",
        kind: ConfigKind::Extlinux,
        titles: &[],
        count: 0,
        default: 0,
        entries: &[],
        includes: &[],
    },
    Case {
        // mboot.c32 entries boot the kernel between the `---`s (pygrub's rule). The default
        // is `menu default` on "check" (syslinux; pygrub ignores it and takes entry 0).
        file: "u-root/uroot_syslinux_qubes_3_2_install__isolinux__isolinux.cfg",
        kind: ConfigKind::Extlinux,
        titles: &["linux", "check", "vesa", "rescue", "memtest", "local", "returntomain"],
        count: 7,
        default: 1,
        entries: &[
            Want {
                index: 1,
                title: "check",
                kernel: "vmlinuz",
                initrd: &["initrd.img"],
                args: "inst.stage2=hd:LABEL=Qubes-R3.2-x86_64 i915.preliminary_hw_support=1 quiet rhgb rd.live.check",
                hint: None,
            },
            Want {
                index: 4,
                title: "memtest",
                kernel: "memtest",
                initrd: &[],
                args: "",
                hint: None,
            },
            Want {
                index: 5,
                title: "local",
                kernel: "",
                initrd: &[],
                args: "",
                hint: None,
            },
        ],
        includes: &[],
    },
];

fn check_entry(file: &str, e: &MenuEntry, w: &Want) {
    let ctx = format!("{file} entry {}", w.index);
    assert_eq!(e.title, w.title, "{ctx}: title");
    assert_eq!(
        String::from_utf8_lossy(&e.kernel),
        w.kernel,
        "{ctx}: kernel"
    );
    let initrd: Vec<String> = e
        .initrd
        .iter()
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .collect();
    assert_eq!(initrd, w.initrd, "{ctx}: initrd");
    assert_eq!(e.args, w.args, "{ctx}: args");
    assert_eq!(e.device_hint.as_deref(), w.hint, "{ctx}: device hint");
}

fn check_case(dir: &Path, c: &Case) -> Menu {
    let m = parse(c.kind, &read(dir, c.file)).unwrap_or_else(|e| panic!("{}: {e}", c.file));
    assert_eq!(m.kind, c.kind, "{}", c.file);
    assert_eq!(m.entries.len(), c.count, "{}: entry count", c.file);
    if !c.titles.is_empty() {
        let titles: Vec<&str> = m.entries.iter().map(|e| e.title.as_str()).collect();
        assert_eq!(titles, c.titles, "{}: titles", c.file);
    }
    assert_eq!(m.default, c.default, "{}: default", c.file);
    for w in c.entries {
        check_entry(c.file, &m.entries[w.index], w);
    }
    let includes: Vec<String> = m
        .includes
        .iter()
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .collect();
    assert_eq!(includes, c.includes, "{}: includes", c.file);
    m
}

#[test]
fn every_corpus_config_parses_as_read() {
    let Some(dir) = bootcfg() else { return };
    for c in CASES {
        let m = check_case(&dir, c);
        // The default entry is always among the checked ones, so its kernel/initrd/args
        // are pinned too.
        assert!(
            c.entries.is_empty() || c.entries.iter().any(|w| w.index == m.default),
            "{}: default entry not in the expectations",
            c.file
        );
    }
}

/// Every file in `bootcfg/` is either in CASES or a grubenv: a new corpus file must get
/// expectations (held-out files, when added, are reported by name).
#[test]
fn every_corpus_file_is_covered() {
    let Some(dir) = bootcfg() else { return };
    let mut found = Vec::new();
    for sub in ["", "u-root"] {
        for ent in std::fs::read_dir(dir.join(sub)).unwrap() {
            let ent = ent.unwrap();
            if ent.file_type().unwrap().is_file() {
                let name = ent.file_name().to_string_lossy().into_owned();
                found.push(if sub.is_empty() {
                    name
                } else {
                    format!("{sub}/{name}")
                });
            }
        }
    }
    let uncovered: Vec<&String> = found
        .iter()
        .filter(|f| !f.ends_with("grubenv") && !CASES.iter().any(|c| c.file == f.as_str()))
        .collect();
    assert!(
        uncovered.is_empty(),
        "corpus files without expectations: {uncovered:?}"
    );
    assert_eq!(found.len(), CASES.len() + 1, "{found:?}");
}

#[test]
fn grubenv_is_a_variable_block() {
    let Some(dir) = bootcfg() else { return };
    let env = grub2::parse_grubenv(&read(
        &dir,
        "u-root/uroot_grub_CentOS_8_Stream_x86_64_blscfg_sda1__EFI__centos__grubenv",
    ));
    let get = |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    assert_eq!(
        get("saved_entry"),
        Some("9af7b02ac08149d985841c07c8ff366e-5.18.0")
    );
    assert_eq!(
        get("kernelopts"),
        Some("root=UUID=d0be5cb9-622d-42d5-a531-674aaa120309 ro crashkernel=auto rhgb quiet console=ttyS1,57600n8")
    );
    assert_eq!(env.len(), 4);
}

/// CentOS 8: grub.cfg runs `blscfg` before its tboot submenu; the BLS entry comes first and
/// is the default; `$kernelopts` expands from grubenv, and grub.cfg's own fallback
/// assignment is there when no grubenv is read.
#[test]
fn centos8_blscfg_merges_bls_entries() {
    let Some(dir) = bootcfg() else { return };
    let base = "u-root/uroot_grub_CentOS_8_Stream_x86_64_blscfg_sda1_";
    let mut menu = parse(
        ConfigKind::Grub2,
        &read(&dir, &format!("{base}_EFI__centos__grub.cfg")),
    )
    .unwrap();
    assert_eq!(menu.blscfg, Some(0));
    let name = "9af7b02ac08149d985841c07c8ff366e-5.18.0.conf";
    let entry = bls::parse_entry(&read(
        &dir,
        &format!("{base}_boot__loader__entries__{name}"),
    ))
    .unwrap();
    menu.insert_bls(bls::menu_from_entries(vec![(name.to_owned(), entry)]).unwrap())
        .unwrap();
    assert_eq!(menu.entries.len(), 2);
    assert_eq!(menu.default, 0);
    let d = menu.default_entry().unwrap();
    assert_eq!(d.title, "CentOS Linux (5.18.0) 8");
    assert_eq!(
        d.id.as_deref(),
        Some("9af7b02ac08149d985841c07c8ff366e-5.18.0")
    );

    let grubenv = grub2::parse_grubenv(&read(&dir, &format!("{base}_EFI__centos__grubenv")));
    let saved = grubenv
        .iter()
        .find(|(k, _)| k == "saved_entry")
        .map(|(_, v)| v.as_str());
    assert_eq!(menu.find(saved.unwrap()), Some(0));
    let want = "root=UUID=d0be5cb9-622d-42d5-a531-674aaa120309 ro crashkernel=auto rhgb quiet console=ttyS1,57600n8";
    assert_eq!(config::expand_vars(&d.args, &grubenv).unwrap(), want);
    assert_eq!(config::expand_vars(&d.args, &menu.env).unwrap(), want);
}

/// Fedora 32's two BLS files as one directory: newest first, the rescue image last.
#[test]
fn fedora32_bls_directory_order() {
    let Some(dir) = bootcfg() else { return };
    let prefix = "u-root/uroot_bls_fedora_32__loader__entries__";
    let names = [
        "de8380606ce44a2dabad127eb049acbe-0-rescue.conf",
        "de8380606ce44a2dabad127eb049acbe-5.6.6-300.fc32.x86_64.conf",
    ];
    let entries = names
        .iter()
        .map(|n| {
            (
                (*n).to_owned(),
                bls::parse_entry(&read(&dir, &format!("{prefix}{n}"))).unwrap(),
            )
        })
        .collect();
    let m = bls::menu_from_entries(entries).unwrap();
    let titles: Vec<&str> = m.entries.iter().map(|e| e.title.as_str()).collect();
    assert_eq!(
        titles,
        [
            "Fedora 32 (Server Edition)",
            "Fedora 32 (Server Edition) - Rescue Image"
        ]
    );
    assert_eq!(m.default, 0);

    let madeup = "u-root/uroot_bls_madeup__loader__entries__";
    let entries = ["entry-1.conf", "entry-2.conf"]
        .iter()
        .map(|n| {
            (
                (*n).to_owned(),
                bls::parse_entry(&read(&dir, &format!("{madeup}{n}"))).unwrap(),
            )
        })
        .collect();
    let m = bls::menu_from_entries(entries).unwrap();
    assert_eq!(m.entries.len(), 1);
    assert_eq!(m.entries[0].id.as_deref(), Some("entry-1"));
}

/// `--entry=TITLE` and grub `>`-paths on a real Debian submenu.
#[test]
fn debian10_entry_selection() {
    let Some(dir) = bootcfg() else { return };
    let m = parse(
        ConfigKind::Grub2,
        &read(
            &dir,
            "u-root/uroot_grub_debian_10_4_installed__boot__grub__grub.cfg",
        ),
    )
    .unwrap();
    assert_eq!(m.find("2"), Some(2));
    assert_eq!(m.find("Debian GNU/Linux"), Some(0));
    assert_eq!(
        m.find("Advanced options for Debian GNU/Linux>Debian GNU/Linux, with Linux 4.19.0-9-amd64"),
        Some(1)
    );
    assert_eq!(
        m.find("gnulinux-advanced-39ec20e2-83f5-44ce-8671-f31ce0856377>gnulinux-4.19.0-9-amd64-recovery-39ec20e2-83f5-44ce-8671-f31ce0856377"),
        Some(2)
    );
    assert_eq!(
        m.entries[1].submenu,
        ["Advanced options for Debian GNU/Linux"]
    );
    assert_eq!(m.find("Debian GNU/Linux, with Linux 5.10"), None);
}

#[test]
fn pygrub_listing_and_json() {
    let Some(dir) = bootcfg() else { return };
    let m = parse(ConfigKind::Grub2, &read(&dir, "pygrub_fedora-19.grub2")).unwrap();
    let text = list_pygrub_style(&m);
    let first: Vec<&str> = text.lines().take(5).collect();
    assert_eq!(
        first,
        [
            "title: Fedora, with Linux 3.9.6-301.fc19.i686.PAE",
            "  root: d0p1",
            "  kernel: /vmlinuz-3.9.6-301.fc19.i686.PAE",
            "  args: root=/dev/mapper/fedora-root ro rd.lvm.lv=fedora/swap rd.md=0 rd.dm=0 vconsole.keymap=us  rd.luks=0 vconsole.font=latarcyrheb-sun16 rd.lvm.lv=fedora/root",
            "  initrd: /initramfs-3.9.6-301.fc19.i686.PAE.img",
        ]
    );
    assert_eq!(text.lines().count(), 10);
    let j = serde_json::to_value(&m).unwrap();
    assert_eq!(j["kind"], "grub2");
    assert_eq!(j["default"], 0);
    assert_eq!(
        j["entries"][1]["kernel"],
        "/vmlinuz-0-rescue-8d62a0261d8147dc84eb89292ebc1666"
    );
    assert_eq!(
        j["entries"][0]["id"],
        "gnulinux-3.9.6-301.fc19.i686.PAE-advanced-738519ba-06da-4402-9b68-a1c1efada512"
    );
}

/// Every corpus config also survives truncation at any line and byte cut (what a capped
/// read of a longer file would hand over): no panic, no error.
#[test]
fn truncated_configs_parse() {
    let Some(dir) = bootcfg() else { return };
    for c in CASES {
        let bytes = read(&dir, c.file);
        for cut in (0..bytes.len()).step_by(7) {
            parse(c.kind, &bytes[..cut]).unwrap_or_else(|e| panic!("{} cut at {cut}: {e}", c.file));
        }
    }
}
