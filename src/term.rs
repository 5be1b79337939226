//! Text that reaches a terminal: guest-controlled bytes (labels, symlink targets, fstab
//! text, titles, file names) may hold ESC, BEL or newlines that would rewrite the admin's
//! terminal or forge output lines, so every control character is shown as `\xNN`
//! (`\u{NNNN}` above 0xff) instead of being sent raw.

use std::borrow::Cow;
use std::fmt::Write as _;

/// `s` with every control character (C0, DEL, C1 — newlines included) escaped as `\x1b`.
pub fn escape(s: &str) -> Cow<'_, str> {
    if !s.chars().any(needs_escape) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        push_escaped(&mut out, c);
    }
    Cow::Owned(out)
}

/// Multi-line text we generated (a report, a listing): control characters escaped, except
/// the line breaks and tabs of our own layout.
pub fn escape_text(s: &str) -> Cow<'_, str> {
    if !s.chars().any(|c| c != '\n' && c != '\t' && needs_escape(c)) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' | '\t' => out.push(c),
            _ => push_escaped(&mut out, c),
        }
    }
    Cow::Owned(out)
}

fn needs_escape(c: char) -> bool {
    c.is_control()
}

fn push_escaped(out: &mut String, c: char) {
    if !needs_escape(c) {
        out.push(c);
    } else if u32::from(c) <= 0xff {
        let _ = write!(out, "\\x{:02x}", u32::from(c));
    } else {
        let _ = write!(out, "\\u{{{:04x}}}", u32::from(c));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_are_escaped() {
        assert_eq!(escape("plain /boot/vmlinuz"), "plain /boot/vmlinuz");
        assert_eq!(escape("a\x1b]0;pwned\x07b"), "a\\x1b]0;pwned\\x07b");
        assert_eq!(escape("x\ny\r"), "x\\x0ay\\x0d");
        assert_eq!(escape("\u{9b}2J"), "\\x9b2J");
        assert_eq!(
            escape_text("line\x1b[2J\n\tnext\n"),
            "line\\x1b[2J\n\tnext\n"
        );
    }
}
