//! The bar's event loop on real descriptors: pipes, timers and a Wayland
//! connection over a socket pair whose other end plays the compositor (it
//! sends nothing, hangs up, or answers a `wl_display.sync` with the
//! callback's `done` event, written on the wire by the test).

mod common;

use std::cell::RefCell;
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::rc::Rc;
use std::time::{Duration, Instant};

use rstat::bar::event_loop::{EventLoop, PostAction, TimeoutAction};
use wayland_client::protocol::wl_callback::{self, WlCallback};
use wayland_client::{Connection, Dispatch, QueueHandle};

#[global_allocator]
static GLOBAL: common::alloc::Counting = common::alloc::Counting;

/// What the callbacks saw, in order; and a pipe written when a
/// `wl_callback.done` is dispatched (so that dispatch wakes the loop).
#[derive(Default)]
struct Seen(Vec<&'static str>, Option<std::fs::File>);

impl Dispatch<WlCallback, ()> for Seen {
    fn event(
        seen: &mut Seen,
        _: &WlCallback,
        event: wl_callback::Event,
        _: &(),
        _: &Connection,
        _: &QueueHandle<Seen>,
    ) {
        if let wl_callback::Event::Done { .. } = event {
            seen.0.push("done");
            if let Some(w) = seen.1.as_mut() {
                w.write_all(b"d").unwrap();
            }
        }
    }
}

/// A loop as [`new_loop`], with its connection and queue handle (to send
/// requests whose answers the test writes from the peer).
fn new_loop_with_conn() -> (EventLoop<Seen>, UnixStream, Connection, QueueHandle<Seen>) {
    let (ours, peer) = UnixStream::pair().expect("socketpair");
    let conn = Connection::from_socket(ours).expect("a connection over the socket pair");
    let fd = conn.backend().poll_fd().as_raw_fd();
    let queue = conn.new_event_queue();
    let qh = queue.handle();
    (EventLoop::new(queue, fd).expect("epoll"), peer, conn, qh)
}

/// Sends a `wl_display.sync` and reads it at the peer; the bytes of the
/// `done` event that answers it (not sent yet).
fn sync_request(conn: &Connection, qh: &QueueHandle<Seen>, peer: &mut UnixStream) -> [u8; 12] {
    conn.display().sync(qh, ());
    conn.flush().expect("flush the sync request");
    // wl_display.sync: object 1, opcode 0, 12 bytes, the callback's new id.
    let mut req = [0u8; 12];
    peer.read_exact(&mut req)
        .expect("the sync request at the peer");
    assert_eq!(&req[..8], &[1, 0, 0, 0, 0, 0, 12, 0], "not a sync: {req:?}");
    let mut done = [0u8; 12];
    done[..4].copy_from_slice(&req[8..12]);
    // wl_callback.done: opcode 0, 12 bytes, callback_data 7.
    done[4..8].copy_from_slice(&(12u32 << 16).to_ne_bytes());
    done[8..].copy_from_slice(&7u32.to_ne_bytes());
    done
}

/// Waits (at most 10 s) until `fd` is readable; whether it is.
fn readable(fd: i32) -> bool {
    let mut p = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd.
    unsafe { libc::poll(&mut p, 1, 10_000) == 1 }
}

/// A loop whose Wayland socket's peer is `peer` (kept by the caller: while
/// it is open and silent, the socket is never readable).
fn new_loop() -> (EventLoop<Seen>, UnixStream) {
    let (ours, peer) = UnixStream::pair().expect("socketpair");
    let conn = Connection::from_socket(ours).expect("a connection over the socket pair");
    let fd = conn.backend().poll_fd().as_raw_fd();
    let queue = conn.new_event_queue();
    (EventLoop::new(queue, fd).expect("epoll"), peer)
}

fn pipe() -> (std::fs::File, std::fs::File) {
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two descriptors pipe2 writes.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    use std::os::fd::FromRawFd;
    // SAFETY: both descriptors are new and owned by nobody else.
    unsafe {
        (
            std::fs::File::from_raw_fd(fds[0]),
            std::fs::File::from_raw_fd(fds[1]),
        )
    }
}

#[test]
fn a_timer_fires_at_its_deadline_and_as_it_asks_again() {
    let (mut l, _peer) = new_loop();
    let start = Instant::now();
    let fired = Rc::new(RefCell::new(Vec::new()));
    let f = fired.clone();
    l.handle()
        .insert_timer(start + Duration::from_millis(30), move |seen: &mut Seen| {
            seen.0.push("timer");
            let mut f = f.borrow_mut();
            f.push(Instant::now());
            match f.len() {
                1 => TimeoutAction::ToDuration(Duration::from_millis(20)),
                2 => TimeoutAction::ToInstant(Instant::now() + Duration::from_millis(10)),
                _ => TimeoutAction::Drop,
            }
        });
    let mut seen = Seen::default();
    // No other source: each turn sleeps until the timer (an hour's cap
    // would show as a hang, not a pass).
    while fired.borrow().len() < 3 && start.elapsed() < Duration::from_secs(10) {
        l.dispatch(Some(Duration::from_secs(3600)), &mut seen)
            .unwrap();
    }
    let f = fired.borrow();
    assert_eq!(f.len(), 3, "the timer fired {} times", f.len());
    assert!(f[0] >= start + Duration::from_millis(30), "fired early");
    assert!(
        f[1] >= f[0] + Duration::from_millis(20),
        "re-armed by duration too early"
    );
    assert!(
        f[2] >= f[1] + Duration::from_millis(10),
        "re-armed by instant too early"
    );
    // Dropped: a later turn with a short timeout runs nothing.
    l.dispatch(Some(Duration::from_millis(50)), &mut seen)
        .unwrap();
    assert_eq!(seen.0.len(), 3);
}

#[test]
fn the_callers_timeout_bounds_the_wait() {
    let (mut l, _peer) = new_loop();
    let mut seen = Seen::default();
    l.handle().insert_timer(
        Instant::now() + Duration::from_secs(3600),
        |_: &mut Seen| TimeoutAction::Drop,
    );
    let t = Instant::now();
    l.dispatch(Some(Duration::from_millis(20)), &mut seen)
        .unwrap();
    assert!(t.elapsed() >= Duration::from_millis(20));
    assert!(
        t.elapsed() < Duration::from_secs(60),
        "waited for the hour timer"
    );
    assert!(seen.0.is_empty());
}

#[test]
fn a_readable_descriptor_runs_its_callback_each_turn_until_drained_then_removed() {
    let (mut l, _peer) = new_loop();
    let (r, mut w) = pipe();
    let reads = Rc::new(RefCell::new(0));
    let n = reads.clone();
    l.handle()
        .insert_fd(r, move |r, seen: &mut Seen| {
            let mut b = [0u8; 1];
            // One byte a turn: level-triggered, the rest wakes the next.
            assert_eq!(r.read(&mut b).unwrap(), 1);
            seen.0.push("read");
            *n.borrow_mut() += 1;
            if b[0] == b'!' {
                PostAction::Remove
            } else {
                PostAction::Continue
            }
        })
        .unwrap();
    w.write_all(b"ab!c").unwrap();
    let mut seen = Seen::default();
    for _ in 0..10 {
        l.dispatch(Some(Duration::from_millis(20)), &mut seen)
            .unwrap();
    }
    assert_eq!(*reads.borrow(), 3, "read a, b, ! then removed");
    // Removed: its read end is closed, so writing now fails.
    assert_eq!(
        w.write_all(b"x").map_err(|e| e.kind()),
        Err(std::io::ErrorKind::BrokenPipe)
    );
}

#[test]
fn a_source_removed_by_another_callback_in_the_same_turn_does_not_run() {
    let (mut l, _peer) = new_loop();
    let h = l.handle();
    let (r1, mut w1) = pipe();
    let (r2, mut w2) = pipe();
    let victim = Rc::new(RefCell::new(None));
    let v = victim.clone();
    let h2 = h.clone();
    h.insert_fd(r1, move |r, seen: &mut Seen| {
        let mut b = [0u8; 8];
        let _ = r.read(&mut b);
        seen.0.push("first");
        if let Some(t) = v.borrow_mut().take() {
            h2.remove(t);
        }
        PostAction::Continue
    })
    .unwrap();
    let t2 = h
        .insert_fd(r2, |_, seen: &mut Seen| {
            seen.0.push("second");
            PostAction::Continue
        })
        .unwrap();
    // A timer the first callback also removes, due in this same turn.
    let h3 = h.clone();
    let timer = h.insert_timer(Instant::now(), |seen: &mut Seen| {
        seen.0.push("timer");
        TimeoutAction::Drop
    });
    *victim.borrow_mut() = Some(t2);
    let (r3, mut w3) = pipe();
    h.insert_fd(r3, move |r, _: &mut Seen| {
        let mut b = [0u8; 8];
        let _ = r.read(&mut b);
        h3.remove(timer);
        PostAction::Continue
    })
    .unwrap();
    w1.write_all(b"1").unwrap();
    w2.write_all(b"2").unwrap();
    w3.write_all(b"3").unwrap();
    let mut seen = Seen::default();
    l.dispatch(Some(Duration::from_millis(100)), &mut seen)
        .unwrap();
    assert_eq!(seen.0, ["first"], "the removed pipe and timer ran");
    // And not later either, though the second pipe still holds its byte.
    l.dispatch(Some(Duration::from_millis(20)), &mut seen)
        .unwrap();
    assert_eq!(seen.0, ["first"]);
}

#[test]
fn callbacks_add_sources_and_remove_themselves() {
    let (mut l, _peer) = new_loop();
    let h = l.handle();
    let (r, mut w) = pipe();
    let own = Rc::new(RefCell::new(None));
    let o = own.clone();
    let h2 = h.clone();
    let t = h
        .insert_fd(r, move |r, seen: &mut Seen| {
            let mut b = [0u8; 8];
            let _ = r.read(&mut b);
            seen.0.push("pipe");
            // A timer added from inside a callback runs on a later turn.
            h2.insert_timer(Instant::now(), |seen: &mut Seen| {
                seen.0.push("added");
                TimeoutAction::Drop
            });
            // Removing itself and asking to continue: it is gone.
            if let Some(t) = o.borrow_mut().take() {
                h2.remove(t);
            }
            PostAction::Continue
        })
        .unwrap();
    *own.borrow_mut() = Some(t);
    w.write_all(b"x").unwrap();
    let mut seen = Seen::default();
    for _ in 0..3 {
        l.dispatch(Some(Duration::from_millis(20)), &mut seen)
            .unwrap();
    }
    assert_eq!(seen.0, ["pipe", "added"]);
    w.write_all(b"y")
        .expect_err("the pipe's read end went with its source");
}

#[test]
fn the_compositor_hanging_up_is_an_error_of_dispatch() {
    let (mut l, peer) = new_loop();
    let mut seen = Seen::default();
    l.dispatch(Some(Duration::from_millis(10)), &mut seen)
        .unwrap();
    drop(peer);
    let t = Instant::now();
    let mut r = Ok(());
    while r.is_ok() && t.elapsed() < Duration::from_secs(10) {
        r = l.dispatch(Some(Duration::from_secs(5)), &mut seen);
    }
    assert!(r.is_err(), "a closed compositor socket went unnoticed");
}

#[test]
fn steady_turns_allocate_nothing() {
    let (mut l, _peer) = new_loop();
    let h = l.handle();
    let (r, mut w) = pipe();
    h.insert_fd(r, |r, _: &mut Seen| {
        let mut b = [0u8; 64];
        let _ = r.read(&mut b);
        PostAction::Continue
    })
    .unwrap();
    h.insert_timer(Instant::now(), |_: &mut Seen| {
        TimeoutAction::ToDuration(Duration::ZERO)
    });
    let mut seen = Seen::default();
    // Warm-up: the loop's lists reach their size.
    for _ in 0..3 {
        w.write_all(b"x").unwrap();
        l.dispatch(Some(Duration::from_millis(5)), &mut seen)
            .unwrap();
    }
    let ((), n) = common::alloc::count(|| {
        for _ in 0..200 {
            w.write_all(b"x").unwrap();
            l.dispatch(Some(Duration::from_millis(5)), &mut seen)
                .unwrap();
        }
    });
    assert_eq!(n, 0, "{n} allocations in 200 turns");
}

/// Where `epoll_pwait2` is refused (a sandbox's seccomp filter older than
/// the call answers EPERM; kernels before 5.11 ENOSYS), the loop waits with
/// `epoll_wait` and its timers still come due, not early. The filter is
/// installed on this test's thread only.
#[test]
fn without_epoll_pwait2_the_loop_waits_with_epoll_wait() {
    refuse_epoll_pwait2();
    let (mut l, _peer) = new_loop();
    let start = Instant::now();
    let fired = Rc::new(RefCell::new(0));
    let f = fired.clone();
    l.handle()
        .insert_timer(start + Duration::from_millis(30), move |_: &mut Seen| {
            *f.borrow_mut() += 1;
            TimeoutAction::Drop
        });
    let mut seen = Seen::default();
    while *fired.borrow() == 0 && start.elapsed() < Duration::from_secs(10) {
        l.dispatch(Some(Duration::from_secs(3600)), &mut seen)
            .expect("dispatch without epoll_pwait2");
    }
    assert_eq!(*fired.borrow(), 1);
    assert!(start.elapsed() >= Duration::from_millis(30), "fired early");
}

/// A seccomp filter on the calling thread: `epoll_pwait2` fails with EPERM,
/// every other call is allowed.
fn refuse_epoll_pwait2() {
    const LD_W_ABS: u16 = 0x20; // BPF_LD | BPF_W | BPF_ABS
    const JEQ_K: u16 = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
    const RET_K: u16 = 0x06; // BPF_RET | BPF_K
    let insn = |code, jt, jf, k| libc::sock_filter { code, jt, jf, k };
    let nr = libc::SYS_epoll_pwait2 as u32;
    // seccomp_data: nr at offset 0.
    let prog = [
        insn(LD_W_ABS, 0, 0, 0),
        insn(JEQ_K, 0, 1, nr),
        insn(RET_K, 0, 0, libc::SECCOMP_RET_ERRNO | libc::EPERM as u32),
        insn(RET_K, 0, 0, libc::SECCOMP_RET_ALLOW),
    ];
    let fprog = libc::sock_fprog {
        len: prog.len() as u16,
        filter: prog.as_ptr() as *mut libc::sock_filter,
    };
    // SAFETY: no_new_privs and a filter program that outlives the call;
    // without SECCOMP_FILTER_FLAG_TSYNC it binds this thread only.
    unsafe {
        assert_eq!(libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), 0);
        assert_eq!(
            libc::syscall(
                libc::SYS_seccomp,
                libc::SECCOMP_SET_MODE_FILTER,
                0,
                &fprog as *const libc::sock_fprog
            ),
            0,
            "seccomp: {}",
            std::io::Error::last_os_error()
        );
        // The filter is in place: the call is refused.
        assert_eq!(libc::syscall(libc::SYS_epoll_pwait2, -1, 0, 0, 0, 0, 0), -1);
        assert_eq!(*libc::__errno_location(), libc::EPERM);
    }
}

