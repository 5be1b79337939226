//! syslinux/isolinux `include FILE` and `menu include FILE`: the named file's text replaces
//! the directive (Debian's `isolinux.cfg` holds no label of its own: it includes `menu.cfg`,
//! which includes `gtk.cfg`, `txt.cfg`, …). Names are relative to the config's directory,
//! as syslinux resolves them; a missing file is skipped, as syslinux does. Bounded: at most
//! [`MAX_CONFIG_INCLUDES`] files, nesting [`MAX_CONFIG_NESTING`], and
//! [`MAX_CONFIG_BYTES`] of text in all.

use super::BootError;
use crate::config::{self, ConfigKind};
use crate::guest::resolve::resolve_file;
use crate::guest::view::GuestView;
use crate::limits::{MAX_CONFIG_BYTES, MAX_CONFIG_INCLUDES, MAX_CONFIG_NESTING};

/// `bytes` (the config at `config_path`) with its includes spliced in.
pub fn expand(v: &GuestView, config_path: &[u8], bytes: &[u8]) -> Result<Vec<u8>, BootError> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut files = 0;
    splice(v, config_path, bytes, 0, &mut files, &mut out)?;
    Ok(out)
}

fn err(config_path: &[u8], detail: String) -> BootError {
    BootError::Config {
        path: String::from_utf8_lossy(config_path).into_owned(),
        detail,
    }
}

fn splice(
    v: &GuestView,
    config_path: &[u8],
    text: &[u8],
    depth: usize,
    files: &mut usize,
    out: &mut Vec<u8>,
) -> Result<(), BootError> {
    for line in text.split_inclusive(|&c| c == b'\n') {
        let Some(name) = include_target(line) else {
            out.extend_from_slice(line);
            if !line.ends_with(b"\n") {
                out.push(b'\n');
            }
            continue;
        };
        if depth >= MAX_CONFIG_NESTING {
            return Err(err(
                config_path,
                format!("includes nested deeper than {MAX_CONFIG_NESTING} (an include loop?)"),
            ));
        }
        *files += 1;
        if *files > MAX_CONFIG_INCLUDES {
            return Err(err(
                config_path,
                format!("more than {MAX_CONFIG_INCLUDES} included files"),
            ));
        }
        let path = config::resolve_path(ConfigKind::Extlinux, config_path, name);
        let Ok(bytes) = resolve_file(&v.table, &path).and_then(|f| f.read_capped(MAX_CONFIG_BYTES))
        else {
            continue; // syslinux skips a missing include
        };
        splice(v, config_path, &bytes, depth + 1, files, out)?;
        if out.len() as u64 > MAX_CONFIG_BYTES {
            return Err(err(
                config_path,
                format!("more than {MAX_CONFIG_BYTES} bytes with its includes"),
            ));
        }
    }
    Ok(())
}

/// The file an `include FILE` or `menu include FILE [TAG]` line names (keywords in any case).
fn include_target(line: &[u8]) -> Option<&[u8]> {
    let mut words = line
        .split(|c| c.is_ascii_whitespace())
        .filter(|w| !w.is_empty());
    let first = words.next()?;
    if first.eq_ignore_ascii_case(b"menu") {
        if !words.next()?.eq_ignore_ascii_case(b"include") {
            return None;
        }
    } else if !first.eq_ignore_ascii_case(b"include") {
        return None;
    }
    words.next()
}

#[cfg(test)]
mod tests {
    use super::include_target;

    #[test]
    fn include_lines() {
        assert_eq!(
            include_target(b"include menu.cfg\n"),
            Some(&b"menu.cfg"[..])
        );
        assert_eq!(
            include_target(b"\tMENU INCLUDE a.cfg tag\n"),
            Some(&b"a.cfg"[..])
        );
        assert_eq!(include_target(b"menu label include"), None);
        assert_eq!(include_target(b"label include"), None);
        assert_eq!(include_target(b"include"), None);
    }
}
