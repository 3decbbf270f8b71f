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
//! The watchdog is forked before the bar has any other thread, runs only
//! raw system calls on a fixed table (no allocation, no locks), holds no
//! descriptor but its end of the pipe, and ignores the signals a session
//! sends to end a bar (it ends itself at end-of-file).

use std::io;
use std::sync::atomic::{AtomicI32, Ordering};

/// The write end of the watchdog's pipe; -1 when there is none (tests,
/// `--once`): then only the bar's own clean-up and `PR_SET_PDEATHSIG` apply.
static PIPE: AtomicI32 = AtomicI32::new(-1);

/// The watchdog's pid, to collect it when the bar ends cleanly.
static PID: AtomicI32 = AtomicI32::new(0);

/// How many groups the watchdog tracks at once; beyond that, new groups rely
/// on the bar's own clean-up (a bar with more scripts than this is unusual).
const SLOTS: usize = 1024;

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
    // SAFETY: fork in a process with one thread (the caller's contract);
    // the child only makes async-signal-safe calls and ends in _exit.
    match unsafe { libc::fork() } {
        -1 => {
            let e = io::Error::last_os_error();
            // SAFETY: closing the two descriptors pipe2 just made.
            unsafe {
                libc::close(rx);
                libc::close(tx);
            }
            Err(io::Error::new(e.kind(), format!("fork: {e}")))
        }
        0 => watchdog(rx),
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

/// The watchdog's whole life. Never returns.
fn watchdog(rx: i32) -> ! {
    // SAFETY: every call below is async-signal-safe and works on our own
    // descriptors, our own signal dispositions, and process groups the bar
    // told us about; the table is on the stack.
    unsafe {
        // Everything but the pipe closed: the watchdog must not keep the
        // compositor connection, the bar's pipes or its stdio open.
        for fd in 0..rx {
            libc::close(fd);
        }
        libc::syscall(libc::SYS_close_range, (rx + 1) as u32, u32::MAX, 0u32);
        for sig in [
            libc::SIGTERM,
            libc::SIGINT,
            libc::SIGHUP,
            libc::SIGUSR1,
            libc::SIGUSR2,
        ] {
            libc::signal(sig, libc::SIG_IGN);
        }
        // Its own group: a signal to the bar's group leaves it running.
        libc::setpgid(0, 0);
        libc::prctl(
            libc::PR_SET_NAME,
            c"rstat-reaper".as_ptr() as libc::c_ulong,
            0,
            0,
            0,
        );
        let mut groups = [0i32; SLOTS];
        let mut buf = [0u8; 4 * 64];
        let mut have = 0usize;
        loop {
            let n = libc::read(rx, buf.as_mut_ptr().add(have).cast(), buf.len() - have);
            if n == 0 {
                break;
            }
            if n < 0 {
                if *libc::__errno_location() == libc::EINTR {
                    continue;
                }
                break;
            }
            have += n as usize;
            let whole = have / 4 * 4;
            for c in buf[..whole].chunks_exact(4) {
                let v = i32::from_ne_bytes([c[0], c[1], c[2], c[3]]);
                apply(&mut groups, v);
            }
            buf.copy_within(whole..have, 0);
            have -= whole;
        }
        let mut any = false;
        for &g in groups.iter().filter(|&&g| g > 0) {
            any |= libc::kill(-g, libc::SIGTERM) == 0;
        }
        if any {
            let ts = libc::timespec {
                tv_sec: 0,
                tv_nsec: (GRACE_MS * 1_000_000) as libc::c_long,
            };
            libc::nanosleep(&ts, std::ptr::null_mut());
            for &g in groups.iter().filter(|&&g| g > 0) {
                libc::kill(-g, libc::SIGKILL);
            }
        }
        libc::_exit(0)
    }
}

/// Adds (`v` > 0) or removes (`v` < 0) a group in the table.
fn apply(groups: &mut [i32], v: i32) {
    if v > 0 {
        if let Some(slot) = groups.iter_mut().find(|g| **g == 0) {
            *slot = v;
        }
    } else if let Some(slot) = groups.iter_mut().find(|g| **g == -v) {
        *slot = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_adds_and_forgets() {
        let mut t = [0i32; 3];
        apply(&mut t, 10);
        apply(&mut t, 11);
        apply(&mut t, 12);
        apply(&mut t, 13); // full: dropped
        assert_eq!(t, [10, 11, 12]);
        apply(&mut t, -11);
        apply(&mut t, -99);
        assert_eq!(t, [10, 0, 12]);
        apply(&mut t, 14);
        assert_eq!(t, [10, 14, 12]);
    }
}
