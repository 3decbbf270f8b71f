//! Scripts' process groups die with the bar, however it ends.
//!
//! The bar kills each script's group itself when it exits cleanly (SIGTERM,
//! SIGINT, the compositor gone) or a reload removes the module. A bar killed
//! outright (SIGKILL, the OOM killer, a crash) runs no code, and
//! `PR_SET_PDEATHSIG` reaches only the script's first process, not what it
//! started in the background. So the bar forks one small watchdog at start:
//! the bar writes each group it starts (and each it has seen end) into a
//! pipe; when the pipe reads end-of-file the bar is gone, and the watchdog
//! kills every group still listed and exits.
//!
//! The watchdog is forked at the very start of `main`, before fonts, the
//! config or the collector have touched memory: what it shares with the bar
//! then is small, and after the fork it runs only raw system calls (no libc
//! function, no allocation, no lock) on a table in its own zero page, so the
//! pages it maps are its own code, its stack and that table (a few hundred
//! KiB of resident memory, most of it pages shared with the bar). It drops
//! any privilege the bar was started with (capabilities, a setuid uid)
//! before reading anything, holds no descriptor but its end of the pipe, and
//! ignores the signals a session sends to end a bar (it ends itself at
//! end-of-file).

use std::io;
use std::sync::atomic::{AtomicI32, Ordering};

use sys::sys;

/// The write end of the watchdog's pipe; -1 when there is none (tests,
/// `--once`): then only the bar's own clean-up and `PR_SET_PDEATHSIG` apply.
static PIPE: AtomicI32 = AtomicI32::new(-1);

/// The watchdog's pid, to collect it when the bar ends cleanly.
static PID: AtomicI32 = AtomicI32::new(0);

/// How many groups the watchdog tracks at once; beyond that, new groups rely
/// on the bar's own clean-up (a bar with more scripts than this is unusual).
const SLOTS: usize = 1024;

/// How often (seconds) the watchdog reads the groups the bar listed, when
/// the bar is still there; its end is seen at once, whenever it comes.
const READ_EVERY_S: i64 = 10;

/// How long the watchdog gives groups between SIGTERM and SIGKILL.
const GRACE_MS: u64 = 200;

/// Forks the watchdog (once per process; later calls do nothing). Call
/// before any thread is started. The error says which call failed.
pub fn start() -> io::Result<()> {
    if PIPE.load(Ordering::Relaxed) >= 0 {
        return Ok(());
    }
    let mut fds = [0i32; 2];
    // SAFETY: pipe2 writes two descriptors into the array we pass.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::other(format!(
            "pipe2: {}",
            io::Error::last_os_error()
        )));
    }
    let [rx, tx] = fds;
    // The ids to drop to, read while libc may still be called.
    let (mut ruid, mut euid, mut suid) = (0, 0, 0);
    let (mut rgid, mut egid, mut sgid) = (0, 0, 0);
    // SAFETY: the out-pointers are valid locals.
    unsafe {
        libc::getresuid(&mut ruid, &mut euid, &mut suid);
        libc::getresgid(&mut rgid, &mut egid, &mut sgid);
    }
    let shed = sheddable();
    // SAFETY: a fork in a process with one thread (the caller's contract).
    match unsafe { fork_watchdog(rx, ruid, rgid, &shed) } {
        -1 => {
            let e = io::Error::last_os_error();
            // SAFETY: closing the two descriptors pipe2 just made.
            unsafe {
                libc::close(rx);
                libc::close(tx);
            }
            Err(io::Error::new(e.kind(), format!("fork: {e}")))
        }
        pid => {
            PID.store(pid, Ordering::Relaxed);
            // SAFETY: the read end is the watchdog's; the write end is
            // ours, made non-blocking so the bar never waits on it.
            unsafe {
                libc::close(rx);
                let fl = libc::fcntl(tx, libc::F_GETFL);
                libc::fcntl(tx, libc::F_SETFL, fl | libc::O_NONBLOCK);
            }
            PIPE.store(tx, Ordering::Relaxed);
            Ok(())
        }
    }
}

/// Ends the watchdog (the bar is exiting and has killed its scripts'
/// groups itself) and collects it, so it leaves no zombie behind.
pub fn stop() {
    let fd = PIPE.swap(-1, Ordering::Relaxed);
    let pid = PID.swap(0, Ordering::Relaxed);
    if fd >= 0 {
        // SAFETY: closing our own write end; the watchdog reads EOF.
        unsafe { libc::close(fd) };
    }
    if pid > 0 {
        // SAFETY: waits for our own child, which exits at EOF (within its
        // grace period at most, when some group still had members).
        unsafe { libc::waitpid(pid, std::ptr::null_mut(), 0) };
    }
}

