//! The custom module's scripts, run for real: Waybar JSON, plain text, one
//! that never prints, one that exits, one that prints 1 MB lines, garbage.

mod common;

use std::time::{Duration, Instant};

use rstat::exec::custom::{Custom, Format, Mode, Status, MAX_LINE};
use rstat::exec::CommandLine;

fn sh(line: &str) -> CommandLine {
    CommandLine::Shell(line.to_string())
}

/// Drives the runner like the event loop would (poll on its pipe, timers at
/// its deadlines) until `done` holds or `limit` passes. Returns how many
/// times the shown content changed.
fn drive(c: &mut Custom, limit: Duration, done: impl Fn(&Custom) -> bool) -> usize {
    let end = Instant::now() + limit;
    let mut changes = 0;
    while Instant::now() < end {
        changes += usize::from(c.on_timer(Instant::now()));
        if done(c) {
            return changes;
        }
        let wait = c
            .next_deadline()
            .map(|t| t.saturating_duration_since(Instant::now()))
            .unwrap_or(Duration::from_millis(100))
            .min(Duration::from_millis(100));
        if poll_fds(c, wait) {
            changes += usize::from(c.on_readable());
        }
        if done(c) {
            return changes;
        }
    }
    panic!(
        "not done within {limit:?}: status {:?}, output {:?}",
        c.status, c.output
    );
}

/// Waits up to `wait` for the runner's pipe or its exit descriptor (the
/// pidfd) to be readable, as the event loop watches both.
fn poll_fds(c: &Custom, wait: Duration) -> bool {
    let mut p: Vec<libc::pollfd> = [c.fd(), c.exit_fd()]
        .into_iter()
        .flatten()
        .map(|fd| libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        })
        .collect();
    if p.is_empty() {
        std::thread::sleep(wait);
        return false;
    }
    // SAFETY: valid pollfds, bounded timeout.
    unsafe {
        libc::poll(
            p.as_mut_ptr(),
            p.len() as libc::nfds_t,
            wait.as_millis() as i32,
        ) > 0
    }
}

fn alive(pid: u32) -> bool {
    // SAFETY: signal 0 only checks that the process exists.
    let r = unsafe { libc::kill(pid as i32, 0) };
    r == 0
        && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .unwrap_or_default()
            .contains(") Z")
}

#[test]
fn a_waybar_json_script() {
    let mut c = Custom::new(
        sh(
            r#"echo '{"text": "42°C", "tooltip": "cpu is hot", "class": "warning", "percentage": 42}'"#,
        ),
        Mode::Interval(Duration::from_secs(60)),
        Format::Json,
        Duration::from_secs(5),
    );
    drive(&mut c, Duration::from_secs(5), |c| c.status == Status::Ok);
    assert_eq!(c.output.text, "42°C");
    assert_eq!(c.output.tooltip, "cpu is hot");
    assert_eq!(c.output.class, "warning");
    assert_eq!(c.output.percentage, Some(42));
    // Finished: the next run waits for the interval.
    assert!(c.pid().is_none());
    assert!(c.next_deadline().unwrap() > Instant::now() + Duration::from_secs(50));
}

#[test]
fn a_plain_text_script() {
    let mut c = Custom::new(
        sh("printf 'up 3 days\\nsince Monday\\ngood\\nignored\\n'"),
        Mode::Interval(Duration::from_secs(60)),
        Format::Plain,
        Duration::from_secs(5),
    );
    drive(&mut c, Duration::from_secs(5), |c| c.status == Status::Ok);
    assert_eq!(
        (
            c.output.text.as_str(),
            c.output.tooltip.as_str(),
            c.output.class.as_str()
        ),
        ("up 3 days", "since Monday", "good")
    );
}

#[test]
fn a_script_that_never_prints_times_out_and_is_killed() {
    let mut c = Custom::new(
        sh("sleep 30 & sleep 30"),
        Mode::Interval(Duration::from_secs(60)),
        Format::Plain,
        Duration::from_millis(300),
    );
    c.on_timer(Instant::now());
    let pid = c.pid().expect("started");
    let t0 = Instant::now();
    drive(&mut c, Duration::from_secs(5), |c| {
        matches!(c.status, Status::Error(_))
    });
    assert!(
        t0.elapsed() < Duration::from_secs(2),
        "the bar would have waited {:?}",
        t0.elapsed()
    );
    let Status::Error(msg) = &c.status else {
        unreachable!()
    };
    assert!(msg.contains("timed out"), "{msg}");
    assert!(!alive(pid), "the hung script is still running");
}