/// The compositor's event arrives while a timer callback runs (the socket
/// becomes readable during the callback, after the turn's wait): the next
/// wait sees the socket readable and the event is read and dispatched
/// there, not lost and not left for a later wakeup.
#[test]
fn an_event_arriving_while_a_timer_callback_runs_is_read_at_the_next_wait() {
    let (mut l, mut peer, conn, qh) = new_loop_with_conn();
    let done = sync_request(&conn, &qh, &mut peer);
    let fd = conn.backend().poll_fd().as_raw_fd();
    let peer = Rc::new(RefCell::new(peer));
    let p = peer.clone();
    l.handle()
        .insert_timer(Instant::now(), move |seen: &mut Seen| {
            seen.0.push("timer");
            p.borrow_mut().write_all(&done).unwrap();
            assert!(readable(fd), "the event never reached the socket");
            TimeoutAction::Drop
        });
    let mut seen = Seen::default();
    let mut turns = 0;
    while !seen.0.contains(&"done") && turns < 4 {
        l.dispatch(Some(Duration::from_secs(30)), &mut seen)
            .unwrap();
        turns += 1;
    }
    assert_eq!(seen.0, ["timer", "done"], "after {turns} turns");
    assert_eq!(turns, 2, "the event was dispatched on turn {turns}");
}

