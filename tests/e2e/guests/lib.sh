# Helpers for the guest-image builders (sourced by guests/*.sh; see ../README.md).
# A builder is called as   guests/NAME.sh OUT.img   with these in the environment:
#   KERNEL  the Debian vmlinuz (a real PV-capable kernel)     KVER  its version string
#   WORKDIR a scratch directory for this builder (removed afterwards)
# and writes OUT.img with the real tools only (sfdisk, mke2fs -d, mkfs.vfat + mcopy, ...):
# no mounts, no loop devices where a tool can fill a filesystem itself; where none can (btrfs
# subvolumes, XFS, LVM), a loop mount or loop device that the builder removes again (it runs
# as root on the host). Every UUID is fixed so the cfgs and fstabs can name them.
set -euo pipefail
export LC_ALL=C E2FSPROGS_FAKE_TIME=1700000000

# mk_initrd OUT ID: a busybox initrd whose /init prints the marker the harness checks,
#   E2E-GUEST-UP id=[ID] cmdline=[<the guest's /proc/cmdline>]
# on the console and powers the guest off. ID tells which initrd the bootloader handed over.
mk_initrd() {
  local out=$1 id=$2 d
  d=$(mktemp -d "$WORKDIR/ird.XXXX")
  mkdir -p "$d/bin" "$d/proc" "$d/dev"
  cp /bin/busybox "$d/bin/busybox"
  echo "$id" > "$d/e2e-id"
  cat > "$d/init" <<'EOI'
#!/bin/busybox sh
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t devtmpfs dev /dev 2>/dev/null
m="E2E-GUEST-UP id=[$(/bin/busybox cat /e2e-id)] cmdline=[$(/bin/busybox cat /proc/cmdline)]"
echo "$m" > /dev/console
echo "$m" > /dev/hvc0 2>/dev/null
/bin/busybox sleep 1
/bin/busybox poweroff -f
EOI
  chmod +x "$d/init"
  (cd "$d" && find . | cpio -R 0:0 -H newc -o --quiet | gzip -1 -n) > "$out"
}

# size_mib FILE-OR-DIR: MiB needed for the contents plus slack for filesystem metadata.
size_mib() { echo $(( $(du -sm --apparent-size "$1" | cut -f1) + 4 )); }

# mbr|gpt table: write the partition table of OUT (sfdisk script on stdin, sizes in MiB).
# ext4_at OUT START_MIB SIZE_MIB UUID LABEL DIR: mke2fs -d DIR into OUT at that offset.
ext4_at() {
  mke2fs -q -F -t ext4 -U "$4" -L "$5" -E "offset=$(( $2 * 1048576 )),root_owner=0:0" \
    -d "$6" "$1" "$3M"
}
# vfat_at OUT START_MIB SIZE_MIB VOLID LABEL DIR: mkfs.vfat at that offset, mcopy DIR in.
vfat_at() {
  local out start=$2 size=$3 volid=$4 label=$5 dir=$6
  out=$(realpath "$1")
  # (mkfs.vfat warns that the image is larger than the filesystem: intended, so quiet)
  mkfs.vfat -F 16 -i "$volid" -n "$label" --offset=$(( start * 2048 )) "$out" $(( size * 1024 )) >/dev/null 2>&1 ||
    mkfs.vfat -F 16 -i "$volid" -n "$label" --offset=$(( start * 2048 )) "$out" $(( size * 1024 ))
  (cd "$dir" && mcopy -s -i "$out@@$(( start * 1048576 ))" ./* ::/)
}
# boot_files DIR ID...: the Debian kernel as DIR/vmlinuz-$KVER and one initrd per ID
#   (the first as initrd.img-$KVER, the others as initrd-ID.img).
boot_files() {
  local dir=$1 first=1 id; shift
  mkdir -p "$dir"
  cp "$KERNEL" "$dir/vmlinuz-$KVER"
  for id in "$@"; do
    if [ $first = 1 ]; then mk_initrd "$dir/initrd.img-$KVER" "$id"; first=0
    else mk_initrd "$dir/initrd-$id.img" "$id"; fi
  done
}
