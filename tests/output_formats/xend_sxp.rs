//! A test-only copy of xend's s-expression reader (`xen/xend/sxp.py`, `Parser`), byte for
//! byte, bugs included where our output could meet them:
//! - start of a token: whitespace ` \t\n\v\f\r` skipped, `#` comment to end of line, `(`
//!   list, `)` error, `"`/`'` string, other printable ASCII an atom, `\x04` end of input,
//!   anything else (control bytes, bytes ≥ 0x80) "invalid character";
//! - an atom runs until whitespace, `#` or one of `{}()<>[]!;`; any other byte is kept;
//! - in a string, `\a \b \t \n \v \f \r \\ \' \"` decode; `\ooo` takes up to three octal
//!   digits; `\xHH` needs exactly two hex digits and decodes `A-F`/`a-f` as 0–5 (xend
//!   subtracts `ord('A')`); fewer raises `NameError`; an unknown escape keeps the backslash
//!   and drops the character after it.
//!
//! - end of input is one event for the innermost state: an atom or comment takes it and
//!   ends, so a list cut off right after one is silently dropped; anywhere else in a list
//!   or string it is an error.
//!
//! Checked against xend's own `sxp.py` under Python 2.7 on 30 000 random inputs.
//!
//! Plus xend's `sxp.child_value`, which is how `XendBootloader` results are read.
#![allow(dead_code)]

/// A parsed value. xend makes no difference between atoms and strings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Sxp {
    Atom(Vec<u8>),
    List(Vec<Sxp>),
}

/// Parses `input` as `pin.input(buf); pin.input_eof(); pin.val` does.
pub fn parse(input: &[u8]) -> Result<Vec<Sxp>, String> {
    let mut p = Parser { s: input, i: 0 };
    let mut out = Vec::new();
    loop {
        match p.start(false)? {
            Step::End | Step::Truncated => return Ok(out),
            Step::Value(v) => out.push(v),
            Step::Nothing => {}
        }
    }
}

/// `sxp.child_value(sxpr, key)`: the first value of the first `(key …)` child, skipping the
/// element name (for a bootloader result, the leading `linux`).
pub fn child_value<'a>(sxpr: &'a [Sxp], key: &[u8]) -> Option<&'a Sxp> {
    children(sxpr)
        .iter()
        .find(|c| matches!(c, Sxp::List(l) if l.first() == Some(&Sxp::Atom(key.to_vec()))))
        .and_then(|c| match c {
            Sxp::List(l) => children(l).first(),
            Sxp::Atom(_) => None,
        })
}

/// `sxp.children`: everything after the name and an optional `(@ …)` attribute list.
fn children(sxpr: &[Sxp]) -> &[Sxp] {
    if sxpr.len() <= 1 {
        return &[];
    }
    let attr = matches!(&sxpr[1], Sxp::List(l) if l.first() == Some(&Sxp::Atom(b"@".to_vec())));
    &sxpr[if attr { 2 } else { 1 }..]
}

enum Step {
    End,
    Value(Sxp),
    Nothing,
    /// End of input reached inside a list by an atom or comment, which take the EOF event
    /// for themselves: xend then silently drops every open list and keeps what came before.
    Truncated,
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

fn is_space(c: u8) -> bool {
    b" \t\n\x0b\x0c\r".contains(&c)
}

fn ends_atom(c: u8) -> bool {
    is_space(c) || c == b'#' || b"{}()<>[]!;".contains(&c)
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let c = self.peek();
        self.i += c.is_some() as usize;
        c
    }

    /// `state_start` for one character.
    fn start(&mut self, in_list: bool) -> Result<Step, String> {
        let Some(c) = self.next() else {
            return if in_list {
                Err("unexpected EOF".into())
            } else {
                Ok(Step::End)
            };
        };
        match c {
            c if is_space(c) => Ok(Step::Nothing),
            b'#' => loop {
                match self.next() {
                    None if in_list => return Ok(Step::Truncated),
                    None | Some(b'\n') => return Ok(Step::Nothing),
                    Some(_) => {}
                }
            },
            b'(' => Ok(self.list()?.map_or(Step::Truncated, Step::Value)),
            b')' => Err("syntax error: )".into()),
            b'"' | b'\'' => self.string(c).map(|s| Step::Value(Sxp::Atom(s))),
            0x21..=0x7e => {
                let atom = self.atom(c);
                match in_list && self.peek().is_none() {
                    true => Ok(Step::Truncated),
                    false => Ok(Step::Value(atom)),
                }
            }
            4 if !in_list => {
                self.i = self.s.len();
                Ok(Step::End)
            }
            4 => Err("unexpected EOF".into()),
            _ => Err(format!("invalid character: code {c}")),
        }
    }