/// Whether a watchdog is running for this process.
pub fn active() -> bool {
    PIPE.load(Ordering::Relaxed) >= 0
}

/// Tells the watchdog about a new group (`pgid` > 0).
pub fn watch(pgid: i32) {
    send(pgid);
}

/// Tells the watchdog a group is gone.
pub fn forget(pgid: i32) {
    send(-pgid);
}

fn send(v: i32) {
    let fd = PIPE.load(Ordering::Relaxed);
    if fd < 0 || v == 0 {
        return;
    }
    let b = v.to_ne_bytes();
    // SAFETY: writes 4 bytes from a local array to our pipe. A write of
    // under PIPE_BUF bytes is atomic; a full pipe (the watchdog stuck)
    // drops the message, which only weakens the SIGKILL case.
    unsafe { libc::write(fd, b.as_ptr().cast(), b.len()) };
}

/// The watchdog's table of groups: in `.bss`, so the bar never maps it and
/// the watchdog's first write maps one zero page of its own.
static GROUPS: [AtomicI32; SLOTS] = [const { AtomicI32::new(0) }; SLOTS];

/// Forks; the child becomes the watchdog, the parent gets its pid (or -1).
/// One function with the watchdog inlined: the child runs only this code,
/// so it maps one stretch of the binary's code, not two.
///
/// # Safety
/// As fork: the process has one thread.
#[inline(never)]
unsafe fn fork_watchdog(
    rx: i32,
    uid: libc::uid_t,
    gid: libc::gid_t,
    shed: &[(usize, usize); SHED],
) -> libc::pid_t {
    // SAFETY: the caller's contract; the child makes raw system calls only
    // and ends in exit_group.
    let pid = unsafe { sys::fork() };
    if pid == 0 {
        watchdog(rx, uid, gid, shed);
    }
    pid
}

/// How many mappings the watchdog lets go of at most.
const SHED: usize = 64;

/// What the watchdog lets go of (start, length; zero length ends the list):
/// the bar's heap, its anonymous mappings, and the program's relocated
/// read-only tables (vtables, `.data.rel.ro`) up to its `.dynamic`. After a
/// fork these pages are in the child's page tables (shared with the bar, yet
/// counted as the child's resident memory) and the watchdog reads none of
/// them. Kept: its stack and table, the program's GOT (from `.dynamic` on,
/// where an unoptimised build's calls to helpers go through), and every
/// library's data. Read from `/proc/self/maps` before the fork, while
/// allocating is still allowed; unreadable maps shed nothing.
fn sheddable() -> [(usize, usize); SHED] {
    let mut out = [(0usize, 0usize); SHED];
    let mut n = 0;
    if let Some(r) = program_tables() {
        out[0] = r;
        n = 1;
    }
    let Ok(maps) = std::fs::read_to_string("/proc/self/maps") else {
        return out;
    };
    for line in maps.lines() {
        let mut f = line.split_whitespace();
        let (Some(range), Some(perms)) = (f.next(), f.next()) else {
            continue;
        };
        let name = f.nth(3).unwrap_or("");
        if perms != "rw-p" || !(name.is_empty() || name == "[heap]") {
            continue;
        }
        let Some((a, b)) = range.split_once('-') else {
            continue;
        };
        let (Ok(a), Ok(b)) = (usize::from_str_radix(a, 16), usize::from_str_radix(b, 16)) else {
            continue;
        };
        if n == SHED {
            break;
        }
        out[n] = (a, b.saturating_sub(a));
        n += 1;
    }
    out
}

/// The program's RELRO pages before its `.dynamic` (which the GOT follows
/// in both GNU ld's and lld's layouts), or None when the layout is not that.
fn program_tables() -> Option<(usize, usize)> {
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    let mut found = (page.max(4096) as usize, 0usize, 0usize);
    // SAFETY: the callback reads only the headers the loader hands it, for
    // the call's duration; `found` outlives the call.
    unsafe {
        libc::dl_iterate_phdr(
            Some(relro_of_program),
            (&mut found as *mut (usize, usize, usize)).cast(),
        );
    }
    let (_, start, end) = found;
    (end > start).then_some((start, end - start))
}

