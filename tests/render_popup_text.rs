//! The popups draw text the way the bar does — shaped, each character from
//! an installed face that has it — so a process name, a tooltip or a tray
//! menu label in CJK, emoji, Arabic or Devanagari shows no missing-glyph box.
//!
//! The renderer counts the boxes it draws (as the bar's text tests do): with
//! Debian's fonts installed (fonts-dejavu-core, fonts-noto-core,
//! fonts-noto-cjk, fonts-noto-color-emoji) the count stays at zero, and the
//! same text with the embedded face alone (no fallback) counts boxes, so the
//! zero is not a counter that never moves.

mod common;

use rstat::collect::sample::{Comm, ProcCpu, ProcMem};
use rstat::collect::Sample;
use rstat::modules::top;
use rstat::render::glyphs::GlyphCache;
use rstat::render::menu::{MenuContent, MenuLayout, MenuRow};
use rstat::render::popup::{PopupContent, PopupLook, PopupRenderer, PopupSheet};
use rstat::render::tooltip::TooltipRenderer;
use rstat::render::Canvas;

const FONTS: [&str; 4] = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf",
    "/usr/share/fonts/truetype/noto/NotoSansDevanagari-Regular.ttf",
];

fn fonts_installed() -> bool {
    FONTS.iter().all(|f| {
        common::need(
            std::path::Path::new(f).exists(),
            &format!("needs {f} (fonts-dejavu-core fonts-noto-core fonts-noto-cjk fonts-noto-color-emoji)"),
        )
    })
}

/// Process names as the kernel keeps them (15 bytes at most): CJK, an
/// emoji, Arabic, Devanagari with a vowel sign.
const NAMES: [&str; 4] = ["日本語プロ", "🚀rocket", "مرحبا", "नमस्ते"];

fn sample() -> Sample {
    let mut s = Sample::default();
    for (i, name) in NAMES.iter().enumerate() {
        let v = 100 - i as u64;
        s.top_cpu.offer(
            v,
            ProcCpu {
                pid: 100 + i as u32,
                name: Comm::from_bytes(name.as_bytes()),
                cpu_percent: v as f32 / 10.0,
            },
        );
        s.top_mem.offer(
            v << 20,
            ProcMem {
                pid: 100 + i as u32,
                name: Comm::from_bytes(name.as_bytes()),
                rss_bytes: v << 20,
            },
        );
    }
    s
}

/// The health popup's tables drawn whole: the boxes drawn while painting.
fn popup_boxes(g: &mut GlyphCache) -> (u64, usize) {
    let mut r = PopupRenderer::new(PopupLook::default(), g);
    let mut c = PopupContent::default();
    top::write(&sample(), &mut c);
    let shown = c.tables[0].rows[0].name;
    assert_eq!(shown.as_str(), NAMES[0], "the name reaches the popup as is");
    let (w, h) = r.size();
    let mut px = vec![0u8; (w * h * 4) as usize];
    let before = g.boxes_drawn();
    let m = r.update(&c);
    PopupSheet::paint(&r, &mut Canvas::new(&mut px, w, h).unwrap(), m, g);
    (g.boxes_drawn() - before, ink(&px))
}

fn tooltip_boxes(g: &mut GlyphCache) -> u64 {
    let mut t = TooltipRenderer::new(PopupLook::default(), g);
    t.set_text(&format!("{}\n{} {}", NAMES[0], NAMES[1], NAMES[2]), g);
    let (w, h) = t.size();
    let mut px = vec![0u8; (w * h * 4) as usize];
    let before = g.boxes_drawn();
    let m = t.update();
    t.paint(&mut Canvas::new(&mut px, w, h).unwrap(), m, g);
    g.boxes_drawn() - before
}

fn menu_boxes(g: &mut GlyphCache) -> u64 {
    let content = MenuContent {
        rows: NAMES
            .iter()
            .enumerate()
            .map(|(i, n)| MenuRow {
                id: i as i32,
                label: n.to_string(),
                enabled: true,
                ..MenuRow::default()
            })
            .collect(),
        note: None,
    };
    let layout = MenuLayout::new(&content, None, PopupLook::default(), 1, g);
    let (w, h) = layout.size();
    let mut px = vec![0u8; (w * h * 4) as usize];
    let before = g.boxes_drawn();
    layout.paint(&mut Canvas::new(&mut px, w, h).unwrap(), &content, None, g);
    g.boxes_drawn() - before
}

/// Pixels that are neither of the popup's two fills.
fn ink(px: &[u8]) -> usize {
    let look = PopupLook::default();
    let (bg, border) = (look.background.premultiplied(), look.accent.premultiplied());
    px.chunks_exact(4)
        .filter(|p| *p != bg && *p != border)
        .count()
}

#[test]
fn popup_names_tooltips_and_menus_in_any_script_draw_no_box() {
    if !fonts_installed() {
        return;
    }
    // What the bar builds when no font is named: the embedded face first,
    // the installed ones found for what it lacks.
    let mut g = GlyphCache::embedded_then_installed(400);
    let (boxes, inked) = popup_boxes(&mut g);
    assert_eq!(boxes, 0, "boxes in the health popup");
    assert!(inked > 500, "the names were drawn ({inked} px of ink)");
    assert_eq!(tooltip_boxes(&mut g), 0, "boxes in the tooltip");
    assert_eq!(menu_boxes(&mut g), 0, "boxes in the tray menu");
    let faces = g.loaded_families().join(", ");
    eprintln!("faces used: {faces}");
    for want in ["Noto Sans CJK", "Noto Color Emoji"] {
        assert!(faces.contains(want), "{want} not used: {faces}");
    }
}

#[test]
fn the_box_count_moves_when_no_face_has_the_text() {
    // The embedded face alone has none of these characters.
    let mut g = GlyphCache::with_default_font();
    let (boxes, _) = popup_boxes(&mut g);
    assert!(boxes >= 10, "{boxes} boxes in the health popup");
    assert!(tooltip_boxes(&mut g) >= 10);
    assert!(menu_boxes(&mut g) >= 10);
}
