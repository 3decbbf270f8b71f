//! `rstat --bench-render N`: the renderer's cost per steady tick and per full
//! redraw, with a memset of the same buffer as the in-run baseline.

use std::fmt::Write;
use std::hint::black_box;
use std::time::Instant;

use crate::collect::Sample;
use crate::modules::{Context, Modules};
use crate::render::{Canvas, GlyphCache, Look, Mask, Rect, Renderer, Segment, MAX_SEGMENTS};

/// Logical width of the benchmarked bar (a 1440p monitor).
const WIDTH: u32 = 2560;
const HEIGHT: u32 = 28;

/// Runs each measurement `n` times and returns the report lines.
pub fn bench_render(n: usize) -> String {
    let n = n.max(1);
    let mut glyphs = GlyphCache::with_default_font();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "render bench: {WIDTH}x{HEIGHT} logical bar, health + clock modules, {n} iterations each"
    );
    for scale in [1, 2] {
        let (steady, segs) = steady_tick(&mut glyphs, scale, n, modules(), Look::default());
        line(
            &mut out,
            &format!("steady tick, one number changes, 2 buffers (scale {scale}, {segs} segments)"),
            &steady,
        );
    }
    // A themed bar: twelve modules with boxes, borders, radius, markup.
    for scale in [1, 2] {
        let (steady, segs, [changed, painted]) = desk_ticks(&mut glyphs, scale, n);
        line(
            &mut out,
            &format!(
                "styled bar, steady tick (scale {scale}, 12 modules): a desktop's 1 s ticks, \
                 modules due on their own intervals, {changed:.1} of {segs} segments change a tick, \
                 {painted:.1} repainted (2 buffers)"
            ),
            &steady,
        );
        line(
            &mut out,
            &format!("styled bar, hover restyle (pointer moves to the next module; scale {scale})"),
            &hover_restyle(&mut glyphs, scale, n),
        );
        let (frames, damaged) = slide_frames(&mut glyphs, scale, n);
        line(
            &mut out,
            &format!(
                "styled bar, one frame of a drawer sliding (its 4 modules, 300 ms, 60 frames/s; scale {scale}; {:.0} % of the bar's columns damaged a frame)",
                damaged * 100.0
            ),
            &frames,
        );
    }
    for scale in [1, 2] {
        let (steady, segs) = steady_tick_themed(&mut glyphs, scale, n);
        line(
            &mut out,
            &format!("steady tick, themed: islands in a group on a floating rounded bar (scale {scale}, {segs} segments)"),
            &steady,
        );
    }
    for scale in [1, 2] {
        line(
            &mut out,
            &format!(
                "full redraw {}x{} px (scale {scale})",
                WIDTH * scale,
                HEIGHT * scale
            ),
            &full_redraw(&mut glyphs, scale, n),
        );
        line(
            &mut out,
            &format!(
                "baseline: memset of the {}x{} px buffer",
                WIDTH * scale,
                HEIGHT * scale
            ),
            &baseline_fill(scale, n),
        );
    }
    // The popup's redraw per tick while open.
    for scale in [1, 2] {
        let (steady, full, size) = popup_ticks(&mut glyphs, scale, n);
        line(
            &mut out,
            &format!(
                "popup tick, top lists change, 2 buffers ({}x{} px, scale {scale})",
                size.0, size.1
            ),
            &steady,
        );
        line(
            &mut out,
            &format!("popup tick, one row changes, 2 buffers (scale {scale})"),
            &popup_one_row(&mut glyphs, scale, n),
        );
        line(
            &mut out,
            &format!("popup full redraw (scale {scale})"),
            &full,
        );
        line(
            &mut out,
            &format!(
                "baseline: memset of the {}x{} px popup buffer",
                size.0, size.1
            ),
            &memset(size, n),
        );
    }
    // Text: font discovery, and a changed window title in many scripts.
    text_lines(&mut out, n);
    // The clock's calendar popup while open.
    for scale in [1, 2] {
        let [same, new_day, full] = calendar_ticks(&mut glyphs, scale, n);
        line(
            &mut out,
            &format!("calendar tick, same day (local date + compare; scale {scale})"),
            &same,
        );
        line(
            &mut out,
            &format!("calendar tick, a new day (two week rows; scale {scale})"),
            &new_day,
        );
        line(
            &mut out,
            &format!("calendar full redraw (scale {scale})"),
            &full,
        );
    }
    // A clock's tooltip_format with {calendar}, against the same clock
    // without one (its baseline in this run).
    let [plain, tipped] = clock_tooltip_ticks(n);
    line(
        &mut out,
        "clock update, a seconds clock (baseline: update + write)",
        &plain,
    );
    line(
        &mut out,
        "clock update with tooltip_format (strftime + {calendar}; update + write + the tooltip read as while hovered)",
        &tipped,
    );
    out
}

