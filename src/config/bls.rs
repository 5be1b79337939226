//! Boot Loader Specification type #1 entries (`/loader/entries/*.conf`, Fedora/RHEL's
//! default, also what grub's `blscfg` reads): one entry per file, `key value` lines.
//!
//! Keys used: `title`, `version`, `machine-id`, `sort-key`, `linux`, `initrd` (repeatable,
//! and like grub's blscfg several paths per line), `options` (repeatable, joined by a
//! space). Others (`devicetree`, `architecture`, `efi`, `grub_*`) are ignored. Entries
//! without `linux` are dropped, as systemd-boot and grub's blscfg do. `initrd` words that
//! are grub variables (`$tuned_initrd`) are dropped; `options` stay verbatim (expand
//! `$kernelopts` with [`super::expand_vars`] and grubenv).
//!
//! Order is systemd-boot's (`boot_entry_compare`): entries with no boot tries left last;
//! entries with a `sort-key` before those without; among those with one: `sort-key`
//! ascending, `machine-id` ascending, `version` newest first; then the file id newest first
//! (all "newest" by [`super::version::compare_versions`]); then more tries left first.
//! The default is the first entry.

use super::version::compare_versions;
use super::{push_entry, ConfigError, ConfigKind, Menu, MenuEntry};
use crate::limits::MAX_MENU_ENTRY_BYTES;
use std::cmp::Ordering;

/// One parsed entry file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BlsEntry {
    pub title: Option<String>,
    pub version: Option<String>,
    pub machine_id: Option<String>,
    pub sort_key: Option<String>,
    /// Path of the kernel, relative to the root of the filesystem holding the entry.
    pub linux: Vec<u8>,
    pub initrd: Vec<Vec<u8>>,
    pub options: String,
}

/// Parses one `*.conf` entry file (capped at [`crate::limits::MAX_CONFIG_BYTES`]).
pub fn parse_entry(bytes: &[u8]) -> Result<BlsEntry, ConfigError> {
    super::check_size(bytes)?;
    let mut e = BlsEntry::default();
    for line in bytes.split(|&c| c == b'\n') {
        let line = line.trim_ascii();
        if line.is_empty() || line.first() == Some(&b'#') {
            continue;
        }
        let end = line
            .iter()
            .position(|c| c.is_ascii_whitespace())
            .unwrap_or(line.len());
        let (key, value) = line.split_at(end);
        let value = value.trim_ascii();
        let text = || Some(String::from_utf8_lossy(value).into_owned());
        match key {
            b"title" => e.title = text(),
            b"version" => e.version = text(),
            b"machine-id" => e.machine_id = text(),
            b"sort-key" => e.sort_key = text(),
            b"linux" => e.linux = value.to_vec(),
            b"initrd" => e.initrd.extend(
                value
                    .split(|c| c.is_ascii_whitespace())
                    .filter(|w| !w.is_empty() && !w.starts_with(b"$"))
                    .map(<[u8]>::to_vec),
            ),
            b"options" => {
                if !e.options.is_empty() {
                    e.options.push(' ');
                }
                e.options.push_str(&String::from_utf8_lossy(value));
            }
            _ => {}
        }
    }
    let opt = |s: &Option<String>| s.as_ref().map_or(0, String::len);
    let bytes = [
        opt(&e.title),
        opt(&e.version),
        opt(&e.machine_id),
        opt(&e.sort_key),
        e.linux.len(),
        e.options.len(),
    ]
    .into_iter()
    .chain(e.initrd.iter().map(Vec::len))
    .fold(0usize, usize::saturating_add);
    if bytes > MAX_MENU_ENTRY_BYTES {
        // Callers hold many entries at once (one per file): keep each small.
        return Err(ConfigError::EntryTooLarge {
            index: 0,
            max: MAX_MENU_ENTRY_BYTES,
        });
    }
    Ok(e)
}

/// The entry id systemd-boot and grub's `saved_entry` use: the file name without `.conf`
/// and without a boot-counting suffix (`+LEFT[-DONE]`), plus those counters.
pub fn entry_id(file_name: &str) -> (String, Option<u64>, Option<u64>) {
    let stem = file_name.strip_suffix(".conf").unwrap_or(file_name);
    if let Some((id, counter)) = stem.rsplit_once('+') {
        let (left, done) = counter.split_once('-').unwrap_or((counter, ""));
        let num = |s: &str| super::parse_index(s).and_then(|n| u64::try_from(n).ok());
        if let Some(l) = num(left) {
            let done = if done.is_empty() { Some(0) } else { num(done) };
            if let Some(d) = done {
                return (id.to_owned(), Some(l), Some(d));
            }
        }
    }
    (stem.to_owned(), None, None)
}

