//! A script's process, started the way `posix_spawn` starts one — a clone
//! that shares the bar's memory, the bar paused until the child's `execve`
//! — but with what `posix_spawn` redoes on every call done once: the child's
//! stack is kept from run to run (glibc maps and unmaps one per call, and
//! the unmap of the pages the child touched was 3% of the bar's time at a
//! 1 s script), and the pidfd comes from the clone itself (`CLONE_PIDFD`),
//! not from a `pidfd_open` after it.
//!
//! The child runs only async-signal-safe calls on data the parent prepared
//! (paths, argv, the environment): the parent-death signal if asked, its
//! own process group, stdin and stdout
//! onto fd 0 and 1, SIGPIPE back to its default (the Rust runtime ignores
//! it, and an ignored signal stays ignored across exec), an empty signal
//! mask (the bar blocks the signals its signalfd reads), then `execve` of
//! each candidate path in turn, as `execvp` does. If none runs, it leaves
//! the errno where the parent reads it and exits 127.

use std::ffi::{c_char, c_int, c_void, CString};
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Mutex;

/// What to run: the paths to try (one, or the program under each `PATH`
/// directory when its name has no slash) and its argv.
pub struct Program {
    paths: Vec<CString>,
    argv: Vec<CString>,
}

impl Program {
    /// `argv[0]` looked up like `execvp` does (under `path`, the value of
    /// `PATH`, when it has no slash); `None` for an empty argv or one with
    /// a NUL byte.
    pub fn new(argv: &[&str], path: Option<&str>) -> Option<Program> {
        let prog = *argv.first()?;
        if prog.is_empty() {
            return None;
        }
        let argv = argv
            .iter()
            .map(|a| CString::new(*a).ok())
            .collect::<Option<Vec<_>>>()?;
        let paths = if prog.contains('/') {
            vec![CString::new(prog).ok()?]
        } else {
            // execvp's default search path when PATH is unset.
            path.unwrap_or("/bin:/usr/bin")
                .split(':')
                .map(|dir| {
                    let dir = if dir.is_empty() { "." } else { dir };
                    CString::new(format!("{dir}/{prog}")).ok()
                })
                .collect::<Option<Vec<_>>>()?
        };
        Some(Program { paths, argv })
    }
}

/// A started child: its pid, its pidfd (readable once it exits; `None` on
/// a kernel before 5.2, whose clone ignores `CLONE_PIDFD`) and the read end
/// of its stdout.
pub struct Started {
    pub pid: libc::pid_t,
    pub pidfd: Option<OwnedFd>,
    pub stdout: OwnedFd,
}

/// The child's stack, kept for every run. 64 KiB: the child's frames are a
/// few hundred bytes (glibc gives its `posix_spawn` child 32 KiB plus argv).
const STACK_WORDS: usize = 64 * 1024 / 16;

static STACK: Mutex<Option<Box<[u128; STACK_WORDS]>>> = Mutex::new(None);

/// What the child reads (prepared by the parent) and writes back.
#[repr(C)]
struct Args {
    paths: *const *const c_char,
    npaths: usize,
    argv: *const *const c_char,
    envp: *const *const c_char,
    stdin: RawFd,
    stdout: RawFd,
    /// `PR_SET_PDEATHSIG` to SIGKILL (no watchdog to kill the group).
    die_with_parent: bool,
    /// The errno of the last failed step; 0 while all went well.
    err: AtomicI32,
}

