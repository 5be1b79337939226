#!/bin/bash
# mbr-fstab: a Debian-style guest. MBR,
#   p1 /boot ext4 UUID e2e00000-0001-…: vmlinuz-$KVER, initrd.img-$KVER (id mbr-main),
#      initrd-mbr-second.img (id mbr-second), grub/grub.cfg with two entries (E2E_MENU=first|second)
#   p2 /     ext4 UUID e2e00000-0002-…: /etc/fstab mounts p1 on /boot by UUID=; /vmlinuz and
#      /initrd.img are relative symlinks into /boot; /boot itself holds a decoy initrd
#      (id decoy-under-mount) that only a loader ignoring the fstab mount would pick.
. "$(dirname "$0")/lib.sh"
OUT=$1
boot_files "$WORKDIR/boot" mbr-main mbr-second
mkdir -p "$WORKDIR/boot/grub"
cat > "$WORKDIR/boot/grub/grub.cfg" <<EOG
set default=0
set timeout=0
menuentry 'E2E first' {
  linux /vmlinuz-$KVER root=UUID=e2e00000-0002-4000-8000-000000000002 ro E2E_MENU=first
  initrd /initrd.img-$KVER
}
menuentry 'E2E second' {
  linux /vmlinuz-$KVER root=UUID=e2e00000-0002-4000-8000-000000000002 ro E2E_MENU=second
  initrd /initrd-mbr-second.img
}
EOG
mkdir -p "$WORKDIR/root/etc" "$WORKDIR/root/boot"
cat > "$WORKDIR/root/etc/fstab" <<'EOT'
UUID=e2e00000-0002-4000-8000-000000000002 /     ext4 errors=remount-ro 0 1
UUID=e2e00000-0001-4000-8000-000000000001 /boot ext4 defaults          0 2
EOT
ln -s "boot/vmlinuz-$KVER" "$WORKDIR/root/vmlinuz"
ln -s "boot/initrd.img-$KVER" "$WORKDIR/root/initrd.img"
mk_initrd "$WORKDIR/root/boot/initrd.img-$KVER" decoy-under-mount
b=$(size_mib "$WORKDIR/boot"); r=$(size_mib "$WORKDIR/root")
rm -f "$OUT"; truncate -s $(( 1 + b + r ))M "$OUT"
sfdisk -q "$OUT" <<EOS
label: dos
label-id: 0xe2e00001
start=1M, size=${b}M, type=83, bootable
start=$(( 1 + b ))M, type=83
EOS
ext4_at "$OUT" 1 "$b" e2e00000-0001-4000-8000-000000000001 e2eboot "$WORKDIR/boot"
ext4_at "$OUT" $(( 1 + b )) "$r" e2e00000-0002-4000-8000-000000000002 e2eroot "$WORKDIR/root"
