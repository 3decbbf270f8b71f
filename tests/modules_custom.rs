//! The custom module with real scripts: Waybar JSON, plain text, one that
//! never prints, one that exits, one printing 1 MB lines, one printing
//! garbage. Driven the way the bar drives it: its pipe polled for
//! readability, its deadlines on a timer; no call may block.

use std::time::{Duration, Instant};

use rstat::collect::Sample;
use rstat::config::Config;
use rstat::modules::{once, Context, Modules, Palette, Segment};

fn config(toml: &str) -> Config {
    rstat::modules::registry::parse(toml, "test.toml", None).unwrap_or_else(|e| panic!("{e}"))
}

/// One module `custom#t` with these keys.
fn custom(keys: &str) -> Config {
    config(&format!(
        "[bar]\nright = [\"custom#t\"]\n[module.\"custom#t\"]\n{keys}\n"
    ))
}

/// Runs the loop until `done` holds for what the modules draw, or `limit`
/// passes; returns the last segments. Every module call is timed: none may
/// take more than 100 ms (nothing blocks the bar).
fn drive(m: &mut Modules, limit: Duration, done: impl Fn(&[Segment]) -> bool) -> Vec<Segment> {
    let sample = Sample::default();
    let start = Instant::now();
    let mut out = Vec::new();
    let timed = |what: &str, f: &mut dyn FnMut()| {
        let t = Instant::now();
        f();
        assert!(
            t.elapsed() < Duration::from_millis(100),
            "{what} blocked for {:?}",
            t.elapsed()
        );
    };
    timed("the first update", &mut || {
        m.update_all(&Context {
            now: Instant::now(),
            wall: Duration::ZERO,
            sample: &sample,
        });
    });
    loop {
        m.write(&mut out);
        if done(&out) || start.elapsed() > limit {
            return out;
        }
        let now = Instant::now();
        let wake = m.next_due().unwrap_or(now + Duration::from_millis(100));
        let ms = wake
            .saturating_duration_since(now)
            .as_millis()
            .clamp(1, 100) as i32;
        let fds: Vec<_> = m.fds().collect();
        let mut polls: Vec<libc::pollfd> = fds
            .iter()
            .map(|&(_, fd)| libc::pollfd {
                fd,
                events: libc::POLLIN,
                revents: 0,
            })
            .collect();
        // SAFETY: a valid array of pollfd of the given length.
        unsafe { libc::poll(polls.as_mut_ptr(), polls.len() as libc::nfds_t, ms) };
        for (p, &(i, _)) in polls.iter().zip(&fds) {
            if p.revents != 0 {
                timed("reading the pipe", &mut || {
                    m.on_readable(i);
                });
            }
        }
        timed("a timer update", &mut || {
            m.update_due(&Context {
                now: Instant::now(),
                wall: Duration::ZERO,
                sample: &sample,
            });
        });
    }
}

fn text(segs: &[Segment]) -> &str {
    segs.first().map_or("", |s| s.text.as_str())
}

fn error_of(m: &Modules) -> Option<String> {
    m.iter().next().and_then(|x| x.error().map(str::to_string))
}

#[test]
fn waybar_json_script() {
    let cfg = custom(
        r#"exec = ["sh", "-c", "echo '{\"text\": \"42°\", \"tooltip\": \"t\", \"class\": [\"critical\"], \"percentage\": 42}'"]
return_type = "json"
format = "{text} {percentage}%""#,
    );
    let palette = Palette::from_colors(&cfg.bar.colors);
    let mut m = Modules::from_config(&cfg, Instant::now());
    let segs = drive(&mut m, Duration::from_secs(5), |s| !s.is_empty());
    assert_eq!(text(&segs), "42° 42%");
    assert_eq!(once::class(&segs[0], &palette), "critical");
    assert_eq!(error_of(&m), None);
}

#[test]
fn plain_text_script_runs_every_interval() {
    let dir = std::env::temp_dir().join(format!("rstat-custom-plain-{}", std::process::id()));
    let _ = std::fs::remove_file(&dir);
    let cfg = custom(&format!(
        "exec = \"echo run >> {p}; printf 'run %s\\\\ntooltip\\\\nwarning\\\\n' $(wc -l < {p})\"\ninterval_ms = 200",
        p = dir.display()
    ));
    let palette = Palette::from_colors(&cfg.bar.colors);
    let mut m = Modules::from_config(&cfg, Instant::now());
    let segs = drive(&mut m, Duration::from_secs(5), |s| text(s) == "run 3");
    let _ = std::fs::remove_file(&dir);
    assert_eq!(text(&segs), "run 3", "runs again each interval");
    assert_eq!(
        once::class(&segs[0], &palette),
        "warning",
        "line 3 is the class"
    );
}

