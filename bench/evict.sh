#!/usr/bin/env bash
# bench/evict.sh DIR...: drops every regular file of 1 MiB or more under DIR from the page
# cache (posix_fadvise DONTNEED through `dd iflag=nocache count=0`), so the hyperfine warm-up
# that follows reads the image and the floor's plain files back the same way (readahead).
# Without it they stay cached as they were written: the floor's files written in one go, the
# images by mke2fs/mkfs/dd piecemeal, whose smaller page-cache folios made reading the same
# bytes from the image ~25% slower on Linux 6.18 (bench/README.md, "Page cache").
set -euo pipefail
find "$@" -type f -size +1M -print0 | xargs -0 -r -I{} dd if={} iflag=nocache count=0 status=none