/// A seconds clock ticking once a simulated second, with and without a
/// `tooltip_format` of strftime and `{calendar}` (each tick renders the
/// tooltip; the grid only when the day changes, every 24th tick here).
fn clock_tooltip_ticks(n: usize) -> [Vec<u64>; 2] {
    let configs = [
        "[bar]\ncenter = [\"clock\"]\nright = []\n[module.clock]\nformat = \"%H:%M:%S\"\n",
        "[bar]\ncenter = [\"clock\"]\nright = []\n[module.clock]\nformat = \"%H:%M:%S\"\n\
         tooltip_format = \"<big>%A %-d %B %Y</big>\\n<tt><small>{calendar}</small></tt>\"\n",
    ];
    let sample = Sample::default();
    let mut segs: Vec<Segment> = Vec::with_capacity(MAX_SEGMENTS);
    configs.map(|text| {
        let Ok(cfg) = crate::modules::registry::parse(text, "bench.toml", None) else {
            eprintln!("rstat: the clock bench config is invalid");
            return Vec::new();
        };
        let start = Instant::now();
        let mut m = Modules::from_config(&cfg, start);
        let mut times = Vec::with_capacity(n);
        for i in 0..(n + 4) as u64 {
            let cx = crate::modules::Context {
                now: start + std::time::Duration::from_secs(i),
                // An hour a tick: the day changes every 24th.
                wall: std::time::Duration::from_secs(1_795_608_000 + i * 3600),
                sample: &sample,
            };
            let t0 = Instant::now();
            m.update_due(&cx);
            m.write(&mut segs);
            if let Some(p) = segs.first().and_then(|s| s.popup) {
                black_box(m.tooltip_of(p));
            }
            if i >= 4 {
                times.push(t0.elapsed().as_nanos() as u64);
            }
        }
        times
    })
}

/// Mixed titles of 60 characters: Latin, CJK, emoji, Arabic, Devanagari,
/// a combining accent and a Font Awesome icon.
const MIXED: [&str; 4] = [
    "vim — 日本語のテキスト 🚀 مرحبا بالعالم नमस्ते दुनिया café\u{301} \u{F240} main.rs",
    "zsh — 東京都の天気 😀 السلام عليكم हिन्दी भाषा naïve e\u{301}t\u{E9} \u{F240} ~/src",
    "mpv — 音楽を聴く 🎵 كتاب جديد संगीत सुनो re\u{301}sume\u{301} \u{F240} song.flac",
    "git — 変更をコミット 🔥 صباح الخير विकास कार्य cre\u{300}me \u{F240} feature",
];

/// Font discovery through fontconfig's configuration (what start-up and a
/// font reload pay), and a changed 60-character title in many scripts
/// shaped and drawn, against the same title unchanged, with DejaVu Sans and
/// the installed faces as fallback.
fn text_lines(out: &mut String, n: usize) {
    use crate::render::text::{FontChoice, SystemFonts};
    let mut disc = Vec::new();
    let mut sys = SystemFonts::default();
    for _ in 0..5 {
        let t0 = Instant::now();
        sys = SystemFonts::discover();
        disc.push(t0.elapsed().as_nanos() as u64);
    }
    line(
        out,
        &format!(
            "font discovery through the index (config and directories stat'ed; {} faces), 5 runs",
            sys.faces.len()
        ),
        &disc,
    );
    let choice = FontChoice {
        families: vec!["DejaVu Sans".into()],
        weight: 400,
        ..FontChoice::default()
    };
    let Ok(mut glyphs) = GlyphCache::load(&choice, sys) else {
        return;
    };
    let title = |i: usize| {
        let mut s = Segment::new(
            MIXED[i % MIXED.len()],
            Default::default(),
            crate::render::Align::Left,
        );
        s.style.fg = crate::render::Rgba::hex(0xffffffff);
        s
    };
    let mut r = Renderer::new(Look::default());
    r.resize(WIDTH, HEIGHT, 1);
    let (w, h) = r.size();
    let mut buf = vec![0u8; (w * h * 4) as usize];
    // First sight of each title: fallback faces found, glyphs rasterised.
    let t0 = Instant::now();
    for i in 0..MIXED.len() {
        let m = r.update(&[title(i)], &mut glyphs);
        if let Some(mut c) = Canvas::new(&mut buf, w, h) {
            r.paint(&mut c, m, &mut glyphs);
        }
    }
    let first = t0.elapsed().as_nanos() as u64 / MIXED.len() as u64;
    let boxes = glyphs.boxes_drawn();
    let mut changed = Vec::with_capacity(n);
    let mut same = Vec::with_capacity(n);
    for i in 0..n {
        let t0 = Instant::now();
        let m = r.update(&[title(i)], &mut glyphs);
        if let Some(mut c) = Canvas::new(&mut buf, w, h) {
            r.paint(&mut c, m, &mut glyphs);
        }
        changed.push(t0.elapsed().as_nanos() as u64);
        let t0 = Instant::now();
        let m = r.update(&[title(i)], &mut glyphs);
        if let Some(mut c) = Canvas::new(&mut buf, w, h) {
            r.paint(&mut c, m, &mut glyphs);
        }
        same.push(t0.elapsed().as_nanos() as u64);
    }
    let _ = writeln!(
        out,
        "mixed 60-char title, first sight (fallback faces found, glyphs rasterised): {:.1} ms each; {} faces loaded ({}); {} missing-glyph boxes",
        first as f64 / 1e6,
        glyphs.loaded_families().len(),
        glyphs.loaded_families().join(", "),
        boxes
    );
    line(
        out,
        "mixed 60-char title changed: shaped, laid out, drawn (scale 1)",
        &changed,
    );
    line(out, "baseline: the same title unchanged (diff only)", &same);
    start_up_lines(out);
    hostile_title_lines(out, n);
}

/// Whether the cold figures are wanted: `RSTAT_BENCH_DROP_CACHES=1` (as
/// root) drops the page cache before each cold run. Never by default: it
/// slows everything else on the machine for a while.
fn drop_caches_asked() -> bool {
    std::env::var("RSTAT_BENCH_DROP_CACHES").is_ok_and(|v| v == "1")
}

/// Empties the page cache (dirty pages written first), so the next reads
/// come from the disk as at a start-up after boot.
fn drop_caches() -> Result<(), String> {
    // SAFETY: sync has no preconditions and cannot fail.
    unsafe { libc::sync() };
    std::fs::write("/proc/sys/vm/drop_caches", "3")
        .map_err(|e| format!("/proc/sys/vm/drop_caches: {e} (needs root)"))
}

