//! grub2 `grub.cfg`: a small lexer for grub's shell-like script (quotes, escapes, `\`
//! line continuation, `;`, comments, `{`/`}`) and a reader that collects `menuentry` blocks,
//! flattening `submenu`s as pygrub does. Nothing is evaluated: `if`/`while` bodies are read
//! but remembered as conditional, `function` bodies are skipped, `$variables` stay text.
//!
//! Choices (pygrub parity first, grub semantics where pygrub has none):
//! - Entry numbers are pygrub's flat numbering; a `>`-path default (`Sub>Entry`, `1>2`,
//!   ids) walks the submenu tree like grub.
//! - `set default=` counts only when it runs unconditionally or in an `else` branch: the
//!   `then` branches of generated configs handle one-shot state (`next_entry`,
//!   boot-counting fallbacks) that is unset on a normal boot.
//! - A default naming a variable (`${saved_entry}`) or `saved` is entry 0 (pygrub), unless
//!   the caller passes grub's environment block to [`parse_with_env`]: then the variables
//!   are substituted first, as grub's `load_env` makes them (`saved_entry`), and the result
//!   resolves like any other default.
//! - `linux`/`linux16`/`linuxefi` and `initrd`/`initrd16`/`initrdefi`: last one in an entry
//!   wins (each replaces the previous, as in grub); initrd words that are variables are
//!   dropped. Entries without one (multiboot, `fwsetup`) are kept, with an empty kernel.
//! - `blscfg` records where grub would insert BLS entries; `source`/`configfile` targets
//!   are listed in [`Menu::includes`], not followed.

use super::{lossy, push_entry, strip_device, ConfigError, ConfigKind, Menu, MenuEntry};
use crate::limits::MAX_CONFIG_NESTING;
use std::collections::BTreeMap;

/// Parses a grub2 configuration.
pub fn parse(bytes: &[u8]) -> Result<Menu, ConfigError> {
    parse_with_env(bytes, &[])
}

/// Parses a grub2 configuration whose `load_env` reads `grubenv` (from [`parse_grubenv`]):
/// a default naming variables (`${saved_entry}`) is substituted from it (and from the
/// config's own literal `set`s, which it overrides) and then resolved like a written one;
/// [`Menu::default_spec`] holds the substituted text. Nothing else is evaluated.
pub fn parse_with_env(bytes: &[u8], grubenv: &[(String, String)]) -> Result<Menu, ConfigError> {
    super::check_size(bytes)?;
    let mut r = Reader::new(bytes);
    let mut lex = Lexer::new(bytes);
    while let Some(item) = lex.next_item() {
        match item {
            Item::Close => r.close()?,
            Item::Cmd { words, opens } => r.command(words, opens)?,
        }
    }
    while !r.frames.is_empty() || r.overflow > 0 {
        r.close()?;
    }
    r.expand_default(grubenv);
    Ok(r.finish())
}

/// Substitutes variables in every entry's kernel arguments from `env` (the config's literal
/// `set`s, then grubenv): what grub's `linux` command receives. Unset variables expand to
/// nothing, as in grub. Only substitution: nothing is evaluated.
pub fn expand_entry_args(menu: &mut Menu, env: &[(String, String)]) -> Result<(), ConfigError> {
    for e in &mut menu.entries {
        if e.args.contains('$') {
            // grub splits the expanded line into words: an empty variable leaves no gap.
            let expanded = super::expand_vars(&e.args, env)?;
            e.args = expanded.split_whitespace().collect::<Vec<_>>().join(" ");
        }
    }
    Ok(())
}

/// grub's environment block (`grubenv`): `name=value` lines after a `#` header, padded with
/// `#`. Values unescape `\x` to `x` (grub escapes `\` and newlines that way).
pub fn parse_grubenv(bytes: &[u8]) -> Vec<(String, String)> {
    let mut vars = BTreeMap::new();
    for line in bytes.split(|&c| c == b'\n') {
        if line.first().is_none_or(|&c| c == b'#') {
            continue;
        }
        let Some(eq) = line.iter().position(|&c| c == b'=') else {
            continue;
        };
        let (name, value) = line.split_at(eq);
        let mut v = Vec::with_capacity(value.len());
        let mut it = value.iter().skip(1);
        while let Some(&c) = it.next() {
            v.push(if c == b'\\' {
                it.next().copied().unwrap_or(c)
            } else {
                c
            });
        }
        vars.insert(lossy(name), lossy(&v));
    }
    vars.into_iter().collect()
}

// ---------------------------------------------------------------------------------------
// Lexer

/// One word: its text with quotes and escapes removed (variables left as `$name`) and its
/// byte span in the input, so arguments can be kept exactly as written.
#[derive(Debug)]
struct Word {
    text: Vec<u8>,
    start: usize,
    end: usize,
    /// No quote or escape in it: only a bare `{`/`}` word is a brace.
    bare: bool,
}

