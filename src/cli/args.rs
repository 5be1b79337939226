//! Command-line surface: every option xend, xl/libxl, SUSE's domUloader and pygrub pass,
//! with their meanings (shared/docs/compat.md §1). Options may follow positionals.

use clap::{ArgAction, Parser};
use std::path::PathBuf;

/// Extract a Xen PV guest's kernel and initrd from its disk, without mounting it.
///
/// The boot entry `[DEV:]KERNEL[,INITRD]` names guest paths; without DEV they are found
/// through the guest's /etc/fstab and symlinks, as the guest would see them.
#[derive(Parser, Debug, Default)]
#[command(
    name = "domuloader",
    version,
    about,
    max_term_width = 100,
    after_help = "Exit status: 0 on success (and for --help/--version); 1 on any error, with one \
line on stderr. On failure no result is written and every file this run created is removed."
)]
pub struct Args {
    /// Boot entry: [DEV:]KERNEL[,INITRD] (domUloader), or a menu number/title (pygrub).
    #[arg(long, value_name = "ENTRY")]
    pub entry: Option<String>,

    /// The domain's disk list: xm-style ['phy:/dev/vg/lv,xvda,w', ...] or xl disk specs.
    #[arg(long, value_name = "LIST")]
    pub disks: Option<String>,

    /// Guest root filesystem: DEV, UUID=…, LABEL=…, PARTUUID=… or PARTLABEL=…
    #[arg(long, value_name = "DEV")]
    pub root: Option<String>,

    /// Kernel path in the guest (pygrub style; used when no --entry is given).
    #[arg(long, value_name = "PATH")]
    pub kernel: Option<String>,

    /// Initrd path in the guest (pygrub style).
    #[arg(long, value_name = "PATH")]
    pub ramdisk: Option<String>,

    /// Kernel command line, appended to the menu entry's own arguments.
    #[arg(long, value_name = "CMDLINE", allow_hyphen_values = true)]
    pub args: Option<String>,

    /// Kernel arguments used when the menu entry has none of its own (XenServer's xapi).
    #[arg(
        long = "default_args",
        value_name = "CMDLINE",
        allow_hyphen_values = true
    )]
    pub default_args: Option<String>,

    /// More kernel arguments, appended after --args (XenServer's xapi).
    #[arg(
        long = "extra_args",
        value_name = "CMDLINE",
        allow_hyphen_values = true
    )]
    pub extra_args: Option<String>,

    /// The VM's UUID (XenServer's xapi passes it); accepted and ignored.
    #[arg(long = "vm", value_name = "UUID")]
    pub vm: Option<String>,

    /// Where the result goes: a file or FIFO (opened without O_CREAT when it exists); `-` or
    /// absent for stdout.
    #[arg(long, value_name = "PATH")]
    pub output: Option<PathBuf>,

    /// Result format: sxp (xend, default), simple, simple0 (libxl), json; with --inspect or
    /// --list-entries: text or json.
    #[arg(long = "output-format", value_name = "FMT")]
    pub output_format: Option<String>,

    /// Directory for the extracted kernel and ramdisk [default: /var/lib/xen/tmp].
    #[arg(
        long = "output-directory",
        visible_alias = "tmpdir",
        value_name = "DIR"
    )]
    pub output_directory: Option<PathBuf>,

    /// Largest kernel or ramdisk copied, in bytes (K, M, G suffixes) [default: 1G, the
    /// domain builder's own limit].
    #[arg(long = "max-size", value_name = "BYTES", value_parser = parse_size)]
    pub max_size: Option<u64>,

    /// Byte offset of a filesystem on the disk: skip partition discovery (pygrub).
    #[arg(long, value_name = "BYTES")]
    pub offset: Option<u64>,

    /// After opening every input and output, drop to this uid (or user name).
    #[arg(long, value_name = "UID")]
    pub runas: Option<String>,

    /// Parse the guest without the seccomp/Landlock sandbox (for debugging; see README's
    /// security model).
    #[arg(long = "no-sandbox")]
    pub no_sandbox: bool,

    /// Test hook: after confining the worker, try to open a file and exec a program, print
    /// whether each was denied, and exit.
    #[arg(long = "sandbox-selftest", hide = true)]
    pub sandbox_selftest: bool,

    /// Resolve and check everything, but copy nothing and print no result.
    #[arg(
        short = 'n',
        long = "dryrun",
        visible_alias = "not-really",
        alias = "dry-run"
    )]
    pub dryrun: bool,

    /// List the menu entries of the guest's boot configuration.
    #[arg(short = 'l', long = "list-entries")]
    pub list_entries: bool,

    /// PHYSDISK is a boot configuration file, not a disk (pygrub, for testing).
    #[arg(long)]
    pub isconfig: bool,

    /// Print the disk's partitions and filesystems instead of booting.
    #[arg(long)]
    pub inspect: bool,

    /// No progress messages.
    #[arg(short, long)]
    pub quiet: bool,

    /// More progress messages (repeatable).
    #[arg(short, long, action = ArgAction::Count)]
    pub verbose: u8,

    /// Accepted for pygrub compatibility; there is no interactive menu.
    #[arg(short = 'i', long, hide = true)]
    pub interactive: bool,

    /// Accepted for pygrub compatibility (same as -v).
    #[arg(long, hide = true)]
    pub debug: bool,

    /// Print the manual page (roff) and exit: `domuloader --generate-man > domuloader.1`.
    #[arg(long = "generate-man", hide = true)]
    pub generate_man: bool,

    /// Print a completion script for SHELL (bash, zsh, fish, elvish, powershell) and exit.
    #[arg(long = "generate-completions", value_name = "SHELL", hide = true)]
    pub generate_completions: Option<clap_complete::Shell>,

    /// The guest disk (image file or block device), or the config file with --isconfig.
    #[arg(value_name = "PHYSDISK")]
    pub disk: Option<PathBuf>,

    /// How the guest names PHYSDISK (e.g. xvda) [default: the entry's disk name].
    #[arg(value_name = "VIRTDISK")]
    pub virtdisk: Option<String>,
}

