#!/usr/bin/env bash
# Issue 13's ISO benchmark: kernel + initrd from a debian-cd style hybrid ISO, against `cp`
# of the same two files (target: <= 1.1x cp). The ISO is built like fixtures/build/iso.sh's
# iso-debian (xorriso -as mkisofs, isohybrid MBR, El Torito, EFI image, GPT) but with a
# 14 MiB kernel and a 64 MiB initrd of seeded pseudo-random bytes in /install.amd/xen/.
#
#   bench/iso.sh [OUTDIR]        (default bench/out/iso; RUNS=N, default 20; INITRD_MIB=64)
#
# Commands, each writing into a fresh directory (hyperfine --prepare), warm page cache:
#   cp                 cp --reflink=never of the two plain files
#   domuloader-default no arguments: Debian's Xen installer layout is what boots
#   domuloader-kernel  --kernel=/install.amd/xen/vmlinuz --ramdisk=/install.amd/xen/initrd.gz
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd); ROOT=$(dirname "$HERE")
OUT=${1:-$HERE/out/iso}; RUNS=${RUNS:-20}; INITRD_MIB=${INITRD_MIB:-64}
mkdir -p "$OUT"; OUT=$(cd "$OUT" && pwd)
export SOURCE_DATE_EPOCH=1700000000

iso=$OUT/debian-xen.iso tree=$OUT/tree
if [ ! -f "$iso" ]; then
  rm -rf "$tree"; mkdir -p "$tree/install.amd/xen" "$tree/isolinux" "$tree/boot/grub"
  python3 - "$tree/install.amd/xen" "$INITRD_MIB" <<'EOF'
import random, sys
d, mib = sys.argv[1], int(sys.argv[2])
for name, size, seed in (("vmlinuz", 14 << 20, 1), ("initrd.gz", mib << 20, 2)):
    r = random.Random(seed)
    with open(f"{d}/{name}", "wb") as f:
        for _ in range(size >> 20):
            f.write(r.randbytes(1 << 20))
EOF
  cp /usr/lib/ISOLINUX/isolinux.bin /usr/lib/syslinux/modules/bios/ldlinux.c32 "$tree/isolinux/"
  printf 'default install\nlabel install\n kernel /install.amd/xen/vmlinuz\n append initrd=/install.amd/xen/initrd.gz\n' > "$tree/isolinux/isolinux.cfg"
  mkfs.vfat -C -n EFI "$tree/boot/grub/efi.img" 320 >/dev/null
  xorriso -as mkisofs -r -V 'Debian bench' -o "$iso" -J -joliet-long -cache-inodes \
    -isohybrid-mbr /usr/lib/ISOLINUX/isohdpfx.bin -b isolinux/isolinux.bin -c isolinux/boot.cat \
    -boot-load-size 4 -boot-info-table -no-emul-boot -eltorito-alt-boot -e boot/grub/efi.img \
    -no-emul-boot -isohybrid-gpt-basdat "$tree" 2>/dev/null
fi

(cd "$ROOT" && cargo build --release -q)
DL=${CARGO_TARGET_DIR:-$ROOT/target}/release/domuloader
k=$tree/install.amd/xen/vmlinuz i=$tree/install.amd/xen/initrd.gz
run=$OUT/run; mkdir -p "$run"
prep() { echo "sh -c 'rm -rf $run/$1 && mkdir -p $run/$1'"; }
"$HERE/evict.sh" "$OUT"
hyperfine -N --warmup 3 --runs "$RUNS" --export-json "$OUT/result.json" \
  --prepare "$(prep cp)" -n cp "cp --reflink=never $k $i $run/cp/" \
  --prepare "$(prep def)" -n domuloader-default "$DL -q --output-format=simple0 --output-directory=$run/def $iso" \
  --prepare "$(prep kr)" -n domuloader-kernel "$DL -q --output-format=simple0 --output-directory=$run/kr --kernel=/install.amd/xen/vmlinuz --ramdisk=/install.amd/xen/initrd.gz $iso" \
  >/dev/null
# The copies must equal the plain files.
for d in def kr; do
  cmp -s "$k" "$(ls "$run/$d"/kernel.*)" && cmp -s "$i" "$(ls "$run/$d"/ramdisk.*)" \
    || { echo "bench/iso.sh: $d copied the wrong bytes" >&2; exit 1; }
done
python3 - "$OUT/result.json" <<'EOF'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
cp = r["cp"]["median"]
print(f"| command | median | min | ratio to cp (median) | verdict (<= 1.1x) |")
print(f"|---|---:|---:|---:|---|")
for name, x in r.items():
    ratio = x["median"] / cp
    verdict = "" if name == "cp" else ("PASS" if ratio <= 1.1 else "FAIL")
    print(f"| {name} | {x['median']*1000:.1f} ms | {x['min']*1000:.1f} ms | {ratio:.2f}x | {verdict} |")
EOF
