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
MAX=$((4*1024*1024)) seed image "$FIX"/guest-*.img.gz "$FIX"/part-*.img.gz "$CORPUS"/partition/dfvfs_mbr-extended.raw.gz
seed config "$CORPUS"/bootcfg/pygrub_* "$CORPUS"/bootcfg/u-root/*
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