/// A callback that reads the socket itself (as a roundtrip would) leaves
/// the event queued, unread by the loop: the next turn dispatches it
/// before it waits. Its dispatch writes a pipe the loop watches, so the
/// wait returns at once; had the loop slept with the event queued, the
/// turn would have lasted its 30 s timeout.
#[test]
fn an_event_queued_by_a_callback_is_dispatched_before_the_loop_sleeps() {
    let (mut l, mut peer, conn, qh) = new_loop_with_conn();
    let done = sync_request(&conn, &qh, &mut peer);
    let fd = conn.backend().poll_fd().as_raw_fd();
    let (r, w) = pipe();
    l.handle()
        .insert_fd(r, |r, seen: &mut Seen| {
            let mut b = [0u8; 8];
            let _ = r.read(&mut b);
            seen.0.push("pipe");
            PostAction::Continue
        })
        .unwrap();
    let c = conn.clone();
    // Kept open past the timer (a closed peer is a hang-up).
    let peer = Rc::new(RefCell::new(peer));
    let p = peer.clone();
    l.handle()
        .insert_timer(Instant::now(), move |seen: &mut Seen| {
            seen.0.push("timer");
            p.borrow_mut().write_all(&done).unwrap();
            assert!(readable(fd), "the event never reached the socket");
            // Read into the queue, not dispatched.
            let guard = c.prepare_read().expect("a read guard");
            guard.read().expect("read the event");
            TimeoutAction::Drop
        });
    let mut seen = Seen(Vec::new(), Some(w));
    l.dispatch(Some(Duration::from_secs(30)), &mut seen)
        .unwrap();
    assert_eq!(seen.0, ["timer"]);
    let t = Instant::now();
    l.dispatch(Some(Duration::from_secs(30)), &mut seen)
        .unwrap();
    assert_eq!(seen.0, ["timer", "done", "pipe"]);
    assert!(
        t.elapsed() < Duration::from_secs(15),
        "the loop slept {:?} with the event queued",
        t.elapsed()
    );
}

