//! A context menu's pixels (the tray's dbusmenus): one column of rows per
//! menu level — labels, separators, disabled rows dimmed, check and radio
//! marks, an arrow on rows that open a submenu, the hovered row inverted in
//! the accent colour. Each level is its own popup surface (the submenu opens
//! beside its parent row), so a [`MenuLayout`] lays out one level.
//!
//! Menus are small and change only on hover or a new layout: every paint
//! redraws the whole level (no line diffing as in the health popup). A
//! level shows at most [`MAX_ROWS`] rows and a dim "… N more" after them, so
//! a hostile menu of thousands of entries cannot ask for a buffer taller
//! than any screen.

use super::glyphs::GlyphCache;
use super::layout::Rect;
use super::line::{self, Place};
use super::paint::Canvas;
use super::popup::PopupLook;

/// Rows shown per level; the rest are summed up in one dim row.
pub const MAX_ROWS: usize = 40;
/// Label width kept, in logical pixels (longer labels are cut).
const MAX_LABEL_PX: i32 = 480;

/// What the user did in a menu, for the module that showed it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MenuEvent {
    /// The enabled row with this peer id was clicked (the menu closed).
    Clicked(i32),
    /// The submenu of the row with this id is being shown.
    Opened(i32),
    /// The menu went away without a click (the compositor dismissed it,
    /// a click elsewhere, its bar went away).
    Dismissed,
}

/// A check or radio mark.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Mark {
    /// A plain row.
    #[default]
    None,
    /// A check box, ticked or not.
    Check(bool),
    /// A radio button, chosen or not.
    Radio(bool),
}

/// One menu row as the module hands it over (plain data).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MenuRow {
    /// The peer's id for the row (what a click reports).
    pub id: i32,
    /// Index of the row that opens this one's level; `None`: top level.
    pub parent: Option<usize>,
    /// The label, mnemonics already stripped.
    pub label: String,
    /// Clickable.
    pub enabled: bool,
    /// A separator line (no label, not clickable).
    pub separator: bool,
    /// Check or radio mark.
    pub mark: Mark,
    /// Opens a submenu of the rows whose parent it is.
    pub submenu: bool,
}

/// A whole menu: its rows (parents before children), or a note shown
/// instead when there are none ("menu unavailable: …").
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MenuContent {
    /// Every row of every level.
    pub rows: Vec<MenuRow>,
    /// Shown as one dim row when no row is.
    pub note: Option<String>,
}

impl MenuContent {
    /// The indices of `parent`'s rows (`None`: the top level).
    pub fn level(&self, parent: Option<usize>) -> impl Iterator<Item = usize> + '_ {
        self.rows
            .iter()
            .enumerate()
            .filter(move |(_, r)| r.parent == parent)
            .map(|(i, _)| i)
    }
}

/// What one line of a level is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Line {
    /// Row `i` of the content.
    Row(usize),
    /// "… N more".
    More(usize),
    /// The content's note.
    Note,
}

/// One level laid out at an integer scale, in buffer pixels.
#[derive(Clone, Debug)]
pub struct MenuLayout {
    parent: Option<usize>,
    lines: Vec<(Line, Rect)>,
    width: u32,
    height: u32,
    scale: u32,
    font_px: u16,
    baseline: i32,
    /// Left of the label (after the mark column).
    label_x: i32,
    label_w: i32,
    look: PopupLook,
}

