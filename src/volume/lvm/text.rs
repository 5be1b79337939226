//! A bounded parser of LVM2's text metadata format (lvm.conf syntax): sections
//! `name { … }`, assignments `name = value`, values that are strings (`"…"` with `\"` and `\\`
//! escapes), integers, floats or flat arrays `[v, v]`, and `#` comments.
//!
//! Bounded by construction: the input is capped by the caller, nesting by
//! [`MAX_LVM_NESTING`] (the parser recurses once per section), and the number of values by
//! [`MAX_LVM_NODES`]; arrays do not nest (LVM never writes nested arrays).

use crate::limits::{MAX_LVM_NESTING, MAX_LVM_NODES};

/// A value on the right of `=`.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Str(String),
    Int(i64),
    /// A number with a fraction or exponent, kept as written (LVM stores none we use).
    Float(String),
    Array(Vec<Value>),
}

/// One item of a section.
#[derive(Clone, Debug, PartialEq)]
pub enum Item {
    Section(Section),
    Assign(String, Value),
}

/// A named section (the whole text is an unnamed one).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Section {
    pub name: String,
    pub items: Vec<Item>,
}

impl Section {
    /// The value assigned to `key` (the last one, as LVM's config tree does).
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.items.iter().rev().find_map(|i| match i {
            Item::Assign(k, v) if k == key => Some(v),
            _ => None,
        })
    }

    /// The sub-section `name`.
    pub fn section(&self, name: &str) -> Option<&Section> {
        self.sections().find(|s| s.name == name)
    }

    /// Every sub-section, in order.
    pub fn sections(&self) -> impl Iterator<Item = &Section> {
        self.items.iter().filter_map(|i| match i {
            Item::Section(s) => Some(s),
            Item::Assign(..) => None,
        })
    }

    /// `key` as a string.
    pub fn str(&self, key: &str) -> Option<&str> {
        match self.get(key)? {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// `key` as a non-negative integer.
    pub fn uint(&self, key: &str) -> Option<u64> {
        match self.get(key)? {
            Value::Int(i) => u64::try_from(*i).ok(),
            _ => None,
        }
    }
}

/// Why a text could not be parsed: what and where (1-based line).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {what}")]
pub struct TextError {
    pub line: usize,
    pub what: String,
}

/// Parses a whole metadata text.
pub fn parse(text: &[u8]) -> Result<Section, TextError> {
    let mut p = Parser {
        s: text,
        pos: 0,
        line: 1,
        nodes: 0,
    };
    let items = p.items(0)?;
    match p.peek() {
        None => Ok(Section {
            name: String::new(),
            items,
        }),
        Some(_) => Err(p.err("unexpected '}'")),
    }
}

struct Parser<'a> {
    s: &'a [u8],
    pos: usize,
    line: usize,
    nodes: usize,
}

fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"_.+-".contains(&b)
}