/// `dl_iterate_phdr`'s callback: the first object is the program; fills
/// `data` (page size, start, end) with its whole pages of RELRO before
/// `.dynamic`, and stops the walk.
unsafe extern "C" fn relro_of_program(
    info: *mut libc::dl_phdr_info,
    _size: libc::size_t,
    data: *mut libc::c_void,
) -> libc::c_int {
    // SAFETY: the loader passes a valid info for the call's duration, and
    // `data` is the tuple program_tables passed.
    let (info, found) = unsafe { (&*info, &mut *(data as *mut (usize, usize, usize))) };
    if info.dlpi_phdr.is_null() {
        return 1;
    }
    // SAFETY: dlpi_phdr points at dlpi_phnum program headers, mapped for
    // the life of the program.
    let phdrs = unsafe { std::slice::from_raw_parts(info.dlpi_phdr, info.dlpi_phnum as usize) };
    let base = info.dlpi_addr as usize;
    let (mut relro, mut dynamic) = (None, None);
    for p in phdrs {
        let at = base + p.p_vaddr as usize;
        match p.p_type {
            libc::PT_GNU_RELRO => relro = Some((at, at + p.p_memsz as usize)),
            libc::PT_DYNAMIC => dynamic = Some(at),
            _ => {}
        }
    }
    if let (Some((start, end)), Some(dyn_at)) = (relro, dynamic) {
        if (start..end).contains(&dyn_at) {
            let page = found.0;
            let from = start.div_ceil(page) * page;
            let to = dyn_at / page * page;
            if to > from {
                (found.1, found.2) = (from, to);
            }
        }
    }
    1
}

/// The watchdog's whole life. Never returns. Only [`sys`] calls: a libc
/// function would map libc's code into the watchdog (pages that count as
/// its resident memory), and it needs none.
#[inline(always)]
fn watchdog(rx: i32, uid: libc::uid_t, gid: libc::gid_t, shed: &[(usize, usize); SHED]) -> ! {
    // SAFETY: each call is a raw system call on our own descriptors, our
    // own credentials and signal dispositions, and the process groups the
    // bar told us about; every pointer passed is to a live local.
    unsafe {
        // Privilege first: a bar started setuid or with capabilities must
        // not leave a privileged process killing groups it is told about.
        // Lowering is always allowed; if it fails, no watchdog at all.
        let header = [0x2008_0522u32, 0]; // _LINUX_CAPABILITY_VERSION_3, self
        let none = [0u32; 6];
        let ok = sys(sys::SETRESGID, [gid as usize; 3]) == 0
            && sys(sys::SETRESUID, [uid as usize; 3]) == 0
            && sys(
                libc::SYS_capset,
                [header.as_ptr() as usize, none.as_ptr() as usize, 0],
            ) == 0;
        if !ok {
            sys::exit();
        }
        for &(at, len) in shed.iter().take_while(|r| r.1 > 0) {
            sys(libc::SYS_madvise, [at, len, libc::MADV_DONTNEED as usize]);
        }
        // Everything but the pipe closed: the watchdog must not keep the
        // compositor connection, the bar's pipes or its stdio open.
        if rx > 0 {
            sys(libc::SYS_close_range, [0, rx as usize - 1, 0]);
        }
        sys(
            libc::SYS_close_range,
            [rx as usize + 1, u32::MAX as usize, 0],
        );
        // The kernel's struct sigaction: handler, flags, restorer, mask.
        let ignore = [libc::SIG_IGN, 0, 0, 0];
        sys::sigaction(libc::SIGTERM, &ignore);
        sys::sigaction(libc::SIGINT, &ignore);
        sys::sigaction(libc::SIGHUP, &ignore);
        sys::sigaction(libc::SIGUSR1, &ignore);
        sys::sigaction(libc::SIGUSR2, &ignore);
        // Its own group: a signal to the bar's group leaves it running.
        sys(libc::SYS_setpgid, [0, 0, 0]);
        // "rstat-reaper", built from immediates rather than read from the
        // binary's constants (one more page mapped).
        let name = [
            u64::from_le_bytes(*b"rstat-re"),
            u64::from_le_bytes(*b"aper\0\0\0\0"),
        ];
        sys(
            libc::SYS_prctl,
            [libc::PR_SET_NAME as usize, name.as_ptr() as usize, 0],
        );
        // Writes are 4 bytes each and atomic (under PIPE_BUF), reads ask for
        // a multiple of 4: every read returns whole values.
        //
        // The watchdog sleeps until the pipe hangs up (the bar is gone) or
        // READ_EVERY has passed, and only then reads what the bar wrote:
        // a poll asking for no event wakes on the hang-up alone, so a
        // script's start and end no longer wake it each (twice a second at
        // a 1 s script). The pipe holds 16384 values meanwhile.
        sys(
            libc::SYS_fcntl,
            [
                rx as usize,
                libc::F_SETFL as usize,
                libc::O_NONBLOCK as usize,
            ],
        );
        let mut buf = std::mem::MaybeUninit::<[i32; 64]>::uninit();
        'life: loop {
            // struct pollfd { fd, events = 0, revents = 0 }.
            let pfd = [rx, 0];
            let every = libc::timespec {
                tv_sec: READ_EVERY_S as _,
                tv_nsec: 0,
            };
            let r = sys::sys4(
                libc::SYS_ppoll,
                [pfd.as_ptr() as usize, 1, &every as *const _ as usize, 0],
            );
            if r < 0 && r != -(libc::EINTR as isize) {
                // No poll to be had: read once a second instead.
                let ts = [1i64, 0];
                sys(libc::SYS_nanosleep, [ts.as_ptr() as usize, 0, 0]);
            }
            loop {
                let n = sys(
                    libc::SYS_read,
                    [rx as usize, buf.as_mut_ptr() as usize, 4 * 64],
                );
                if n == -(libc::EINTR as isize) {
                    continue;
                }
                if n == -(libc::EAGAIN as isize) {
                    // All read; the bar is still there.
                    break;
                }
                if n <= 0 {
                    break 'life;
                }
                let p = buf.as_ptr().cast::<i32>();
                for i in 0..(n as usize / 4).min(64) {
                    apply(&GROUPS, p.add(i).read());
                }
            }
        }
        let mut any = false;
        for g in GROUPS.iter().map(|g| g.load(Ordering::Relaxed)) {
            if g > 0 {
                any |= sys(libc::SYS_kill, [-g as usize, libc::SIGTERM as usize, 0]) == 0;
            }
        }
        if any {
            let ts = [0i64, (GRACE_MS * 1_000_000) as i64];
            sys(libc::SYS_nanosleep, [ts.as_ptr() as usize, 0, 0]);
            for g in GROUPS.iter().map(|g| g.load(Ordering::Relaxed)) {
                if g > 0 {
                    sys(libc::SYS_kill, [-g as usize, libc::SIGKILL as usize, 0]);
                }
            }
        }
        sys::exit()
    }
}

