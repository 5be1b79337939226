#![no_main]
//! ext casefold name matching (the pinned `caseless` + `unicode-normalization` crates):
//! two names of at most 255 bytes; no panic, and matching is reflexive and symmetric.
use domuloader::fs::ext::casefold::{key, matches};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let split = usize::from(*data.first().unwrap_or(&0));
    let rest = data.get(1..).unwrap_or_default();
    let (a, b) = rest.split_at(split.min(rest.len()));
    let (a, b) = (&a[..a.len().min(255)], &b[..b.len().min(255)]);
    let (ka, kb) = (key(a), key(b));
    assert!(matches(a, ka.as_deref(), a));
    assert_eq!(matches(a, ka.as_deref(), b), matches(b, kb.as_deref(), a));
});
