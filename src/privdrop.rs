//! Dropping root for `--runas` (libxl's restricted mode, XSA-443): the guest's disk is then
//! parsed by an unprivileged uid, so a parser bug cannot be turned into root on dom0.
//!
//! Open everything that needs root first (the disk, the result file, the output files),
//! then call [`drop_to`]. It sets supplementary groups, gid and uid — real, effective *and*
//! saved, so nothing can switch back — checks that root cannot be regained, and sets
//! `no_new_privs`. Any failure is an error; the caller must then stop.
//!
//! Who: [`Identity::lookup`] takes a decimal uid (what libxl passes) or a user name. A uid
//! with a passwd entry gets that entry's gid and its groups (`getgrouplist`); a uid without
//! one — libxl's per-domain uids from `xen-qemuuser-range-base` have none by design — gets
//! gid = uid and no supplementary groups. uid 0 and gid 0 are refused: "restricted" as root
//! restricts nothing.
//!
//! Not root: asked for our own uid, we only set `no_new_privs`; asked for another, error.
//!
//! Threads: ids change for the whole process (glibc and musl signal every thread), but
//! `no_new_privs` is per thread; call this before starting threads.

use std::ffi::{CStr, CString};
use std::io;

/// Bytes for a passwd entry lookup before giving up: real entries are a few hundred.
const MAX_PW_BUF: usize = 1 << 20;

/// Supplementary groups accepted: Linux's `NGROUPS_MAX`.
const MAX_GROUPS: usize = 65536;

/// Why privileges could not be dropped.
#[derive(Debug, thiserror::Error)]
pub enum PrivDropError {
    #[error("invalid --runas user {0:?}")]
    BadUser(String),
    #[error("unknown --runas user {0:?}")]
    UnknownUser(String),
    #[error("cannot look up user {user:?}")]
    Lookup { user: String, source: io::Error },
    #[error("refusing to run as {0} 0 (root): that would restrict nothing")]
    RootTarget(&'static str),
    #[error("not running as root: cannot switch from uid {from} to uid {to}")]
    NotRoot { from: u32, to: u32 },
    #[error("{call} failed")]
    Syscall {
        call: &'static str,
        source: io::Error,
    },
    #[error("privileges not dropped: {0}")]
    StillPrivileged(&'static str),
}

/// The uid, gid and supplementary groups to run as.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    pub uid: u32,
    pub gid: u32,
    pub groups: Vec<u32>,
}

/// The fields of a passwd entry we use.
struct Passwd {
    uid: u32,
    gid: u32,
    name: CString,
}

impl Identity {
    /// Resolves `spec`: a decimal uid or a user name.
    pub fn lookup(spec: &str) -> Result<Identity, PrivDropError> {
        let lookup_err = |source| PrivDropError::Lookup {
            user: spec.to_owned(),
            source,
        };
        let entry = match parse_uid(spec)? {
            Some(uid) => match getpw(Key::Uid(uid)).map_err(lookup_err)? {
                Some(pw) => pw,
                None => return Ok(Identity::bare(uid)),
            },
            None => {
                let name =
                    CString::new(spec).map_err(|_| PrivDropError::BadUser(spec.to_owned()))?;
                getpw(Key::Name(&name))
                    .map_err(lookup_err)?
                    .ok_or_else(|| PrivDropError::UnknownUser(spec.to_owned()))?
            }
        };
        let groups = group_list(&entry.name, entry.gid).map_err(lookup_err)?;
        Ok(Identity {
            uid: entry.uid,
            gid: entry.gid,
            groups,
        })
    }

    /// A uid without a passwd entry: its own gid, no supplementary groups.
    fn bare(uid: u32) -> Identity {
        Identity {
            uid,
            gid: uid,
            groups: Vec::new(),
        }
    }
}

/// Switches the whole process to `id` for good; see the module documentation.
pub fn drop_to(id: &Identity) -> Result<(), PrivDropError> {
    refuse_root(id)?;
    // SAFETY: geteuid cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        return stay_as_self(id);
    }
    set_ids(id)?;
    verify(id)?;
    set_no_new_privs()
}

fn refuse_root(id: &Identity) -> Result<(), PrivDropError> {
    if id.uid == 0 {
        return Err(PrivDropError::RootTarget("uid"));
    }
    if id.gid == 0 || id.groups.contains(&0) {
        return Err(PrivDropError::RootTarget("gid"));
    }
    Ok(())
}

/// Without root we can only already be `id.uid`.
fn stay_as_self(id: &Identity) -> Result<(), PrivDropError> {
    let (r, e, s) = resuid()?;
    if (r, e, s) != (id.uid, id.uid, id.uid) {
        return Err(PrivDropError::NotRoot {
            from: e,
            to: id.uid,
        });
    }
    set_no_new_privs()
}

