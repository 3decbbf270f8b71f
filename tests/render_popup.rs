//! The popup's content without a compositor: the right names and
//! values in the right rows for a given `Sample`, hostile process names that
//! neither panic nor push a column out of line, and row-level partial
//! redraws equal to a full redraw.
//!
//! Text is checked by pixels: each expected string is drawn glyph by glyph
//! from the same glyph cache at the column's position into a blank canvas,
//! and the renderer's cell must match it exactly.

use rstat::collect::sample::{Comm, ProcCpu, ProcIo, ProcMem};
use rstat::collect::Sample;
use rstat::modules::top;
use rstat::render::glyphs::GlyphCache;
use rstat::render::popup::{PopupContent, PopupLook, PopupRenderer, POPUP_ROWS};
use rstat::render::{Canvas, Mask, Rect, Text};

fn sample() -> Sample {
    let mut s = Sample::default();
    let cpu: [(u32, &[u8], f32); 3] = [
        (101, b"cc1plus", 87.5),
        (7, b"rustc", 12.25),
        (4242, b"sh", 0.4),
    ];
    for (pid, name, pct) in cpu {
        s.top_cpu.offer(
            (pct * 1000.0) as u64,
            ProcCpu {
                pid,
                name: Comm::from_bytes(name),
                cpu_percent: pct,
            },
        );
    }
    let mem: [(u32, &[u8], u64); 2] = [(55, b"firefox-esr", 3 << 30), (1, b"systemd", 12 << 20)];
    for (pid, name, rss) in mem {
        s.top_mem.offer(
            rss,
            ProcMem {
                pid,
                name: Comm::from_bytes(name),
                rss_bytes: rss,
            },
        );
    }
    s.top_io.offer(
        1,
        ProcIo {
            pid: 999,
            name: Comm::from_bytes(b"dd"),
            read_bytes_per_s: 0,
            write_bytes_per_s: 200 << 20,
        },
    );
    s
}

fn full(r: &mut PopupRenderer, c: &PopupContent, g: &mut GlyphCache) -> Vec<u8> {
    let (w, h) = r.size();
    let mut px = vec![0u8; (w * h * 4) as usize];
    r.invalidate();
    let m = r.update(c);
    assert!(m.full);
    r.paint(&mut Canvas::new(&mut px, w, h).unwrap(), m, g);
    px
}

/// `text` drawn the plain way, from `x` on line `line`'s baseline, clipped to
/// `cell`, over the popup background: what the cell must look like.
fn reference(
    r: &PopupRenderer,
    g: &mut GlyphCache,
    text: &str,
    x: i32,
    line: usize,
    cell: Rect,
    fg: rstat::render::Rgba,
) -> Vec<u8> {
    let (w, h) = r.size();
    let look = PopupLook::default();
    let mut px = vec![0u8; (w * h * 4) as usize];
    let mut c = Canvas::new(&mut px, w, h).unwrap();
    c.fill(cell, look.background.premultiplied());
    let mut pen = x;
    for ch in text.chars() {
        let gl = g.glyph(ch, r.font_px());
        c.draw_glyph(gl, pen, r.baseline_of(line), fg.premultiplied(), cell);
        pen += gl.advance;
    }
    px
}

fn cell_of(px: &[u8], width: u32, cell: Rect) -> Vec<u8> {
    let mut out = Vec::new();
    for y in cell.y..cell.y + cell.h {
        let row = (y as usize * width as usize + cell.x as usize) * 4;
        out.extend_from_slice(&px[row..row + cell.w as usize * 4]);
    }
    out
}