#[test]
fn a_long_running_script_that_exits_is_restarted() {
    let mut c = Custom::new(
        sh("echo first; sleep 0.2; echo second; exit 3"),
        Mode::Continuous,
        Format::Plain,
        Duration::from_secs(5),
    );
    drive(&mut c, Duration::from_secs(5), |c| {
        matches!(c.status, Status::Error(_))
    });
    assert_eq!(c.output.text, "second", "each line replaces the last");
    let Status::Error(msg) = &c.status else {
        unreachable!()
    };
    assert!(
        msg.contains("exited with status 3") && msg.contains("restarting"),
        "{msg}"
    );
    // It comes back after the backoff and prints again.
    drive(&mut c, Duration::from_secs(5), |c| c.pid().is_some());
    drive(&mut c, Duration::from_secs(5), |c| {
        c.status == Status::Ok || c.output.text == "first"
    });
}

#[test]
fn a_continuous_json_stream_updates_line_by_line() {
    let mut c = Custom::new(
        sh(r#"for i in 1 2 3; do echo "{\"text\": \"$i\"}"; sleep 0.05; done; sleep 30"#),
        Mode::Continuous,
        Format::Json,
        Duration::from_secs(5),
    );
    let changes = drive(&mut c, Duration::from_secs(5), |c| c.output.text == "3");
    assert!(changes >= 2, "updates arrive as lines do ({changes})");
    assert_eq!(c.status, Status::Ok);
}

#[test]
fn lines_over_the_cap_are_reported_not_cut() {
    // 1 MB fits whole; 3 MB is over the cap: an error that says so (not a
    // cut line, not "not JSON"); then a short line shows again.
    let mut c = Custom::new(
        sh("head -c 1000000 /dev/zero | tr '\\0' x; echo; sleep 0.3; head -c 3000000 /dev/zero | tr '\\0' y; echo; sleep 1.5; echo small; sleep 30"),
        Mode::Continuous,
        Format::Plain,
        Duration::from_secs(5),
    );
    drive(&mut c, Duration::from_secs(10), |c| {
        c.output.text.len() == 1_000_000
    });
    assert!(c.output.text.bytes().all(|b| b == b'x'));
    drive(
        &mut c,
        Duration::from_secs(10),
        |c| matches!(&c.status, Status::Error(m) if m.contains("over the")),
    );
    const { assert!(MAX_LINE < 3_000_000) };
    drive(&mut c, Duration::from_secs(10), |c| {
        c.output.text == "small" && c.status == Status::Ok
    });
}

#[test]
fn a_json_line_over_64_kib_is_read_whole() {
    let mut c = Custom::new(
        sh(
            r#"printf '{"text": "big", "tooltip": "'; head -c 100000 /dev/zero | tr '\0' t; printf '"}\n'"#,
        ),
        Mode::Interval(Duration::from_secs(60)),
        Format::Json,
        Duration::from_secs(5),
    );
    drive(&mut c, Duration::from_secs(5), |c| {
        c.status != Status::Waiting
    });
    assert_eq!(c.status, Status::Ok);
    assert_eq!(c.output.text, "big");
    assert_eq!(c.output.tooltip.len(), 100_000);
}

#[test]
fn a_script_that_exits_leaving_a_child_on_its_stdout_keeps_its_output() {
    // The background sleep holds the pipe open for 30 s; the run is over
    // when the script is, well before its 5 s timeout.
    let mut c = Custom::new(
        sh("echo hi; sleep 30 &"),
        Mode::Interval(Duration::from_secs(60)),
        Format::Plain,
        Duration::from_secs(5),
    );
    c.on_timer(Instant::now());
    let pgid = c.pid().expect("started") as i32;
    let t0 = Instant::now();
    drive(&mut c, Duration::from_secs(10), |c| {
        c.status != Status::Waiting
    });
    assert_eq!(
        c.status,
        Status::Ok,
        "{:?} after {:?}",
        c.status,
        t0.elapsed()
    );
    assert_eq!(c.output.text, "hi");
    assert!(
        t0.elapsed() < Duration::from_secs(2),
        "took {:?}",
        t0.elapsed()
    );
    assert!(group_alive(pgid), "the background child runs on meanwhile");
    drop(c);
    assert!(
        support_wait(|| !group_alive(pgid)),
        "the run's background child outlived its module"
    );
}

#[test]
fn dropping_a_runner_kills_what_its_script_started() {
    let mut c = Custom::new(
        sh("sleep 30 & sleep 30 & echo up; sleep 30"),
        Mode::Continuous,
        Format::Plain,
        Duration::from_secs(5),
    );
    drive(&mut c, Duration::from_secs(5), |c| c.output.text == "up");
    let pgid = c.pid().expect("running") as i32;
    assert!(group_alive(pgid));
    drop(c);
    assert!(
        support_wait(|| !group_alive(pgid)),
        "the script's background children outlived it"
    );
}

#[test]
fn a_flooding_script_is_throttled_then_shown_again_when_it_calms() {
    let mut c = Custom::new(
        sh("yes | head -c 1000000; while :; do echo calm; sleep 0.2; done"),
        Mode::Continuous,
        Format::Plain,
        Duration::from_secs(5),
    );
    drive(&mut c, Duration::from_secs(5), |c| {
        c.status == Status::Throttled
    });
    assert_eq!(c.output.text, "y", "the latest line still shows");
    assert!(c.throttled() && c.fd().is_none(), "the pipe is left unread");
    // Unread for a second: the script blocks on its full pipe; then read a
    // slice a second until it prints no more than the bar shows.
    drive(&mut c, Duration::from_secs(15), |c| {
        c.output.text == "calm" && c.status == Status::Ok
    });
}

fn group_alive(pgid: i32) -> bool {
    // SAFETY: signal 0 only checks for existence.
    let exists = unsafe { libc::kill(-pgid, 0) == 0 };
    exists
        && std::fs::read_dir("/proc").is_ok_and(|d| {
            d.flatten().any(|e| {
                std::fs::read_to_string(e.path().join("stat")).is_ok_and(|st| {
                    st.rfind(')').is_some_and(|r| {
                        let f: Vec<&str> = st[r + 2..].split_whitespace().collect();
                        f.first() != Some(&"Z") && f.get(2) == Some(&pgid.to_string().as_str())
                    })
                })
            })
        })
}

fn support_wait(mut f: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + Duration::from_secs(2);
    while Instant::now() < end {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

#[test]
fn garbage_in_json_mode_is_an_error_state() {
    let mut c = Custom::new(
        sh("printf '\\377\\376 not json at all\\n'"),
        Mode::Interval(Duration::from_secs(60)),
        Format::Json,
        Duration::from_secs(5),
    );
    drive(&mut c, Duration::from_secs(5), |c| {
        matches!(c.status, Status::Error(_))
    });
    let Status::Error(msg) = &c.status else {
        unreachable!()
    };
    assert!(msg.contains("not JSON"), "{msg}");
}

#[test]
fn a_command_that_does_not_exist() {
    let mut c = Custom::new(
        CommandLine::Exec(vec!["/nonexistent/rstat-script".into()]),
        Mode::Interval(Duration::from_secs(60)),
        Format::Plain,
        Duration::from_secs(5),
    );
    c.on_timer(Instant::now());
    let Status::Error(msg) = &c.status else {
        panic!("{:?}", c.status)
    };
    assert!(
        msg.contains("cannot run `/nonexistent/rstat-script`"),
        "{msg}"
    );
}

#[test]
fn a_bare_program_name_is_looked_up_on_path_and_a_missing_one_says_so() {
    let mut c = Custom::new(
        CommandLine::Exec(vec!["echo".into(), "from".into(), "path".into()]),
        Mode::Interval(Duration::from_secs(60)),
        Format::Plain,
        Duration::from_secs(10),
    );
    drive(&mut c, Duration::from_secs(10), |c| c.status == Status::Ok);
    assert_eq!(c.output.text, "from path");
    let mut c = Custom::new(
        CommandLine::Exec(vec!["rstat-no-such-program-anywhere".into()]),
        Mode::Interval(Duration::from_secs(60)),
        Format::Plain,
        Duration::from_secs(5),
    );
    c.on_timer(Instant::now());
    let Status::Error(msg) = &c.status else {
        panic!("{:?}", c.status)
    };
    assert!(
        msg.contains("cannot run `rstat-no-such-program-anywhere`") && msg.contains("No such file"),
        "{msg}"
    );
    // A file that is there but not executable: denied, as execvp says.
    let f = std::env::temp_dir().join(format!("rstat-not-executable-{}", std::process::id()));
    std::fs::write(&f, "#!/bin/sh\necho no\n").expect("write the script");
    let mut c = Custom::new(
        CommandLine::Exec(vec![f.display().to_string()]),
        Mode::Interval(Duration::from_secs(60)),
        Format::Plain,
        Duration::from_secs(5),
    );
    c.on_timer(Instant::now());
    let _ = std::fs::remove_file(&f);
    let Status::Error(msg) = &c.status else {
        panic!("{:?}", c.status)
    };
    // Root may execute nothing without an x bit either.
    assert!(msg.contains("Permission denied"), "{msg}");
}

/// What a script starts with: stdin `/dev/null`, no signal blocked and
/// SIGPIPE not ignored (the bar blocks the signals its signalfd reads, the
/// Rust runtime ignores SIGPIPE: neither may leak into scripts), a process
/// group of its own.
#[test]
fn a_script_starts_with_null_stdin_clean_signals_and_its_own_group() {
    let mut c = Custom::new(
        sh("read -r _ _ _ _ pg _ < /proc/$$/stat; \
            echo \"$(grep ^SigBlk /proc/self/status | cut -f2) \
            $(grep ^SigIgn /proc/self/status | cut -f2) $(readlink /proc/$$/fd/0) $pg $$\""),
        Mode::Interval(Duration::from_secs(60)),
        Format::Plain,
        Duration::from_secs(10),
    );
    // As the bar has it: its signals blocked for the signalfd.
    // SAFETY: sigset_t is plain data; this thread's mask, restored below.
    let old = unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        let mut old: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGUSR1);
        libc::sigaddset(&mut set, libc::SIGHUP);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, &mut old);
        old
    };
    drive(&mut c, Duration::from_secs(10), |c| c.status == Status::Ok);
    // SAFETY: restores the mask saved above.
    unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut()) };
    let f: Vec<&str> = c.output.text.split_whitespace().collect();
    assert_eq!(f.len(), 5, "{:?}", c.output.text);
    assert_eq!(
        f[0], "0000000000000000",
        "blocked signals: {:?}",
        c.output.text
    );
    // Ignored signals stay ignored across exec (POSIX, as posix_spawn
    // has it) unless reset: only SIGPIPE is the bar's own to reset.
    let ignored = u64::from_str_radix(f[1], 16).expect("SigIgn is hex");
    assert_eq!(
        ignored & (1 << (libc::SIGPIPE - 1)),
        0,
        "SIGPIPE ignored: {:?}",
        c.output.text
    );
    assert_eq!(f[2], "/dev/null");
    assert_eq!(f[3], f[4], "its own process group: {:?}", c.output.text);
}

