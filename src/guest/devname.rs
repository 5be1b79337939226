//! Guest block-device names (`xvda`, `hda1`, `sdb5`, `vda2`) and how names from different
//! naming schemes are matched to one disk.
//!
//! A name is a scheme prefix, one to four letters giving the disk index, and an optional
//! partition number: `xvd` `a` `2`. Only the four schemes a Xen guest's disks go by are
//! names here; anything else (`nvme0n1p2`, `md0`, `mapper/x`) is not a disk of the guest's
//! disk set and is reported as such by the callers.
//!
//! # Aliases
//!
//! One disk answers to every scheme with the same letter, and a partition to the same
//! letter *and* the same number:
//!
//! - `xvdX`, `hdX`, `sdX`, `vdX` are the same disk for the same letters `X`, so `/dev/sda2`,
//!   `/dev/hda2`, `/dev/vda2` in a guest's fstab all name the partition the disk set calls
//!   `xvda2`. Letters count as in Linux: `a`=0 … `z`=25, `aa`=26 … `zz`=701, `aaa`=702.
//! - Why: Linux's xen-blkfront shows a disk configured as `hdX` or `sdX` as `xvdX` (same
//!   letter), and an fstab written under HVM, KVM (`vdX`) or an older kernel (`sdX`, `hdX`)
//!   keeps its old names.
//! - Partition numbers must be equal; a name without a number is the whole disk and never
//!   matches a partition.
//! - An exact name (same scheme and letter) beats an alias: with both `hda` and `sda` in
//!   the disk set (xm allowed that), `sda2` means `sda`'s partition 2 and `xvda2` is
//!   ambiguous — see [`pick_disk`].

use std::fmt;

/// Longest letter run accepted: 4 letters name 475 254 disks, more than Xen can attach
/// (libxl caps `xvd` at 2^20 device numbers, about 4 letters' worth with partitions).
const MAX_LETTERS: usize = 4;

/// Naming schemes, by the prefix before the disk letters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// `xvd`: Xen virtual block device, what a PV guest sees.
    Xvd,
    /// `hd`: IDE, as old xm configs and HVM guests name disks.
    Hd,
    /// `sd`: SCSI/SATA.
    Sd,
    /// `vd`: virtio (KVM); kept so fstabs of guests migrated from KVM still match.
    Vd,
}

impl Scheme {
    /// The prefix as written in a device name.
    pub fn prefix(self) -> &'static str {
        match self {
            Scheme::Xvd => "xvd",
            Scheme::Hd => "hd",
            Scheme::Sd => "sd",
            Scheme::Vd => "vd",
        }
    }
}

/// Why a device name was refused. One line, naming the input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DevNameError {
    #[error("empty device name")]
    Empty,
    #[error("device name {0:?}: expected xvdX, hdX, sdX or vdX with an optional partition number (e.g. xvda2)")]
    Scheme(String),
    #[error("device name {0:?}: disk letters must be 1 to 4 of a-z")]
    Letters(String),
    #[error("device name {0:?}: bad partition number (1 or more, no leading zero)")]
    Partition(String),
    #[error("device {want} matches several disks of the disk set: {candidates}")]
    Ambiguous { want: String, candidates: String },
}

/// A guest device name: a disk, or a partition of it. Always valid once built; equality is
/// exact (same scheme); use [`same_device`] / [`same_disk`] for alias matching.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct DevName {
    scheme: Scheme,
    index: u32,
    part: Option<u32>,
}

impl DevName {
    /// Parses `xvda`, `hda1`, `/dev/sdb5`. An optional `/dev/` prefix is stripped.
    pub fn parse(s: &str) -> Result<DevName, DevNameError> {
        let name = s.strip_prefix("/dev/").unwrap_or(s);
        if name.is_empty() {
            return Err(DevNameError::Empty);
        }
        let (scheme, rest) = split_scheme(name).ok_or_else(|| DevNameError::Scheme(s.into()))?;
        let letters_len = rest.bytes().take_while(u8::is_ascii_lowercase).count();
        let (letters, digits) = rest.split_at(letters_len);
        let index = letters_index(letters).ok_or_else(|| DevNameError::Letters(s.into()))?;
        let part = match digits {
            "" => None,
            d => Some(parse_part(d).ok_or_else(|| DevNameError::Partition(s.into()))?),
        };
        Ok(DevName {
            scheme,
            index,
            part,
        })
    }

    /// A whole-disk name from its parts; `index` 0 is `a`.
    pub fn whole(scheme: Scheme, index: u32) -> Option<DevName> {
        index_letters(index)?;
        Some(DevName {
            scheme,
            index,
            part: None,
        })
    }

    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// Disk index from the letters: `a`=0, `z`=25, `aa`=26.
    pub fn index(&self) -> u32 {
        self.index
    }

    /// Partition number; `None` for the whole disk.
    pub fn part(&self) -> Option<u32> {
        self.part
    }

    pub fn is_whole_disk(&self) -> bool {
        self.part.is_none()
    }

