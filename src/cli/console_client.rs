//! Not leaving before `xl create -c`'s console client is on our pty.
//!
//! With `-c`, xl forks a console child when the bootloader starts; it sleeps 1 s, then
//! execs `xenconsole`, which reads the console path from xenstore: the bootloader's pty
//! while the bootloader runs. Since Xen 4.14 libxl calls xl's console callback a second
//! time once the guest's real console exists, and xl then *waits* for the first child to
//! exit before forking the next one (`autoconnect_console` → `child_report`, a blocking
//! `waitpid`), and only after that unpauses the guest. A client that attached to the
//! bootloader's pty exits when that pty goes away; one that started after the bootloader
//! was gone waits for the next path, attaches to the guest's real console and never exits,
//! so xl waits on it forever with the guest paused. domuloader is usually done within the
//! child's first second, so `xl create -c` hung (tests/e2e: every time on an idle host).
//!
//! So when our parent has such a child (an `xl` still in its sleep, or a `xenconsole`), we
//! wait until that `xenconsole` holds a pty other than its own terminal — ours — or
//! [`CONSOLE_CLIENT_WAIT`] passes. Without a console child (plain `xl create`, xend, a
//! shell) nothing waits. Read from `/proc` only; what cannot be read there (no such
//! process any more, descriptors of another user's process) means "nothing to wait for".

use domuloader::limits::CONSOLE_CLIENT_WAIT;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How often the client's state is looked at while waiting.
const POLL: Duration = Duration::from_millis(20);

/// After the client opened the pty: time for it to tell xl it is ready and to show what we
/// printed, before the pty closes under it.
const SETTLE: Duration = Duration::from_millis(200);

/// Where xl's console client is, seen from `/proc`.
#[derive(Debug, PartialEq, Eq)]
enum Client {
    /// No sibling that is or will become a console client.
    Absent,
    /// xl's console child before its exec, or `xenconsole` not yet on a pty.
    Starting,
    /// `xenconsole` holds a pty other than its standard input.
    Attached,
}

/// Waits, capped, until xl's console client (if our parent started one) is on our pty.
/// Returns how long it waited, `None` when there was nothing to wait for. A signal ends
/// the wait: the result is delivered by then, waiting is only a courtesy to xl.
pub fn wait() -> Option<Duration> {
    wait_in(Path::new("/proc"), CONSOLE_CLIENT_WAIT, &|| {
        super::signals::pending().is_some()
    })
}

fn wait_in(proc_root: &Path, cap: Duration, interrupted: &dyn Fn() -> bool) -> Option<Duration> {
    let parent = std::os::unix::process::parent_id();
    let me = std::process::id();
    let start = Instant::now();
    let mut first = true;
    loop {
        match client(proc_root, parent, me) {
            Client::Absent if first => return None,
            Client::Absent => return Some(start.elapsed()),
            Client::Attached => {
                std::thread::sleep(SETTLE);
                return Some(start.elapsed());
            }
            Client::Starting if start.elapsed() >= cap || interrupted() => {
                return Some(start.elapsed())
            }
            Client::Starting => std::thread::sleep(POLL),
        }
        first = false;
    }
}

fn client(proc_root: &Path, parent: u32, me: u32) -> Client {
    let mut state = Client::Absent;
    for pid in siblings(proc_root, parent, me) {
        let dir = proc_root.join(pid.to_string());
        let Ok(comm) = std::fs::read_to_string(dir.join("comm")) else {
            continue;
        };
        match comm.trim_end() {
            "xl" => state = Client::Starting,
            // its descriptors unreadable (we are not root): cannot tell, so do not wait
            "xenconsole" if holds_other_pty(&dir) != Some(false) => return Client::Attached,
            "xenconsole" => state = Client::Starting,
            _ => {}
        }
    }
    state
}

/// The other children of `parent`: from `/proc/PARENT/task/*/children`, or, where the
/// kernel has no such file, from every process's `stat`.
fn siblings(proc_root: &Path, parent: u32, me: u32) -> Vec<u32> {
    let tasks = proc_root.join(parent.to_string()).join("task");
    let listed: Option<Vec<u32>> = std::fs::read_dir(&tasks).ok().and_then(|dir| {
        let mut all = Vec::new();
        for task in dir.flatten() {
            let text = std::fs::read_to_string(task.path().join("children")).ok()?;
            all.extend(parse_pids(&text));
        }
        Some(all)
    });
    let pids = listed.unwrap_or_else(|| children_by_stat(proc_root, parent));
    pids.into_iter().filter(|&p| p != me).collect()
}

fn children_by_stat(proc_root: &Path, parent: u32) -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir(proc_root) else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let stat = std::fs::read_to_string(proc_root.join(pid.to_string()).join("stat"));
            stat.ok().and_then(|s| stat_parent(&s)) == Some(parent)
        })
        .collect()
}

fn parse_pids(text: &str) -> impl Iterator<Item = u32> + '_ {
    text.split_ascii_whitespace().filter_map(|p| p.parse().ok())
}

/// The parent pid in a `/proc/PID/stat` line; the command name before it is in parentheses
/// and may itself hold spaces and parentheses, so the fields start after the last `)`.
fn stat_parent(stat: &str) -> Option<u32> {
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_ascii_whitespace().nth(1)?.parse().ok()
}