/// Font discovery and the first frame of a bar with `family = ["DejaVu
/// Sans"]` and a mixed title (discovery, the chosen and fallback faces
/// mapped, shaping, glyphs rasterised, painted), warm and — when asked —
/// with the page cache dropped before each run; and the first frame of a
/// bar with no font named (the embedded face, no discovery).
fn start_up_lines(out: &mut String) {
    use crate::render::text::{FontChoice, SystemFonts};
    const RUNS: usize = 5;
    let first_frame = |named: bool| -> u64 {
        let t0 = Instant::now();
        let mut glyphs = if named {
            let choice = FontChoice {
                families: vec!["DejaVu Sans".into()],
                weight: 400,
                ..FontChoice::default()
            };
            match GlyphCache::load(&choice, SystemFonts::discover()) {
                Ok(g) => g,
                Err(_) => return 0,
            }
        } else {
            GlyphCache::embedded_then_installed(400)
        };
        let mut m = modules();
        let mut segs = Vec::with_capacity(MAX_SEGMENTS);
        write(&mut m, &sample(12.0), &mut segs);
        if named {
            let mut t = Segment::new(MIXED[0], Default::default(), crate::render::Align::Left);
            t.style.fg = crate::render::Rgba::hex(0xffffffff);
            segs.insert(0, t);
        }
        let mut r = Renderer::new(Look::default());
        r.resize(WIDTH, HEIGHT, 1);
        let (w, h) = r.size();
        let mut buf = vec![0u8; (w * h * 4) as usize];
        let mask = r.update(&segs, &mut glyphs);
        if let Some(mut c) = Canvas::new(&mut buf, w, h) {
            r.paint(&mut c, mask, &mut glyphs);
        }
        black_box(&buf);
        t0.elapsed().as_nanos() as u64
    };
    let cold = drop_caches_asked();
    index_build_lines(out, cold);
    // The index the runs below read (built here if the lines above were
    // the first discovery of this configuration).
    black_box(SystemFonts::discover());
    let mut warm_disc = Vec::new();
    let mut cold_disc = Vec::new();
    let mut warm_first = Vec::new();
    let mut cold_first = Vec::new();
    let mut plain_first = Vec::new();
    let mut failed = None;
    for _ in 0..RUNS {
        let t0 = Instant::now();
        black_box(SystemFonts::discover());
        warm_disc.push(t0.elapsed().as_nanos() as u64);
        warm_first.push(first_frame(true));
        plain_first.push(first_frame(false));
        if cold && failed.is_none() {
            match drop_caches() {
                Ok(()) => {
                    let t0 = Instant::now();
                    black_box(SystemFonts::discover());
                    cold_disc.push(t0.elapsed().as_nanos() as u64);
                }
                Err(e) => failed = Some(e),
            }
            if failed.is_none() {
                if let Err(e) = drop_caches() {
                    failed = Some(e);
                } else {
                    cold_first.push(first_frame(true));
                }
            }
        }
    }
    let ms = |v: &[u64]| {
        let mut v = v.to_vec();
        v.sort_unstable();
        let p = |q: f64| v[((v.len() - 1) as f64 * q).round() as usize] as f64 / 1e6;
        format!("p50 {:.1} ms, max {:.1} ms", p(0.5), p(1.0))
    };
    let _ = writeln!(
        out,
        "font discovery at start-up, index present, warm page cache ({RUNS} runs): {} (target 30 ms)",
        ms(&warm_disc)
    );
    let _ = writeln!(
        out,
        "first frame, font = DejaVu Sans + a mixed title, warm ({RUNS} runs: discovery, faces mapped, shaped, rasterised, painted): {} (target 50 ms)",
        ms(&warm_first)
    );
    let _ = writeln!(
        out,
        "first frame, no font named (embedded face, health + clock; {RUNS} runs): {}",
        ms(&plain_first)
    );
    match (cold, failed) {
        (false, _) => {
            let _ = writeln!(
                out,
                "font discovery and first frame, cold: not measured (RSTAT_BENCH_DROP_CACHES=1 as root drops the page cache before each run)"
            );
        }
        (true, Some(e)) => {
            let _ = writeln!(out, "font discovery, cold: not measured: {e}");
        }
        (true, None) => {
            let _ = writeln!(
                out,
                "font discovery at start-up, index present, page cache dropped before each ({RUNS} runs): {} (target 30 ms)",
                ms(&cold_disc)
            );
            let _ = writeln!(
                out,
                "first frame, font = DejaVu Sans + a mixed title, index present, page cache dropped before each ({RUNS} runs): {} (target 50 ms)",
                ms(&cold_first)
            );
        }
    }
}

