use super::*;

#[test]
fn default_font_parses_and_digits_are_tabular() {
    let mut g = GlyphCache::with_default_font();
    let w0 = g.glyph('0', 15).advance;
    for c in "123456789 %.".chars() {
        assert_eq!(g.glyph(c, 15).advance, w0, "{c:?}");
    }
    assert!(w0 > 0);
}

#[test]
fn missing_glyph_is_a_box() {
    let mut g = GlyphCache::with_default_font();
    // A private-use code point DejaVu does not have, and a control byte.
    for c in ['\u{F8FF}', '\n', '\u{4E2D}', '\u{FFFF}'] {
        let gl = g.glyph(c, 15);
        assert!(gl.width >= 3 && gl.height >= 3);
        assert_eq!(gl.coverage[0], 255);
    }
    // One shared box, not one entry per missing character.
    assert_eq!(g.len(), 1);
}

#[test]
fn chosen_font_falls_back_to_the_embedded_one() {
    // A DejaVu Serif subset with digits and a few capitals only.
    let serif = include_bytes!("../../../tests/fixtures/serif-digits.ttf");
    let mut g = GlyphCache::with_fallback(serif).unwrap();
    let mut mono = GlyphCache::with_default_font();
    // What the chosen font has comes from it...
    assert_ne!(g.glyph('0', 15).coverage, mono.glyph('0', 15).coverage);
    // ...what it lacks from the embedded font, not a box.
    assert_eq!(g.glyph('°', 15).coverage, mono.glyph('°', 15).coverage);
    assert_eq!(g.glyph('z', 15).coverage, mono.glyph('z', 15).coverage);
    // Without the fallback, the same character is the shared box.
    let mut bare = GlyphCache::from_bytes(serif).unwrap();
    assert_eq!(bare.glyph('°', 15).coverage[0], 255);
    assert!(GlyphCache::with_fallback(b"not a font").is_err());
}

#[test]
fn cached_once() {
    let mut g = GlyphCache::with_default_font();
    g.warm("abc", 15);
    g.warm("abc", 15);
    assert_eq!(g.len(), 3);
    g.warm("abc", 30);
    assert_eq!(g.len(), 6);
}

#[test]
fn glyphs_are_antialiased_outlines() {
    let mut g = GlyphCache::with_default_font();
    let o = g.glyph('O', 20);
    assert!(o.width > 5 && o.height > 10, "{}x{}", o.width, o.height);
    assert!(o.coverage.contains(&255));
    assert!(o.coverage.iter().any(|&c| c > 0 && c < 255));
    // The hole of the O is empty.
    let (w, h) = (o.width as usize, o.height as usize);
    assert_eq!(o.coverage[(h / 2) * w + w / 2], 0);
    // Sits on the baseline, reaches about a capital's height.
    assert!(o.top < -10 && o.top > -18, "top {}", o.top);
}

#[test]
fn shaped_width_matches_advances_for_monospace() {
    let mut g = GlyphCache::with_default_font();
    let mut s = Shaped::default();
    g.shape("12:34", 15, &mut s);
    assert_eq!(s.glyphs.len(), 5);
    let adv = g.glyph('0', 15).advance as f32;
    assert!(
        (s.width - 5.0 * adv).abs() < 2.5,
        "{} vs {}",
        s.width,
        5.0 * adv
    );
    // Pen positions increase.
    assert!(s.glyphs.windows(2).all(|w| w[1].x > w[0].x));
}

#[test]
fn simple_path_equals_rustybuzz() {
    // The embedded face has no layout tables: the map-and-advance path must
    // place glyphs exactly where rustybuzz does.
    let mut g = GlyphCache::with_default_font();
    assert!(g.faces[0].simple);
    let mut fast = Shaped::default();
    g.shape("CPU  42% 3.1GiB °C", 15, &mut fast);
    let mut slow = Shaped::default();
    let run = shape::test_full_shaping(&mut g, "CPU  42% 3.1GiB °C", 15, &mut slow);
    assert!(run);
    assert_eq!(fast, slow);
}

#[test]
fn hostile_text_is_bounded() {
    let mut g = GlyphCache::with_default_font();
    let mut s = Shaped::default();
    let marks: String = std::iter::once('a')
        .chain(std::iter::repeat_n('\u{0301}', 10_000))
        .collect();
    let t = std::time::Instant::now();
    g.shape(&marks, 14, &mut s);
    g.shape(&"\u{FFFD}".repeat(20_000), 14, &mut s);
    assert!(t.elapsed().as_secs() < 2);
}

