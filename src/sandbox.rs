//! Confinement of the process that parses guest bytes, once every input and output it
//! needs is open (disks, output files, the report pipe; the result sink and the output
//! directory stay with the unconfined parent, which names the files and writes the result).
//!
//! - `no_new_privs`: nothing executed later could gain privileges.
//! - Landlock ([`landlock`] crate, best effort up to ABI 6) with every filesystem and
//!   network right handled and none granted, and signal / abstract-socket scoping: no path
//!   can be opened, created, linked, executed or connected to. Files opened before keep
//!   working (Landlock checks at open time).
//! - seccomp-bpf ([`seccompiler`] crate, the rust-vmm project's, used by Firecracker): an
//!   allowlist of the calls parsing and copying into already-open descriptors make —
//!   read/pread/write/copy_file_range/lseek/ftruncate/fstat (and `newfstatat`/`statx`
//!   only with `AT_EMPTY_PATH`), memory management, exit,
//!   futex, getrandom, sleeping, signal return. Everything else — `open`/`openat`, `execve`, `socket`,
//!   `ptrace`, `fork` (`clone` is allowed only for threads), `kill`, `linkat`, `stat` by path —
//!   fails with `EPERM`, so a
//!   stray open after confinement is an error the run reports (tests fail loudly), never a
//!   silent success.
//!
//! Where the kernel lacks Landlock the run continues under seccomp alone and [`confine`]
//! says so (the caller shows it under `-v`); a kernel without seccomp filters is an error,
//! since then nothing would be confined. `--no-sandbox` skips all of it.

use std::collections::BTreeMap;
use std::os::fd::FromRawFd;