/// What building the font index costs (no index file: the configuration
/// read and every face's names, style and coverage), into a file of the
/// bench's own, warm and — when asked — with the page cache dropped.
fn index_build_lines(out: &mut String, cold: bool) {
    use crate::render::text::{IndexAt, SystemFonts};
    const RUNS: usize = 3;
    let conf = SystemFonts::config_file();
    let file = std::env::temp_dir().join(format!("rstat-bench-fonts-{}.idx", std::process::id()));
    let build = |drop: bool| -> Result<(u64, usize, usize), String> {
        let _ = std::fs::remove_file(&file);
        if drop {
            drop_caches()?;
        }
        let t0 = Instant::now();
        let sys = SystemFonts::discover_with(&conf, IndexAt::File(&file));
        let t = t0.elapsed().as_nanos() as u64;
        Ok((t, sys.faces.len(), sys.index.written.unwrap_or(0)))
    };
    let ms = |v: &[u64]| {
        let mut v = v.to_vec();
        v.sort_unstable();
        format!(
            "p50 {:.1} ms, max {:.1} ms",
            v[v.len() / 2] as f64 / 1e6,
            v[v.len() - 1] as f64 / 1e6
        )
    };
    let mut warm = Vec::new();
    let (mut faces, mut bytes) = (0, 0);
    for _ in 0..RUNS {
        if let Ok((t, f, b)) = build(false) {
            warm.push(t);
            (faces, bytes) = (f, b);
        }
    }
    let _ = writeln!(
        out,
        "font index build (no index: config read, every face's names, style and coverage; {faces} faces, file {bytes} bytes), warm ({RUNS} runs): {}",
        ms(&warm)
    );
    if cold {
        let mut v = Vec::new();
        for _ in 0..RUNS {
            match build(true) {
                Ok((t, _, _)) => v.push(t),
                Err(e) => {
                    let _ = writeln!(out, "font index build, cold: not measured: {e}");
                    break;
                }
            }
        }
        if !v.is_empty() {
            let _ = writeln!(
                out,
                "font index build, page cache dropped before each ({} runs): {}",
                v.len(),
                ms(&v)
            );
        }
    }
    let _ = std::fs::remove_file(&file);
}

/// Hostile window titles, through the window module's cut (at its default
/// 50 characters, by grapheme clusters) and the bar's segment cap, shaped
/// and drawn with DejaVu Sans and the installed faces: a 64 KiB title in
/// many scripts, a letter with 10,000 combining marks, and invalid bytes
/// read as U+FFFD. First sight (a fresh glyph cache: fallback faces found)
/// and then alternating with a plain title, so every frame is a change.
fn hostile_title_lines(out: &mut String, n: usize) {
    use crate::render::text::{FontChoice, SystemFonts};
    let mut big = String::new();
    while big.len() < 64 << 10 {
        big.push_str(MIXED[big.len() % MIXED.len()]);
    }
    let marks: String = std::iter::once('a')
        .chain(std::iter::repeat_n('\u{301}', 10_000))
        .collect();
    let bytes: Vec<u8> = (0..4000u32)
        .map(|i| {
            if i % 3 == 0 {
                b'x'
            } else {
                0xff - (i % 7) as u8
            }
        })
        .collect();
    let invalid = String::from_utf8_lossy(&bytes).into_owned();
    let choice = FontChoice {
        families: vec!["DejaVu Sans".into()],
        weight: 400,
        ..FontChoice::default()
    };
    let cases = [
        ("a 64 KiB title in many scripts", &big),
        ("a letter and 10,000 combining marks", &marks),
        ("4000 invalid bytes (U+FFFD)", &invalid),
    ];
    let mut cut = String::new();
    for (what, title) in cases {
        let Ok(mut glyphs) = GlyphCache::load(&choice, SystemFonts::discover()) else {
            return;
        };
        let mut r = Renderer::new(Look::default());
        r.resize(WIDTH, HEIGHT, 1);
        let (w, h) = r.size();
        let mut buf = vec![0u8; (w * h * 4) as usize];
        let mut frame = |text: &str, glyphs: &mut GlyphCache, cut: &mut String| {
            let t0 = Instant::now();
            cut.clear();
            crate::modules::window::truncate_chars(text, 50, cut);
            let seg = Segment::new(cut, Default::default(), crate::render::Align::Left);
            let m = r.update(&[seg], glyphs);
            if let Some(mut c) = Canvas::new(&mut buf, w, h) {
                r.paint(&mut c, m, glyphs);
            }
            t0.elapsed().as_nanos() as u64
        };
        let first = frame(title, &mut glyphs, &mut cut);
        let mut times = Vec::with_capacity(n / 10 + 1);
        for _ in 0..n / 10 + 1 {
            times.push(frame(title, &mut glyphs, &mut cut));
            frame("plain title", &mut glyphs, &mut cut);
        }
        times.sort_unstable();
        let _ = writeln!(
            out,
            "hostile title frame, {what}: first sight {:.2} ms; then p50 {:.1} µs, max {:.1} µs ({} frames; target 5 ms)",
            first as f64 / 1e6,
            times[times.len() / 2] as f64 / 1e3,
            times[times.len() - 1] as f64 / 1e3,
            times.len()
        );
    }
}

/// The calendar open. A tick on the same day: the local date
/// written and compared, nothing drawn. A tick on a new day (alternating
/// between the 24th and the 30th of November 2026: two week rows each time),
/// the reused buffer brought up to date. And a full redraw.
fn calendar_ticks(glyphs: &mut GlyphCache, scale: u32, n: usize) -> [Vec<u64>; 3] {
    use crate::render::calendar::{CalendarContent, CalendarRenderer};
    use crate::render::popup::{PopupLook, PopupSheet};
    let mut r = CalendarRenderer::new(PopupLook::default(), glyphs);
    r.set_scale(scale, glyphs);
    glyphs.warm(crate::render::glyphs::WARM_CHARS, r.font_px());
    let (w, h) = r.size();
    let mut bufs = [
        vec![0u8; (w * h * 4) as usize],
        vec![0u8; (w * h * 4) as usize],
    ];
    let mut shown = [0u64; 2];
    let mut rects: Vec<Rect> = Vec::with_capacity(MAX_SEGMENTS + 1);
    let mut content = CalendarContent::default();
    let wall = std::time::Duration::from_secs(1_795_608_000);
    let mut same = Vec::with_capacity(n);
    for _ in 0..(n + 4) {
        let t0 = Instant::now();
        crate::modules::calendar::write(black_box(wall), &mut content);
        let changed = r.update(&content);
        black_box(changed);
        same.push(t0.elapsed().as_nanos() as u64);
    }
    same.drain(..4);
    let mut new_day = Vec::with_capacity(n);
    for i in 0..(n + 4) {
        let t0 = Instant::now();
        let day = if i % 2 == 0 { 24 } else { 30 };
        let changed = r.update(&CalendarContent::new(2026, 11, day));
        let k = i % 2;
        let repaint = r.since(shown[k]);
        if let Some(mut c) = Canvas::new(&mut bufs[k], w, h) {
            r.paint(&mut c, repaint, glyphs);
        }
        shown[k] = r.frame();
        r.rects(changed, &mut rects);
        black_box(&rects);
        if i >= 4 {
            new_day.push(t0.elapsed().as_nanos() as u64);
        }
    }
    let mut full = Vec::with_capacity(n);
    for _ in 0..n {
        let t0 = Instant::now();
        r.invalidate();
        let mask = r.update(&CalendarContent::new(2026, 11, 25));
        if let Some(mut c) = Canvas::new(&mut bufs[0], w, h) {
            r.paint(&mut c, mask, glyphs);
        }
        black_box(&bufs[0]);
        full.push(t0.elapsed().as_nanos() as u64);
    }
    [same, new_day, full]
}