fn system_cache(families: &[&str]) -> Option<GlyphCache> {
    let sys = SystemFonts::discover();
    if sys.find("DejaVu Sans", 400).is_none() {
        println!("SKIPPED: DejaVu Sans is not installed (fonts-dejavu-core)");
        return None;
    }
    let choice = FontChoice {
        families: families.iter().map(|s| s.to_string()).collect(),
        weight: 400,
        ..FontChoice::default()
    };
    Some(GlyphCache::load(&choice, sys).unwrap())
}

#[test]
fn fallback_per_character_from_installed_faces() {
    let Some(mut g) = system_cache(&["DejaVu Sans"]) else {
        return;
    };
    let latin = g.face_for('a', false);
    assert_eq!(g.loaded_families()[latin as usize], "DejaVu Sans");
    let mut s = Shaped::default();
    g.shape("vim — 日本語 🚀 مرحبا नमस्ते é \u{F240}", 14, &mut s);
    let missing: Vec<char> = s
        .glyphs
        .iter()
        .filter(|p| p.face == NO_FACE)
        .map(|p| p.ch)
        .collect();
    let needs = [
        ("fonts-noto-cjk", '日', "CJK"),
        ("fonts-noto-color-emoji", '🚀', "Color Emoji"),
        ("fonts-font-awesome", '\u{F240}', "Awesome"),
    ];
    for (pkg, c, fam) in needs {
        let f = g.face_for(c, is_emoji(c));
        if f == NO_FACE {
            println!("SKIPPED part: {pkg} not installed ({c})");
            continue;
        }
        let name = g.loaded_families()[f as usize].to_string();
        assert!(name.contains(fam), "{c} from {name}");
    }
    if g.face_for('日', false) != NO_FACE && g.face_for('\u{F240}', false) != NO_FACE {
        assert!(missing.is_empty(), "boxes for {missing:?}");
    }
    // The emoji is a colour bitmap scaled to the line.
    let e = g.face_for('🚀', true);
    if e != NO_FACE {
        let gid = g.faces[e as usize].glyph_index('🚀').unwrap();
        let gl = g.glyph_id(e, gid, 14);
        assert!(gl.color);
        assert!(gl.height >= 10 && gl.height <= 20, "{}", gl.height);
    }
}

#[test]
fn arabic_is_joined_and_visual_order_is_rtl() {
    let Some(mut g) = system_cache(&["DejaVu Sans"]) else {
        return;
    };
    let mut word = Shaped::default();
    g.shape("مرحبا", 20, &mut word);
    let mut isolated = 0.0;
    for c in "مرحبا".chars() {
        let mut one = Shaped::default();
        g.shape(&c.to_string(), 20, &mut one);
        isolated += one.width;
    }
    assert!(
        (word.width - isolated).abs() > 1.0,
        "joined {} vs isolated {}",
        word.width,
        isolated
    );
    // Visual order: in "ab مرحبا", the Arabic word's first letter (meem)
    // is drawn rightmost.
    let mut mixed = Shaped::default();
    g.shape("ab مرحبا", 20, &mut mixed);
    assert_eq!(mixed.glyphs[0].ch, 'a');
    assert_eq!(mixed.glyphs.last().unwrap().ch, 'م');
}

#[test]
fn glyph_cache_stays_within_its_budget() {
    let Some(mut g) = system_cache(&["DejaVu Sans"]) else {
        return;
    };
    let mut s = Shaped::default();
    let mut t = String::new();
    for i in 0..3000u32 {
        t.clear();
        let c = char::from_u32(0x4E00 + (i * 7) % 20000).unwrap();
        t.push(c);
        g.shape(&t, 14, &mut s);
        for p in &s.glyphs {
            g.glyph_id(p.face, p.gid, 14);
        }
        g.release_pages();
    }
    assert!(g.cached_bytes() <= GLYPH_BUDGET, "{}", g.cached_bytes());
}

