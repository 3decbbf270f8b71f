//! Icons in the bar (the tray's): a segment whose text is
//! [`OBJECT`] + a number shows icon [`IconId`] instead of text. Each icon's
//! source (a themed name, an absolute path, ARGB32 pixmaps) is offered by
//! the module that shows it; it is rasterised once per pixel size on first
//! draw and kept within a byte budget ([`BUDGET`]).
//!
//! Themed names are looked up as the freedesktop icon theme specification
//! says ([`lookup`]): the item's own theme path first, then the configured
//! or the user's theme (GTK's `gtk-icon-theme-name`; Adwaita, GTK's default,
//! when neither is set), its `Inherits`, then `hicolor`, each directory matched by the sizes its `index.theme` gives,
//! then the unthemed pixmap directories. PNG files are decoded by
//! tiny-skia's png support, SVG files drawn by resvg into the same pixmaps.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::Text;

/// Unicode's OBJECT REPLACEMENT CHARACTER: "an embedded object goes here".
pub const OBJECT: char = '\u{FFFC}';

/// Bytes of rasterised icons kept; beyond it the least recently drawn go.
pub const BUDGET: usize = 2 << 20;

/// Largest icon file read (bytes); a bigger SVG or PNG is refused.
pub const MAX_FILE: u64 = 4 << 20;

/// Largest edge an icon is drawn at (px).
pub const MAX_PX: u32 = 256;

/// Names one icon the bar shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct IconId(pub u32);

/// The text of a segment that shows icon `id` at revision `rev`: a new
/// revision is a changed segment, so the renderer repaints it.
pub fn icon_text(id: IconId, rev: u32) -> Text {
    let mut t = Text::default();
    let _ = write!(t, "{OBJECT}{}.{rev}", id.0);
    t
}

/// The icon a segment's text names, if it is one.
pub fn icon_of(text: &str) -> Option<IconId> {
    let rest = text.strip_prefix(OBJECT)?;
    let id = rest.split_once('.').map_or(rest, |(id, _)| id);
    id.parse().ok().map(IconId)
}

/// Where an icon's pixels come from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IconSource {
    /// A themed name or an absolute path.
    pub name: String,
    /// A directory searched before the themes (an item's `IconThemePath`).
    pub theme_path: String,
    /// ARGB32 pixmaps in network byte order (width, height, bytes); used
    /// when the name finds nothing (or is empty).
    pub pixmaps: Vec<(u32, u32, Vec<u8>)>,
    /// Drawn at half opacity (a passive item, when configured so).
    pub dim: bool,
    /// An overlay (an item's `OverlayIconName` / `OverlayIconPixmap`):
    /// drawn over the icon's lower right quarter. Its own `overlay` and
    /// `dim` are ignored.
    pub overlay: Option<Box<IconSource>>,
}

struct Raster {
    id: IconId,
    px: u32,
    /// `None`: nothing could be drawn (remembered, not retried per frame).
    pixmap: Option<tiny_skia::Pixmap>,
    used: u64,
}

/// The icons' sources and their rasterised sizes.
#[derive(Default)]
pub struct Icons {
    sources: HashMap<IconId, (u32, IconSource)>,
    /// Offered since [`Icons::begin_offers`].
    offered: Vec<IconId>,
    rasters: Vec<Raster>,
    bytes: usize,
    clock: u64,
    /// The configured theme (`None`: the user's, then hicolor).
    pub theme: Option<String>,
    themes: ThemeCache,
}

impl std::fmt::Debug for Icons {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Icons")
            .field("sources", &self.sources.len())
            .field("bytes", &self.bytes)
            .finish()
    }
}

impl Icons {
    /// Sets icon `id`'s source at revision `rev`; `make` runs only when the
    /// revision differs from the one held (rasters of the old one are dropped).
    pub fn offer(&mut self, id: IconId, rev: u32, make: impl FnOnce() -> IconSource) {
        self.offered.push(id);
        if self.sources.get(&id).is_some_and(|(r, _)| *r == rev) {
            return;
        }
        self.sources.insert(id, (rev, make()));
        self.drop_rasters(|r| r.id == id);
    }

    /// Starts a round of offers: icons not offered again before
    /// [`Icons::end_offers`] are forgotten then.
    pub fn begin_offers(&mut self) {
        self.offered.clear();
    }