/// The popup open, every tick — new top lists written into its
/// content, diffed by line, the reused buffer brought up to date, damage
/// listed — and, apart, a full redraw of it.
fn popup_ticks(glyphs: &mut GlyphCache, scale: u32, n: usize) -> (Vec<u64>, Vec<u64>, (u32, u32)) {
    use crate::render::popup::{PopupContent, PopupLook, PopupRenderer};
    let mut r = PopupRenderer::new(PopupLook::default(), glyphs);
    r.set_scale(scale, glyphs);
    glyphs.warm(crate::render::glyphs::WARM_CHARS, r.font_px());
    glyphs.warm("\u{fffd}…", r.font_px());
    let (w, h) = r.size();
    let mut bufs = [
        vec![0u8; (w * h * 4) as usize],
        vec![0u8; (w * h * 4) as usize],
    ];
    let mut shown = [0u64; 2];
    let mut content = PopupContent::default();
    let mut rects: Vec<Rect> = Vec::with_capacity(MAX_SEGMENTS + 1);
    let mut steady = Vec::with_capacity(n);
    for i in 0..(n + 4) {
        let s = busy_sample(i);
        let t0 = Instant::now();
        crate::modules::top::write(&s, &mut content);
        let changed = r.update(&content);
        let k = i % 2;
        let repaint = r.since(shown[k]);
        if let Some(mut c) = Canvas::new(&mut bufs[k], w, h) {
            r.paint(&mut c, repaint, glyphs);
        }
        shown[k] = r.frame();
        r.rects(changed, &mut rects);
        black_box(&rects);
        let dt = t0.elapsed().as_nanos() as u64;
        if i >= 4 {
            steady.push(dt);
        }
    }
    let mut full = Vec::with_capacity(n);
    for _ in 0..n {
        let t0 = Instant::now();
        r.invalidate();
        let mask = r.update(&content);
        if let Some(mut c) = Canvas::new(&mut bufs[0], w, h) {
            r.paint(&mut c, mask, glyphs);
        }
        black_box(&bufs[0]);
        full.push(t0.elapsed().as_nanos() as u64);
    }
    (steady, full, (w, h))
}

/// The popup open on a quiet desktop: one process's figure changes a tick.
fn popup_one_row(glyphs: &mut GlyphCache, scale: u32, n: usize) -> Vec<u64> {
    use crate::render::popup::{PopupContent, PopupLook, PopupRenderer};
    use std::fmt::Write as _;
    let mut r = PopupRenderer::new(PopupLook::default(), glyphs);
    r.set_scale(scale, glyphs);
    glyphs.warm(crate::render::glyphs::WARM_CHARS, r.font_px());
    let (w, h) = r.size();
    let mut bufs = [
        vec![0u8; (w * h * 4) as usize],
        vec![0u8; (w * h * 4) as usize],
    ];
    let mut shown = [0u64; 2];
    let mut content = PopupContent::default();
    crate::modules::top::write(&busy_sample(0), &mut content);
    let mut rects: Vec<Rect> = Vec::with_capacity(MAX_SEGMENTS + 1);
    let mut times = Vec::with_capacity(n);
    for i in 0..(n + 4) {
        let t0 = Instant::now();
        let v = &mut content.tables[0].rows[0].value;
        v.clear();
        let _ = write!(v, "{:.1}%", (i % 1000) as f32 / 10.0);
        let changed = r.update(&content);
        let k = i % 2;
        let repaint = r.since(shown[k]);
        if let Some(mut c) = Canvas::new(&mut bufs[k], w, h) {
            r.paint(&mut c, repaint, glyphs);
        }
        shown[k] = r.frame();
        r.rects(changed, &mut rects);
        black_box(&rects);
        let dt = t0.elapsed().as_nanos() as u64;
        if i >= 4 {
            times.push(dt);
        }
    }
    times
}

/// A machine whose top processes' figures move every tick (so most rows
/// change, more than on a real, mostly idle, desktop).
fn busy_sample(i: usize) -> Sample {
    use crate::collect::sample::{Comm, ProcCpu, ProcIo, ProcMem};
    let mut s = sample(12.0);
    const NAMES: [&[u8]; 4] = [
        b"firefox-esr",
        b"cc1plus",
        b"kworker/u8:2",
        b"systemd-journal",
    ];
    for k in 0..8u64 {
        let pid = 300 + ((k + i as u64) % 11) as u32;
        let name = Comm::from_bytes(NAMES[k as usize % NAMES.len()]);
        let v = (i as u64 * 37 + k * 101) % 997 + 1;
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
                read_bytes_per_s: v << 12,
                write_bytes_per_s: v,
            },
        );
    }
    s
}