/// Asserts line `line`'s name cell shows `name` and its value cell `value`
/// (right-aligned), pixel for pixel.
fn assert_row(
    r: &PopupRenderer,
    g: &mut GlyphCache,
    px: &[u8],
    line: usize,
    name: &str,
    value: &str,
) {
    let (w, _) = r.size();
    let look = PopupLook::default();
    let l = r.line_rect(line);
    let (_, name_x, name_end, value_end) = r.columns();
    let name_cell = Rect::new(name_x, l.y, name_end - name_x, l.h);
    let want = reference(r, g, name, name_x, line, name_cell, look.foreground);
    assert!(
        cell_of(px, w, name_cell) == cell_of(&want, w, name_cell),
        "line {line}: the name cell does not show {name:?}"
    );
    let vw = g.text_width(value, r.font_px());
    let value_cell = Rect::new(name_end, l.y, value_end - name_end, l.h);
    let want = reference(
        r,
        g,
        value,
        value_end - vw,
        line,
        value_cell,
        look.foreground,
    );
    assert!(
        cell_of(px, w, value_cell) == cell_of(&want, w, value_cell),
        "line {line}: the value cell does not show {value:?}"
    );
}

fn line_of(table: usize, row: usize) -> usize {
    table * (1 + POPUP_ROWS) + 1 + row
}

#[test]
fn rows_show_the_samples_names_and_values() {
    let mut g = GlyphCache::with_default_font();
    let mut c = PopupContent::default();
    top::write(&sample(), &mut c);
    for scale in [1, 2] {
        let mut r = PopupRenderer::new(PopupLook::default(), &mut g);
        r.set_scale(scale, &mut g);
        let (w, h) = r.size();
        assert_eq!((w % scale, h % scale), (0, 0), "whole logical pixels");
        let px = full(&mut r, &c, &mut g);
        let rows = [
            (line_of(0, 0), "cc1plus", "87.5%"),
            (line_of(0, 1), "rustc", "12.2%"),
            (line_of(0, 2), "sh", "0.4%"),
            (line_of(1, 0), "firefox-esr", "3.0 GiB"),
            (line_of(1, 1), "systemd", "12.0 MiB"),
            (line_of(2, 0), "dd", "200.0 MiB/s"),
        ];
        for (line, name, value) in rows {
            assert_row(&r, &mut g, &px, line, name, value);
        }
        // An empty table says so, dim, in its first row.
        let mut empty = PopupContent::default();
        top::write(&Sample::default(), &mut empty);
        let pe = full(&mut r, &empty, &mut g);
        let l = r.line_rect(line_of(2, 0));
        let (_, name_x, _, value_end) = r.columns();
        let note = Rect::new(name_x, l.y, value_end - name_x, l.h);
        let want = reference(
            &r,
            &mut g,
            top::NONE,
            name_x,
            line_of(2, 0),
            note,
            PopupLook::default().dim,
        );
        assert!(
            cell_of(&pe, w, note) == cell_of(&want, w, note),
            "the empty IO table says none"
        );
        // Rows past the list are blank.
        let blank = r.line_rect(line_of(0, 3));
        let bg = PopupLook::default().background.premultiplied();
        assert!(cell_of(&px, w, blank).chunks_exact(4).all(|p| p == bg));
    }
}

#[test]
fn hostile_names_neither_panic_nor_misalign() {
    let mut g = GlyphCache::with_default_font();
    let mut r = PopupRenderer::new(PopupLook::default(), &mut g);
    let names: [&[u8]; 5] = [
        "ñandú-über".as_bytes(),     // multibyte Latin, in the font
        "日本語プロセス".as_bytes(), // multibyte, not in the font (boxes), cut at 15 bytes
        b"a\tb\x1b[31m\n\x7f",       // control bytes
        b"\xff\xfe\xc3(\xe2\x82",    // invalid UTF-8
        b"systemd-journal",          // exactly the kernel's 15
    ];
    let mut plain = Sample::default();
    let mut hostile = Sample::default();
    for (i, n) in names.iter().enumerate() {
        let key = 100 - i as u64;
        let row = |name: &[u8]| ProcMem {
            pid: 10 + i as u32,
            name: Comm::from_bytes(name),
            rss_bytes: key << 20,
        };
        plain.top_mem.offer(key, row(b"x"));
        hostile.top_mem.offer(key, row(n));
    }
    let (mut a, mut b) = (PopupContent::default(), PopupContent::default());
    top::write(&plain, &mut a);
    top::write(&hostile, &mut b);
    for scale in [1, 2] {
        r.set_scale(scale, &mut g);
        let (w, _) = r.size();
        let pa = full(&mut r, &a, &mut g);
        let pb = full(&mut r, &b, &mut g);
        // Every pixel outside the name cells is the same: no name moved a
        // pid, a value or another row.
        let (_, name_x, name_end, _) = r.columns();
        for (i, (x, y)) in pa.chunks_exact(4).zip(pb.chunks_exact(4)).enumerate() {
            let (px, py) = ((i as u32 % w) as i32, (i as u32 / w) as i32);
            let in_name = (name_x..name_end).contains(&px)
                && (0..POPUP_ROWS).any(|k| r.line_rect(line_of(1, k)).contains(px, py));
            assert!(
                in_name || x == y,
                "scale {scale}: pixel ({px},{py}) changed"
            );
        }
        // The 15-character name is whole, no ellipsis.
        assert_row(
            &r,
            &mut g,
            &pb,
            line_of(1, 4),
            "systemd-journal",
            "96.0 MiB",
        );
        // Control bytes show as '?', invalid UTF-8 as U+FFFD.
        assert_row(&r, &mut g, &pb, line_of(1, 2), "a?b?[31m??", "98.0 MiB");
    }
}