    /// Forgets the icons not offered since [`Icons::begin_offers`].
    pub fn end_offers(&mut self) {
        let mut offered = std::mem::take(&mut self.offered);
        offered.sort_unstable_by_key(|i| i.0);
        self.retain(|id| offered.binary_search_by_key(&id.0, |i| i.0).is_ok());
        offered.clear();
        self.offered = offered;
    }

    /// Forgets every icon `keep` says no to.
    pub fn retain(&mut self, keep: impl Fn(IconId) -> bool) {
        self.sources.retain(|id, _| keep(*id));
        self.drop_rasters(|r| !keep(r.id));
    }

    fn drop_rasters(&mut self, gone: impl Fn(&Raster) -> bool) {
        let mut freed = 0;
        self.rasters.retain(|r| {
            let g = gone(r);
            if g {
                freed += r.pixmap.as_ref().map_or(0, |p| p.data().len());
            }
            !g
        });
        self.bytes -= freed;
    }

    /// Rasterised bytes held now.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Icon `id` at `px` × `px` (premultiplied RGBA), drawn on first use.
    pub fn get(&mut self, id: IconId, px: u32) -> Option<&tiny_skia::Pixmap> {
        let px = px.clamp(1, MAX_PX);
        self.clock += 1;
        let now = self.clock;
        if let Some(i) = self.rasters.iter().position(|r| r.id == id && r.px == px) {
            self.rasters[i].used = now;
            return self.rasters[i].pixmap.as_ref();
        }
        let (_, src) = self.sources.get(&id)?;
        let pixmap = rasterise(src, px, self.theme.as_deref(), &mut self.themes);
        let size = pixmap.as_ref().map_or(0, |p| p.data().len());
        while self.bytes + size > BUDGET && !self.rasters.is_empty() {
            let (i, _) = self
                .rasters
                .iter()
                .enumerate()
                .min_by_key(|(_, r)| r.used)
                .unwrap_or((0, &self.rasters[0]));
            let r = self.rasters.swap_remove(i);
            self.bytes -= r.pixmap.as_ref().map_or(0, |p| p.data().len());
        }
        self.bytes += size;
        self.rasters.push(Raster {
            id,
            px,
            pixmap,
            used: now,
        });
        self.rasters.last().and_then(|r| r.pixmap.as_ref())
    }
}

/// Draws `src` at `px` square: the named file when found, else the pixmap
/// nearest in size; scaled to fit, centred.
pub fn rasterise(
    src: &IconSource,
    px: u32,
    theme: Option<&str>,
    themes: &mut ThemeCache,
) -> Option<tiny_skia::Pixmap> {
    let from_name = (!src.name.is_empty())
        .then(|| {
            let file = lookup(&src.name, px, &src.theme_path, theme, themes)?;
            load_file(&file, px)
        })
        .flatten();
    let mut out = from_name.or_else(|| from_pixmaps(&src.pixmaps, px))?;
    if let Some(o) = src.overlay.as_deref() {
        let half = (px / 2).max(1);
        let plain = IconSource {
            overlay: None,
            dim: false,
            ..o.clone()
        };
        if let Some(small) = rasterise(&plain, half, theme, themes) {
            let at = (px - half) as i32;
            out.draw_pixmap(
                at,
                at,
                small.as_ref(),
                &tiny_skia::PixmapPaint::default(),
                tiny_skia::Transform::identity(),
                None,
            );
        }
    }
    if src.dim {
        for p in out.data_mut() {
            *p /= 2;
        }
    }
    Some(out)
}

fn fit(img: &tiny_skia::Pixmap, px: u32) -> Option<tiny_skia::Pixmap> {
    if img.width() == px && img.height() == px {
        return Some(img.clone());
    }
    let mut out = tiny_skia::Pixmap::new(px, px)?;
    let s = px as f32 / img.width().max(img.height()) as f32;
    let dx = (px as f32 - img.width() as f32 * s) / 2.0;
    let dy = (px as f32 - img.height() as f32 * s) / 2.0;
    let paint = tiny_skia::PixmapPaint {
        quality: tiny_skia::FilterQuality::Bilinear,
        ..tiny_skia::PixmapPaint::default()
    };
    out.draw_pixmap(
        0,
        0,
        img.as_ref(),
        &paint,
        tiny_skia::Transform::from_row(s, 0.0, 0.0, s, dx, dy),
        None,
    );
    Some(out)
}