fn memset(size: (u32, u32), n: usize) -> Vec<u64> {
    let mut buf = vec![0u8; (size.0 * size.1 * 4) as usize];
    let mut times = Vec::with_capacity(n);
    for i in 0..n {
        let t0 = Instant::now();
        buf.fill(i as u8);
        black_box(&buf);
        times.push(t0.elapsed().as_nanos() as u64);
    }
    times
}

fn sample(cpu: f32) -> Sample {
    let mut s = Sample {
        cpu_percent: cpu,
        cores: 2,
        load: [0.42, 0.3, 0.2],
        ..Sample::default()
    };
    s.mem.total = 24 << 30;
    s.mem.used = 3 << 30;
    s.sensors.cpu_temp_c = Some(47.0);
    s
}

/// The bar these lines were first measured with (the clock and the health
/// module), pinned so the built-in layout can change without moving them.
const CLOCK_HEALTH: &str = "[bar]\ncenter = [\"clock\"]\nright = [\"health\"]\n";

fn modules() -> Modules {
    match crate::modules::registry::parse(CLOCK_HEALTH, "bench.toml", None) {
        Ok(c) => Modules::from_config(&c, Instant::now()),
        Err(e) => {
            eprintln!("rstat: the bench config is invalid: {e}");
            Modules::default()
        }
    }
}

/// Twelve modules in a theme's clothes: a box on every module (background,
/// padding, margin, radius), a gradient, borders, an underline, per-state
/// colours and a hover style, one format with markup.
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
underline = { width = 2, color = "#89b4fa" }
[bar.style.warning]
color = "#f9e2af"
[bar.style.critical]
background = "#f38ba8"
color = "#1e1e2e"
[module.cpu]
format = "<b>CPU</b> {usage:>3.0}%"
[module.cpu.style]
background = { from = "#89b4fa", to = "#cba6f7", angle = 90 }
color = "#1e1e2e"
[module."cpu#freq"]
format = "{freq_ghz:.1} GHz"
[module.memory.style]
border = { width = 1, color = "#a6e3a1" }
[module."memory#swap"]
format = "SWAP {swap_percent:>3.0}%"
[module."clock#date"]
format = "%a %d %b"
[module."load#5"]
format = "{load5:.2}"
[module."cpu#cores"]
format = "{cores} cores"
[module.disk.style]
radius = [0, 8, 8, 0]
"##;

fn styled_modules() -> Modules {
    match crate::modules::registry::parse(STYLED, "bench.toml", None) {
        Ok(c) => Modules::from_config(&c, Instant::now()),
        // A defect of this file, not of the machine: say so in the report.
        Err(e) => {
            eprintln!("rstat: the styled bench config is invalid: {e}");
            Modules::default()
        }
    }
}

/// A bar renderer drawing into two buffers that alternate, as the
/// compositor's release lets the bar do: each frame brings the reused
/// buffer up to date and lists the damage.
struct BarRig {
    r: Renderer,
    bufs: [Vec<u8>; 2],
    /// The renderer's frame number each buffer shows.
    shown: [u64; 2],
    rects: Vec<Rect>,
    w: u32,
    h: u32,
}

impl BarRig {
    fn new(look: Look, scale: u32) -> BarRig {
        let mut r = Renderer::new(look);
        r.resize(WIDTH, HEIGHT, scale);
        let (w, h) = r.size();
        let buf = || vec![0u8; (w * h * 4) as usize];
        BarRig {
            r,
            bufs: [buf(), buf()],
            shown: [0; 2],
            rects: Vec::with_capacity(MAX_SEGMENTS + 1),
            w,
            h,
        }
    }

    /// `segs` diffed, painted into buffer `k % 2` where it missed frames,
    /// the damage listed; the masks of what changed and what was repainted.
    fn frame(&mut self, segs: &[Segment], glyphs: &mut GlyphCache, k: usize) -> (Mask, Mask) {
        let changed = self.r.update(segs, glyphs);
        let k = k % 2;
        let repaint = self.r.since(self.shown[k]);
        if let Some(mut c) = Canvas::new(&mut self.bufs[k], self.w, self.h) {
            self.r.paint(&mut c, repaint, glyphs);
        }
        self.shown[k] = self.r.frame();
        self.r.rects(changed, &mut self.rects);
        black_box(&self.rects);
        (changed, repaint)
    }
}

/// The pointer moving from one module to the next on a styled bar: two
/// boxes restyled (left, entered), written, diffed, painted, damage listed.
fn hover_restyle(glyphs: &mut GlyphCache, scale: u32, n: usize) -> Vec<u64> {
    let mut m = styled_modules();
    let mut segs: Vec<Segment> = Vec::with_capacity(MAX_SEGMENTS);
    write(&mut m, &sample(12.0), &mut segs);
    let count = segs.len().max(1);
    let mut rig = BarRig::new(Look::default(), scale);
    let mut times = Vec::with_capacity(n);
    for i in 0..(n + 4) {
        let t0 = Instant::now();
        m.set_hover(Some(i % count));
        m.write(&mut segs);
        rig.frame(&segs, glyphs, i % 2);
        let dt = t0.elapsed().as_nanos() as u64;
        if i >= 4 {
            times.push(dt);
        }
    }
    times
}

/// The styled bar with its left modules in a drawer that slides.
fn sliding_modules() -> Modules {
    let text = STYLED.replacen(
        r#"left = ["cpu", "cpu#freq", "memory", "memory#swap"]"#,
        r#"left = ["group#d"]"#,
        1,
    ) + r##"
[module."group#d"]
modules = ["cpu", "cpu#freq", "memory", "memory#swap"]
drawer = { transition_ms = 300 }
[module."group#d".style]
background = "#1e1e2e"
padding = [0, 4]
radius = 8
"##;
    match crate::modules::registry::parse(&text, "bench.toml", None) {
        Ok(c) => Modules::from_config(&c, Instant::now()),
        Err(e) => {
            eprintln!("rstat: the sliding bench config is invalid: {e}");
            Modules::default()
        }
    }
}

