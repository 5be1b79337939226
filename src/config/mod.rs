//! Boot configuration menus (grub2, grub-legacy, extlinux, BLS): pure parsers that never
//! evaluate guest text, the menu model they share, and the helpers the CLI needs around it
//! (where to look, choosing an entry, pygrub's `-l` listing). No disk access here: callers
//! read the files (at most [`MAX_CONFIG_BYTES`] each) and hand over the bytes.
//!
//! Guest text is data. Variables (`$root`, `${saved_entry}`) are never evaluated: a default
//! that needs one falls back to entry 0 (pygrub's rule), kernel arguments keep them verbatim
//! unless the caller expands them from a grubenv with [`expand_vars`], which substitutes and
//! nothing else.

pub mod bls;
pub mod extlinux;
pub mod grub2;
pub mod grub_legacy;
pub mod version;

use crate::limits::{MAX_CONFIG_BYTES, MAX_MENU_ENTRIES, MAX_MENU_ENTRY_BYTES};
use serde::Serialize;
use std::fmt::Write as _;

/// Which boot loader wrote a configuration file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ConfigKind {
    Grub2,
    GrubLegacy,
    Extlinux,
    Bls,
}

/// One bootable (or, for a faithful index, non-bootable) menu entry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MenuEntry {
    /// The title as a menu shows it: grub `menuentry`/`title`, extlinux `label` name
    /// (pygrub's choice, and what extlinux `default` names), BLS `title`.
    pub title: String,
    /// Guest path as written, after stripping a `(hdX,Y)`/`($root)` device prefix. Empty when
    /// the entry loads no Linux kernel (`fwsetup`, `localboot`, a `.c32` module, multiboot).
    /// Relative only for extlinux: see [`resolve_path`].
    #[serde(serialize_with = "ser_path")]
    pub kernel: Vec<u8>,
    /// Every initrd, in load order (grub2 and BLS can list several).
    #[serde(serialize_with = "ser_paths")]
    pub initrd: Vec<Vec<u8>>,
    /// Kernel command line as written (variables not expanded; extlinux `initrd=` removed).
    pub args: String,
    /// Device the paths are on, as the config names it, e.g. `(hd0,msdos1)`; decode it with
    /// [`parse_device_hint`]. `None` means "the filesystem holding the config" (pygrub).
    pub device_hint: Option<String>,
    /// grub2 `--id`, BLS file id (name without `.conf` and boot counter): what grubenv's
    /// `saved_entry` names.
    pub id: Option<String>,
    /// Titles of the enclosing grub2 submenus / extlinux `menu begin` blocks, outermost
    /// first. The menu itself is flat (pygrub's numbering).
    pub submenu: Vec<String>,
}

impl MenuEntry {
    /// Whether this entry loads a Linux kernel at all.
    pub fn is_bootable(&self) -> bool {
        !self.kernel.is_empty()
    }

    /// Bytes of text this entry holds (what [`MAX_MENU_ENTRY_BYTES`] bounds).
    pub fn text_bytes(&self) -> usize {
        let opt = |s: &Option<String>| s.as_ref().map_or(0, String::len);
        [
            self.title.len(),
            self.kernel.len(),
            self.args.len(),
            opt(&self.device_hint),
            opt(&self.id),
        ]
        .into_iter()
        .chain(self.initrd.iter().map(Vec::len))
        .chain(self.submenu.iter().map(String::len))
        .fold(0usize, usize::saturating_add)
    }
}

/// A parsed menu: entries flattened in file order (submenus inlined, pygrub's numbering).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Menu {
    pub kind: ConfigKind,
    pub entries: Vec<MenuEntry>,
    /// Index into `entries` of the entry booted without user choice (0 when unresolvable).
    pub default: usize,
    /// The default as written (`set default=`, `default`), kept so [`Menu::insert_bls`] can
    /// re-resolve it; `None` when the file sets none.
    pub default_spec: Option<String>,
    /// grub2 `blscfg`: the position in `entries` where grub inserts the BLS entries. The
    /// caller reads [`BLS_DIRS`] and calls [`Menu::insert_bls`].
    pub blscfg: Option<usize>,
    /// `include`/`source`/`configfile` targets, as written. Not followed (see module doc of
    /// each parser); listed so a caller can report or follow them.
    #[serde(serialize_with = "ser_paths")]
    pub includes: Vec<Vec<u8>>,
    /// grub2 literal assignments (`set name=value` without `$`), last one wins, sorted by
    /// name: a fallback environment for [`expand_vars`] (e.g. `kernelopts`).
    #[serde(skip)]
    pub env: Vec<(String, String)>,
}

