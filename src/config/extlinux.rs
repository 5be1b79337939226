//! extlinux/syslinux/isolinux configs: line-based, keywords case-insensitive.
//!
//! Choices:
//! - An entry per `label`; its title is the label name (pygrub's choice, and what `default`
//!   names), `menu label` text is not used.
//! - `kernel`/`linux` name the kernel (relative to the config's directory: see
//!   [`super::resolve_path`]); a `.c32` module, `localboot`, `com32`, `boot`, … make an
//!   entry that loads no Linux kernel. `mboot.c32` with `append XEN --- KERNEL ARGS ---
//!   INITRD` boots KERNEL/INITRD (pygrub's special case).
//! - `append`'s `initrd=a,b` become the initrds and are removed from the arguments (pygrub
//!   does the same); an `initrd` line comes first. A global `append` applies to labels
//!   without their own, as in syslinux; `append -` means none.
//! - Default: the last `menu default` label; else the label `default` names; else, when
//!   `default` is a command line rather than a label or a `.c32` menu, an entry booting it
//!   (syslinux runs it as typed); else entry 0.
//! - `menu begin`/`menu end` submenus are flattened; `text help … endtext` is skipped;
//!   `include`/`menu include` files are listed in [`Menu::includes`], not followed.

use super::{lossy, push_entry, split_word, ConfigError, ConfigKind, Menu, MenuEntry};
use crate::limits::MAX_CONFIG_NESTING;

/// Parses an extlinux/syslinux/isolinux configuration.
pub fn parse(bytes: &[u8]) -> Result<Menu, ConfigError> {
    super::check_size(bytes)?;
    let mut p = Parser::default();
    for line in bytes.split(|&c| c == b'\n') {
        p.line(line.trim_ascii())?;
    }
    p.flush()?;
    p.finish()
}

#[derive(Default)]
struct Label {
    name: String,
    kernel: Option<Vec<u8>>,
    kernel_args: Vec<u8>,
    /// Loads something other than a Linux kernel (`localboot`, `com32`, …).
    other: bool,
    append: Option<Vec<u8>>,
    initrd: Option<Vec<u8>>,
    submenu: Vec<String>,
}

#[derive(Default)]
struct Parser {
    entries: Vec<MenuEntry>,
    cur: Option<Label>,
    global_append: Option<Vec<u8>>,
    default: Option<Vec<u8>>,
    menu_default: Option<usize>,
    includes: Vec<Vec<u8>>,
    submenu: Vec<String>,
    submenu_overflow: usize,
    in_text: bool,
}

impl Parser {
    fn line(&mut self, line: &[u8]) -> Result<(), ConfigError> {
        if line.is_empty() || line.first() == Some(&b'#') {
            return Ok(());
        }
        let (kw, rest) = split_word(line);
        let kw = kw.to_ascii_lowercase();
        if self.in_text {
            self.in_text = kw != b"endtext";
            return Ok(());
        }
        match kw.as_slice() {
            b"label" => {
                self.flush()?;
                self.cur = Some(Label {
                    name: lossy(rest),
                    submenu: self.submenu.clone(),
                    ..Label::default()
                });
            }
            b"menu" => self.menu_line(rest)?,
            b"text" => self.in_text = true,
            b"default" => self.default = Some(rest.to_vec()),
            b"include" => self.includes.push(split_word(rest).0.to_vec()),
            b"append" => match self.cur.as_mut() {
                Some(l) => l.append = Some(rest.to_vec()),
                None => self.global_append = Some(rest.to_vec()),
            },
            _ => {
                if let Some(l) = self.cur.as_mut() {
                    label_line(l, &kw, rest);
                }
            }
        }
        Ok(())
    }