/// One animation frame of a drawer sliding open or closed (the pointer
/// comes and goes every 20 frames of 16 ms): the slide moved on, written,
/// laid out, the moved columns painted in the buffer reused, damage
/// listed. Also the share of the bar's columns damaged, on average.
fn slide_frames(glyphs: &mut GlyphCache, scale: u32, n: usize) -> (Vec<u64>, f64) {
    let mut m = sliding_modules();
    let mut segs: Vec<Segment> = Vec::with_capacity(MAX_SEGMENTS);
    write(&mut m, &sample(12.0), &mut segs);
    let mut rig = BarRig::new(Look::default(), scale);
    let mut times = Vec::with_capacity(n);
    let (mut cols, mut frames) = (0u64, 0u64);
    let start = Instant::now();
    let mut i = 0u64;
    while times.len() < n {
        if i % 20 == 0 {
            m.set_hover(((i / 20) % 2 == 0).then_some(0));
        }
        let at = start + std::time::Duration::from_millis(16 * i);
        i += 1;
        if !m.sliding() {
            continue;
        }
        let t0 = Instant::now();
        m.animate(at);
        m.write(&mut segs);
        rig.frame(&segs, glyphs, (i % 2) as usize);
        let dt = t0.elapsed().as_nanos() as u64;
        if i > 40 {
            times.push(dt);
            cols += rig.rects.iter().map(|r| r.w.max(0) as u64).sum::<u64>();
            frames += 1;
        }
    }
    (times, cols as f64 / (frames.max(1) * rig.w as u64) as f64)
}

/// The modules' segments for `s` (every module updated, as on a tick where
/// all are due), at a fixed wall-clock time.
fn write(m: &mut Modules, s: &Sample, segs: &mut Vec<Segment>) {
    let cx = Context {
        now: Instant::now(),
        wall: std::time::Duration::from_secs(1_764_092_520),
        sample: s,
    };
    m.update_all(&cx);
    m.write(segs);
}

/// Modules write a sample whose CPU figure changed, the renderer diffs,
/// paints what the reused buffer missed (two buffers alternate) and lists
/// the damage rectangles: the whole userspace cost of a tick but sampling.
fn steady_tick(
    glyphs: &mut GlyphCache,
    scale: u32,
    n: usize,
    mut m: Modules,
    look: Look,
) -> (Vec<u64>, usize) {
    let mut rig = BarRig::new(look, scale);
    let mut segs: Vec<Segment> = Vec::with_capacity(MAX_SEGMENTS);
    let mut times = Vec::with_capacity(n);
    // Settle: first frames are full redraws into each buffer.
    for i in 0..(n + 4) {
        let t0 = Instant::now();
        write(&mut m, &sample((i % 100) as f32), &mut segs);
        rig.frame(&segs, glyphs, i % 2);
        let dt = t0.elapsed().as_nanos() as u64;
        if i >= 4 {
            times.push(dt);
        }
    }
    (times, segs.len())
}

/// The default modules as islands (`[bar.style]`), the health module's
/// inside a group's box, on a floating rounded bar (`[bar.style.bar]`).
const THEMED: &str = r##"
[bar]
center = ["clock"]
right = ["group#sys"]
[bar.style]
background = "#2050a0"
radius = 8
margin = [3, 4]
[bar.style.bar]
margin = [6, 8]
radius = 12
border = { width = 1, color = "#808080" }
[module."group#sys"]
modules = ["health"]
[module."group#sys".style]
background = "#806020"
radius = 10
padding = [0, 6]
"##;