#[derive(Debug)]
enum Item {
    /// A command; `opens` when it ended with a bare `{` (menuentry, submenu, function).
    Cmd { words: Vec<Word>, opens: bool },
    /// A bare `}`.
    Close,
}

struct Lexer<'a> {
    b: &'a [u8],
    i: usize,
    pending_close: bool,
}

impl<'a> Lexer<'a> {
    fn new(b: &'a [u8]) -> Self {
        Lexer {
            b,
            i: 0,
            pending_close: false,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn peek2(&self) -> Option<u8> {
        self.b.get(self.i.checked_add(1)?).copied()
    }

    /// The next command or brace; `None` at the end of input. Every call consumes input or
    /// returns a pending `}`, so the loop over it ends.
    fn next_item(&mut self) -> Option<Item> {
        if std::mem::take(&mut self.pending_close) {
            return Some(Item::Close);
        }
        let mut words = Vec::new();
        loop {
            self.skip_blanks();
            match self.peek() {
                None => {
                    return (!words.is_empty()).then_some(Item::Cmd {
                        words,
                        opens: false,
                    })
                }
                Some(b'\n' | b';') => {
                    self.i += 1;
                    if !words.is_empty() {
                        return Some(Item::Cmd {
                            words,
                            opens: false,
                        });
                    }
                }
                Some(b'#') => self.skip_comment(),
                Some(_) => {
                    let w = self.word();
                    if w.bare && w.text == b"{" {
                        return Some(Item::Cmd { words, opens: true });
                    }
                    if w.bare && w.text == b"}" {
                        if words.is_empty() {
                            return Some(Item::Close);
                        }
                        self.pending_close = true;
                        return Some(Item::Cmd {
                            words,
                            opens: false,
                        });
                    }
                    words.push(w);
                }
            }
        }
    }

    fn skip_blanks(&mut self) {
        while let Some(c) = self.peek() {
            if c == b'\\' && self.peek2() == Some(b'\n') {
                self.i += 2;
            } else if matches!(c, b' ' | b'\t' | b'\r' | 0x0b | 0x0c) {
                self.i += 1;
            } else {
                break;
            }
        }
    }

    fn skip_comment(&mut self) {
        while self.peek().is_some_and(|c| c != b'\n') {
            self.i += 1;
        }
    }

    fn word(&mut self) -> Word {
        let start = self.i;
        let mut text = Vec::new();
        let mut bare = true;
        while let Some(c) = self.peek() {
            match c {
                b' ' | b'\t' | b'\r' | 0x0b | 0x0c | b'\n' | b';' => break,
                b'\\' => {
                    self.i += 1;
                    match self.peek() {
                        Some(b'\n') => self.i += 1,
                        Some(n) => {
                            bare = false;
                            text.push(n);
                            self.i += 1;
                        }
                        None => text.push(b'\\'),
                    }
                }
                b'\'' => {
                    bare = false;
                    self.single_quoted(&mut text);
                }
                b'"' => {
                    bare = false;
                    self.double_quoted(&mut text);
                }
                _ => {
                    text.push(c);
                    self.i += 1;
                }
            }
        }
        Word {
            text,
            start,
            end: self.i,
            bare,
        }
    }

    /// `'…'`: literal up to the next `'` (or the end of input).
    fn single_quoted(&mut self, text: &mut Vec<u8>) {
        self.i += 1;
        while let Some(c) = self.peek() {
            self.i += 1;
            if c == b'\'' {
                return;
            }
            text.push(c);
        }
    }

    /// `"…"`: `\` escapes `\`, `"`, `$` and a newline (continuation); other `\x` stay.
    fn double_quoted(&mut self, text: &mut Vec<u8>) {
        self.i += 1;
        while let Some(c) = self.peek() {
            self.i += 1;
            match c {
                b'"' => return,
                b'\\' => match self.peek() {
                    Some(b'\n') => self.i += 1,
                    Some(n @ (b'\\' | b'"' | b'$')) => {
                        text.push(n);
                        self.i += 1;
                    }
                    _ => text.push(c),
                },
                _ => text.push(c),
            }
        }
    }
}

/// The raw text spanning `words`, line continuations removed, ends trimmed.
fn raw_span(input: &[u8], words: &[Word]) -> String {
    let (Some(first), Some(last)) = (words.first(), words.last()) else {
        return String::new();
    };
    let raw = input.get(first.start..last.end).unwrap_or_default();
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while let Some(&c) = raw.get(i) {
        if c == b'\\' && raw.get(i + 1) == Some(&b'\n') {
            i += 2;
            continue;
        }
        out.push(c);
        i += 1;
    }
    String::from_utf8_lossy(&out).trim().to_owned()
}

// ---------------------------------------------------------------------------------------
// Reader

#[derive(Debug, Clone, Copy, PartialEq)]
enum Branch {
    /// The condition of `if`/`while`, or a `then`/`do` body: not run on a normal boot.
    Conditional,
    /// An `else` body.
    Else,
}

#[derive(Debug)]
enum Frame {
    Entry(Box<MenuEntry>),
    Submenu,
    /// `function` bodies and unknown `{` blocks: contents ignored.
    Skip,
}

/// The submenu tree, for `>`-path defaults: leaves are indices into the flat entry list.
#[derive(Debug)]
enum Node {
    Entry(usize),
    Sub {
        title: String,
        id: Option<String>,
        children: Vec<Node>,
    },
}

struct Reader<'a> {
    input: &'a [u8],
    menu: Menu,
    /// Open brace blocks, each with the `conds` depth at its start (restored on close).
    frames: Vec<(Frame, usize)>,
    /// Blocks beyond MAX_CONFIG_NESTING: counted so their `}` balance, contents ignored.
    overflow: usize,
    conds: Vec<Branch>,
    cond_overflow: usize,
    /// Children of each open submenu; `tree[0]` is the top level.
    tree: Vec<Vec<Node>>,
    /// (title, id) of each open submenu, parallel to `tree[1..]`.
    subs: Vec<(String, Option<String>)>,
    root_hint: Option<String>,
    env: BTreeMap<String, String>,
}

impl<'a> Reader<'a> {
    fn new(input: &'a [u8]) -> Self {
        Reader {
            input,
            menu: Menu::new(ConfigKind::Grub2),
            frames: Vec::new(),
            overflow: 0,
            conds: Vec::new(),
            cond_overflow: 0,
            tree: vec![Vec::new()],
            subs: Vec::new(),
            root_hint: None,
            env: BTreeMap::new(),
        }
    }

