//! What the bar's text costs when no font is named: the embedded face draws,
//! the installed fonts are not looked up until a character needs them, and
//! fontdue's whole-face parse (every outline of the embedded face) lives
//! only while glyphs are being rasterised. Counted in bytes by the counting
//! allocator, in its own test binary so no other test allocates meanwhile.

mod common;

use rstat::bar::settings;
use rstat::config::Font;
use rstat::render::GlyphCache;

#[global_allocator]
static A: common::alloc::Counting = common::alloc::Counting;

#[test]
fn no_font_named_reads_no_installed_font_and_keeps_no_outlines() {
    let before = common::alloc::live_bytes();
    let mut g: GlyphCache = settings::glyphs(&Font::default()).expect("embedded font");
    // Warmed (printable ASCII rasterised), yet nothing installed was read.
    assert!(!g.is_empty(), "warmed");
    assert_eq!(
        g.installed_faces(),
        0,
        "fonts discovered with no font named"
    );
    assert_eq!(g.loaded_families(), ["DejaVu Sans Mono"]);
    for c in "cpu 12% mem 40% 2026-12-01 12:00:00".chars() {
        assert_eq!(g.face_for(c, false), 0, "{c:?} not from the embedded face");
    }
    let warm = common::alloc::live_bytes() - before;

    // After the frame, fontdue's parse is gone; the glyphs stay.
    g.release_pages();
    let kept = common::alloc::live_bytes() - before;
    println!(
        "text heap: {} KiB while warming, {} KiB after the frame",
        warm / 1024,
        kept / 1024
    );
    // fontdue parses only the glyphs drawn (a subset of the face, not its
    // 534 outlines: 1.1 MiB), and drops even those after the frame.
    assert!(
        warm < 400 << 10,
        "fontdue should hold only the warmed glyphs' outlines: {warm} bytes"
    );
    assert!(
        warm - kept > 100 << 10,
        "fontdue's outlines should be freed after the frame: {warm} -> {kept} bytes"
    );
    assert!(
        kept < 200 << 10,
        "{kept} bytes kept for a warmed embedded face"
    );
    let cached = g.len();

    // A glyph not drawn yet parses the face again, and is drawn.
    let zhe = g.glyph('Ж', 14);
    assert!(
        zhe.width > 0 && zhe.coverage.iter().any(|&c| c > 0),
        "Ж drawn"
    );
    assert_eq!(g.len(), cached + 1);
    g.release_pages();
    let again = common::alloc::live_bytes() - before;
    assert!(
        again - kept < 16 << 10,
        "one more glyph: {kept} -> {again} bytes"
    );

    // A character the embedded face lacks: the installed fonts are found now.
    g.glyph('日', 14);
    if g.installed_faces() == 0 {
        println!("SKIPPED (last step): no installed fonts to fall back to");
        return;
    }
    assert_ne!(
        g.face_for('日', false),
        0,
        "日 is not in the embedded subset"
    );
    assert_eq!(
        g.face_for('A', false),
        0,
        "the embedded face still draws Latin"
    );
}
