//! A steady tick of a bar whose modules and states have their own fonts
//! allocates nothing: families, sizes and a bold hover resolved when the
//! config is loaded (as the bar does it), a markup format with sizes and
//! families changing every tick, modules updating on their
//! intervals, the pointer moving between them, counted by a global
//! allocator. Its own test binary with a single test, so no other
//! thread's allocations are counted.

mod common;

use std::time::{Duration, Instant};

use rstat::bar::settings;
use rstat::collect::Sample;
use rstat::modules::{Context, Modules};
use rstat::render::{Canvas, Renderer, MAX_SEGMENTS};

const CONFIG: &str = r##"
[bar]
left = ["cpu", "memory", "cpu#markup"]
center = ["clock"]
right = ["load", "temperature"]
[bar.style]
background = "#2050a0"
radius = 6
[bar.style.hover]
font = { size = 16 }
[module.cpu]
critical = 50
[module.cpu.style]
font = { family = "DejaVu Sans", size = 18 }
[module.cpu.style.hover]
font = { weight = "bold" }
[module.cpu.style.critical]
font = { family = ["DejaVu Serif", "monospace"], weight = 700 }
[module."cpu#markup"]
format = "<big>{usage:>3.0}</big><span size='9pt'>%</span> <span face='DejaVu Serif' size='x-large'>{usage:>3.0}</span><tt>!</tt>"
[module.memory.style]
font = { size = 11 }
[module.clock]
format = "%H:%M:%S"
[module.clock.style]
font = "DejaVu Serif"
[module.load.style.hover]
font = { weight = "bold", size = 20 }
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
fn a_steady_tick_with_per_module_fonts_allocates_nothing() {
    let cfg = rstat::modules::registry::parse(CONFIG, "alloc.toml", None).expect("valid config");
    let mut glyphs = settings::glyphs(&cfg.bar.font).expect("font");
    settings::add_style_fonts(&cfg, &mut glyphs);
    let height = settings::fit_height(&cfg, &mut glyphs);
    assert!(
        height > 28,
        "the bar grows for the 20 px hover font: {height}"
    );
    let mut segs = Vec::with_capacity(MAX_SEGMENTS);
    let mut rects = Vec::with_capacity(MAX_SEGMENTS + 1);
    let surface = settings::surface_config(&cfg, false);
    for scale in [1u32, 2] {
        let t0 = Instant::now();
        let mut modules = Modules::from_config(&cfg, t0);
        let mut r = Renderer::new(surface.look);
        r.resize(1280, height, scale);
        let (w, h) = r.size();
        glyphs.warm(rstat::render::glyphs::WARM_CHARS, r.font_px());
        let mut bufs = [
            vec![0u8; (w * h * 4) as usize],
            vec![0u8; (w * h * 4) as usize],
        ];
        let mut shown = [0u64; 2];
        let mut fonts_seen = Vec::new();
        let mut tick = |i: usize, modules: &mut Modules, seen: Option<&mut Vec<_>>| {
            let now = t0 + Duration::from_millis(250 * i as u64);
            let s = sample(i);
            let cx = Context {
                now,
                wall: Duration::from_millis(1_764_092_520_000 + 250 * i as u64),
                sample: &s,
            };
            modules.update_due(&cx);
            // The pointer moves over each module in turn, then off the bar.
            let n = modules.len();
            let hover = (i / 7 % (n + 1) < n).then_some(i / 7 % (n + 1));
            modules.set_hover(hover);
            modules.write(&mut segs);
            if let Some(seen) = seen {
                for s in &segs {
                    if !seen.contains(&s.style.font) {
                        seen.push(s.style.font);
                    }
                }
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
        // Every digit in every font and state is drawn once first (glyphs
        // are rasterised on first sight, as on a real bar).
        for i in 0..1500 {
            tick(i, &mut modules, Some(&mut fonts_seen));
        }
        assert!(
            fonts_seen.len() >= 7,
            "scale {scale}: the fonts and states were shown: {fonts_seen:?}"
        );
        let ((), n) = common::alloc::count(|| {
            for i in 1500..3500 {
                tick(i, &mut modules, None);
            }
        });
        assert_eq!(
            n, 0,
            "scale {scale}: {n} allocations in 2000 ticks with fonts"
        );
    }
}