/// A wakeup for a timer alone takes no Wayland read guard: the guard's
/// release wakes a condition variable, a `futex` call (FUTEX_WAKE of every
/// waiter) each time. A wakeup for a compositor event still reads, and
/// makes that one call. Counted by strace attached to this test's thread.
#[test]
fn a_timer_only_wakeup_makes_no_futex_call() {
    if !common::need(common::have("strace"), "this test needs `strace`")
        || !common::need(common::is_root(), "strace of this thread needs root")
    {
        return;
    }
    let (mut l, mut peer, conn, qh) = new_loop_with_conn();
    l.handle().insert_timer(Instant::now(), |_: &mut Seen| {
        TimeoutAction::ToDuration(Duration::from_millis(1))
    });
    let mut seen = Seen::default();
    // Warm-up: the first turns out of the trace.
    for _ in 0..3 {
        l.dispatch(Some(Duration::from_secs(5)), &mut seen).unwrap();
    }
    let log = std::env::temp_dir().join(format!(
        "rstat-loop-futex-{}-{:?}.txt",
        std::process::id(),
        Instant::now()
    ));
    // SAFETY: gettid has no preconditions.
    let tid = unsafe { libc::gettid() };
    let Some(strace) = common::strace::Strace::attach(tid, Some("trace=futex,recvmsg"), &log)
    else {
        return;
    };
    let timer_turns = 20;
    for _ in 0..timer_turns {
        l.dispatch(Some(Duration::from_secs(5)), &mut seen).unwrap();
    }
    let timers_only = seen.0.len();
    // Three compositor events, each read in its own turn.
    for _ in 0..3 {
        let done = sync_request(&conn, &qh, &mut peer);
        peer.write_all(&done).unwrap();
        let before = seen.0.len();
        while seen.0.len() == before {
            l.dispatch(Some(Duration::from_secs(5)), &mut seen).unwrap();
        }
    }
    let text = strace.stop();
    assert_eq!(timers_only, 0, "a compositor event in the timer turns");
    assert_eq!(seen.0, ["done"; 3]);
    let wake_all = common::strace::futex_wake_alls(&text);
    let reads = common::strace::socket_reads(&text);
    assert_eq!(reads, 3, "three reads of the socket:\n{text}");
    assert_eq!(
        wake_all, reads,
        "{timer_turns} timer turns and {reads} reads made {wake_all} futex wakes:\n{text}"
    );
}

