#!/bin/bash
# xfs-lvm: a RHEL-style guest (as fixtures/build/lvm.sh's lvm-rhel-xfs). GPT,
#   p1 BIOS-boot (empty)
#   p2 XFS /boot, UUID e2e00000-0f02-…: vmlinuz-$KVER, initramfs-$KVER.img (id xfs-boot),
#      grub2/grub.cfg (blscfg), grub2/grubenv with kernelopts=… E2E_KOPTS=grubenv, and
#      loader/entries/<machine-id>-$KVER.conf with `options $kernelopts E2E_MENU=bls-rhel`
#   p3 LVM2 PV of VG rhel: LV root (XFS, UUID e2e00000-0f03-…) and LV swap. root's /etc/fstab
#      names /dev/mapper/rhel-root for / and UUID= for /boot; its own /boot directory holds a
#      decoy initramfs (id xfs-decoy-under-mount) that only a loader ignoring the mount takes.
# The VG is made by pvcreate/vgcreate/lvcreate with activation off (no device-mapper); the
# filesystems are made in files (mkfs.xfs, populated through a loop mount) and written at the
# offsets lvm reports. As root.
. "$(dirname "$0")/lib.sh"
OUT=$1
export TEST_DIR=1 TEST_DEV=1 QA_CHECK_FS=1 LVM_SUPPRESS_FD_WARNINGS=1 # mkfs.xfs: small test filesystems
BOOT_U=e2e00000-0f02-4000-8000-000000000002 ROOT_U=e2e00000-0f03-4000-8000-000000000003
mnt=$WORKDIR/mnt pv=
cleanup() {
  mountpoint -q "$mnt" && umount "$mnt"
  [ -z "$pv" ] || losetup -d "$pv"
}
trap cleanup EXIT
mkdir -p "$mnt"
# mkxfs FILE SIZE_MiB UUID LABEL DIR: an XFS filesystem in FILE holding DIR's tree
mkxfs() {
  rm -f "$1"; truncate -s "${2}M" "$1"
  mkfs.xfs -q -f -m uuid="$3" -L "$4" "$1"
  mount -o loop "$1" "$mnt"; cp -a "$5/." "$mnt/"; umount "$mnt"
}

# /boot
b=$WORKDIR/boot
boot_files "$b" xfs-boot
mv "$b/initrd.img-$KVER" "$b/initramfs-$KVER.img"
mkdir -p "$b/loader/entries" "$b/grub2"
cat > "$b/loader/entries/e2e00000000040008000000000000f00-$KVER.conf" <<EOF
title Red Hat Enterprise Linux ($KVER) 9.3 (Plow)
version $KVER
linux /vmlinuz-$KVER
initrd /initramfs-$KVER.img \$tuned_initrd
options \$kernelopts \$tuned_params E2E_MENU=bls-rhel
grub_users \$grub_users
grub_arg --unrestricted
grub_class rhel
EOF
cat > "$b/grub2/grub.cfg" <<'EOF'
set pager=1
if [ -f ${config_directory}/grubenv ]; then
  load_env -f ${config_directory}/grubenv
fi
insmod part_gpt
insmod xfs
insmod lvm
blscfg
EOF
python3 - "$b/grub2/grubenv" "$KVER" <<'PY'
import sys
body = ("# GRUB Environment Block\n"
        "kernelopts=root=/dev/mapper/rhel-root ro resume=/dev/mapper/rhel-swap rd.lvm.lv=rhel/root rd.lvm.lv=rhel/swap E2E_KOPTS=grubenv\n"
        "saved_entry=e2e00000000040008000000000000f00-%s\nboot_success=0\n" % sys.argv[2])
open(sys.argv[1], "w").write(body + "#" * (1024 - len(body)))
PY

# / (on the LV)
r=$WORKDIR/root
mkdir -p "$r/etc" "$r/boot"
cat > "$r/etc/fstab" <<EOF
#
# /etc/fstab
# Created by anaconda
#
/dev/mapper/rhel-root   /                       xfs     defaults        0 0
UUID=$BOOT_U /boot                   xfs     defaults        0 0
/dev/mapper/rhel-swap   none                    swap    defaults        0 0
EOF
mk_initrd "$r/boot/initramfs-$KVER.img" xfs-decoy-under-mount

# the disk: 1 MiB gap, p1 bios-boot 1 MiB, p2 /boot 24 MiB, p3 PV 24 MiB
rm -f "$OUT"; truncate -s 52M "$OUT"
sfdisk -q "$OUT" <<EOS
label: gpt
label-id: E2E00000-0F00-4000-8000-000000000000
start=1M, size=1M, type=21686148-6449-6E6F-744E-656564454649, uuid=E2E00000-0F01-4000-8000-000000000001, name=bios
start=2M, size=24M, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, uuid=E2E00000-0F02-4000-8000-000000000002, name=boot
start=26M, size=24M, type=E6D6D379-F507-44C2-A23C-238F2A3DF928, uuid=E2E00000-0F03-4000-8000-000000000003, name=lvm
EOS
mkxfs "$WORKDIR/fs" 24 "$BOOT_U" e2eboot "$b"
dd if="$WORKDIR/fs" of="$OUT" bs=1M seek=2 conv=notrunc,sparse status=none

pv=$(losetup -f --show -o $(( 26 * 1048576 )) --sizelimit $(( 24 * 1048576 )) "$OUT")
# only this loop device, nothing activated, nothing written to /etc/lvm
conf="devices { use_devicesfile=0 scan_lvs=0 hints=\"none\" filter=[\"a|^$pv\$|\",\"r|.*|\"] }
global { activation=0 } backup { backup=0 archive=0 }"
lvm_() { "$@" --config "$conf" 2> >(grep -v -e 'Activation disabled' -e 'not zeroed' -e 'NOT backed up' >&2); }
lvm_ pvcreate -q -ff -y "$pv" >/dev/null
lvm_ vgcreate -q -s 1M rhel "$pv" >/dev/null
lvm_ lvcreate -q -an -Zn -Wn -y -L 16M -n root rhel >/dev/null
lvm_ lvcreate -q -an -Zn -Wn -y -L 2M -n swap rhel >/dev/null
pe_start=$(lvm_ pvs --noheadings --units b --nosuffix -o pe_start "$pv" | tr -d ' ')
# lv_at LV: byte offset of the LV's first extent in the PV (one linear segment each)
lv_at() {
  local r; r=$(lvm_ lvs --noheadings --segments -o seg_pe_ranges "rhel/$1" | tr -d ' ')
  [ "$(echo "$r" | wc -l)" = 1 ] && [ "${r%%:*}" = "$pv" ] || { echo "xfs-lvm: unexpected segments of $1: $r" >&2; exit 1; }
  r=${r#*:}; echo $(( pe_start + ${r%-*} * 1048576 ))
}
root_at=$(lv_at root) swap_at=$(lv_at swap)
losetup -d "$pv"; pv=

mkxfs "$WORKDIR/fs" 16 "$ROOT_U" e2eroot "$r"
dd if="$WORKDIR/fs" of="$OUT" bs=1M seek=$(( 26 * 1048576 + root_at )) oflag=seek_bytes conv=notrunc,sparse status=none
rm -f "$WORKDIR/fs"; truncate -s 2M "$WORKDIR/fs"; mkswap -q -U e2e00000-0f04-4000-8000-000000000004 "$WORKDIR/fs"
dd if="$WORKDIR/fs" of="$OUT" bs=1M seek=$(( 26 * 1048576 + swap_at )) oflag=seek_bytes conv=notrunc,sparse status=none
rm -f "$WORKDIR/fs"