/// Sorts `(file name, entry)` pairs into systemd-boot's menu order (see the module doc).
pub fn sort_bls(entries: &mut [(String, BlsEntry)]) {
    entries.sort_by(|(fa, a), (fb, b)| compare(fa, a, fb, b).then_with(|| fa.cmp(fb)));
}

fn compare(fa: &str, a: &BlsEntry, fb: &str, b: &BlsEntry) -> Ordering {
    let (ida, left_a, done_a) = entry_id(fa);
    let (idb, left_b, done_b) = entry_id(fb);
    let newest_first = |x: Option<&String>, y: Option<&String>| {
        compare_versions(y.map_or("", |s| s.as_str()), x.map_or("", |s| s.as_str()))
    };
    let exhausted = (left_a == Some(0)).cmp(&(left_b == Some(0)));
    let keyed = a.sort_key.is_none().cmp(&b.sort_key.is_none());
    let by_key = || match (&a.sort_key, &b.sort_key) {
        (Some(ka), Some(kb)) => ka
            .as_bytes()
            .cmp(kb.as_bytes())
            .then_with(|| a.machine_id.cmp(&b.machine_id))
            .then_with(|| newest_first(a.version.as_ref(), b.version.as_ref())),
        _ => Ordering::Equal,
    };
    let tries = || match (left_a, left_b) {
        (Some(la), Some(lb)) => lb.cmp(&la).then(done_a.cmp(&done_b)),
        _ => Ordering::Equal,
    };
    exhausted
        .then(keyed)
        .then_with(by_key)
        .then_with(|| compare_versions(&idb, &ida))
        .then_with(tries)
}

/// Builds the menu from entry files (`(file name, entry)`): entries without `linux`
/// dropped, systemd-boot's order, default 0. Titles fall back to the entry id.
pub fn menu_from_entries(mut entries: Vec<(String, BlsEntry)>) -> Result<Menu, ConfigError> {
    entries.retain(|(_, e)| !e.linux.is_empty());
    sort_bls(&mut entries);
    let mut menu = Menu::new(ConfigKind::Bls);
    for (name, e) in entries {
        let (id, _, _) = entry_id(&name);
        let id = (!id.is_empty()).then_some(id);
        let title = e.title.or_else(|| id.clone()).unwrap_or_default();
        let entry = MenuEntry {
            title,
            kernel: e.linux,
            initrd: e.initrd,
            args: e.options,
            id,
            ..MenuEntry::default()
        };
        push_entry(&mut menu.entries, entry)?;
    }
    Ok(menu)
}

