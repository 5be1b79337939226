//! Issue 5: the man page and shell completions come from the clap definition and cover
//! every option `--help` shows.

mod common;

fn options_in_help() -> Vec<String> {
    let help = String::from_utf8(common::run_str(&["--help"]).stdout).unwrap();
    // The option heading each entry (`  -q, --quiet`, `      --entry <ENTRY>`); aliases
    // shown in brackets are spellings of these, not options of their own.
    let mut opts: Vec<String> = help
        .lines()
        .filter(|l| l.trim_start().starts_with('-') && l.len() - l.trim_start().len() <= 6)
        .filter_map(|l| {
            l.split(|c: char| c.is_whitespace() || c == ',')
                .find(|w| w.starts_with("--"))
                .map(|w| {
                    w.trim_end_matches(|c: char| !c.is_ascii_alphanumeric())
                        .to_owned()
                })
        })
        .collect();
    opts.sort();
    opts.dedup();
    opts
}

#[test]
fn help_lists_the_callers_options_and_exit_status() {
    let opts = options_in_help();
    for want in [
        "--entry",
        "--disks",
        "--root",
        "--kernel",
        "--ramdisk",
        "--args",
        "--output",
        "--output-format",
        "--output-directory",
        "--max-size",
        "--offset",
        "--runas",
        "--dryrun",
        "--list-entries",
        "--isconfig",
        "--inspect",
        "--quiet",
        "--verbose",
    ] {
        assert!(
            opts.iter().any(|o| o == want),
            "{want} missing from --help: {opts:?}"
        );
    }
    let help = String::from_utf8(common::run_str(&["--help"]).stdout).unwrap();
    assert!(help.contains("Exit status"), "{help}");
    assert_eq!(common::run_str(&["--help"]).status.code(), Some(0));
}

#[test]
fn man_page_mentions_every_option() {
    let out = common::run_str(&["--generate-man"]);
    assert!(out.status.success());
    let man = String::from_utf8(out.stdout).unwrap().replace("\\-", "-");
    assert!(
        man.starts_with(".ie") || man.contains(".TH domuloader 1"),
        "not roff"
    );
    for opt in options_in_help() {
        assert!(man.contains(&opt), "{opt} missing from the man page");
    }
}

#[test]
fn completions_are_valid_shell() {
    for (shell, checker) in [("bash", "bash"), ("zsh", "zsh"), ("fish", "fish")] {
        let out = common::run_str(&["--generate-completions", shell]);
        assert!(out.status.success(), "{shell}");
        let script = String::from_utf8(out.stdout).unwrap();
        assert!(script.contains("output-directory"), "{shell}");
        if std::process::Command::new(checker)
            .arg("--version")
            .output()
            .is_err()
        {
            common::skip(&format!(
                "{checker} not installed (apt-get install {checker}): {shell} completion syntax not checked"
            ));
            continue;
        }
        let tmp = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(tmp.path(), &script).unwrap();
        let st = std::process::Command::new(checker)
            .arg("-n")
            .arg(tmp.path())
            .status()
            .unwrap();
        assert!(st.success(), "{shell} completion script does not parse");
    }
}
