//! The installed fonts, as the system's fontconfig configuration lists them:
//! its directories and its family aliases (`monospace`, `sans-serif`, …),
//! read once at start-up and on reload, never per tick.
//!
//! What each face is called, its style and what it covers come from the
//! index kept between runs (`index.rs`); only a font directory that is new
//! or changed since has its files read, each mapped only long enough to
//! read its faces' names, style and character map, then unmapped.

use std::collections::{HashMap, HashSet};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

use rustybuzz::ttf_parser;

use super::face::{family_name, map_font_file};
use super::index::{self, ConfRecord, DirEntry, UNSETTLED};

/// One installed face.
#[derive(Clone, Debug, PartialEq)]
pub struct FaceInfo {
    /// The font file.
    pub path: PathBuf,
    /// Face index in a collection (0 for a plain file).
    pub index: u32,
    /// Family name, as the face names itself.
    pub family: String,
    /// Its other family names (legacy and typographic, every language),
    /// which fontconfig matches too.
    pub names: Vec<String>,
    /// Style name (`Bold`, `Condensed Italic`, …).
    pub style: String,
    /// OS/2 weight class (400 regular, 700 bold).
    pub weight: u16,
    /// OS/2 width class (5 normal, 3 condensed, 7 expanded).
    pub width: u16,
    /// Italic or oblique.
    pub italic: bool,
    /// Has colour glyphs (an emoji face).
    pub color: bool,
    /// The file's size and mtime when the face was read.
    pub stamp: Stamp,
    /// The characters it maps, as sorted disjoint ranges (the closest ones
    /// merged, so a face keeps at most [`MAX_RANGES`]): fallback passes over
    /// a face that cannot have a character without opening it, and asks
    /// the real character map of one that may.
    pub coverage: Box<[(u32, u32)]>,
}

/// A file's size and modification time.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stamp {
    /// Bytes.
    pub size: u64,
    /// Modification time, ns since the epoch.
    pub mtime: i64,
}

impl Stamp {
    fn of(meta: &std::fs::Metadata) -> Stamp {
        Stamp {
            size: meta.len(),
            mtime: mtime_ns(meta),
        }
    }
}

fn mtime_ns(meta: &std::fs::Metadata) -> i64 {
    meta.mtime()
        .saturating_mul(1_000_000_000)
        .saturating_add(meta.mtime_nsec())
}

/// Coverage ranges kept per face, at most.
pub const MAX_RANGES: usize = 16;

impl FaceInfo {
    /// An icon face (Font Awesome, Nerd Fonts, symbol faces): preferred for
    /// the Private Use Area, where these put their icons.
    pub fn is_symbol(&self) -> bool {
        let f = self.family.to_ascii_lowercase();
        ["awesome", "nerd", "symbol", "icon", "powerline", "material"]
            .iter()
            .any(|k| f.contains(k))
    }

    /// Whether `family` is one of this face's family names.
    pub fn is_named(&self, family: &str) -> bool {
        self.family.eq_ignore_ascii_case(family)
            || self.names.iter().any(|n| n.eq_ignore_ascii_case(family))
    }

    /// Whether the face may have `c` (its coverage says so; only its
    /// character map is sure).
    pub fn covers(&self, c: char) -> bool {
        covers(&self.coverage, c)
    }
}

/// How discovery used the index file (for the bench and tests).
#[derive(Clone, Debug, Default)]
pub struct IndexUse {
    /// The index file, when there is a place for one.
    pub file: Option<PathBuf>,
    /// Directories taken from it unchanged.
    pub dirs_reused: u32,
    /// Directories whose files were read (new, changed, or no usable index).
    pub dirs_scanned: u32,
    /// Bytes written when the file was (re)written.
    pub written: Option<usize>,
    /// The configuration came from it (none of its files changed).
    pub conf_reused: bool,
}

/// Where discovery keeps its index.
#[derive(Clone, Copy, Debug)]
pub enum IndexAt<'a> {
    /// `$XDG_CACHE_HOME/rstat/` (else `~/.cache/rstat/`).
    Default,
    /// This file.
    File(&'a Path),
    /// Nowhere: every face is read.
    Nowhere,
}

/// The installed faces and the configuration's aliases.
#[derive(Default)]
pub struct SystemFonts {
    /// Every face found, ordered by file and index.
    pub faces: Vec<FaceInfo>,
    /// Alias name (lowercase) → the families it stands for, in order.
    pub aliases: Vec<(String, Vec<String>)>,
    /// How long reading the configuration and the faces' names took.
    pub scan_time: Duration,
    /// Font files that could not be read (for a message, not an error).
    pub unreadable: usize,
    /// What the index file gave.
    pub index: IndexUse,
}