#[test]
fn a_failing_script_with_no_output_says_so() {
    let mut c = Custom::new(
        sh("exit 2"),
        Mode::Interval(Duration::from_secs(60)),
        Format::Plain,
        Duration::from_secs(5),
    );
    drive(&mut c, Duration::from_secs(5), |c| {
        matches!(c.status, Status::Error(_))
    });
    let Status::Error(msg) = &c.status else {
        unreachable!()
    };
    assert!(msg.contains("exited with status 2"), "{msg}");
}

#[test]
fn a_script_that_closes_stdout_before_exiting_is_collected_promptly() {
    // Output ends at once; the process lingers 300 ms; the timeout is far away.
    let mut c = Custom::new(
        sh("echo done; exec 1>&-; sleep 0.3"),
        Mode::Interval(Duration::from_secs(60)),
        Format::Plain,
        Duration::from_secs(20),
    );
    let t0 = Instant::now();
    drive(&mut c, Duration::from_secs(5), |c| {
        c.status == Status::Ok && c.pid().is_none()
    });
    assert_eq!(c.output.text, "done");
    assert!(
        t0.elapsed() < Duration::from_secs(2),
        "collected after {:?}, not at its exit",
        t0.elapsed()
    );
    // And the deadline the event loop sees is fixed, so it does come due.
    let mut c = Custom::new(
        sh("exec 1>&-; sleep 0.2"),
        Mode::Continuous,
        Format::Plain,
        Duration::from_secs(5),
    );
    c.on_timer(Instant::now());
    std::thread::sleep(Duration::from_millis(50));
    c.on_readable();
    let d1 = c.next_deadline();
    std::thread::sleep(Duration::from_millis(5));
    assert_eq!(
        c.next_deadline(),
        d1,
        "a deadline that moves with the clock never comes due"
    );
}