/// `123`, `64K`, `512M`, `1G` (binary multiples).
pub fn parse_size(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let (num, mult) = match s.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => {
            let m: u64 = match c.to_ascii_uppercase() {
                'K' => 1 << 10,
                'M' => 1 << 20,
                'G' => 1 << 30,
                'T' => 1 << 40,
                _ => return Err(format!("unknown size suffix {c:?} (use K, M, G or T)")),
            };
            (&s[..i], m)
        }
        _ => (s, 1),
    };
    let n: u64 = num.parse().map_err(|_| format!("not a size: {s:?}"))?;
    n.checked_mul(mult)
        .ok_or_else(|| format!("size too large: {s:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(v: &[&str]) -> Args {
        Args::try_parse_from(std::iter::once("domuloader").chain(v.iter().copied())).unwrap()
    }

    #[test]
    fn libxl_argv_parses() {
        let a = parse(&[
            "--args=root=/dev/xvda2 ro",
            "--output=/var/lib/xen/bootloader.7.out",
            "--output-format=simple0",
            "--output-directory=/var/lib/xen/bootloader.7.d",
            "--entry=xvda2:/boot/vmlinuz,/boot/initrd",
            "/dev/vg/guest",
        ]);
        assert_eq!(a.output_format.as_deref(), Some("simple0"));
        assert_eq!(a.disk, Some(PathBuf::from("/dev/vg/guest")));
        assert_eq!(a.args.as_deref(), Some("root=/dev/xvda2 ro"));
    }

    #[test]
    fn xapi_options_parse() {
        let a = parse(&[
            "--default_args=ro quiet",
            "--extra_args=-- console=hvc0",
            "--vm=0b1c2d3e-0000-4000-8000-000000000000",
            "d",
        ]);
        assert_eq!(a.default_args.as_deref(), Some("ro quiet"));
        assert_eq!(a.extra_args.as_deref(), Some("-- console=hvc0"));
    }

    #[test]
    fn options_may_follow_positionals_and_aliases_work() {
        let a = parse(&[
            "disk.img",
            "xvda",
            "--tmpdir=/t",
            "-q",
            "--not-really",
            "-vv",
        ]);
        assert_eq!(a.virtdisk.as_deref(), Some("xvda"));
        assert_eq!(a.output_directory, Some(PathBuf::from("/t")));
        assert!(a.quiet && a.dryrun);
        assert_eq!(a.verbose, 2);
        assert!(parse(&["-n", "d"]).dryrun);
        assert!(parse(&["--dryrun", "d"]).dryrun);
    }

    #[test]
    fn args_may_start_with_a_dash() {
        assert_eq!(
            parse(&["--args", "-s single", "d"]).args.as_deref(),
            Some("-s single")
        );
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("1G"), Ok(1 << 30));
        assert_eq!(parse_size("512m"), Ok(512 << 20));
        assert_eq!(parse_size("100"), Ok(100));
        assert!(parse_size("1X").is_err());
        assert!(parse_size("99999999999T").is_err());
        assert!(parse_size("").is_err());
    }
}