/// Groups first, then gid, then uid: after the uid changes we may no longer change the rest.
fn set_ids(id: &Identity) -> Result<(), PrivDropError> {
    // SAFETY: the pointer and length describe `id.groups`.
    let r = unsafe { libc::setgroups(id.groups.len(), id.groups.as_ptr()) };
    check(r, "setgroups")?;
    // SAFETY: plain integer arguments.
    check(
        unsafe { libc::setresgid(id.gid, id.gid, id.gid) },
        "setresgid",
    )?;
    check(
        unsafe { libc::setresuid(id.uid, id.uid, id.uid) },
        "setresuid",
    )
}

/// Trust, but verify: the ids are what we asked, root cannot be regained, and no
/// capability survived (as it would with `SECBIT_KEEP_CAPS`).
fn verify(id: &Identity) -> Result<(), PrivDropError> {
    if resuid()? != (id.uid, id.uid, id.uid) {
        return Err(PrivDropError::StillPrivileged("uid did not change"));
    }
    if resgid()? != (id.gid, id.gid, id.gid) {
        return Err(PrivDropError::StillPrivileged("gid did not change"));
    }
    if !same_set(&current_groups()?, &id.groups) {
        return Err(PrivDropError::StillPrivileged(
            "supplementary groups did not change",
        ));
    }
    // SAFETY: plain integer arguments. If either succeeds we are root again, and the
    // error tells the caller to stop.
    if unsafe { libc::setuid(0) } == 0 || unsafe { libc::setgid(0) } == 0 {
        return Err(PrivDropError::StillPrivileged(
            "setuid(0) or setgid(0) succeeded",
        ));
    }
    if has_capabilities()? {
        return Err(PrivDropError::StillPrivileged("capabilities remain"));
    }
    Ok(())
}

fn set_no_new_privs() -> Result<(), PrivDropError> {
    // SAFETY: prctl with integer arguments only.
    let r = unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) };
    check(r, "prctl(PR_SET_NO_NEW_PRIVS)")?;
    // SAFETY: as above.
    match unsafe { libc::prctl(libc::PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) } {
        1 => Ok(()),
        _ => Err(PrivDropError::StillPrivileged("no_new_privs not set")),
    }
}

/// `Some(uid)` for an all-digit spec; a uid of `u32::MAX` would mean "unchanged" to
/// `setresuid`, so it is refused.
fn parse_uid(spec: &str) -> Result<Option<u32>, PrivDropError> {
    if spec.is_empty() {
        return Err(PrivDropError::BadUser(spec.to_owned()));
    }
    if !spec.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(None);
    }
    match spec.parse::<u32>() {
        Ok(uid) if uid != u32::MAX => Ok(Some(uid)),
        _ => Err(PrivDropError::BadUser(spec.to_owned())),
    }
}

enum Key<'a> {
    Uid(u32),
    Name(&'a CStr),
}

/// `getpwuid_r` / `getpwnam_r`, growing the buffer on `ERANGE` up to [`MAX_PW_BUF`].
fn getpw(key: Key<'_>) -> io::Result<Option<Passwd>> {
    let mut size = 1024;
    loop {
        let mut buf = vec![0 as libc::c_char; size];
        // SAFETY: passwd is plain old data; zeroes are a valid (unused) value.
        let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
        let mut result: *mut libc::passwd = std::ptr::null_mut();
        // SAFETY: every pointer is valid for the call; `buf` outlives the use of `pwd`.
        let rc = unsafe {
            match key {
                Key::Uid(uid) => {
                    libc::getpwuid_r(uid, &mut pwd, buf.as_mut_ptr(), size, &mut result)
                }
                Key::Name(n) => {
                    libc::getpwnam_r(n.as_ptr(), &mut pwd, buf.as_mut_ptr(), size, &mut result)
                }
            }
        };
        if rc == libc::ERANGE && size < MAX_PW_BUF {
            size *= 4;
            continue;
        }
        if result.is_null() {
            // "Not found" is 0 in glibc, and one of these elsewhere (POSIX allows them).
            return match rc {
                0 | libc::ENOENT | libc::ESRCH | libc::EBADF | libc::EPERM => Ok(None),
                _ => Err(io::Error::from_raw_os_error(rc)),
            };
        }
        // SAFETY: on success `pw_name` points to a NUL-terminated string inside `buf`.
        let name = unsafe { CStr::from_ptr(pwd.pw_name) }.to_owned();
        return Ok(Some(Passwd {
            uid: pwd.pw_uid,
            gid: pwd.pw_gid,
            name,
        }));
    }
}

