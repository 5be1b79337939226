//! Everything the binary prints goes through here: stderr lines are escaped (guest bytes
//! reach them: labels, symlink targets, fstab text) and never panic, even on a closed or
//! full stderr; stdout writes return their error instead of panicking (`>/dev/full`).

use domuloader::term;
use std::io::Write;

/// `domuloader: LINE` on stderr, control characters escaped; errors ignored (there is
/// nowhere left to report them).
pub fn err(line: &str) {
    raw_err(&format!("domuloader: {}", term::escape(line)));
}

/// A line on stderr as it is (escaped), without the program name.
pub fn raw_err(line: &str) {
    let mut e = std::io::stderr().lock();
    let _ = writeln!(e, "{}", term::escape(line));
}

/// Bytes on stdout, flushed; the error names stdout.
pub fn out(bytes: &[u8]) -> anyhow::Result<()> {
    let mut o = std::io::stdout().lock();
    o.write_all(bytes)
        .and_then(|()| o.flush())
        .map_err(|e| anyhow::Error::new(e).context("cannot write to stdout"))
}

/// Text we generated on stdout: control characters escaped, our own line breaks kept.
pub fn out_text(text: &str) -> anyhow::Result<()> {
    out(term::escape_text(text).as_bytes())
}

/// An error as one line: each cause once. A cause whose text an outer message already
/// contains (a `Display` that embeds its source) is not repeated.
pub fn one_line(e: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if text.is_empty() || line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn causes_printed_once() {
        let io = std::io::Error::from_raw_os_error(libc::ENOENT);
        let e = anyhow::Error::new(io).context("cannot open disk /nope");
        assert_eq!(
            one_line(&e),
            "cannot open disk /nope: No such file or directory (os error 2)"
        );
        let io = std::io::Error::from_raw_os_error(libc::ENOENT);
        let embedded = format!("cannot open disk /nope: {io}");
        let e = anyhow::Error::new(io).context(embedded.clone());
        assert_eq!(one_line(&e), embedded);
    }
}
