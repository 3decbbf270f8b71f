//! The clock follows a change of time zone at the next minute: it calls
//! `tzset()` each new minute, since `localtime_r` alone never looks at the
//! zone again. Its own test binary with one test, because it changes `TZ`
//! for the whole process.

use std::time::{Duration, Instant};

use rstat::collect::Sample;
use rstat::modules::{Context, Modules, Segment};

#[test]
fn a_zone_change_shows_at_the_next_minute() {
    let cfg = rstat::modules::registry::parse(
        "[bar]\ncenter = [\"clock\"]\nright = []\n[module.clock]\nformat = \"%H:%M %Z\"\n",
        "tz.toml",
        None,
    )
    .expect("valid config");
    // POSIX zone strings: no zoneinfo files needed.
    std::env::set_var("TZ", "UTC0");
    let t0 = Instant::now();
    let mut m = Modules::from_config(&cfg, t0);
    let sample = Sample::default();
    let mut out: Vec<Segment> = Vec::new();
    let mut show = |m: &mut Modules, secs: u64| {
        let cx = Context {
            now: t0 + Duration::from_secs(secs - 1_764_090_000),
            wall: Duration::from_secs(secs),
            sample: &sample,
        };
        m.update_all(&cx);
        m.write(&mut out);
        out[0].text.as_str().to_string()
    };
    // 2025-11-25 17:00:00 UTC.
    assert_eq!(show(&mut m, 1_764_090_000), "17:00 UTC");
    std::env::set_var("TZ", "JST-9");
    assert_eq!(show(&mut m, 1_764_090_060), "02:01 JST");
    std::env::set_var("TZ", "UTC0");
    assert_eq!(show(&mut m, 1_764_090_120), "17:02 UTC");
}

/// After a resume or a set wall clock the bar tells the modules (its
/// `TFD_TIMER_CANCEL_ON_SET` timerfd fired): the clock is due at once,
/// not at its next minute on the monotonic clock, which stood still.
#[test]
fn a_wall_clock_change_makes_the_clock_due_at_once() {
    let cfg = rstat::modules::registry::parse(
        "[bar]\ncenter = [\"clock\"]\nright = []\nleft = []\n[module.clock]\nformat = \"%H:%M\"\n",
        "wall.toml",
        None,
    )
    .expect("valid config");
    let t0 = Instant::now();
    let mut m = Modules::from_config(&cfg, t0);
    let sample = Sample::default();
    m.update_all(&Context {
        now: t0,
        wall: Duration::from_secs(1_764_090_000),
        sample: &sample,
    });
    let due = m.next_due().expect("the clock has a deadline");
    assert!(due > t0 + Duration::from_secs(50), "a minute clock");
    let resumed = t0 + Duration::from_secs(1);
    m.wall_clock_changed(resumed);
    assert_eq!(m.next_due(), Some(resumed));
}
