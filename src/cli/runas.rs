//! `--runas`: the guest is parsed by a child that has dropped to the given uid, so a
//! parser bug cannot act with dom0's privileges. The root parent has already opened the
//! disks, both output files and the result sink; the child copies into the inherited
//! files and reports back through a pipe; the parent renames, writes the result and
//! cleans up. The exit status is the child's real one (pygrub's `--runas` reported 0
//! for a failed child).

use super::args::Args;
use super::boot::{extract, Extracted, Outputs};
use super::disks::OpenDisks;
use anyhow::{anyhow, bail, Context};
use domuloader::boot::Request;
use domuloader::privdrop::{drop_to, Identity};
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{FromRawFd, OwnedFd};

/// The child's report is a small JSON object; anything longer is not ours.
const MAX_REPORT: u64 = 64 * 1024;

/// An error the child already printed: exit with its status, print nothing more.
#[derive(Debug)]
pub struct AlreadyReported(pub u8);

impl std::fmt::Display for AlreadyReported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "failed (exit status {})", self.0)
    }
}

impl std::error::Error for AlreadyReported {}

pub fn run(
    args: &Args,
    disks: OpenDisks,
    req: &Request,
    mut outputs: Option<Outputs>,
    id: &Identity,
) -> anyhow::Result<()> {
    let (read_end, write_end) = pipe()?;
    std::io::stdout().flush().ok();
    // SAFETY: single-threaded here (no thread was started); the child only runs our own
    // code and leaves with `_exit`, never returning into the parent's stack.
    match unsafe { libc::fork() } {
        -1 => Err(std::io::Error::last_os_error()).context("fork"),
        0 => {
            drop(read_end);
            child(args, disks, req, outputs.as_mut(), id, write_end)
        }
        pid => {
            drop(write_end);
            drop(disks);
            let report = read_report(read_end)?;
            wait_child(pid)?;
            match outputs {
                None => Ok(()),
                Some(out) => {
                    let x: Extracted = serde_json::from_slice(&report)
                        .context("worker process sent a bad report")?;
                    out.finish(args, &x)
                }
            }
        }
    }
}

fn child(
    args: &Args,
    disks: OpenDisks,
    req: &Request,
    outputs: Option<&mut Outputs>,
    id: &Identity,
    report: OwnedFd,
) -> ! {
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        drop_to(id)?;
        let set = disks.into_set()?;
        let files = outputs.map(|o| (&mut o.kernel, &mut o.ramdisk));
        let x = extract(args, &set, req, files)?;
        let mut f = File::from(report);
        f.write_all(&serde_json::to_vec(&x)?)?;
        anyhow::Ok(())
    }));
    let code = match result {
        Ok(Ok(())) => 0,
        Ok(Err(e)) => {
            eprintln!("domuloader: {e:#}");
            1
        }
        Err(_) => 1, // the panic message is already on stderr
    };
    std::io::stdout().flush().ok();
    // SAFETY: ends the child without running the parent's destructors (which would
    // remove the output files the parent still owns).
    unsafe { libc::_exit(code) }
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

fn read_report(fd: OwnedFd) -> anyhow::Result<Vec<u8>> {
    let mut buf = Vec::new();
    File::from(fd)
        .take(MAX_REPORT)
        .read_to_end(&mut buf)
        .context("reading the worker's report")?;
    Ok(buf)
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