impl Menu {
    pub(crate) fn new(kind: ConfigKind) -> Menu {
        Menu {
            kind,
            entries: Vec::new(),
            default: 0,
            default_spec: None,
            blscfg: None,
            includes: Vec::new(),
            env: Vec::new(),
        }
    }

    /// The default entry, if the menu has any.
    pub fn default_entry(&self) -> Option<&MenuEntry> {
        self.entries.get(self.default)
    }

    /// pygrub's `--entry=N|TITLE`: a decimal index into the flat menu, else the first entry
    /// whose title or id equals `sel`, else a `>`-path `Sub>…>Entry` (submenu titles, then
    /// the entry's title or id), else that path's leaf alone (pygrub's fallback). `None` when
    /// nothing matches: the caller should fail rather than boot something else.
    pub fn find(&self, sel: &str) -> Option<usize> {
        if let Some(n) = parse_index(sel) {
            return (n < self.entries.len()).then_some(n);
        }
        let by_name = |e: &MenuEntry, s: &str| e.title == s || e.id.as_deref() == Some(s);
        if let Some(i) = self.entries.iter().position(|e| by_name(e, sel)) {
            return Some(i);
        }
        let path: Vec<&str> = sel.split('>').collect();
        let (leaf, subs) = path.split_last()?;
        if subs.is_empty() {
            return None;
        }
        let full = self.entries.iter().position(|e| {
            by_name(e, leaf)
                && e.submenu.len() == subs.len()
                && e.submenu.iter().zip(subs).all(|(t, s)| t == s)
        });
        full.or_else(|| self.entries.iter().position(|e| by_name(e, leaf)))
    }

    /// Inserts BLS entries (from [`bls::menu_from_entries`]) where grub's `blscfg` ran (at
    /// the end when it did not) and re-resolves the default against the merged menu, as grub
    /// does: a numeric default counts BLS entries too.
    pub fn insert_bls(&mut self, bls: Menu) -> Result<(), ConfigError> {
        let total = self.entries.len().saturating_add(bls.entries.len());
        if total > MAX_MENU_ENTRIES {
            return Err(ConfigError::TooManyEntries {
                max: MAX_MENU_ENTRIES,
            });
        }
        let at = self
            .blscfg
            .unwrap_or(self.entries.len())
            .min(self.entries.len());
        self.entries.splice(at..at, bls.entries);
        self.blscfg = None;
        self.default = self.resolve_spec();
        Ok(())
    }

    /// Flat-menu resolution of `default_spec` (index, title, id, `>`-path); 0 otherwise.
    pub(crate) fn resolve_spec(&self) -> usize {
        match self.default_spec.as_deref() {
            Some(s) if !is_saved_or_variable(s) => self.find(s).unwrap_or(0),
            _ => 0,
        }
    }
}

/// Why a configuration could not be parsed. Unknown or malformed lines are skipped, never
/// an error: only limits that protect dom0 fail a parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("boot configuration is {len} bytes, over the {max}-byte cap")]
    TooLarge { len: usize, max: u64 },
    #[error("boot configuration has more than {max} menu entries")]
    TooManyEntries { max: usize },
    #[error("boot menu entry {index} holds more than {max} bytes of text")]
    EntryTooLarge { index: usize, max: usize },
    #[error("kernel arguments grow past {max} bytes when variables are expanded")]
    ExpansionTooLarge { max: usize },
}

/// Parses one configuration file of `kind`. `bytes` over [`MAX_CONFIG_BYTES`] are refused.
/// For `Bls`, `bytes` is one `loader/entries/*.conf` file (an entry without `linux` yields an
/// empty menu); use [`bls::menu_from_entries`] for a directory.
pub fn parse(kind: ConfigKind, bytes: &[u8]) -> Result<Menu, ConfigError> {
    check_size(bytes)?;
    match kind {
        ConfigKind::Grub2 => grub2::parse(bytes),
        ConfigKind::GrubLegacy => grub_legacy::parse(bytes),
        ConfigKind::Extlinux => extlinux::parse(bytes),
        ConfigKind::Bls => bls::menu_from_entries(vec![(String::new(), bls::parse_entry(bytes)?)]),
    }
}