/// A script's exit is one readable event (its pidfd), not a timer looking
/// for it. A script done within its quiet start (its first 50 ms, while
/// only its pidfd is watched) is read, collected and shown in exactly one
/// event: exit and output together. One that outlasts it is watched whole
/// from then on: read and collected with no timer at all, even when the
/// process lingers after closing its output; the only deadline while it
/// runs is its timeout.
#[test]
fn a_scripts_exit_is_a_readable_event_not_a_timer() {
    for (line, fast) in [("echo hi", true), ("echo hi; exec 1>&-; sleep 0.3", false)] {
        let timeout = Duration::from_secs(20);
        let mut c = Custom::new(
            sh(line),
            Mode::Interval(Duration::from_millis(1)),
            Format::Plain,
            timeout,
        );
        let t0 = Instant::now();
        c.on_timer(t0);
        assert!(c.pid().is_some(), "{line}: not started: {:?}", c.status);
        if c.exit_fd().is_none() {
            // Linux before 6.9: no pidfs; the reap timers stand in.
            println!("SKIPPED: no pidfd on pidfs here (Linux < 6.9)");
            return;
        }
        assert!(c.fd().is_none(), "{line}: the pipe is watched at once");
        if !fast {
            // Its first run ends the quiet start on the timer; the next
            // one is watched whole from its start.
            drive(&mut c, Duration::from_secs(30), |c| c.pid().is_none());
            assert_eq!(c.output.text, "hi", "{line}");
            c.on_timer(Instant::now() + Duration::from_millis(5));
            assert!(c.pid().is_some(), "{line}: no second run: {:?}", c.status);
            assert!(
                c.fd().is_some(),
                "{line}: a slow script's pipe is not watched"
            );
            c.output = Default::default();
        }
        let t1 = Instant::now();
        if fast {
            assert!(
                c.next_deadline().unwrap() <= t1 + Duration::from_millis(50),
                "{line}: no end to the quiet start"
            );
        } else {
            assert!(
                c.next_deadline().unwrap() >= t1 + timeout - Duration::from_secs(1),
                "{line}: a timer looks for the exit: {:?}",
                c.next_deadline().map(|d| d.saturating_duration_since(t1))
            );
        }
        let end = Instant::now() + Duration::from_secs(30);
        let mut events = 0;
        while c.pid().is_some() {
            assert!(
                Instant::now() < end,
                "{line}: never collected: {:?}",
                c.status
            );
            if fast && c.fd().is_some() {
                // The machine was too loaded for a 50 ms run: the quiet
                // start ended before the exit (the slow case, below).
                println!("{line}: outlasted its quiet start on this machine");
                c.on_timer(Instant::now());
                continue;
            }
            if poll_fds(&c, Duration::from_millis(500)) {
                events += 1;
                c.on_readable();
            } else if fast {
                c.on_timer(Instant::now());
            }
        }
        assert_eq!(c.output.text, "hi", "{line}");
        assert_eq!(c.status, Status::Ok, "{line}");
        assert!(c.exit_fd().is_none(), "{line}: the pidfd outlives the run");
        eprintln!("{line}: read and collected in {events} readable events");
        if fast && events > 0 {
            assert_eq!(events, 1, "{line}: exit and output in one event");
        }
        assert!(events <= 4, "{line}: {events} wakeups");
    }
}