    fn skipping(&self) -> bool {
        self.overflow > 0 || self.frames.iter().any(|(f, _)| matches!(f, Frame::Skip))
    }

    fn in_entry(&self) -> Option<&(Frame, usize)> {
        self.frames
            .iter()
            .rev()
            .find(|(f, _)| matches!(f, Frame::Entry(_)))
    }

    fn unconditional(&self) -> bool {
        self.cond_overflow == 0 && self.conds.iter().all(|b| *b == Branch::Else)
    }

    fn command(&mut self, words: Vec<Word>, opens: bool) -> Result<(), ConfigError> {
        let words = self.strip_keywords(words);
        let Some(first) = words.first() else {
            if opens {
                self.open(Frame::Skip);
            }
            return Ok(());
        };
        if opens {
            let frame = match (
                first.text.as_slice(),
                self.skipping() || self.in_entry().is_some(),
            ) {
                (b"menuentry", false) => self.menuentry(&words),
                (b"submenu", false) => self.submenu(&words),
                _ => Frame::Skip,
            };
            self.open(frame);
            return Ok(());
        }
        if self.skipping() {
            return Ok(());
        }
        if self.in_entry().is_some() {
            self.entry_command(&words);
        } else {
            self.top_command(&words);
        }
        Ok(())
    }

    /// Applies `if`/`then`/`elif`/`else`/`fi` (and loops) to the branch stack and returns
    /// the command that follows them on the same line (`then insmod xzio`).
    fn strip_keywords(&mut self, mut words: Vec<Word>) -> Vec<Word> {
        let mut skip = 0;
        for w in &words {
            match w.text.as_slice() {
                b"if" | b"while" | b"until" | b"for" => {
                    self.push_cond();
                    return Vec::new();
                }
                b"elif" => {
                    self.set_cond(Branch::Conditional);
                    return Vec::new();
                }
                b"then" | b"do" => self.set_cond(Branch::Conditional),
                b"else" => self.set_cond(Branch::Else),
                b"fi" | b"done" => self.pop_cond(),
                _ => break,
            }
            skip += 1;
        }
        words.drain(..skip);
        words
    }

    fn push_cond(&mut self) {
        if self.conds.len() < MAX_CONFIG_NESTING {
            self.conds.push(Branch::Conditional);
        } else {
            self.cond_overflow = self.cond_overflow.saturating_add(1);
        }
    }

    fn set_cond(&mut self, b: Branch) {
        if self.cond_overflow == 0 {
            let base = self.frames.last().map_or(0, |(_, d)| *d);
            if self.conds.len() > base {
                if let Some(top) = self.conds.last_mut() {
                    *top = b;
                }
            }
        }
    }

