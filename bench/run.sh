#!/usr/bin/env bash
# bench/run.sh [OUTDIR]       (default OUTDIR: bench/out, git-ignored)
#
# The speed/memory benchmark of issue 7. Builds the guest images (bench/make-images.sh,
# idempotent) and the release domuloader, then for each image times side by side, in ONE
# hyperfine invocation with a warm page cache:
#   cp                the floor: `cp` of the same two files (extracted beforehand with
#                     debugfs into OUTDIR/plain/SIZE/) into a fresh directory
#   domuloader-dev    domuloader --entry=xvda1:/vmlinuz-V,/initrd.img-V   (DEV: entry)
#   domuloader-fstab  domuloader --entry=/vmlinuz,/initrd.img  (root fs -> /etc/fstab -> p1)
#   pygrub            Xen 4.17's pygrub -q (grub.cfg on p1), when installed
#   debugfs           two `debugfs -R 'dump …' IMG?offset=P1` runs (a script baseline)
# and, for each 64 GiB sparse image, one more invocation timing each domuloader command on it
# and on the 1 GiB image with the same files, side by side (the disk-size ratio).
# Every command writes into its own directory, emptied before each run (--prepare).
# Before timing, each command runs once and its output is checked (sha256 of both files
# and, for the loaders, the simple0 result); a loader that fails the check is reported
# ("domuloader: not able to extract yet") and left out, the rest go on.
# Peak RSS: one more run of each command under /usr/bin/time -v.
# Then bench/report.py prints markdown tables (OUTDIR/results/summary.md).
#
# Environment:
#   FULL=1                 the real numbers: 30 runs per command (default: 5, quick)
#   RUNS=N WARMUP=N        override run / warm-up counts (WARMUP default 3)
#   IMAGES="guest-256m.img …"  only these images (default: all of OUTDIR/images.txt)
#   DOMULOADER=/path       use this binary instead of `cargo build --release`
#   DOMULOADER_ARGS="…"    extra arguments for both domuloader commands (before IMAGE)
#   PYGRUB=/path|none      pygrub binary (default /usr/lib/xen-4.17/bin/pygrub; installed
#                          with apt-get install xen-utils-4.17 when missing and root;
#                          `none` skips it)
#   DEBUGFS=0              leave out the debugfs baseline
#   CARGO_TARGET_DIR       honoured by the build
set -euo pipefail
export LC_ALL=C

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
OUT=${1:-$ROOT/bench/out}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
RES=$OUT/results
RUNDIR=$OUT/run
if [ "${FULL:-0}" = 1 ]; then RUNS=${RUNS:-30}; else RUNS=${RUNS:-5}; fi
WARMUP=${WARMUP:-3}
PY=${PYTHON:-python3}

log() { printf '== %s\n' "$*" >&2; }
die() { printf 'run.sh: error: %s\n' "$*" >&2; exit 1; }
# q STRING: single-quoted for sh (hyperfine runs each command with sh -c)
q() { printf "'%s'" "${1//\'/\'\\\'\'}"; }

apt_install() { # PACKAGE: install when root, else fail with a hint
  [ "$(id -u)" = 0 ] || return 1
  log "installing Debian package $1"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$1" >/dev/null 2>&1 \
    || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$1" >/dev/null 2>&1; }
}
command -v hyperfine >/dev/null 2>&1 || apt_install hyperfine || die "hyperfine missing: apt-get install hyperfine"
[ -x /usr/bin/time ] || apt_install time || die "/usr/bin/time missing: apt-get install time"
command -v debugfs >/dev/null 2>&1 || die "debugfs missing: apt-get install e2fsprogs"

# ---------------------------------------------------------------- inputs
"$HERE/make-images.sh" "$OUT" 2>&1 | grep -v '^ *[0-9]' >&2
IMAGES_TXT=$OUT/images.txt
[ -f "$IMAGES_TXT" ] || die "make-images.sh wrote no $IMAGES_TXT"