/// grub's `blscfg` puts each entry's `options` on its `linux` line, where grub substitutes
/// variables (`$kernelopts` from grubenv on Fedora 30-33, `$tuned_params`) at boot. This
/// does the same substitution with `env` (unset names become empty) and nothing else.
/// systemd-boot does no substitution: call it only for entries read through `blscfg`.
pub fn expand_options(menu: &mut Menu, env: &[(String, String)]) -> Result<(), ConfigError> {
    for e in &mut menu.entries {
        if e.args.contains('$') {
            e.args = super::expand_vars(&e.args, env)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_expand_like_grub_blscfg() {
        let entry = |opts: &str| {
            let b = format!("title t\nlinux /vmlinuz\noptions {opts}\n");
            parse_entry(b.as_bytes()).unwrap()
        };
        let mut m = menu_from_entries(vec![
            ("a-1.conf".into(), entry("$kernelopts $tuned_params")),
            ("a-2.conf".into(), entry("root=/dev/xvda1 ro")),
        ])
        .unwrap();
        let env = vec![
            ("kernelopts".to_owned(), "root=UUID=x ro quiet".to_owned()),
            ("x".to_owned(), "$(halt)".to_owned()),
        ];
        expand_options(&mut m, &env).unwrap();
        let args: Vec<&str> = m.entries.iter().map(|e| e.args.as_str()).collect();
        assert_eq!(args, ["root=/dev/xvda1 ro", "root=UUID=x ro quiet"]);
        let big = vec![(
            "kernelopts".to_owned(),
            "y".repeat(crate::limits::MAX_MENU_ENTRY_BYTES),
        )];
        let mut m =
            menu_from_entries(vec![("b.conf".into(), entry("$kernelopts $kernelopts"))]).unwrap();
        assert!(matches!(
            expand_options(&mut m, &big),
            Err(ConfigError::ExpansionTooLarge { .. })
        ));
    }

    fn e(version: &str, sort_key: Option<&str>, machine: Option<&str>) -> BlsEntry {
        BlsEntry {
            version: Some(version.into()),
            sort_key: sort_key.map(Into::into),
            machine_id: machine.map(Into::into),
            linux: b"/vmlinuz".to_vec(),
            ..BlsEntry::default()
        }
    }

    fn order(mut v: Vec<(String, BlsEntry)>) -> Vec<String> {
        sort_bls(&mut v);
        v.into_iter().map(|(n, _)| n).collect()
    }

    #[test]
    fn parse_keys() {
        let b = b"# c\ntitle  Fedora  Linux \nversion 6.5.6\nmachine-id abc\nsort-key fedora\n\
            linux /abc/6.5.6/linux\ninitrd /abc/6.5.6/initrd $tuned_initrd /ucode.img\ninitrd /extra\n\
            options root=UUID=x ro\noptions quiet\narchitecture x64\nbogus\n";
        let p = parse_entry(b).unwrap();
        assert_eq!(p.title.as_deref(), Some("Fedora  Linux"));
        assert_eq!(p.version.as_deref(), Some("6.5.6"));
        assert_eq!(p.machine_id.as_deref(), Some("abc"));
        assert_eq!(p.sort_key.as_deref(), Some("fedora"));
        assert_eq!(p.linux, b"/abc/6.5.6/linux");
        assert_eq!(
            p.initrd,
            [&b"/abc/6.5.6/initrd"[..], b"/ucode.img", b"/extra"]
        );
        assert_eq!(p.options, "root=UUID=x ro quiet");
    }

    #[test]
    fn oversized_entry_is_refused() {
        let big = format!("linux /k\noptions {}\n", "o".repeat(MAX_MENU_ENTRY_BYTES));
        assert!(matches!(
            parse_entry(big.as_bytes()),
            Err(ConfigError::EntryTooLarge { .. })
        ));
    }

    #[test]
    fn ids_and_boot_counting() {
        assert_eq!(entry_id("a-6.1.conf"), ("a-6.1".into(), None, None));
        assert_eq!(
            entry_id("a-6.1+3-1.conf"),
            ("a-6.1".into(), Some(3), Some(1))
        );
        assert_eq!(entry_id("a+0.conf"), ("a".into(), Some(0), Some(0)));
        assert_eq!(entry_id("a+x.conf"), ("a+x".into(), None, None));
        assert_eq!(entry_id("noconf"), ("noconf".into(), None, None));
    }

    #[test]
    fn systemd_boot_order() {
        let v = vec![
            ("m-5.0.conf".to_owned(), e("5.0", None, None)),
            ("m-6.10.conf".to_owned(), e("6.10", None, None)),
            ("m-6.9.conf".to_owned(), e("6.9", None, None)),
            ("b-1.conf".to_owned(), e("1", Some("b"), Some("m"))),
            ("a-1.conf".to_owned(), e("1", Some("a"), Some("m"))),
            ("a-2.conf".to_owned(), e("2", Some("a"), Some("m"))),
            ("a-3.conf".to_owned(), e("3", Some("a"), Some("n"))),
            ("z+0-3.conf".to_owned(), e("99", Some("a"), Some("m"))),
        ];
        assert_eq!(
            order(v),
            [
                "a-2.conf",
                "a-1.conf",
                "a-3.conf",
                "b-1.conf",
                "m-6.10.conf",
                "m-6.9.conf",
                "m-5.0.conf",
                "z+0-3.conf"
            ]
        );
    }

    #[test]
    fn more_tries_left_first_then_fewer_done() {
        let v = vec![
            ("k+1-2.conf".to_owned(), e("1", None, None)),
            ("k+2-1.conf".to_owned(), e("1", None, None)),
            ("k+2-0.conf".to_owned(), e("1", None, None)),
        ];
        assert_eq!(order(v), ["k+2-0.conf", "k+2-1.conf", "k+1-2.conf"]);
    }

    #[test]
    fn menu_drops_entries_without_linux_and_titles_fall_back() {
        let mut no_title = e("1", None, None);
        no_title.options = "ro".into();
        let v = vec![
            ("x.conf".to_owned(), no_title),
            ("y.conf".to_owned(), BlsEntry::default()),
        ];
        let m = menu_from_entries(v).unwrap();
        assert_eq!(m.entries.len(), 1);
        assert_eq!(m.entries[0].title, "x");
        assert_eq!(m.entries[0].id.as_deref(), Some("x"));
        assert_eq!(m.entries[0].args, "ro");
        assert_eq!(m.kind, ConfigKind::Bls);
    }
}
