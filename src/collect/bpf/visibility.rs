//! What `/proc` lets this user see, applied to the BPF collectors: they
//! read every task in the kernel, so without this a copy granted CAP_BPF
//! would show other users' processes that a `hidepid` mount of `/proc`
//! hides from them.
//!
//! Read once at open, before privileges are dropped (and independent of
//! them): the mount's options from `/proc/self/mountinfo` and our real
//! uid and groups. The kernel programs then skip hidden tasks, so they
//! reach no figure (tasks, top lists) at all.

use std::os::fd::OwnedFd;

use super::super::Error;
use super::syscall;

/// `struct visibility` in probe.bpf.c (keep both in step).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Visibility {
    /// 1: only tasks whose uids are all `uid`; 0: every task.
    pub only_uid: u32,
    pub uid: u32,
}

/// The options of a proc mount that decide whose processes are hidden.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProcMount {
    /// `hidepid` other than 0/off: other users' processes are hidden
    /// (`noaccess`, `invisible`) or shown only where ptrace would be
    /// allowed (`ptraceable`, which for a user without capabilities is
    /// their own processes too).
    pub hides_others: bool,
    /// `gid=N`: members of this group see everything.
    pub gid: Option<u32>,
}

/// The options of the mount at `mount_point` in a mountinfo text, if a
/// proc file system is mounted there (the last such line wins: it is the
/// mount on top).
pub fn proc_mount(mountinfo: &str, mount_point: &str) -> Option<ProcMount> {
    let mut found = None;
    for line in mountinfo.lines() {
        let mut fields = line.split(' ');
        let Some(point) = fields.nth(4) else { continue };
        if point != mount_point {
            continue;
        }
        // After the optional fields and the " - " separator: fstype,
        // source, super options.
        let Some((_, tail)) = line.split_once(" - ") else {
            continue;
        };
        let mut tail = tail.split(' ');
        if tail.next() != Some("proc") {
            continue;
        }
        let opts = tail.nth(1).unwrap_or("");
        let mut m = ProcMount::default();
        for opt in opts.split(',') {
            if let Some(v) = opt.strip_prefix("hidepid=") {
                m.hides_others = !matches!(v, "0" | "off");
            } else if let Some(v) = opt.strip_prefix("gid=") {
                m.gid = v.parse().ok();
            }
        }
        found = Some(m);
    }
    found
}

/// The rule for a user with real uid `uid` and groups `groups` (real gid
/// included) on a mount with `mount`'s options: root and the mount's
/// `gid=` group see all, anyone else only their own tasks when hidden.
pub fn rule(mount: Option<ProcMount>, uid: u32, groups: &[u32]) -> Visibility {
    let all = Visibility { only_uid: 0, uid };
    let Some(m) = mount else { return all };
    if !m.hides_others || uid == 0 || m.gid.is_some_and(|g| groups.contains(&g)) {
        return all;
    }
    Visibility { only_uid: 1, uid }
}

/// Our real uid and groups (real gid and supplementary groups).
fn credentials() -> Result<(u32, Vec<u32>), Error> {
    // SAFETY: getuid/getgid have no preconditions and cannot fail.
    let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
    // SAFETY: with size 0, getgroups only returns the count.
    let n = unsafe { libc::getgroups(0, std::ptr::null_mut()) };
    if n < 0 {
        return Err(Error::io("getgroups", std::io::Error::last_os_error()));
    }
    let mut groups = vec![0 as libc::gid_t; n as usize + 1];
    // SAFETY: the buffer holds `groups.len()` gids.
    let n = unsafe { libc::getgroups(groups.len() as libc::c_int, groups.as_mut_ptr()) };
    if n < 0 {
        return Err(Error::io("getgroups", std::io::Error::last_os_error()));
    }
    groups.truncate(n as usize);
    groups.push(gid);
    Ok((uid, groups))
}

/// The rule for this process and the `/proc` it reads. A mountinfo that
/// cannot be read or parsed hides other users' tasks: failing closed is
/// the only safe guess.
pub fn current() -> Result<Visibility, Error> {
    let (uid, groups) = credentials()?;
    let mount = match std::fs::read_to_string("/proc/self/mountinfo") {
        Ok(text) => proc_mount(&text, "/proc").or(Some(ProcMount {
            hides_others: true,
            gid: None,
        })),
        Err(_) => Some(ProcMount {
            hides_others: true,
            gid: None,
        }),
    };
    Ok(rule(mount, uid, &groups))
}

/// Writes the rule into the probe's `visible` map, before any program runs.
pub fn apply(map: &OwnedFd, v: &Visibility) -> Result<(), Error> {
    syscall::update_elem(map, &0u32, v, 0)
        .map_err(|e| Error::io("bpf(BPF_MAP_UPDATE_ELEM) on map \"visible\"", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    const INFO: &str = "\
22 1 0:21 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
23 1 0:22 / /proc rw,nosuid,nodev,noexec,relatime shared:13 - proc proc rw
90 23 0:50 / /proc/sys/fs/binfmt_misc rw,relatime shared:40 - binfmt_misc binfmt_misc rw
";

    #[test]
    fn plain_proc_hides_nothing() {
        let m = proc_mount(INFO, "/proc");
        assert_eq!(m, Some(ProcMount::default()));
        assert_eq!(rule(m, 1000, &[1000]).only_uid, 0);
    }

    #[test]
    fn hidepid_values_and_the_top_mount() {
        for (v, hides) in [
            ("1", true),
            ("2", true),
            ("noaccess", true),
            ("invisible", true),
            ("ptraceable", true),
            ("0", false),
            ("off", false),
        ] {
            let info = format!("{INFO}99 23 0:60 / /proc rw - proc proc rw,hidepid={v},gid=27\n");
            let m = proc_mount(&info, "/proc").expect("a proc mount");
            assert_eq!(m.hides_others, hides, "hidepid={v}");
            assert_eq!(m.gid, Some(27));
        }
        // subset=pid hides the non-process files, not other users.
        let info = format!("{INFO}99 23 0:60 / /proc rw - proc proc rw,subset=pid\n");
        assert!(!proc_mount(&info, "/proc").expect("mount").hides_others);
    }

    #[test]
    fn who_sees_all() {
        let m = Some(ProcMount {
            hides_others: true,
            gid: Some(27),
        });
        assert_eq!(
            rule(m, 1000, &[1000]),
            Visibility {
                only_uid: 1,
                uid: 1000
            }
        );
        assert_eq!(rule(m, 1000, &[1000, 27]).only_uid, 0);
        assert_eq!(rule(m, 0, &[0]).only_uid, 0);
        assert_eq!(rule(None, 1000, &[]).only_uid, 0);
    }

    #[test]
    fn not_proc_or_elsewhere_is_not_it() {
        assert_eq!(proc_mount(INFO, "/sys"), None);
        assert_eq!(proc_mount("garbage\n\n1 2 3\n", "/proc"), None);
    }
}