    /// The disk this names: the name minus its partition number (`xvda2` → `xvda`).
    pub fn whole_disk(&self) -> DevName {
        DevName {
            part: None,
            ..self.clone()
        }
    }

    /// Partition `part` of this name's disk (`xvda`, 2 → `xvda2`); `None` for 0.
    pub fn with_part(&self, part: u32) -> Option<DevName> {
        (part != 0).then(|| DevName {
            part: Some(part),
            ..self.clone()
        })
    }

    /// The disk part as a string: `xvda`.
    pub fn disk(&self) -> String {
        self.whole_disk().to_string()
    }
}

impl fmt::Display for DevName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let letters = index_letters(self.index).unwrap_or_default();
        write!(f, "{}{}", self.scheme.prefix(), letters)?;
        match self.part {
            Some(p) => write!(f, "{p}"),
            None => Ok(()),
        }
    }
}

impl std::str::FromStr for DevName {
    type Err = DevNameError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        DevName::parse(s)
    }
}

/// Same disk and same partition, under any scheme (`/dev/sda2` ~ `xvda2`). See the module
/// doc for the aliases.
pub fn same_device(a: &DevName, b: &DevName) -> bool {
    a.index == b.index && a.part == b.part
}

/// Same disk under any scheme, partitions ignored (`sda2` ~ `xvda`).
pub fn same_disk(a: &DevName, b: &DevName) -> bool {
    a.index == b.index
}

/// The disk of `disks` that `want` lives on: an exact disk name (same scheme and letter)
/// first, else the one alias ([`same_disk`]). `Ok(None)` when no disk matches; an error
/// naming the candidates when several aliases match and none exactly.
pub fn pick_disk(want: &DevName, disks: &[DevName]) -> Result<Option<usize>, DevNameError> {
    let exact = |d: &DevName| d.scheme == want.scheme && d.index == want.index;
    if let Some(i) = disks.iter().position(exact) {
        return Ok(Some(i));
    }
    let aliases: Vec<usize> = (0..disks.len())
        .filter(|&i| disks.get(i).is_some_and(|d| same_disk(d, want)))
        .collect();
    match aliases.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(*one)),
        many => Err(DevNameError::Ambiguous {
            want: want.to_string(),
            candidates: many
                .iter()
                .filter_map(|&i| disks.get(i).map(DevName::to_string))
                .collect::<Vec<_>>()
                .join(", "),
        }),
    }
}

/// Splits off the scheme prefix. `xvd` is tried before the two-letter prefixes so that
/// no prefix is read as another plus letters.
fn split_scheme(name: &str) -> Option<(Scheme, &str)> {
    [Scheme::Xvd, Scheme::Hd, Scheme::Sd, Scheme::Vd]
        .into_iter()
        .find_map(|s| name.strip_prefix(s.prefix()).map(|rest| (s, rest)))
}

/// Bijective base-26 value of the letters, minus one (`a`=0, `aa`=26).
fn letters_index(letters: &str) -> Option<u32> {
    if letters.is_empty() || letters.len() > MAX_LETTERS {
        return None;
    }
    let mut n: u32 = 0;
    for c in letters.bytes() {
        let digit = u32::from(c.checked_sub(b'a')?) + 1;
        n = n.checked_mul(26)?.checked_add(digit)?;
    }
    n.checked_sub(1)
}

/// Inverse of [`letters_index`]; `None` beyond [`MAX_LETTERS`] letters.
fn index_letters(index: u32) -> Option<String> {
    let mut n = u64::from(index) + 1;
    let mut out = Vec::new();
    while n > 0 {
        let rem = (n - 1) % 26;
        out.push(b'a' + u8::try_from(rem).ok()?);
        n = (n - 1) / 26;
    }
    if out.len() > MAX_LETTERS {
        return None;
    }
    out.reverse();
    String::from_utf8(out).ok()
}

