//! Giving up privilege once the probe is attached.
//!
//! Loading eBPF needs root or CAP_BPF + CAP_PERFMON; drawing a bar and
//! parsing the user's config need none. So `main` opens the collector
//! first, then calls [`drop_privileges`] before it reads any user input or
//! connects to Wayland.

use std::io;

use super::Error;

/// `_LINUX_CAPABILITY_VERSION_3`: two 32-bit words per set.
const CAP_V3: u32 = 0x2008_0522;
/// `CAP_BPF` (Linux 5.8+).
pub const CAP_BPF: u32 = 39;
/// `CAP_SETPCAP`: needed to shrink the bounding set.
const CAP_SETPCAP: u32 = 8;

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: i32,
}

#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

fn os(what: &str) -> Error {
    Error::io(what.to_string(), io::Error::last_os_error())
}

fn capget() -> Result<[CapData; 2], Error> {
    let mut hdr = CapHeader {
        version: CAP_V3,
        pid: 0,
    };
    let mut data = [CapData::default(); 2];
    // SAFETY: header and a two-element data array of the v3 layout, both
    // live for the call.
    let r = unsafe { libc::syscall(libc::SYS_capget, &mut hdr, data.as_mut_ptr()) };
    if r != 0 {
        return Err(os("capget"));
    }
    Ok(data)
}

fn capset(data: &[CapData; 2]) -> Result<(), Error> {
    let mut hdr = CapHeader {
        version: CAP_V3,
        pid: 0,
    };
    // SAFETY: as in capget; the kernel only reads `data`.
    let r = unsafe { libc::syscall(libc::SYS_capset, &mut hdr, data.as_ptr()) };
    if r != 0 {
        return Err(os("capset"));
    }
    Ok(())
}

fn prctl(what: &str, op: libc::c_int, a: libc::c_ulong) -> Result<libc::c_int, Error> {
    // SAFETY: the prctl options used here take integer arguments only.
    let r = unsafe {
        libc::prctl(
            op,
            a,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
        )
    };
    if r < 0 {
        Err(os(what))
    } else {
        Ok(r)
    }
}

fn last_cap() -> u32 {
    std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(63)
}

fn threads() -> Option<usize> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    s.lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .and_then(|v| v.trim().parse().ok())
}

/// Whether reading an already-open BPF map still needs CAP_BPF here.
///
/// Before Linux 6.5, `bpf()` refused *every* command, map reads included,
/// to callers without CAP_BPF whenever `kernel.unprivileged_bpf_disabled`
/// was set (the default on most distributions). Since 6.5 (commit "bpf:
/// Centralize permissions checks for all BPF map types") only map creation
/// and program loading check it, and holding the fd is enough.
pub fn bpf_reads_need_cap() -> bool {
    let disabled = std::fs::read_to_string("/proc/sys/kernel/unprivileged_bpf_disabled")
        .ok()
        .and_then(|s| s.trim().parse::<u32>().ok())
        .unwrap_or(1);
    disabled != 0 && kernel_older_than(6, 5)
}

fn kernel_older_than(major: u32, minor: u32) -> bool {
    // SAFETY: utsname is plain bytes; uname fills it.
    let mut u: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: `u` is a valid, writable utsname.
    if unsafe { libc::uname(&mut u) } != 0 {
        return true;
    }
    let rel: Vec<u8> = u
        .release
        .iter()
        .take_while(|&&c| c != 0)
        .map(|&c| c as u8)
        .collect();
    let rel = String::from_utf8_lossy(&rel);
    let mut it = rel
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|p| p.parse::<u32>().ok());
    let (a, b) = (it.next().unwrap_or(0), it.next().unwrap_or(0));
    (a, b) < (major, minor)
}

