#![no_main]
//! Boot menu parsers (grub2, grub-legacy, extlinux, BLS) and the version ordering.
use domuloader::config::{self, bls, version, ConfigKind};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for kind in [ConfigKind::Grub2, ConfigKind::GrubLegacy, ConfigKind::Extlinux] {
        if let Ok(menu) = config::parse(kind, data) {
            let _ = config::list_pygrub_style(&menu);
            if let Some(e) = menu.entries.first() {
                let _ = config::resolve_path(kind, b"/boot/grub/grub.cfg", &e.kernel);
                if let Some(h) = &e.device_hint {
                    let _ = config::parse_device_hint(kind, h);
                }
            }
        }
    }
    if let Ok(e) = bls::parse_entry(data) {
        let _ = bls::menu_from_entries(vec![("a.conf".into(), e.clone()), ("b.conf".into(), e)]);
    }
    let names: Vec<Vec<u8>> = data.split(|&b| b == b'\n').map(<[u8]>::to_vec).collect();
    let _ = version::newest_kernel(&names);
});