/// Adds (`v` > 0) or removes (`v` < 0) a group in the table.
fn apply(groups: &[AtomicI32], v: i32) {
    let (want, put) = if v > 0 { (0, v) } else { (v.wrapping_neg(), 0) };
    if want == 0 && put == 0 {
        return;
    }
    if let Some(slot) = groups.iter().find(|g| g.load(Ordering::Relaxed) == want) {
        slot.store(put, Ordering::Relaxed);
    }
}

/// Raw system calls for the watchdog, which must not call into libc.
mod sys {
    /// The 32-bit id calls (the plain ones take 16-bit ids on these).
    #[cfg(any(target_arch = "x86", target_arch = "arm"))]
    pub const SETRESUID: libc::c_long = libc::SYS_setresuid32;
    #[cfg(any(target_arch = "x86", target_arch = "arm"))]
    pub const SETRESGID: libc::c_long = libc::SYS_setresgid32;
    #[cfg(not(any(target_arch = "x86", target_arch = "arm")))]
    pub const SETRESUID: libc::c_long = libc::SYS_setresuid;
    #[cfg(not(any(target_arch = "x86", target_arch = "arm")))]
    pub const SETRESGID: libc::c_long = libc::SYS_setresgid;

    /// A raw system call with three arguments; returns the kernel's result
    /// (a negative errno on failure).
    ///
    /// # Safety
    /// The caller passes a call and arguments the kernel may act on.
    #[cfg(target_arch = "x86_64")]
    pub unsafe fn sys(n: libc::c_long, a: [usize; 3]) -> isize {
        let r: isize;
        // SAFETY: the x86-64 Linux system call convention; the kernel
        // clobbers rcx and r11 only.
        unsafe {
            std::arch::asm!(
                "syscall",
                inlateout("rax") n as isize => r,
                in("rdi") a[0],
                in("rsi") a[1],
                in("rdx") a[2],
                lateout("rcx") _,
                lateout("r11") _,
                options(nostack),
            );
        }
        r
    }

    /// See the x86-64 version.
    ///
    /// # Safety
    /// The caller passes a call and arguments the kernel may act on.
    #[cfg(target_arch = "aarch64")]
    pub unsafe fn sys(n: libc::c_long, a: [usize; 3]) -> isize {
        let r: isize;
        // SAFETY: the AArch64 Linux system call convention (number in x8,
        // result in x0; nothing else clobbered).
        unsafe {
            std::arch::asm!(
                "svc 0",
                in("x8") n,
                inlateout("x0") a[0] as isize => r,
                in("x1") a[1],
                in("x2") a[2],
                options(nostack),
            );
        }
        r
    }