    fn menu_line(&mut self, rest: &[u8]) -> Result<(), ConfigError> {
        let (sub, arg) = split_word(rest);
        match sub.to_ascii_lowercase().as_slice() {
            b"default" if self.cur.is_some() => self.menu_default = Some(self.entries.len()),
            b"begin" => {
                self.flush()?;
                if self.submenu_overflow == 0 && self.submenu.len() < MAX_CONFIG_NESTING {
                    self.submenu.push(lossy(arg));
                } else {
                    self.submenu_overflow = self.submenu_overflow.saturating_add(1);
                }
            }
            b"end" => {
                self.flush()?;
                if self.submenu_overflow > 0 {
                    self.submenu_overflow -= 1;
                } else {
                    self.submenu.pop();
                }
            }
            b"include" => self.includes.push(split_word(arg).0.to_vec()),
            _ => {}
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), ConfigError> {
        if let Some(l) = self.cur.take() {
            let e = finish_label(l, self.global_append.as_deref());
            push_entry(&mut self.entries, e)?;
        }
        Ok(())
    }

    fn finish(mut self) -> Result<Menu, ConfigError> {
        let mut menu = Menu::new(ConfigKind::Extlinux);
        menu.default_spec = self.default.as_deref().map(lossy);
        menu.includes = std::mem::take(&mut self.includes);
        let default = self.menu_default.or_else(|| self.default_label());
        menu.default = match default {
            Some(i) => i,
            None => self.command_line_default()?.unwrap_or(0),
        };
        menu.entries = self.entries;
        Ok(menu)
    }

    /// The label `default` names: the whole value, else its first word (`default linux
    /// quiet`).
    fn default_label(&self) -> Option<usize> {
        let spec = lossy(self.default.as_deref()?);
        let first = spec.split_whitespace().next().unwrap_or_default();
        let find = |name: &str| self.entries.iter().position(|e| e.title == name);
        find(&spec).or_else(|| find(first))
    }

    /// `default KERNEL ARGS` naming no label: syslinux boots it as a command line. Returns the
    /// index of the entry added for it.
    fn command_line_default(&mut self) -> Result<Option<usize>, ConfigError> {
        let Some(spec) = self.default.clone() else {
            return Ok(None);
        };
        let (kernel, args) = split_word(&spec);
        if kernel.is_empty() || ends_with_ci(kernel, b".c32") {
            return Ok(None);
        }
        let label = Label {
            name: lossy(kernel),
            kernel: Some(kernel.to_vec()),
            kernel_args: args.to_vec(),
            ..Label::default()
        };
        let e = finish_label(label, self.global_append.as_deref());
        push_entry(&mut self.entries, e)?;
        Ok(Some(self.entries.len() - 1))
    }
}

fn label_line(l: &mut Label, kw: &[u8], rest: &[u8]) {
    match kw {
        b"kernel" | b"linux" => {
            let (k, args) = split_word(rest);
            l.kernel = Some(k.to_vec());
            l.kernel_args = args.to_vec();
            l.other = false;
        }
        b"boot" | b"bss" | b"pxe" | b"fdimage" | b"comboot" | b"com32" | b"config"
        | b"localboot" => {
            l.kernel = None;
            l.other = true;
        }
        b"initrd" => l.initrd = Some(rest.to_vec()),
        _ => {}
    }
}

/// Turns a label into an entry: mboot.c32 splitting, `initrd=` extraction, module checks.
fn finish_label(l: Label, global_append: Option<&[u8]>) -> MenuEntry {
    let mut e = MenuEntry {
        title: l.name,
        submenu: l.submenu,
        ..MenuEntry::default()
    };
    let Some(kernel) = l.kernel.filter(|k| !l.other && !k.is_empty()) else {
        return e;
    };
    let append = l.append.as_deref().or(global_append);
    if ends_with_ci(&kernel, b"mboot.c32") {
        if let Some((k, args, initrd)) = append.and_then(split_mboot) {
            e.kernel = k;
            e.args = args;
            e.initrd = initrd;
        }
        return e;
    }
    if ends_with_ci(&kernel, b".c32") {
        return e; // a COM32 module (menu, chain, hdt): not a Linux kernel
    }
    let args = match append {
        Some(a) if a.trim_ascii() == b"-" => &b""[..],
        Some(a) => a,
        None => l.kernel_args.as_slice(),
    };
    let (args, from_append) = take_initrd_args(args);
    e.kernel = kernel;
    e.args = args;
    e.initrd = l.initrd.as_deref().map(split_list).unwrap_or_default();
    e.initrd.extend(from_append);
    e
}

/// `XEN ARGS --- KERNEL ARGS --- INITRD [--- MORE]` (or `KERNEL ARGS --- INITRD`):
/// kernel, its args, the initrds.
fn split_mboot(append: &[u8]) -> Option<(Vec<u8>, String, Vec<Vec<u8>>)> {
    let parts: Vec<&[u8]> = split_on(append, b"---").collect();
    let (kernel_part, initrds) = match parts.as_slice() {
        [_, k, rest @ ..] if !rest.is_empty() => (*k, rest),
        [k, i] => (*k, std::slice::from_ref(i)),
        _ => return None,
    };
    let (k, args) = split_word(kernel_part);
    if k.is_empty() {
        return None;
    }
    let initrds = initrds
        .iter()
        .map(|p| split_word(p).0.to_vec())
        .filter(|p| !p.is_empty())
        .collect();
    Some((k.to_vec(), lossy(args), initrds))
}

fn split_on<'a>(s: &'a [u8], sep: &'a [u8]) -> impl Iterator<Item = &'a [u8]> + 'a {
    let mut rest = Some(s);
    std::iter::from_fn(move || {
        let r = rest?;
        match r.windows(sep.len()).position(|w| w == sep) {
            Some(i) => {
                rest = r.get(i + sep.len()..);
                r.get(..i)
            }
            None => rest.take(),
        }
    })
}

