//! With the test as the Wayland client (the library's `Bars` in a real
//! headless Sway): a styled twelve-module bar whose tick changes nothing
//! commits nothing and allocates nothing, a tick that changes one figure
//! commits one frame, and a hover restyle commits one frame. Counted:
//! `Bars::commits` and the counting global allocator.
//!
//! Needs root (Sway runs as uid 65534) and `sway`.

mod common;
mod support;

use std::time::{Duration, Instant};

use rstat::collect::Sample;
use rstat::modules::{registry, Context, Modules};
use rstat::render::{GlyphCache, Segment};
use rstat::wayland::{Bars, SurfaceConfig};
use support::sway::HeadlessSway;

#[global_allocator]
static GLOBAL: common::alloc::Counting = common::alloc::Counting;

/// Twelve sample and clock modules with boxes, borders, radius, a gradient,
/// per-state and hover styles and a markup format (no services needed).
const STYLED: &str = r##"
[bar]
left = ["cpu", "cpu#freq", "memory", "memory#swap"]
center = ["clock", "clock#date"]
right = ["temperature", "load", "load#5", "disk", "cpu#cores", "health"]
[bar.style]
background = "#313244"
padding = [0, 8]
margin = [3, 2]
radius = 8
[bar.style.hover]
background = "#45475a"
[bar.style.critical]
background = "#f38ba8"
[module.cpu]
format = "<b>CPU</b> {usage:>3.0}%"
[module.cpu.style]
background = { from = "#89b4fa", to = "#cba6f7", angle = 90 }
[module.memory.style]
border = { width = 1, color = "#a6e3a1" }
[module."cpu#freq"]
format = "{freq_ghz:.1} GHz"
[module."memory#swap"]
format = "SWAP {swap_percent:>3.0}%"
[module."load#5"]
format = "{load5:.2}"
[module."clock#date"]
format = "%a %d %b"
[module."cpu#cores"]
format = "{cores} cores"
"##;

fn sample(cpu: f32) -> Sample {
    let mut s = Sample {
        cpu_percent: cpu,
        cores: 2,
        ..Sample::default()
    };
    s.mem.total = 8 << 30;
    s.mem.used = 2 << 30;
    s
}

#[test]
fn an_unchanged_tick_of_a_styled_bar_commits_nothing() {
    if !common::need(common::is_root(), "needs root to start Sway as uid 65534")
        || !common::need(common::have("sway"), "needs `sway` on PATH")
    {
        return;
    }
    let _lock = support::compositor_lock();
    let sway = HeadlessSway::start();
    for (k, v) in sway.env() {
        std::env::set_var(k, v);
    }
    let cfg = registry::parse(STYLED, "styled.toml", None).unwrap_or_else(|e| panic!("{e}"));
    let mut m = Modules::from_config(&cfg, Instant::now());
    assert_eq!(m.len(), 12);
    let (mut bars, _conn, mut queue) =
        Bars::connect(SurfaceConfig::default(), GlyphCache::with_default_font())
            .unwrap_or_else(|e| panic!("connect: {e:?}"));
    let mut segs: Vec<Segment> = Vec::with_capacity(64);
    // A fixed wall-clock time: the clocks do not change between ticks.
    let wall = Duration::from_secs(1_764_092_520);
    let tick = |m: &mut Modules, segs: &mut Vec<Segment>, s: &Sample| {
        m.update_all(&Context {
            now: Instant::now(),
            wall,
            sample: s,
        });
        m.write(segs);
    };
    let mut settle = |bars: &mut Bars, what: &str, f: &dyn Fn(&Bars) -> bool| {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            queue.roundtrip(bars).expect("roundtrip");
            if f(bars) {
                break;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
        }
    };
    settle(&mut bars, "a configured bar", &|b| {
        b.first_configured_bar().is_some()
    });
    let s = sample(12.0);
    tick(&mut m, &mut segs, &s);
    bars.set_segments(&segs);
    settle(&mut bars, "the first frame", &|b| b.commits > 0);
    // Frame callbacks and buffer releases settle.
    for _ in 0..5 {
        std::thread::sleep(Duration::from_millis(30));
        settle(&mut bars, "a roundtrip", &|_| true);
    }
    let commits = bars.commits;
    let ((), allocs) = common::alloc::count(|| {
        for _ in 0..200 {
            tick(&mut m, &mut segs, &s);
            bars.set_segments(&segs);
        }
    });
    settle(&mut bars, "a roundtrip", &|_| true);
    assert_eq!(
        bars.commits, commits,
        "200 unchanged ticks committed frames"
    );
    assert_eq!(allocs, 0, "200 unchanged ticks allocated");

    // One figure changes: one frame.
    tick(&mut m, &mut segs, &sample(55.0));
    bars.set_segments(&segs);
    settle(&mut bars, "a frame for the change", &|b| {
        b.commits > commits
    });
    let after_change = bars.commits;
    // Hovering a module restyles it: one frame more.
    std::thread::sleep(Duration::from_millis(50));
    settle(&mut bars, "a roundtrip", &|_| true);
    assert!(m.set_hover(Some(0)));
    m.write(&mut segs);
    bars.set_segments(&segs);
    settle(&mut bars, "a frame for the hover", &|b| {
        b.commits > after_change
    });
    eprintln!(
        "commits: {commits} after the first frame, {after_change} after a change, {} after a hover",
        bars.commits
    );
}