impl MenuLayout {
    /// Lays out the rows of level `parent` of `content` at `scale`.
    pub fn new(
        content: &MenuContent,
        parent: Option<usize>,
        look: PopupLook,
        scale: u32,
        glyphs: &mut GlyphCache,
    ) -> MenuLayout {
        let scale = scale.max(1);
        let s = scale as i32;
        let font_px = ((look.font_px * scale as f32).round() as u16).max(1);
        let lm = glyphs.line_metrics(font_px);
        let pad = look.padding as i32 * s / 2;
        let row_pad = 3 * s;
        let row_h = lm.ascent + lm.descent + 2 * row_pad;
        let sep_h = 7 * s;
        let border = s;
        let mark_w = font_px as i32;
        let arrow_w = font_px as i32;
        let mut lines: Vec<Line> = Vec::new();
        let mut shown = 0;
        let mut more = 0;
        for i in content.level(parent) {
            if shown < MAX_ROWS {
                lines.push(Line::Row(i));
                shown += 1;
            } else {
                more += 1;
            }
        }
        if more > 0 {
            lines.push(Line::More(more));
        }
        if lines.is_empty() {
            lines.push(Line::Note);
        }
        let mut label_w = 0;
        for l in &lines {
            let w = match *l {
                Line::Row(i) => glyphs.text_width(&content.rows[i].label, font_px),
                Line::More(n) => glyphs.text_width(&more_text(n), font_px),
                Line::Note => glyphs.text_width(note_text(content), font_px),
            };
            label_w = label_w.max(w);
        }
        label_w = label_w.clamp(8 * font_px as i32, MAX_LABEL_PX * s);
        let left = border + pad;
        let width = left + mark_w + label_w + arrow_w + pad + border;
        let mut y = border + pad;
        let mut out = Vec::with_capacity(lines.len());
        for l in lines {
            let sep = matches!(l, Line::Row(i) if content.rows[i].separator);
            let h = if sep { sep_h } else { row_h };
            out.push((l, Rect::new(border, y, width - 2 * border, h)));
            y += h;
        }
        let height = y + pad + border;
        let round_up = |v: i32| ((v + s - 1) / s * s) as u32;
        MenuLayout {
            parent,
            lines: out,
            width: round_up(width),
            height: round_up(height),
            scale,
            font_px,
            baseline: row_pad + lm.ascent,
            label_x: left + mark_w,
            label_w,
            look,
        }
    }

    /// The level it lays out (the row that opens it; `None`: the top).
    pub fn parent(&self) -> Option<usize> {
        self.parent
    }

    /// Buffer size in pixels.
    pub fn size(&self) -> (u32, u32) {
        (self.width, self.height)
    }

    /// Size in logical pixels.
    pub fn logical_size(&self) -> (u32, u32) {
        (self.width / self.scale, self.height / self.scale)
    }

    /// The integer scale laid out for.
    pub fn scale(&self) -> u32 {
        self.scale
    }

    /// The font size in buffer pixels.
    pub fn font_px(&self) -> u16 {
        self.font_px
    }

    /// The content row at logical (`x`, `y`), if a row (not a separator,
    /// the note or the "more" line) is there.
    pub fn row_at(&self, content: &MenuContent, x: i32, y: i32) -> Option<usize> {
        let (bx, by) = (x * self.scale as i32, y * self.scale as i32);
        self.lines.iter().find_map(|(l, r)| match *l {
            Line::Row(i) if r.contains(bx, by) && !content.rows.get(i)?.separator => Some(i),
            _ => None,
        })
    }

    /// The logical rectangle of content row `row` in this level (what a
    /// submenu is anchored to).
    pub fn row_rect(&self, row: usize) -> Option<Rect> {
        let s = self.scale as i32;
        self.lines.iter().find_map(|(l, r)| {
            (*l == Line::Row(row)).then(|| Rect::new(r.x / s, r.y / s, r.w / s, r.h / s))
        })
    }