/// Removes `initrd=` words (any case) from `args`, returning the remaining words joined by
/// one space and the initrd paths they listed (comma-separated).
fn take_initrd_args(args: &[u8]) -> (String, Vec<Vec<u8>>) {
    let mut keep: Vec<&[u8]> = Vec::new();
    let mut initrds = Vec::new();
    for w in args
        .split(|c| c.is_ascii_whitespace())
        .filter(|w| !w.is_empty())
    {
        match w.get(..7) {
            Some(p) if p.eq_ignore_ascii_case(b"initrd=") => {
                initrds.extend(split_list(w.get(7..).unwrap_or_default()));
            }
            _ => keep.push(w),
        }
    }
    (lossy(&keep.join(&b' ')), initrds)
}

fn split_list(s: &[u8]) -> Vec<Vec<u8>> {
    s.split(|&c| c == b',')
        .map(|p| p.trim_ascii().to_vec())
        .filter(|p| !p.is_empty())
        .collect()
}

fn ends_with_ci(s: &[u8], suffix: &[u8]) -> bool {
    s.len()
        .checked_sub(suffix.len())
        .and_then(|start| s.get(start..))
        .is_some_and(|t| t.eq_ignore_ascii_case(suffix))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn titles(m: &Menu) -> Vec<&str> {
        m.entries.iter().map(|e| e.title.as_str()).collect()
    }

    #[test]
    fn labels_append_initrd_and_default() {
        let cfg = b"DEFAULT second\nTIMEOUT 30\nAPPEND console=hvc0\n\
            LABEL first\n  MENU LABEL First one\n  KERNEL /vmlinuz-1\n  APPEND initrd=/i1,/i1b root=/dev/xvda1 INITRD=/i1c ro\n\
            label second\n  linux vmlinuz-2 from-kernel-line\n  initrd /i2\n\
            label third\n  kernel /vmlinuz-3\n  append -\n";
        let m = parse(cfg).unwrap();
        assert_eq!(titles(&m), ["first", "second", "third"]);
        assert_eq!(m.default, 1);
        let e = &m.entries[0];
        assert_eq!(e.kernel, b"/vmlinuz-1");
        assert_eq!(e.args, "root=/dev/xvda1 ro");
        assert_eq!(
            e.initrd,
            vec![b"/i1".to_vec(), b"/i1b".to_vec(), b"/i1c".to_vec()]
        );
        // No own APPEND: the global one (syslinux), not the kernel line's words.
        let e = &m.entries[1];
        assert_eq!(e.kernel, b"vmlinuz-2");
        assert_eq!(e.args, "console=hvc0");
        assert_eq!(e.initrd, vec![b"/i2".to_vec()]);
        assert_eq!(m.entries[2].args, "");
    }

    #[test]
    fn kernel_line_args_without_any_append() {
        let m = parse(b"label a\nkernel /k root=/dev/xvda1 initrd=/i\n").unwrap();
        assert_eq!(m.entries[0].args, "root=/dev/xvda1");
        assert_eq!(m.entries[0].initrd, vec![b"/i".to_vec()]);
    }

    #[test]
    fn menu_default_wins_and_modules_are_not_kernels() {
        let cfg = b"ui vesamenu.c32\ndefault vesamenu.c32\n\
            label hdt\n kernel hdt.c32\n\
            label local\n localboot 0x80\n\
            label linux\n menu default\n kernel /vmlinuz\n\
            text help\n kernel /not-a-kernel\n label nope\nendtext\n";
        let m = parse(cfg).unwrap();
        assert_eq!(titles(&m), ["hdt", "local", "linux"]);
        assert_eq!(m.default, 2);
        assert!(!m.entries[0].is_bootable());
        assert!(!m.entries[1].is_bootable());
        assert_eq!(m.entries[2].kernel, b"/vmlinuz");
        assert_eq!(m.default_spec.as_deref(), Some("vesamenu.c32"));
    }

    #[test]
    fn mboot_c32_boots_the_dom_kernel() {
        let cfg = b"label xen\n kernel mboot.c32\n append xen.gz dom0_mem=1G --- vmlinuz ro quiet --- initrd.img\n\
            label two\n kernel mboot.c32\n append vmlinuz a=b --- initrd.img\n\
            label bad\n kernel mboot.c32\n append xen.gz\n";
        let m = parse(cfg).unwrap();
        assert_eq!(m.entries[0].kernel, b"vmlinuz");
        assert_eq!(m.entries[0].args, "ro quiet");
        assert_eq!(m.entries[0].initrd, vec![b"initrd.img".to_vec()]);
        assert_eq!(m.entries[1].kernel, b"vmlinuz");
        assert_eq!(m.entries[1].args, "a=b");
        assert!(!m.entries[2].is_bootable());
    }

    #[test]
    fn default_command_line_without_labels() {
        let m = parse(b"default /vmlinuz root=/dev/xvda1 initrd=/initrd.img\n").unwrap();
        assert_eq!(m.entries.len(), 1);
        assert_eq!(m.default, 0);
        assert_eq!(m.entries[0].kernel, b"/vmlinuz");
        assert_eq!(m.entries[0].args, "root=/dev/xvda1");
        assert_eq!(m.entries[0].initrd, vec![b"/initrd.img".to_vec()]);
        let m = parse(b"label a\nkernel /a\nlabel b\nkernel /b\ndefault b quiet\n").unwrap();
        assert_eq!((m.entries.len(), m.default), (2, 1));
    }

    #[test]
    fn submenus_flatten_and_includes_are_listed() {
        let cfg =
            b"include stdmenu.cfg\nmenu begin adv\n menu title Advanced\n label a\n  kernel /a\n\
            menu begin deeper\n label b\n  kernel /b\n menu end\nmenu end\nlabel c\n kernel /c\n\
            MENU INCLUDE other.cfg tag\n";
        let m = parse(cfg).unwrap();
        assert_eq!(titles(&m), ["a", "b", "c"]);
        assert_eq!(m.entries[0].submenu, ["adv"]);
        assert_eq!(m.entries[1].submenu, ["adv", "deeper"]);
        assert!(m.entries[2].submenu.is_empty());
        assert_eq!(
            m.includes,
            vec![b"stdmenu.cfg".to_vec(), b"other.cfg".to_vec()]
        );
    }

    #[test]
    fn deep_and_unbalanced_menus_stay_bounded() {
        let mut cfg = b"menu begin x\n".repeat(10_000);
        cfg.extend_from_slice(b"label a\nkernel /a\n");
        cfg.extend_from_slice(&b"menu end\n".repeat(20_000));
        cfg.extend_from_slice(b"label b\nkernel /b\n");
        let m = parse(&cfg).unwrap();
        assert_eq!(m.entries[0].submenu.len(), MAX_CONFIG_NESTING);
        assert!(m.entries[1].submenu.is_empty());
    }

    #[test]
    fn global_append_is_not_multiplied() {
        let mut cfg = format!("append {}\n", "a".repeat(20_000)).into_bytes();
        cfg.extend_from_slice(&b"label x\nkernel /x\n".repeat(1000));
        assert!(matches!(
            parse(&cfg),
            Err(ConfigError::EntryTooLarge { index: 0, .. })
        ));
    }

    #[test]
    fn too_many_labels() {
        let cfg = b"label x\n".repeat(crate::limits::MAX_MENU_ENTRIES + 1);
        assert!(matches!(
            parse(&cfg),
            Err(ConfigError::TooManyEntries { .. })
        ));
    }

    #[test]
    fn split_on_separator() {
        let parts: Vec<&[u8]> = split_on(b"a --- b --- c", b"---").collect();
        assert_eq!(parts, [&b"a "[..], b" b ", b" c"]);
        assert_eq!(split_on(b"", b"---").count(), 1);
    }
}
