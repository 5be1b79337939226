//! Hashed-directory (htree) lookups, as a fast path only: the name's hash picks one leaf
//! block through at most three index levels. Anything unexpected — an unknown hash, a
//! malformed index, or the name simply not being in that leaf — returns `None` and the
//! caller scans the directory linearly, so a damaged index can cost time but never a file.

use super::dir::Entry;
use super::inode::{Inode, FL_INLINE_DATA};
use super::map::{Mapper, Run};
use super::volume::Volume;
use super::{le16, le32};
use std::ops::ControlFlow;

/// `EXT4_INDEX_FL`: the directory has an htree index.
const FL_INDEX: u32 = 0x1000;

impl Volume {
    /// The inode of `name` in `dir` found through its hash index, if it has one and the
    /// index leads to it.
    pub fn htree_lookup(&self, dir: &Inode, name: &[u8]) -> Option<u32> {
        if !self.sb.has_dir_index() || !dir.has(FL_INDEX) || dir.has(FL_INLINE_DATA) {
            return None;
        }
        let mut mapper = Mapper::new(self, dir);
        let blocks = dir.size / self.block_size();
        let mut read = |lblk: u64| -> Option<Vec<u8>> {
            if lblk >= blocks {
                return None;
            }
            match mapper.map(lblk).ok()? {
                Run::Mapped { start, .. } => self.block(start, &|| String::new()).ok(),
                Run::Zero { .. } => None,
            }
        };
        let root = read(0)?;
        // dx_root: "." and ".." entries, then dx_root_info at 24.
        let (reserved, version, info_len, levels) = (
            le32(&root, 24),
            *root.get(28)?,
            *root.get(29)?,
            *root.get(30)?,
        );
        if reserved != 0 || info_len != 8 || levels > 2 {
            return None;
        }
        let version = if version <= 2 && self.sb.unsigned_hash() {
            version + 3
        } else {
            version
        };
        let hash = dirhash(version, name, &self.sb.hash_seed)?;
        let mut node = root;
        let mut base = 32usize;
        for level in 0..=levels {
            let child = pick(&node, base, hash)?;
            node = read(u64::from(child))?;
            if level < levels {
                // An index node: a fake empty entry spanning the block, then the entries.
                if le32(&node, 0) != 0 {
                    return None;
                }
                base = 8;
            }
        }
        let mut found = None;
        let mut slots = 0;
        let mut visit = |e: Entry<'_>| {
            if e.name == name {
                ControlFlow::Break(e.ino)
            } else {
                ControlFlow::Continue(())
            }
        };
        if let Ok(Some(ino)) = self.scan_chunk(&node, dir.ino, 0, &mut slots, &mut visit) {
            found = Some(ino);
        }
        found
    }
}

/// The child block of the last index entry whose hash is at most `hash` (entry 0 covers
/// hash 0 upwards; its hash field holds the limit and count instead).
fn pick(node: &[u8], base: usize, hash: u32) -> Option<u32> {
    let limit = usize::from(le16(node, base));
    let count = usize::from(le16(node, base + 2));
    if count == 0 || count > limit || base + 8 * limit > node.len() {
        return None;
    }
    let mut chosen = le32(node, base + 4);
    for i in 1..count {
        let e = base + 8 * i;
        if le32(node, e) > hash {
            break;
        }
        chosen = le32(node, e + 4);
    }
    Some(chosen & 0x0FFF_FFFF)
}

/// ext4's directory hash (`ext4fs_dirhash` without casefolding): legacy, half-MD4 and TEA,
/// signed and unsigned. `None` for other versions (SipHash is only used with casefold).
fn dirhash(version: u8, name: &[u8], seed: &[u32; 4]) -> Option<u32> {
    let mut buf = [0x6745_2301u32, 0xefcd_ab89, 0x98ba_dcfe, 0x1032_5476];
    if seed.iter().any(|&s| s != 0) {
        buf = *seed;
    }
    if version > 5 {
        return None;
    }
    let unsigned = version >= 3;
    let hash = match version % 3 {
        0 => legacy(name, unsigned),
        1 => {
            for chunk in chunks(name, 32) {
                let mut input = [0u32; 8];
                str2hashbuf(chunk, &mut input, unsigned);
                half_md4(&mut buf, &input);
            }
            buf[1]
        }
        _ => {
            for chunk in chunks(name, 16) {
                let mut input = [0u32; 4];
                str2hashbuf(chunk, &mut input, unsigned);
                tea(&mut buf, &input);
            }
            buf[0]
        }
    };
    let hash = hash & !1;
    // The end-of-directory marker is reserved (EXT4_HTREE_EOF_32BIT << 1).
    Some(if hash == 0x7FFF_FFFF << 1 {
        (0x7FFF_FFFF - 1) << 1
    } else {
        hash
    })
}