/// Extensions of font files (bitmap formats and compressed files are skipped).
const FONT_EXTS: [&str; 4] = ["ttf", "otf", "ttc", "otc"];

/// Files looked at, at most (a directory of a million files must not stall
/// start-up).
const MAX_FILES: usize = 20_000;

/// A directory changed this recently is read again next time: its mtime
/// cannot tell a file added in the same clock tick as the scan.
const SETTLE_NS: i64 = 2_000_000_000;

/// Said once per process: an index that cannot be written is no error.
static WRITE_REPORTED: AtomicBool = AtomicBool::new(false);

impl SystemFonts {
    /// Reads the fontconfig configuration (`$FONTCONFIG_FILE`, else
    /// `/etc/fonts/fonts.conf`, with its includes) and indexes the faces in
    /// its directories, through the index kept in the user's cache
    /// directory. Anything missing gives an empty index, never an error:
    /// the embedded face still draws.
    pub fn discover() -> SystemFonts {
        SystemFonts::discover_with(&SystemFonts::config_file(), IndexAt::Default)
    }

    /// The fontconfig configuration read: `$FONTCONFIG_FILE`, else
    /// `/etc/fonts/fonts.conf`.
    pub fn config_file() -> PathBuf {
        std::env::var_os("FONTCONFIG_FILE")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/etc/fonts/fonts.conf"))
    }