/// What a script run costs the bar's thread in system calls beyond the
/// spawn itself: after the first run, no path looked up (`/dev/null` is
/// kept), no question asked twice (where pidfds live), no stack mapped and
/// unmapped (the child's is kept), no `pidfd_open` (the clone returns it),
/// no resource limits read. Counted by strace attached to this test's own
/// thread over three runs (not a timing: the calls themselves).
#[test]
fn a_script_run_is_one_clone_without_opens_maps_or_second_questions() {
    if !common::need(common::have("strace"), "this test needs `strace`")
        || !common::need(common::is_root(), "strace of this thread needs root")
    {
        return;
    }
    let mut c = Custom::new(
        sh("echo hi"),
        Mode::Interval(Duration::from_millis(10)),
        Format::Plain,
        Duration::from_secs(20),
    );
    let run = |c: &mut Custom| {
        drive(c, Duration::from_secs(20), |c| c.pid().is_some());
        drive(c, Duration::from_secs(20), |c| c.pid().is_none());
    };
    // The first run outside the trace: it opens the kept /dev/null, makes
    // the kept stack and learns whether pidfds are on pidfs.
    run(&mut c);
    assert_eq!(c.output.text, "hi");
    let log = std::env::temp_dir().join(format!("rstat-spawn-strace-{}.txt", std::process::id()));
    // SAFETY: gettid has no preconditions.
    let tid = unsafe { libc::gettid() };
    let Some(strace) = common::strace::Strace::attach(
        tid,
        Some("trace=openat,open,fstatfs,statfs,clone,clone3,vfork,fork,mmap,munmap,pidfd_open,prlimit64"),
        &log,
    ) else {
        return;
    };
    for _ in 0..3 {
        run(&mut c);
    }
    assert_eq!(c.output.text, "hi");
    let text = strace.stop();
    let calls = |names: &[&str]| common::strace::calls(&text, names);
    let spawns = calls(&["clone", "clone3", "vfork", "fork"]);
    assert_eq!(spawns, 3, "three runs, three spawns:\n{text}");
    for (what, names) in [
        ("opened a path", &["openat", "open"][..]),
        ("asked again where pidfds live", &["fstatfs", "statfs"]),
        ("mapped or unmapped memory (a stack)", &["mmap", "munmap"]),
        ("opened a pidfd after the clone", &["pidfd_open"]),
        ("read resource limits", &["prlimit64"]),
    ] {
        assert_eq!(calls(names), 0, "a run {what}:\n{text}");
    }
}

