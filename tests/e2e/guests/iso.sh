#!/bin/bash
# iso: a Debian-netinst-style hybrid ISO (as fixtures/build/iso.sh's iso-debian), built with
# debian-cd's xorriso command line: isohybrid MBR (isohdpfx.bin), El Torito isolinux and an
# EFI image (boot/grub/efi.img, FAT), Rock Ridge + Joliet.
#   /install.amd/xen/vmlinuz    the Debian kernel; /install.amd/xen/initrd.gz (id iso-xen) and
#   /install.amd/xen/debian.cfg the Xen PV installer, what domuloader boots with no arguments
#   /install.amd/vmlinuz, initrd.gz (id iso-baremetal), gtk/initrd.gz (id iso-gtk): the
#                               bare-metal installer (a stand-in kernel), named by Debian's
#                               isolinux menus (isolinux.cfg -> menu.cfg -> gtk.cfg, txt.cfg)
#                               and /boot/grub/grub.cfg: a loader taking a menu picks these
. "$(dirname "$0")/lib.sh"
OUT=$1
export SOURCE_DATE_EPOCH=1700000000 MTOOLS_SKIP_CHECK=1
t=$WORKDIR/iso
mkdir -p "$t/install.amd/xen" "$t/install.amd/gtk" "$t/isolinux" "$t/boot/grub" "$t/.disk" "$t/EFI/boot"
cp "$KERNEL" "$t/install.amd/xen/vmlinuz"
mk_initrd "$t/install.amd/xen/initrd.gz" iso-xen
{ echo "e2e stand-in: bare-metal installer kernel"; head -c 65536 /dev/zero; } > "$t/install.amd/vmlinuz"
mk_initrd "$t/install.amd/initrd.gz" iso-baremetal
mk_initrd "$t/install.amd/gtk/initrd.gz" iso-gtk
cat > "$t/install.amd/xen/debian.cfg" <<'EOF'
# Debian installer Xen configuration (as debian-cd ships it, abridged)
memory = 512
name = "debian-installer"
if install == 'true':
    bootloader = "pygrub"
    bootargs = "--kernel=/install.amd/xen/vmlinuz --ramdisk=/install.amd/xen/initrd.gz"
    extra = "debian-installer/exit/always_halt=true -- console=hvc0"
EOF
echo 'Debian GNU/Linux 12 "Bookworm" - e2e amd64 NETINST' > "$t/.disk/info"
cp /usr/lib/ISOLINUX/isolinux.bin "$t/isolinux/"
cp /usr/lib/syslinux/modules/bios/{ldlinux,vesamenu,libcom32,libutil}.c32 "$t/isolinux/"
cat > "$t/isolinux/isolinux.cfg" <<'EOF'
# D-I config version 2.0
# search path for the c32 support libraries (libcom32, libutil etc.)
path 
include menu.cfg
default vesamenu.c32
prompt 0
timeout 0
EOF
cat > "$t/isolinux/menu.cfg" <<'EOF'
menu hshift 4
menu width 70

menu title Debian GNU/Linux installer menu (BIOS mode)
include stdmenu.cfg
include gtk.cfg
include txt.cfg
EOF
printf 'menu background splash.png\nmenu color title\t* #FFFFFFFF *\n' > "$t/isolinux/stdmenu.cfg"
cat > "$t/isolinux/gtk.cfg" <<'EOF'
default installgui
label installgui
	menu label ^Graphical install
	menu default
	kernel /install.amd/vmlinuz
	append vga=788 initrd=/install.amd/gtk/initrd.gz --- quiet 
EOF
cat > "$t/isolinux/txt.cfg" <<'EOF'
label install
	menu label ^Install
	kernel /install.amd/vmlinuz
	append vga=788 initrd=/install.amd/initrd.gz --- quiet 
EOF
cat > "$t/boot/grub/grub.cfg" <<'EOF'
menuentry --hotkey=g 'Graphical install' {
    set background_color=black
    linux    /install.amd/vmlinuz vga=788 --- quiet 
    initrd   /install.amd/gtk/initrd.gz
}
menuentry --hotkey=i 'Install' {
    set background_color=black
    linux    /install.amd/vmlinuz vga=788 --- quiet 
    initrd   /install.amd/initrd.gz
}
EOF
# the EFI system partition image, as debian-cd makes it (FAT12)
echo 'e2e stand-in: EFI/boot/bootx64.efi' > "$WORKDIR/bootx64.efi"
mkfs.vfat -C -n DEBIAN_EFI -i 0xe2e00150 "$t/boot/grub/efi.img" 320 >/dev/null
mmd -i "$t/boot/grub/efi.img" ::/EFI ::/EFI/boot
mcopy -i "$t/boot/grub/efi.img" "$WORKDIR/bootx64.efi" ::/EFI/boot/bootx64.efi
cp "$WORKDIR/bootx64.efi" "$t/EFI/boot/bootx64.efi"
rm -f "$OUT"
xorriso -as mkisofs -r -V 'Debian 12 e2e amd64 n' -o "$OUT" -J -joliet-long \
  -cache-inodes -isohybrid-mbr /usr/lib/ISOLINUX/isohdpfx.bin -b isolinux/isolinux.bin \
  -c isolinux/boot.cat -boot-load-size 4 -boot-info-table -no-emul-boot -eltorito-alt-boot \
  -e boot/grub/efi.img -no-emul-boot -isohybrid-gpt-basdat "$t" 2>/dev/null
