//! The installed fonts, as the system's fontconfig configuration lists them:
//! its directories and its family aliases (`monospace`, `sans-serif`, …),
//! read once at start-up and on reload, never per tick.
//!
//! Each font file is mapped only long enough to read its faces' names and
//! style, then unmapped: the index costs a few dozen bytes per face, and what
//! a face covers is asked of its character map only when a character misses.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rustybuzz::ttf_parser;

use super::face::{family_name, map_font_file};

/// One installed face.
#[derive(Clone, Debug)]
pub struct FaceInfo {
    /// The font file.
    pub path: PathBuf,
    /// Face index in a collection (0 for a plain file).
    pub index: u32,
    /// Family name, as the face names itself.
    pub family: String,
    /// OS/2 weight class (400 regular, 700 bold).
    pub weight: u16,
    /// Italic or oblique.
    pub italic: bool,
    /// Has colour glyphs (an emoji face).
    pub color: bool,
}

impl FaceInfo {
    /// An icon face (Font Awesome, Nerd Fonts, symbol faces): preferred for
    /// the Private Use Area, where these put their icons.
    pub fn is_symbol(&self) -> bool {
        let f = self.family.to_ascii_lowercase();
        ["awesome", "nerd", "symbol", "icon", "powerline", "material"]
            .iter()
            .any(|k| f.contains(k))
    }
}

/// The installed faces and the configuration's aliases.
#[derive(Default)]
pub struct SystemFonts {
    /// Every face found, in directory order.
    pub faces: Vec<FaceInfo>,
    /// Alias name (lowercase) → the families it stands for, in order.
    pub aliases: Vec<(String, Vec<String>)>,
    /// How long reading the configuration and the faces' names took.
    pub scan_time: Duration,
    /// Font files that could not be read (for a message, not an error).
    pub unreadable: usize,
}

/// Extensions of font files (bitmap formats and compressed files are skipped).
const FONT_EXTS: [&str; 4] = ["ttf", "otf", "ttc", "otc"];

/// Files looked at, at most (a directory of a million files must not stall
/// start-up).
const MAX_FILES: usize = 20_000;

impl SystemFonts {
    /// Reads the fontconfig configuration (`$FONTCONFIG_FILE`, else
    /// `/etc/fonts/fonts.conf`, with its includes) and indexes the faces in
    /// its directories. Anything missing gives an empty index, never an error:
    /// the embedded face still draws.
    pub fn discover() -> SystemFonts {
        let start = Instant::now();
        let conf = std::env::var_os("FONTCONFIG_FILE")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/etc/fonts/fonts.conf"));
        let mut fc = fontconfig_parser::FontConfig::default();
        // A broken fonts.conf leaves whatever parsed before the error.
        let _ = fc.merge_config(&conf);
        let mut dirs: Vec<PathBuf> = fc.dirs.iter().map(|d| d.path.clone()).collect();
        if dirs.is_empty() {
            dirs.push(PathBuf::from("/usr/share/fonts"));
            if let Some(home) = std::env::var_os("HOME") {
                dirs.push(Path::new(&home).join(".local/share/fonts"));
            }
        }
        let mut aliases: Vec<(String, Vec<String>)> = Vec::new();
        for a in &fc.aliases {
            let key = a.alias.to_ascii_lowercase();
            let at = match aliases.iter().position(|(k, _)| *k == key) {
                Some(i) => i,
                None => {
                    aliases.push((key, Vec::new()));
                    aliases.len() - 1
                }
            };
            let list = &mut aliases[at].1;
            for f in a.prefer.iter().chain(&a.accept).chain(&a.default) {
                if !list.iter().any(|g| g.eq_ignore_ascii_case(f)) {
                    list.push(f.clone());
                }
            }
        }
        let mut sys = SystemFonts {
            aliases,
            ..SystemFonts::default()
        };
        let mut files = Vec::new();
        for d in &dirs {
            walk(d, &mut files, 0);
        }
        files.sort();
        files.dedup();
        for f in &files {
            if sys.index_file(f).is_err() {
                sys.unreadable += 1;
            }
        }
        sys.scan_time = start.elapsed();
        sys
    }

