//! Name matching in casefolded directories (`chattr +F`, feature `casefold`), as the kernel
//! matches them (`generic_ci_match`): when both names are valid UTF-8 they match if their
//! NFD + full case folding (the kernel's utf8 `nfdicf` tables, CaseFolding.txt statuses C
//! and F) are equal; a name that is not valid UTF-8 matches only itself, byte for byte.
//!
//! The folding is the `caseless` crate's canonical caseless key, NFD(fold(NFD(name))),
//! pinned (`=0.2.2`, Unicode 16 tables with `unicode-normalization`); the kernel's tables
//! are Unicode 12.1, so the two differ only on case pairs added to Unicode after 12.1. The
//! matrix test checks it against e2fsprogs' copy of the kernel tables (e2fsck renames names
//! that fold alike: ß/SS, ﬃ/FFI, precomposed/decomposed é, Ohm sign/omega, ǅ/ǆ/Ǆ).
//! Work is bounded: names are at most 255 bytes, and NFD and full folding expand each
//! character to a few at most.

use caseless::Caseless;
use unicode_normalization::UnicodeNormalization;

/// `s_encoding` value of the only encoding the kernel defines (`EXT4_ENC_UTF8_12_1`).
pub(crate) const ENCODING_UTF8: u16 = 1;

/// The key two names must share to match in a casefolded directory; `None` for a name that
/// is not valid UTF-8 (it then matches only byte-identical names).
pub fn key(name: &[u8]) -> Option<String> {
    let s = std::str::from_utf8(name).ok()?;
    Some(s.chars().nfd().default_case_fold().nfd().collect())
}

/// Whether directory entry `entry` matches the looked-up name, given the name's [`key`].
pub fn matches(name: &[u8], name_key: Option<&str>, entry: &[u8]) -> bool {
    if name == entry {
        return true;
    }
    match (name_key, key(entry)) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pairs that e2fsck 1.47.0 (`-fD` on a casefolded directory) treats as duplicates.
    #[test]
    fn folds_like_the_kernel_tables() {
        for (a, b) in [
            ("Straße.txt", "STRASSE.TXT"),
            ("ﬃx.txt", "FFIX.txt"),
            ("école.txt", "ÉCOLE.txt"),
            ("e\u{301}cole.txt", "école.txt"),
            ("\u{2126}.txt", "ω.txt"),
            ("ǅemo.txt", "ǆEMO.txt"),
            ("MiXeD", "mixed"),
        ] {
            assert!(
                matches(a.as_bytes(), key(a.as_bytes()).as_deref(), b.as_bytes()),
                "{a} {b}"
            );
        }
        for (a, b) in [("a", "b"), ("strase", "straße"), ("e", "é")] {
            assert!(
                !matches(a.as_bytes(), key(a.as_bytes()).as_deref(), b.as_bytes()),
                "{a} {b}"
            );
        }
    }

    #[test]
    fn invalid_utf8_matches_only_itself() {
        let bad = b"A\xff";
        assert!(key(bad).is_none());
        assert!(matches(bad, None, bad));
        assert!(!matches(bad, None, b"a\xff"));
        assert!(!matches(b"a", key(b"a").as_deref(), b"A\xff"));
    }
}
