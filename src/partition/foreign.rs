//! Disk labels we recognise but do not read. Refusing them by name beats reading such a
//! disk as one unpartitioned filesystem and failing later with "no filesystem". Only
//! labels with an unambiguous magic are listed (libfdisk reads SGI, Sun and BSD; Linux
//! also Apple's map); Atari and DASD tables have none and come out as unpartitioned, as
//! they do for sfdisk.

use super::PartitionError;
use crate::disk::Disk;

/// The label's name, if the first two sectors carry one we know.
pub(super) fn detect(disk: &Disk) -> Result<Option<&'static str>, PartitionError> {
    let len = usize::try_from(disk.size().min(1024)).unwrap_or(1024);
    let mut head = vec![0u8; len];
    disk.read_exact_at(0, &mut head)?;
    Ok(classify(&head))
}

fn classify(head: &[u8]) -> Option<&'static str> {
    let at = |o: usize, m: &[u8]| head.get(o..o + m.len()) == Some(m);
    // SGI volume header: big-endian 0x0BE5A941 at byte 0.
    if at(0, &[0x0b, 0xe5, 0xa9, 0x41]) {
        return Some("SGI disk label");
    }
    // Sun label: big-endian 0xDABE at byte 508.
    if at(508, &[0xda, 0xbe]) {
        return Some("Sun disk label");
    }
    // BSD disklabel in sector 1: d_magic and d_magic2 (0x82564557, little-endian).
    let bsd = [0x57, 0x45, 0x56, 0x82];
    if at(512, &bsd) && at(512 + 132, &bsd) {
        return Some("BSD disklabel");
    }
    // Apple partition map: driver descriptor "ER", first map entry "PM" in sector 1.
    if at(0, b"ER") && at(512, b"PM") {
        return Some("Apple partition map");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magics() {
        let mut h = vec![0u8; 1024];
        assert_eq!(classify(&h), None);
        h[..4].copy_from_slice(&[0x0b, 0xe5, 0xa9, 0x41]);
        assert_eq!(classify(&h), Some("SGI disk label"));
        let mut h = vec![0u8; 1024];
        h[512..516].copy_from_slice(&[0x57, 0x45, 0x56, 0x82]);
        assert_eq!(classify(&h), None, "one BSD magic is not enough");
        h[644..648].copy_from_slice(&[0x57, 0x45, 0x56, 0x82]);
        assert_eq!(classify(&h), Some("BSD disklabel"));
        let mut h = vec![0u8; 600];
        h[..2].copy_from_slice(b"ER");
        h[512..514].copy_from_slice(b"PM");
        assert_eq!(classify(&h), Some("Apple partition map"));
        assert_eq!(
            classify(b"ER"),
            None,
            "short disks are not read past their end"
        );
    }
}