/// Partition numbers as Linux writes them: decimal, no leading zero, at least 1.
fn parse_part(digits: &str) -> Option<u32> {
    if !digits.bytes().all(|b| b.is_ascii_digit()) || digits.starts_with('0') {
        return None;
    }
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dn(s: &str) -> DevName {
        DevName::parse(s).unwrap()
    }

    #[test]
    fn parses_names() {
        let cases: &[(&str, Scheme, u32, Option<u32>, &str)] = &[
            ("xvda", Scheme::Xvd, 0, None, "xvda"),
            ("xvda2", Scheme::Xvd, 0, Some(2), "xvda2"),
            ("/dev/xvdb1", Scheme::Xvd, 1, Some(1), "xvdb1"),
            ("hda1", Scheme::Hd, 0, Some(1), "hda1"),
            ("hdc", Scheme::Hd, 2, None, "hdc"),
            ("sda5", Scheme::Sd, 0, Some(5), "sda5"),
            ("vda2", Scheme::Vd, 0, Some(2), "vda2"),
            ("xvdz", Scheme::Xvd, 25, None, "xvdz"),
            ("xvdaa3", Scheme::Xvd, 26, Some(3), "xvdaa3"),
            ("xvdaz", Scheme::Xvd, 51, None, "xvdaz"),
            ("xvdba", Scheme::Xvd, 52, None, "xvdba"),
            ("sdzz", Scheme::Sd, 701, None, "sdzz"),
            ("sdaaa", Scheme::Sd, 702, None, "sdaaa"),
            ("sdzzzz", Scheme::Sd, 475_253, None, "sdzzzz"),
            ("xvda128", Scheme::Xvd, 0, Some(128), "xvda128"),
        ];
        for &(input, scheme, index, part, shown) in cases {
            let d = dn(input);
            assert_eq!(
                (d.scheme(), d.index(), d.part()),
                (scheme, index, part),
                "{input}"
            );
            assert_eq!(d.to_string(), shown, "{input}");
            assert_eq!(dn(shown), d, "round trip {input}");
        }
    }

    #[test]
    fn rejects_bad_names() {
        let cases: &[(&str, DevNameError)] = &[
            ("", DevNameError::Empty),
            ("/dev/", DevNameError::Empty),
            ("nvme0n1p2", DevNameError::Scheme("nvme0n1p2".into())),
            ("md0", DevNameError::Scheme("md0".into())),
            ("mapper/root", DevNameError::Scheme("mapper/root".into())),
            ("XVDA", DevNameError::Scheme("XVDA".into())),
            ("xvd", DevNameError::Letters("xvd".into())),
            ("xvd1", DevNameError::Letters("xvd1".into())),
            ("sdaaaaa", DevNameError::Letters("sdaaaaa".into())),
            ("xvdA", DevNameError::Letters("xvdA".into())),
            ("xvda0", DevNameError::Partition("xvda0".into())),
            ("xvda01", DevNameError::Partition("xvda01".into())),
            ("xvda1b", DevNameError::Partition("xvda1b".into())),
            ("xvda-1", DevNameError::Partition("xvda-1".into())),
            ("xvda 1", DevNameError::Partition("xvda 1".into())),
            (
                "xvda99999999999",
                DevNameError::Partition("xvda99999999999".into()),
            ),
            ("xvda1/", DevNameError::Partition("xvda1/".into())),
            ("/dev/xvda:", DevNameError::Partition("/dev/xvda:".into())),
        ];
        for (input, want) in cases {
            assert_eq!(DevName::parse(input).as_ref(), Err(want), "{input:?}");
        }
    }

    #[test]
    fn whole_disk_and_parts() {
        assert_eq!(dn("xvda2").whole_disk(), dn("xvda"));
        assert_eq!(dn("xvda2").disk(), "xvda");
        assert!(dn("hdb").is_whole_disk());
        assert!(!dn("hdb3").is_whole_disk());
        assert_eq!(dn("sdc").with_part(7), Some(dn("sdc7")));
        assert_eq!(dn("sdc").with_part(0), None);
        assert_eq!(DevName::whole(Scheme::Vd, 26), Some(dn("vdaa")));
        assert_eq!(DevName::whole(Scheme::Vd, 475_254), None);
    }

    #[test]
    fn aliases() {
        let yes = [
            ("xvda2", "sda2"),
            ("xvda2", "/dev/hda2"),
            ("xvda2", "vda2"),
            ("sdb", "xvdb"),
            ("hdaa1", "xvdaa1"),
        ];
        for (a, b) in yes {
            assert!(same_device(&dn(a), &dn(b)), "{a} ~ {b}");
            assert!(same_device(&dn(b), &dn(a)), "{b} ~ {a}");
        }
        let no = [
            ("xvda2", "xvda3"),
            ("xvda2", "xvdb2"),
            ("xvda", "xvda1"),
            ("sda1", "sdaa1"),
        ];
        for (a, b) in no {
            assert!(!same_device(&dn(a), &dn(b)), "{a} !~ {b}");
        }
        assert!(same_disk(&dn("sda5"), &dn("xvda")));
        assert!(!same_disk(&dn("sdb5"), &dn("xvda")));
    }

    #[test]
    fn picks_disks() {
        let set = [dn("xvda"), dn("xvdb")];
        assert_eq!(pick_disk(&dn("sdb2"), &set), Ok(Some(1)));
        assert_eq!(pick_disk(&dn("xvda1"), &set), Ok(Some(0)));
        assert_eq!(pick_disk(&dn("xvdc1"), &set), Ok(None));
        // xm allowed hda and sda side by side: exact names win, the third scheme is ambiguous.
        let mixed = [dn("hda"), dn("sda")];
        assert_eq!(pick_disk(&dn("sda2"), &mixed), Ok(Some(1)));
        assert_eq!(pick_disk(&dn("hda1"), &mixed), Ok(Some(0)));
        let err = pick_disk(&dn("xvda2"), &mixed).unwrap_err();
        assert_eq!(
            err.to_string(),
            "device xvda2 matches several disks of the disk set: hda, sda"
        );
    }

    #[test]
    fn letters_round_trip() {
        for i in (0..20_000).chain(475_000..475_254) {
            let s = index_letters(i).unwrap();
            assert_eq!(letters_index(&s), Some(i), "{s}");
        }
        assert_eq!(index_letters(475_254), None);
    }
}