/// Drops every capability from the effective, permitted, inheritable,
/// bounding and ambient sets, returns to the real uid/gid when started
/// setuid/setgid, and sets `no_new_privs`, so nothing this process runs or
/// execs can regain privilege.
///
/// With `keep_cap_bpf`, CAP_BPF alone stays in the effective and permitted
/// sets: only for kernels older than 6.5 with `unprivileged_bpf_disabled`
/// set, which refuse even map reads without it (see
/// [`bpf_reads_need_cap`]). On kernels before 5.8 there is no CAP_BPF (the
/// check is CAP_SYS_ADMIN, which we will not keep): there the reads fail
/// afterwards and say so.
///
/// Capabilities are per thread: call this while the process is still
/// single-threaded (it refuses otherwise).
pub fn drop_privileges(keep_cap_bpf: bool) -> Result<(), Error> {
    if let Some(n) = threads() {
        if n > 1 {
            return Err(Error::msg(format!(
                "dropping privileges: {n} threads running; capabilities are per thread, \
                 so this must happen before any thread starts"
            )));
        }
    }
    let have = capget()?;
    let has = |cap: u32| have[(cap / 32) as usize].effective & (1 << (cap % 32)) != 0;

    // Bounding set: needs CAP_SETPCAP. Without it we are unprivileged
    // already, and no_new_privs below stops exec from using the set anyway.
    if has(CAP_SETPCAP) {
        for cap in 0..=last_cap() {
            match prctl(
                "prctl(PR_CAPBSET_DROP)",
                libc::PR_CAPBSET_DROP,
                cap as libc::c_ulong,
            ) {
                Ok(_) => {}
                // Past the kernel's last capability.
                Err(e) if e.os_error().and_then(|o| o.raw_os_error()) == Some(libc::EINVAL) => {
                    break
                }
                Err(e) => return Err(e),
            }
        }
    }
    // Ambient set (Linux 4.3+; EINVAL before, when there is none to clear).
    if let Err(e) = prctl(
        "prctl(PR_CAP_AMBIENT_CLEAR_ALL)",
        libc::PR_CAP_AMBIENT,
        libc::PR_CAP_AMBIENT_CLEAR_ALL as libc::c_ulong,
    ) {
        if e.os_error().and_then(|o| o.raw_os_error()) != Some(libc::EINVAL) {
            return Err(e);
        }
    }

    let (mut ruid, mut euid, mut suid) = (0, 0, 0);
    let (mut rgid, mut egid, mut sgid) = (0, 0, 0);
    // SAFETY: the out-pointers are valid locals.
    unsafe {
        libc::getresuid(&mut ruid, &mut euid, &mut suid);
        libc::getresgid(&mut rgid, &mut egid, &mut sgid);
    }
    let keep = if keep_cap_bpf && has(CAP_BPF) {
        1u32 << (CAP_BPF % 32)
    } else {
        0
    };
    if rgid != egid || rgid != sgid {
        // SAFETY: plain syscall wrapper.
        if unsafe { libc::setresgid(rgid, rgid, rgid) } != 0 {
            return Err(os("setresgid to the real gid"));
        }
    }
    if ruid != euid || ruid != suid {
        // Changing uid away from 0 clears the permitted set unless told to
        // keep it; we keep it only to re-add CAP_BPF just below.
        if keep != 0 {
            prctl("prctl(PR_SET_KEEPCAPS)", libc::PR_SET_KEEPCAPS, 1)?;
        }
        // SAFETY: plain syscall wrapper.
        if unsafe { libc::setresuid(ruid, ruid, ruid) } != 0 {
            return Err(os("setresuid to the real uid"));
        }
        if keep != 0 {
            prctl("prctl(PR_SET_KEEPCAPS)", libc::PR_SET_KEEPCAPS, 0)?;
        }
    }
    let mut want = [CapData::default(); 2];
    want[(CAP_BPF / 32) as usize].effective = keep;
    want[(CAP_BPF / 32) as usize].permitted = keep;
    capset(&want)?;
    prctl("prctl(PR_SET_NO_NEW_PRIVS)", libc::PR_SET_NO_NEW_PRIVS, 1)?;

    // Trust, but verify: a silent partial drop would be worse than failing.
    if capget()? != want {
        return Err(Error::msg(
            "dropping privileges: capabilities remain after capset",
        ));
    }
    // SAFETY: plain syscall wrappers.
    let (uid_now, euid_now) = unsafe { (libc::getuid(), libc::geteuid()) };
    if uid_now != ruid || euid_now != ruid {
        return Err(Error::msg(
            "dropping privileges: still running with another uid",
        ));
    }
    Ok(())
}