    /// Paints the whole level, row `hovered` (a content index) highlighted.
    pub fn paint(
        &self,
        canvas: &mut Canvas,
        content: &MenuContent,
        hovered: Option<usize>,
        glyphs: &mut GlyphCache,
    ) {
        let look = &self.look;
        let (w, h) = (self.width as i32, self.height as i32);
        let s = self.scale as i32;
        let all = Rect::new(0, 0, w, h);
        canvas.fill(all, look.accent.premultiplied());
        canvas.fill(
            Rect::new(s, s, w - 2 * s, h - 2 * s),
            look.background.premultiplied(),
        );
        for &(line, r) in &self.lines {
            let (text, color) = match line {
                Line::More(n) => (more_text(n), look.dim),
                Line::Note => (note_text(content).to_string(), look.dim),
                Line::Row(i) => {
                    let Some(row) = content.rows.get(i) else {
                        continue;
                    };
                    if row.separator {
                        let y = r.y + r.h / 2;
                        let line = Rect::new(r.x + 4 * s, y, r.w - 8 * s, s);
                        canvas.fill(line, look.dim.premultiplied());
                        continue;
                    }
                    let on = hovered == Some(i) && row.enabled;
                    let fg = if !row.enabled {
                        look.dim
                    } else if on {
                        look.background
                    } else {
                        look.foreground
                    };
                    if on {
                        canvas.fill(r, look.accent.premultiplied());
                    }
                    self.mark(canvas, r, row.mark, fg.premultiplied());
                    if row.submenu {
                        self.arrow(canvas, r, fg.premultiplied());
                    }
                    (row.label.clone(), fg)
                }
            };
            let clip = Rect::new(self.label_x, r.y, self.label_w, r.h);
            let at = Place::Left(self.label_x);
            let (base, fg) = (r.y + self.baseline, color.premultiplied());
            line::draw(
                canvas,
                glyphs,
                &text,
                self.font_px,
                at,
                base,
                fg,
                clip,
                true,
            );
        }
    }

    /// A check box or radio button in the mark column of row `r`.
    fn mark(&self, canvas: &mut Canvas, r: Rect, mark: Mark, color: [u8; 4]) {
        let (on, round) = match mark {
            Mark::None => return,
            Mark::Check(on) => (on, false),
            Mark::Radio(on) => (on, true),
        };
        let side = (self.font_px as i32 * 3 / 5).max(4);
        let x0 = r.x + (self.label_x - r.x - side) / 2;
        let y0 = r.y + (r.h - side) / 2;
        let c = side as f32 / 2.0;
        for dy in 0..side {
            for dx in 0..side {
                let inside = if round {
                    let (fx, fy) = (dx as f32 + 0.5 - c, dy as f32 + 0.5 - c);
                    let d = (fx * fx + fy * fy).sqrt();
                    // A ring, filled when chosen.
                    (d <= c) && (on && d <= c * 0.55 || d >= c - self.scale as f32)
                } else {
                    let edge = self.scale as i32;
                    let ring = dx < edge || dy < edge || dx >= side - edge || dy >= side - edge;
                    let inner = edge + 1;
                    ring || on
                        && dx >= inner
                        && dy >= inner
                        && dx < side - inner
                        && dy < side - inner
                };
                if inside {
                    canvas.blend_px(x0 + dx, y0 + dy, color, 255);
                }
            }
        }
    }

    /// The submenu arrow (a small right-pointing triangle) at row `r`'s end.
    fn arrow(&self, canvas: &mut Canvas, r: Rect, color: [u8; 4]) {
        let hh = (self.font_px as i32 / 4).max(2);
        let x0 = self.label_x + self.label_w + (self.font_px as i32 - hh) / 2;
        let yc = r.y + r.h / 2;
        for dx in 0..hh {
            let reach = hh - dx;
            for dy in -reach..=reach {
                canvas.blend_px(x0 + dx, yc + dy, color, 255);
            }
        }
    }
}

fn more_text(n: usize) -> String {
    format!("… {n} more")
}