pub(crate) fn check_size(bytes: &[u8]) -> Result<(), ConfigError> {
    let too_big = u64::try_from(bytes.len()).map_or(true, |n| n > MAX_CONFIG_BYTES);
    if too_big {
        return Err(ConfigError::TooLarge {
            len: bytes.len(),
            max: MAX_CONFIG_BYTES,
        });
    }
    Ok(())
}

pub(crate) fn push_entry(entries: &mut Vec<MenuEntry>, e: MenuEntry) -> Result<(), ConfigError> {
    if entries.len() >= MAX_MENU_ENTRIES {
        return Err(ConfigError::TooManyEntries {
            max: MAX_MENU_ENTRIES,
        });
    }
    if e.text_bytes() > MAX_MENU_ENTRY_BYTES {
        return Err(ConfigError::EntryTooLarge {
            index: entries.len(),
            max: MAX_MENU_ENTRY_BYTES,
        });
    }
    entries.push(e);
    Ok(())
}

/// Where pygrub looks, first found wins (compat.md §5), then isolinux/syslinux configs of
/// installer and live ISOs (ours; after pygrub's, so every menu pygrub finds is ours too). BLS ([`BLS_DIRS`]) is ours: read it
/// when a grub2 config says `blscfg`, or when none of these exists.
pub fn search_paths() -> &'static [(&'static [u8], ConfigKind)] {
    use ConfigKind::*;
    const PATHS: &[(&[u8], ConfigKind)] = &[
        (b"/boot/grub/grub.cfg", Grub2),
        (b"/grub/grub.cfg", Grub2),
        (b"/boot/grub2/grub.cfg", Grub2),
        (b"/grub2/grub.cfg", Grub2),
        (b"/boot/isolinux/isolinux.cfg", Extlinux),
        (b"/boot/extlinux/extlinux.conf", Extlinux),
        (b"/boot/extlinux.conf", Extlinux),
        (b"/extlinux/extlinux.conf", Extlinux),
        (b"/extlinux.conf", Extlinux),
        (b"/boot/grub/menu.lst", GrubLegacy),
        (b"/boot/grub/grub.conf", GrubLegacy),
        (b"/grub/menu.lst", GrubLegacy),
        (b"/grub/grub.conf", GrubLegacy),
        // Not pygrub's: isolinux/syslinux configs where installer and live ISOs keep them.
        (b"/isolinux/isolinux.cfg", Extlinux),
        (b"/boot/syslinux/syslinux.cfg", Extlinux),
        (b"/syslinux/syslinux.cfg", Extlinux),
    ];
    PATHS
}

/// Boot Loader Specification entry directories (`*.conf`, one entry each), relative to the
/// root of the filesystem that holds them; BLS `linux`/`initrd` paths are relative to it too.
pub const BLS_DIRS: &[&[u8]] = &[b"/loader/entries", b"/boot/loader/entries"];

/// Makes an entry path absolute on the filesystem holding the config at `config_path`:
/// extlinux resolves relative names against the config's directory (syslinux's working
/// directory); grub and BLS paths are already rooted, a missing `/` is added.
pub fn resolve_path(kind: ConfigKind, config_path: &[u8], path: &[u8]) -> Vec<u8> {
    if path.first() == Some(&b'/') {
        return path.to_vec();
    }
    let mut out = match kind {
        ConfigKind::Extlinux => {
            let cut = config_path.iter().rposition(|&c| c == b'/').unwrap_or(0);
            config_path.get(..cut).unwrap_or_default().to_vec()
        }
        _ => Vec::new(),
    };
    out.push(b'/');
    out.extend_from_slice(path);
    out
}

/// A decoded [`MenuEntry::device_hint`]: BIOS disk index and Linux partition number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceHint {
    /// 0 for `hd0` / `/dev/xvda`.
    pub disk: u32,
    /// Linux numbering (1-based; MBR logicals from 5): grub-legacy's 0-based numbers are
    /// shifted, grub2's `msdosN`/`gptN`/`N` are already 1-based. `None`: the whole disk.
    pub partition: Option<u32>,
}

