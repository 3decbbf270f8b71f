//! A clock whose `tooltip_format` shows seconds and the month's calendar
//! renders its tooltip at every update into reused buffers: once the
//! buffers have seen every month's size, ticks (days and months changing
//! among them) allocate nothing, and reading the tooltip as the bar does
//! while it is looked at allocates nothing either. Its own test binary
//! (one test), so no other test's allocations are counted.

mod common;

use std::time::{Duration, Instant};

use rstat::collect::Sample;
use rstat::modules::{Context, Modules, Segment};

const CONFIG: &str = r#"
[bar]
center = ["clock"]
right = []
[module.clock]
format = "%H:%M"
tooltip_format = "<big>%A %-d %B %Y %H:%M:%S</big>\n<tt><small>{calendar}</small></tt>"
"#;

#[global_allocator]
static GLOBAL: common::alloc::Counting = common::alloc::Counting;

#[test]
fn a_clock_tooltip_with_a_calendar_ticks_without_allocating() {
    // POSIX zone string: no zoneinfo file needed, the same on every machine.
    std::env::set_var("TZ", "UTC0");
    let cfg = rstat::modules::registry::parse(CONFIG, "alloc.toml", None).expect("valid config");
    let t0 = Instant::now();
    let mut modules = Modules::from_config(&cfg, t0);
    let sample = Sample::default();
    let mut segs: Vec<Segment> = Vec::with_capacity(rstat::render::MAX_SEGMENTS);
    // 2025-12-01 00:00 UTC; each tick moves the wall clock 7 h on, so the
    // day and the month change as the ticks go.
    let start = 1_764_547_200u64;
    let mut tips = 0usize;
    let mut last_len = 0usize;
    let mut tick = |i: u64, modules: &mut Modules| {
        let cx = Context {
            now: t0 + Duration::from_secs(i),
            wall: Duration::from_secs(start + i * 7 * 3600),
            sample: &sample,
        };
        modules.update_due(&cx);
        modules.write(&mut segs);
        let popup = segs[0].popup.expect("the tooltip's popup");
        let tip = modules.tooltip_of(popup).expect("a tooltip");
        tips += 1;
        last_len = tip.len();
    };
    // A year of ticks: every month's name and number of weeks seen once.
    for i in 0..1300 {
        tick(i, &mut modules);
    }
    let ((), n) = common::alloc::count(|| {
        for i in 1300..3300 {
            tick(i, &mut modules);
        }
    });
    assert_eq!(n, 0, "{n} allocations in 2000 ticks");
    assert_eq!(tips, 3300);
    assert!(
        last_len > 150,
        "the calendar is in the tooltip ({last_len} bytes)"
    );
    let popup = segs[0].popup.unwrap();
    let tip = modules.tooltip_of(popup).unwrap();
    assert!(tip.contains("Mo Tu We Th Fr Sa Su"), "{tip}");
    assert!(tip.contains("<b><u>"), "today marked: {tip}");
}
