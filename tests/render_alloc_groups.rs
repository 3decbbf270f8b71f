//! A steady tick of a themed bar allocates nothing: islands (`[bar.style]`),
//! a rounded floating bar (`[bar.style.bar]`), a group and a drawer that the
//! pointer opens and closes (sliding over `transition_ms`), modules updating on their intervals, counted
//! by a global allocator. Its own test binary with a single test, so no
//! other thread's allocations are counted.

mod common;

use std::time::{Duration, Instant};

use rstat::collect::Sample;
use rstat::modules::{Context, Modules};
use rstat::render::{Canvas, GlyphCache, Renderer, MAX_SEGMENTS};

const CONFIG: &str = r##"
[bar]
left = ["group#d", "cpu", "memory"]
center = ["clock"]
right = ["group#sys"]
[bar.style]
background = "#2050a0"
radius = 8
margin = [3, 4]
[bar.style.hover]
background = "#20a050"
[bar.style.critical]
background = "#c02020"
[bar.style.bar]
margin = [6, 8]
radius = 12
border = { width = 1, color = "#808080" }
[module."group#d"]
modules = ["health", "load", "temperature"]
drawer = { transition_ms = 1000 }
[module."group#d".style]
background = "#404040"
padding = [0, 4]
[module."group#d".style.hover]
background = "#a04040"
[module."group#sys"]
modules = ["gpu", "cpu#2"]
[module."group#sys".style]
background = "#806020"
radius = 10
[module.cpu]
critical = 50
[module."cpu#2"]
format = "{usage:>3.0}"
[module.clock]
format = "%H:%M:%S"
"##;

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
    s
}

#[test]
fn a_themed_steady_tick_allocates_nothing() {
    let cfg = rstat::modules::registry::parse(CONFIG, "alloc.toml", None).expect("valid config");
    let mut glyphs = GlyphCache::with_default_font();
    let mut segs = Vec::with_capacity(MAX_SEGMENTS);
    let mut rects = Vec::with_capacity(MAX_SEGMENTS + 1);
    let surface = rstat::bar::settings::surface_config(&cfg, false);
    for scale in [1u32, 2] {
        let t0 = Instant::now();
        let mut modules = Modules::from_config(&cfg, t0);
        let mut r = Renderer::new(surface.look);
        r.resize(1280, 28, scale);
        let (w, h) = r.size();
        glyphs.warm(rstat::render::glyphs::WARM_CHARS, r.font_px());
        let mut bufs = [
            vec![0u8; (w * h * 4) as usize],
            vec![0u8; (w * h * 4) as usize],
        ];
        let mut shown = [0u64; 2];
        let mut counts = (0, 0);
        let mut slid = 0;
        let mut tick = |i: usize, modules: &mut Modules| {
            let now = t0 + Duration::from_millis(250 * i as u64);
            let s = sample(i);
            let cx = Context {
                now,
                wall: Duration::from_millis(1_764_092_520_000 + 250 * i as u64),
                sample: &s,
            };
            modules.update_due(&cx);
            // The pointer: over the drawer's handle for a while (it opens),
            // then over a module outside any group, then off the bar.
            let hover = match i % 40 {
                0..=9 => Some(0),
                10..=19 => Some(1),
                20..=29 => modules.len().checked_sub(1),
                _ => None,
            };
            modules.set_hover(hover);
            // The drawer slides over four ticks: those frames too.
            if modules.sliding() {
                modules.animate(now);
                slid += 1;
            }
            modules.write(&mut segs);
            if segs.len() > 6 {
                counts.0 += 1;
            } else {
                counts.1 += 1;
            }
            let changed = r.update(&segs, &mut glyphs);
            let k = i % 2;
            let repaint = r.since(shown[k]);
            if let Some(mut c) = Canvas::new(&mut bufs[k], w, h) {
                r.paint(&mut c, repaint, &mut glyphs);
            }
            shown[k] = r.frame();
            r.rects(changed, &mut rects);
        };
        for i in 0..45 {
            tick(i, &mut modules);
        }
        let ((), n) = common::alloc::count(|| {
            for i in 45..2045 {
                tick(i, &mut modules);
            }
        });
        assert_eq!(n, 0, "scale {scale}: {n} allocations in 2000 themed ticks");
        assert!(
            counts.0 > 100 && counts.1 > 100,
            "the drawer opened and closed: {counts:?}"
        );
        assert!(slid > 200, "the drawer slid: {slid} frames");
    }
}
