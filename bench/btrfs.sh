#!/usr/bin/env bash
# bench/btrfs.sh [OUTDIR]     (root: mkfs.btrfs and a loop mount; default OUTDIR bench/out)
#
# The btrfs targets of issue 11, on one 1 GiB btrfs image (mkfs.btrfs defaults) holding the
# same kernel + initrd twice: /plain (uncompressed: domuloader copies it zero-copy) and
# /zstd (written under compress-force=zstd: decoded through libzstd). Timed with hyperfine,
# warm page cache, side by side:
#   cp          cp of the two plain files                         (floor of /plain)
#   cp+zstd     cp of the two files and `zstd -d` of them          (floor of /zstd)
#   dl-plain    domuloader --entry=xvda:/plain/vmlinuz,/plain/initrd
#   dl-zstd     domuloader --entry=xvda:/zstd/vmlinuz,/zstd/initrd
# Targets: dl-plain <= 1.1 x cp, dl-zstd <= 1.2 x cp+zstd, peak RSS <= 32 MiB (GNU time).
# Kernel and initrd stand-ins: KERNEL_MIB/INITRD_MIB (default 14/64) of the system's
# /usr/lib ELF files concatenated: compressible like real kernels' payloads and modules.
# Environment: RUNS (default 10), DOMULOADER (default: cargo build --release).
set -euo pipefail
export LC_ALL=C
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
OUT=${1:-$ROOT/bench/out}/btrfs
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
RUNS=${RUNS:-10}
KMIB=${KERNEL_MIB:-14}
IMIB=${INITRD_MIB:-64}
img=$OUT/btrfs.img
plain=$OUT/plain
mnt=$OUT/mnt
if [ ! -f "$img" ] || [ "$(cat "$img.params" 2>/dev/null)" != "$KMIB/$IMIB" ]; then
  rm -rf "$plain" "$img"; mkdir -p "$plain" "$mnt"
  { find /usr/lib /usr/bin -type f -size +100k -print0 2>/dev/null | sort -z | xargs -0 cat 2>/dev/null \
    | head -c $(((KMIB + IMIB) << 20)) >"$OUT/pool"; } || true  # head ends the pipe early
  head -c $((KMIB << 20)) "$OUT/pool" >"$plain/vmlinuz"
  tail -c $((IMIB << 20)) "$OUT/pool" >"$plain/initrd"
  rm -f "$OUT/pool"
  zstd -q -3 -f "$plain/vmlinuz" -o "$plain/vmlinuz.zst"
  zstd -q -3 -f "$plain/initrd" -o "$plain/initrd.zst"
  truncate -s 1G "$img"
  mkfs.btrfs -q -f -U b7b7b7b7-0000-4000-8000-00000000b7b7 -L bench "$img" >/dev/null
  mount -o loop "$img" "$mnt"
  mkdir "$mnt/plain"; cp "$plain/vmlinuz" "$plain/initrd" "$mnt/plain/"
  umount "$mnt"
  mount -o loop,compress-force=zstd "$img" "$mnt"
  mkdir "$mnt/zstd"; cp "$plain/vmlinuz" "$plain/initrd" "$mnt/zstd/"
  umount "$mnt"
  echo "$KMIB/$IMIB" >"$img.params"
fi
if [ -n "${DOMULOADER:-}" ]; then DL=$DOMULOADER; else
  (cd "$ROOT" && cargo build --release -q); DL=${CARGO_TARGET_DIR:-$ROOT/target}/release/domuloader
fi
run=$OUT/run; rm -rf "$run"; mkdir -p "$run"
dl() { echo "$DL -q --output-directory=$run/$1 --entry=xvda:/$1/vmlinuz,/$1/initrd $img"; }
prep() { echo "rm -rf $run/$1 && mkdir -p $run/$1"; }
# Check once: both loaders copy the plain files' bytes.
for c in plain zstd; do
  sh -c "$(prep $c)"; sh -c "$(dl $c)" >/dev/null
  cmp "$plain/vmlinuz" "$run/$c"/kernel.* && cmp "$plain/initrd" "$run/$c"/ramdisk.* \
    || { echo "bench: $c: copied bytes differ" >&2; exit 1; }
done
"$ROOT/bench/evict.sh" "$OUT"
hyperfine -w 3 -r "$RUNS" --export-json "$OUT/times.json" \
  --prepare "$(prep cp)" -n cp "cp --reflink=never $plain/vmlinuz $plain/initrd $run/cp/" \
  --prepare "$(prep cpz)" -n cp+zstd "cp --reflink=never $plain/vmlinuz $plain/initrd $run/cpz/ && zstd -qd $plain/vmlinuz.zst -o $run/cpz/k && zstd -qd $plain/initrd.zst -o $run/cpz/i" \
  --prepare "$(prep plain)" -n dl-plain "$(dl plain)" \
  --prepare "$(prep zstd)" -n dl-zstd "$(dl zstd)" >"$OUT/hyperfine.txt"
for c in plain zstd; do
  sh -c "$(prep $c)"
  /usr/bin/time -v -o "$OUT/time-$c.txt" sh -c "$(dl $c)" >/dev/null
done
python3 - "$OUT" <<'PY'
import json, sys, re
out = sys.argv[1]
r = {x["command"]: x for x in json.load(open(out + "/times.json"))["results"]}
med = lambda n: r[n]["median"]
rss = lambda c: int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", open(f"{out}/time-{c}.txt").read()).group(1))
p, z = med("dl-plain") / med("cp"), med("dl-zstd") / med("cp+zstd")
print("| command | median | ratio | target |")
print("|---|---:|---:|---|")
print(f"| cp | {med('cp')*1000:.1f} ms | | |")
print(f"| dl-plain | {med('dl-plain')*1000:.1f} ms | {p:.2f}x cp | <= 1.1x {'PASS' if p <= 1.1 else 'FAIL'} |")
print(f"| cp+zstd | {med('cp+zstd')*1000:.1f} ms | | |")
print(f"| dl-zstd | {med('dl-zstd')*1000:.1f} ms | {z:.2f}x cp+zstd | <= 1.2x {'PASS' if z <= 1.2 else 'FAIL'} |")
for c in ("plain", "zstd"):
    k = rss(c)
    print(f"| peak RSS dl-{c} | {k/1024:.1f} MiB | | <= 32 MiB {'PASS' if k <= 32768 else 'FAIL'} |")
PY