fn note_text(content: &MenuContent) -> &str {
    content.note.as_deref().unwrap_or("(empty menu)")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: i32, label: &str) -> MenuRow {
        MenuRow {
            id,
            label: label.into(),
            enabled: true,
            ..MenuRow::default()
        }
    }

    fn menu() -> MenuContent {
        let mut rows = vec![
            row(1, "Open"),
            MenuRow {
                separator: true,
                ..row(2, "")
            },
            MenuRow {
                submenu: true,
                ..row(3, "More")
            },
            MenuRow {
                mark: Mark::Check(true),
                enabled: false,
                ..row(4, "Dark")
            },
        ];
        rows.push(MenuRow {
            parent: Some(2),
            ..row(5, "Inside")
        });
        MenuContent { rows, note: None }
    }

    #[test]
    fn levels_rows_and_hits() {
        let mut g = GlyphCache::with_default_font();
        let c = menu();
        let top = MenuLayout::new(&c, None, PopupLook::default(), 1, &mut g);
        let sub = MenuLayout::new(&c, Some(2), PopupLook::default(), 1, &mut g);
        let open = top.row_rect(0).expect("row 0");
        let more = top.row_rect(2).expect("row 2");
        assert!(top.row_rect(4).is_none(), "a submenu row is not in the top");
        assert!(sub.row_rect(4).is_some());
        assert_eq!(top.row_at(&c, open.x + 5, open.y + 2), Some(0));
        assert_eq!(top.row_at(&c, more.x + 5, more.y + 2), Some(2));
        // The separator is not a row one can hit.
        let sep = top.row_rect(1).expect("separator");
        assert_eq!(top.row_at(&c, sep.x + 5, sep.y + 1), None);
        assert!(sep.h < open.h);
        let (w, h) = top.size();
        assert!(w > 0 && h as i32 > 3 * open.h);
        // At scale 2 everything doubles (logical size the same within rounding).
        let two = MenuLayout::new(&c, None, PopupLook::default(), 2, &mut g);
        let (lw, lh) = two.logical_size();
        assert!(lw.abs_diff(top.logical_size().0) <= 2 && lh.abs_diff(top.logical_size().1) <= 2);
    }

    #[test]
    fn hover_highlight_and_disabled_rows_paint_differently() {
        let mut g = GlyphCache::with_default_font();
        let c = menu();
        let l = MenuLayout::new(&c, None, PopupLook::default(), 1, &mut g);
        let (w, h) = l.size();
        let paint = |hovered: Option<usize>, g: &mut GlyphCache| {
            let mut data = vec![0u8; (w * h * 4) as usize];
            let mut canvas = Canvas::new(&mut data, w, h).expect("canvas");
            l.paint(&mut canvas, &c, hovered, g);
            data
        };
        let plain = paint(None, &mut g);
        let lit = paint(Some(0), &mut g);
        let r = l.row_rect(0).expect("row");
        let at = |d: &[u8], x: i32, y: i32| {
            let i = ((y as u32 * w + x as u32) * 4) as usize;
            [d[i], d[i + 1], d[i + 2]]
        };
        // Left end of the row (no glyph there): the accent when hovered.
        let accent = PopupLook::default().accent.premultiplied();
        assert_eq!(
            at(&lit, r.x + 1, r.y + 1),
            [accent[0], accent[1], accent[2]]
        );
        assert_ne!(at(&plain, r.x + 1, r.y + 1), at(&lit, r.x + 1, r.y + 1));
        // A disabled row does not light up.
        let dark = l.row_rect(3).expect("row");
        assert_eq!(
            at(&paint(Some(3), &mut g), dark.x + 1, dark.y + 1),
            at(&plain, dark.x + 1, dark.y + 1)
        );
    }

    #[test]
    fn a_huge_level_is_cut_with_a_count() {
        let mut g = GlyphCache::with_default_font();
        let rows = (0..500).map(|i| row(i, "entry")).collect();
        let c = MenuContent { rows, note: None };
        let l = MenuLayout::new(&c, None, PopupLook::default(), 1, &mut g);
        assert_eq!(l.lines.len(), MAX_ROWS + 1);
        assert_eq!(l.lines[MAX_ROWS].0, Line::More(500 - MAX_ROWS));
        assert!(l.size().1 < 2000);
        // Nothing at all: the note.
        let empty = MenuContent {
            rows: Vec::new(),
            note: Some("menu unavailable: no reply".into()),
        };
        let l = MenuLayout::new(&empty, None, PopupLook::default(), 1, &mut g);
        assert_eq!(l.lines.len(), 1);
        assert_eq!(l.lines[0].0, Line::Note);
    }
}
