#!/bin/bash
# two-disk: writes OUT (the guest's xvda) and OUT's sibling two-disk-xvdb.img (its xvdb).
#   xvda: MBR, p1 / ext4: /etc/fstab mounts /dev/xvdb1 on /boot; /vmlinuz, /initrd.img symlinks
#   xvdb: MBR, p1 /boot ext4: vmlinuz-$KVER, initrd.img-$KVER (id xvdb-main)
. "$(dirname "$0")/lib.sh"
OUT=$1; OUTB=$(dirname "$OUT")/two-disk-xvdb.img
boot_files "$WORKDIR/boot" xvdb-main
mkdir -p "$WORKDIR/root/etc" "$WORKDIR/root/boot"
cat > "$WORKDIR/root/etc/fstab" <<'EOT'
/dev/xvda1 /     ext4 defaults 0 1
/dev/xvdb1 /boot ext4 defaults 0 2
EOT
ln -s "boot/vmlinuz-$KVER" "$WORKDIR/root/vmlinuz"
ln -s "boot/initrd.img-$KVER" "$WORKDIR/root/initrd.img"
b=$(size_mib "$WORKDIR/boot"); r=$(size_mib "$WORKDIR/root")
rm -f "$OUT" "$OUTB"; truncate -s $(( 1 + r ))M "$OUT"; truncate -s $(( 1 + b ))M "$OUTB"
printf 'label: dos\nstart=1M, type=83\n' | sfdisk -q "$OUT"
printf 'label: dos\nstart=1M, type=83\n' | sfdisk -q "$OUTB"
ext4_at "$OUT" 1 "$r" e2e00000-0005-4000-8000-000000000005 e2e2root "$WORKDIR/root"
ext4_at "$OUTB" 1 "$b" e2e00000-0006-4000-8000-000000000006 e2e2boot "$WORKDIR/boot"