#[test]
fn long_names_are_cut_by_characters_with_an_ellipsis() {
    let mut g = GlyphCache::with_default_font();
    let mut r = PopupRenderer::new(PopupLook::default(), &mut g);
    let mut c = PopupContent::default();
    c.tables[0].rows[0].pid = 1;
    // Longer than any kernel name (other sources may give full names).
    c.tables[0].rows[0].name = Text::new("ééééééééééééééééééééé");
    c.tables[0].rows[0].value = Text::new("1.0%");
    let px = full(&mut r, &c, &mut g);
    // The column holds 15: fourteen whole characters and the ellipsis.
    let want = format!("{}…", "é".repeat(14));
    assert_row(&r, &mut g, &px, line_of(0, 0), &want, "1.0%");
}

/// A reused buffer brought up to date by repainting what it missed equals a
/// full redraw, over many random updates; one changed row damages only it.
#[test]
fn partial_redraws_equal_a_full_redraw() {
    let mut g = GlyphCache::with_default_font();
    let mut r = PopupRenderer::new(PopupLook::default(), &mut g);
    let mut fresh = PopupRenderer::new(PopupLook::default(), &mut g);
    let (w, h) = r.size();
    let mut bufs = [
        vec![0u8; (w * h * 4) as usize],
        vec![0u8; (w * h * 4) as usize],
    ];
    let mut shown = [0u64; 2];
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut rnd = move |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    let mut s = sample();
    let mut c = PopupContent::default();
    for i in 0..1000 {
        // Change a few processes' figures (and so maybe the order).
        for _ in 0..rnd(3) {
            let pid = rnd(20) as u32 + 1;
            let pct = rnd(1000) as f32 / 10.0;
            s.top_cpu.clear();
            s.top_cpu.offer(
                (pct * 10.0) as u64 + 1,
                ProcCpu {
                    pid,
                    name: Comm::from_bytes(format!("p{pid}").as_bytes()),
                    cpu_percent: pct,
                },
            );
        }
        top::write(&s, &mut c);
        r.update(&c);
        let k = (i + rnd(2) as usize) % 2;
        let repaint = r.since(shown[k]);
        r.paint(
            &mut Canvas::new(&mut bufs[k], w, h).unwrap(),
            repaint,
            &mut g,
        );
        shown[k] = r.frame();
        if i % 97 == 0 {
            let want = full(&mut fresh, &c, &mut g);
            assert!(
                bufs[k] == want,
                "update {i}: partial redraw differs from full"
            );
        }
    }
    // One changed value: damage is that row's rectangle only.
    let mut c2 = c;
    c2.tables[1].rows[0].value = Text::new("9.9 GiB");
    let m = r.update(&c2);
    let mut rects = Vec::new();
    r.rects(m, &mut rects);
    assert_eq!(m, {
        let mut e = Mask::EMPTY;
        e.set(line_of(1, 0));
        e
    });
    assert_eq!(rects, vec![r.line_rect(line_of(1, 0))]);
}
