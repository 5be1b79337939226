//! CRC32C (Castagnoli), the checksum of ext4 metadata and jbd2 journals. ext4 stores the
//! raw register (seed `!0`, no final inversion), which is what [`crc32c`] returns.

const fn table() -> [u32; 256] {
    let mut t = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                (c >> 1) ^ 0x82F6_3B78
            } else {
                c >> 1
            };
            k += 1;
        }
        t[i] = c;
        i += 1;
    }
    t
}

static TABLE: [u32; 256] = table();

/// Continues a CRC32C register `crc` over `data` (ext4's `ext4_chksum`).
pub(crate) fn crc32c(mut crc: u32, data: &[u8]) -> u32 {
    for &b in data {
        let idx = usize::from((crc as u8) ^ b);
        crc = (crc >> 8) ^ TABLE[idx]; // idx < 256: a u8
    }
    crc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_standard_check_value() {
        // The CRC-32C check value is defined with a final inversion.
        assert_eq!(!crc32c(!0, b"123456789"), 0xE306_9283);
    }
}