    /// [`SystemFonts::discover`] with the configuration file `conf` and the
    /// index `at`.
    pub fn discover_with(conf: &Path, at: IndexAt) -> SystemFonts {
        let start = Instant::now();
        let key = index::conf_key(conf);
        let file = match at {
            IndexAt::Default => index::default_path(conf),
            IndexAt::File(p) => Some(p.to_path_buf()),
            IndexAt::Nowhere => None,
        };
        let old = file.as_deref().and_then(index::load);
        let had_file = old.is_some();
        let old = old.unwrap_or_default();
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos().min(i64::MAX as u128) as i64);
        let (conf_rec, conf_reused) = match old.conf {
            Some(c) if c.key == key && conf_unchanged(&c) => (Some(c), true),
            _ => (read_config(conf, &key, now), false),
        };
        let (dirs, aliases) = match &conf_rec {
            Some(c) => (c.dirs.clone(), c.aliases.clone()),
            // Changing as it was read: used, not kept.
            None => {
                let c = parse_config(conf);
                (c.dirs, c.aliases)
            }
        };
        let mut scan = Scan {
            old: old.dirs.into_iter().map(|d| (d.path.clone(), d)).collect(),
            out: Vec::new(),
            seen: HashSet::new(),
            files: 0,
            reused: 0,
            scanned: 0,
            now,
        };
        for d in &dirs {
            scan.dir(d, 0);
        }
        let mut sys = SystemFonts {
            aliases,
            ..SystemFonts::default()
        };
        sys.index.conf_reused = conf_reused;
        sys.index.dirs_reused = scan.reused;
        sys.index.dirs_scanned = scan.scanned;
        let index = index::IndexFile {
            conf: conf_rec,
            dirs: scan.out,
        };
        // Rewritten when anything was read anew or an indexed directory is gone.
        if let Some(f) = &file {
            if !had_file || !conf_reused || scan.scanned > 0 || !scan.old.is_empty() {
                match index::store(f, &index) {
                    Ok(n) => sys.index.written = Some(n),
                    Err(e) => {
                        if !WRITE_REPORTED.swap(true, Ordering::Relaxed) {
                            eprintln!(
                                "rstat: cannot write the font index {}: {e}; fonts are read at each start",
                                f.display()
                            );
                        }
                    }
                }
            }
        }
        sys.index.file = file;
        for d in index.dirs {
            sys.unreadable += d.unreadable as usize;
            sys.faces.extend(d.faces);
        }
        // The order of a scan of every file, whatever came from the index.
        sys.faces
            .sort_by(|a, b| (&a.path, a.index).cmp(&(&b.path, b.index)));
        sys.faces
            .dedup_by(|a, b| a.path == b.path && a.index == b.index);
        sys.scan_time = start.elapsed();
        sys
    }

    /// Checks, once face `i` has been opened, that its file is the one
    /// indexed. A file rewritten in place leaves its directory's mtime as
    /// it was, so the index cannot see it; when one is seen here, the index
    /// is removed and every directory read again at the next start.
    pub fn check_opened(&self, i: usize) {
        let Some(f) = self.faces.get(i) else { return };
        let now = std::fs::metadata(&f.path).map(|m| Stamp::of(&m)).ok();
        if now != Some(f.stamp) {
            if let Some(file) = &self.index.file {
                let _ = std::fs::remove_file(file);
            }
        }
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
            .filter(|f| f.is_named(family))
            .min_by_key(|f| (f.italic, (f.weight as i32 - weight as i32).abs()))
    }

    /// The installed face of `family` nearest to the slant, `weight` and
    /// `width` asked (fontconfig's order: slant first, then weight, then
    /// width; `width` 0 is normal).
    pub fn find_style(
        &self,
        family: &str,
        weight: u16,
        italic: bool,
        width: u16,
    ) -> Option<&FaceInfo> {
        let width = if width == 0 { 5 } else { width } as i32;
        self.faces
            .iter()
            .filter(|f| f.is_named(family))
            .min_by_key(|f| {
                (
                    f.italic != italic,
                    (f.weight as i32 - weight as i32).abs(),
                    (f.width as i32 - width).abs(),
                )
            })
    }

    /// Where `info` sits in [`SystemFonts::faces`].
    pub fn position(&self, info: &FaceInfo) -> Option<usize> {
        self.faces
            .iter()
            .position(|f| f.path == info.path && f.index == info.index)
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

/// What per-character fallback keeps of the installed faces once the bar's
/// own are chosen: for each face of [`SystemFonts::faces`], in the same
/// order, where it is, its coverage, whether it is a colour or a symbol face
/// and its file's stamp; no names, styles or aliases (a font named later is
/// resolved against the index read again). One string holds every path
/// (faces of one file share theirs) and one vector every coverage range, so
/// a face costs 40 bytes and its ranges, not six heap blocks.
#[derive(Default)]
pub struct Installed {
    faces: Vec<Slim>,
    paths: Vec<u8>,
    ranges: Vec<(u32, u32)>,
    /// The index file (removed when an opened face's file changed).
    index_file: Option<PathBuf>,
    /// How long discovery took.
    pub scan_time: Duration,
}

/// One face of [`Installed`].
#[derive(Clone, Copy, Debug)]
pub struct Slim {
    path: (u32, u32),
    ranges: (u32, u16),
    /// Face index in a collection.
    pub index: u32,
    /// Has colour glyphs (an emoji face).
    pub color: bool,
    symbol: bool,
    stamp: Stamp,
}

impl Slim {
    /// An icon face ([`FaceInfo::is_symbol`]).
    pub fn is_symbol(&self) -> bool {
        self.symbol
    }
}

impl Installed {
    /// What fallback needs of `sys`.
    pub fn of(sys: &SystemFonts) -> Installed {
        let mut out = Installed {
            faces: Vec::with_capacity(sys.faces.len()),
            paths: Vec::new(),
            ranges: Vec::with_capacity(sys.faces.iter().map(|f| f.coverage.len()).sum()),
            index_file: sys.index.file.clone(),
            scan_time: sys.scan_time,
        };
        let mut last: Option<(&Path, (u32, u32))> = None;
        for f in &sys.faces {
            let path = match last {
                Some((p, at)) if p == f.path => at,
                _ => {
                    let start = out.paths.len() as u32;
                    out.paths.extend_from_slice(f.path.as_os_str().as_bytes());
                    (start, out.paths.len() as u32 - start)
                }
            };
            last = Some((&f.path, path));
            let start = out.ranges.len() as u32;
            out.ranges.extend_from_slice(&f.coverage);
            out.faces.push(Slim {
                path,
                ranges: (start, f.coverage.len() as u16),
                index: f.index,
                color: f.color,
                symbol: f.is_symbol(),
                stamp: f.stamp,
            });
        }
        out.paths.shrink_to_fit();
        out
    }

    /// How many faces.
    pub fn len(&self) -> usize {
        self.faces.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.faces.is_empty()
    }

    /// Face `i`.
    pub fn get(&self, i: usize) -> Option<&Slim> {
        self.faces.get(i)
    }

    /// The file of `f`.
    pub fn path(&self, f: &Slim) -> &Path {
        let (a, n) = (f.path.0 as usize, f.path.1 as usize);
        Path::new(std::ffi::OsStr::from_bytes(
            self.paths.get(a..a + n).unwrap_or(&[]),
        ))
    }

    /// Whether `f` may have `c` ([`FaceInfo::covers`]).
    pub fn covers(&self, f: &Slim, c: char) -> bool {
        let (a, n) = (f.ranges.0 as usize, f.ranges.1 as usize);
        covers(self.ranges.get(a..a + n).unwrap_or(&[]), c)
    }

    /// Where the face of `path` and `index` sits.
    pub fn position(&self, path: &Path, index: u32) -> Option<usize> {
        self.faces
            .iter()
            .position(|f| f.index == index && self.path(f) == path)
    }

    /// [`SystemFonts::check_opened`].
    pub fn check_opened(&self, i: usize) {
        let Some(f) = self.faces.get(i) else { return };
        let now = std::fs::metadata(self.path(f)).map(|m| Stamp::of(&m)).ok();
        if now != Some(f.stamp) {
            if let Some(file) = &self.index_file {
                let _ = std::fs::remove_file(file);
            }
        }
    }
}

/// Whether the sorted, disjoint `ranges` hold `c`.
fn covers(ranges: &[(u32, u32)], c: char) -> bool {
    let c = c as u32;
    ranges
        .binary_search_by(|&(a, b)| {
            if b < c {
                std::cmp::Ordering::Less
            } else if a > c {
                std::cmp::Ordering::Greater
            } else {
                std::cmp::Ordering::Equal
            }
        })
        .is_ok()
}

/// The fontconfig configuration `conf`, its includes followed: its
/// directories and aliases (no stamps).
fn parse_config(conf: &Path) -> ConfRecord {
    let mut fc = fontconfig_parser::FontConfig::default();
    // A broken fonts.conf leaves whatever parsed before the error.
    let _ = fc.merge_config(conf);
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
    let mut files: Vec<PathBuf> = fc.config_files.into_iter().collect();
    files.sort();
    ConfRecord {
        key: Vec::new(),
        stamps: files.into_iter().map(|f| (f, None)).collect(),
        dirs,
        aliases,
    }
}

/// [`parse_config`], with the stamp of every file read and of every path
/// its includes name (a directory's mtime tells a file added to it; a
/// missing one is recorded missing); `None` when one of them changed too
/// recently for its mtime to be trusted.
fn read_config(conf: &Path, key: &[u8], now: i64) -> Option<ConfRecord> {
    let mut rec = parse_config(conf);
    rec.key = key.to_vec();
    let mut paths: Vec<PathBuf> = vec![conf.to_path_buf()];
    for (f, _) in &rec.stamps {
        paths.push(f.clone());
        // Read a second time, warm: the parser does not say what it included.
        let Ok(text) = std::fs::read_to_string(f) else {
            continue;
        };
        for part in fontconfig_parser::parse_config_parts(&text)
            .into_iter()
            .flatten()
        {
            if let fontconfig_parser::ConfigPart::Include(inc) = part {
                paths.push(inc.calculate_path(f));
            }
        }
    }
    paths.sort();
    paths.dedup();
    let mut stamps = Vec::with_capacity(paths.len());
    for p in paths {
        let st = std::fs::metadata(&p).ok().map(|m| Stamp::of(&m));
        if st.is_some_and(|s| now.saturating_sub(s.mtime) < SETTLE_NS) {
            return None;
        }
        stamps.push((p, st));
    }
    rec.stamps = stamps;
    Some(rec)
}

/// Whether every file and path `rec` recorded is as it was.
fn conf_unchanged(rec: &ConfRecord) -> bool {
    !rec.stamps.is_empty()
        && rec
            .stamps
            .iter()
            .all(|(p, st)| std::fs::metadata(p).ok().map(|m| Stamp::of(&m)) == *st)
}

/// One discovery's walk over the font directories.
struct Scan {
    /// The index's entries not visited yet.
    old: HashMap<PathBuf, DirEntry>,
    out: Vec<DirEntry>,
    seen: HashSet<PathBuf>,
    files: usize,
    reused: u32,
    scanned: u32,
    /// ns since the epoch.
    now: i64,
}

impl Scan {
    fn dir(&mut self, dir: &Path, depth: u32) {
        if depth > 8 || self.files >= MAX_FILES || self.seen.contains(dir) {
            return;
        }
        let Ok(meta) = std::fs::metadata(dir) else {
            return;
        };
        if !meta.is_dir() {
            return;
        }
        self.seen.insert(dir.to_path_buf());
        let mtime = mtime_ns(&meta);
        if let Some(e) = self.old.remove(dir) {
            if e.mtime == mtime && e.mtime != UNSETTLED {
                self.reused += 1;
                self.files += e.faces.len();
                let subdirs: Vec<PathBuf> = e.subdirs.iter().map(|s| dir.join(s)).collect();
                self.out.push(e);
                for s in subdirs {
                    self.dir(&s, depth + 1);
                }
                return;
            }
        }
        self.scanned += 1;
        let mut files = Vec::new();
        let mut subdirs = Vec::new();
        if let Ok(rd) = std::fs::read_dir(dir) {
            for e in rd.flatten() {
                if self.files + files.len() >= MAX_FILES {
                    break;
                }
                let Ok(ft) = e.file_type() else { continue };
                if ft.is_dir() {
                    subdirs.push(PathBuf::from(e.file_name()));
                } else if ft.is_file() || ft.is_symlink() {
                    let p = e.path();
                    let ext = p
                        .extension()
                        .and_then(|x| x.to_str())
                        .map(|x| x.to_ascii_lowercase());
                    if ext.is_some_and(|x| FONT_EXTS.contains(&x.as_str())) {
                        files.push(p);
                    }
                }
            }
        }
        files.sort();
        subdirs.sort();
        self.files += files.len();
        let mut entry = DirEntry {
            path: dir.to_path_buf(),
            // Trusted next time only once it is old enough to be settled.
            mtime: if self.now.saturating_sub(mtime) >= SETTLE_NS {
                mtime
            } else {
                UNSETTLED
            },
            subdirs,
            faces: Vec::new(),
            unreadable: 0,
        };
        for f in &files {
            if read_faces(f, &mut entry.faces).is_err() {
                entry.unreadable += 1;
            }
        }
        let subdirs: Vec<PathBuf> = entry.subdirs.iter().map(|s| dir.join(s)).collect();
        self.out.push(entry);
        for s in subdirs {
            self.dir(&s, depth + 1);
        }
    }
}

/// Reads the faces of the font file `path` into `out`.
pub(super) fn read_faces(path: &Path, out: &mut Vec<FaceInfo>) -> Result<(), ()> {
    let map = map_font_file(path).map_err(|_| ())?;
    // Every face's names, OS/2 and character maps are read: the kernel's
    // read-around serves that better than the few pages a bar touches
    // (with random reads a cold build took 0.7-1.0 s, 0.3-0.6 s without).
    let _ = map.advise(memmap2::Advice::Normal);
    let stamp = std::fs::metadata(path).map_err(|_| ())?;
    let stamp = Stamp::of(&stamp);
    let n = ttf_parser::fonts_in_collection(&map).unwrap_or(1).min(64);
    for index in 0..n {
        let Ok(face) = ttf_parser::Face::parse(&map, index) else {
            continue;
        };
        let Some(family) = family_name(&face) else {
            continue;
        };
        let t = face.tables();
        out.push(FaceInfo {
            path: path.to_path_buf(),
            index,
            names: other_names(&face, &family),
            family,
            style: style_name(&face),
            weight: face.weight().to_number(),
            width: face.width().to_number(),
            italic: face.is_italic() || face.is_oblique(),
            color: t.cbdt.is_some() || t.sbix.is_some() || t.colr.is_some(),
            stamp,
            coverage: coverage(&face),
        });
    }
    Ok(())
}

/// The face's family names besides `family`, every language.
fn other_names(face: &ttf_parser::Face, family: &str) -> Vec<String> {
    use ttf_parser::name_id;
    let mut out: Vec<String> = Vec::new();
    for n in face.names() {
        if n.name_id != name_id::TYPOGRAPHIC_FAMILY && n.name_id != name_id::FAMILY {
            continue;
        }
        let Some(s) = n.to_string() else { continue };
        if s.is_empty()
            || s.eq_ignore_ascii_case(family)
            || out.iter().any(|o| o.eq_ignore_ascii_case(&s))
        {
            continue;
        }
        out.push(s);
    }
    out
}

/// The face's style name (typographic subfamily, else the legacy one).
fn style_name(face: &ttf_parser::Face) -> String {
    use ttf_parser::name_id;
    for id in [name_id::TYPOGRAPHIC_SUBFAMILY, name_id::SUBFAMILY] {
        for n in face.names() {
            if n.name_id == id {
                if let Some(s) = n.to_string() {
                    return s;
                }
            }
        }
    }
    String::new()
}

/// What the face's Unicode character maps cover, in at most [`MAX_RANGES`]
/// ranges (the smallest gaps closed first: a face may then seem to have a
/// character it lacks, which its real map tells when it is opened, never
/// the other way round). Read from the maps' segments, not looked up per
/// character: a segment whose characters map to the missing glyph is rare
/// and costs no more than a gap closed.
fn coverage(face: &ttf_parser::Face) -> Box<[(u32, u32)]> {
    let Some(cmap) = face.tables().cmap else {
        return Box::new([]);
    };
    let mut ranges: Vec<(u32, u32)> = Vec::new();
    for st in cmap.subtables {
        if !st.is_unicode() {
            continue;
        }
        // A map lists its characters in order: consecutive ones join (the
        // sort below merges what several maps overlap).
        st.codepoints(|cp| {
            if cp > 0x10FFFF {
                return;
            }
            match ranges.last_mut() {
                Some(r) if r.1.wrapping_add(1) == cp => r.1 = cp,
                Some(r) if r.0 <= cp && cp <= r.1 => {}
                _ => ranges.push((cp, cp)),
            }
        });
    }
    ranges.sort_unstable();
    let mut out: Vec<(u32, u32)> = Vec::with_capacity(ranges.len());
    for r in ranges {
        match out.last_mut() {
            Some(last) if r.0 <= last.1.saturating_add(1) => last.1 = last.1.max(r.1),
            _ => out.push(r),
        }
    }
    merge_ranges(&mut out, MAX_RANGES);
    out.into_boxed_slice()
}

/// Closes the smallest gaps of the sorted, disjoint `ranges` until at most
/// `max` remain.
fn merge_ranges(ranges: &mut Vec<(u32, u32)>, max: usize) {
    if ranges.len() <= max || max == 0 {
        return;
    }
    let mut gaps: Vec<u32> = ranges.windows(2).map(|w| w[1].0 - w[0].1).collect();
    // Closing every gap up to the (n - max)-th smallest leaves ≤ max.
    let k = ranges.len() - max - 1;
    let limit = *gaps.select_nth_unstable(k).1;
    let mut out: Vec<(u32, u32)> = Vec::with_capacity(max);
    for &r in ranges.iter() {
        match out.last_mut() {
            Some(last) if r.0 - last.1 <= limit => last.1 = r.1,
            _ => out.push(r),
        }
    }
    *ranges = out;
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
            assert!(f.covers('A') && !f.covers('日'));
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

    #[test]
    fn a_style_picks_the_face_of_that_slant_weight_and_width() {
        let sys = SystemFonts::discover();
        if sys.find("DejaVu Sans", 400).is_none() {
            assert!(
                std::env::var("RSTAT_REQUIRE_E2E").map_or(true, |v| v != "1"),
                "fonts-dejavu-core is not installed"
            );
            println!("SKIPPED: fonts-dejavu-core is not installed");
            return;
        }
        let file = |w, i, s| {
            let f = sys.find_style("DejaVu Sans", w, i, s).unwrap();
            f.path.file_name().unwrap().to_string_lossy().into_owned()
        };
        assert_eq!(file(400, false, 0), "DejaVuSans.ttf");
        assert_eq!(file(700, true, 0), "DejaVuSans-BoldOblique.ttf");
        assert_eq!(file(400, false, 3), "DejaVuSansCondensed.ttf");
        assert_eq!(file(700, false, 3), "DejaVuSansCondensed-Bold.ttf");
        assert_eq!(file(200, false, 5), "DejaVuSans-ExtraLight.ttf");
    }

    #[test]
    fn merged_ranges_keep_the_widest_gaps_and_cover_everything() {
        let mut r = vec![(0x20, 0x7E), (0xA0, 0xFF), (0x100, 0x17F), (0x2000, 0x206F)];
        merge_ranges(&mut r, 2);
        assert_eq!(r, vec![(0x20, 0x17F), (0x2000, 0x206F)]);
        let mut one = vec![(1, 1), (3, 3), (5, 5)];
        merge_ranges(&mut one, 1);
        assert_eq!(one, vec![(1, 5)]);
        let mut many: Vec<(u32, u32)> = (0..1000).map(|i| (i * 10, i * 10 + 3)).collect();
        merge_ranges(&mut many, MAX_RANGES);
        assert!(many.len() <= MAX_RANGES);
        assert_eq!((many[0].0, many.last().unwrap().1), (0, 9993));
    }
}
