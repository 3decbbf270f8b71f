//! The custom module's scripts, run for real: Waybar JSON, plain text, one
//! that never prints, one that exits, one that prints 1 MB lines, garbage.

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
