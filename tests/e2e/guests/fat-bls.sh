#!/bin/bash
# fat-bls: a systemd-boot style guest. MBR,
#   p1 /boot FAT16 (volume id E2E0-F001): vmlinuz-$KVER, initrd.img-$KVER (id fat-main),
#      initrd-bls-old.img (id bls-old), loader/entries/ with two BLS entries: the newer
#      (version $KVER, E2E_MENU=bls-new) and an older one (5.10.0-1, E2E_MENU=bls-old)
#   p2 /     ext4: /etc/fstab mounts p1 on /boot by UUID=E2E0-F001 (vfat)
. "$(dirname "$0")/lib.sh"
OUT=$1
boot_files "$WORKDIR/boot" fat-main bls-old
mkdir -p "$WORKDIR/boot/loader/entries"
cat > "$WORKDIR/boot/loader/entries/e2e-$KVER.conf" <<EOB
title   E2E BLS new
version $KVER
linux   /vmlinuz-$KVER
initrd  /initrd.img-$KVER
options root=UUID=e2e00000-0004-4000-8000-000000000004 ro E2E_MENU=bls-new
EOB
cat > "$WORKDIR/boot/loader/entries/e2e-5.10.0-1-amd64.conf" <<EOB
title   E2E BLS old
version 5.10.0-1-amd64
linux   /vmlinuz-$KVER
initrd  /initrd-bls-old.img
options root=UUID=e2e00000-0004-4000-8000-000000000004 ro E2E_MENU=bls-old
EOB
mkdir -p "$WORKDIR/root/etc" "$WORKDIR/root/boot"
cat > "$WORKDIR/root/etc/fstab" <<'EOT'
UUID=e2e00000-0004-4000-8000-000000000004 /     ext4 defaults  0 1
UUID=E2E0-F001                            /boot vfat umask=0077 0 2
EOT
b=$(size_mib "$WORKDIR/boot"); r=$(size_mib "$WORKDIR/root")
rm -f "$OUT"; truncate -s $(( 1 + b + r ))M "$OUT"
sfdisk -q "$OUT" <<EOS
label: dos
label-id: 0xe2e00003
start=1M, size=${b}M, type=ef
start=$(( 1 + b ))M, type=83
EOS
vfat_at "$OUT" 1 "$b" E2E0F001 E2EBOOT "$WORKDIR/boot"
ext4_at "$OUT" $(( 1 + b )) "$r" e2e00000-0004-4000-8000-000000000004 e2efatroot "$WORKDIR/root"