/// The pixmap nearest `px` (preferring larger), converted from ARGB32 in
/// network order to premultiplied RGBA and scaled to `px`.
pub fn from_pixmaps(list: &[(u32, u32, Vec<u8>)], px: u32) -> Option<tiny_skia::Pixmap> {
    let (w, h, argb) = list
        .iter()
        .filter(|(w, h, d)| *w > 0 && *h > 0 && d.len() >= (*w as usize) * (*h as usize) * 4)
        .min_by_key(|(w, h, _)| {
            let s = (*w).max(*h);
            if s >= px {
                (0, s - px)
            } else {
                (1, px - s)
            }
        })?;
    let mut img = tiny_skia::Pixmap::new(*w, *h)?;
    for (dst, s) in img.data_mut().chunks_exact_mut(4).zip(argb.chunks_exact(4)) {
        let (a, r, g, b) = (s[0] as u32, s[1] as u32, s[2] as u32, s[3] as u32);
        let m = |c: u32| ((c * a + 127) / 255) as u8;
        dst.copy_from_slice(&[m(r), m(g), m(b), a as u8]);
    }
    fit(&img, px)
}

/// Reads an icon file (PNG or SVG, by content) and draws it at `px`.
pub fn load_file(path: &Path, px: u32) -> Option<tiny_skia::Pixmap> {
    let meta = std::fs::metadata(path).ok()?;
    if !meta.is_file() || meta.len() > MAX_FILE {
        return None;
    }
    let data = std::fs::read(path).ok()?;
    if data.starts_with(b"\x89PNG") {
        let img = tiny_skia::Pixmap::decode_png(&data).ok()?;
        return fit(&img, px);
    }
    let opt = resvg::usvg::Options::default();
    let tree = resvg::usvg::Tree::from_data(&data, &opt).ok()?;
    let size = tree.size();
    let mut out = tiny_skia::Pixmap::new(px, px)?;
    let s = px as f32 / size.width().max(size.height());
    let dx = (px as f32 - size.width() * s) / 2.0;
    let dy = (px as f32 - size.height() * s) / 2.0;
    resvg::render(
        &tree,
        tiny_skia::Transform::from_row(s, 0.0, 0.0, s, dx, dy),
        &mut out.as_mut(),
    );
    Some(out)
}

/// One directory of a theme, as its `index.theme` describes it.
#[derive(Clone, Debug, PartialEq)]
pub struct ThemeDir {
    pub path: String,
    pub size: u32,
    pub scale: u32,
    pub kind: DirKind,
    pub min: u32,
    pub max: u32,
    pub threshold: u32,
}

/// `Type=` of a theme directory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DirKind {
    Fixed,
    Scalable,
    Threshold,
}

/// A parsed `index.theme`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Theme {
    pub inherits: Vec<String>,
    pub dirs: Vec<ThemeDir>,
}

