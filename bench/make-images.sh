#!/usr/bin/env bash
# bench/make-images.sh OUTDIR
#
# Builds the guest disk images of the speed/memory benchmark (issue 7), without root,
# mounts or loop devices: sfdisk writes the MBR, `mke2fs -d -E offset=` writes each
# filesystem straight into the (sparse) image, dpkg-deb extracts a real Debian kernel.
#
#   guest-8m.img        1 GiB   initrd  8 MiB
#   guest-256m.img      1 GiB   initrd 256 MiB
#   guest-256m-64g.img  64 GiB  initrd 256 MiB (sparse: same p1 at the same offset, p2 fills the disk)
#
# Layout of every image (MBR, 512-byte sectors):
#   p1  start 2048,     512 MiB  ext2 /boot (4 KiB blocks, no extents: indirect blocks)
#         vmlinuz-V       the real ~14 MB kernel of linux-image-V
#         initrd.img-V    SIZE bytes of incompressible pseudo-random data (fixed seed)
#         grub/grub.cfg   grub2 menuentry (linux/initrd lines) so pygrub finds the same files
#   p2  start 1050624,  rest of the disk  ext4 /
#         /etc/fstab      UUID=<p2> on /, UUID=<p1> on /boot
#         /vmlinuz -> boot/vmlinuz-V, /initrd.img -> boot/initrd.img-V   (Debian style)
#         /boot           empty mount point
# Each filesystem has a fixed UUID, label and hash seed, and every file a fixed mtime,
# so rebuilding gives the same bytes.
#
# Also writes, for each initrd size, the same two files extracted with debugfs into
# OUTDIR/plain/SIZE/ (the `cp` floor of bench/run.sh copies those), and OUTDIR/images.txt
# (one line per image: name, initrd size, kernel version, p1/p2 byte offsets, sha256s).
#
# Idempotent: an image whose recorded parameters match is kept (FORCE=1 rebuilds all).
# The kernel .deb is cached in OUTDIR/.cache (or $CACHE_DIR); a copy already in
# /work/guest-images/.cache (or $KERNEL_DEB) is reused without downloading.
# Environment knobs:
#   KERNEL_DEB=/path/linux-image-*.deb   use this package
#   KERNEL_PKG=linux-image-...-amd64     package to apt-get download (default: the one
#                                        linux-image-cloud-amd64 depends on)
#   SIZES="8 256"                        initrd sizes in MiB for the 1 GiB images
#   SPARSE_SIZES="256"                   initrd sizes in MiB that also get a 64 GiB image
#   FORCE=1                              rebuild even if up to date
#   VERIFY=0                             skip e2fsck / checksum verification
set -euo pipefail
export LC_ALL=C

OUT=${1:?usage: $0 OUTDIR}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
CACHE=${CACHE_DIR:-$OUT/.cache}
WORK=$OUT/.work
SIZES=${SIZES-8 256}
SPARSE_SIZES=${SPARSE_SIZES-256}
SDE=1700000000                                  # mtime of every file
export E2FSPROGS_FAKE_TIME=$SDE SOURCE_DATE_EPOCH=$SDE
mkdir -p "$CACHE" "$OUT/plain"
rm -rf "$WORK"; mkdir -p "$WORK"
trap 'rm -rf "$WORK"' EXIT

log() { printf '== %s\n' "$*" >&2; }
die() { printf 'make-images: error: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------- tools
need() { # TOOL PACKAGE
  command -v "$1" >/dev/null 2>&1 && return 0
  [ "$(id -u)" = 0 ] || die "$1 missing: install Debian package $2"
  log "installing $2"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$2" >/dev/null \
    || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$2" >/dev/null; } \
    || die "cannot install $2"
}
need sfdisk fdisk; need mke2fs e2fsprogs; need debugfs e2fsprogs; need e2fsck e2fsprogs
need dpkg-deb dpkg; need python3 python3; need sha256sum coreutils; need truncate coreutils

# ---------------------------------------------------------------- layout constants
SECTOR=512
P1_START=2048                         # sectors
P1_SECTORS=$((512 * 2048))            # 512 MiB
P2_START=$((P1_START + P1_SECTORS))   # 1050624
BOOT_UUID=b007b007-0000-4000-8000-00000000b001
ROOT_UUID=b007b007-0000-4000-8000-00000000b002
DISKID=0xbe4c4007

