//! Partition discovery: protective MBR → GPT, else MBR with its extended/logical chain,
//! else the whole disk as one filesystem. Owns Linux partition numbering and the
//! identifiers the guest's fstab may name (PARTUUID, PARTLABEL).
//!
//! The order follows the Linux kernel's `check_part` list and libfdisk (whose `sfdisk -J`
//! is the oracle of the corpus test): a protective MBR whose GPT is valid gives the GPT;
//! otherwise sector 0 is read as an MBR (as sfdisk does, even with a 0xEE entry), unless it
//! is a FAT boot sector (blkid's test); other disk labels we know but do not read are
//! refused by name; anything else is one unpartitioned filesystem. A hybrid ISO (an MBR
//! entry from sector 0 over an ISO 9660 filesystem) lists the whole disk as partition 0 (the
//! ISO) before the MBR's entries.

mod foreign;
mod gpt;
mod mbr;

use crate::disk::{Disk, DiskError, Slice};

/// Which kind of table the disk carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TableKind {
    Mbr,
    Gpt,
    /// SGI volume header: listed (as sfdisk does), not used by Linux PV guests.
    Sgi,
    /// Standalone BSD disklabel: listed (as sfdisk does).
    Bsd,
    /// No partition table: the whole disk is one filesystem (or nothing).
    None,
}

/// Partition type as the table records it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PartType {
    /// MBR system id byte, e.g. 0x83.
    Mbr(u8),
    /// GPT partition type GUID, lower-case 8-4-4-4-12.
    Gpt(String),
    /// SGI partition type or BSD `fstype` number.
    Label(u32),
    /// The whole unpartitioned disk.
    Whole,
}

impl std::fmt::Display for PartType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PartType::Mbr(b) => write!(f, "{b:x}"),
            PartType::Gpt(g) => f.write_str(g),
            PartType::Label(t) => write!(f, "{t:x}"),
            PartType::Whole => f.write_str("disk"),
        }
    }
}

/// One partition, in bytes, with Linux's number (MBR primaries 1–4, logicals from 5 in
/// chain order; GPT entries by index from 1). The whole-disk pseudo-partition has number 0.
#[derive(Clone, Debug)]
pub struct Partition {
    pub number: u32,
    pub start: u64,
    pub size: u64,
    pub part_type: PartType,
    /// Linux's PARTUUID: GPT entry GUID, or `<mbr disk signature>-<NN>` for MBR.
    pub partuuid: Option<String>,
    /// GPT partition name.
    pub partlabel: Option<String>,
}

/// The disk's partition layout.
#[derive(Clone, Debug)]
pub struct Layout {
    pub table: TableKind,
    pub sector_size: u32,
    pub partitions: Vec<Partition>,
}

impl Layout {
    /// The partition with Linux number `n` (0 = whole unpartitioned disk).
    pub fn get(&self, n: u32) -> Option<&Partition> {
        self.partitions.iter().find(|p| p.number == n)
    }
}