#[test]
fn a_script_that_never_prints_stays_hidden_and_an_interval_one_times_out() {
    let cfg = custom("exec = \"sleep 1000\"\ncontinuous = true");
    let mut m = Modules::from_config(&cfg, Instant::now());
    let segs = drive(&mut m, Duration::from_millis(500), |_| false);
    assert!(segs.is_empty(), "nothing printed, nothing shown");
    // Its pipe, and where pidfds are on pidfs (Linux 6.9+) its exit.
    let pidfd = rstat::exec::custom::open_pidfd(std::process::id()).is_some();
    assert_eq!(
        m.fds().count(),
        1 + usize::from(pidfd),
        "its pipe and exit are watched, not polled"
    );
    drop(m);

    let cfg = custom("exec = \"sleep 1000\"\ntimeout_ms = 300");
    let mut m = Modules::from_config(&cfg, Instant::now());
    let t = Instant::now();
    let segs = drive(&mut m, Duration::from_secs(5), |s| !s.is_empty());
    assert_eq!(text(&segs), "t: error");
    assert!(
        t.elapsed() < Duration::from_secs(2),
        "killed at its timeout"
    );
    assert!(
        error_of(&m).unwrap().contains("timed out"),
        "{:?}",
        error_of(&m)
    );
}

#[test]
fn a_continuous_script_that_exits_shows_its_last_line_then_an_error() {
    let cfg = custom("exec = \"echo one; echo two; sleep 0.5; exit 3\"\ncontinuous = true");
    let palette = Palette::from_colors(&cfg.bar.colors);
    let mut m = Modules::from_config(&cfg, Instant::now());
    let segs = drive(&mut m, Duration::from_secs(5), |s| text(s) == "t: error");
    assert_eq!(text(&segs), "t: error");
    assert_eq!(once::class(&segs[0], &palette), "critical");
    let e = error_of(&m).unwrap();
    assert!(
        e.contains("exited with status 3") && e.contains("restarting"),
        "{e}"
    );
    // It is restarted (with backoff) and its lines show again.
    let segs = drive(&mut m, Duration::from_secs(5), |s| text(s) == "two");
    assert_eq!(text(&segs), "two");
}

#[test]
fn one_megabyte_lines_are_cut_and_never_block() {
    let cfg = custom(
        "exec = \"for i in 1 2 3; do head -c 1000000 /dev/zero | tr '\\\\0' a; echo; sleep 0.1; done; sleep 1000\"\ncontinuous = true",
    );
    let mut m = Modules::from_config(&cfg, Instant::now());
    let segs = drive(&mut m, Duration::from_secs(10), |s| !s.is_empty());
    let t = text(&segs);
    assert!(
        t.len() <= rstat::render::segment::TEXT_CAP && t.bytes().all(|b| b == b'a'),
        "{t}"
    );
    assert!(!t.is_empty());
    // The rest streams through without the module growing or blocking.
    let _ = drive(&mut m, Duration::from_millis(800), |_| false);
    assert_eq!(error_of(&m), None);
}

#[test]
fn garbage_json_is_an_error_state() {
    let cfg = custom("exec = \"echo 'this is not json'\"\nreturn_type = \"json\"");
    let mut m = Modules::from_config(&cfg, Instant::now());
    let segs = drive(&mut m, Duration::from_secs(5), |s| !s.is_empty());
    assert_eq!(text(&segs), "t: error");
    assert!(error_of(&m).unwrap().contains("not JSON"));
}

#[test]
fn a_custom_module_needs_exec() {
    let e = rstat::modules::registry::parse("[bar]\nright = [\"custom\"]\n", "t.toml", None)
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("needs a [module.\"custom\"] table with `exec`"),
        "{e}"
    );
    let e = rstat::modules::registry::parse(
        "[bar]\nright = [\"custom#x\"]\n[module.\"custom#x\"]\nformat = \"{text}\"\n",
        "t.toml",
        None,
    )
    .unwrap_err();
    assert!(
        e.to_string().contains("a custom module needs `exec`"),
        "{e}"
    );
    let e = rstat::modules::registry::parse("[module.clock]\nexec = \"date\"\n", "t.toml", None)
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("only custom, i3bar modules take `exec`"),
        "{e}"
    );
}