/// Decodes `(hd0,msdos1)`, `(hd1,gpt2)`, `(hd0,0)` (legacy), `(hd0)`, `(/dev/xvda,msdos1)`.
/// `None` for anything else (`(cd)`, network devices, variables).
pub fn parse_device_hint(kind: ConfigKind, hint: &str) -> Option<DeviceHint> {
    let inner = hint.trim().strip_prefix('(')?.strip_suffix(')')?;
    let mut parts = inner.split(',');
    let disk = parse_disk(parts.next()?)?;
    let partition = match parts.next() {
        None => None,
        Some(p) => {
            let digits = p.trim_start_matches(|c: char| c.is_ascii_alphabetic());
            let n = parse_index(digits).and_then(|n| u32::try_from(n).ok())?;
            Some(if kind == ConfigKind::GrubLegacy {
                n.checked_add(1)?
            } else {
                n
            })
        }
    };
    Some(DeviceHint { disk, partition })
}

fn parse_disk(d: &str) -> Option<u32> {
    if let Some(n) = d.strip_prefix("hd") {
        return parse_index(n).and_then(|n| u32::try_from(n).ok());
    }
    let name = d.strip_prefix("/dev/")?;
    let letters = ["xvd", "sd", "hd", "vd"]
        .iter()
        .find_map(|p| name.strip_prefix(p))?;
    match letters.as_bytes() {
        [c @ b'a'..=b'z'] => Some(u32::from(c - b'a')),
        _ => None,
    }
}