/// Starts `prog` with stdin a copy of `stdin`, stdout a new pipe (its read
/// end non-blocking in the result), stderr the bar's, in a process group of
/// its own; with `die_with_parent`, killed when the bar's thread ends
/// (`PR_SET_PDEATHSIG`). `Err(Unsupported)` where the kernel refuses the
/// clone's flags: the caller spawns another way.
pub fn spawn(prog: &Program, stdin: BorrowedFd<'_>, die_with_parent: bool) -> io::Result<Started> {
    let mut fds = [0 as RawFd; 2];
    // SAFETY: pipe2 writes two descriptors into the array we pass.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: pipe2 just made both; nothing else owns them.
    let (rx, tx) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    let paths: Vec<*const c_char> = prog.paths.iter().map(|p| p.as_ptr()).collect();
    let argv: Vec<*const c_char> = prog
        .argv
        .iter()
        .map(|a| a.as_ptr())
        .chain(std::iter::once(std::ptr::null()))
        .collect();
    let args = Args {
        paths: paths.as_ptr(),
        npaths: paths.len(),
        argv: argv.as_ptr(),
        // SAFETY: reading the pointer; nothing in the bar changes the
        // environment once it runs (std's `set_var` is not called).
        envp: unsafe { libc::environ } as *const *const c_char,
        stdin: stdin.as_raw_fd(),
        stdout: tx.as_raw_fd(),
        die_with_parent,
        err: AtomicI32::new(0),
    };
    let mut stack = STACK.lock().unwrap_or_else(|e| e.into_inner());
    let stack = stack.get_or_insert_with(|| Box::new([0u128; STACK_WORDS]));
    // The stack grows down from its end, which is 16-byte aligned (u128).
    let top = stack.as_mut_ptr_range().end as *mut c_void;
    let mut pidfd: c_int = -1;
    // SAFETY: sigset_t is plain data; sigfillset/pthread_sigmask fill and
    // swap the calling thread's mask with valid pointers. All signals are
    // held while the child shares our memory, so no handler of ours runs in
    // it; the parent restores its mask right after.
    let (pid, clone_err) = unsafe {
        let mut all: libc::sigset_t = std::mem::zeroed();
        let mut old: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut all);
        libc::pthread_sigmask(libc::SIG_SETMASK, &all, &mut old);
        // SAFETY (clone): `child` runs on `top` (64 KiB of ours, used by no
        // one else while the lock is held, and the parent is suspended
        // until the child execs or exits: CLONE_VFORK), reads `args`,
        // which outlives the call, and the kernel writes the pidfd into
        // `pidfd`.
        let pid = libc::clone(
            child,
            top,
            libc::CLONE_VM | libc::CLONE_VFORK | libc::CLONE_PIDFD | libc::SIGCHLD,
            &args as *const Args as *mut c_void,
            &mut pidfd as *mut c_int,
        );
        let e = io::Error::last_os_error();
        libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut());
        (pid, e)
    };
    drop(tx);
    if pid < 0 {
        return Err(if clone_err.raw_os_error() == Some(libc::EINVAL) {
            io::Error::new(io::ErrorKind::Unsupported, "clone with CLONE_PIDFD")
        } else {
            clone_err
        });
    }
    // SAFETY: CLONE_PIDFD put a fresh descriptor there that we own (a
    // kernel that ignores the flag leaves the -1).
    let pidfd = (pidfd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(pidfd) });
    let err = args.err.load(Ordering::Relaxed);
    if err != 0 {
        // The child has exited (the parent resumes at its exit or exec):
        // collect it now.
        let mut status = 0;
        // SAFETY: waits for our own exited child.
        unsafe { libc::waitpid(pid, &mut status, 0) };
        return Err(io::Error::from_raw_os_error(err));
    }
    // A fresh pipe's read end has no status flag but O_RDONLY.
    // SAFETY: fcntl on the descriptor we own.
    unsafe { libc::fcntl(rx.as_raw_fd(), libc::F_SETFL, libc::O_NONBLOCK) };
    Ok(Started {
        pid,
        pidfd,
        stdout: rx,
    })
}

/// The child, on the kept stack and the bar's memory. Only
/// async-signal-safe calls; never returns into the parent's code.
extern "C" fn child(arg: *mut c_void) -> c_int {
    // SAFETY: `arg` is the parent's `Args`, alive until the parent resumes
    // (after our exec or exit); every pointer in it is to the parent's
    // prepared, NUL-terminated data.
    unsafe {
        let a = &*(arg as *const Args);
        let fail = |a: &Args| -> ! {
            a.err
                .store((*libc::__errno_location()).max(1), Ordering::Relaxed);
            libc::_exit(127)
        };
        if a.die_with_parent
            && libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong) != 0
        {
            fail(a);
        }
        if libc::setpgid(0, 0) != 0 || libc::dup2(a.stdin, 0) < 0 || libc::dup2(a.stdout, 1) < 0 {
            fail(a);
        }
        let mut dfl: libc::sigaction = std::mem::zeroed();
        dfl.sa_sigaction = libc::SIG_DFL;
        libc::sigaction(libc::SIGPIPE, &dfl, std::ptr::null_mut());
        let mut none: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut none);
        libc::sigprocmask(libc::SIG_SETMASK, &none, std::ptr::null_mut());
        // As execvp: the first candidate that runs; a missing one (or a
        // directory in the way) moves on; a denied one is remembered and
        // reported if nothing else runs.
        let mut denied = false;
        for i in 0..a.npaths {
            libc::execve(*a.paths.add(i), a.argv, a.envp);
            match *libc::__errno_location() {
                libc::ENOENT | libc::ENOTDIR | libc::ESTALE | libc::ENODEV | libc::ETIMEDOUT => {}
                libc::EACCES => denied = true,
                _ => fail(a),
            }
        }
        if denied {
            *libc::__errno_location() = libc::EACCES;
        }
        fail(a)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn program_paths_as_execvp_searches() {
        let p = Program::new(&["x", "-a"], Some("/a::/b")).expect("a program");
        let paths: Vec<&str> = p.paths.iter().map(|c| c.to_str().unwrap_or("")).collect();
        assert_eq!(paths, ["/a/x", "./x", "/b/x"]);
        assert_eq!(p.argv.len(), 2);
        let p = Program::new(&["./y"], Some("/a")).expect("a program");
        assert_eq!(p.paths, [CString::new("./y").unwrap_or_default()]);
        let p = Program::new(&["z"], None).expect("a program");
        assert_eq!(p.paths.len(), 2);
        assert!(Program::new(&[], None).is_none());
        assert!(Program::new(&[""], None).is_none());
        assert!(Program::new(&["a\0b"], None).is_none());
        assert!(Program::new(&["sh", "-c", "a\0b"], None).is_none());
    }
}
