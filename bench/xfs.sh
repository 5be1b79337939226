#!/usr/bin/env bash
# bench/xfs.sh [OUTDIR]     (default OUTDIR: bench/out/xfs, git-ignored)
#
# Kernel + initrd from an XFS partition (issue 12): a 1.1 GiB GPT disk whose p1 is a 1 GiB
# XFS (mkfs.xfs defaults, populated through a loop mount: run as root) holding a 14 MiB
# kernel and a 256 MiB initrd of seeded pseudo-random bytes. hyperfine times, side by side
# with a warm page cache, the `cp` floor (the same two files from OUTDIR/plain into a fresh
# directory) and `domuloader --entry=xvda1:/vmlinuz-bench,/initrd.img-bench`; both outputs
# are checked (sha256) first. Peak RSS: one run under /usr/bin/time -v.
#
# Environment: RUNS (default 10), WARMUP (3), DOMULOADER=/path (default: cargo build --release).
set -euo pipefail
export LC_ALL=C
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${1:-$HERE/out/xfs}
mkdir -p "$OUT/plain"
OUT=$(cd "$OUT" && pwd)
RUNS=${RUNS:-10} WARMUP=${WARMUP:-3}
export TEST_DIR=1 TEST_DEV=1 QA_CHECK_FS=1   # not needed at 1 GiB; harmless

if [ ! -f "$OUT/disk.img" ]; then
  python3 - "$OUT/plain" <<'PY'
import random, sys
d = sys.argv[1]
for name, mib, seed in [("vmlinuz-bench", 14, 1), ("initrd.img-bench", 256, 2)]:
    rng = random.Random(seed)
    with open("%s/%s" % (d, name), "wb") as f:
        for _ in range(mib):
            f.write(rng.randbytes(1 << 20))
PY
  # (Not mkfs.xfs -p: xfsprogs 6.1 writes a 256 MiB protofile file over the next AG's headers.)
  rm -f "$OUT/fs.img"; truncate -s 1G "$OUT/fs.img"
  mkfs.xfs -q -f "$OUT/fs.img"
  mkdir -p "$OUT/mnt"
  mount -o loop "$OUT/fs.img" "$OUT/mnt"
  cp "$OUT/plain/vmlinuz-bench" "$OUT/plain/initrd.img-bench" "$OUT/mnt/"
  umount "$OUT/mnt"
  rm -f "$OUT/disk.img"; truncate -s 1100M "$OUT/disk.img"
  printf 'label: gpt\nstart=2048, size=%d, type=0FC63DAF-8483-4772-8E79-3D47D8E69DE4\n' $((1024 * 2048)) \
    | sfdisk -q --no-reread --no-tell-kernel "$OUT/disk.img" >/dev/null
  dd if="$OUT/fs.img" of="$OUT/disk.img" bs=1M seek=1 conv=notrunc,sparse status=none
  rm -f "$OUT/fs.img"
fi

if [ -z "${DOMULOADER:-}" ]; then
  (cd "$HERE/.." && cargo build --release --quiet)
  DOMULOADER=$HERE/../target/release/domuloader
fi
ENTRY=--entry=xvda1:/vmlinuz-bench,/initrd.img-bench
CP="cp $OUT/plain/vmlinuz-bench $OUT/plain/initrd.img-bench $OUT/run-cp/"
DL="$DOMULOADER -q --output-directory=$OUT/run-dl $ENTRY $OUT/disk.img"
PREP="rm -rf $OUT/run-cp $OUT/run-dl; mkdir $OUT/run-cp $OUT/run-dl"

# Check once: both copies equal the sources.
sh -c "$PREP"; sh -c "$CP"; sh -c "$DL" >/dev/null
want=$(cat "$OUT"/plain/vmlinuz-bench "$OUT"/plain/initrd.img-bench | sha256sum)
got=$(cat "$OUT"/run-dl/kernel.* "$OUT"/run-dl/ramdisk.* | sha256sum)
[ "$want" = "$got" ] || { echo "xfs bench: domuloader copied wrong bytes" >&2; exit 1; }

"$HERE/evict.sh" "$OUT"
hyperfine -N --warmup "$WARMUP" --runs "$RUNS" --prepare "sh -c '$PREP'" \
  --export-json "$OUT/hyperfine.json" -n cp "$CP" -n domuloader-xfs "$DL"
sh -c "$PREP"
/usr/bin/time -v $DL 2>"$OUT/time.txt" >/dev/null
rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$OUT/time.txt")
python3 - "$OUT/hyperfine.json" "$rss" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
cp, dl = r["cp"]["median"], r["domuloader-xfs"]["median"]
ratio = dl / cp
print("xfs: cp median %.1f ms, domuloader median %.1f ms, ratio %.2fx (target <= 1.10x): %s"
      % (cp * 1e3, dl * 1e3, ratio, "PASS" if ratio <= 1.10 else "FAIL"))
rss = int(sys.argv[2])
print("xfs: domuloader peak RSS %.1f MiB (target <= 32 MiB): %s"
      % (rss / 1024, "PASS" if rss <= 32 * 1024 else "FAIL"))
PY