/// Whether the process holds, on a descriptor above 2, a pty that is not its standard
/// input (which is the admin's terminal when xl runs in one); `None` when its descriptors
/// cannot be read.
fn holds_other_pty(dir: &Path) -> Option<bool> {
    let link = |fd: &Path| std::fs::read_link(fd).ok();
    let own: Option<PathBuf> = link(&dir.join("fd/0"));
    let fds = std::fs::read_dir(dir.join("fd")).ok()?;
    let found = fds
        .flatten()
        .filter(|e| e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) > Some(2))
        .filter_map(|e| link(&e.path()))
        .any(|target| target.starts_with("/dev/pts/") && Some(&target) != own.as_ref());
    Some(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_parent_skips_a_command_name_with_spaces_and_parens() {
        assert_eq!(stat_parent("42 (a) b (c) S 7 42 42 0"), Some(7));
        assert_eq!(stat_parent("42 (xl) S 1 42"), Some(1));
        assert_eq!(stat_parent("42 (xl"), None);
        assert_eq!(stat_parent("42 (xl) S"), None);
    }

    #[test]
    fn children_files_list_pids_separated_by_spaces() {
        assert_eq!(parse_pids("12 345 \n").collect::<Vec<_>>(), [12, 345]);
        assert_eq!(parse_pids("").count(), 0);
    }

    /// A child in a fake /proc: pid, comm, and where its descriptors 0, 1, … lead.
    type Kid<'a> = (u32, &'a str, &'a [&'a str]);

    /// A fake /proc in which `parent` has the children `kids`.
    fn fake_proc(parent: u32, kids: &[Kid]) -> tempfile::TempDir {
        let root = tempfile::tempdir().unwrap();
        let task = root.path().join(format!("{parent}/task/{parent}"));
        std::fs::create_dir_all(&task).unwrap();
        let list: Vec<String> = kids.iter().map(|k| k.0.to_string()).collect();
        std::fs::write(task.join("children"), list.join(" ")).unwrap();
        for (pid, comm, fds) in kids {
            let dir = root.path().join(format!("{pid}/fd"));
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(root.path().join(format!("{pid}/comm")), format!("{comm}\n")).unwrap();
            for (n, target) in fds.iter().enumerate() {
                std::os::unix::fs::symlink(target, dir.join(n.to_string())).unwrap();
            }
        }
        root
    }

    #[test]
    fn a_console_client_is_found_by_name_and_pty() {
        let term = "/dev/pts/0";
        let cases: &[(&[Kid], Client)] = &[
            (&[], Client::Absent),
            (&[(10, "sh", &[])], Client::Absent),
            (&[(10, "xl", &[])], Client::Starting),
            (
                &[(10, "xenconsole", &[term, term, term, "socket:[1]"])],
                Client::Starting,
            ),
            // its own terminal on a high descriptor is not our pty
            (
                &[(10, "xenconsole", &[term, term, term, term])],
                Client::Starting,
            ),
            (
                &[(10, "xenconsole", &[term, term, term, "/dev/pts/5"])],
                Client::Attached,
            ),
            (
                &[(
                    10,
                    "xenconsole",
                    &["/dev/null", "pipe:[3]", "pipe:[3]", "/dev/pts/2"],
                )],
                Client::Attached,
            ),
            // a pty on stdin..stderr only is not one it opened
            (&[(10, "xenconsole", &["/dev/pts/7"])], Client::Starting),
        ];
        for (kids, want) in cases {
            let root = fake_proc(1, kids);
            assert_eq!(&client(root.path(), 1, 99), want, "{kids:?}");
        }
    }

    #[test]
    fn a_client_whose_descriptors_cannot_be_read_is_not_waited_for() {
        let root = fake_proc(1, &[(10, "xenconsole", &[])]);
        std::fs::remove_dir(root.path().join("10/fd")).unwrap();
        assert_eq!(client(root.path(), 1, 99), Client::Attached);
    }

    #[test]
    fn we_are_not_our_own_sibling() {
        let root = fake_proc(1, &[(99, "xl", &[])]);
        assert_eq!(client(root.path(), 1, 99), Client::Absent);
    }

    #[test]
    fn without_a_children_file_the_stat_lines_are_read() {
        let root = tempfile::tempdir().unwrap();
        for (pid, ppid, comm) in [(10, 1, "xl"), (11, 2, "xenconsole")] {
            let dir = root.path().join(pid.to_string());
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join("stat"), format!("{pid} ({comm}) S {ppid} 1 1")).unwrap();
            std::fs::write(dir.join("comm"), comm).unwrap();
        }
        assert_eq!(siblings(root.path(), 1, 99), [10]);
        assert_eq!(client(root.path(), 1, 99), Client::Starting);
    }

    #[test]
    fn a_signal_ends_the_wait() {
        let root = fake_proc(std::os::unix::process::parent_id(), &[(1 << 30, "xl", &[])]);
        let waited = wait_in(root.path(), Duration::from_secs(60), &|| true).unwrap();
        assert!(waited < Duration::from_secs(1), "{waited:?}");
    }

    #[test]
    fn waiting_stops_at_the_cap() {
        let root = fake_proc(std::os::unix::process::parent_id(), &[(1 << 30, "xl", &[])]);
        let waited = wait_in(root.path(), Duration::from_millis(100), &|| false).unwrap();
        assert!(waited >= Duration::from_millis(100), "{waited:?}");
        assert!(waited < Duration::from_secs(2), "{waited:?}");
    }
}