#[test]
fn bad_font_files_are_errors_not_hangs() {
    let dir = std::env::temp_dir().join(format!("rstat-fonts-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = DEFAULT_FONT;
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("truncated.ttf", good[..good.len() / 2].to_vec()),
        ("text.ttf", b"hello, this is not a font at all".to_vec()),
        ("empty.ttf", Vec::new()),
    ];
    for (name, bytes) in &cases {
        let p = dir.join(name);
        std::fs::write(&p, bytes).unwrap();
        let e = Face::open(&p, 0)
            .err()
            .unwrap_or_else(|| panic!("{name} accepted"));
        assert!(e.0.contains(name), "{e}");
    }
    let p = dir.join("good.ttf");
    std::fs::write(&p, good).unwrap();
    assert!(Face::open(&p, 0).is_ok());
    let e = Face::open(&p, 3).err().unwrap();
    assert!(e.0.contains("index"), "{e}");
    // A FIFO must not block, a device must not be read.
    let fifo = dir.join("fifo.ttf");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    unsafe { libc::mkfifo(c.as_ptr(), 0o600) };
    let t = std::time::Instant::now();
    let e = Face::open(&fifo, 0).err().unwrap();
    assert!(e.0.contains("FIFO"), "{e}");
    let e = Face::open(std::path::Path::new("/dev/zero"), 0)
        .err()
        .unwrap();
    assert!(e.0.contains("device"), "{e}");
    assert!(t.elapsed().as_millis() < 500);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn dropping_the_names_keeps_fallback_and_later_lookups_the_same() {
    let (Some(mut kept), Some(mut dropped)) = (
        system_cache(&["DejaVu Sans"]),
        system_cache(&["DejaVu Sans"]),
    ) else {
        return;
    };
    dropped.fonts_chosen();
    assert!(dropped.system.faces.is_empty() && dropped.system.aliases.is_empty());
    // What fallback keeps is the same faces, in the same order.
    let sys = &kept.system;
    assert_eq!(dropped.installed.len(), sys.faces.len());
    for (i, f) in sys.faces.iter().enumerate() {
        let s = dropped.installed.get(i).unwrap();
        assert_eq!(dropped.installed.path(s), f.path.as_path());
        assert_eq!(
            (s.index, s.color, s.is_symbol()),
            (f.index, f.color, f.is_symbol())
        );
        for c in ['a', '日', '🚀', 'م', 'न', '\u{F240}', '\u{10FFFF}'] {
            assert_eq!(dropped.installed.covers(s, c), f.covers(c), "{c} in {f:?}");
        }
        assert_eq!(dropped.installed.position(&f.path, f.index), Some(i));
    }
    // Every character of the mixed title comes from the same face.
    let title = "vim — 日本語のテキスト 🚀 مرحبا नमस्ते cafe\u{301} \u{F240} end";
    let (mut a, mut b) = (Shaped::default(), Shaped::default());
    kept.shape(title, 14, &mut a);
    dropped.shape(title, 14, &mut b);
    let faces = |g: &GlyphCache, s: &Shaped| -> Vec<(char, String)> {
        s.glyphs
            .iter()
            .map(|p| {
                let fam = g
                    .loaded_families()
                    .get(p.face as usize)
                    .map(|f| f.to_string());
                (p.ch, fam.unwrap_or_default())
            })
            .collect()
    };
    assert_eq!(faces(&kept, &a), faces(&dropped, &b));
    assert_eq!(kept.loaded_families(), dropped.loaded_families());
    assert_eq!(a.width, b.width);
    // A family named afterwards (markup) still resolves, aliases included,
    // to the same faces: the index is read again for it.
    for name in ["DejaVu Serif", "monospace", "DejaVu Sans Mono"] {
        let (x, y) = (kept.font_named(name), dropped.font_named(name));
        let fam = |g: &mut GlyphCache, id| {
            let mut s = Shaped::default();
            g.shape_in(id, "Mm", 14, &mut s);
            (
                s.width,
                g.loaded_families()[s.glyphs[0].face as usize].to_string(),
            )
        };
        assert_eq!(fam(&mut kept, x), fam(&mut dropped, y), "{name}");
    }
    assert!(dropped.system.faces.is_empty(), "the names stay dropped");
}

#[test]
fn no_font_named_finds_installed_faces_after_the_names_are_dropped() {
    if system_cache(&["DejaVu Sans"]).is_none() {
        return;
    }
    // The embedded face first; the installed ones are discovered only for
    // a character it lacks, after the config's fonts were chosen.
    let mut g = GlyphCache::embedded_then_installed(400);
    g.fonts_chosen();
    let f = g.face_for('日', false);
    if f == NO_FACE {
        println!("SKIPPED part: fonts-noto-cjk not installed");
        return;
    }
    assert!(g.loaded_families()[f as usize].contains("CJK"));
    assert!(g.installed_faces() > 0);
    assert!(g.system.faces.is_empty());
}