# ---------------------------------------------------------------- kernel
find_deb() {
  local d
  if [ -n "${KERNEL_DEB:-}" ]; then echo "$KERNEL_DEB"; return; fi
  d=$(ls "$CACHE"/linux-image-*.deb 2>/dev/null | head -n1 || true)
  [ -n "$d" ] && { echo "$d"; return; }
  d=$(ls /work/guest-images/.cache/linux-image-*.deb 2>/dev/null | head -n1 || true)
  if [ -n "$d" ]; then cp "$d" "$CACHE/"; echo "$CACHE/$(basename "$d")"; return; fi
  local pkg=${KERNEL_PKG:-}
  resolve() { apt-cache depends linux-image-cloud-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/{print $2; exit}'; }
  [ -n "$pkg" ] || pkg=$(resolve)
  if [ -z "$pkg" ] && [ "$(id -u)" = 0 ]; then apt-get update -qq; pkg=$(resolve); fi
  [ -n "$pkg" ] || die "cannot resolve a linux-image-*-cloud-amd64 package (apt-get update, or set KERNEL_DEB)"
  log "downloading $pkg (not installing it)"
  (cd "$CACHE" && apt-get download -qq "$pkg" 2>&1 | grep -v -i 'unsandboxed' >&2 || true)
  d=$(ls "$CACHE"/linux-image-*.deb 2>/dev/null | head -n1 || true)
  [ -n "$d" ] || die "download of $pkg failed"
  echo "$d"
}
DEB=$(find_deb)
[ -f "$DEB" ] || die "no such kernel package: $DEB"
mkdir -p "$WORK/kpkg"
dpkg-deb --fsys-tarfile "$DEB" | tar -x -C "$WORK/kpkg" --wildcards './boot/vmlinuz-*'
KIMG=$(ls "$WORK"/kpkg/boot/vmlinuz-* 2>/dev/null | head -n1 || true)
[ -n "$KIMG" ] || die "no /boot/vmlinuz-* in $DEB"
KVER=${KIMG##*/vmlinuz-}
KSHA=$(sha256sum < "$KIMG" | cut -d' ' -f1)
log "kernel $KVER from $(basename "$DEB") ($(stat -c %s "$KIMG") bytes)"

# ---------------------------------------------------------------- helpers
# make_initrd MiB FILE: incompressible bytes from a seeded PRNG (same seed, same bytes).
make_initrd() {
  python3 - "$1" "$2" <<'EOF'
import random, sys
mib, path = int(sys.argv[1]), sys.argv[2]
rng = random.Random(0x1D7 * 1000003 + mib)
with open(path, "wb") as f:
    for _ in range(mib):
        f.write(rng.randbytes(1 << 20))
EOF
}
stamp() { find "$1" -exec touch -h -d "@$SDE" {} +; }
# mkext TYPE IMG OFFSET_SECTORS SIZE_SECTORS UUID LABEL SRC_DIR EXTRA_E [mke2fs args...]
# (one -E only: mke2fs keeps just the last -E it is given)
mkext() {
  local type=$1 img=$2 start=$3 sectors=$4 uuid=$5 label=$6 src=$7 extra=$8; shift 8
  stamp "$src"
  mke2fs -q -F -t "$type" -L "$label" -U "$uuid" \
    -E "offset=$((start * SECTOR)),hash_seed=$uuid,root_owner=0:0${extra:+,$extra}" \
    -d "$src" "$@" "$img" "$((sectors / 2))k"
  # mke2fs -d copies each source file's ctime, which no one can set: pin it afterwards.
  (cd "$src" && find . -mindepth 1 | sed 's|^\.||') | sed "s|.*|sif & ctime @$SDE|" > "$WORK/sif.cmds"
  echo "sif / ctime @$SDE" >> "$WORK/sif.cmds"
  debugfs -w -f "$WORK/sif.cmds" "$img?offset=$((start * SECTOR))" >/dev/null 2>"$WORK/sif.log" \
    || { cat "$WORK/sif.log" >&2; die "debugfs sif failed"; }
  ! grep -v '^debugfs [0-9]' "$WORK/sif.log" | grep -q . || { cat "$WORK/sif.log" >&2; die "debugfs sif complained"; }
}
# Parameters an image depends on: a changed line means "rebuild".
params() { # NAME MiB DISK_MiB
  printf 'name=%s initrd_mib=%s disk_mib=%s kernel=%s ksha=%s p1=%s+%s p2=%s layout=3\n' \
    "$1" "$2" "$3" "$KVER" "$KSHA" "$P1_START" "$P1_SECTORS" "$P2_START"
}

# build_image NAME INITRD_MiB DISK_MiB
build_image() {
  local name=$1 mib=$2 disk_mib=$3 img=$OUT/$1 want
  want=$(params "$name" "$mib" "$disk_mib")
  if [ "${FORCE:-0}" != 1 ] && [ -f "$img" ] && [ -f "$img.params" ] && [ "$(cat "$img.params")" = "$want" ]; then
    log "$name up to date"; return 0
  fi
  log "building $name (${disk_mib} MiB disk, ${mib} MiB initrd)"
  rm -f "$img" "$img.params"
  local b=$WORK/$name; rm -rf "$b"; mkdir -p "$b/boot/grub" "$b/root"
  cp "$KIMG" "$b/boot/vmlinuz-$KVER"
  cp "$OUT/plain/$mib/initrd.img-$KVER" "$b/boot/initrd.img-$KVER"
  cat > "$b/boot/grub/grub.cfg" <<EOF
set default=0
set timeout=5
menuentry 'Debian GNU/Linux, with Linux $KVER' {
	search --no-floppy --fs-uuid --set=root $BOOT_UUID
	linux /vmlinuz-$KVER root=UUID=$ROOT_UUID ro console=hvc0
	initrd /initrd.img-$KVER
}
EOF
  local r=$b/root
  mkdir -p "$r/etc" "$r/boot" "$r/sbin" "$r/proc" "$r/sys" "$r/dev" "$r/tmp" "$r/root"
  echo "bench-$name" > "$r/etc/hostname"
  printf 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n' > "$r/etc/os-release"
  cat > "$r/etc/fstab" <<EOF
# /etc/fstab: static file system information.
UUID=$ROOT_UUID  /      ext4  errors=remount-ro  0  1
UUID=$BOOT_UUID  /boot  ext2  defaults,nodev     0  2
proc  /proc  proc  defaults  0  0
EOF
  ln -s "boot/vmlinuz-$KVER" "$r/vmlinuz"
  ln -s "boot/initrd.img-$KVER" "$r/initrd.img"
  printf '#!/bin/sh\necho placeholder init\n' > "$r/sbin/init"; chmod 755 "$r/sbin/init"

  local total=$((disk_mib * 2048)) tmp=$img.tmp
  rm -f "$tmp"; truncate -s "${disk_mib}M" "$tmp"
  sfdisk -q --no-reread --no-tell-kernel "$tmp" >/dev/null <<EOF
label: dos
label-id: $DISKID
unit: sectors

start=$P1_START, size=$P1_SECTORS, type=83, bootable
start=$P2_START, size=$((total - P2_START)), type=83
EOF
  local got
  got=$(sfdisk -d "$tmp" | awk -v d="${tmp}2" '$1==d{gsub(/,/,"",$4); print $4}')
  [ "$got" = "$P2_START" ] || die "$name: p2 starts at $got, expected $P2_START"
  mkext ext2 "$tmp" "$P1_START" "$P1_SECTORS" "$BOOT_UUID" boot "$b/boot" "" -b 4096 -m 0
  # lazy_itable_init: the 64 GiB root stays sparse (its inode tables are not zeroed).
  mkext ext4 "$tmp" "$P2_START" "$((total - P2_START))" "$ROOT_UUID" root "$r" \
    lazy_itable_init=1,lazy_journal_init=1,nodiscard -b 4096
  [ "$(stat -c %s "$tmp")" = "$((disk_mib * 1024 * 1024))" ] || die "$name: image size changed"
  verify_image "$tmp" "$name" "$mib"
  mv "$tmp" "$img"
  echo "$want" > "$img.params"
  rm -rf "$b"
}

verify_image() { # IMG NAME MiB
  [ "${VERIFY:-1}" = 0 ] && return 0
  local img=$1 name=$2 mib=$3 p
  for p in "$P1_START:p1" "$P2_START:p2"; do
    e2fsck -fn "$img?offset=$((${p%%:*} * SECTOR))" >"$WORK/fsck.log" 2>&1 \
      || { cat "$WORK/fsck.log" >&2; die "e2fsck failed on $name ${p#*:}"; }
  done
  local p1="$img?offset=$((P1_START * SECTOR))" p2="$img?offset=$((P2_START * SECTOR))" got
  got=$(debugfs -R "cat /vmlinuz-$KVER" "$p1" 2>/dev/null | sha256sum | cut -d' ' -f1)
  [ "$got" = "$KSHA" ] || die "$name: kernel sha256 mismatch"
  got=$(debugfs -R "cat /initrd.img-$KVER" "$p1" 2>/dev/null | sha256sum | cut -d' ' -f1)
  [ "$got" = "$(cat "$OUT/plain/$mib/initrd.sha256")" ] || die "$name: initrd sha256 mismatch"
  debugfs -R "cat /etc/fstab" "$p2" 2>/dev/null | grep -q "^UUID=$BOOT_UUID  /boot" || die "$name: fstab"
  got=$(debugfs -R "stat /vmlinuz" "$p2" 2>/dev/null | sed -n 's/^Fast link dest: "\(.*\)"$/\1/p')
  [ "$got" = "boot/vmlinuz-$KVER" ] || die "$name: /vmlinuz symlink is '$got'"
  log "$name verified (e2fsck clean, kernel/initrd sha256, fstab, symlinks)"
}

# ---------------------------------------------------------------- plain copies + initrds
all_sizes=$(printf '%s\n' $SIZES $SPARSE_SIZES | sort -nu)
for mib in $all_sizes; do
  d=$OUT/plain/$mib; mkdir -p "$d"
  ir=$d/initrd.img-$KVER
  if [ "${FORCE:-0}" = 1 ] || [ ! -f "$d/initrd.sha256" ] || [ ! -f "$ir" ] \
     || [ "$(stat -c %s "$ir")" != "$((mib << 20))" ]; then
    log "generating ${mib} MiB initrd"
    rm -f "$d"/*
    make_initrd "$mib" "$ir"
    sha256sum < "$ir" | cut -d' ' -f1 > "$d/initrd.sha256"
  fi
done

# ---------------------------------------------------------------- images
: > "$WORK/images.txt"
record() { # NAME MiB DISK_MiB
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$KVER" \
    "$((P1_START * SECTOR))" "$((P2_START * SECTOR))" "$KSHA" "$(cat "$OUT/plain/$2/initrd.sha256")" >> "$WORK/images.txt"
}
for mib in $SIZES; do build_image "guest-${mib}m.img" "$mib" 1024; record "guest-${mib}m.img" "$mib" 1024; done
for mib in $SPARSE_SIZES; do
  build_image "guest-${mib}m-64g.img" "$mib" 65536; record "guest-${mib}m-64g.img" "$mib" 65536
done

# The cp floor copies files debugfs extracted from the image itself (not the sources),
# so the floor moves exactly the bytes the loaders move.
for mib in $all_sizes; do
  d=$OUT/plain/$mib
  img=$(awk -F'\t' -v m="$mib" '$2==m{print $1; exit}' "$WORK/images.txt")
  p1="$OUT/$img?offset=$((P1_START * SECTOR))"
  if [ ! -f "$d/vmlinuz-$KVER" ] || [ "$(sha256sum < "$d/vmlinuz-$KVER" | cut -d' ' -f1)" != "$KSHA" ]; then
    rm -f "$d/vmlinuz-$KVER"
    debugfs -R "dump /vmlinuz-$KVER $d/vmlinuz-$KVER" "$p1" 2>/dev/null
  fi
  # The initrd in plain/ is the source that went into the image; re-dump it to prove it.
  rm -f "$d/initrd.img-$KVER.dump"
  debugfs -R "dump /initrd.img-$KVER $d/initrd.img-$KVER.dump" "$p1" 2>/dev/null
  cmp -s "$d/initrd.img-$KVER.dump" "$d/initrd.img-$KVER" || die "plain/$mib: dumped initrd differs"
  mv "$d/initrd.img-$KVER.dump" "$d/initrd.img-$KVER"
  touch -d "@$SDE" "$d/vmlinuz-$KVER" "$d/initrd.img-$KVER"
done

{
  printf '# name\tinitrd_mib\tdisk_mib\tkernel_version\tp1_offset\tp2_offset\tkernel_sha256\tinitrd_sha256\n'
  cat "$WORK/images.txt"
} > "$OUT/images.txt"
log "done: $OUT/images.txt"
ls -ls "$OUT"/*.img >&2
