//! The floor: what any bar that shows CPU and memory once a second costs
//! this machine before it formats or draws anything. A process that sleeps
//! to each second, reads `/proc/stat` and `/proc/meminfo` as a CPU and a
//! memory module must, writes one commit-sized message (88 bytes, what
//! rstat's attach, damage and commit make) to a peer in another process, and
//! waits (`poll`) for the peer's 32-byte answer, sent 200 µs later, as
//! Sway's buffer release and frame callback come after a commit: two
//! wakeups a second, like every bar on a compositor.
//!
//! Measured like the bars and in the same run, the row `floor` bounds the
//! ratios a bar can reach here: a target below `floor / yambar` cannot be
//! met by any bar; the difference between a bar and the floor is what its
//! own work costs.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::FileExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// The variable that makes the bench binary run as the floor, naming the
/// peer's socket.
pub const SOCKET_ENV: &str = "RSTAT_BENCH_FLOOR_SOCKET";

/// In the child the bench starts: the floor's loop, until the peer hangs up.
pub fn child(socket: &Path) -> ! {
    let run = || -> std::io::Result<()> {
        let stat = File::open("/proc/stat")?;
        let meminfo = File::open("/proc/meminfo")?;
        let mut peer = UnixStream::connect(socket)?;
        let mut buf = vec![0u8; 16 << 10];
        let frame = [0u8; 88];
        let mut answer = [0u8; 64];
        let start = Instant::now();
        for n in 1u64.. {
            let due = start + Duration::from_secs(n);
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
            stat.read_at(&mut buf, 0)?;
            meminfo.read_at(&mut buf, 0)?;
            peer.write_all(&frame)?;
            // Waiting as a bar's loop does, for input only: a blocking read
            // would also be woken when the peer takes the message (the
            // socket's writable wakeup), a third wakeup no bar has.
            let mut fd = libc::pollfd {
                fd: peer.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one valid pollfd, for this call only.
            if unsafe { libc::poll(&mut fd, 1, -1) } < 0 {
                return Err(std::io::Error::last_os_error());
            }
            if peer.read(&mut answer)? == 0 {
                break;
            }
        }
        Ok(())
    };
    match run() {
        Ok(()) => std::process::exit(0),
        Err(e) => {
            eprintln!("floor: {e}");
            std::process::exit(1)
        }
    }
}

/// The floor's command and its peer: a thread of the bench that answers
/// each message 200 µs after it came, until the floor goes.
pub fn command(dir: &Path) -> Result<Command, String> {
    let socket = dir.join("floor.sock");
    let _ = std::fs::remove_file(&socket);
    let listener =
        UnixListener::bind(&socket).map_err(|e| format!("bind {}: {e}", socket.display()))?;
    std::thread::spawn(move || {
        let Ok((mut s, _)) = listener.accept() else {
            return;
        };
        let mut buf = [0u8; 4096];
        let reply = [0u8; 32];
        while let Ok(n) = s.read(&mut buf) {
            if n == 0 {
                break;
            }
            std::thread::sleep(Duration::from_micros(200));
            if s.write_all(&reply).is_err() {
                break;
            }
        }
    });
    let exe = std::env::current_exe().map_err(|e| format!("the bench's own path: {e}"))?;
    let mut cmd = Command::new(exe);
    cmd.env(SOCKET_ENV, &socket);
    Ok(cmd)
}