/// A borrowed descriptor (registered as its owner's, without a copy) leaves
/// the epoll set when its owner closes it; removing its source afterwards
/// makes no call naming its number, which by then is another file's: a new
/// pipe given the same number and registered before the old source is
/// removed stays watched.
#[test]
fn a_borrowed_descriptor_is_unregistered_by_its_close_not_by_its_number() {
    use std::os::fd::AsRawFd;
    let (mut l, _peer) = new_loop();
    let h = l.handle();
    let (r1, mut w1) = pipe();
    let n = r1.as_raw_fd();
    let old = h
        .insert_borrowed_fd(n, |seen: &mut Seen| {
            seen.0.push("old");
            PostAction::Continue
        })
        .unwrap();
    w1.write_all(b"x").unwrap();
    let mut seen = Seen::default();
    l.dispatch(Some(Duration::from_secs(5)), &mut seen).unwrap();
    assert_eq!(seen.0, ["old"]);
    // Closed by its owner, unread, and its number given to a new pipe in
    // the same call (dup3 closes what the number named: other tests'
    // threads open descriptors too, so no waiting for the number to be
    // handed out again).
    let (fresh, mut w2) = pipe();
    use std::os::fd::{FromRawFd, IntoRawFd};
    // SAFETY: `n` is r1's, given up here (into_raw_fd): dup3 closes it and
    // puts the new pipe's read end there, owned by `r2` alone.
    let r2 = unsafe {
        assert_eq!(
            libc::dup3(fresh.as_raw_fd(), r1.into_raw_fd(), libc::O_CLOEXEC),
            n
        );
        std::fs::File::from_raw_fd(n)
    };
    drop(fresh);
    let r2 = Rc::new(RefCell::new(r2));
    let r = r2.clone();
    h.insert_borrowed_fd(n, move |seen: &mut Seen| {
        let mut b = [0u8; 8];
        let _ = r.borrow_mut().read(&mut b);
        seen.0.push("new");
        PostAction::Continue
    })
    .unwrap();
    h.remove(old);
    seen.0.clear();
    w2.write_all(b"z").unwrap();
    l.dispatch(Some(Duration::from_secs(5)), &mut seen).unwrap();
    assert_eq!(
        seen.0,
        ["new"],
        "the new pipe's registration went with the old source"
    );
}