/// Why a partition table could not be read. Messages are one line and name the cause.
#[derive(Debug, thiserror::Error)]
pub enum PartitionError {
    #[error(transparent)]
    Disk(#[from] DiskError),
    #[error("bad partition table: {0}")]
    Invalid(String),
    /// A disk label we recognise but do not read (SGI, Sun, BSD, Apple).
    #[error("unsupported partition table: {0}")]
    Unsupported(&'static str),
    #[error("partition {number} lies outside the disk (start {start}, size {size}, disk {disk_size} bytes)")]
    OutsideDisk {
        number: u32,
        start: u64,
        size: u64,
        disk_size: u64,
    },
}

/// Reads the layout of `disk`: GPT, MBR, or the whole disk as partition 0.
///
/// Partitions that lie (partly) past the end of the disk are listed as the table says, as
/// `sfdisk` lists them; [`slice_of`] refuses them when they are read.
pub fn discover(disk: &Disk) -> Result<Layout, PartitionError> {
    let Some(sector0) = mbr::read_sector0(disk)? else {
        return Ok(whole_disk(disk));
    };
    if mbr::has_protective_entry(&sector0) {
        if let Some(layout) = gpt::discover(disk)? {
            return Ok(layout);
        }
    }
    if let Some(mut partitions) = mbr::discover(disk, &sector0)? {
        if partitions.iter().any(|p| p.start == 0) && mbr::hybrid_iso(disk)? {
            // A hybrid ISO: the whole disk is the ISO 9660 filesystem (`xvda`), listed
            // first; the table's own entries follow as sfdisk lists them.
            partitions.insert(0, whole_disk(disk).partitions.remove(0));
        }
        return Ok(Layout {
            table: TableKind::Mbr,
            sector_size: mbr::SECTOR_SIZE,
            partitions,
        });
    }
    if !mbr::is_fat_boot_sector(&sector0) {
        match foreign::detect(disk)? {
            foreign::Found::Listed(layout) => return Ok(layout),
            foreign::Found::Refused(label) => return Err(PartitionError::Unsupported(label)),
            foreign::Found::Nothing => {}
        }
    }
    Ok(whole_disk(disk))
}

fn whole_disk(disk: &Disk) -> Layout {
    Layout {
        table: TableKind::None,
        sector_size: mbr::SECTOR_SIZE,
        partitions: vec![Partition {
            number: 0,
            start: 0,
            size: disk.size(),
            part_type: PartType::Whole,
            partuuid: None,
            partlabel: None,
        }],
    }
}

/// The byte range of partition `p` on `disk`, bounds-checked.
pub fn slice_of(disk: &Disk, p: &Partition) -> Result<Slice, PartitionError> {
    disk.whole()
        .sub(p.start, p.size)
        .map_err(|_| PartitionError::OutsideDisk {
            number: p.number,
            start: p.start,
            size: p.size,
            disk_size: disk.size(),
        })
}

/// Builders of small disk images for the unit tests of this module.
#[cfg(test)]
pub(crate) mod testimg {
    use crate::disk::Disk;
    use std::io::Write;

    /// An image in a temporary file, opened as a [`Disk`].
    pub struct TempDisk {
        _file: tempfile::NamedTempFile,
        pub disk: Disk,
    }

    impl TempDisk {
        pub fn new(bytes: &[u8]) -> TempDisk {
            let mut file = tempfile::NamedTempFile::new().unwrap();
            file.write_all(bytes).unwrap();
            file.flush().unwrap();
            let disk = Disk::open(file.path()).unwrap();
            TempDisk { _file: file, disk }
        }
    }

    pub fn put(img: &mut [u8], offset: usize, data: &[u8]) {
        img[offset..offset + data.len()].copy_from_slice(data);
    }

    /// An MBR/EBR sector with disk signature `sig` and `(type, start, sectors)` entries.
    pub fn mbr_sector(sig: u32, entries: &[(u8, u32, u32)]) -> [u8; 512] {
        let mut s = [0u8; 512];
        s[440..444].copy_from_slice(&sig.to_le_bytes());
        for (i, (kind, start, sectors)) in entries.iter().enumerate() {
            let e = 446 + 16 * i;
            s[e + 4] = *kind;
            s[e + 8..e + 12].copy_from_slice(&start.to_le_bytes());
            s[e + 12..e + 16].copy_from_slice(&sectors.to_le_bytes());
        }
        s[510] = 0x55;
        s[511] = 0xaa;
        s
    }

    pub fn crc32(data: &[u8]) -> u32 {
        let mut crc = !0u32;
        for &b in data {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 != 0 {
                    (crc >> 1) ^ 0xedb8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }

    /// A GPT disk of 100 sectors; fields can be spoiled before [`gpt_disk`] builds it.
    pub struct GptSpec {
        pub ss: u64,
        pub entry_size: u32,
        pub num_entries: u32,
        pub entries_lba: u64,
        pub last_usable: Option<u64>,
        pub my_lba_delta: u64,
        /// Whether the backup header is written.
        pub backup: bool,
        /// `(entry index from 1, first LBA, last LBA, name)`, type Linux filesystem.
        pub parts: Vec<(u32, u64, u64, &'static str)>,
    }

    impl GptSpec {
        pub fn new(ss: u64) -> GptSpec {
            GptSpec {
                ss,
                entry_size: 128,
                num_entries: 128,
                entries_lba: 2,
                last_usable: None,
                my_lba_delta: 0,
                backup: true,
                parts: vec![(1, 40, 49, "root"), (3, 60, 64, "")],
            }
        }
    }

    const LINUX_FS: [u8; 16] = [
        0xaf, 0x3d, 0xc6, 0x0f, 0x83, 0x84, 0x72, 0x47, 0x8e, 0x79, 0x3d, 0x69, 0xd8, 0x47, 0x7d,
        0xe4,
    ];

    fn entry_array(spec: &GptSpec) -> Vec<u8> {
        // Always 16 KiB, the space the layout reserves; spoiled geometries only get the
        // entries that fit.
        let stride = spec.entry_size as usize;
        let mut a = vec![0u8; 128 * 128];
        for (idx, first, last, name) in &spec.parts {
            let e = (*idx as usize - 1) * stride;
            if e + 128 > a.len() {
                continue;
            }
            a[e..e + 16].copy_from_slice(&LINUX_FS);
            a[e + 16..e + 32].fill(*idx as u8);
            a[e + 32..e + 40].copy_from_slice(&first.to_le_bytes());
            a[e + 40..e + 48].copy_from_slice(&last.to_le_bytes());
            for (i, u) in name.encode_utf16().enumerate() {
                a[e + 56 + 2 * i..e + 58 + 2 * i].copy_from_slice(&u.to_le_bytes());
            }
        }
        a
    }

    fn header(
        spec: &GptSpec,
        my: u64,
        alt: u64,
        entries_lba: u64,
        last_usable: u64,
        crc: u32,
    ) -> Vec<u8> {
        let mut h = Vec::with_capacity(92);
        h.extend_from_slice(b"EFI PART");
        h.extend_from_slice(&0x0001_0000u32.to_le_bytes());
        h.extend_from_slice(&92u32.to_le_bytes());
        h.extend_from_slice(&[0; 8]); // CRC, reserved
        h.extend_from_slice(&(my + spec.my_lba_delta).to_le_bytes());
        h.extend_from_slice(&alt.to_le_bytes());
        let entry_sectors = 128 * 128 / spec.ss;
        h.extend_from_slice(&(2 + entry_sectors).to_le_bytes());
        h.extend_from_slice(&last_usable.to_le_bytes());
        h.extend_from_slice(&[0x11; 16]);
        h.extend_from_slice(&entries_lba.to_le_bytes());
        h.extend_from_slice(&spec.num_entries.to_le_bytes());
        h.extend_from_slice(&spec.entry_size.to_le_bytes());
        h.extend_from_slice(&crc.to_le_bytes());
        let c = crc32(&h);
        h[16..20].copy_from_slice(&c.to_le_bytes());
        h
    }

    /// Protective MBR, primary and backup headers and entry arrays, valid CRCs.
    pub fn gpt_disk(spec: &GptSpec) -> Vec<u8> {
        let ss = spec.ss as usize;
        let sectors = 100u64;
        let last = sectors - 1;
        let mut img = vec![0u8; ss * sectors as usize];
        put(&mut img, 0, &mbr_sector(0, &[(0xee, 1, last as u32)]));
        let entries = entry_array(spec);
        let crc = crc32(&entries);
        let entry_sectors = 128 * 128 / spec.ss;
        let backup_entries = last - entry_sectors;
        let last_usable = spec.last_usable.unwrap_or(backup_entries - 1);
        let primary = header(spec, 1, last, spec.entries_lba, last_usable, crc);
        let backup = header(spec, last, 1, backup_entries, last_usable, crc);
        put(&mut img, ss, &primary);
        if let Ok(at) = usize::try_from(spec.entries_lba * spec.ss) {
            if at + entries.len() <= img.len() {
                put(&mut img, at, &entries);
            }
        }
        put(&mut img, backup_entries as usize * ss, &entries);
        if spec.backup {
            put(&mut img, last as usize * ss, &backup);
        }
        img
    }
}
