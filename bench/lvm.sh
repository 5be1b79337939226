#!/usr/bin/env bash
# bench/lvm.sh [OUTDIR]      (default OUTDIR: bench/out/lvm; needs root for loop devices)
#
# Kernel + initrd from an LVM2 logical volume (issue 12), against the `cp` floor, in one
# hyperfine invocation with a warm page cache, plus peak RSS under /usr/bin/time -v.
#
# Image (1 GiB sparse, MBR): p1 = PV of VG `bench` (1 MiB extents); LV `root` (ext4, 900 MiB)
# in two segments (a 4 MiB LV `gap` sits between them), holding /boot/vmlinuz-V (the real
# kernel of KERNEL_DEB, else 14 MB of pseudo-random bytes) and /boot/initrd.img-V
# (INITRD_MIB of pseudo-random bytes, default 256); fstab: /dev/mapper/bench-root on /.
# The LV is built like fixtures/build/lvm.sh does: lvcreate with activation off, the ext4
# image written at the PV offsets lvm reports.
#
# Commands timed:
#   cp                    cp of the same two files (from the source tree) into a fresh dir
#   domuloader-fstab      --entry=/boot/vmlinuz-V,/boot/initrd.img-V   (root found by fstab)
#   domuloader-dev        --entry=bench/root:/boot/vmlinuz-V,/boot/initrd.img-V
# Environment: RUNS (default 10), WARMUP (3), INITRD_MIB (256), KERNEL_DEB, DOMULOADER.
set -euo pipefail
export LC_ALL=C LVM_SUPPRESS_FD_WARNINGS=1 E2FSPROGS_FAKE_TIME=1700000000
HERE=$(cd "$(dirname "$0")" && pwd); ROOT=$(cd "$HERE/.." && pwd)
OUT=${1:-$ROOT/bench/out/lvm}; mkdir -p "$OUT"; OUT=$(cd "$OUT" && pwd)
RUNS=${RUNS:-10}; WARMUP=${WARMUP:-3}; MIB=${INITRD_MIB:-256}
[ "$(id -u)" = 0 ] || { echo "bench/lvm.sh: needs root (loop devices)" >&2; exit 1; }
LVMCONF='devices { use_devicesfile=0 scan_lvs=0 hints="none" filter=["a|^/dev/loop|","r|.*|"] }
global { activation=0 } backup { backup=0 archive=0 }'
lvm_() { "$@" --config "$LVMCONF" 2> >(grep -v -e 'Activation disabled' -e 'not zeroed' -e 'NOT backed up' >&2); }

DL=${DOMULOADER:-}
if [ -z "$DL" ]; then (cd "$ROOT" && cargo build --release -q); DL=${CARGO_TARGET_DIR:-$ROOT/target}/release/domuloader; fi