/// The user's groups, including `gid`, from `getgrouplist`.
fn group_list(name: &CStr, gid: u32) -> io::Result<Vec<u32>> {
    let mut want: usize = 32;
    for _ in 0..4 {
        let mut groups = vec![0 as libc::gid_t; want];
        let mut count = libc::c_int::try_from(want).unwrap_or(libc::c_int::MAX);
        // SAFETY: `groups` holds `count` entries; `name` is NUL-terminated.
        let r = unsafe { libc::getgrouplist(name.as_ptr(), gid, groups.as_mut_ptr(), &mut count) };
        let n = usize::try_from(count).unwrap_or(0);
        if r >= 0 {
            groups.truncate(n);
            return Ok(groups);
        }
        // On failure glibc and musl set `count` to the number needed.
        if n <= want || n > MAX_GROUPS {
            break;
        }
        want = n;
    }
    Err(io::Error::other("getgrouplist: too many groups"))
}

fn resuid() -> Result<(u32, u32, u32), PrivDropError> {
    let (mut r, mut e, mut s) = (0, 0, 0);
    // SAFETY: three valid out-pointers.
    check(
        unsafe { libc::getresuid(&mut r, &mut e, &mut s) },
        "getresuid",
    )?;
    Ok((r, e, s))
}

fn resgid() -> Result<(u32, u32, u32), PrivDropError> {
    let (mut r, mut e, mut s) = (0, 0, 0);
    // SAFETY: three valid out-pointers.
    check(
        unsafe { libc::getresgid(&mut r, &mut e, &mut s) },
        "getresgid",
    )?;
    Ok((r, e, s))
}

fn current_groups() -> Result<Vec<u32>, PrivDropError> {
    let mut groups = vec![0 as libc::gid_t; MAX_GROUPS];
    let max = libc::c_int::try_from(MAX_GROUPS).unwrap_or(libc::c_int::MAX);
    // SAFETY: `groups` has room for `max` entries.
    let n = unsafe { libc::getgroups(max, groups.as_mut_ptr()) };
    check(n, "getgroups")?;
    groups.truncate(usize::try_from(n).unwrap_or(0));
    Ok(groups)
}

fn same_set(a: &[u32], b: &[u32]) -> bool {
    let (mut a, mut b) = (a.to_vec(), b.to_vec());
    a.sort_unstable();
    a.dedup();
    b.sort_unstable();
    b.dedup();
    a == b
}

