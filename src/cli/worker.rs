//! The guest is parsed in a forked worker, never in the process that holds the output
//! directory and the result: the parent opens every input and output, forks, and waits;
//! the worker drops to `--runas`'s user if asked, confines itself ([`sandbox`]), does the
//! work on the inherited descriptors and sends a report back through a pipe. The parent
//! names the files, writes the result and cleans up, so a signal to it (or its death)
//! leaves nothing: the worker dies with it (`PR_SET_PDEATHSIG`), and the parent kills the
//! worker before removing the files when it is interrupted.
//!
//! The exit status is the worker's real one (pygrub's `--runas` reported 0 for a failed
//! child); an error the worker printed is not printed again.
//!
//! [`sandbox`]: domuloader::sandbox

use super::{say, signals};
use anyhow::{anyhow, bail, Context};
use domuloader::privdrop::{drop_to, Identity};
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{FromRawFd, OwnedFd, RawFd};

/// How the worker is confined.
pub struct Confinement {
    pub identity: Option<Identity>,
    pub sandbox: bool,
    pub verbose: bool,
    /// `--sandbox-selftest`: report what the sandbox denies, then stop.
    pub selftest: bool,
}

/// An error the worker already printed: exit with its status, print nothing more.
#[derive(Debug)]
pub struct AlreadyReported(pub u8);

impl std::fmt::Display for AlreadyReported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "failed (exit status {})", self.0)
    }
}

impl std::error::Error for AlreadyReported {}

/// Runs `work` in a confined worker and returns its report (at most `report_cap` bytes).
/// The worker closes `hide` first: descriptors it must not write (the result destination,
/// the output directory, stdout when the parent writes the result there), so even a
/// compromised parser cannot forge the result the toolstack reads.
pub fn run<F>(c: &Confinement, report_cap: u64, hide: &[RawFd], work: F) -> anyhow::Result<Vec<u8>>
where
    F: FnOnce() -> anyhow::Result<Vec<u8>>,
{
    let (read_end, write_end) = pipe()?;
    // SAFETY: getpid cannot fail.
    let parent = unsafe { libc::getpid() };
    std::io::stdout().flush().ok();
    // SAFETY: single-threaded here (no thread was started); the child only runs our own
    // code and leaves with `_exit`, never returning into the parent's stack.
    match unsafe { libc::fork() } {
        -1 => Err(std::io::Error::last_os_error()).context("fork"),
        0 => {
            drop(read_end);
            for &fd in hide {
                // SAFETY: closing inherited descriptors the worker never uses; the
                // parent's copies stay open.
                unsafe { libc::close(fd) };
            }
            child(c, parent, write_end, work)
        }
        pid => {
            drop(write_end);
            drop(work); // the parent's copies of the disks and files the worker uses
            let report = read_report(read_end, report_cap, pid);
            if report.is_err() {
                // SAFETY: pid is our child; it may already be gone.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
            let status = wait_child(pid);
            signals::check()?;
            let report = report?;
            status?;
            Ok(report)
        }
    }
}

fn child<F>(c: &Confinement, parent: libc::pid_t, report: OwnedFd, work: F) -> !
where
    F: FnOnce() -> anyhow::Result<Vec<u8>>,
{
    signals::reset();
    die_with(parent);
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        if let Some(id) = &c.identity {
            drop_to(id)?;
            // A change of credentials clears the parent-death signal: set it again.
            die_with(parent);
        }
        // SAFETY: getuid and getgid cannot fail.
        let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
        confine(c)?;
        if c.verbose {
            say::err(&format!(
                "worker {}: parsing the guest as uid {uid}, gid {gid}",
                std::process::id()
            ));
        }
        if c.selftest {
            let lines = domuloader::sandbox::probe();
            for line in &lines {
                say::raw_err(line);
            }
            if lines
                .iter()
                .any(|l| l.contains("ALLOWED") || l.contains("FAILS"))
            {
                bail!("sandbox self-test: not everything was denied, or an fstat failed");
            }
            return anyhow::Ok(());
        }
        let bytes = work()?;
        File::from(report)
            .write_all(&bytes)
            .context("sending the report")?;
        anyhow::Ok(())
    }));
    let code = match result {
        Ok(Ok(())) => 0,
        Ok(Err(e)) => {
            say::err(&say::one_line(&e));
            1
        }
        Err(_) => 1, // the panic hook printed its line
    };
    std::io::stdout().flush().ok();
    // SAFETY: ends the child without running the parent's destructors (which would
    // remove the output files the parent still owns).
    unsafe { libc::_exit(code) }
}

/// Asks for SIGKILL when the parent dies, then checks it has not already died (we would
/// have been reparented): nobody would clean up after an orphaned worker, so it stops.
fn die_with(parent: libc::pid_t) {
    // SAFETY: prctl with integer arguments; getppid cannot fail.
    let orphaned = unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) != 0
            || libc::getppid() != parent
    };
    if orphaned {
        // SAFETY: ends the child at once.
        unsafe { libc::_exit(1) }
    }
}

fn confine(c: &Confinement) -> anyhow::Result<()> {
    if !c.sandbox {
        if c.verbose {
            say::err("sandbox disabled (--no-sandbox): parsing unconfined");
        }
        return Ok(());
    }
    let confined = domuloader::sandbox::confine()?;
    if c.verbose {
        match confined.landlock {
            true => say::err("sandbox: Landlock (no filesystem access) and seccomp allowlist"),
            false => say::err(
                "sandbox: this kernel has no Landlock; confined by the seccomp allowlist only",
            ),
        }
    }
    Ok(())
}

fn pipe() -> anyhow::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: fds is a valid two-element array.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(std::io::Error::last_os_error()).context("pipe");
    }
    // SAFETY: pipe2 just returned these two descriptors, owned by nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// Reads the report until the worker closes the pipe. A signal to us ends the wait
/// (`EINTR`, see [`signals`]); a report over `cap` is refused.
fn read_report(fd: OwnedFd, cap: u64, pid: libc::pid_t) -> anyhow::Result<Vec<u8>> {
    let mut buf = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    let mut file = File::from(fd);
    loop {
        signals::check()?;
        match file.read(&mut chunk) {
            Ok(0) => return Ok(buf),
            Ok(n) => buf.extend_from_slice(chunk.get(..n).unwrap_or_default()),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e).context("reading the worker's report"),
        }
        if buf.len() as u64 > cap {
            bail!("worker process {pid} sent a report over {cap} bytes");
        }
    }
}

fn wait_child(pid: libc::pid_t) -> anyhow::Result<()> {
    let mut status = 0;
    loop {
        // SAFETY: status is a valid out pointer; pid is our child.
        let r = unsafe { libc::waitpid(pid, &mut status, 0) };
        if r == pid {
            break;
        }
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            return Err(e).context("waitpid");
        }
        if signals::pending().is_some() {
            // SAFETY: pid is our child, not yet reaped.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
    }
    if libc::WIFEXITED(status) {
        return match libc::WEXITSTATUS(status) {
            0 => Ok(()),
            code => Err(AlreadyReported(u8::try_from(code).unwrap_or(1)).into()),
        };
    }
    if libc::WIFSIGNALED(status) {
        bail!("worker process killed by signal {}", libc::WTERMSIG(status));
    }
    Err(anyhow!("worker process ended with status {status:#x}"))
}
