#!/bin/bash
# gpt: GPT disk, p1 a 1 MiB BIOS-boot partition (empty), p2 the root ext4 with an in-root /boot:
#   /boot/vmlinuz-$KVER, /boot/initrd.img-$KVER (id gpt-main), /boot/grub/grub.cfg (E2E_MENU=gpt).
. "$(dirname "$0")/lib.sh"
OUT=$1
boot_files "$WORKDIR/root/boot" gpt-main
mkdir -p "$WORKDIR/root/boot/grub" "$WORKDIR/root/etc"
cat > "$WORKDIR/root/boot/grub/grub.cfg" <<EOG
set default=0
set timeout=0
menuentry 'E2E gpt' {
  linux /boot/vmlinuz-$KVER root=PARTUUID=e2e00000-0b02-4000-8000-000000000002 ro E2E_MENU=gpt
  initrd /boot/initrd.img-$KVER
}
EOG
echo 'PARTUUID=e2e00000-0b02-4000-8000-000000000002 / ext4 defaults 0 1' > "$WORKDIR/root/etc/fstab"
r=$(size_mib "$WORKDIR/root")
rm -f "$OUT"; truncate -s $(( 3 + r ))M "$OUT"
sfdisk -q "$OUT" <<EOS
label: gpt
label-id: E2E00000-0B00-4000-8000-000000000000
start=1M, size=1M, type=21686148-6449-6E6F-744E-656564454649, uuid=E2E00000-0B01-4000-8000-000000000001, name=bios
start=2M, size=${r}M, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, uuid=E2E00000-0B02-4000-8000-000000000002, name=root
EOS
ext4_at "$OUT" 2 "$r" e2e00000-0003-4000-8000-000000000003 e2egptroot "$WORKDIR/root"
