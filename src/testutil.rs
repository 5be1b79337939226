//! Helpers shared by unit tests.

/// Deterministic noise (xorshift) over an alphabet of the characters a grammar cares about:
/// cheap, reproducible inputs for "never panics" tests of the text parsers.
pub fn noise(seed: u64, len: usize, alphabet: &[u8]) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            alphabet[(x % alphabet.len() as u64) as usize]
        })
        .collect()
}
