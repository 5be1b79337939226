#!/usr/bin/env bash
# bench/compare-pygrub.sh [IMAGE...]
#
# Issue 8's parity check: on every image, what Xen 4.17's pygrub boots and lists against
# what domuloader boots and lists, with no dom0 entry (the guest's own default) and with
# --entry=N for every menu index either tool lists (plus one run with --args appended).
# Each run is `-q --output-format=simple0 --output-directory=D --output=D/out IMAGE`; the
# kernel and ramdisk copies are compared by sha256, the args as strings.
#
# Images: the arguments (.img, or .img.gz unpacked to a temporary directory); by default
# fixtures/menu-*.img.gz and every $GUEST_IMAGES/*.img (default /work/guest-images; read
# only, never modified).
#
# Output (stdout): a markdown table, one row per run:
#   | image | choice | pygrub kernel | ours kernel | pygrub initrd | ours initrd | args | verdict |
# Files are named by their fixture tag (the first line of a fixtures/build/menus.sh payload,
# e.g. menu-grub2-index/vmlinuz-6.1.0-9-amd64) or, for other images, by a sha256 prefix.
# A concatenation of several initrds is named by a sha256 prefix. verdict: `same` (kernel,
# initrd and args equal), `differ`, `pygrub fails` (we boot), `we fail` (pygrub boots),
# `both fail`. Below it, a listing table: titles equal, or how they differ.
# Exit status 0 whatever the verdicts (it reports; tests/pygrub_compare.rs asserts).
#
# Environment:
#   PYGRUB=/path        pygrub (default /usr/lib/xen-4.17/bin/pygrub; apt-get install
#                       xen-utils-4.17 provides it)
#   DOMULOADER=/path    use this binary instead of `cargo build --release`
#   GUEST_IMAGES=DIR    realistic guest images to add to the default list
#   CARGO_TARGET_DIR    honoured by the build
set -euo pipefail
export LC_ALL=C

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
PYGRUB=${PYGRUB:-/usr/lib/xen-4.17/bin/pygrub}
die() { printf 'compare-pygrub.sh: error: %s\n' "$*" >&2; exit 1; }
[ -x "$PYGRUB" ] || die "no pygrub at $PYGRUB (apt-get install xen-utils-4.17, or set PYGRUB)"

if [ -n "${DOMULOADER:-}" ]; then
  DL=$DOMULOADER
else
  (cd "$ROOT" && cargo build --release -q) || die "cargo build --release failed"
  DL=${CARGO_TARGET_DIR:-$ROOT/target}/release/domuloader
  case $DL in /*) ;; *) DL=$ROOT/$DL ;; esac
fi
[ -x "$DL" ] || die "no domuloader binary at $DL"

work=$(mktemp -d); trap 'rm -rf "$work"' EXIT

images=("$@")
if [ ${#images[@]} -eq 0 ]; then
  images=("$ROOT"/fixtures/menu-*.img.gz)
  for g in "${GUEST_IMAGES:-/work/guest-images}"/*.img; do
    [ -f "$g" ] && images+=("$g")
  done
fi

# name FILE: the fixture tag on its first line, else a sha256 prefix; "-" when absent.
name() {
  [ -n "$1" ] && [ -f "$1" ] || { echo -; return; }
  local first
  first=$(head -c 200 "$1" | head -n 1 | tr -cd '[:print:]')
  if [[ $first == menu-*/* ]] && [ "$(wc -c < "$1")" -le 2048 ]; then
    echo "$first"
  else
    echo "sha:$(sha256sum < "$1" | cut -c1-12)"
  fi
}

