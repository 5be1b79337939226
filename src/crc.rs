//! The table-driven reflected CRC-32s the on-disk formats use, as raw registers (the caller
//! seeds and, where its format does, inverts): CRC-32C (Castagnoli) for ext4, jbd2, XFS and
//! btrfs metadata; the IEEE CRC-32 polynomial for LVM2's labels and metadata areas.

/// The 256-entry table of a reflected CRC-32 with polynomial `poly`.
const fn table(poly: u32) -> [u32; 256] {
    let mut t = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 { (c >> 1) ^ poly } else { c >> 1 };
            k += 1;
        }
        t[i] = c;
        i += 1;
    }
    t
}

static CASTAGNOLI: [u32; 256] = table(0x82F6_3B78);
static IEEE: [u32; 256] = table(0xEDB8_8320);

fn update(table: &[u32; 256], mut crc: u32, data: &[u8]) -> u32 {
    for &b in data {
        let idx = usize::from((crc as u8) ^ b);
        crc = (crc >> 8) ^ table[idx]; // idx < 256: a u8
    }
    crc
}

/// Continues a CRC-32C register `crc` over `data` (ext4's `ext4_chksum`; ext4 and jbd2
/// store the register as is, seeded `!0`; XFS and btrfs invert it).
pub(crate) fn crc32c(crc: u32, data: &[u8]) -> u32 {
    update(&CASTAGNOLI, crc, data)
}

/// Continues an IEEE CRC-32 register `crc` over `data`, no inversion (LVM2's `calc_crc`).
pub(crate) fn crc32(crc: u32, data: &[u8]) -> u32 {
    update(&IEEE, crc, data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn match_the_standard_check_values() {
        // Both check values are defined with a seed of !0 and a final inversion.
        assert_eq!(!crc32c(!0, b"123456789"), 0xE306_9283);
        assert_eq!(!crc32(!0, b"123456789"), 0xCBF4_3926);
    }
}
