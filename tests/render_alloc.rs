//! A steady tick (modules + render, sampling excluded) allocates nothing,
//! counted by a global allocator. Its own test binary, so no other test's
//! allocations are counted; and a single test, so no parallel thread is.
//!
//! The modules come from a config, as the bar builds them: several
//! instances of the sample kinds (one with text placeholders), each on its
//! own interval, and a clock ticking every second through strftime.

mod common;

use std::time::{Duration, Instant};

use rstat::collect::Sample;
use rstat::modules::{Context, Modules};
use rstat::render::{Canvas, GlyphCache, Look, Renderer, MAX_SEGMENTS};

const CONFIG: &str = r#"
[bar]
left = ["cpu", "cpu#big", "memory", "load"]
center = ["clock"]
right = ["temperature", "gpu", "health"]
[module."cpu#big"]
format = "{usage:>5.1}% {freq_ghz:.2}GHz {tasks:>5} {throttle:<10.10}|{power_profile:^12}"
interval_ms = 3000
critical = { usage = 50 }
[module.memory]
format = "{mem_used_gib:>4.1}/{mem_total_gib:.0}G {swap_percent:>3.0}%"
interval_ms = 2000
[module.clock]
format = "%a %-d %b %H:%M:%S"
"#;

#[global_allocator]
static GLOBAL: common::alloc::Counting = common::alloc::Counting;

fn sample(i: usize) -> Sample {
    let mut s = Sample {
        cpu_percent: (i * 7 % 101) as f32,
        cores: 2,
        load: [(i % 300) as f32 / 100.0, 0.0, 0.0],
        ..Sample::default()
    };
    s.mem.total = 24 << 30;
    s.mem.used = ((i % 20) as u64 + 1) << 30;
    s.sensors.cpu_temp_c = Some(40.0 + (i % 50) as f32);
    s.sensors.cpu_freq_mhz = Some(800 + (i as u32 * 37) % 3000);
    s.tasks = 300 + (i % 40) as u32;
    s.sensors.throttle.clear();
    if i % 3 == 0 {
        s.sensors.throttle.push(b"thermal");
        s.sensors.throttle.push(b"power_limit");
    }
    s.sensors.power_profile = Some(rstat::collect::sample::ShortStr::from_bytes(
        if i % 2 == 0 {
            b"balanced"
        } else {
            b"performance"
        },
    ));
    s
}

#[test]
fn steady_tick_allocates_nothing() {
    let cfg = rstat::modules::registry::parse(CONFIG, "alloc.toml", None).expect("valid config");
    let mut glyphs = GlyphCache::with_default_font();
    let mut segs = Vec::with_capacity(MAX_SEGMENTS);
    let mut rects = Vec::with_capacity(MAX_SEGMENTS + 1);
    for scale in [1u32, 2] {
        let t0 = Instant::now();
        let mut modules = Modules::from_config(&cfg, t0);
        assert_eq!(modules.len(), 8);
        let mut r = Renderer::new(Look::default());
        r.resize(2560, 28, scale);
        let (w, h) = r.size();
        glyphs.warm(rstat::render::glyphs::WARM_CHARS, r.font_px());
        let mut bufs = [
            vec![0u8; (w * h * 4) as usize],
            vec![0u8; (w * h * 4) as usize],
        ];
        let mut shown = [0u64; 2];
        let mut updates = 0;
        // Tick i happens i × 250 ms after start: the bar's timer fires at
        // the earliest deadline, and only the modules due then update.
        let mut tick = |i: usize, modules: &mut Modules| {
            let now = t0 + Duration::from_millis(250 * i as u64);
            let s = sample(i);
            let cx = Context {
                now,
                wall: Duration::from_millis(1_764_092_520_000 + 250 * i as u64),
                sample: &s,
            };
            if modules.update_due(&cx) {
                updates += 1;
            }
            modules.write(&mut segs);
            let changed = r.update(&segs, &mut glyphs);
            let k = i % 2;
            let repaint = r.since(shown[k]);
            if let Some(mut c) = Canvas::new(&mut bufs[k], w, h) {
                r.paint(&mut c, repaint, &mut glyphs);
            }
            shown[k] = r.frame();
            r.rects(changed, &mut rects);
        };
        // The first ticks lay out and draw the bar whole.
        for i in 0..3 {
            tick(i, &mut modules);
        }
        let ((), n) = common::alloc::count(|| {
            for i in 3..2003 {
                tick(i, &mut modules);
            }
        });
        assert_eq!(n, 0, "scale {scale}: {n} allocations in 2000 steady ticks");
        assert!(updates > 400, "modules updated on {updates} ticks");
    }
}