# boot TOOL IMAGE DIR ARGS...: runs one boot into DIR; prints "kernel<TAB>ramdisk<TAB>args"
# or "FAIL<TAB>reason".
boot() {
  local tool=$1 img=$2 dir=$3; shift 3
  rm -rf "$dir"; mkdir -p "$dir"; : > "$dir/out"
  if ! "$tool" -q --output-format=simple0 --output-directory="$dir" --output="$dir/out" \
      "$@" "$img" > "$dir/log" 2>&1 < /dev/null; then
    printf 'FAIL\t%s\n' "$(grep -v '^Using <class' "$dir/log" | tail -n 1 | tr '\t|' '  ' | cut -c1-80)"
    return
  fi
  local k= r= a=
  while IFS= read -r -d '' item; do
    case $item in
      kernel\ *) k=${item#kernel } ;;
      ramdisk\ *) r=${item#ramdisk } ;;
      args\ *) a=${item#args } ;;
    esac
  done < "$dir/out"
  printf '%s\t%s\t%s\n' "$(name "$k")" "$(name "$r")" "$a"
}

titles_pygrub() { "$PYGRUB" -l "$1" 2>/dev/null | sed -n 's/^title: //p' || true; }
titles_ours() { "$DL" -l "$1" 2>/dev/null | sed -n 's/^title: //p' || true; }

echo "| image | choice | pygrub kernel | ours kernel | pygrub initrd | ours initrd | args | verdict |"
echo "|---|---|---|---|---|---|---|---|"
listing=()
for src in "${images[@]}"; do
  case $src in
    *.gz) img=$work/$(basename "${src%.gz}"); gzip -dc "$src" > "$img" ;;
    *) img=$src ;;
  esac
  base=$(basename "$img")
  titles_pygrub "$img" > "$work/tp"; titles_ours "$img" > "$work/to"
  np=$(wc -l < "$work/tp"); no=$(wc -l < "$work/to")
  if [ "$no" = 0 ] && [ "$np" = 0 ]; then
    listing+=("| $base | 0 | 0 | no menu for either |")
  elif cmp -s "$work/tp" "$work/to"; then
    listing+=("| $base | $no | $np | same titles |")
  elif [ "$np" = 0 ]; then
    listing+=("| $base | $no | 0 | pygrub lists nothing |")
  elif [ "$np" -lt "$no" ] && cmp -s "$work/tp" <(head -n "$np" "$work/to"); then
    listing+=("| $base | $no | $np | pygrub lists only our first $np (then: $(sed -n "$((np + 1))p" "$work/to")) |")
  else
    listing+=("| $base | $no | $np | differ: pygrub [$(paste -sd';' "$work/tp")] |")
  fi
  n=$(( np > no ? np : no ))
  choices=(default "default+args")
  for ((i = 0; i < n; i++)); do choices+=("$i"); done
  for c in "${choices[@]}"; do
    case $c in
      default) extra=() ;;
      default+args) extra=(--args=extra=1) ;;
      *) extra=("--entry=$c") ;;
    esac
    p=$(boot "$PYGRUB" "$img" "$work/p" ${extra[@]+"${extra[@]}"})
    o=$(boot "$DL" "$img" "$work/o" ${extra[@]+"${extra[@]}"})
    IFS=$'\t' read -r pk pr pa <<< "$p" || true
    IFS=$'\t' read -r ok or oa <<< "$o" || true
    if [ "$pk" = FAIL ] && [ "$ok" = FAIL ]; then
      verdict="both fail"; args="-"; pk="fail: $pr"; ok="fail: $or"; pr=-; or=-
    elif [ "$pk" = FAIL ]; then
      verdict="pygrub fails"; args="ours: \`$oa\`"; pk="fail: $pr"; pr=-
    elif [ "$ok" = FAIL ]; then
      verdict="we fail"; args="pygrub: \`$pa\`"; ok="fail: $or"; or=-
    else
      if [ "$pa" = "$oa" ]; then args="equal"; else args="pygrub \`$pa\` / ours \`$oa\`"; fi
      if [ "$pk|$pr|$pa" = "$ok|$or|$oa" ]; then verdict=same; else verdict=differ; fi
    fi
    echo "| $base | $c | $pk | $ok | $pr | $or | $args | $verdict |"
  done
done
echo
echo "| image | our entries | pygrub's | listing |"
echo "|---|---|---|---|"
printf '%s\n' "${listing[@]}"