src=$OUT/src; img=$OUT/guest-lvm.img
if [ ! -f "$img" ] || [ "${FORCE:-0}" = 1 ]; then
  rm -rf "$src"; mkdir -p "$src/boot" "$src/etc"
  V=bench
  deb=${KERNEL_DEB:-$(ls /tmp/qbench/.cache/linux-image-*.deb "$ROOT"/bench/out/.cache/linux-image-*.deb 2>/dev/null | head -1 || true)}
  if [ -n "$deb" ] && [ -f "$deb" ]; then
    x=$OUT/deb; rm -rf "$x"; dpkg-deb -x "$deb" "$x"
    k=$(ls "$x"/boot/vmlinuz-* | head -1); V=${k##*/vmlinuz-}; cp "$k" "$src/boot/vmlinuz-$V"
  else
    echo "no kernel .deb (KERNEL_DEB): a 14 MB stand-in kernel" >&2
    head -c 14000000 /dev/urandom > "$src/boot/vmlinuz-$V"
  fi
  python3 -c 'import random,sys; r=random.Random(7); f=open(sys.argv[1],"wb"); [f.write(r.randbytes(1<<20)) for _ in range(int(sys.argv[2]))]' "$src/boot/initrd.img-$V" "$MIB"
  printf '/dev/mapper/bench-root / ext4 defaults 0 1\n' > "$src/etc/fstab"
  echo "$V" > "$OUT/version"
  rm -f "$img"; truncate -s 1G "$img"
  printf 'label: dos\nstart=2048, type=8e\n' | sfdisk -q "$img"
  loop=$(losetup -f --show -o $((2048*512)) --sizelimit $(( (2097152-2048)*512 )) "$img")
  trap 'losetup -d "$loop" 2>/dev/null || true' EXIT
  lvm_ pvcreate -q -ff -y "$loop" >/dev/null
  lvm_ vgcreate -q -s 1M bench "$loop" >/dev/null
  lvm_ lvcreate -q -an -Zn -Wn -y -L 500M -n root bench >/dev/null
  lvm_ lvcreate -q -an -Zn -Wn -y -L 4M -n gap bench >/dev/null
  lvm_ lvextend -q -L +400M bench/root >/dev/null
  fs=$OUT/root.ext4; rm -f "$fs"
  mke2fs -q -F -t ext4 -L benchroot -d "$src" "$fs" 900M
  segs=$(lvm_ lvs --noheadings --separator '|' --units b --nosuffix --segments -o seg_start,seg_size,seg_pe_ranges,vg_extent_size bench/root)
  pe_start=$(lvm_ pvs --noheadings --units b --nosuffix -o pe_start "$loop" | tr -d ' ')
  while IFS='|' read -r start size ranges ext; do
    pe=${ranges##*:}; pe=${pe%%-*}
    dd if="$fs" of="$img" bs=1M iflag=skip_bytes,count_bytes oflag=seek_bytes conv=notrunc,sparse status=none \
      skip=$((start)) count=$((size)) seek=$((2048*512 + pe_start + pe*ext))
  done <<< "$(echo "$segs" | sed 's/^ *//')"
  losetup -d "$loop"; trap - EXIT; rm -f "$fs"
fi
V=$(cat "$OUT/version")
run=$OUT/run; mkdir -p "$run"
K=/boot/vmlinuz-$V; I=/boot/initrd.img-$V
prep() { echo "rm -rf $run/$1 && mkdir -p $run/$1"; }
declare -A C=(
  [cp]="cp --reflink=never $src$K $src$I $run/cp/"
  [domuloader-fstab]="$DL -q --output-format=simple0 --output=$run/domuloader-fstab/out --output-directory=$run/domuloader-fstab --entry=$K,$I $img"
  [domuloader-dev]="$DL -q --output-format=simple0 --output=$run/domuloader-dev/out --output-directory=$run/domuloader-dev --entry=bench/root:$K,$I $img"
)
for n in cp domuloader-fstab domuloader-dev; do   # check: the same bytes as the source
  sh -c "$(prep $n)"; : > "$run/$n/out"; sh -c "${C[$n]}"
  got=$( { cat "$run/$n"/kernel.* "$run/$n"/ramdisk.* "$run/$n"/vmlinuz-* "$run/$n"/initrd.img-* 2>/dev/null || true; } | sha256sum)
  want=$(cat "$src$K" "$src$I" | sha256sum)
  [ "$got" = "$want" ] || { echo "$n: copied bytes differ" >&2; exit 1; }
  /usr/bin/time -v -o "$run/time.txt" sh -c "$(prep $n) && : > $run/$n/out && ${C[$n]}" >/dev/null
  printf '%-17s peak RSS %s KiB\n' "$n" "$(awk -F': ' '/Maximum resident set size/{print $2}' "$run/time.txt")"
done
args=()
for n in cp domuloader-fstab domuloader-dev; do args+=(--prepare "$(prep $n) && : > $run/$n/out" -n "$n" "${C[$n]}"); done
"$HERE/evict.sh" "$OUT"
hyperfine --warmup "$WARMUP" --runs "$RUNS" --export-json "$OUT/result.json" "${args[@]}" >&2
python3 - "$OUT/result.json" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
floor = r["cp"]["median"]
for n, x in r.items():
    print(f"{n:17} median {x['median']*1000:8.1f} ms  {x['median']/floor:5.2f}x cp")
PY