if [ -n "${DOMULOADER:-}" ]; then
  DL=$DOMULOADER
else
  log "cargo build --release in $ROOT"
  (cd "$ROOT" && cargo build --release -q) || die "cargo build --release failed"
  DL=${CARGO_TARGET_DIR:-$ROOT/target}/release/domuloader
  case $DL in /*) ;; *) DL=$ROOT/$DL ;; esac
fi
[ -x "$DL" ] || die "no domuloader binary at $DL"

PYGRUB=${PYGRUB:-/usr/lib/xen-4.17/bin/pygrub}
if [ "$PYGRUB" != none ] && [ ! -x "$PYGRUB" ] && [ "$PYGRUB" = /usr/lib/xen-4.17/bin/pygrub ]; then
  apt_install xen-utils-4.17 || true
fi
if [ "$PYGRUB" != none ] && [ ! -x "$PYGRUB" ]; then
  log "pygrub not found at $PYGRUB (apt-get install xen-utils-4.17): column skipped"
  PYGRUB=none
fi

rm -rf "$RES" "$RUNDIR"; mkdir -p "$RES" "$RUNDIR"

# ---------------------------------------------------------------- per image
bench_image() { # NAME MiB KVER P1_OFFSET KSHA ISHA
  local name=$1 mib=$2 kver=$3 p1off=$4 ksha=$5 isha=$6
  local img=$OUT/$name plain=$OUT/plain/$mib dir=$RUNDIR/${name%.img}
  [ -f "$img" ] || die "missing image $img"
  local -a names=() cmds=() kinds=()
  add() { names+=("$1"); kinds+=("$2"); cmds+=("$3"); }

  add cp files "cp --reflink=never $(q "$plain/vmlinuz-$kver") $(q "$plain/initrd.img-$kver") $(q "$dir/cp/")"
  dl() { # NAME ENTRY
    printf '%s %s --output-directory=%s --output-format=simple0 --output=%s %s %s' "$(q "$DL")" \
      "$(q "--entry=$2")" "$(q "$dir/$1")" "$(q "$dir/$1/out")" "${DOMULOADER_ARGS:-}" "$(q "$img")"
  }
  add domuloader-dev result "$(dl domuloader-dev "xvda1:/vmlinuz-$kver,/initrd.img-$kver")"
  add domuloader-fstab result "$(dl domuloader-fstab "/vmlinuz,/initrd.img")"
  if [ "$PYGRUB" != none ]; then
    add pygrub result "$(q "$PYGRUB") -q --output-directory=$(q "$dir/pygrub") --output-format=simple0 --output=$(q "$dir/pygrub/out") $(q "$img") </dev/null"
  fi
  if [ "${DEBUGFS:-1}" != 0 ]; then
    local dev="$img?offset=$p1off"
    add debugfs files "debugfs -R $(q "dump /vmlinuz-$kver $dir/debugfs/vmlinuz") $(q "$dev") 2>/dev/null && debugfs -R $(q "dump /initrd.img-$kver $dir/debugfs/initrd.img") $(q "$dev") 2>/dev/null"
  fi

  log "$name: checking every command once"
  local -a hf=()
  local i prep msg
  for i in "${!names[@]}"; do
    local n=${names[$i]} d=$dir/${names[$i]}
    prep="rm -rf $(q "$d") && mkdir -p $(q "$d") && : > $(q "$d/out")"
    sh -c "$prep"
    local err=$RUNDIR/${name%.img}.$n.stderr rc=0
    sh -c "${cmds[$i]}" >/dev/null 2>"$err" || rc=$?
    local flag=; [ "${kinds[$i]}" = result ] && flag=--result
    if [ $rc -eq 0 ] && msg=$("$PY" "$HERE/report.py" check "$d" "$ksha" "$isha" $flag); then
      hf+=(--prepare "$prep" -n "$n" "${cmds[$i]}")
      case $n in domuloader-*) LOADER_CMD["$name|$n"]=${cmds[$i]}; LOADER_PREP["$name|$n"]=$prep ;; esac
      printf '   %-17s ok\n' "$n" >&2
    else
      [ $rc -eq 0 ] || msg="exit $rc: $(head -c 300 "$err" | head -n 1)"
      case $n in
        domuloader-*) printf '   %-17s domuloader: not able to extract yet (%s)\n' "$n" "$msg" >&2 ;;
        pygrub)       printf '   %-17s pygrub failed, column skipped (%s)\n' "$n" "$msg" >&2 ;;
        *)            die "$n failed on $name: $msg" ;;
      esac
      continue
    fi
    # peak RSS: one run under GNU time (-v: "Maximum resident set size (kbytes)")
    sh -c "$prep"
    /usr/bin/time -v -o "$RUNDIR/time.txt" sh -c "${cmds[$i]}" >/dev/null 2>&1 \
      || die "$n failed under /usr/bin/time on $name"
    printf '%s\t%s\n' "$n" "$(awk -F': ' '/Maximum resident set size/{print $2}' "$RUNDIR/time.txt")" >> "$RES/$name.rss"
  done

  "$HERE/evict.sh" "$OUT"
  log "$name: hyperfine --warmup $WARMUP --runs $RUNS"
  hyperfine --warmup "$WARMUP" --runs "$RUNS" --export-json "$RES/$name.json" \
    --export-markdown "$RES/$name.md" "${hf[@]}" >&2
}

# The 64 GiB-sparse vs 1 GiB question gets its own paired run: the same loader on both images
# side by side in one hyperfine invocation, so that changing load between two invocations
# cannot pass for a cost of the disk size.
sparse_pair() { # BIG SMALL
  local big=$1 small=$2 n
  local -a hf=()
  for n in domuloader-dev domuloader-fstab; do
    [ -n "${LOADER_CMD["$big|$n"]:-}" ] && [ -n "${LOADER_CMD["$small|$n"]:-}" ] || continue
    hf+=(--prepare "${LOADER_PREP["$small|$n"]}" -n "$n@$small" "${LOADER_CMD["$small|$n"]}")
    hf+=(--prepare "${LOADER_PREP["$big|$n"]}" -n "$n@$big" "${LOADER_CMD["$big|$n"]}")
  done
  [ ${#hf[@]} -gt 0 ] || { log "sparse pair $big / $small: no domuloader column to compare"; return 0; }
  "$HERE/evict.sh" "$OUT"
  log "sparse pair: $big vs $small: hyperfine --warmup $WARMUP --runs $RUNS"
  hyperfine --warmup "$WARMUP" --runs "$RUNS" --export-json "$RES/sparse.$big.json" "${hf[@]}" >&2
}

declare -A LOADER_CMD=() LOADER_PREP=()
declare -a DONE=()
selected=${IMAGES:-}
# (the list is read on fd 3 so that no benchmarked command can consume it from stdin)
while IFS=$'\t' read -r -u 3 name mib disk kver p1off p2off ksha isha; do
  case $name in '#'*|'') continue ;; esac
  if [ -n "$selected" ] && ! printf ' %s ' $selected | grep -qF " $name "; then continue; fi
  bench_image "$name" "$mib" "$kver" "$p1off" "$ksha" "$isha"
  DONE+=("$name	$mib	$disk")
done 3< "$IMAGES_TXT"

for big in "${DONE[@]}"; do
  for small in "${DONE[@]}"; do
    IFS=$'\t' read -r bn bm bd <<<"$big"; IFS=$'\t' read -r sn sm sd <<<"$small"
    if [ "$bm" = "$sm" ] && [ "$bd" -gt "$sd" ]; then sparse_pair "$bn" "$sn"; fi
  done
done

log "summary (also in $RES/summary.md)"
"$PY" "$HERE/report.py" summary "$RES" "$IMAGES_TXT" | tee "$RES/summary.md"
