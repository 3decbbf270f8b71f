//! The clock's calendar popup without a compositor: the date
//! arithmetic against libc's own calendar, the grid of known months (first
//! weekday column, number of week rows, leap Februaries, months starting on
//! Monday or Sunday, six-week months), today's cell inverted, and partial
//! redraws when the day changes equal to a full redraw.

use rstat::render::calendar::{
    days_from_civil, days_in_month, is_leap, weekday, CalendarContent, CalendarRenderer,
    CALENDAR_LINES, CALENDAR_WEEKS,
};
use rstat::render::glyphs::GlyphCache;
use rstat::render::popup::{PopupLook, PopupSheet};
use rstat::render::{Canvas, Mask, Rect};

fn full(r: &mut CalendarRenderer, c: &CalendarContent, g: &mut GlyphCache) -> Vec<u8> {
    let (w, h) = r.size();
    let mut px = vec![0u8; (w * h * 4) as usize];
    r.invalidate();
    let m = r.update(c);
    assert!(m.full);
    r.paint(&mut Canvas::new(&mut px, w, h).unwrap(), m, g);
    px
}

fn px_at(px: &[u8], width: u32, x: i32, y: i32) -> [u8; 4] {
    let i = (y as usize * width as usize + x as usize) * 4;
    [px[i], px[i + 1], px[i + 2], px[i + 3]]
}

/// Pixels in `r` that are not `bg`.
fn ink(px: &[u8], width: u32, r: Rect, bg: [u8; 4]) -> usize {
    let mut n = 0;
    for y in r.y..r.y + r.h {
        for x in r.x..r.x + r.w {
            if px_at(px, width, x, y) != bg {
                n += 1;
            }
        }
    }
    n
}

#[test]
fn date_arithmetic_agrees_with_libc_for_three_centuries() {
    // Every day from 1900-01-01 to 2199-12-31, as gmtime_r sees it.
    let first = days_from_civil(1900, 1, 1);
    let last = days_from_civil(2199, 12, 31);
    assert_eq!(first, -25_567);
    for d in first..=last {
        let t = (d * 86_400) as libc::time_t;
        // SAFETY: an all-zero tm is valid; gmtime_r writes only into it.
        let mut tm: libc::tm = unsafe { std::mem::zeroed() };
        assert!(!unsafe { libc::gmtime_r(&t, &mut tm) }.is_null());
        let (y, m, day) = (tm.tm_year + 1900, (tm.tm_mon + 1) as u8, tm.tm_mday as u8);
        assert_eq!(days_from_civil(y, m, day), d, "{y}-{m}-{day}");
        assert_eq!(
            weekday(y, m, day) as i32,
            (tm.tm_wday + 6) % 7,
            "{y}-{m}-{day}"
        );
        assert!(day <= days_in_month(y, m), "{y}-{m}-{day}");
    }
}

#[test]
fn leap_years_and_februaries() {
    assert!(is_leap(2024) && is_leap(2000) && is_leap(2400));
    assert!(!is_leap(2023) && !is_leap(2100) && !is_leap(1900));
    let feb = |y| CalendarContent::new(y, 2, 0);
    assert_eq!(feb(2024).days(), 29);
    assert_eq!(feb(2023).days(), 28);
    assert_eq!(feb(2100).days(), 28);
    // February 2024 starts on a Thursday: 3 + 29 days → 5 weeks, the 29th a Thursday.
    assert_eq!((feb(2024).first_weekday(), feb(2024).weeks()), (3, 5));
    assert_eq!(feb(2024).day_at(4, 3), Some(29));
    assert_eq!(feb(2024).day_at(4, 4), None);
    // February 2027 starts on a Monday and fills exactly four weeks.
    assert_eq!((feb(2027).first_weekday(), feb(2027).weeks()), (0, 4));
    assert_eq!(feb(2027).day_at(3, 6), Some(28));
}

#[test]
fn the_grid_of_known_months() {
    // (year, month, first weekday Mon=0, days, weeks)
    let known = [
        (2026, 11, 6, 30, 6), // starts on a Sunday: six weeks
        (2026, 3, 6, 31, 6),
        (2026, 8, 5, 31, 6), // a Saturday and 31 days: six weeks
        (2026, 6, 0, 30, 5), // starts on a Monday
        (2025, 9, 0, 30, 5),
        (2023, 2, 2, 28, 5),
    ];
    for (y, m, first, days, weeks) in known {
        let c = CalendarContent::new(y, m, 1);
        assert_eq!(c.first_weekday(), first, "{y}-{m}");
        assert_eq!(c.days(), days, "{y}-{m}");
        assert_eq!(c.weeks(), weeks, "{y}-{m}");
        assert_eq!(c.day_at(0, first as usize), Some(1), "{y}-{m}");
        assert_eq!(c.today_cell(), Some((0, first as usize)), "{y}-{m}");
        for col in 0..first as usize {
            assert_eq!(c.day_at(0, col), None, "{y}-{m}");
        }
        // Every day appears exactly once, in order.
        let all: Vec<u8> = (0..CALENDAR_WEEKS)
            .flat_map(|r| (0..7).filter_map(move |col| c.day_at(r, col)))
            .collect();
        assert_eq!(all, (1..=days).collect::<Vec<_>>(), "{y}-{m}");
    }
    assert_eq!(CalendarContent::default().weeks(), 0);
    assert!(CalendarContent::new(2026, 13, 1).today_cell().is_none());
}