/// A 1 s script runs in the wakeup of the other 1 s modules: after its
/// first run every instance's next deadline is the same one (within the
/// bar's slack), just past a wall-clock second, and that one update starts
/// the script's next run (its exit descriptor appears) with the others.
#[test]
fn a_one_second_script_shares_the_wakeup_of_the_other_one_second_modules() {
    use rstat::modules::{wall_now, DUE_SLACK, PAST_SECOND};
    let c = config(
        r#"
[bar]
right = ["cpu", "network", "custom#t"]
[module.cpu]
interval_ms = 1000
[module.network]
interval_ms = 1000
[module."custom#t"]
exec = "echo x"
interval_ms = 1000
"#,
    );
    let sample = Sample::default();
    let mut m = Modules::from_config(&c, Instant::now());
    let cx = |now| Context {
        now,
        wall: wall_now(),
        sample: &sample,
    };
    m.update_all(&cx(Instant::now()));
    // The script's descriptors (the network module has its route socket).
    let script = m
        .iter()
        .position(|x| x.spec().kind.name == "custom")
        .expect("the custom instance");
    let running = |m: &Modules| m.fds().any(|(i, _)| i == script);
    // The first run's exit.
    let end = Instant::now() + Duration::from_secs(10);
    while running(&m) {
        assert!(Instant::now() < end, "the first run never ended");
        let fds: Vec<_> = m.fds().collect();
        let mut polls: Vec<libc::pollfd> = fds
            .iter()
            .map(|&(_, fd)| libc::pollfd {
                fd,
                events: libc::POLLIN,
                revents: 0,
            })
            .collect();
        // SAFETY: a valid array of pollfd of the given length.
        unsafe { libc::poll(polls.as_mut_ptr(), polls.len() as libc::nfds_t, 100) };
        for (p, &(i, _)) in polls.iter().zip(&fds) {
            if p.revents != 0 {
                m.on_readable(i);
            }
        }
        // A run past its quiet start is looked at on its timer.
        if m.next_due().is_some_and(|d| d <= Instant::now()) {
            m.update_due(&cx(Instant::now()));
        }
    }
    let (now, wall) = (Instant::now(), wall_now());
    let dues: Vec<Instant> = m.iter().filter_map(|x| x.next_due()).collect();
    assert_eq!(dues.len(), 3, "every instance has a deadline");
    let first = *dues.iter().min().unwrap();
    let last = *dues.iter().max().unwrap();
    assert!(
        last.duration_since(first) <= DUE_SLACK,
        "deadlines apart: {:?}",
        dues.iter()
            .map(|d| d.saturating_duration_since(now))
            .collect::<Vec<_>>()
    );
    let phase = (wall + first.saturating_duration_since(now)).subsec_nanos() as i64;
    let off = (phase - PAST_SECOND.as_nanos() as i64).rem_euclid(1_000_000_000);
    let off = off.min(1_000_000_000 - off);
    assert!(
        off <= DUE_SLACK.as_nanos() as i64,
        "{} ms off the wall clock's second",
        off / 1_000_000
    );
    // The one wakeup at that deadline starts the script too.
    m.update_due(&cx(first));
    assert!(running(&m), "the script did not start with the others");
}

/// The instances a reload builds may open descriptors with the numbers of
/// those they replace (once those are closed): every descriptor they hand
/// the bar has a serial none of the replaced instances' had, the network
/// module's route socket (opened once, for its whole life) as well as a
/// script's.
#[test]
fn a_reloads_instances_name_their_descriptors_apart_from_the_old_ones() {
    let c = config(
        r#"
[bar]
right = ["network", "custom#t"]
[module.network]
interval_ms = 1000
[module."custom#t"]
exec = "sleep 5"
interval_ms = 1000
"#,
    );
    let sample = Sample::default();
    let cx = Context {
        now: Instant::now(),
        wall: Duration::ZERO,
        sample: &sample,
    };
    let mut old = Modules::from_config(&c, Instant::now());
    old.update_all(&cx);
    let before: Vec<_> = old.descriptors().collect();
    drop(old);
    let mut new = Modules::from_config(&c, Instant::now());
    new.update_all(&cx);
    let after: Vec<_> = new.descriptors().collect();
    assert!(
        after.len() >= 2,
        "the route socket and the script's pidfd or pipe: {after:?}"
    );
    for d in &after {
        assert!(
            before.iter().all(|b| b.serial != d.serial),
            "{d:?} has the serial of one of {before:?}"
        );
    }
    // Numbers do repeat (what the serials are for).
    assert!(
        after.iter().any(|d| before.iter().any(|b| b.fd == d.fd)),
        "no number repeated, nothing shown: {before:?} then {after:?}"
    );
}