impl Parser<'_> {
    fn err(&self, what: impl Into<String>) -> TextError {
        TextError {
            line: self.line,
            what: what.into(),
        }
    }

    /// Counts one node against [`MAX_LVM_NODES`].
    fn node(&mut self) -> Result<(), TextError> {
        self.nodes += 1;
        match self.nodes > MAX_LVM_NODES {
            true => Err(self.err(format!("more than {MAX_LVM_NODES} values"))),
            false => Ok(()),
        }
    }

    /// Skips blanks, newlines, NULs (the text is NUL-terminated) and comments; returns the
    /// next significant byte.
    fn peek(&mut self) -> Option<u8> {
        while let Some(&b) = self.s.get(self.pos) {
            match b {
                b'\n' => self.line += 1,
                b' ' | b'\t' | b'\r' | 0 => {}
                b'#' => {
                    while self.s.get(self.pos).is_some_and(|&c| c != b'\n') {
                        self.pos += 1;
                    }
                    continue;
                }
                _ => return Some(b),
            }
            self.pos += 1;
        }
        None
    }

    fn expect(&mut self, want: u8) -> Result<(), TextError> {
        match self.peek() {
            Some(b) if b == want => {
                self.pos += 1;
                Ok(())
            }
            _ => Err(self.err(format!("expected '{}'", char::from(want)))),
        }
    }

    /// Items up to the end of the text or a `}` (not consumed).
    fn items(&mut self, depth: usize) -> Result<Vec<Item>, TextError> {
        let mut items = Vec::new();
        while let Some(b) = self.peek() {
            if b == b'}' {
                break;
            }
            let name = self.name()?;
            self.node()?;
            match self.peek() {
                Some(b'{') => {
                    if depth >= MAX_LVM_NESTING {
                        return Err(
                            self.err(format!("sections nested deeper than {MAX_LVM_NESTING}"))
                        );
                    }
                    self.pos += 1;
                    let inner = self.items(depth + 1)?;
                    self.expect(b'}')?;
                    items.push(Item::Section(Section { name, items: inner }));
                }
                Some(b'=') => {
                    self.pos += 1;
                    let v = self.value(true)?;
                    items.push(Item::Assign(name, v));
                }
                _ => return Err(self.err(format!("expected '=' or '{{' after {name:?}"))),
            }
        }
        Ok(items)
    }

    fn name(&mut self) -> Result<String, TextError> {
        let start = self.pos;
        while self.s.get(self.pos).copied().is_some_and(is_name_byte) {
            self.pos += 1;
        }
        match self.s.get(start..self.pos) {
            Some(n) if !n.is_empty() => Ok(String::from_utf8_lossy(n).into_owned()),
            _ => Err(self.err("expected a name")),
        }
    }

    fn value(&mut self, array_ok: bool) -> Result<Value, TextError> {
        match self.peek() {
            Some(b'"') => self.string(),
            Some(b'[') if array_ok => self.array(),
            Some(b) if b == b'-' || b.is_ascii_digit() => self.number(),
            _ => Err(self.err("expected a value")),
        }
    }

    fn array(&mut self) -> Result<Value, TextError> {
        self.pos += 1; // '['
        let mut v = Vec::new();
        loop {
            if self.peek() == Some(b']') {
                self.pos += 1;
                return Ok(Value::Array(v));
            }
            if !v.is_empty() {
                self.expect(b',')?;
            }
            self.node()?;
            v.push(self.value(false)?);
        }
    }

    fn string(&mut self) -> Result<Value, TextError> {
        self.pos += 1; // '"'
        let mut out = Vec::new();
        loop {
            match self.s.get(self.pos) {
                None => return Err(self.err("unterminated string")),
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(Value::Str(String::from_utf8_lossy(&out).into_owned()));
                }
                Some(b'\\') => {
                    let c = self.s.get(self.pos + 1).copied();
                    out.push(c.ok_or_else(|| self.err("unterminated string"))?);
                    self.pos += 2;
                }
                Some(&c) => {
                    if c == b'\n' {
                        self.line += 1;
                    }
                    out.push(c);
                    self.pos += 1;
                }
            }
        }
    }

    fn number(&mut self) -> Result<Value, TextError> {
        let start = self.pos;
        while self
            .s
            .get(self.pos)
            .is_some_and(|&b| b.is_ascii_alphanumeric() || b"-+.".contains(&b))
        {
            self.pos += 1;
        }
        let t =
            String::from_utf8_lossy(self.s.get(start..self.pos).unwrap_or_default()).into_owned();
        if let Ok(i) = t.parse::<i64>() {
            return Ok(Value::Int(i));
        }
        match t.parse::<f64>() {
            Ok(_) => Ok(Value::Float(t)),
            Err(_) => Err(self.err(format!("bad number {t:?}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"vg {
id = "abc"
seqno = 3
status = ["RESIZEABLE", "READ", "WRITE"]
flags = []
extent_size = 8192 # 4 Megabytes
logical_volumes {
root {
segment1 {
stripes = [
"pv0", 0
]
}
}
}
}
# Generated by LVM2
contents = "Text Format Volume Group"
description = "say \"hi\" \\ there"
creation_time = 1700000000
f = 1.5
"#;

    #[test]
    fn parses_lvm_text() {
        let root = parse(format!("{SAMPLE}\0").as_bytes()).unwrap();
        let vg = root.section("vg").unwrap();
        assert_eq!(vg.str("id"), Some("abc"));
        assert_eq!(vg.uint("seqno"), Some(3));
        assert_eq!(vg.uint("extent_size"), Some(8192));
        assert_eq!(vg.get("flags"), Some(&Value::Array(vec![])));
        let seg = vg
            .section("logical_volumes")
            .and_then(|l| l.section("root"))
            .and_then(|r| r.section("segment1"))
            .unwrap();
        assert_eq!(
            seg.get("stripes"),
            Some(&Value::Array(vec![Value::Str("pv0".into()), Value::Int(0)]))
        );
        assert_eq!(root.str("description"), Some("say \"hi\" \\ there"));
        assert_eq!(root.get("f"), Some(&Value::Float("1.5".into())));
    }

    #[test]
    fn refuses_bad_text() {
        for bad in [
            "a {",
            "a = ",
            "a = [1, [2]]",
            "a = \"x",
            "}",
            "a b",
            "a = [1 2]",
            "a = 1x",
        ] {
            assert!(parse(bad.as_bytes()).is_err(), "{bad:?}");
        }
        let deep = "a {".repeat(MAX_LVM_NESTING + 1) + &"}".repeat(MAX_LVM_NESTING + 1);
        let e = parse(deep.as_bytes()).unwrap_err();
        assert!(e.what.contains("nested"), "{e}");
        let ok = "a {".repeat(MAX_LVM_NESTING) + &"}".repeat(MAX_LVM_NESTING);
        assert!(parse(ok.as_bytes()).is_ok());
        let many = "a = [".to_owned() + &"1,".repeat(MAX_LVM_NODES) + "1]";
        assert!(parse(many.as_bytes()).unwrap_err().what.contains("values"));
    }

    #[test]
    fn noise_never_panics() {
        for seed in 0..300 {
            let t = crate::testutil::noise(seed, 400, b"ab{}[]=,\"\\#\n 0-1.x");
            let _ = parse(&t);
        }
    }
}