/// The name from each chunk start to its end: the hash consumes `len` from where it is.
fn chunks(name: &[u8], step: usize) -> impl Iterator<Item = &[u8]> {
    (0..name.len())
        .step_by(step)
        .filter_map(move |i| name.get(i..))
}

fn byte(b: u8, unsigned: bool) -> u32 {
    if unsigned {
        u32::from(b)
    } else {
        i32::from(b as i8) as u32
    }
}

fn legacy(name: &[u8], unsigned: bool) -> u32 {
    let (mut h0, mut h1) = (0x12a3_fe2du32, 0x37ab_e8f9u32);
    for &b in name {
        let mut h = h1.wrapping_add(h0 ^ byte(b, unsigned).wrapping_mul(7_152_373));
        if h & 0x8000_0000 != 0 {
            h = h.wrapping_sub(0x7fff_ffff);
        }
        h1 = h0;
        h0 = h;
    }
    h0 << 1
}

/// `str2hashbuf`: packs the (remaining) name into `out`, padded with its length.
fn str2hashbuf(msg: &[u8], out: &mut [u32], unsigned: bool) {
    let len = msg.len() as u32; // <= 255
    let mut pad = len | (len << 8);
    pad |= pad << 16;
    let mut val = pad;
    let mut idx = 0;
    for (i, &b) in msg.iter().take(out.len() * 4).enumerate() {
        val = byte(b, unsigned).wrapping_add(val << 8);
        if i % 4 == 3 {
            if let Some(o) = out.get_mut(idx) {
                *o = val;
            }
            idx += 1;
            val = pad;
        }
    }
    if let Some(o) = out.get_mut(idx) {
        *o = val;
        idx += 1;
    }
    for o in out.iter_mut().skip(idx) {
        *o = pad;
    }
}

fn tea(buf: &mut [u32; 4], input: &[u32; 4]) {
    let (mut sum, mut b0, mut b1) = (0u32, buf[0], buf[1]);
    let [a, b, c, d] = *input;
    for _ in 0..16 {
        sum = sum.wrapping_add(0x9E37_79B9);
        b0 = b0.wrapping_add(
            (b1 << 4).wrapping_add(a) ^ b1.wrapping_add(sum) ^ (b1 >> 5).wrapping_add(b),
        );
        b1 = b1.wrapping_add(
            (b0 << 4).wrapping_add(c) ^ b0.wrapping_add(sum) ^ (b0 >> 5).wrapping_add(d),
        );
    }
    buf[0] = buf[0].wrapping_add(b0);
    buf[1] = buf[1].wrapping_add(b1);
}