/// Every run of a quick script is quiet (only its exit watched, the bar may
/// hold the tick's frame for its output), not every other one: a quiet run
/// that ended must not count as one that outlasted its quiet start when the
/// next run is due a second later.
#[test]
fn every_run_of_a_quick_script_is_quiet() {
    let mut c = Custom::new(
        sh("echo hi"),
        Mode::Interval(Duration::from_millis(200)),
        Format::Plain,
        Duration::from_secs(20),
    );
    c.on_timer(Instant::now());
    if c.exit_fd().is_none() {
        println!("SKIPPED: no pidfd on pidfs here (Linux < 6.9)");
        return;
    }
    let mut quiet_runs = 0;
    for run in 0..4 {
        assert!(c.pid().is_some(), "run {run} not started: {:?}", c.status);
        let quiet = c.quick_run_pending();
        // Collected at its exit, by its pidfd alone when quiet.
        drive(&mut c, Duration::from_secs(30), |c| c.pid().is_none());
        let took_long = c.fd().is_some();
        quiet_runs += usize::from(quiet);
        // The next run's deadline, well past this run's quiet start.
        let next = c.next_deadline().expect("a next run");
        std::thread::sleep(next.saturating_duration_since(Instant::now()));
        c.on_timer(Instant::now());
        if run > 0 && !quiet && !took_long {
            panic!("run {run} was not quiet though the one before ended at once");
        }
    }
    assert!(quiet_runs >= 3, "{quiet_runs} of 4 runs quiet");
}

