#!/usr/bin/env python3
"""Packs a btrfs image into the `btrfs` fuzz target's input: flag byte 1 (fix checksums),
then (u32 LE block index, 4096 bytes) for non-zero 4 KiB blocks below 128 MiB, metadata
(superblock and tree nodes, found by the fsid in their header) first, up to MAX bytes.
Usage: pack-btrfs.py IMAGE OUT [MAX]"""
import struct, sys
src, dst = sys.argv[1], sys.argv[2]
cap = int(sys.argv[3]) if len(sys.argv) > 3 else 1 << 20
data = open(src, "rb").read(256 << 20)
# A partitioned disk: start at the partition holding the first superblock.
at = data.find(b"_BHRfS_M")
while at >= 0 and (at - 64 - 0x10000) % 512:
    at = data.find(b"_BHRfS_M", at + 1)
if at >= 0:
    data = data[at - 64 - 0x10000:]
data = data[:128 << 20]
blocks = [data[i:i + 4096] for i in range(0, len(data), 4096)]
fsid = blocks[16][32:48] if len(blocks) > 16 else b""
nodesize = struct.unpack_from("<I", blocks[16], 148)[0] if len(blocks) > 16 else 16384
per = max(1, min(16, nodesize // 4096))
meta, rest = [], []
for i, b in enumerate(blocks):
    if fsid and b[32:48] == fsid:
        meta.extend(range(i, min(i + per, len(blocks))))
seen = set(meta)
rest = [i for i, b in enumerate(blocks) if i not in seen and any(b)]
out = bytearray(b"\x01")
for i in sorted(set(meta)) + rest:
    if len(out) + 4100 > cap:
        break
    out += struct.pack("<I", i) + blocks[i].ljust(4096, b"\0")
open(dst, "wb").write(out)
