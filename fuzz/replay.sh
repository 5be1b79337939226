#!/usr/bin/env bash
# CI step for the fuzzers: build every target (no cargo-fuzz or nightly needed: a plain build
# links libFuzzer without coverage instrumentation) and replay the committed hostile
# fixtures through each, under the same memory limits as a fuzzing run. Fails on any crash.
set -euo pipefail
cd "$(dirname "$0")"
target=${CARGO_TARGET_DIR:-$PWD/target}
cargo build --locked --quiet --bins
inputs=$(mktemp -d); trap 'rm -rf "$inputs"' EXIT
for f in ../fixtures/hostile/*.gz ../fixtures/*.img.gz ../fixtures/*.iso.gz ../fixtures/*.qcow2.gz ../fixtures/fmt-*.gz; do
  # (gzip is cut short by head on large images: that SIGPIPE is expected)
  { gzip -dc "$f" 2>/dev/null || true; } | head -c $((4*1024*1024)) > "$inputs/$(basename "$f" .gz)"
done
# btrfs reads packed images (fuzz/pack-btrfs.py); replay the packed btrfs fixtures too.
for f in ../fixtures/btrfs-*.img.gz ../fixtures/hostile/btrfs-*.img.gz; do
  gzip -dc "$f" > "$inputs/.img" && python3 pack-btrfs.py "$inputs/.img" "$inputs/packed-$(basename "$f" .gz)"
done
rm -f "$inputs/.img"
for t in partition ext fat image fstab specs config iso9660 lvm xfs qcow2 btrfs casefold; do
  "$target/debug/$t" -runs=0 -rss_limit_mb=256 -malloc_limit_mb=256 -timeout=10 "$inputs" 2>&1 \
    | grep -aE "^Done|ERROR" || { echo "fuzz replay: $t failed" >&2; exit 1; }
done