    fn pop_cond(&mut self) {
        if self.cond_overflow > 0 {
            self.cond_overflow -= 1;
            return;
        }
        // An `fi` never closes an `if` opened outside the current block.
        let base = self.frames.last().map_or(0, |(_, d)| *d);
        if self.conds.len() > base {
            self.conds.pop();
        }
    }

    fn open(&mut self, frame: Frame) {
        if self.overflow > 0 || self.frames.len() >= MAX_CONFIG_NESTING {
            self.overflow = self.overflow.saturating_add(1);
            return;
        }
        if matches!(frame, Frame::Submenu) {
            self.tree.push(Vec::new());
        }
        self.frames.push((frame, self.conds.len()));
    }

    fn close(&mut self) -> Result<(), ConfigError> {
        if self.overflow > 0 {
            self.overflow -= 1;
            return Ok(());
        }
        let Some((frame, depth)) = self.frames.pop() else {
            return Ok(()); // stray `}`
        };
        self.conds.truncate(depth);
        self.cond_overflow = 0;
        match frame {
            Frame::Entry(e) => {
                let idx = self.menu.entries.len();
                push_entry(&mut self.menu.entries, *e)?;
                if let Some(level) = self.tree.last_mut() {
                    level.push(Node::Entry(idx));
                }
            }
            Frame::Submenu => {
                let children = self.tree.pop().unwrap_or_default();
                let (title, id) = self.subs.pop().unwrap_or_default();
                if let Some(level) = self.tree.last_mut() {
                    level.push(Node::Sub {
                        title,
                        id,
                        children,
                    });
                }
            }
            Frame::Skip => {}
        }
        Ok(())
    }

    fn menuentry(&mut self, words: &[Word]) -> Frame {
        let Some((title, id)) = header(words) else {
            return Frame::Skip;
        };
        Frame::Entry(Box::new(MenuEntry {
            title,
            id,
            device_hint: self.root_hint.clone(),
            submenu: self.subs.iter().map(|(t, _)| t.clone()).collect(),
            ..MenuEntry::default()
        }))
    }

    fn submenu(&mut self, words: &[Word]) -> Frame {
        let Some(head) = header(words) else {
            return Frame::Skip;
        };
        if self.frames.len() < MAX_CONFIG_NESTING {
            self.subs.push(head);
        }
        Frame::Submenu
    }

    fn current_entry(&mut self) -> Option<&mut MenuEntry> {
        self.frames.iter_mut().rev().find_map(|(f, _)| match f {
            Frame::Entry(e) => Some(e.as_mut()),
            _ => None,
        })
    }

    fn entry_command(&mut self, words: &[Word]) {
        let input = self.input;
        let Some(e) = self.current_entry() else {
            return;
        };
        let Some((cmd, rest)) = words.split_first() else {
            return;
        };
        match cmd.text.as_slice() {
            b"linux" | b"linux16" | b"linuxefi" => {
                let Some((path, args)) = rest.split_first() else {
                    return;
                };
                let (hint, p) = strip_device(&path.text);
                e.kernel = p;
                e.args = raw_span(input, args);
                if hint.is_some() {
                    e.device_hint = hint;
                }
            }
            b"initrd" | b"initrd16" | b"initrdefi" => {
                e.initrd = rest
                    .iter()
                    .filter(|w| !w.text.starts_with(b"$") && !w.text.starts_with(b"--"))
                    .map(|w| strip_device(&w.text).1)
                    .filter(|p| !p.is_empty())
                    .collect();
            }
            _ => {
                if let Some((name, value)) = assignment(words) {
                    if name == b"root" && !value.contains(&b'$') {
                        e.device_hint = Some(root_hint(value));
                    }
                }
            }
        }
    }

    fn top_command(&mut self, words: &[Word]) {
        let Some((cmd, rest)) = words.split_first() else {
            return;
        };
        match cmd.text.as_slice() {
            b"blscfg" => {
                self.menu.blscfg.get_or_insert(self.menu.entries.len());
            }
            b"source" | b"configfile" | b"." => {
                if let Some(target) = rest.first() {
                    self.menu.includes.push(target.text.clone());
                }
            }
            _ => self.top_assignment(words),
        }
    }

    fn top_assignment(&mut self, words: &[Word]) {
        let Some((name, value)) = assignment(words) else {
            return;
        };
        let unconditional = self.unconditional();
        let literal = !value.contains(&b'$');
        match name {
            b"default" if unconditional && self.frames.is_empty() => {
                self.menu.default_spec = Some(lossy(value));
            }
            b"root" if literal && unconditional => self.root_hint = Some(root_hint(value)),
            _ => {}
        }
        if literal {
            self.env.insert(lossy(name), lossy(value));
        }
    }

