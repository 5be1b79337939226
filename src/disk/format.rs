//! Image formats: recognising a disk image file by its magic, naming it, and deciding how it
//! is read.
//!
//! Only raw and qcow2 are read. Every other format qemu-img writes is recognised and refused
//! by name ("VMDK image (unsupported; convert with qemu-img)") rather than misread as a raw
//! disk with "no filesystem recognised".
//!
//! When the caller states no format (a positional disk, a `--disks` spec without one), the
//! file is probed. When the caller states `raw`, it is not: the caller's configuration is
//! trusted over guest bytes, and a raw disk whose first sector happens to (or is made to)
//! start with a format magic is what the guest sees under xl, so we read the same bytes.
//! Probing is nonetheless safe: a qcow2 header written by a guest onto its raw disk can only
//! map other bytes of the same file, because a path written in an image (backing file,
//! external data file) is never opened.

use super::DiskError;

/// The formats we recognise.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImageFormat {
    Raw,
    Qcow2,
    /// qcow version 1.
    Qcow,
    Qed,
    Vdi,
    /// Virtual PC / Hyper-V VHD (qemu's `vpc`), fixed or dynamic.
    Vhd,
    Vhdx,
    /// VMware: sparse extents (`KDMV`, `COWD`) or a descriptor file.
    Vmdk,
}

impl ImageFormat {
    /// The name used in messages and `--inspect`.
    pub fn name(self) -> &'static str {
        match self {
            ImageFormat::Raw => "raw",
            ImageFormat::Qcow2 => "qcow2",
            ImageFormat::Qcow => "qcow (version 1)",
            ImageFormat::Qed => "QED",
            ImageFormat::Vdi => "VDI",
            ImageFormat::Vhd => "VHD",
            ImageFormat::Vhdx => "VHDX",
            ImageFormat::Vmdk => "VMDK",
        }
    }

    /// The format a `--disks` spec names (`qcow2`, `vhd`, `vpc`, …), if we know it.
    pub fn from_spec_name(name: &str) -> Option<ImageFormat> {
        Some(match name.to_ascii_lowercase().as_str() {
            "raw" | "aio" => ImageFormat::Raw,
            "qcow2" => ImageFormat::Qcow2,
            "qcow" => ImageFormat::Qcow,
            "qed" => ImageFormat::Qed,
            "vdi" => ImageFormat::Vdi,
            "vhd" | "vpc" => ImageFormat::Vhd,
            "vhdx" => ImageFormat::Vhdx,
            "vmdk" => ImageFormat::Vmdk,
            _ => return None,
        })
    }

    /// The refusal for a format we recognise but do not read.
    pub fn unsupported(self, path: &std::path::Path) -> DiskError {
        DiskError::Unsupported {
            path: path.to_owned(),
            format: self.name(),
        }
    }
}

/// Bytes probed at the start and at the end of an image.
pub const PROBE_BYTES: usize = 512;

/// `QFI\xfb`: qcow and qcow2 (the version field tells them apart).
const QCOW_MAGIC: &[u8; 4] = b"QFI\xfb";

/// What the image looks like, from its first bytes (`head`, up to [`PROBE_BYTES`]) and its
/// last 512 (`tail`, for a VHD footer). Anything unrecognised is raw. Never fails: a qcow2
/// header with a bad version is still qcow2, and its reader says what is wrong.
pub fn sniff(head: &[u8], tail: &[u8]) -> ImageFormat {
    if let Some(rest) = head.strip_prefix(QCOW_MAGIC) {
        return match rest.get(..4) {
            Some([0, 0, 0, 1]) => ImageFormat::Qcow,
            _ => ImageFormat::Qcow2,
        };
    }
    let starts = |m: &[u8]| head.starts_with(m);
    if starts(b"QED\0") {
        ImageFormat::Qed
    } else if starts(b"vhdxfile") {
        ImageFormat::Vhdx
    } else if starts(b"KDMV") || starts(b"COWD") || starts(b"# Disk DescriptorFile") {
        ImageFormat::Vmdk
    } else if head.get(0x40..0x44) == Some(&[0x7f, 0x10, 0xda, 0xbe]) {
        ImageFormat::Vdi
    } else if starts(b"conectix") || vhd_footer(tail) {
        ImageFormat::Vhd
    } else {
        ImageFormat::Raw
    }
}

/// A VHD footer (`conectix`) in the last 512 bytes, or 511 for images written by old
/// Virtual PC versions.
fn vhd_footer(tail: &[u8]) -> bool {
    let at = |from_end: usize| {
        tail.len()
            .checked_sub(from_end)
            .and_then(|s| tail.get(s..))
            .is_some_and(|t| t.starts_with(b"conectix"))
    };
    at(512) || at(511)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_every_magic() {
        let mut vdi = vec![0u8; 512];
        vdi[0x40..0x44].copy_from_slice(&0xbeda107fu32.to_le_bytes());
        let mut footer = vec![0u8; 512];
        footer[..8].copy_from_slice(b"conectix");
        let cases: Vec<(&[u8], &[u8], ImageFormat)> = vec![
            (b"QFI\xfb\0\0\0\x03", b"", ImageFormat::Qcow2),
            (b"QFI\xfb\0\0\0\x02", b"", ImageFormat::Qcow2),
            (b"QFI\xfb\0\0\0\x09", b"", ImageFormat::Qcow2),
            (b"QFI\xfb\0\0\0\x01", b"", ImageFormat::Qcow),
            (b"QFI\xfb", b"", ImageFormat::Qcow2),
            (b"QED\0", b"", ImageFormat::Qed),
            (b"vhdxfile", b"", ImageFormat::Vhdx),
            (b"KDMV\x01", b"", ImageFormat::Vmdk),
            (b"# Disk DescriptorFile\nversion=1", b"", ImageFormat::Vmdk),
            (&vdi, b"", ImageFormat::Vdi),
            (b"conectix", b"", ImageFormat::Vhd),
            (b"\xeb\x63\x90", &footer, ImageFormat::Vhd),
            (b"\xeb\x63\x90", &footer[1..], ImageFormat::Raw),
            (b"", b"", ImageFormat::Raw),
            (b"QFI", b"", ImageFormat::Raw),
        ];
        for (head, tail, want) in cases {
            assert_eq!(sniff(head, tail), want, "{head:?}");
        }
        let mut old = vec![0u8; 600];
        old[600 - 511..600 - 503].copy_from_slice(b"conectix");
        assert_eq!(sniff(b"", &old), ImageFormat::Vhd);
    }

    #[test]
    fn spec_names() {
        assert_eq!(ImageFormat::from_spec_name("vpc"), Some(ImageFormat::Vhd));
        assert_eq!(
            ImageFormat::from_spec_name("QCOW2"),
            Some(ImageFormat::Qcow2)
        );
        assert_eq!(ImageFormat::from_spec_name("foo"), None);
        assert_eq!(
            ImageFormat::Vmdk
                .unsupported(std::path::Path::new("/x.vmdk"))
                .to_string(),
            "/x.vmdk: VMDK image (unsupported; convert with qemu-img)"
        );
    }
}