    fn index_file(&mut self, path: &Path) -> Result<(), ()> {
        let map = map_font_file(path).map_err(|_| ())?;
        let n = ttf_parser::fonts_in_collection(&map).unwrap_or(1).min(64);
        for index in 0..n {
            let Ok(face) = ttf_parser::Face::parse(&map, index) else {
                continue;
            };
            let Some(family) = family_name(&face) else {
                continue;
            };
            let t = face.tables();
            self.faces.push(FaceInfo {
                path: path.to_path_buf(),
                index,
                family,
                weight: face.weight().to_number(),
                italic: face.is_italic() || face.is_oblique(),
                color: t.cbdt.is_some() || t.sbix.is_some() || t.colr.is_some(),
            });
        }
        Ok(())
    }

    /// The families `name` stands for: an alias's list (`monospace`,
    /// `sans-serif`, `emoji`, …, as the configuration says), or `name` itself.
    pub fn expand(&self, name: &str) -> Vec<String> {
        let key = name.to_ascii_lowercase();
        let key = match key.as_str() {
            "sans" => "sans-serif".to_string(),
            "mono" => "monospace".to_string(),
            _ => key,
        };
        match self.aliases.iter().find(|(k, _)| *k == key) {
            Some((_, list)) => list.clone(),
            None => vec![name.to_string()],
        }
    }

    /// The installed face of `family` nearest to `weight`, upright first.
    pub fn find(&self, family: &str, weight: u16) -> Option<&FaceInfo> {
        self.faces
            .iter()
            .filter(|f| f.family.eq_ignore_ascii_case(family))
            .min_by_key(|f| (f.italic, (f.weight as i32 - weight as i32).abs()))
    }

    /// Resolves `name` (a family or an alias) to an installed face.
    pub fn resolve(&self, name: &str, weight: u16) -> Option<&FaceInfo> {
        if let Some(f) = self.find(name, weight) {
            return Some(f);
        }
        self.expand(name)
            .iter()
            .find_map(|fam| self.find(fam, weight))
    }

    /// The order in which installed faces are asked for a character the
    /// chosen ones lack: the `sans-serif` alias's families first (as
    /// fontconfig would sort them), then every other upright face, one face
    /// per family (the one nearest to `weight`).
    pub fn fallback_order(&self, weight: u16) -> Vec<usize> {
        let mut order = Vec::new();
        let mut seen: Vec<&str> = Vec::new();
        let mut push_family = |fam: &str, order: &mut Vec<usize>| {
            if seen.iter().any(|s| s.eq_ignore_ascii_case(fam)) {
                return;
            }
            if let Some(i) = self
                .faces
                .iter()
                .enumerate()
                .filter(|(_, f)| f.family.eq_ignore_ascii_case(fam))
                .min_by_key(|(_, f)| (f.italic, (f.weight as i32 - weight as i32).abs()))
                .map(|(i, _)| i)
            {
                order.push(i);
                seen.push(&self.faces[i].family);
            }
        };
        for fam in self.expand("sans-serif") {
            push_family(&fam, &mut order);
        }
        for f in &self.faces {
            push_family(&f.family, &mut order);
        }
        order
    }
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>, depth: u32) {
    if depth > 8 || out.len() >= MAX_FILES {
        return;
    }
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        if out.len() >= MAX_FILES {
            return;
        }
        let Ok(ft) = e.file_type() else { continue };
        let p = e.path();
        if ft.is_dir() {
            walk(&p, out, depth + 1);
        } else if ft.is_file() || ft.is_symlink() {
            let ext = p
                .extension()
                .and_then(|x| x.to_str())
                .map(|x| x.to_ascii_lowercase());
            if ext.is_some_and(|x| FONT_EXTS.contains(&x.as_str())) {
                out.push(p);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discovers_installed_fonts_and_aliases() {
        let sys = SystemFonts::discover();
        if sys.faces.is_empty() {
            println!("SKIPPED: no fonts installed");
            return;
        }
        println!(
            "{} faces in {:.1} ms",
            sys.faces.len(),
            sys.scan_time.as_secs_f64() * 1e3
        );
        // Debian's fonts-dejavu-core and its fontconfig aliases.
        if let Some(f) = sys.find("DejaVu Sans", 400) {
            assert_eq!(f.weight, 400);
            assert!(!f.italic);
            let bold = sys.find("dejavu sans", 700).unwrap();
            assert_eq!(bold.weight, 700);
            assert!(sys.resolve("monospace", 400).is_some());
            assert!(!sys.expand("sans-serif").is_empty());
        }
        let order = sys.fallback_order(400);
        assert!(!order.is_empty());
        let mut fams: Vec<&str> = order
            .iter()
            .map(|&i| sys.faces[i].family.as_str())
            .collect();
        let n = fams.len();
        fams.sort();
        fams.dedup();
        assert_eq!(fams.len(), n, "one face per family");
    }
}
