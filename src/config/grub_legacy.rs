//! grub-legacy `menu.lst`/`grub.conf`: line-based, as pygrub reads it. A command word ends
//! at whitespace or `=` (`default=0`). Globals: `default N|saved`; `timeout`, `hiddenmenu`,
//! `splashimage`, `password`, … are ignored. Each `title` starts an entry; in it `root` /
//! `rootnoverify (hdX,Y)` set the device hint, `kernel [--opts] PATH ARGS` and `initrd PATH`
//! strip a `(hdX,Y)` prefix (which then becomes the hint). `module` lines (Xen dom0 entries),
//! `savedefault`, `chainloader` are ignored: an entry without `kernel` is not bootable.

use super::{
    lossy, push_entry, split_word, strip_device, ConfigError, ConfigKind, Menu, MenuEntry,
};

/// Parses a grub-legacy configuration.
pub fn parse(bytes: &[u8]) -> Result<Menu, ConfigError> {
    super::check_size(bytes)?;
    let mut menu = Menu::new(ConfigKind::GrubLegacy);
    let mut cur: Option<MenuEntry> = None;
    for line in bytes.split(|&c| c == b'\n') {
        let line = line.trim_ascii();
        if line.is_empty() || line.first() == Some(&b'#') {
            continue;
        }
        let (cmd, arg) = split_command(line);
        if cmd == b"title" {
            if let Some(e) = cur.take() {
                push_entry(&mut menu.entries, e)?;
            }
            cur = Some(MenuEntry {
                title: lossy(arg),
                ..MenuEntry::default()
            });
            continue;
        }
        match cur.as_mut() {
            Some(e) => entry_command(e, cmd, arg),
            None if cmd == b"default" => menu.default_spec = Some(lossy(arg)),
            None => {}
        }
    }
    if let Some(e) = cur {
        push_entry(&mut menu.entries, e)?;
    }
    menu.default = match menu.default_spec.as_deref().and_then(super::parse_index) {
        Some(n) if n < menu.entries.len() => n,
        _ => 0,
    };
    Ok(menu)
}

fn entry_command(e: &mut MenuEntry, cmd: &[u8], arg: &[u8]) {
    match cmd {
        b"root" | b"rootnoverify" => {
            let dev = arg
                .split(|c| c.is_ascii_whitespace())
                .next()
                .unwrap_or_default();
            if !dev.is_empty() {
                e.device_hint = Some(lossy(dev));
            }
        }
        b"kernel" => {
            let mut rest = arg;
            // `kernel --type=netbsd --no-mem-option /path args`
            let path = loop {
                let (w, r) = split_word(rest);
                rest = r;
                if !w.starts_with(b"--") {
                    break w;
                }
            };
            let (hint, p) = strip_device(path);
            e.kernel = p;
            e.args = lossy(rest);
            if hint.is_some() {
                e.device_hint = hint;
            }
        }
        b"initrd" => {
            let (path, _) = split_word(arg);
            let (_, p) = strip_device(path);
            e.initrd = if p.is_empty() { Vec::new() } else { vec![p] };
        }
        _ => {}
    }
}

/// The command word (up to whitespace or `=`) and its trimmed argument.
fn split_command(line: &[u8]) -> (&[u8], &[u8]) {
    let end = line
        .iter()
        .position(|&c| c.is_ascii_whitespace() || c == b'=')
        .unwrap_or(line.len());
    let (cmd, rest) = line.split_at(end);
    let rest = rest.strip_prefix(b"=").unwrap_or(rest);
    (cmd, rest.trim_ascii())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typical_menu_lst() {
        let cfg = b"# comment\ndefault 1\ntimeout 5\nhiddenmenu\n\n\
            title Debian 6.1\n  root (hd0,0)\n  kernel /vmlinuz-6.1 root=/dev/xvda1 ro quiet\n  initrd /initrd.img-6.1\n  savedefault\n\
            title Debian 5.10\n\troot (hd0,0)\n\tkernel (hd0,1)/vmlinuz-5.10 root=/dev/xvda1 ro\n\tinitrd (hd0,1)/initrd.img-5.10\n\
            title Windows\n  rootnoverify (hd1,0)\n  chainloader +1\n";
        let m = parse(cfg).unwrap();
        assert_eq!(m.entries.len(), 3);
        assert_eq!(m.default, 1);
        let e = &m.entries[0];
        assert_eq!(e.title, "Debian 6.1");
        assert_eq!(e.kernel, b"/vmlinuz-6.1");
        assert_eq!(e.args, "root=/dev/xvda1 ro quiet");
        assert_eq!(e.initrd, vec![b"/initrd.img-6.1".to_vec()]);
        assert_eq!(e.device_hint.as_deref(), Some("(hd0,0)"));
        let e = &m.entries[1];
        assert_eq!(e.kernel, b"/vmlinuz-5.10");
        assert_eq!(e.initrd, vec![b"/initrd.img-5.10".to_vec()]);
        assert_eq!(e.device_hint.as_deref(), Some("(hd0,1)"));
        assert!(!m.entries[2].is_bootable());
        assert_eq!(m.entries[2].device_hint.as_deref(), Some("(hd1,0)"));
    }

    #[test]
    fn defaults() {
        let two = b"title a\nkernel /a\ntitle b\nkernel /b\n";
        let with = |d: &str| {
            let mut cfg = format!("default{d}\n").into_bytes();
            cfg.extend_from_slice(two);
            parse(&cfg).unwrap().default
        };
        assert_eq!(with("=1"), 1);
        assert_eq!(with(" saved"), 0);
        assert_eq!(with(" 2"), 0);
        assert_eq!(with(" -1"), 0);
        assert_eq!(with(" 99999999999999999999999"), 0);
        assert_eq!(parse(two).unwrap().default, 0);
    }

    #[test]
    fn options_and_odd_lines() {
        let m = parse(b"title x\nkernel --type=linux --no-mem-option /k a=b\ninitrd\nkernel\n")
            .unwrap();
        // The bare `kernel` line (no path) replaces the earlier one: last wins, as in pygrub.
        assert_eq!(m.entries[0].kernel, b"");
        let m = parse(b"title x\nkernel --type=linux /k a=b\ninitrd /i extra\n").unwrap();
        assert_eq!(m.entries[0].kernel, b"/k");
        assert_eq!(m.entries[0].args, "a=b");
        assert_eq!(m.entries[0].initrd, vec![b"/i".to_vec()]);
        assert_eq!(parse(b"kernel /k\n").unwrap().entries.len(), 0);
        assert_eq!(parse(b"title\n").unwrap().entries[0].title, "");
    }
}
