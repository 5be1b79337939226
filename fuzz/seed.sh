#!/usr/bin/env bash
# Seeds fuzz/corpus/<target>/ (git-ignored) from ../shared/corpus and our fixtures,
# decompressed and cut to 1 MiB (libFuzzer's -max_len for the image targets).
set -euo pipefail
cd "$(dirname "$0")"
CORPUS=${CORPUS:-../../shared/corpus}
FIX=../fixtures
MAX=$((1024*1024))

unpack() { # unpack SRC: decompressed bytes on stdout
  case "$1" in
    *.tar.bz2) return 0 ;;
    *.gz) gzip -dc "$1" ;; *.xz) xz -dc "$1" ;; *.zst) zstd -qdc "$1" ;; *.bz2) bzip2 -dc "$1" ;;
    *) cat "$1" ;;
  esac
}
seed() { # seed TARGET FILE...   (MAX=N seed … for another cut)
  local t=$1; shift; mkdir -p "corpus/$t"
  for f in "$@"; do
    [ -f "$f" ] || continue
    unpack "$f" 2>/dev/null | head -c "$MAX" > "corpus/$t/$(basename "$f" | tr -c 'A-Za-z0-9._-' _)" || true
  done
}
seed partition "$CORPUS"/partition/* "$CORPUS"/blkid/images-pt/* "$FIX"/part-*.img.gz "$FIX"/hostile/part-*.img.gz
MAX=$((512*1024)) seed ext "$CORPUS"/e2fsprogs/*.gz "$CORPUS"/e2fsprogs/*.bz2 "$CORPUS"/ext4-view/* "$CORPUS"/ext-misc/*ext* "$FIX"/ext-*.img.gz "$FIX"/hostile/ext-*.img.gz
seed fat "$CORPUS"/fat/* "$CORPUS"/blkid/images-fs/fat*.xz "$FIX"/fat-1*.img.gz "$FIX"/fat-dirty.img.gz "$FIX"/hostile/fat-*.img.gz
MAX=$((4*1024*1024)) seed image "$FIX"/guest-*.img.gz "$FIX"/part-*.img.gz "$CORPUS"/partition/dfvfs_mbr-extended.raw.gz "$FIX"/iso-*.iso.gz
seed iso9660 "$CORPUS"/blkid/images-fs/iso*.xz "$FIX"/iso-*.iso.gz "$FIX"/hostile/iso-*.gz
MAX=$((1024*1024)) seed xfs "$FIX"/xfs-*.img.gz "$FIX"/hostile/xfs-*.img.gz "$CORPUS"/blkid/images-fs/xfs.img.xz
seed config "$CORPUS"/bootcfg/pygrub_* "$CORPUS"/bootcfg/u-root/*
seed qcow2 "$FIX"/qcow2-*.qcow2.gz "$FIX"/fmt-*.gz "$FIX"/hostile/qcow2-*.gz
# btrfs: packed sparse images (fuzz/pack-btrfs.py), metadata first within the 1 MiB cut.
mkdir -p corpus/btrfs
for f in "$FIX"/btrfs-*.img.gz "$FIX"/hostile/btrfs-*.img.gz "$CORPUS"/blkid/images-fs/btrfs.img.xz; do
  [ -f "$f" ] || continue
  unpack "$f" > corpus/btrfs/.tmp 2>/dev/null || continue
  python3 pack-btrfs.py corpus/btrfs/.tmp "corpus/btrfs/$(basename "$f" | tr -c 'A-Za-z0-9._-' _)" "$MAX"
done
rm -f corpus/btrfs/.tmp
mkdir -p corpus/fstab corpus/specs
printf '# <file system> <mount point> <type> <options> <dump> <pass>\nUUID=0d0e-1 / ext4 errors=remount-ro 0 1\nLABEL=my\\040boot /boot ext2 defaults 0 2\n/dev/xvda3 none swap sw 0 0\nproc /proc proc defaults 0 0\n' > corpus/fstab/debian
printf '/dev/sda1\t/boot\text2\tnoauto,x-systemd.automount\t0 2\nPARTUUID=6e57ab1e-01 /var ext4 bind 0 0\n' > corpus/fstab/misc
for s in "xvda2:/boot/vmlinuz,/boot/initrd" "/vmlinuz," "3" "Debian GNU/Linux" \
         "['phy:/dev/vg/lv,xvda,w', 'file:/srv/x.img,xvdb,r']" "format=raw,vdev=xvdb,access=rw,target=/p" \
         "UUID=\"abc\"" "/dev/disk/by-label/a\\x2fb" "PARTLABEL=root" "hdaa12"; do
  printf '%s' "$s" > "corpus/specs/$(printf '%s' "$s" | md5sum | cut -c1-8)"
done
mkdir -p corpus/casefold   # first byte: where the second name starts
for pair in "Straße.txtSTRASSE.TXT" "ﬃx.txtFFIX.TXT" "École.txte\xcc\x81cole.TXT" "\xe2\x84\xa6.txt\xcf\x89.txt" "A\xffa\xff"; do
  printf '\x0a%b' "$pair" > "corpus/casefold/$(printf '%s' "$pair" | md5sum | cut -c1-8)"
done
du -sh corpus/* >&2
# lvm: each PV of the LVM fixtures cut to its first 64 KiB (label, area header, text) as a
# whole-disk image, and each metadata text alone behind the `T` that selects the text mode.
mkdir -p corpus/lvm
for f in "$FIX"/lvm-*.img.gz "$FIX"/hostile/lvm-*.img.gz; do
  gzip -dc "$f" | python3 -c '
import sys, struct
img = sys.stdin.buffer.read(); out = sys.argv[1]
for s in range(0, len(img) - 1024, 512):
    if img[s:s+8] != b"LABELONE" or img[s+24:s+32] != b"LVM2 001": continue
    pv = s - 512 * struct.unpack_from("<Q", img, s + 8)[0]
    open(f"{out}-pv{pv}", "wb").write(img[pv:pv + 65536])
    mda = pv + 4096
    off, size = struct.unpack_from("<QQ", img, mda + 40)
    if 0 < size < 65536: open(f"{out}-text{pv}", "wb").write(b"T" + img[mda + off:mda + off + size])
' "corpus/lvm/$(basename "$f" .img.gz)"
done
# lvm `V` seeds: the texts with their first PV renamed to the target's fixed UUID.
for t in corpus/lvm/*-text*; do
  python3 - "$t" <<'PY'
import re, struct, sys
t = open(sys.argv[1], "rb").read()[1:].rstrip(b"\0")
t = re.sub(rb'(pv0 \{\nid = ")[^"]*', rb'\1fuzzfu-zzfu-zzfu-zzfu-zzfu-zzfu-zzfuzz', t, count=1)
data = bytes(64 * 1024)
open(sys.argv[1].replace("-text", "-vg"), "wb").write(b"V" + struct.pack("<H", len(t)) + t + data)
PY
done