/// Why confinement failed.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error("sandbox: prctl(PR_SET_NO_NEW_PRIVS) failed")]
    NoNewPrivs(#[source] std::io::Error),
    #[error("sandbox: Landlock")]
    Landlock(#[source] landlock::RulesetError),
    #[error("sandbox: building the seccomp filter")]
    Filter(#[source] seccompiler::BackendError),
    #[error("sandbox: unsupported architecture {0} for the seccomp filter")]
    Arch(&'static str),
    #[error("sandbox: loading the seccomp filter")]
    Load(#[source] seccompiler::Error),
}

/// What was enforced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Confined {
    /// Landlock fully or partly enforced (false: the kernel lacks it; seccomp only).
    pub landlock: bool,
}

/// Confines the calling (single-threaded) process for good; see the module documentation.
pub fn confine() -> Result<Confined, SandboxError> {
    set_no_new_privs()?;
    let landlock = landlock_nothing()?;
    load_seccomp()?;
    Ok(Confined { landlock })
}

fn set_no_new_privs() -> Result<(), SandboxError> {
    // SAFETY: prctl with integer arguments only.
    match unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } {
        0 => Ok(()),
        _ => Err(SandboxError::NoNewPrivs(std::io::Error::last_os_error())),
    }
}

/// A Landlock domain that handles every right and grants none.
fn landlock_nothing() -> Result<bool, SandboxError> {
    use landlock::{Access, AccessFs, AccessNet, Ruleset, RulesetAttr, RulesetStatus, Scope, ABI};
    let abi = ABI::V6;
    let status = Ruleset::default()
        .handle_access(AccessFs::from_all(abi))
        .and_then(|r| r.handle_access(AccessNet::from_all(abi)))
        .and_then(|r| r.scope(Scope::from_all(abi)))
        .and_then(|r| r.create())
        .and_then(|r| r.restrict_self())
        .map_err(SandboxError::Landlock)?;
    Ok(status.ruleset != RulesetStatus::NotEnforced)
}

/// The calls a confined worker may make; see the module documentation.
fn allowed() -> Vec<libc::c_long> {
    let mut v = vec![
        libc::SYS_read,
        libc::SYS_pread64,
        libc::SYS_readv,
        libc::SYS_preadv,
        libc::SYS_write,
        libc::SYS_pwrite64,
        libc::SYS_writev,
        libc::SYS_copy_file_range,
        libc::SYS_lseek,
        libc::SYS_ftruncate,
        libc::SYS_fstat,
        // extract: which filesystem the image and the output are on (copy_file_range or not)
        libc::SYS_fstatfs,
        libc::SYS_close,
        libc::SYS_mmap,
        libc::SYS_munmap,
        libc::SYS_mremap,
        libc::SYS_mprotect,
        libc::SYS_madvise,
        libc::SYS_brk,
        libc::SYS_futex,
        libc::SYS_getrandom,
        libc::SYS_clock_gettime,
        libc::SYS_sched_yield,
        libc::SYS_rt_sigreturn,
        libc::SYS_rt_sigprocmask,
        libc::SYS_sigaltstack,
        libc::SYS_restart_syscall,
        libc::SYS_exit,
        libc::SYS_exit_group,
        libc::SYS_getpid,
        libc::SYS_gettid,
        libc::SYS_nanosleep,
        libc::SYS_clock_nanosleep,
        // A new thread registers these with the kernel (glibc); both only name memory of
        // the calling thread.
        libc::SYS_set_robust_list,
        libc::SYS_rseq,
    ];
    v.sort_unstable();
    v
}

/// Calls that stat a descriptor when given `AT_EMPTY_PATH` (glibc implements `fstat` with
/// `newfstatat(fd, "", …, AT_EMPTY_PATH)`, Rust's `File::metadata` uses `statx` the same
/// way), with the index of their flags argument. Allowed only with that flag set, which
/// keeps plain `stat`/`lstat` of a path out (flags 0); a caller that sets the flag *and*
/// passes a path can still stat it relative to a descriptor — metadata, never contents.
fn fd_stat_calls() -> [(libc::c_long, u8); 2] {
    [(libc::SYS_newfstatat, 3), (libc::SYS_statx, 2)]
}

fn empty_path_rule(flags_arg: u8) -> Result<seccompiler::SeccompRule, SandboxError> {
    use seccompiler::{SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompRule};
    let flag = libc::AT_EMPTY_PATH as u64;
    let cond = SeccompCondition::new(
        flags_arg,
        SeccompCmpArgLen::Dword,
        SeccompCmpOp::MaskedEq(flag),
        flag,
    )
    .map_err(SandboxError::Filter)?;
    SeccompRule::new(vec![cond]).map_err(SandboxError::Filter)
}

fn load_seccomp() -> Result<(), SandboxError> {
    use seccompiler::{BpfProgram, SeccompAction, SeccompFilter, TargetArch};
    let arch = TargetArch::try_from(std::env::consts::ARCH)
        .map_err(|_| SandboxError::Arch(std::env::consts::ARCH))?;
    let mut rules: BTreeMap<i64, Vec<seccompiler::SeccompRule>> =
        allowed().into_iter().map(|n| (n, Vec::new())).collect();
    for (call, flags_arg) in fd_stat_calls() {
        rules.insert(call, vec![empty_path_rule(flags_arg)?]);
    }
    rules.insert(libc::SYS_clone, vec![thread_only_rule()?]);
    // clone3 passes its flags in memory, where a filter cannot look. A filter loaded first
    // answers it ENOSYS, which makes glibc fall back to clone, whose flags the rule above
    // checks; this filter lets it through so that the first one's answer is the one given
    // (of two filters' answers the kernel gives the errno over the allow).
    rules.insert(libc::SYS_clone3, Vec::new());
    let clone3 = SeccompFilter::new(
        [(libc::SYS_clone3, Vec::new())].into_iter().collect(),
        SeccompAction::Allow,
        SeccompAction::Errno(libc::ENOSYS as u32),
        arch,
    )
    .map_err(SandboxError::Filter)?;
    let filter = SeccompFilter::new(
        rules,
        SeccompAction::Errno(libc::EPERM as u32),
        SeccompAction::Allow,
        arch,
    )
    .map_err(SandboxError::Filter)?;
    for f in [clone3, filter] {
        let program: BpfProgram = f.try_into().map_err(SandboxError::Filter)?;
        seccompiler::apply_filter(&program).map_err(SandboxError::Load)?;
    }
    Ok(())
}

/// `clone` only for a thread of this process (`CLONE_THREAD`, which the kernel accepts
/// only with `CLONE_VM` and `CLONE_SIGHAND`): the qcow2 reader inflates compressed clusters
/// on a second thread. A new process (`fork`) stays refused.
fn thread_only_rule() -> Result<seccompiler::SeccompRule, SandboxError> {
    use seccompiler::{SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompRule};
    let flag = libc::CLONE_THREAD as u64;
    let cond = SeccompCondition::new(
        0,
        SeccompCmpArgLen::Qword,
        SeccompCmpOp::MaskedEq(flag),
        flag,
    )
    .map_err(SandboxError::Filter)?;
    SeccompRule::new(vec![cond]).map_err(SandboxError::Filter)
}

/// After [`confine`]: tries what the sandbox must deny (opening a file, executing a
/// program) and returns one line per attempt, `denied` or `ALLOWED`. The command line's
/// hidden `--sandbox-selftest` prints them; tests check them. The exec attempt names a
/// directory, so it can never replace the process: unconfined it reaches the kernel's
/// path walk and fails with `EACCES`; confined, the filter refuses the call itself
/// (`EPERM`) before any path is looked at.
pub fn probe() -> Vec<String> {
    let open = match std::fs::File::open("/etc/passwd") {
        Ok(_) => "ALLOWED".to_owned(),
        Err(e) => format!("denied ({e})"),
    };
    let argv = [c"/".as_ptr(), std::ptr::null()];
    let envp = [std::ptr::null()];
    // SAFETY: NUL-terminated path and NULL-terminated argument and environment arrays; a
    // directory cannot be executed, so this returns.
    unsafe { libc::execve(c"/".as_ptr(), argv.as_ptr(), envp.as_ptr()) };
    let e = std::io::Error::last_os_error();
    let exec = match e.raw_os_error() {
        Some(libc::EPERM) => format!("denied ({e})"),
        _ => format!("ALLOWED (reached the kernel: {e})"),
    };
    // What must keep working: the metadata of an open descriptor (stderr's), through
    // Rust's `File::metadata` (statx, else fstat).
    // SAFETY: fd 2 stays open; ManuallyDrop keeps the File from closing it.
    let stderr = std::mem::ManuallyDrop::new(unsafe { std::fs::File::from_raw_fd(2) });
    let fstat = match stderr.metadata() {
        Ok(_) => "works".to_owned(),
        Err(e) => format!("FAILS ({e})"),
    };
    // A thread must work (the qcow2 reader inflates on one); a new process must not.
    let thread = match std::thread::Builder::new().spawn(|| 7).map(|t| t.join()) {
        Ok(Ok(7)) => "works".to_owned(),
        Ok(_) => "FAILS (thread died)".to_owned(),
        Err(e) => format!("FAILS ({e})"),
    };
    // SAFETY: a child that is created exits at once without touching the parent's state.
    let fork = match unsafe { libc::fork() } {
        0 => unsafe { libc::_exit(0) },
        -1 => format!("denied ({})", std::io::Error::last_os_error()),
        pid => {
            // SAFETY: reaps the child just created.
            unsafe { libc::waitpid(pid, std::ptr::null_mut(), 0) };
            "ALLOWED".to_owned()
        }
    };
    vec![
        format!("open /etc/passwd: {open}"),
        format!("execve: {exec}"),
        format!("fstat of an open file: {fstat}"),
        format!("thread: {thread}"),
        format!("fork: {fork}"),
    ]
}