fn half_md4(buf: &mut [u32; 4], x: &[u32; 8]) {
    let f = |x: u32, y: u32, z: u32| z ^ (x & (y ^ z));
    let g = |x: u32, y: u32, z: u32| (x & y).wrapping_add((x ^ y) & z);
    let h = |x: u32, y: u32, z: u32| x ^ y ^ z;
    let [mut a, mut b, mut c, mut d] = *buf;
    let round = |func: &dyn Fn(u32, u32, u32) -> u32,
                 a: &mut u32,
                 b: u32,
                 c: u32,
                 d: u32,
                 x: u32,
                 s: u32| {
        *a = a.wrapping_add(func(b, c, d)).wrapping_add(x).rotate_left(s);
    };
    const K2: u32 = 0o13240474631;
    const K3: u32 = 0o15666365641;
    // Round 1
    round(&f, &mut a, b, c, d, x[0], 3);
    round(&f, &mut d, a, b, c, x[1], 7);
    round(&f, &mut c, d, a, b, x[2], 11);
    round(&f, &mut b, c, d, a, x[3], 19);
    round(&f, &mut a, b, c, d, x[4], 3);
    round(&f, &mut d, a, b, c, x[5], 7);
    round(&f, &mut c, d, a, b, x[6], 11);
    round(&f, &mut b, c, d, a, x[7], 19);
    // Round 2
    round(&g, &mut a, b, c, d, x[1].wrapping_add(K2), 3);
    round(&g, &mut d, a, b, c, x[3].wrapping_add(K2), 5);
    round(&g, &mut c, d, a, b, x[5].wrapping_add(K2), 9);
    round(&g, &mut b, c, d, a, x[7].wrapping_add(K2), 13);
    round(&g, &mut a, b, c, d, x[0].wrapping_add(K2), 3);
    round(&g, &mut d, a, b, c, x[2].wrapping_add(K2), 5);
    round(&g, &mut c, d, a, b, x[4].wrapping_add(K2), 9);
    round(&g, &mut b, c, d, a, x[6].wrapping_add(K2), 13);
    // Round 3
    round(&h, &mut a, b, c, d, x[3].wrapping_add(K3), 3);
    round(&h, &mut d, a, b, c, x[7].wrapping_add(K3), 9);
    round(&h, &mut c, d, a, b, x[2].wrapping_add(K3), 11);
    round(&h, &mut b, c, d, a, x[6].wrapping_add(K3), 15);
    round(&h, &mut a, b, c, d, x[1].wrapping_add(K3), 3);
    round(&h, &mut d, a, b, c, x[5].wrapping_add(K3), 9);
    round(&h, &mut c, d, a, b, x[0].wrapping_add(K3), 11);
    round(&h, &mut b, c, d, a, x[4].wrapping_add(K3), 15);
    buf[0] = buf[0].wrapping_add(a);
    buf[1] = buf[1].wrapping_add(b);
    buf[2] = buf[2].wrapping_add(c);
    buf[3] = buf[3].wrapping_add(d);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Expected values from e2fsprogs: `debugfs -R "dx_hash -h N -s SEED NAME"`.
    #[test]
    fn hashes_match_e2fsprogs() {
        let uuid = [
            0x6f, 0x1e, 0x6d, 0x2a, 0x8a, 0x62, 0x4b, 0x51, 0x9e, 0x39, 0x6c, 0x7d, 0x5d, 0x3c,
            0x2b, 0x1a,
        ];
        let seed: [u32; 4] =
            std::array::from_fn(|i| u32::from_le_bytes(uuid[4 * i..4 * i + 4].try_into().unwrap()));
        let n40 = [b'n'; 40];
        let u = "\u{fc}\u{df}".as_bytes();
        let cases: &[(u8, &[u8], u32)] = &[
            (0, b"a", 0xe74b53e2),
            (0, b"vmlinuz-6.1.0-test", 0xff0ebf5e),
            (0, &n40, 0xe42ca078),
            (0, u, 0x375e6864),
            (1, b"a", 0x3745b694),
            (1, b"vmlinuz-6.1.0-test", 0x38a0396a),
            (1, b"entry-0599-xxxxxxxxxxxxxxxxxxx", 0xc69cb2f6),
            (1, &n40, 0x032a79ce),
            (1, u, 0x48892812),
            (2, b"a", 0x03bfd5b2),
            (2, b"entry-0599-xxxxxxxxxxxxxxxxxxx", 0x73e3d518),
            (2, &n40, 0x4217b37e),
            (2, u, 0x0a87e6fe),
            (3, u, 0xbc481e60),
            (4, u, 0x31b42566),
            (5, u, 0x8b27da8a),
        ];
        for &(v, name, want) in cases {
            assert_eq!(
                dirhash(v, name, &seed),
                Some(want),
                "version {v} {:?}",
                String::from_utf8_lossy(name)
            );
        }
        assert_eq!(dirhash(1, b"vmlinuz-6.1.0-test", &[0; 4]), Some(0x17517cda));
        assert_eq!(dirhash(6, b"a", &seed), None);
    }
}