/// Parses an `index.theme`.
pub fn parse_index(text: &str) -> Theme {
    let mut sections: Vec<(String, HashMap<String, String>)> = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            sections.push((name.to_string(), HashMap::new()));
        } else if let Some((k, v)) = line.split_once('=') {
            if let Some((_, map)) = sections.last_mut() {
                map.insert(k.trim().to_string(), v.trim().to_string());
            }
        }
    }
    let find = |n: &str| sections.iter().find(|(s, _)| s == n).map(|(_, m)| m);
    let Some(head) = find("Icon Theme") else {
        return Theme::default();
    };
    let list = |k: &str| -> Vec<String> {
        head.get(k)
            .map(|v| {
                v.split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut names = list("Directories");
    names.extend(list("ScaledDirectories"));
    let mut dirs = Vec::new();
    for n in names {
        let Some(m) = find(&n) else { continue };
        let num = |k: &str| m.get(k).and_then(|v| v.parse::<u32>().ok());
        let Some(size) = num("Size") else { continue };
        let kind = match m.get("Type").map(String::as_str) {
            Some("Fixed") => DirKind::Fixed,
            Some("Scalable") => DirKind::Scalable,
            _ => DirKind::Threshold,
        };
        dirs.push(ThemeDir {
            path: n.clone(),
            size,
            scale: num("Scale").unwrap_or(1).max(1),
            kind,
            min: num("MinSize").unwrap_or(size),
            max: num("MaxSize").unwrap_or(size),
            threshold: num("Threshold").unwrap_or(2),
        });
    }
    Theme {
        inherits: list("Inherits"),
        dirs,
    }
}

impl ThemeDir {
    /// The specification's DirectoryMatchesSize (scale 1).
    fn matches(&self, size: u32) -> bool {
        if self.scale != 1 {
            return false;
        }
        match self.kind {
            DirKind::Fixed => self.size == size,
            DirKind::Scalable => (self.min..=self.max).contains(&size),
            DirKind::Threshold => {
                self.size.saturating_sub(self.threshold) <= size
                    && size <= self.size + self.threshold
            }
        }
    }

    /// The specification's DirectorySizeDistance (scale 1).
    fn distance(&self, size: u32) -> u32 {
        let s = size as i64;
        let d = |lo: i64, hi: i64| {
            if s < lo {
                lo - s
            } else if s > hi {
                s - hi
            } else {
                0
            }
        };
        let sz = (self.size * self.scale) as i64;
        (match self.kind {
            DirKind::Fixed => (sz - s).abs(),
            DirKind::Scalable => d(
                (self.min * self.scale) as i64,
                (self.max * self.scale) as i64,
            ),
            DirKind::Threshold => d(sz - self.threshold as i64, sz + self.threshold as i64),
        }) as u32
    }
}

/// Parsed themes by name (`None`: no such theme anywhere), and the base
/// directories.
#[derive(Default)]
pub struct ThemeCache {
    themes: HashMap<String, Option<Theme>>,
    bases: Option<Vec<PathBuf>>,
    user_theme: Option<Option<String>>,
}

/// The icon base directories: `$XDG_DATA_HOME/icons`, `~/.icons`, each
/// `$XDG_DATA_DIRS/icons`, and `/usr/share/pixmaps`.
pub fn base_dirs() -> Vec<PathBuf> {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let home = env("HOME").map(PathBuf::from);
    let mut out = Vec::new();
    match (env("XDG_DATA_HOME"), &home) {
        (Some(d), _) => out.push(PathBuf::from(d).join("icons")),
        (None, Some(h)) => out.push(h.join(".local/share/icons")),
        _ => {}
    }
    if let Some(h) = &home {
        out.push(h.join(".icons"));
    }
    let dirs = env("XDG_DATA_DIRS").unwrap_or_else(|| "/usr/local/share:/usr/share".into());
    for d in dirs.split(':').filter(|d| !d.is_empty()) {
        out.push(PathBuf::from(d).join("icons"));
    }
    out.push(PathBuf::from("/usr/share/pixmaps"));
    out
}

/// The user's theme: `gtk-icon-theme-name` in GTK 3's settings.
fn user_theme() -> Option<String> {
    let cfg = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    let text = std::fs::read_to_string(cfg.join("gtk-3.0/settings.ini")).ok()?;
    text.lines().find_map(|l| {
        let (k, v) = l.split_once('=')?;
        (k.trim() == "gtk-icon-theme-name").then(|| v.trim().trim_matches('"').to_string())
    })
}

impl ThemeCache {
    fn bases(&mut self) -> Vec<PathBuf> {
        self.bases.get_or_insert_with(base_dirs).clone()
    }

    fn theme(&mut self, name: &str) -> Option<Theme> {
        if let Some(t) = self.themes.get(name) {
            return t.clone();
        }
        let bases = self.bases();
        let t = bases.iter().find_map(|b| {
            let text = std::fs::read_to_string(b.join(name).join("index.theme")).ok()?;
            Some(parse_index(&text))
        });
        self.themes.insert(name.to_string(), t.clone());
        t
    }
}

const EXTS: [&str; 2] = ["png", "svg"];
/// The theme looked in first when none is configured or set for GTK.
pub const DEFAULT_THEME: &str = "Adwaita";

fn find_in_theme(
    theme_name: &str,
    theme: &Theme,
    bases: &[PathBuf],
    icon: &str,
    size: u32,
) -> Option<PathBuf> {
    for d in theme.dirs.iter().filter(|d| d.matches(size)) {
        for b in bases {
            for e in EXTS {
                let p = b.join(theme_name).join(&d.path).join(format!("{icon}.{e}"));
                if p.is_file() {
                    return Some(p);
                }
            }
        }
    }
    let mut best: Option<(u32, PathBuf)> = None;
    for d in &theme.dirs {
        for b in bases {
            for e in EXTS {
                let p = b.join(theme_name).join(&d.path).join(format!("{icon}.{e}"));
                let dist = d.distance(size);
                if best.as_ref().is_none_or(|(bd, _)| dist < *bd) && p.is_file() {
                    best = Some((dist, p));
                }
            }
        }
    }
    best.map(|(_, p)| p)
}

/// The file of icon `name` at `size` px: an absolute path as it is; else
/// the theme path's own themes and files, the theme chain (`theme` or the
/// user's, its `Inherits`, `hicolor`), then the unthemed files.
pub fn lookup(
    name: &str,
    size: u32,
    theme_path: &str,
    theme: Option<&str>,
    cache: &mut ThemeCache,
) -> Option<PathBuf> {
    if name.starts_with('/') {
        return Path::new(name).is_file().then(|| PathBuf::from(name));
    }
    if name.contains('/') || name.contains("..") {
        return None;
    }
    let mut bases = cache.bases();
    if !theme_path.is_empty() {
        let tp = PathBuf::from(theme_path);
        for e in EXTS {
            let p = tp.join(format!("{name}.{e}"));
            if p.is_file() {
                return Some(p);
            }
        }
        bases.insert(0, tp);
    }
    // No theme configured nor set for GTK: GTK's own default, Adwaita
    // (skipped like any theme that is not installed).
    let first = match theme {
        Some(t) => Some(t.to_string()),
        None => cache.user_theme.get_or_insert_with(user_theme).clone(),
    }
    .or_else(|| Some(DEFAULT_THEME.to_string()));
    // Breadth of the chain: each theme's parents after it, hicolor last.
    let mut chain: Vec<String> = first.into_iter().collect();
    let mut i = 0;
    while i < chain.len() && chain.len() < 16 {
        if let Some(t) = cache.theme(&chain[i]) {
            for p in t.inherits {
                if !chain.contains(&p) {
                    chain.push(p);
                }
            }
        }
        i += 1;
    }
    chain.retain(|t| t != "hicolor");
    chain.push("hicolor".into());
    for t in &chain {
        let Some(th) = cache.theme(t).or_else(|| {
            // A theme path may hold a theme without index.theme of its own
            // elsewhere: take hicolor's layout for it.
            (t == "hicolor" && !theme_path.is_empty()).then(Theme::default)
        }) else {
            continue;
        };
        if let Some(p) = find_in_theme(t, &th, &bases, name, size) {
            return Some(p);
        }
    }
    for b in &bases {
        for e in EXTS {
            let p = b.join(format!("{name}.{e}"));
            if p.is_file() {
                return Some(p);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn icon_texts() {
        let t = icon_text(IconId(42), 7);
        assert_eq!(icon_of(t.as_str()), Some(IconId(42)));
        assert_ne!(t, icon_text(IconId(42), 8));
        assert_eq!(icon_of("42"), None);
        assert_eq!(icon_of("\u{FFFC}x"), None);
    }

    #[test]
    fn index_parsed_and_sizes_matched() {
        let t = parse_index(
            "[Icon Theme]\nName=T\nInherits=Adwaita, hicolor\nDirectories=16x16/apps,scalable/apps,22x22/apps\n\
             [16x16/apps]\nSize=16\nType=Fixed\n[scalable/apps]\nSize=48\nType=Scalable\nMinSize=8\nMaxSize=512\n\
             [22x22/apps]\nSize=22\n",
        );
        assert_eq!(t.inherits, ["Adwaita", "hicolor"]);
        assert_eq!(t.dirs.len(), 3);
        assert!(t.dirs[0].matches(16) && !t.dirs[0].matches(17));
        assert!(t.dirs[1].matches(300));
        assert_eq!(t.dirs[2].kind, DirKind::Threshold);
        assert!(t.dirs[2].matches(24) && !t.dirs[2].matches(25));
        assert_eq!(t.dirs[0].distance(22), 6);
    }

    #[test]
    fn pixmap_converted_and_fit() {
        // 1×2: opaque red over half-transparent blue, drawn at its size.
        let argb = vec![255, 255, 0, 0, 128, 0, 0, 255];
        let p = from_pixmaps(&[(1, 2, argb.clone())], 2).expect("drawn");
        assert_eq!(p.width(), 2);
        let q = from_pixmaps(&[(1, 1, argb[..4].to_vec()), (1, 2, argb)], 1).expect("drawn");
        assert_eq!(&q.data()[..4], &[255, 0, 0, 255], "ARGB red → RGBA red");
        assert!(
            from_pixmaps(&[(4, 4, vec![0; 3])], 4).is_none(),
            "short data refused"
        );
    }

    #[test]
    fn overlay_drawn_over_the_lower_right_quarter() {
        let red = [255u8, 255, 0, 0].repeat(8 * 8);
        let blue = [255u8, 0, 0, 255].repeat(4 * 4);
        let src = IconSource {
            pixmaps: vec![(8, 8, red.clone())],
            overlay: Some(Box::new(IconSource {
                pixmaps: vec![(4, 4, blue)],
                ..IconSource::default()
            })),
            ..IconSource::default()
        };
        let out = rasterise(&src, 8, None, &mut ThemeCache::default()).expect("drawn");
        let px = |x: usize, y: usize| {
            let i = (y * 8 + x) * 4;
            [out.data()[i], out.data()[i + 1], out.data()[i + 2]]
        };
        assert_eq!(px(1, 1), [255, 0, 0], "the icon itself");
        assert_eq!(px(6, 6), [0, 0, 255], "the overlay's quarter");
        assert_eq!(px(6, 1), [255, 0, 0]);
    }

    #[test]
    fn budget_evicts() {
        let mut icons = Icons::default();
        for i in 0..40 {
            icons.offer(IconId(i), 1, || IconSource {
                pixmaps: vec![(128, 128, vec![255; 128 * 128 * 4])],
                ..IconSource::default()
            });
            assert!(icons.get(IconId(i), 128).is_some());
            assert!(icons.bytes() <= BUDGET);
        }
        icons.retain(|_| false);
        assert_eq!(icons.bytes(), 0);
    }
}

#[cfg(test)]
mod file_tests {
    use super::*;

    #[test]
    fn png_and_svg_files_load() {
        let dir = std::env::temp_dir().join(format!("rstat-icon-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let mut p = tiny_skia::Pixmap::new(48, 48).expect("pixmap");
        p.fill(tiny_skia::Color::from_rgba8(200, 10, 10, 255));
        let png = dir.join("red.png");
        p.save_png(&png).expect("png");
        let got = load_file(&png, 20).expect("png loads");
        assert_eq!(
            (got.width(), &got.data()[..4]),
            (20, &[200u8, 10, 10, 255][..])
        );
        let svg = dir.join("blue.svg");
        std::fs::write(
            &svg,
            r##"<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16"><rect width="16" height="16" fill="#0000ff"/></svg>"##,
        )
        .expect("svg");
        let got = load_file(&svg, 24).expect("svg draws");
        assert_eq!(&got.data()[4 * (24 * 12 + 12)..][..4], &[0, 0, 255, 255]);
        std::fs::write(&svg, "<svg this is not").expect("bad svg");
        assert!(
            load_file(&svg, 24).is_none(),
            "an unparsable SVG draws nothing"
        );
        let abs = png.to_string_lossy().into_owned();
        let mut cache = ThemeCache::default();
        assert_eq!(lookup(&abs, 22, "", None, &mut cache), Some(png.clone()));
        // A theme path holding the file by name.
        let d = dir.to_string_lossy().into_owned();
        assert_eq!(lookup("red", 22, &d, None, &mut cache), Some(png));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn hicolor_and_adwaita_found() {
        let mut cache = ThemeCache::default();
        if !Path::new("/usr/share/icons/hicolor/index.theme").exists() {
            return;
        }
        // Adwaita's legacy icons exist at several sizes; the nearest wins.
        if let Some(p) = lookup("dialog-warning", 48, "", Some("Adwaita"), &mut cache) {
            assert!(p.to_string_lossy().contains("Adwaita"), "{p:?}");
            assert!(load_file(&p, 22).is_some());
        }
        // No theme configured, none set for GTK: Adwaita, then hicolor.
        if Path::new("/usr/share/icons/Adwaita/index.theme").exists() {
            let mut bare = ThemeCache {
                user_theme: Some(None),
                ..ThemeCache::default()
            };
            let p = lookup("dialog-warning", 24, "", None, &mut bare);
            assert!(
                p.as_ref()
                    .is_some_and(|p| p.to_string_lossy().contains("Adwaita")),
                "{p:?}"
            );
        }
    }
}
