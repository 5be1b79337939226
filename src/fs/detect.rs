//! Filesystem detection by magic numbers, including the common types we do not read, so
//! they are named in errors ("unsupported filesystem xfs") rather than misread.
//!
//! The probes and their order follow libblkid (`superblocks/superblocks.c`): RAID members,
//! containers and crypto first (an ext filesystem inside an md RAID1 member is reported as
//! the member, as blkid does), then filesystems with FAT first. Names are blkid's `TYPE=`.
//! Only cheap, fixed-offset checks are done; a type we do not know is [`Detected::Nothing`].

use super::FsError;
use crate::crc::crc32c;
use crate::disk::{DiskError, Slice};

/// Result of probing a byte range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Detected {
    Ext,
    Fat,
    Btrfs,
    Xfs,
    Iso9660,
    /// A recognised filesystem or container we do not read, by its blkid name.
    Other(&'static str),
    Nothing,
}

/// Bytes read once from the start of the range: every fixed-offset magic below lies in
/// them except the end-of-device RAID signatures and VMFS.
const HEAD: u64 = 256 * 1024;

/// Probes `slice`. Disk read errors are errors; a probe that would read past the end of
/// the range simply does not match.
pub fn detect(slice: &Slice) -> Result<Detected, FsError> {
    if slice.len() <= 1024 {
        return Ok(Detected::Nothing); // blkid ignores such tiny ranges too
    }
    let p = Probe::new(slice)?;
    type ProbeFn = fn(&Probe<'_>) -> Result<Option<Detected>, FsError>;
    const PROBES: &[ProbeFn] = &[raid, containers, fat, swap, xfs, ext, filesystems];
    for probe in PROBES {
        if let Some(d) = probe(&p)? {
            return Ok(d);
        }
    }
    Ok(Detected::Nothing)
}

struct Probe<'s> {
    slice: &'s Slice,
    head: Vec<u8>,
}