/// The kernel's `capget` structures, version 3 (two 32-bit words per set).
#[repr(C)]
struct CapHeader {
    version: u32,
    pid: libc::c_int,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

/// True if this thread still has any effective or permitted capability.
fn has_capabilities() -> Result<bool, PrivDropError> {
    const LINUX_CAPABILITY_VERSION_3: u32 = 0x2008_0522;
    let mut header = CapHeader {
        version: LINUX_CAPABILITY_VERSION_3,
        pid: 0,
    };
    let mut data = [CapData::default(); 2];
    // SAFETY: version 3 reads into exactly two CapData entries.
    let r = unsafe {
        libc::syscall(
            libc::SYS_capget,
            &mut header as *mut CapHeader,
            data.as_mut_ptr(),
        )
    };
    if r != 0 {
        return Err(PrivDropError::Syscall {
            call: "capget",
            source: io::Error::last_os_error(),
        });
    }
    Ok(data.iter().any(|d| d.effective != 0 || d.permitted != 0))
}

fn check(r: libc::c_int, call: &'static str) -> Result<(), PrivDropError> {
    match r {
        -1 => Err(PrivDropError::Syscall {
            call,
            source: io::Error::last_os_error(),
        }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    /// Set in the re-executed test binary: the user to drop to, and a root-only file.
    const CHILD_USER: &str = "DOMULOADER_PRIVDROP_USER";
    const CHILD_SECRET: &str = "DOMULOADER_PRIVDROP_SECRET";

    fn is_root() -> bool {
        // SAFETY: geteuid cannot fail.
        unsafe { libc::geteuid() == 0 }
    }

    /// Runs `child_drops_privileges` in a fresh copy of this test binary, so the drop
    /// cannot affect the other tests; returns whether it passed.
    fn run_child(user: &str, secret: &std::path::Path) -> bool {
        let out = Command::new(std::env::current_exe().unwrap())
            .args([
                "--ignored",
                "--exact",
                "privdrop::tests::child_drops_privileges",
                "--test-threads=1",
            ])
            .env(CHILD_USER, user)
            .env(CHILD_SECRET, secret)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        eprintln!(
            "child for {user}: {stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            stdout.contains("1 passed") || stdout.contains("1 failed"),
            "child test not found"
        );
        out.status.success()
    }

    /// Not a test on its own: the body of [`drop_in_child_process`], run only there.
    #[test]
    #[ignore]
    fn child_drops_privileges() {
        let (Ok(user), Some(secret)) = (std::env::var(CHILD_USER), std::env::var_os(CHILD_SECRET))
        else {
            return;
        };
        let id = Identity::lookup(&user).unwrap();
        let was_root = is_root();
        drop_to(&id).unwrap();
        assert_eq!(
            unsafe { libc::prctl(libc::PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) },
            1
        );
        if was_root {
            check_dropped(&id, std::path::Path::new(&secret));
        }
        // Now unprivileged: our own uid is fine, another is an error.
        drop_to(&id).unwrap();
        let other = Identity::bare(id.uid + 1);
        assert!(matches!(
            drop_to(&other),
            Err(PrivDropError::NotRoot { .. })
        ));
    }

    fn check_dropped(id: &Identity, secret: &std::path::Path) {
        assert_eq!(resuid().unwrap(), (id.uid, id.uid, id.uid));
        assert_eq!(resgid().unwrap(), (id.gid, id.gid, id.gid));
        // SAFETY: plain integer arguments.
        assert_eq!(unsafe { libc::setuid(0) }, -1, "root regained");
        assert_eq!(unsafe { libc::setreuid(0, 0) }, -1, "root regained");
        assert!(same_set(&current_groups().unwrap(), &id.groups));
        assert!(!has_capabilities().unwrap());
        let e = std::fs::read(secret).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::PermissionDenied);
    }

    #[test]
    fn drop_in_child_process() {
        let tmp = tempfile::tempdir().unwrap();
        let secret = tmp.path().join("secret");
        std::fs::write(&secret, b"root only").unwrap();
        std::fs::set_permissions(&secret, std::os::unix::fs::PermissionsExt::from_mode(0o600))
            .unwrap();
        if is_root() {
            // A uid with no passwd entry (libxl's per-domain uids) and a named user.
            assert!(run_child("12345", &secret));
            if getpw(Key::Name(c"nobody")).unwrap().is_some() {
                assert!(run_child("nobody", &secret));
            }
        } else {
            // SAFETY: getuid cannot fail.
            let me = unsafe { libc::getuid() };
            std::fs::set_permissions(&secret, std::os::unix::fs::PermissionsExt::from_mode(0o000))
                .unwrap();
            assert!(run_child(&me.to_string(), &secret));
            assert!(
                !run_child(&(me + 1).to_string(), &secret),
                "dropping to another uid must fail"
            );
        }
    }

    #[test]
    fn lookup_forms() {
        assert_eq!(Identity::lookup("root").unwrap().uid, 0);
        let bare = Identity::lookup("12345").unwrap();
        if getpw(Key::Uid(12345)).unwrap().is_none() {
            assert_eq!(
                bare,
                Identity {
                    uid: 12345,
                    gid: 12345,
                    groups: vec![]
                }
            );
        }
        if let Some(pw) = getpw(Key::Name(c"nobody")).unwrap() {
            let id = Identity::lookup("nobody").unwrap();
            assert_eq!((id.uid, id.gid), (pw.uid, pw.gid));
            assert!(
                id.groups.contains(&pw.gid),
                "getgrouplist includes the primary gid"
            );
            assert_eq!(Identity::lookup(&pw.uid.to_string()).unwrap(), id);
        }
        for bad in ["", "4294967295", "99999999999", "a\0b"] {
            assert!(
                matches!(Identity::lookup(bad), Err(PrivDropError::BadUser(_))),
                "{bad:?}"
            );
        }
        assert!(matches!(
            Identity::lookup("no-such-user-domuloader"),
            Err(PrivDropError::UnknownUser(_))
        ));
    }

    #[test]
    fn root_targets_refused_before_any_change() {
        let before = resuid().unwrap();
        let root = Identity::lookup("0").unwrap();
        assert_eq!(
            drop_to(&root).unwrap_err().to_string(),
            "refusing to run as uid 0 (root): that would restrict nothing"
        );
        let gid0 = Identity {
            uid: 5,
            gid: 0,
            groups: vec![],
        };
        assert!(matches!(
            drop_to(&gid0),
            Err(PrivDropError::RootTarget("gid"))
        ));
        let group0 = Identity {
            uid: 5,
            gid: 5,
            groups: vec![5, 0],
        };
        assert!(matches!(
            drop_to(&group0),
            Err(PrivDropError::RootTarget("gid"))
        ));
        assert_eq!(resuid().unwrap(), before, "nothing changed");
    }
}