/// A decimal index with no sign or spaces (what pygrub and grub accept as an entry number).
pub(crate) fn parse_index(s: &str) -> Option<usize> {
    if s.is_empty() || !s.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// `saved`, empty, or anything naming a variable: grub resolves these at boot from grubenv;
/// pygrub (and we, unless the caller looks grubenv up) take entry 0.
pub(crate) fn is_saved_or_variable(s: &str) -> bool {
    s.is_empty() || s == "saved" || s.contains('$')
}

/// Splits a grub `(device)path` into its device hint and path. `($root)`-style prefixes
/// (variables) are stripped without a hint; an unclosed `(` leaves the word unchanged.
pub(crate) fn strip_device(word: &[u8]) -> (Option<String>, Vec<u8>) {
    if word.first() != Some(&b'(') {
        return (None, word.to_vec());
    }
    let Some(close) = word.iter().position(|&c| c == b')') else {
        return (None, word.to_vec());
    };
    let dev = word.get(..=close).unwrap_or_default();
    let rest = word.get(close + 1..).unwrap_or_default().to_vec();
    let hint = (!dev.contains(&b'$')).then(|| String::from_utf8_lossy(dev).into_owned());
    (hint, rest)
}

/// Substitutes `$name` and `${name}` from `env` (unset: empty; the last binding wins),
/// outside single quotes, and trims the result. Pure text substitution, never evaluation:
/// for BLS `options $kernelopts` with grub's environment block ([`grub2::parse_grubenv`])
/// or [`Menu::env`]. Fails past [`MAX_MENU_ENTRY_BYTES`] (`$a$a$a…` with a large `a`).
pub fn expand_vars(text: &str, env: &[(String, String)]) -> Result<String, ConfigError> {
    let lookup = |name: &str| {
        env.iter()
            .rev()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    };
    let mut out = String::with_capacity(text.len().min(MAX_MENU_ENTRY_BYTES));
    let mut rest = text;
    let mut quoted = false;
    while let Some(c) = rest.chars().next() {
        rest = rest.split_at_checked(c.len_utf8()).map_or("", |(_, r)| r);
        let piece = match (c, quoted) {
            ('$', false) => var_name(rest).map(|(name, after)| {
                rest = after;
                lookup(name)
            }),
            _ => None,
        };
        if c == '\'' {
            quoted = !quoted;
        }
        match piece {
            Some(value) => out.push_str(value),
            None => out.push(c),
        }
        if out.len() > MAX_MENU_ENTRY_BYTES {
            return Err(ConfigError::ExpansionTooLarge {
                max: MAX_MENU_ENTRY_BYTES,
            });
        }
    }
    Ok(out.trim().to_owned())
}

/// The variable name at the start of `s` (just after `$`), `{name}` or `[A-Za-z0-9_]+`,
/// and the text after it.
fn var_name(s: &str) -> Option<(&str, &str)> {
    let (name, after) = match s.strip_prefix('{') {
        Some(body) => {
            let (name, close) = body.split_at_checked(body.find('}')?)?;
            (name, close.get(1..)?)
        }
        None => {
            let end = s
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(s.len());
            s.split_at_checked(end)?
        }
    };
    (!name.is_empty()).then_some((name, after))
}

/// pygrub's `-l` listing: per entry `title:`, then indented `root:` (pygrub's `d0p1` form),
/// `kernel:`, `args:`, `initrd:` (`None` for what is absent, as pygrub prints it; an
/// extlinux entry's root is empty rather than `None`, pygrub's too). Several initrds are
/// space-separated.
/// Control characters are escaped as `\xNN`: titles come from the guest and this text goes
/// to dom0's terminal.
pub fn list_pygrub_style(menu: &Menu) -> String {
    let mut out = String::new();
    for e in &menu.entries {
        let initrd: Vec<String> = e.initrd.iter().map(|p| lossy(p)).collect();
        let fields = [
            ("title: ", e.title.clone()),
            (
                "  root: ",
                e.device_hint
                    .as_deref()
                    .map(pygrub_root)
                    .unwrap_or_default(),
            ),
            ("  kernel: ", lossy(&e.kernel)),
            ("  args: ", e.args.clone()),
            ("  initrd: ", initrd.join(" ")),
        ];
        let keep_empty = |label: &str| {
            label == "title: " || (label == "  root: " && menu.kind == ConfigKind::Extlinux)
        };
        for (label, value) in fields {
            let value = if value.is_empty() && !keep_empty(label) {
                "None".to_owned()
            } else {
                value
            };
            let _ = writeln!(out, "{label}{}", escape_controls(&value));
        }
    }
    out
}

/// pygrub's rendering of a grub device: `d0p1` for `(hd0,msdos1)`, `d0` for `(hd0)`, the
/// numbers as written (grub-legacy's `(hd0,0)` is `d0p0`); other hints as written.
fn pygrub_root(hint: &str) -> String {
    match parse_device_hint(ConfigKind::Grub2, hint) {
        Some(DeviceHint {
            disk,
            partition: Some(p),
        }) => format!("d{disk}p{p}"),
        Some(DeviceHint {
            disk,
            partition: None,
        }) => format!("d{disk}"),
        None => hint.to_owned(),
    }
}

fn escape_controls(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_control() {
            let _ = write!(out, "\\x{:02x}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    out
}

fn ser_path<S: serde::Serializer>(p: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&String::from_utf8_lossy(p))
}

fn ser_paths<S: serde::Serializer>(ps: &[Vec<u8>], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(ps.iter().map(|p| String::from_utf8_lossy(p)))
}

/// The first whitespace-separated word and the trimmed rest (grub-legacy and extlinux
/// lines are `keyword value…`).
pub(crate) fn split_word(s: &[u8]) -> (&[u8], &[u8]) {
    let s = s.trim_ascii_start();
    let end = s
        .iter()
        .position(|c| c.is_ascii_whitespace())
        .unwrap_or(s.len());
    let (w, rest) = s.split_at(end);
    (w, rest.trim_ascii())
}

/// Guest text as a `String`, invalid UTF-8 replaced (titles and arguments are shown, not
/// interpreted).
pub(crate) fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(title: &str, id: Option<&str>, sub: &[&str]) -> MenuEntry {
        MenuEntry {
            title: title.into(),
            kernel: b"/vmlinuz".to_vec(),
            id: id.map(Into::into),
            submenu: sub.iter().map(|s| s.to_string()).collect(),
            ..MenuEntry::default()
        }
    }

    fn menu() -> Menu {
        let mut m = Menu::new(ConfigKind::Grub2);
        m.entries = vec![
            entry("Debian", Some("simple"), &[]),
            entry(
                "Debian, with Linux 6.1",
                Some("adv-6.1"),
                &["Advanced options for Debian"],
            ),
            entry("Other", None, &["Other sub"]),
            entry("Debian, with Linux 6.1", None, &["Other sub"]),
        ];
        m
    }

    #[test]
    fn find_by_index_title_id_and_path() {
        let m = menu();
        assert_eq!(m.find("0"), Some(0));
        assert_eq!(m.find("3"), Some(3));
        assert_eq!(m.find("4"), None);
        assert_eq!(m.find("-1"), None);
        assert_eq!(m.find("Debian"), Some(0));
        assert_eq!(m.find("adv-6.1"), Some(1));
        assert_eq!(m.find("Other sub>Debian, with Linux 6.1"), Some(3));
        assert_eq!(
            m.find("Advanced options for Debian>Debian, with Linux 6.1"),
            Some(1)
        );
        // pygrub's leaf fallback.
        assert_eq!(m.find("Nope>Other"), Some(2));
        assert_eq!(m.find("Nope"), None);
        assert_eq!(m.find(""), None);
    }

    #[test]
    fn entry_text_is_capped() {
        let mut v = Vec::new();
        let e = MenuEntry {
            submenu: vec!["s".repeat(MAX_MENU_ENTRY_BYTES)],
            kernel: b"/k".to_vec(),
            ..MenuEntry::default()
        };
        assert_eq!(
            push_entry(&mut v, e),
            Err(ConfigError::EntryTooLarge {
                index: 0,
                max: MAX_MENU_ENTRY_BYTES
            })
        );
    }

    #[test]
    fn search_order_is_pygrubs() {
        let p = search_paths();
        assert_eq!(p.len(), 16);
        assert_eq!(p[0], (&b"/boot/grub/grub.cfg"[..], ConfigKind::Grub2));
        assert_eq!(
            p[4],
            (&b"/boot/isolinux/isolinux.cfg"[..], ConfigKind::Extlinux)
        );
        assert_eq!(p[12], (&b"/grub/grub.conf"[..], ConfigKind::GrubLegacy));
        assert_eq!(
            BLS_DIRS,
            &[&b"/loader/entries"[..], b"/boot/loader/entries"]
        );
    }

    #[test]
    fn oversized_input_is_refused() {
        let big = vec![b'#'; usize::try_from(MAX_CONFIG_BYTES).unwrap() + 1];
        assert!(matches!(
            parse(ConfigKind::Grub2, &big),
            Err(ConfigError::TooLarge { .. })
        ));
        let ok = vec![b'#'; usize::try_from(MAX_CONFIG_BYTES).unwrap()];
        assert_eq!(parse(ConfigKind::Grub2, &ok).unwrap().entries.len(), 0);
    }

    #[test]
    fn strip_device_prefixes() {
        assert_eq!(
            strip_device(b"(hd0,1)/vmlinuz"),
            (Some("(hd0,1)".into()), b"/vmlinuz".to_vec())
        );
        assert_eq!(
            strip_device(b"($root)/vmlinuz"),
            (None, b"/vmlinuz".to_vec())
        );
        assert_eq!(
            strip_device(b"(hd0/vmlinuz"),
            (None, b"(hd0/vmlinuz".to_vec())
        );
        assert_eq!(strip_device(b"/boot/x"), (None, b"/boot/x".to_vec()));
        assert_eq!(strip_device(b"(hd0)"), (Some("(hd0)".into()), Vec::new()));
    }

    #[test]
    fn device_hints_decode_to_linux_numbers() {
        use ConfigKind::*;
        let h = |k, s| parse_device_hint(k, s).map(|d| (d.disk, d.partition));
        assert_eq!(h(Grub2, "(hd0,msdos1)"), Some((0, Some(1))));
        assert_eq!(h(Grub2, "(hd1,gpt2)"), Some((1, Some(2))));
        assert_eq!(h(Grub2, "(hd0,msdos5)"), Some((0, Some(5))));
        assert_eq!(h(Grub2, "(/dev/xvda,msdos1)"), Some((0, Some(1))));
        assert_eq!(h(Grub2, "(/dev/xvdb)"), Some((1, None)));
        assert_eq!(h(GrubLegacy, "(hd0,0)"), Some((0, Some(1))));
        assert_eq!(h(GrubLegacy, "(hd0)"), Some((0, None)));
        assert_eq!(h(GrubLegacy, "(hd0,4294967295)"), None);
        assert_eq!(h(Grub2, "(cd)"), None);
        assert_eq!(h(Grub2, "hd0,1"), None);
    }

    #[test]
    fn resolve_paths() {
        use ConfigKind::*;
        assert_eq!(
            resolve_path(Extlinux, b"/boot/extlinux.conf", b"vmlinuz"),
            b"/boot/vmlinuz"
        );
        assert_eq!(
            resolve_path(Extlinux, b"/extlinux.conf", b"vmlinuz"),
            b"/vmlinuz"
        );
        assert_eq!(resolve_path(Extlinux, b"/x.conf", b"/abs"), b"/abs");
        assert_eq!(
            resolve_path(Grub2, b"/boot/grub/grub.cfg", b"vmlinuz"),
            b"/vmlinuz"
        );
    }

    #[test]
    fn expand_vars_substitutes_only() {
        let env = vec![
            ("kernelopts".to_owned(), "root=UUID=x ro".to_owned()),
            ("a".to_owned(), "$(reboot)".to_owned()),
        ];
        let x = |t: &str| expand_vars(t, &env).unwrap();
        assert_eq!(x("$kernelopts $tuned_params"), "root=UUID=x ro");
        assert_eq!(x("${kernelopts} q"), "root=UUID=x ro q");
        assert_eq!(x("'$kernelopts' $a"), "'$kernelopts' $(reboot)");
        assert_eq!(x("x $ y ${unclosed"), "x $ y ${unclosed");
        assert_eq!(x("é$a"), "é$(reboot)");
        let big = vec![("a".to_owned(), "x".repeat(1000))];
        assert!(matches!(
            expand_vars(&"$a".repeat(100), &big),
            Err(ConfigError::ExpansionTooLarge { .. })
        ));
    }

    #[test]
    fn listing_matches_pygrub_layout_and_escapes() {
        let mut m = Menu::new(ConfigKind::GrubLegacy);
        m.entries.push(MenuEntry {
            title: "Deb\x1b[2J".into(),
            kernel: b"/vmlinuz".to_vec(),
            initrd: vec![b"/a".to_vec(), b"/b".to_vec()],
            args: "ro".into(),
            device_hint: Some("(hd0,0)".into()),
            ..MenuEntry::default()
        });
        m.entries.push(MenuEntry {
            title: "odd root".into(),
            device_hint: Some("(cd)".into()),
            ..MenuEntry::default()
        });
        m.entries.push(MenuEntry {
            title: "bare".into(),
            ..MenuEntry::default()
        });
        assert_eq!(
            list_pygrub_style(&m),
            "title: Deb\\x1b[2J\n  root: d0p0\n  kernel: /vmlinuz\n  args: ro\n  initrd: /a /b\n\
             title: odd root\n  root: (cd)\n  kernel: None\n  args: None\n  initrd: None\n\
             title: bare\n  root: None\n  kernel: None\n  args: None\n  initrd: None\n"
        );
    }

    #[test]
    fn extlinux_listing_has_an_empty_root_like_pygrub() {
        let mut m = Menu::new(ConfigKind::Extlinux);
        m.entries.push(MenuEntry {
            title: "lts".into(),
            kernel: b"vmlinuz-lts".to_vec(),
            ..MenuEntry::default()
        });
        assert_eq!(
            list_pygrub_style(&m),
            "title: lts\n  root: \n  kernel: vmlinuz-lts\n  args: None\n  initrd: None\n"
        );
    }

    #[test]
    fn json_has_paths_as_strings() {
        let mut m = Menu::new(ConfigKind::GrubLegacy);
        m.entries.push(MenuEntry {
            title: "t".into(),
            kernel: b"/k\xff".to_vec(),
            initrd: vec![b"/i".to_vec()],
            ..MenuEntry::default()
        });
        let j = serde_json::to_value(&m).unwrap();
        assert_eq!(j["kind"], "grub_legacy");
        assert_eq!(j["entries"][0]["kernel"], "/k\u{fffd}");
        assert_eq!(j["entries"][0]["initrd"][0], "/i");
        assert_eq!(j["default"], 0);
        assert!(j.get("env").is_none());
    }

    #[test]
    fn insert_bls_at_blscfg_and_reresolve() {
        let mut m = Menu::new(ConfigKind::Grub2);
        m.entries = vec![entry("tboot", None, &["tboot 1.10.2"])];
        m.blscfg = Some(0);
        m.default_spec = Some("${saved_entry}".into());
        let mut b = Menu::new(ConfigKind::Bls);
        b.entries = vec![
            entry("new", Some("id-new"), &[]),
            entry("old", Some("id-old"), &[]),
        ];
        m.insert_bls(b.clone()).unwrap();
        assert_eq!(
            m.entries
                .iter()
                .map(|e| e.title.as_str())
                .collect::<Vec<_>>(),
            ["new", "old", "tboot"]
        );
        assert_eq!(m.default, 0);
        assert_eq!(m.blscfg, None);

        let mut m2 = Menu::new(ConfigKind::Grub2);
        m2.default_spec = Some("id-old".into());
        m2.insert_bls(b).unwrap();
        assert_eq!(m2.default, 1);
    }
}