/// What a quiet desktop's sampler reads at second `i`: the CPU figure
/// moves every second (now and then a spike past the warning and critical
/// levels), the mean frequency every few seconds, the temperature every
/// seven, memory drifts by megabytes (its one-decimal GiB figure changes
/// every ten seconds or so), the load averages change every five seconds
/// (the kernel's period), swap never.
fn desk_sample(i: u64, s: &mut Sample) {
    // A fixed pseudo-random sequence (splitmix64), the same every run.
    let h = |k: u64| {
        let mut z = k.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    s.cores = 8;
    s.cpu_percent = if i % 97 == 50 {
        75.0 + (h(i) % 20) as f32
    } else {
        2.0 + (h(i) % 2300) as f32 / 100.0
    };
    const FREQ: [u32; 5] = [1200, 2400, 2400, 3100, 3500];
    s.sensors.cpu_freq_mhz = Some(FREQ[(h(i / 3 + 7) % 5) as usize]);
    s.sensors.cpu_temp_c = Some(45.0 + (h(i / 7 + 11) % 6) as f32);
    s.mem.total = 16 << 30;
    // A triangle over four minutes, 0 to 240 MiB above 3 GiB.
    let t = i % 240;
    let drift = if t < 120 { t } else { 240 - t };
    s.mem.used = (3 << 30) + drift * (2 << 20);
    s.mem.available = s.mem.total - s.mem.used;
    let l = i / 5;
    s.load = [
        0.30 + (h(l + 13) % 40) as f32 / 100.0,
        0.40 + (h(l / 3 + 17) % 10) as f32 / 100.0,
        0.45 + (h(l / 12 + 19) % 4) as f32 / 100.0,
    ];
}

/// The [`STYLED`] bar on a desktop, one tick a second as the bar runs it:
/// the sample of that second ([`desk_sample`]), the modules due then
/// updated (each on its own interval: the clock each minute, the load
/// every five seconds, the disk every thirty, its `statvfs` real), their
/// segments written when any changed, diffed, what the reused buffer missed
/// painted, damage listed. The clocks are simulated (one second a tick), so
/// the clock's and the date's text change as they would. Returns the
/// times, the segment count and the mean counts of segments changed and
/// repainted a tick.
fn desk_ticks(glyphs: &mut GlyphCache, scale: u32, n: usize) -> (Vec<u64>, usize, [f64; 2]) {
    let Ok(cfg) = crate::modules::registry::parse(STYLED, "bench.toml", None) else {
        return (vec![0], 0, [0.0; 2]);
    };
    let start = Instant::now();
    let mut m = Modules::from_config(&cfg, start);
    let mut rig = BarRig::new(Look::default(), scale);
    let mut segs: Vec<Segment> = Vec::with_capacity(MAX_SEGMENTS);
    let mut s = sample(0.0);
    let mut times = Vec::with_capacity(n);
    let (mut changes, mut painted) = (0u64, 0u64);
    // 14:22:00 UTC on a Tuesday: the minute turns every 60 ticks.
    let wall0 = std::time::Duration::from_secs(1_764_080_520);
    // Settle: the first frames are full redraws into each buffer.
    const SETTLE: usize = 4;
    for i in 0..(n + SETTLE) {
        let sec = std::time::Duration::from_secs(i as u64);
        desk_sample(i as u64, &mut s);
        let cx = Context {
            now: start + sec,
            wall: wall0 + sec,
            sample: &s,
        };
        let t0 = Instant::now();
        if m.update_due(&cx) {
            m.write(&mut segs);
        }
        let (changed, repaint) = rig.frame(&segs, glyphs, i % 2);
        let dt = t0.elapsed().as_nanos() as u64;
        if i >= SETTLE {
            times.push(dt);
            let count = |m: crate::render::Mask| match m.full {
                true => segs.len() as u64,
                false => m.bits.count_ones() as u64,
            };
            changes += count(changed);
            painted += count(repaint);
        }
    }
    let per_tick = |c: u64| c as f64 / n as f64;
    (times, segs.len(), [per_tick(changes), per_tick(painted)])
}

/// [`steady_tick`] of the [`THEMED`] bar.
fn steady_tick_themed(glyphs: &mut GlyphCache, scale: u32, n: usize) -> (Vec<u64>, usize) {
    let Ok(cfg) = crate::modules::registry::parse(THEMED, "bench", None) else {
        return (vec![0], 0);
    };
    let m = Modules::from_config(&cfg, Instant::now());
    steady_tick(glyphs, scale, n, m, super::settings::look(&cfg.bar))
}

fn full_redraw(glyphs: &mut GlyphCache, scale: u32, n: usize) -> Vec<u64> {
    let mut m = modules();
    let mut segs = Vec::with_capacity(MAX_SEGMENTS);
    write(&mut m, &sample(12.0), &mut segs);
    let mut r = Renderer::new(Look::default());
    r.resize(WIDTH, HEIGHT, scale);
    let (w, h) = r.size();
    let mut buf = vec![0u8; (w * h * 4) as usize];
    let mut times = Vec::with_capacity(n);
    for i in 0..(n + 2) {
        let t0 = Instant::now();
        r.invalidate();
        let mask = r.update(&segs, glyphs);
        if let Some(mut c) = Canvas::new(&mut buf, w, h) {
            r.paint(&mut c, mask, glyphs);
        }
        black_box(&buf);
        let dt = t0.elapsed().as_nanos() as u64;
        if i >= 2 {
            times.push(dt);
        }
    }
    times
}

/// The floor: a memset of the same buffer (what any full repaint costs at least).
fn baseline_fill(scale: u32, n: usize) -> Vec<u64> {
    let (w, h) = (WIDTH * scale, HEIGHT * scale);
    let mut buf = vec![0u8; (w * h * 4) as usize];
    let mut times = Vec::with_capacity(n);
    for i in 0..n {
        let t0 = Instant::now();
        buf.fill(i as u8);
        black_box(&buf);
        times.push(t0.elapsed().as_nanos() as u64);
    }
    times
}

fn line(out: &mut String, what: &str, times: &[u64]) {
    let mut t = times.to_vec();
    t.sort_unstable();
    let avg = t.iter().sum::<u64>() as f64 / t.len().max(1) as f64;
    let pct = |p: f64| t[((t.len() - 1) as f64 * p).round() as usize] as f64;
    let _ = writeln!(
        out,
        "{what}: avg {:.1} µs, p50 {:.1} µs, p95 {:.1} µs",
        avg / 1e3,
        pct(0.5) / 1e3,
        pct(0.95) / 1e3
    );
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_styled_bench_config_is_valid_and_has_twelve_modules() {
        let c = crate::modules::registry::parse(super::STYLED, "bench.toml", None)
            .unwrap_or_else(|e| panic!("{e}"));
        let m = crate::modules::Modules::from_config(&c, std::time::Instant::now());
        assert_eq!(m.len(), 12);
    }

    #[test]
    fn the_sliding_bench_slides() {
        let mut m = super::sliding_modules();
        assert_eq!(m.len(), 12);
        let mut segs = Vec::new();
        super::write(&mut m, &super::sample(12.0), &mut segs);
        m.set_hover(Some(0));
        assert!(m.sliding());
        let (times, damaged) =
            super::slide_frames(&mut crate::render::GlyphCache::with_default_font(), 1, 30);
        assert_eq!(times.len(), 30);
        assert!(damaged > 0.0 && damaged < 0.5, "{damaged}");
    }
}
