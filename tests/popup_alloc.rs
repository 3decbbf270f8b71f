//! The bar's steady tick with the popup open allocates nothing —
//! modules, the bar's renderer, the popup's content and its renderer,
//! counted by a global allocator. The same for the clock's
//! calendar popup, across a midnight (a new day redraws two rows). Its own test binary with one test, so no
//! other test's (or thread's) allocations are counted.

mod common;

use std::time::{Duration, Instant};

use rstat::collect::sample::{Comm, ProcCpu, ProcIo, ProcMem};
use rstat::collect::Sample;
use rstat::modules::{calendar, top, Context, Modules};
use rstat::render::calendar::{CalendarContent, CalendarRenderer};
use rstat::render::popup::{PopupContent, PopupLook, PopupRenderer, PopupSheet};
use rstat::render::{Canvas, GlyphCache, Look, Renderer, MAX_SEGMENTS};

#[global_allocator]
static GLOBAL: common::alloc::Counting = common::alloc::Counting;

/// A sample whose figures and top lists change every tick.
fn sample(i: usize) -> Sample {
    let mut s = Sample {
        cpu_percent: (i * 7 % 101) as f32,
        cores: 2,
        load: [(i % 300) as f32 / 100.0, 0.0, 0.0],
        ..Sample::default()
    };
    s.mem.total = 24 << 30;
    s.mem.used = ((i % 20) as u64 + 1) << 30;
    for k in 0..8u32 {
        let pid = 100 + (k + i as u32) % 13;
        let name = Comm::from_bytes(if k % 2 == 0 {
            b"worker"
        } else {
            b"kthreadd/\xff"
        });
        let v = ((i as u64 * 31 + k as u64 * 17) % 997) + 1;
        s.top_cpu.offer(
            v,
            ProcCpu {
                pid,
                name,
                cpu_percent: v as f32 / 10.0,
            },
        );
        s.top_mem.offer(
            v << 20,
            ProcMem {
                pid,
                name,
                rss_bytes: v << 20,
            },
        );
        s.top_io.offer(
            v,
            ProcIo {
                pid,
                name,
                read_bytes_per_s: v << 10,
                write_bytes_per_s: v,
            },
        );
    }
    s
}

#[test]
fn steady_tick_with_the_popup_open_allocates_nothing() {
    let mut glyphs = GlyphCache::with_default_font();
    let mut segs = Vec::with_capacity(MAX_SEGMENTS);
    let mut rects = Vec::with_capacity(MAX_SEGMENTS + 1);
    let mut content = PopupContent::default();
    let mut month = CalendarContent::default();
    for scale in [1u32, 2] {
        // The health and clock modules, as the bar runs them.
        let t0 = Instant::now();
        let config = rstat::modules::registry::parse(common::CLOCK_HEALTH, "test.toml", None)
            .expect("the clock and health config parses");
        let mut modules = Modules::from_config(&config, t0);
        let mut bar = Renderer::new(Look::default());
        bar.resize(1920, 28, scale);
        let mut popup = PopupRenderer::new(PopupLook::default(), &mut glyphs);
        popup.set_scale(scale, &mut glyphs);
        let mut cal = CalendarRenderer::new(PopupLook::default(), &mut glyphs);
        PopupSheet::set_scale(&mut cal, scale, &mut glyphs);
        glyphs.warm(rstat::render::glyphs::WARM_CHARS, bar.font_px());
        glyphs.warm(rstat::render::glyphs::WARM_CHARS, popup.font_px());
        // The box for the invalid byte and the ellipsis, as the bar warms them
        // on first use.
        glyphs.warm("\u{fffd}…", popup.font_px());
        let (bw, bh) = bar.size();
        let (pw, ph) = popup.size();
        let mut bar_bufs = [
            vec![0u8; (bw * bh * 4) as usize],
            vec![0u8; (bw * bh * 4) as usize],
        ];
        let mut pop_bufs = [
            vec![0u8; (pw * ph * 4) as usize],
            vec![0u8; (pw * ph * 4) as usize],
        ];
        let (cw, ch) = cal.size();
        let mut cal_bufs = [
            vec![0u8; (cw * ch * 4) as usize],
            vec![0u8; (cw * ch * 4) as usize],
        ];
        let mut shown = [[0u64; 2]; 3];
        let mut tick = |i: usize, glyphs: &mut GlyphCache| {
            let s = sample(i);
            let k = i % 2;
            // A tick a second, as the health module's default interval.
            let cx = Context {
                now: t0 + Duration::from_secs(i as u64),
                wall: Duration::from_secs(1_764_092_520 + i as u64),
                sample: &s,
            };
            modules.update_due(&cx);
            modules.write(&mut segs);
            let changed = bar.update(&segs, glyphs);
            let repaint = bar.since(shown[0][k]);
            if let Some(mut c) = Canvas::new(&mut bar_bufs[k], bw, bh) {
                bar.paint(&mut c, repaint, glyphs);
            }
            shown[0][k] = bar.frame();
            bar.rects(changed, &mut rects);

            top::write(&s, &mut content);
            let changed = popup.update(&content);
            let repaint = popup.since(shown[1][k]);
            if let Some(mut c) = Canvas::new(&mut pop_bufs[k], pw, ph) {
                popup.paint(&mut c, repaint, glyphs);
            }
            shown[1][k] = popup.frame();
            popup.rects(changed, &mut rects);

            // The calendar, its wall clock passing midnight (UTC) at tick 500.
            let wall = Duration::from_secs(1_764_115_200 - 500 + i as u64);
            calendar::write(wall, &mut month);
            let changed = cal.update(&month);
            let repaint = cal.since(shown[2][k]);
            if let Some(mut c) = Canvas::new(&mut cal_bufs[k], cw, ch) {
                cal.paint(&mut c, repaint, glyphs);
            }
            shown[2][k] = cal.frame();
            cal.rects(changed, &mut rects);
        };
        for i in 0..3 {
            tick(i, &mut glyphs);
        }
        let ((), n) = common::alloc::count(|| {
            for i in 3..1003 {
                tick(i, &mut glyphs);
            }
        });
        assert_eq!(
            n, 0,
            "scale {scale}: {n} allocations in 1000 ticks with the popup open"
        );
    }
}