    /// Elsewhere through libc's `syscall` (the child has its own errno).
    ///
    /// # Safety
    /// The caller passes a call and arguments the kernel may act on.
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    pub unsafe fn sys(n: libc::c_long, a: [usize; 3]) -> isize {
        // SAFETY: the caller's contract.
        let r = unsafe { libc::syscall(n, a[0], a[1], a[2]) };
        if r < 0 {
            -(std::io::Error::last_os_error().raw_os_error().unwrap_or(1) as isize)
        } else {
            r as isize
        }
    }

    /// fork(2) as a raw clone, so the child returns into our code and not
    /// into libc's fork (whose code it would map). -1 on failure.
    ///
    /// # Safety
    /// As fork: the process has one thread, and the child calls no libc.
    #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
    pub unsafe fn fork() -> libc::pid_t {
        // SAFETY: clone with only the exit signal and no new stack is fork:
        // the child gets a copy of our memory and continues on its copy of
        // this stack.
        let r = unsafe { sys(libc::SYS_clone, [libc::SIGCHLD as usize, 0, 0]) };
        if r < 0 {
            // SAFETY: errno of the calling (parent) thread, for the caller's
            // `last_os_error`.
            unsafe { *libc::__errno_location() = -r as i32 };
            -1
        } else {
            r as libc::pid_t
        }
    }

    /// libc's fork where the clone arguments differ by architecture.
    ///
    /// # Safety
    /// As fork: the process has one thread.
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    pub unsafe fn fork() -> libc::pid_t {
        // SAFETY: the caller's contract.
        unsafe { libc::fork() }
    }

    /// Sets one signal's disposition from the kernel's struct sigaction.
    ///
    /// # Safety
    /// `act` must be a disposition the kernel accepts (SIG_IGN here).
    pub unsafe fn sigaction(sig: i32, act: &[usize; 4]) {
        // SAFETY: the caller's contract; the old action is not asked for.
        let n = libc::SYS_rt_sigaction;
        unsafe { sys4(n, [sig as usize, act.as_ptr() as usize, 0, 8]) };
    }

    /// exit_group(0): the whole (single-threaded) child ends.
    pub fn exit() -> ! {
        loop {
            // SAFETY: ending our own process.
            unsafe { sys(libc::SYS_exit_group, [0, 0, 0]) };
        }
    }

    /// A raw system call with four arguments (rt_sigaction's sigset size).
    ///
    /// # Safety
    /// As [`sys`].
    #[cfg(target_arch = "x86_64")]
    pub unsafe fn sys4(n: libc::c_long, a: [usize; 4]) -> isize {
        let r: isize;
        // SAFETY: as in `sys`; the fourth argument goes in r10.
        unsafe {
            std::arch::asm!(
                "syscall",
                inlateout("rax") n as isize => r,
                in("rdi") a[0],
                in("rsi") a[1],
                in("rdx") a[2],
                in("r10") a[3],
                lateout("rcx") _,
                lateout("r11") _,
                options(nostack),
            );
        }
        r
    }

    /// See the x86-64 version.
    ///
    /// # Safety
    /// As [`sys`].
    #[cfg(target_arch = "aarch64")]
    pub unsafe fn sys4(n: libc::c_long, a: [usize; 4]) -> isize {
        let r: isize;
        // SAFETY: as in `sys`.
        unsafe {
            std::arch::asm!(
                "svc 0",
                in("x8") n,
                inlateout("x0") a[0] as isize => r,
                in("x1") a[1],
                in("x2") a[2],
                in("x3") a[3],
                options(nostack),
            );
        }
        r
    }

    /// Through libc elsewhere.
    ///
    /// # Safety
    /// As [`sys`].
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    pub unsafe fn sys4(n: libc::c_long, a: [usize; 4]) -> isize {
        // SAFETY: the caller's contract.
        unsafe { libc::syscall(n, a[0], a[1], a[2], a[3]) as isize }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_adds_and_forgets() {
        let t = [const { AtomicI32::new(0) }; 3];
        let now = || t.each_ref().map(|g| g.load(Ordering::Relaxed));
        apply(&t, 10);
        apply(&t, 11);
        apply(&t, 12);
        apply(&t, 13); // full: dropped
        assert_eq!(now(), [10, 11, 12]);
        apply(&t, -11);
        apply(&t, -99);
        apply(&t, 0);
        apply(&t, i32::MIN); // no such group; must not panic
        assert_eq!(now(), [10, 0, 12]);
        apply(&t, 14);
        assert_eq!(now(), [10, 14, 12]);
    }
}