/// Each run's descriptors get the numbers the last run's had (each is the
/// lowest one free once the last run's were closed), so the bar cannot tell
/// them apart by number: every run names its descriptors anew
/// ([`Custom::serial`]), with a value no earlier run had.
#[test]
fn each_run_names_its_descriptors_anew_though_their_numbers_repeat() {
    let mut c = Custom::new(
        sh("echo hi"),
        Mode::Interval(Duration::from_millis(10)),
        Format::Plain,
        Duration::from_secs(20),
    );
    let mut runs = Vec::new();
    for _ in 0..4 {
        drive(&mut c, Duration::from_secs(20), |c| c.pid().is_some());
        runs.push((c.exit_fd(), c.serial()));
        drive(&mut c, Duration::from_secs(20), |c| c.pid().is_none());
        assert_eq!(c.output.text, "hi");
    }
    if runs[0].0.is_none() {
        println!("SKIPPED: no pidfd on pidfs here (Linux < 6.9)");
        return;
    }
    assert!(
        runs.windows(2).any(|w| w[0].0 == w[1].0),
        "no run had the last one's pidfd number, nothing shown: {runs:?}"
    );
    let mut serials: Vec<u64> = runs.iter().map(|r| r.1).collect();
    serials.sort_unstable();
    serials.dedup();
    assert_eq!(serials.len(), runs.len(), "a serial repeated: {runs:?}");
    assert!(serials[0] > 0, "a run without a serial: {runs:?}");
}

/// A quick script's exit is collected before its pipe is read: everything
/// it wrote is in the pipe by then, so the read that comes back short has
/// it all, and no second read waits for the end of the file — one `read` a
/// run (two before). Counted by strace attached to this test's own thread
/// over three `echo hi` runs after a first one.
#[test]
fn a_quick_runs_output_is_one_read_after_its_exit() {
    if !common::need(common::have("strace"), "this test needs `strace`")
        || !common::need(common::is_root(), "strace of this thread needs root")
    {
        return;
    }
    let mut c = Custom::new(
        sh("echo hi"),
        Mode::Interval(Duration::from_millis(10)),
        Format::Plain,
        Duration::from_secs(20),
    );
    let run = |c: &mut Custom| {
        drive(c, Duration::from_secs(20), |c| c.pid().is_some());
        let quiet = c.quick_run_pending();
        drive(c, Duration::from_secs(20), |c| c.pid().is_none());
        quiet
    };
    run(&mut c);
    if c.exit_fd().is_none() && !run(&mut c) {
        println!("SKIPPED: no pidfd on pidfs here (Linux < 6.9): no quiet runs");
        return;
    }
    let log = std::env::temp_dir().join(format!(
        "rstat-exit-read-strace-{}-{:?}.txt",
        std::process::id(),
        Instant::now()
    ));
    // SAFETY: gettid has no preconditions.
    let tid = unsafe { libc::gettid() };
    let Some(strace) = common::strace::Strace::attach(tid, Some("trace=read,wait4"), &log) else {
        return;
    };
    let mut quiet = 0;
    for _ in 0..3 {
        quiet += usize::from(run(&mut c));
        assert_eq!(c.output.text, "hi");
    }
    let text = strace.stop();
    assert_eq!(quiet, 3, "the runs were not all quiet");
    let calls = |names: &[&str]| common::strace::calls(&text, names);
    assert_eq!(calls(&["wait4"]), 3, "three exits collected:\n{text}");
    // (Not the read of strace's own "attached" line, which it may catch.)
    let reads = text
        .lines()
        .filter(|l| l.starts_with("read(") && !l.contains("\"strace: "))
        .count();
    assert_eq!(reads, 3, "one read a run:\n{text}");
}

/// The one read after the exit is only the last when it comes back short:
/// a quiet run printing more than one read's worth (three lines, the first
/// 20000 bytes) shows all three lines whole.
#[test]
fn a_quick_run_printing_more_than_a_read_shows_every_line() {
    let mut c = Custom::new(
        sh("head -c 20000 /dev/zero | tr '\\0' a; printf '\\ntip\\ncls\\n'"),
        Mode::Interval(Duration::from_millis(10)),
        Format::Plain,
        Duration::from_secs(20),
    );
    for _ in 0..3 {
        drive(&mut c, Duration::from_secs(20), |c| c.pid().is_some());
        drive(&mut c, Duration::from_secs(20), |c| c.pid().is_none());
        assert_eq!(c.status, Status::Ok, "{:?}", c.status);
        assert_eq!(c.output.text.len(), 20000);
        assert!(c.output.text.bytes().all(|b| b == b'a'));
        assert_eq!(
            (c.output.tooltip.as_str(), c.output.class.as_str()),
            ("tip", "cls")
        );
    }
}