impl<'s> Probe<'s> {
    fn new(slice: &'s Slice) -> Result<Probe<'s>, FsError> {
        let n = slice.len().min(HEAD);
        let mut head = vec![0u8; usize::try_from(n).unwrap_or(0)];
        slice.read_exact_at(0, &mut head)?;
        Ok(Probe { slice, head })
    }

    fn len(&self) -> u64 {
        self.slice.len()
    }

    /// `len` bytes at `off`, or `None` when they lie (partly) outside the range.
    fn at(&self, off: u64, len: usize) -> Result<Option<Vec<u8>>, FsError> {
        let Some(end) = off.checked_add(len as u64) else {
            return Ok(None);
        };
        if end <= self.head.len() as u64 {
            return Ok(self
                .head
                .get(off as usize..end as usize)
                .map(<[u8]>::to_vec));
        }
        let mut buf = vec![0u8; len];
        match self.slice.read_exact_at(off, &mut buf) {
            Ok(()) => Ok(Some(buf)),
            Err(DiskError::OutOfBounds { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    fn is(&self, off: u64, magic: &[u8]) -> Result<bool, FsError> {
        Ok(self.at(off, magic.len())?.is_some_and(|b| b == magic))
    }

    fn le32(&self, off: u64) -> Result<Option<u32>, FsError> {
        Ok(self
            .at(off, 4)?
            .and_then(|b| b.try_into().ok())
            .map(u32::from_le_bytes))
    }

    fn be32(&self, off: u64) -> Result<Option<u32>, FsError> {
        Ok(self
            .at(off, 4)?
            .and_then(|b| b.try_into().ok())
            .map(u32::from_be_bytes))
    }

    fn le16(&self, off: u64) -> Result<Option<u16>, FsError> {
        Ok(self
            .at(off, 2)?
            .and_then(|b| b.try_into().ok())
            .map(u16::from_le_bytes))
    }

    /// Offset of the `n`-th 512-byte sector from the end (1 = the last one).
    fn sector_from_end(&self, n: u64) -> Option<u64> {
        (self.len() / 512).checked_sub(n).map(|s| s * 512)
    }

    /// Firmware RAID metadata is only looked for on whole disks, as blkid does.
    fn whole_disk(&self) -> bool {
        self.slice.start() == 0 && self.slice.len() == self.slice.disk().size()
    }
}

fn other(name: &'static str) -> Result<Option<Detected>, FsError> {
    Ok(Some(Detected::Other(name)))
}

const MD_MAGIC: u32 = 0xa92b_4efc;

fn raid(p: &Probe<'_>) -> Result<Option<Detected>, FsError> {
    if md_member(p)? {
        return other("linux_raid_member");
    }
    if !p.whole_disk() || p.len() < 0x10000 {
        return Ok(None);
    }
    let last = p.sector_from_end(1).unwrap_or(0);
    if p.be32(last)? == Some(0xDE11_DE11) {
        return other("ddf_raid_member");
    }
    if let Some(off) = p.sector_from_end(2) {
        if p.is(off, b"Intel Raid ISM Cfg Sig. ")? {
            return other("isw_raid_member");
        }
    }
    if p.le32(last + 0x60)? == Some(0x2F00_0000) {
        return other("silicon_medley_raid_member");
    }
    for n in [
        63u64, 255, 256, 16, 399, 591, 675, 735, 911, 974, 991, 951, 3087,
    ] {
        if let Some(off) = p.sector_from_end(n) {
            if p.is(off, b"Promise Technology, Inc.")? {
                return other("promise_fasttrack_raid_member");
            }
        }
    }
    if let Some(off) = p.sector_from_end(11) {
        if matches!(p.le32(off)?, Some(0x5a78_16f3 | 0x5a78_16fd)) {
            return other("hpt45x_raid_member");
        }
    }
    if matches!(p.le32(4608 + 32)?, Some(0x5a78_16f0 | 0x5a78_16fd)) {
        return other("hpt37x_raid_member");
    }
    if p.is(last, &[0x37, 0xFC, 0x4D, 0x1E])? && p.is(last + 256, b"DPTM")? {
        return other("adaptec_raid_member");
    }
    if p.is(last, b"JM")? {
        return other("jmicron_raid_member");
    }
    Ok(None)
}

/// Linux md superblocks: 0.90 and 1.0 near the end, 1.1 at 0, 1.2 at 4 KiB.
fn md_member(p: &Probe<'_>) -> Result<bool, FsError> {
    const RESERVED: u64 = 0x10000;
    let size = p.len();
    if size > RESERVED {
        let off = (size & !(RESERVED - 1)) - RESERVED;
        let (le, be) = (p.le32(off)?, p.be32(off)?);
        if le == Some(MD_MAGIC) || be == Some(MD_MAGIC) {
            let kib = if le == Some(MD_MAGIC) {
                p.le32(off + 32)?
            } else {
                p.be32(off + 32)?
            };
            let bytes = u64::from(kib.unwrap_or(u32::MAX)) << 10;
            if size >= bytes + RESERVED && off >= bytes {
                return Ok(true);
            }
        }
        if md1_at(p, (size & !0xFFF) - 0x2000)? {
            return Ok(true);
        }
    }
    Ok(md1_at(p, 0)? || md1_at(p, 0x1000)?)
}

fn md1_at(p: &Probe<'_>, off: u64) -> Result<bool, FsError> {
    Ok(p.le32(off)? == Some(MD_MAGIC)
        && p.le32(off + 4)? == Some(1)
        && p.at(off + 144, 8)?
            .and_then(|b| b.try_into().ok())
            .map(u64::from_le_bytes)
            == Some(off >> 9))
}

/// Caches, volume managers, crypto and other containers.
fn containers(p: &Probe<'_>) -> Result<Option<Detected>, FsError> {
    const BCACHE: [u8; 16] = [
        0xc6, 0x85, 0x73, 0xf6, 0x4e, 0x1a, 0x45, 0xca, 0x82, 0x65, 0xf5, 0x7f, 0x48, 0xba, 0x6d,
        0x81,
    ];
    const BCACHEFS: [u8; 16] = [
        0xc6, 0x85, 0x73, 0xf6, 0x66, 0xce, 0x90, 0xa9, 0xd9, 0x6a, 0x60, 0xcf, 0x80, 0x3d, 0xf7,
        0xef,
    ];
    if p.is(0x1018, &BCACHE)? {
        // bcache superblock versions are 0..=6; bcachefs used the same magic before its own.
        let version = p
            .at(0x1010, 8)?
            .and_then(|b| b.try_into().ok())
            .map(u64::from_le_bytes);
        return other(if version.is_some_and(|v| v <= 6) {
            "bcache"
        } else {
            "bcachefs"
        });
    }
    if p.is(0x1018, &BCACHEFS)? {
        return other("bcachefs");
    }
    if p.is(0, b"$DRBDmgr=q")? {
        return other("drbdmanage_control_volume");
    }
    for sector in 0..4u64 {
        if p.is(sector * 512, b"LABELONE")? && p.is(sector * 512 + 0x18, b"LVM2 001")? {
            return other("LVM2_member");
        }
    }
    if p.is(0, b"LUKS\xba\xbe")? {
        return other("crypto_LUKS");
    }
    if p.le32(0x10_0000)? == Some(0xc001_d00d) {
        return other("VMFS_volume_member");
    }
    if p.is(0, b"UBI#")? {
        return other("ubi");
    }
    if p.is(0, b"dmvdo001")? {
        return other("vdo");
    }
    if p.is(3, b"-FVE-FS-")? {
        return other("BitLocker");
    }
    if p.is(0x58, b"CS")? && p.le16(0x5a)? == Some(1) {
        if let Some(sb) = p.at(0, 512)? {
            let (sum, seed) = (p.le32(0)?.unwrap_or(0), p.le32(4)?.unwrap_or(0));
            if crc32c(seed, sb.get(8..).unwrap_or_default()) == sum {
                return other("cs_fvault2");
            }
        }
    }
    Ok(None)
}

/// blkid's `fat_valid_superblock`, with its C unsigned arithmetic (wrapping) kept exact.
fn fat(p: &Probe<'_>) -> Result<Option<Detected>, FsError> {
    let Some(b) = p.at(0, 512)? else {
        return Ok(None);
    };
    let s = |r: std::ops::Range<usize>| b.get(r).unwrap_or_default();
    let u16le = |o: usize| s(o..o + 2).try_into().map_or(0, u16::from_le_bytes);
    let u32le = |o: usize| s(o..o + 4).try_into().map_or(0, u32::from_le_bytes);
    let strong = s(0x52..0x57) == b"MSWIN"
        || s(0x52..0x5a) == b"FAT32   "
        || s(0x36..0x3b) == b"MSDOS"
        || [&b"FAT16   "[..], b"FAT12   ", b"FAT     "].contains(&s(0x36..0x3e));
    let signature = s(0x1fe..0x200) == [0x55, 0xAA];
    if !strong {
        // Matched only by the jump byte or the boot signature: blkid then requires the
        // signature and rules out the FAT-like pseudo boot sectors of JFS and HPFS.
        if !signature || s(0x36..0x3e) == b"JFS     " || s(0x36..0x3e) == b"HPFS    " {
            return Ok(None);
        }
    }
    let byte = |o: usize| b.get(o).copied().unwrap_or(0);
    let (cluster, reserved, fats, media) = (
        u32::from(byte(0x0d)),
        u32::from(u16le(0x0e)),
        u32::from(byte(0x10)),
        byte(0x15),
    );
    let sector = u32::from(u16le(0x0b));
    if fats == 0 || reserved == 0 || !(media >= 0xf8 || media == 0xf0) || !cluster.is_power_of_two()
    {
        return Ok(None);
    }
    if !sector.is_power_of_two() || !(512..=4096).contains(&sector) {
        return Ok(None);
    }
    let dir_entries = u32::from(u16le(0x11));
    let sectors = match u16le(0x13) {
        0 => u32le(0x20),
        n => u32::from(n),
    };
    let fat16_len = u16le(0x16);
    let fat32_len = u32le(0x24);
    let fat_len = if fat16_len == 0 {
        fat32_len
    } else {
        u32::from(fat16_len)
    };
    let fat_size = fat_len.wrapping_mul(fats);
    let dir_size = dir_entries.wrapping_mul(32).wrapping_add(sector - 1) / sector;
    let clusters =
        sectors.wrapping_sub(reserved.wrapping_add(fat_size).wrapping_add(dir_size)) / cluster;
    let max = if fat16_len == 0 && fat32_len != 0 {
        0x0FFF_FFF6
    } else if clusters > 0xFF4 {
        0xFFF4
    } else {
        0xFF4
    };
    if clusters > max {
        return Ok(None);
    }
    if fat16_len == 0 && fat32_len != 0 && !fat32_fsinfo_ok(p, u16le(0x30), sector)? {
        return Ok(None);
    }
    Ok(Some(Detected::Fat))
}

/// FAT32's FS information sector carries its signatures, or zeros (blkid accepts both).
fn fat32_fsinfo_ok(p: &Probe<'_>, fsinfo: u16, sector: u32) -> Result<bool, FsError> {
    if fsinfo == 0 {
        return Ok(true);
    }
    let off = u64::from(fsinfo) * u64::from(sector);
    let (Some(sig1), Some(sig2)) = (p.at(off, 4)?, p.at(off + 484, 4)?) else {
        return Ok(false);
    };
    Ok([&b"RRaA"[..], b"RRdA", &[0; 4]].contains(&&sig1[..])
        && [&b"rrAa"[..], &[0; 4]].contains(&&sig2[..]))
}

fn swap(p: &Probe<'_>) -> Result<Option<Detected>, FsError> {
    if p.len() < 10 * 4096 {
        return Ok(None);
    }
    if p.is(0, &[0xed, 0xc3, 0x02, 0xe9, 0x98, 0x56, 0xe5, 0x0c])? {
        return other("swsuspend"); // TuxOnIce
    }
    for page in [0x1000u64, 0x2000, 0x4000, 0x8000, 0x10000] {
        let at = page - 10;
        for m in [&b"S1SUSPEND"[..], b"S2SUSPEND", b"ULSUSPEND", b"LINHIB0001"] {
            if p.is(at, m)? {
                return other("swsuspend");
            }
        }
        if p.is(at, b"SWAP-SPACE")? {
            return other("swap");
        }
        if p.is(at, b"SWAPSPACE2")? {
            // Version 1 header (in either byte order) right after the boot block.
            let v = p.at(1024, 4)?.unwrap_or_default();
            if v == [1, 0, 0, 0] || v == [0, 0, 0, 1] {
                return other("swap");
            }
        }
    }
    Ok(None)
}

fn xfs(p: &Probe<'_>) -> Result<Option<Detected>, FsError> {
    if p.is(0, b"XFSB")? {
        return Ok(Some(Detected::Xfs));
    }
    // An external log starts with a log record header: magic, cycle, version 1 or 2.
    if p.be32(0)? == Some(0xFEED_BABE) && matches!(p.be32(8)?, Some(1 | 2)) {
        return other("xfs_external_log");
    }
    Ok(None)
}

fn ext(p: &Probe<'_>) -> Result<Option<Detected>, FsError> {
    if p.le16(0x438)? != Some(0xEF53) {
        return Ok(None);
    }
    // An external journal device carries an ext superblock with journal_dev set.
    if p.le32(0x460)?.is_some_and(|f| f & 0x8 != 0) {
        return other("jbd");
    }
    Ok(Some(Detected::Ext))
}

/// The remaining filesystems, in blkid's order.
fn filesystems(p: &Probe<'_>) -> Result<Option<Detected>, FsError> {
    for off in [0x10000u64 + 52, 0x2000 + 52] {
        for m in [&b"ReIsErFs"[..], b"ReIsEr2Fs", b"ReIsEr3Fs"] {
            if p.is(off, m)? {
                return other("reiserfs");
            }
        }
    }
    if p.is(0x10000, b"ReIsEr4")? {
        return other("reiser4");
    }
    if p.is(0x8000, b"JFS1")? {
        return other("jfs");
    }
    if let Some(name) = optical(p)? {
        return match name {
            "iso9660" => Ok(Some(Detected::Iso9660)),
            _ => other(name),
        };
    }
    if zfs(p)? {
        return other("zfs_member");
    }
    if p.is(1024, b"H+")? || p.is(1024, b"HX")? {
        return other("hfsplus");
    }
    if p.is(1024, b"BD")? {
        // An HFS wrapper around an embedded HFS+ volume is HFS+.
        return other(if p.is(1024 + 0x7c, b"H+")? {
            "hfsplus"
        } else {
            "hfs"
        });
    }
    for base in [0u64, 8192, 65536, 262144] {
        let m = p.at(base + 1372, 4)?;
        let known = [0x0001_1954u32, 0x1954_0119];
        if m.is_some_and(|b| {
            known
                .iter()
                .any(|k| b == k.to_le_bytes() || b == k.to_be_bytes())
        }) {
            return other("ufs");
        }
    }
    if p.le32(0x2000)? == Some(0xf995_e849) {
        return other("hpfs");
    }
    if p.is(3, b"NTFS    ")? {
        return other("ntfs");
    }
    if matches!(p.le32(0)?, Some(0x28cd_3d45 | 0x453d_cd28)) {
        return other("cramfs");
    }
    if p.is(0, b"-rom1fs-")? {
        return other("romfs");
    }
    if minix(p)? {
        return other("minix");
    }
    if p.be32(0x10000)? == Some(0x0116_1970) && p.be32(0x10004)? == Some(1) {
        match p.be32(0x10018)? {
            Some(1309) => return other("gfs"),
            Some(1801) => return other("gfs2"),
            _ => {}
        }
    }
    for kib in [1u64, 2, 4, 8] {
        if p.is(kib * 1024, b"OCFSV2")? {
            return other("ocfs2");
        }
    }
    if p.le32(1024)? == Some(0xa501_fcf5) || p.be32(8192)? == Some(0xa501_fcf5) {
        return other("vxfs");
    }
    if p.is(0, b"hsqs")? {
        return other(if p.le16(28)?.is_some_and(|v| v >= 4) {
            "squashfs"
        } else {
            "squashfs3"
        });
    }
    if p.is(0, b"sqsh")? {
        return other("squashfs3");
    }
    if p.is(0x10040, b"_BHRfS_M")? {
        return Ok(Some(Detected::Btrfs));
    }
    if p.le32(0)? == Some(0x1bad_face) {
        return other("bfs");
    }
    if p.le32(0x20_0000)? == Some(0x2fab_f15e) {
        return other("VMFS");
    }
    if p.le16(1024 + 6)? == Some(0x3434) && p.le32(1024)? == Some(2) {
        return other("nilfs2");
    }
    if p.is(3, b"EXFAT   ")? {
        return other("exfat");
    }
    if p.le32(1024)? == Some(0xF2F5_2010) {
        return other("f2fs");
    }
    if p.is(32, b"NXSB")? {
        return other("apfs");
    }
    if p.le32(1024)? == Some(0xE0F5_E1E2) {
        return other("erofs");
    }
    Ok(None)
}

/// ISO 9660 and UDF share the volume recognition sequence at 32 KiB: descriptors of 2 KiB
/// (or one sector on 4 KiB media), each a type byte and a 5-byte identifier. UDF's NSR
/// descriptor wins over an ISO primary volume descriptor, as in blkid (bridge discs).
fn optical(p: &Probe<'_>) -> Result<Option<&'static str>, FsError> {
    const KNOWN: [&[u8; 5]; 7] = [
        b"BEA01", b"BOOT2", b"CD001", b"CDW02", b"NSR02", b"NSR03", b"TEA01",
    ];
    for stride in [2048u64, 4096] {
        for i in 0..64u64 {
            let Some(id) = p.at(0x8000 + i * stride + 1, 5)? else {
                break;
            };
            if id == b"NSR02" || id == b"NSR03" {
                return Ok(Some("udf"));
            }
            if !KNOWN.iter().any(|k| id[..] == k[..]) {
                break;
            }
        }
    }
    Ok(if p.is(0x8001, b"CD001")? || p.is(0x8009, b"CDROM")? {
        Some("iso9660")
    } else {
        None
    })
}

/// A ZFS vdev label holds an array of 1 KiB uberblocks at +128 KiB; blkid wants several.
fn zfs(p: &Probe<'_>) -> Result<bool, FsError> {
    const MAGIC: u64 = 0x00ba_b10c;
    for label in [0u64, 256 * 1024] {
        let mut found = 0;
        for k in 0..128u64 {
            let Some(b) = p.at(label + 128 * 1024 + k * 1024, 8)? else {
                break;
            };
            let v = b.try_into().map_or(0, u64::from_le_bytes);
            if v == MAGIC || v.swap_bytes() == MAGIC {
                found += 1;
            }
        }
        if found >= 4 {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Minix v1/v2 (2-byte magics, so blkid's sanity checks too) and v3.
fn minix(p: &Probe<'_>) -> Result<bool, FsError> {
    let Some(sb) = p.at(1024, 32)? else {
        return Ok(false);
    };
    let u16le = |o: usize| {
        sb.get(o..o + 2)
            .and_then(|s| s.try_into().ok())
            .map_or(0, u16::from_le_bytes)
    };
    let u32le = |o: usize| {
        sb.get(o..o + 4)
            .and_then(|s| s.try_into().ok())
            .map_or(0, u32::from_le_bytes)
    };
    let version = match u16le(16) {
        0x137F | 0x138F => 1,
        0x2468 | 0x2478 => 2,
        _ => return Ok(u16le(24) == 0x4d5a && u16le(26) == 0),
    };
    let (ninodes, imap, zmap, first) = (
        u32::from(u16le(0)),
        u32::from(u16le(4)),
        u32::from(u16le(6)),
        u32::from(u16le(8)),
    );
    let zones = if version == 2 {
        u32le(20)
    } else {
        u32::from(u16le(2))
    };
    if imap == 0 || zmap == 0 || u16le(10) != 0 {
        return Ok(false); // no bitmaps, or a zone size other than one block
    }
    Ok(u64::from(imap) * 1024 * 8 > u64::from(ninodes)
        && u64::from(zmap) * 1024 * 8 > u64::from(zones.saturating_sub(first)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::disk::Disk;

    fn detect_bytes(bytes: &[u8]) -> Detected {
        let dir = std::env::temp_dir().join(format!(
            "domuloader-detect-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        std::fs::write(&dir, bytes).unwrap();
        let d = detect(&Disk::open(&dir).unwrap().whole()).unwrap();
        std::fs::remove_file(&dir).unwrap();
        d
    }

    fn fat16_boot_sector() -> Vec<u8> {
        let mut b = vec![0u8; 2 * 1024 * 1024];
        b[0] = 0xEB;
        b[0x0b..0x0d].copy_from_slice(&512u16.to_le_bytes());
        b[0x0d] = 4; // sectors per cluster
        b[0x0e..0x10].copy_from_slice(&1u16.to_le_bytes());
        b[0x10] = 2;
        b[0x11..0x13].copy_from_slice(&512u16.to_le_bytes());
        b[0x13..0x15].copy_from_slice(&4096u16.to_le_bytes());
        b[0x15] = 0xF8;
        b[0x16..0x18].copy_from_slice(&4u16.to_le_bytes());
        b[0x1fe] = 0x55;
        b[0x1ff] = 0xAA;
        b
    }

    #[test]
    fn fat_needs_a_valid_bpb() {
        let b = fat16_boot_sector();
        assert_eq!(detect_bytes(&b), Detected::Fat);
        for (off, v) in [
            (0x10usize, 0u8),
            (0x15, 0x12),
            (0x0d, 3),
            (0x0e, 0),
            (0x1fe, 0),
        ] {
            let mut c = b.clone();
            c[off] = v;
            assert_eq!(
                detect_bytes(&c),
                Detected::Nothing,
                "byte {off:#x} = {v:#x}"
            );
        }
        let mut c = b.clone();
        c[0x36..0x3e].copy_from_slice(b"HPFS    ");
        assert_eq!(detect_bytes(&c), Detected::Nothing);
        // NTFS and exFAT carry 0x55AA but no FAT BPB.
        let mut c = vec![0u8; 1 << 20];
        c[0] = 0xEB;
        c[3..11].copy_from_slice(b"NTFS    ");
        c[0x1fe] = 0x55;
        c[0x1ff] = 0xAA;
        assert_eq!(detect_bytes(&c), Detected::Other("ntfs"));
        c[3..11].copy_from_slice(b"EXFAT   ");
        assert_eq!(detect_bytes(&c), Detected::Other("exfat"));
    }

    #[test]
    fn magics_at_fixed_offsets() {
        let mut b = vec![0u8; 1 << 20];
        b[0x438..0x43a].copy_from_slice(&[0x53, 0xEF]);
        assert_eq!(detect_bytes(&b), Detected::Ext);
        b[0x460] = 0x8;
        assert_eq!(detect_bytes(&b), Detected::Other("jbd"));
        let mut b = vec![0u8; 1 << 20];
        b[0x10040..0x10048].copy_from_slice(b"_BHRfS_M");
        assert_eq!(detect_bytes(&b), Detected::Btrfs);
        assert_eq!(detect_bytes(&vec![0u8; 1 << 20]), Detected::Nothing);
        assert_eq!(detect_bytes(&[0u8; 100]), Detected::Nothing);
    }
}