    /// `set default="${saved_entry}"` (or grub-legacy's `saved`, which grub2 reads the same
    /// way) with `saved_entry` from grubenv: the default becomes what the variables hold.
    /// Unset or still-variable results leave the spec alone (entry 0, as grub does).
    fn expand_default(&mut self, grubenv: &[(String, String)]) {
        let Some(spec) = self.menu.default_spec.as_deref() else {
            return;
        };
        if grubenv.is_empty() || !super::is_saved_or_variable(spec) {
            return;
        }
        let spec = if spec.trim() == "saved" {
            "${saved_entry}"
        } else {
            spec
        };
        let env: Vec<(String, String)> = self
            .env
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .chain(grubenv.iter().cloned())
            .collect();
        if let Ok(value) = super::expand_vars(spec, &env) {
            if !super::is_saved_or_variable(&value) {
                self.menu.default_spec = Some(value);
            }
        }
    }

    fn finish(mut self) -> Menu {
        let top = self.tree.into_iter().next().unwrap_or_default();
        self.menu.default = match self.menu.default_spec.as_deref() {
            Some(spec) if spec.contains('>') && !super::is_saved_or_variable(spec) => {
                walk_path(&top, &self.menu.entries, spec)
                    .unwrap_or_else(|| self.menu.resolve_spec())
            }
            _ => self.menu.resolve_spec(),
        };
        self.menu.env = self.env.into_iter().collect();
        self.menu
    }
}

/// `set name=value` or `name=value`: the name and the value of that one word.
fn assignment(words: &[Word]) -> Option<(&[u8], &[u8])> {
    let word = match words.first()?.text.as_slice() {
        b"set" => words.get(1)?,
        _ => words.first()?,
    };
    let eq = word.text.iter().position(|&c| c == b'=')?;
    let (name, value) = word.text.split_at(eq);
    let valid = !name.is_empty() && name.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_');
    valid.then(|| (name, value.get(1..).unwrap_or_default()))
}

/// `hd0,msdos1` or `(hd0,msdos1)` → `(hd0,msdos1)`.
fn root_hint(value: &[u8]) -> String {
    let v = lossy(value);
    if v.starts_with('(') {
        v
    } else {
        format!("({v})")
    }
}

/// Title and id of a `menuentry`/`submenu` header: options (`--class x`, `--id=x`,
/// `$menuentry_id_option 'x'`) are skipped, the first other word is the title.
fn header(words: &[Word]) -> Option<(String, Option<String>)> {
    let mut title = None;
    let mut id = None;
    let mut it = words.iter().skip(1);
    while let Some(w) = it.next() {
        let t = w.text.as_slice();
        if t == b"$menuentry_id_option" || t == b"${menuentry_id_option}" || t == b"--id" {
            id = it.next().map(|v| lossy(&v.text));
        } else if let Some(v) = t.strip_prefix(b"--id=") {
            id = Some(lossy(v));
        } else if matches!(t, b"--class" | b"--users" | b"--hotkey" | b"--source") {
            it.next();
        } else if t.starts_with(b"--") || t.starts_with(b"$") {
            // a flag (`--unrestricted`, `--hotkey=x`) or an unknown variable
        } else if title.is_none() {
            title = Some(lossy(t));
        }
    }
    Some((title?, id))
}

/// grub's `>`-path: each component is an index at its level (submenus count as one) or a
/// title or id; a path ending on a submenu selects its first entry.
fn walk_path(top: &[Node], entries: &[MenuEntry], spec: &str) -> Option<usize> {
    let named = |n: &Node, c: &str| match n {
        Node::Entry(i) => entries
            .get(*i)
            .is_some_and(|e| e.title == c || e.id.as_deref() == Some(c)),
        Node::Sub { title, id, .. } => title == c || id.as_deref() == Some(c),
    };
    let mut level = top;
    let mut comps = spec.split('>').peekable();
    while let Some(c) = comps.next() {
        let node = match super::parse_index(c) {
            Some(n) => level.get(n)?,
            None => level.iter().find(|n| named(n, c))?,
        };
        let last = comps.peek().is_none();
        match node {
            Node::Entry(i) => return last.then_some(*i),
            Node::Sub { children, .. } if last => return first_entry(children),
            Node::Sub { children, .. } => level = children,
        }
    }
    None
}

/// The first entry in depth-first order (a submenu chosen as default boots its first entry).
fn first_entry(nodes: &[Node]) -> Option<usize> {
    let mut stack: Vec<std::slice::Iter<'_, Node>> = vec![nodes.iter()];
    while let Some(top) = stack.last_mut() {
        match top.next() {
            None => {
                stack.pop();
            }
            Some(Node::Entry(i)) => return Some(*i),
            Some(Node::Sub { children, .. }) => stack.push(children.iter()),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_args_expand_like_grubs_linux_command() {
        let cfg = b"set btrfs_relative_path=\"y\"\nset vt_handoff=vt.handoff=7\n\
menuentry 'SLES' {\n  linux /boot/vmlinuz root=UUID=x ${extra_cmdline} quiet $vt_handoff '$kept'\n}\n";
        let mut menu = parse(cfg).unwrap();
        assert!(
            menu.entries[0].args.contains("${extra_cmdline}"),
            "parsed verbatim"
        );
        let env: Vec<_> = menu.env.clone();
        expand_entry_args(&mut menu, &env).unwrap();
        assert_eq!(
            menu.entries[0].args,
            "root=UUID=x quiet vt.handoff=7 '$kept'"
        );
    }

    fn titles(m: &Menu) -> Vec<&str> {
        m.entries.iter().map(|e| e.title.as_str()).collect()
    }

    const DEBIAN: &[u8] = br#"
set default="Advanced options for Debian>Debian, with Linux 6.1.0-9-amd64"
function load_video {
  if [ x$feature_all_video_module = xy ]; then
    insmod all_video
  fi
}
menuentry 'Debian' --class debian $menuentry_id_option 'gnulinux-simple' {
	set root='hd0,msdos1'
	linux	/boot/vmlinuz-6.1.0-13-amd64 root=UUID=x ro  quiet
	initrd	/boot/initrd.img-6.1.0-13-amd64
}
submenu 'Advanced options for Debian' $menuentry_id_option 'gnulinux-advanced' {
	menuentry 'Debian, with Linux 6.1.0-13-amd64' --id 'g-13' {
		linux	(hd0,msdos2)/boot/vmlinuz-6.1.0-13-amd64 root=UUID=x ro
	}
	menuentry "Debian, with Linux 6.1.0-9-amd64" --id=g-9 {
		linux	($root)/boot/vmlinuz-6.1.0-9-amd64 root=UUID=x ro
		initrd	/boot/initrd.img-6.1.0-9-amd64
	}
}
menuentry 'UEFI Firmware Settings' $menuentry_id_option 'uefi-firmware' {
	fwsetup
}
"#;

    #[test]
    fn entries_submenus_and_title_path_default() {
        let m = parse(DEBIAN).unwrap();
        assert_eq!(
            titles(&m),
            [
                "Debian",
                "Debian, with Linux 6.1.0-13-amd64",
                "Debian, with Linux 6.1.0-9-amd64",
                "UEFI Firmware Settings"
            ]
        );
        assert_eq!(m.default, 2);
        let e = &m.entries[0];
        assert_eq!(e.kernel, b"/boot/vmlinuz-6.1.0-13-amd64");
        assert_eq!(e.args, "root=UUID=x ro  quiet");
        assert_eq!(e.initrd, vec![b"/boot/initrd.img-6.1.0-13-amd64".to_vec()]);
        assert_eq!(e.device_hint.as_deref(), Some("(hd0,msdos1)"));
        assert_eq!(e.id.as_deref(), Some("gnulinux-simple"));
        let e = &m.entries[1];
        assert_eq!(e.device_hint.as_deref(), Some("(hd0,msdos2)"));
        assert_eq!(e.id.as_deref(), Some("g-13"));
        assert_eq!(e.submenu, ["Advanced options for Debian"]);
        assert!(e.initrd.is_empty());
        let e = &m.entries[2];
        assert_eq!(e.kernel, b"/boot/vmlinuz-6.1.0-9-amd64");
        assert_eq!(e.device_hint, None);
        assert_eq!(e.id.as_deref(), Some("g-9"));
        assert!(!m.entries[3].is_bootable());
    }

    fn default_of(spec: &str) -> usize {
        let mut cfg = format!("set default={spec}\n").into_bytes();
        cfg.extend_from_slice(
            DEBIAN
                .split(|&c| c == b'\n')
                .skip(2)
                .collect::<Vec<_>>()
                .join(&b'\n')
                .as_slice(),
        );
        parse(&cfg).unwrap().default
    }

    #[test]
    fn default_forms() {
        assert_eq!(default_of("0"), 0);
        assert_eq!(default_of("2"), 2); // pygrub's flat index
        assert_eq!(default_of("9"), 0); // out of range
        assert_eq!(default_of("'UEFI Firmware Settings'"), 3);
        assert_eq!(default_of("uefi-firmware"), 3);
        assert_eq!(default_of("\"Debian, with Linux 6.1.0-9-amd64\""), 2); // flat title (pygrub)
        assert_eq!(default_of("1>1"), 2); // grub: top-level item 1 is the submenu
        assert_eq!(default_of("1"), 1);
        assert_eq!(default_of("gnulinux-advanced>g-13"), 1);
        assert_eq!(default_of("gnulinux-advanced"), 0); // not a path: flat lookup, no match
        assert_eq!(default_of("gnulinux-advanced>"), 0);
        assert_eq!(default_of("1>"), 0);
        assert_eq!(default_of("\"Nope>Debian, with Linux 6.1.0-9-amd64\""), 2); // leaf fallback
        assert_eq!(default_of("2>0"), 0); // entry, not submenu
        assert_eq!(default_of("saved"), 0);
        assert_eq!(default_of("\"${saved_entry}\""), 0);
        assert_eq!(default_of("\"${next_entry}>1\""), 0);
    }

    #[test]
    fn saved_entry_default_from_grubenv() {
        let cfg = |spec: &str| {
            let mut c = format!(
                "if [ \"${{next_entry}}\" ] ; then\n set default=\"${{next_entry}}\"\nelse\n set default={spec}\nfi\n"
            )
            .into_bytes();
            c.extend_from_slice(
                DEBIAN
                    .split(|&c| c == b'\n')
                    .skip(2)
                    .collect::<Vec<_>>()
                    .join(&b'\n')
                    .as_slice(),
            );
            c
        };
        let env = |v: &str| vec![("saved_entry".to_owned(), v.to_owned())];
        let with = |spec: &str, saved: &str| parse_with_env(&cfg(spec), &env(saved)).unwrap();
        // grub-set-default writes titles, ids or `>`-paths of either (numeric too).
        assert_eq!(
            with("\"${saved_entry}\"", "gnulinux-advanced>g-9").default,
            2
        );
        assert_eq!(with("\"${saved_entry}\"", "1>0").default, 1);
        assert_eq!(with("${saved_entry}", "UEFI Firmware Settings").default, 3);
        assert_eq!(with("saved", "g-13").default, 1);
        let m = with("\"${saved_entry}\"", "gnulinux-advanced>g-9");
        assert_eq!(m.default_spec.as_deref(), Some("gnulinux-advanced>g-9"));
        // Stale or empty saved_entry, or no grubenv: entry 0, as grub and pygrub.
        assert_eq!(with("\"${saved_entry}\"", "removed-kernel").default, 0);
        assert_eq!(with("\"${saved_entry}\"", "").default, 0);
        assert_eq!(
            parse_with_env(&cfg("\"${saved_entry}\""), &[])
                .unwrap()
                .default,
            0
        );
        // A written default is not touched by grubenv; nor is the one-shot next_entry.
        assert_eq!(with("2", "g-13").default, 2);
        let next = vec![("next_entry".to_owned(), "2".to_owned())];
        assert_eq!(
            parse_with_env(&cfg("\"${saved_entry}\""), &next)
                .unwrap()
                .default,
            0
        );
        // Substitution only: a value that is itself a variable stays unresolved.
        assert_eq!(with("\"${saved_entry}\"", "$(reboot)").default, 0);
    }

    #[test]
    fn conditional_defaults_follow_the_normal_boot_path() {
        let cfg = br#"
if [ "${next_entry}" ] ; then
   set default="${next_entry}"
else
   set default="1"
fi
if [ -n "${boot_counter}" -a "${boot_success}" = "0" ]; then
  if  [ "${boot_counter}" = "0" ]; then
    set default=0
  fi
fi
menuentry a { linux /a ; }
menuentry b {
linux /b
}
"#;
        let m = parse(cfg).unwrap();
        assert_eq!(titles(&m), ["a", "b"]);
        assert_eq!(m.default, 1);
        assert_eq!(m.default_spec.as_deref(), Some("1"));
    }

    #[test]
    fn quoting_escapes_and_continuations() {
        let cfg = b"menuentry \"Say \\\"hi\\\" \\$x\" 'x' {\n  linux /vmlinuz a=1 \\\n    b='c d' \"e\"\n  initrd /i1 \\\n /i2 $extra\n}\n\
            menuentry Unquoted\\ title {\n}\n# menuentry 'commented' {\nmenuentry 'semi';\n";
        let m = parse(cfg).unwrap();
        assert_eq!(titles(&m), ["Say \"hi\" $x", "Unquoted title"]);
        assert_eq!(m.entries[0].args, "a=1     b='c d' \"e\"");
        assert_eq!(m.entries[0].initrd, [&b"/i1"[..], b"/i2"]);
    }

    #[test]
    fn blscfg_env_and_includes() {
        let cfg = br#"
set kernelopts="root=UUID=x ro"
if [ -z "${kernelopts}" ]; then
  set kernelopts="fallback"
fi
set tuned=""
set dollar="$x"
menuentry first { linux /f ; }
insmod blscfg
blscfg
source ${config_directory}/custom.cfg
configfile /boot/grub/grub.cfg
"#;
        let m = parse(cfg).unwrap();
        assert_eq!(m.blscfg, Some(1));
        assert_eq!(
            m.env,
            vec![
                ("kernelopts".into(), "fallback".into()),
                ("tuned".into(), "".into())
            ]
        );
        assert_eq!(
            m.includes,
            vec![
                b"${config_directory}/custom.cfg".to_vec(),
                b"/boot/grub/grub.cfg".to_vec()
            ]
        );
    }

    #[test]
    fn top_level_root_is_inherited() {
        let m = parse(b"set root=(hd0,gpt2)\nmenuentry a {\nlinux /a\n}\nmenuentry b {\nset root='hd1,gpt1'\nlinux /b\n}\n").unwrap();
        assert_eq!(m.entries[0].device_hint.as_deref(), Some("(hd0,gpt2)"));
        assert_eq!(m.entries[1].device_hint.as_deref(), Some("(hd1,gpt1)"));
    }

    #[test]
    fn malformed_input_is_tolerated() {
        // Stray braces, unterminated quotes and blocks, nested menuentries, functions
        // holding menuentries: no panic, sensible entries.
        let cfg = b"}\n}\nfunction f {\n menuentry hidden {\n linux /h\n }\n}\n\
            menuentry outer {\n linux /o\n menuentry inner {\n linux /i\n }\n initrd /oi\n}\n\
            menuentry 'open {\n linux /x\n";
        let m = parse(cfg).unwrap();
        assert_eq!(titles(&m), ["outer"]);
        assert_eq!(m.entries[0].kernel, b"/o");
        assert_eq!(m.entries[0].initrd, [b"/oi"]);
        let m = parse(b"menuentry 'x' {\n linux /x root=a\n").unwrap();
        assert_eq!(m.entries[0].kernel, b"/x");
        for junk in [
            &b"\\"[..],
            b"'",
            b"\"",
            b"{",
            b"}",
            b"menuentry",
            b"menuentry {",
            b"if",
            b"fi fi fi",
            b"set",
            b"=",
            b"\"\\",
        ] {
            let _ = parse(junk).unwrap();
        }
    }

    #[test]
    fn deep_nesting_is_bounded() {
        let mut cfg = b"submenu s {\n".repeat(10_000);
        cfg.extend_from_slice(&b"if x; then\n".repeat(10_000));
        cfg.extend_from_slice(b"menuentry deep {\nlinux /d\n}\n");
        cfg.extend_from_slice(&b"fi\n".repeat(10_000));
        cfg.extend_from_slice(&b"}\n".repeat(10_000));
        cfg.extend_from_slice(b"menuentry top {\nlinux /t\n}\nset default=0\n");
        let m = parse(&cfg).unwrap();
        assert_eq!(titles(&m), ["top"]);
        assert_eq!(m.default, 0);
        let mut cfg = b"submenu s {\n".repeat(MAX_CONFIG_NESTING - 1);
        cfg.extend_from_slice(b"menuentry ok {\nlinux /ok\n}\n");
        let m = parse(&cfg).unwrap();
        assert_eq!(m.entries[0].submenu.len(), MAX_CONFIG_NESTING - 1);
    }

    #[test]
    fn hostile_repetition_stays_linear_and_bounded() {
        let mut cfg = b"then ".repeat(150_000);
        cfg.extend_from_slice(b"\nfi ".repeat(50_000).as_slice());
        let start = std::time::Instant::now();
        assert_eq!(parse(&cfg).unwrap().entries.len(), 0);
        assert!(start.elapsed().as_secs() < 5);
        // A huge root hint copied into every entry is refused, not multiplied.
        let mut cfg = format!("set root={}\n", "h".repeat(20_000)).into_bytes();
        cfg.extend_from_slice(&b"menuentry x {\nlinux /x\n}\n".repeat(1000));
        assert!(matches!(
            parse(&cfg),
            Err(ConfigError::EntryTooLarge { index: 0, .. })
        ));
    }

    #[test]
    fn too_many_entries() {
        let cfg = b"menuentry x {\n}\n".repeat(crate::limits::MAX_MENU_ENTRIES + 1);
        assert!(matches!(
            parse(&cfg),
            Err(ConfigError::TooManyEntries { .. })
        ));
    }

    #[test]
    fn grubenv_block() {
        let env = b"# GRUB Environment Block\nsaved_entry=abc-5.18.0\nkernelopts=root=UUID=x ro \\\\ q\nx\n######\n";
        assert_eq!(
            parse_grubenv(env),
            vec![
                ("kernelopts".into(), "root=UUID=x ro \\ q".into()),
                ("saved_entry".into(), "abc-5.18.0".into())
            ]
        );
    }
}