    /// `None` when the input ended inside the list the way [`Step::Truncated`] says.
    fn list(&mut self) -> Result<Option<Sxp>, String> {
        let mut items = Vec::new();
        loop {
            match self.peek() {
                None => return Err("unexpected EOF".into()),
                Some(b')') => {
                    self.i += 1;
                    return Ok(Some(Sxp::List(items)));
                }
                Some(_) => match self.start(true)? {
                    Step::Value(v) => items.push(v),
                    Step::Nothing => {}
                    Step::Truncated => return Ok(None),
                    Step::End => return Err("unexpected EOF".into()),
                },
            }
        }
    }

    fn atom(&mut self, first: u8) -> Sxp {
        let mut buf = vec![first];
        while let Some(c) = self.peek().filter(|&c| !ends_atom(c)) {
            buf.push(c);
            self.i += 1;
        }
        Sxp::Atom(buf)
    }

    fn string(&mut self, delim: u8) -> Result<Vec<u8>, String> {
        let mut buf = Vec::new();
        loop {
            match self.next().ok_or("unexpected EOF")? {
                c if c == delim => return Ok(buf),
                b'\\' => self.escape(&mut buf)?,
                c => buf.push(c),
            }
        }
    }

    fn escape(&mut self, buf: &mut Vec<u8>) -> Result<(), String> {
        let c = self.next().ok_or("unexpected EOF")?;
        let simple = match c {
            b'a' => Some(7),
            b'b' => Some(8),
            b't' => Some(9),
            b'n' => Some(10),
            b'v' => Some(11),
            b'f' => Some(12),
            b'r' => Some(13),
            b'\\' | b'\'' | b'"' => Some(c),
            _ => None,
        };
        match (simple, c) {
            (Some(d), _) => buf.push(d),
            (None, b'x') => buf.push(self.hex()?),
            (None, b'0'..=b'7') => {
                self.i -= 1;
                buf.push(self.octal()?);
            }
            // xend keeps the backslash and loses the character.
            (None, _) => buf.push(b'\\'),
        }
        Ok(())
    }

    fn hex(&mut self) -> Result<u8, String> {
        let mut val: u32 = 0;
        for _ in 0..2 {
            let c = self.next().ok_or("unexpected EOF")?;
            let d = match c {
                b'0'..=b'9' => c - b'0',
                b'A'..=b'F' => c - b'A',
                b'a'..=b'f' => c - b'a',
                _ => return Err("NameError: name 'buf' is not defined".into()),
            };
            val = val * 16 + u32::from(d);
        }
        Ok(val as u8)
    }

    fn octal(&mut self) -> Result<u8, String> {
        let (mut val, mut n) = (0u32, 0);
        loop {
            match self.peek().ok_or("unexpected EOF")? {
                c @ b'0'..=b'7' => {
                    self.i += 1;
                    val = val * 8 + u32::from(c - b'0');
                    n += 1;
                    if val > 0xff {
                        return Err("invalid octal escape: out of range".into());
                    }
                    if n == 3 {
                        return Ok(val as u8);
                    }
                }
                // The ending character goes back to the string.
                _ => return Ok(val as u8),
            }
        }
    }
}

#[test]
fn reader_matches_xend_semantics() {
    let atom = |s: &[u8]| Sxp::Atom(s.to_vec());
    let v = parse(b"linux (kernel /k)(args 'a b\\'c')").unwrap();
    assert_eq!(child_value(&v, b"kernel"), Some(&atom(b"/k")));
    assert_eq!(child_value(&v, b"args"), Some(&atom(b"a b'c")));
    // Unquoted multi-word args: xend keeps only the first word.
    let v = parse(b"linux (kernel /k)(args root=/dev/xvda1 ro)").unwrap();
    assert_eq!(child_value(&v, b"args"), Some(&atom(b"root=/dev/xvda1")));
    // xend's hex escape bug, and its octal escape working.
    assert_eq!(parse(b"'\\x41'").unwrap(), vec![atom(b"A")]);
    assert_eq!(parse(b"'\\x4a'").unwrap(), vec![atom(b"\x40")]);
    assert_eq!(parse(b"'\\x4A'").unwrap(), vec![atom(b"\x40")]);
    assert!(parse(b"'\\x4'").is_err());
    assert_eq!(parse(b"'\\101\\0'").unwrap(), vec![atom(b"A\0")]);
    assert_eq!(parse(b"'\\q'").unwrap(), vec![atom(b"\\")]);
    // Atoms stop at separators but start with them; # starts a comment.
    assert_eq!(parse(b"a;b").unwrap(), vec![atom(b"a"), atom(b";b")]);
    assert_eq!(parse(b"a#b\nc").unwrap(), vec![atom(b"a"), atom(b"c")]);
    assert!(parse("é".as_bytes()).is_err());
    assert_eq!(parse("aé".as_bytes()).unwrap(), vec![atom("aé".as_bytes())]);
    assert!(parse(b"(a ").is_err());
    assert_eq!(
        parse(b"x (a").unwrap(),
        vec![atom(b"x")],
        "xend drops a list cut off in an atom"
    );
    assert!(parse(b")").is_err());
    assert_eq!(parse(b"a \x04(").unwrap(), vec![atom(b"a")]);
    assert!(parse(b"a\x04(").is_err(), "inside an atom \\x04 is kept");
}