#[test]
fn draws_the_month_with_today_inverted() {
    let mut g = GlyphCache::with_default_font();
    let look = PopupLook::default();
    let bg = look.background.premultiplied();
    let accent = look.accent.premultiplied();
    for scale in [1, 2] {
        let mut r = CalendarRenderer::new(look, &mut g);
        r.set_scale(scale, &mut g);
        let (w, h) = r.size();
        // November 2026, today the 25th: first column Sunday, six rows.
        let c = CalendarContent::new(2026, 11, 25);
        let px = full(&mut r, &c, &mut g);
        // The border is accent, the inside background.
        assert_eq!(px_at(&px, w, 0, 0), accent);
        assert_eq!(px_at(&px, w, w as i32 - 1, h as i32 - 1), accent);
        // Title and header have text.
        for line in 0..2 {
            assert!(ink(&px, w, r.line_rect(line), bg) > 20, "line {line}");
        }
        let (trow, tcol) = c.today_cell().unwrap();
        assert_eq!((trow, tcol), (4, 2));
        for row in 0..CALENDAR_WEEKS {
            for col in 0..7 {
                let cell = r.cell_rect(row, col);
                let n = ink(&px, w, cell, bg);
                match c.day_at(row, col) {
                    _ if (row, col) == (trow, tcol) => {
                        // Inverted: an accent box with text in the background colour.
                        assert_eq!(px_at(&px, w, cell.x, cell.y), accent);
                        let box_ink = ink(&px, w, cell, accent);
                        assert!(box_ink > 5 && box_ink < n, "today's digits show");
                    }
                    Some(_) => {
                        assert!(n > 5, "day at ({row},{col}) drawn");
                        assert_eq!(px_at(&px, w, cell.x, cell.y), bg);
                    }
                    None => assert_eq!(n, 0, "({row},{col}) is blank"),
                }
            }
        }
    }
}

#[test]
fn the_size_does_not_depend_on_the_month() {
    let mut g = GlyphCache::with_default_font();
    let mut r = CalendarRenderer::new(PopupLook::default(), &mut g);
    let size = r.size();
    assert!(size.0 > 100 && size.1 > 100, "{size:?}");
    for m in 1..=12 {
        r.update(&CalendarContent::new(2027, m, 1));
        assert_eq!(r.size(), size);
    }
    // At scale 2 the glyphs are measured anew: about, not exactly, the same.
    r.set_scale(2, &mut g);
    let (lw, lh) = r.logical_size();
    assert!(lw.abs_diff(size.0) * 10 < size.0 && lh.abs_diff(size.1) * 10 < size.1);
    assert_eq!(r.size(), (lw * 2, lh * 2));
}

#[test]
fn a_new_day_repaints_only_its_rows_and_matches_a_full_redraw() {
    let mut g = GlyphCache::with_default_font();
    let mut r = CalendarRenderer::new(PopupLook::default(), &mut g);
    let (w, h) = r.size();
    let mut px = vec![0u8; (w * h * 4) as usize];
    let mut paint = |r: &mut CalendarRenderer, c: &CalendarContent, g: &mut GlyphCache| {
        let m = r.update(c);
        r.paint(&mut Canvas::new(&mut px, w, h).unwrap(), m, g);
        (m, px.clone())
    };
    let day = |d| CalendarContent::new(2026, 11, d);
    paint(&mut r, &day(24), &mut g);
    // The same day again: nothing.
    let (m, _) = paint(&mut r, &day(24), &mut g);
    assert!(m.is_empty());
    // Tuesday 24 → Wednesday 25: the same week row.
    let (m, got) = paint(&mut r, &day(25), &mut g);
    let mut want = Mask::EMPTY;
    want.set(2 + 4);
    assert_eq!(m, want);
    assert!(
        got == full(
            &mut CalendarRenderer::new(PopupLook::default(), &mut g),
            &day(25),
            &mut g
        )
    );
    // Sunday 29 → Monday 30: two rows.
    paint(&mut r, &day(29), &mut g);
    let (m, got) = paint(&mut r, &day(30), &mut g);
    let mut want = Mask::EMPTY;
    want.set(2 + 4);
    want.set(2 + 5);
    assert_eq!(m, want);
    assert!(
        got == full(
            &mut CalendarRenderer::new(PopupLook::default(), &mut g),
            &day(30),
            &mut g
        )
    );
    // A new month: the title and the weeks, not the header.
    let (m, got) = paint(&mut r, &CalendarContent::new(2026, 12, 1), &mut g);
    assert!(!m.full && m.contains(0) && !m.contains(1));
    assert!((2..CALENDAR_LINES).all(|i| m.contains(i)));
    let fresh = full(
        &mut CalendarRenderer::new(PopupLook::default(), &mut g),
        &CalendarContent::new(2026, 12, 1),
        &mut g,
    );
    assert!(got == fresh, "partial redraw equals a full one");
}
