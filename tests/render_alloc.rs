//! A steady tick (modules + render, sampling excluded) allocates nothing,
//! counted by a global allocator. Its own test binary, so no other test's
//! allocations are counted; and a single test, so no parallel thread is.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use rstat::collect::Sample;
use rstat::modules::clock::LocalTime;
use rstat::modules::Modules;
use rstat::render::{Canvas, GlyphCache, Look, Renderer, MAX_SEGMENTS};

struct Counting;

static COUNTING: AtomicBool = AtomicBool::new(false);
static ALLOCS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards every call unchanged to the system allocator; the only
// addition is a relaxed counter increment, which cannot allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: same contract as our caller's.
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        // SAFETY: same contract as our caller's.
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: same contract as our caller's.
        unsafe { System.realloc(p, l, n) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

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
fn steady_tick_allocates_nothing() {
    let mut glyphs = GlyphCache::with_default_font();
    let mut modules = Modules::default();
    let mut segs = Vec::with_capacity(MAX_SEGMENTS);
    let mut rects = Vec::with_capacity(MAX_SEGMENTS + 1);
    for scale in [1u32, 2] {
        let mut r = Renderer::new(Look::default());
        r.resize(1920, 28, scale);
        let (w, h) = r.size();
        glyphs.warm(rstat::render::glyphs::WARM_CHARS, r.font_px());
        let mut bufs = [
            vec![0u8; (w * h * 4) as usize],
            vec![0u8; (w * h * 4) as usize],
        ];
        let mut shown = [0u64; 2];
        let mut tick = |i: usize, modules: &mut Modules| {
            if i % 60 == 0 {
                modules.set_time(LocalTime {
                    weekday: (i / 60 % 7) as u8,
                    day: 25,
                    month: 10,
                    hour: 17,
                    minute: (i / 60 % 60) as u8,
                });
            }
            modules.write(&sample(i), &mut segs);
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
        ALLOCS.store(0, Ordering::Relaxed);
        COUNTING.store(true, Ordering::Relaxed);
        for i in 3..1003 {
            tick(i, &mut modules);
        }
        COUNTING.store(false, Ordering::Relaxed);
        let n = ALLOCS.load(Ordering::Relaxed);
        assert_eq!(n, 0, "scale {scale}: {n} allocations in 1000 steady ticks");
    }
}
