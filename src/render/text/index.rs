//! The installed faces' index, kept between runs as fontconfig keeps its
//! caches: one entry per font directory, valid while the directory's mtime
//! is the one recorded (adding, removing or renaming a file in a directory
//! changes its mtime), so a start-up stats the directories, not every file,
//! and reads no font's tables. A directory whose mtime changed is rescanned
//! alone.
//!
//! The fontconfig configuration itself (its directories and aliases) is
//! kept too, with the size and mtime of every file it read and every path
//! it included (present or missing): reading and parsing its few dozen XML
//! files is most of what a cold start-up would otherwise spend, and a stat
//! of each tells whether any changed.
//!
//! The file is `$XDG_CACHE_HOME/rstat/fonts-<hash of the configuration
//! file's path>.idx` (else `~/.cache/rstat/`), written to a
//! temporary name and renamed, and checked when read: magic, version,
//! length and a checksum of the rest. A file that fails any check is
//! ignored — the configuration read and the faces scanned as without it,
//! and the file rewritten — never an error.

use std::ffi::OsStr;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use super::system::{FaceInfo, Stamp};

/// First bytes of the file.
const MAGIC: &[u8; 8] = b"RSTATFNT";

/// Bumped whenever the layout below (or what a scan records) changes: a
/// file of another version is rebuilt.
pub const VERSION: u32 = 1;

/// Magic, version, payload length, checksum.
const HEADER: usize = 8 + 4 + 4 + 8;

/// Largest index file read (a few hundred bytes per face).
const MAX_FILE: usize = 64 << 20;

/// An mtime that never matches: the directory changed too recently for
/// its mtime to be trusted (a file added in the same clock tick as the
/// scan would leave it equal), so it is scanned again next time.
pub const UNSETTLED: i64 = i64::MIN;

/// What the index file holds.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct IndexFile {
    /// The configuration as last read, if it was settled then.
    pub conf: Option<ConfRecord>,
    /// The font directories as last scanned.
    pub dirs: Vec<DirEntry>,
}

/// The fontconfig configuration as last read.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ConfRecord {
    /// The configuration file and the environment that resolved its paths
    /// ([`conf_key`]).
    pub key: Vec<u8>,
    /// Every file read and path included, with its stamp then (`None`:
    /// it did not exist).
    pub stamps: Vec<(PathBuf, Option<Stamp>)>,
    /// Its font directories.
    pub dirs: Vec<PathBuf>,
    /// Its aliases (lowercase name, families in order).
    pub aliases: Vec<(String, Vec<String>)>,
}

/// What resolves the configuration `conf`'s paths besides its files: its
/// own path and the variables fontconfig expands (`~`, `prefix="xdg"`).
pub fn conf_key(conf: &Path) -> Vec<u8> {
    let mut k = conf.as_os_str().as_bytes().to_vec();
    for var in ["HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME"] {
        k.push(0);
        if let Some(v) = std::env::var_os(var) {
            k.extend_from_slice(v.as_bytes());
        }
    }
    k
}

/// One directory as last scanned.
#[derive(Clone, Debug, PartialEq)]
pub struct DirEntry {
    /// The directory.
    pub path: PathBuf,
    /// Its mtime (ns since the epoch) when it was scanned, or [`UNSETTLED`].
    pub mtime: i64,
    /// Its subdirectories' names.
    pub subdirs: Vec<PathBuf>,
    /// Faces of the font files directly in it.
    pub faces: Vec<FaceInfo>,
    /// Font files in it that could not be read.
    pub unreadable: u32,
}

/// Where the index for the configuration file `conf` lives, or `None`
/// when neither `$XDG_CACHE_HOME` nor `$HOME` says. Named by the file
/// alone, not by the environment that resolves its paths (that is checked
/// inside): programs of one session with their own `$XDG_CONFIG_HOME`
/// share one index rather than leave one each.
pub fn default_path(conf: &Path) -> Option<PathBuf> {
    let base = match std::env::var_os("XDG_CACHE_HOME").map(PathBuf::from) {
        Some(p) if p.is_absolute() => p,
        _ => Path::new(&std::env::var_os("HOME")?).join(".cache"),
    };
    let name = format!("fonts-{:016x}.idx", checksum(conf.as_os_str().as_bytes()));
    Some(base.join("rstat").join(name))
}

/// The index file at `path`; `None` when it is missing or fails a check.
pub fn load(path: &Path) -> Option<IndexFile> {
    use std::io::Read;
    let f = std::fs::File::open(path).ok()?;
    let mut bytes = Vec::new();
    f.take(MAX_FILE as u64 + 1).read_to_end(&mut bytes).ok()?;
    decode(&bytes)
}

/// Writes `index` to `path` atomically (a temporary file in the same
/// directory, then renamed over it); the bytes written.
pub fn store(path: &Path, index: &IndexFile) -> std::io::Result<usize> {
    let bytes = encode(index);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".{}.tmp", std::process::id()));
    let tmp = PathBuf::from(tmp);
    let written = std::fs::File::create(&tmp)
        .and_then(|mut f| f.write_all(&bytes))
        .and_then(|()| std::fs::rename(&tmp, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written.map(|()| bytes.len())
}

/// The file's bytes for `index`.
pub fn encode(index: &IndexFile) -> Vec<u8> {
    let dirs = &index.dirs;
    let mut p = Vec::with_capacity(256 * dirs.iter().map(|d| d.faces.len() + 1).sum::<usize>());
    match &index.conf {
        None => p.push(0),
        Some(c) => {
            p.push(1);
            put_bytes(&mut p, &c.key);
            put_u32(&mut p, c.stamps.len() as u32);
            for (path, st) in &c.stamps {
                put_bytes(&mut p, path.as_os_str().as_bytes());
                let st = st.unwrap_or(Stamp {
                    size: u64::MAX,
                    mtime: UNSETTLED,
                });
                put_u64(&mut p, st.size);
                put_u64(&mut p, st.mtime as u64);
            }
            put_u32(&mut p, c.dirs.len() as u32);
            for d in &c.dirs {
                put_bytes(&mut p, d.as_os_str().as_bytes());
            }
            put_u32(&mut p, c.aliases.len() as u32);
            for (name, fams) in &c.aliases {
                put_bytes(&mut p, name.as_bytes());
                put_u32(&mut p, fams.len() as u32);
                for f in fams {
                    put_bytes(&mut p, f.as_bytes());
                }
            }
        }
    }
    put_u32(&mut p, dirs.len() as u32);
    for d in dirs {
        put_bytes(&mut p, d.path.as_os_str().as_bytes());
        put_u64(&mut p, d.mtime as u64);
        put_u32(&mut p, d.unreadable);
        put_u32(&mut p, d.subdirs.len() as u32);
        for s in &d.subdirs {
            put_bytes(&mut p, s.as_os_str().as_bytes());
        }
        put_u32(&mut p, d.faces.len() as u32);
        for f in &d.faces {
            let name = f.path.file_name().unwrap_or_default();
            put_bytes(&mut p, name.as_bytes());
            put_u32(&mut p, f.index);
            put_u64(&mut p, f.stamp.size);
            put_u64(&mut p, f.stamp.mtime as u64);
            put_u16(&mut p, f.weight);
            put_u16(&mut p, f.width);
            p.push(u8::from(f.italic) | u8::from(f.color) << 1);
            put_bytes(&mut p, f.family.as_bytes());
            p.push(f.names.len().min(255) as u8);
            for n in f.names.iter().take(255) {
                put_bytes(&mut p, n.as_bytes());
            }
            put_bytes(&mut p, f.style.as_bytes());
            put_u16(&mut p, f.coverage.len() as u16);
            for &(a, b) in f.coverage.iter() {
                put_u32(&mut p, a);
                put_u32(&mut p, b);
            }
        }
    }
    let mut out = Vec::with_capacity(HEADER + p.len());
    out.extend_from_slice(MAGIC);
    put_u32(&mut out, VERSION);
    put_u32(&mut out, p.len() as u32);
    put_u64(&mut out, checksum(&p));
    out.extend_from_slice(&p);
    out
}

/// The index in `bytes`, or `None` unless every check passes and every
/// record is well formed (so a damaged file is never half used).
pub fn decode(bytes: &[u8]) -> Option<IndexFile> {
    if bytes.len() < HEADER || bytes.len() > MAX_FILE || &bytes[..8] != MAGIC {
        return None;
    }
    let mut h = Rd(&bytes[8..HEADER]);
    if h.u32()? != VERSION {
        return None;
    }
    let len = h.u32()? as usize;
    let sum = h.u64()?;
    let payload = &bytes[HEADER..];
    if payload.len() != len || checksum(payload) != sum {
        return None;
    }
    let mut r = Rd(payload);
    let conf = match r.u8()? {
        0 => None,
        1 => {
            let key = r.bytes()?.to_vec();
            let n = r.count(18)?;
            let mut stamps = Vec::with_capacity(n);
            for _ in 0..n {
                let path = PathBuf::from(OsStr::from_bytes(r.bytes()?));
                let (size, mtime) = (r.u64()?, r.u64()? as i64);
                let st = (size != u64::MAX || mtime != UNSETTLED).then_some(Stamp { size, mtime });
                stamps.push((path, st));
            }
            let n = r.count(2)?;
            let mut dirs = Vec::with_capacity(n);
            for _ in 0..n {
                dirs.push(PathBuf::from(OsStr::from_bytes(r.bytes()?)));
            }
            let n = r.count(6)?;
            let mut aliases = Vec::with_capacity(n);
            for _ in 0..n {
                let name = r.string()?;
                let m = r.count(2)?;
                let mut fams = Vec::with_capacity(m);
                for _ in 0..m {
                    fams.push(r.string()?);
                }
                aliases.push((name, fams));
            }
            Some(ConfRecord {
                key,
                stamps,
                dirs,
                aliases,
            })
        }
        _ => return None,
    };
    let n = r.count(23)?;
    let mut dirs = Vec::with_capacity(n);
    for _ in 0..n {
        let path = PathBuf::from(OsStr::from_bytes(r.bytes()?));
        if !path.is_absolute() {
            return None;
        }
        let mtime = r.u64()? as i64;
        let unreadable = r.u32()?;
        let ns = r.count(3)?;
        let mut subdirs = Vec::with_capacity(ns);
        for _ in 0..ns {
            subdirs.push(PathBuf::from(OsStr::from_bytes(plain_name(r.bytes()?)?)));
        }
        let nf = r.count(35)?;
        let mut faces = Vec::with_capacity(nf);
        for _ in 0..nf {
            let file = plain_name(r.bytes()?)?;
            let index = r.u32()?;
            let stamp = Stamp {
                size: r.u64()?,
                mtime: r.u64()? as i64,
            };
            let weight = r.u16()?;
            let width = r.u16()?;
            let flags = r.u8()?;
            let family = r.string()?;
            let nn = r.u8()? as usize;
            let mut names = Vec::with_capacity(nn.min(r.0.len() / 4));
            for _ in 0..nn {
                names.push(r.string()?);
            }
            let style = r.string()?;
            let nc = r.u16()? as usize;
            let mut coverage = Vec::with_capacity(nc.min(r.0.len() / 8));
            let mut last = None;
            for _ in 0..nc {
                let (a, b) = (r.u32()?, r.u32()?);
                // Sorted, disjoint, within Unicode: what `covers` searches.
                if a > b || b > 0x10FFFF || last.is_some_and(|l| a <= l) {
                    return None;
                }
                last = Some(b);
                coverage.push((a, b));
            }
            faces.push(FaceInfo {
                path: path.join(OsStr::from_bytes(file)),
                index,
                family,
                names,
                style,
                weight,
                width,
                italic: flags & 1 != 0,
                color: flags & 2 != 0,
                stamp,
                coverage: coverage.into_boxed_slice(),
            });
        }
        dirs.push(DirEntry {
            path,
            mtime,
            subdirs,
            faces,
            unreadable,
        });
    }
    r.0.is_empty().then_some(IndexFile { conf, dirs })
}

/// A file or directory name with no separator (a damaged index must not
/// point anywhere but inside its directory).
fn plain_name(b: &[u8]) -> Option<&[u8]> {
    (!b.is_empty() && !b.contains(&b'/') && b != b"." && b != b"..").then_some(b)
}

/// FNV-1a, 64 bits: catches a damaged file (this is no defence against a
/// forged one, which the user's own cache directory does not need).
#[derive(Clone, Copy)]
struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv {
    fn write(&mut self, b: &[u8]) {
        for &x in b {
            self.0 = (self.0 ^ x as u64).wrapping_mul(0x0100_0000_01b3);
        }
    }
}

fn checksum(b: &[u8]) -> u64 {
    let mut h = Fnv::default();
    h.write(b);
    h.0
}

fn put_u16(o: &mut Vec<u8>, v: u16) {
    o.extend_from_slice(&v.to_le_bytes());
}

fn put_u32(o: &mut Vec<u8>, v: u32) {
    o.extend_from_slice(&v.to_le_bytes());
}

fn put_u64(o: &mut Vec<u8>, v: u64) {
    o.extend_from_slice(&v.to_le_bytes());
}

fn put_bytes(o: &mut Vec<u8>, b: &[u8]) {
    let b = &b[..b.len().min(u16::MAX as usize)];
    put_u16(o, b.len() as u16);
    o.extend_from_slice(b);
}

/// Reads the payload front to back; every read is checked.
struct Rd<'a>(&'a [u8]);

impl<'a> Rd<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Some(a)
    }
    fn u8(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }
    fn u16(&mut self) -> Option<u16> {
        Some(u16::from_le_bytes(self.take(2)?.try_into().ok()?))
    }
    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }
    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
    fn bytes(&mut self) -> Option<&'a [u8]> {
        let n = self.u16()? as usize;
        self.take(n)
    }
    fn string(&mut self) -> Option<String> {
        std::str::from_utf8(self.bytes()?).ok().map(str::to_string)
    }
    /// A count of records at least `min` bytes each: one that could not
    /// fit in what is left is damage (and must not size an allocation).
    fn count(&mut self, min: usize) -> Option<usize> {
        let n = self.u32()? as usize;
        (n.saturating_mul(min) <= self.0.len()).then_some(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::text::system::{IndexAt, SystemFonts};
    use std::time::{Duration, SystemTime};

    const DEJAVU: &str = "/usr/share/fonts/truetype/dejavu";

    /// A font directory of its own (real Debian fonts copied in) with its
    /// own fonts.conf, and where its index goes.
    struct Fixture {
        root: PathBuf,
    }

    impl Drop for Fixture {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.root);
        }
    }

    impl Fixture {
        /// `dirs`: subdirectory → font files (from fonts-dejavu-core) in it.
        /// `None` when those fonts are not installed (skipped, unless CI
        /// demands every test runs).
        fn new(tag: &str, dirs: &[(&str, &[&str])]) -> Option<Fixture> {
            let have = dirs
                .iter()
                .flat_map(|(_, f)| f.iter())
                .all(|f| Path::new(DEJAVU).join(f).exists());
            if !have {
                assert!(
                    std::env::var("RSTAT_REQUIRE_E2E").map_or(true, |v| v != "1"),
                    "fonts-dejavu-core is not installed"
                );
                eprintln!("SKIPPED: fonts-dejavu-core is not installed");
                return None;
            }
            let root =
                std::env::temp_dir().join(format!("rstat-font-index-{tag}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&root);
            std::fs::create_dir_all(&root).unwrap();
            let fx = Fixture { root };
            let mut conf = String::from("<?xml version=\"1.0\"?>\n<fontconfig>\n");
            for (d, files) in dirs {
                let dir = fx.root.join(d);
                std::fs::create_dir_all(&dir).unwrap();
                for f in *files {
                    std::fs::copy(Path::new(DEJAVU).join(f), dir.join(f)).unwrap();
                }
                conf += &format!("<dir>{}</dir>\n", dir.display());
            }
            conf += "<alias><family>sans-serif</family><prefer><family>DejaVu Sans</family></prefer></alias>\n</fontconfig>\n";
            std::fs::write(fx.conf(), conf).unwrap();
            for (d, _) in dirs {
                fx.age(d, 60);
            }
            fx.age("fonts.conf", 60);
            Some(fx)
        }
        fn conf(&self) -> PathBuf {
            self.root.join("fonts.conf")
        }
        fn index(&self) -> PathBuf {
            self.root.join("cache/rstat/fonts.idx")
        }
        /// Sets `rel`'s mtime `secs` in the past: old enough to be trusted.
        fn age(&self, rel: &str, secs: u64) {
            let t = SystemTime::now() - Duration::from_secs(secs);
            std::fs::File::open(self.root.join(rel))
                .and_then(|f| f.set_modified(t))
                .unwrap();
        }
        fn discover(&self) -> SystemFonts {
            SystemFonts::discover_with(&self.conf(), IndexAt::File(&self.index()))
        }
        /// What a scan with no index finds.
        fn scan(&self) -> SystemFonts {
            SystemFonts::discover_with(&self.conf(), IndexAt::Nowhere)
        }
    }

    fn same_faces(a: &SystemFonts, b: &SystemFonts) {
        assert_eq!(a.faces, b.faces);
        assert_eq!(a.aliases, b.aliases);
        assert_eq!(a.unreadable, b.unreadable);
    }

    #[test]
    fn the_index_round_trips_and_a_second_start_reads_no_font() {
        let Some(fx) = Fixture::new(
            "trip",
            &[("fonts", &["DejaVuSans.ttf", "DejaVuSans-Bold.ttf"])],
        ) else {
            return;
        };
        let first = fx.discover();
        assert_eq!(first.faces.len(), 2);
        assert_eq!((first.index.dirs_scanned, first.index.dirs_reused), (1, 0));
        assert!(first.index.written.is_some());
        let bytes = std::fs::read(fx.index()).unwrap();
        let decoded = decode(&bytes).expect("the file just written decodes");
        assert_eq!(encode(&decoded), bytes);
        assert!(decoded.conf.is_some(), "the settled configuration is kept");
        let second = fx.discover();
        assert_eq!(
            (second.index.dirs_scanned, second.index.dirs_reused),
            (0, 1)
        );
        assert!(second.index.conf_reused);
        assert!(
            second.index.written.is_none(),
            "nothing changed, nothing written"
        );
        same_faces(&second, &fx.scan());
        let sans = second.find("DejaVu Sans", 400).unwrap();
        assert!(sans.covers('A') && sans.covers('ж') && !sans.covers('日'));
        assert_eq!(second.find("DejaVu Sans", 700).unwrap().weight, 700);
        assert_eq!(
            second.resolve("sans-serif", 400).unwrap().family,
            "DejaVu Sans"
        );
    }

    #[test]
    fn every_damaged_index_is_refused_and_a_scan_gives_the_same_faces() {
        let Some(fx) = Fixture::new("damage", &[("fonts", &["DejaVuSans.ttf"])]) else {
            return;
        };
        let scan = fx.scan();
        fx.discover();
        let good = std::fs::read(fx.index()).unwrap();
        assert!(decode(&good).is_some());
        // Truncated at every length, and every byte flipped.
        for len in 0..good.len() {
            assert!(decode(&good[..len]).is_none(), "truncated at {len}");
        }
        for i in 0..good.len() {
            let mut bad = good.clone();
            bad[i] ^= 0x5A;
            assert!(decode(&bad).is_none(), "byte {i} flipped");
        }
        let mut other_version = good.clone();
        other_version[8..12].copy_from_slice(&(VERSION + 1).to_le_bytes());
        assert!(decode(&other_version).is_none());
        // Each kind of damage on disk: the faces of a scan, and a good
        // index written again.
        let step = (good.len() / 24).max(1);
        let mut damaged: Vec<Vec<u8>> = (0..good.len())
            .step_by(step)
            .map(|n| good[..n].to_vec())
            .collect();
        for i in (0..good.len()).step_by(step) {
            let mut bad = good.clone();
            bad[i] ^= 0xFF;
            damaged.push(bad);
        }
        damaged.push(other_version);
        damaged.push(b"not an index at all".to_vec());
        for bad in damaged {
            std::fs::write(fx.index(), &bad).unwrap();
            let got = fx.discover();
            assert_eq!(got.index.dirs_scanned, 1);
            same_faces(&got, &scan);
            assert_eq!(std::fs::read(fx.index()).unwrap(), good, "rewritten");
        }
    }

    #[test]
    fn records_that_pass_the_checksum_but_make_no_sense_are_refused_without_panic() {
        let Some(fx) = Fixture::new("sense", &[("fonts", &["DejaVuSans.ttf"])]) else {
            return;
        };
        fx.discover();
        let good = std::fs::read(fx.index()).unwrap();
        for i in HEADER..good.len() {
            for x in [0x01, 0x80, 0xFF] {
                let mut bad = good.clone();
                bad[i] ^= x;
                let sum = checksum(&bad[HEADER..]);
                bad[16..24].copy_from_slice(&sum.to_le_bytes());
                if let Some(idx) = decode(&bad) {
                    // What decodes is well formed.
                    for f in idx.dirs.iter().flat_map(|d| &d.faces) {
                        assert!(f.coverage.windows(2).all(|w| w[0].1 < w[1].0));
                        assert!(f.path.starts_with(&idx.dirs[0].path));
                    }
                }
            }
        }
    }

    #[test]
    fn only_the_changed_directory_is_read_again_and_a_newer_one_never_uses_the_index() {
        let Some(fx) = Fixture::new(
            "dirs",
            &[("a", &["DejaVuSans.ttf"]), ("b", &["DejaVuSans-Bold.ttf"])],
        ) else {
            return;
        };
        fx.discover();
        // A face planted in each directory's entry (mtimes kept): seen, so
        // the index is what answered.
        let mut idx = decode(&std::fs::read(fx.index()).unwrap()).unwrap();
        for d in &mut idx.dirs {
            let mut f = d.faces[0].clone();
            f.family = "Planted".into();
            f.path = d.path.join("planted.ttf");
            d.faces.push(f);
        }
        store(&fx.index(), &idx).unwrap();
        let got = fx.discover();
        assert_eq!(
            got.faces.iter().filter(|f| f.family == "Planted").count(),
            2
        );
        // Directory a is now newer than its entry: read again, alone.
        fx.age("a", 30);
        let got = fx.discover();
        assert_eq!((got.index.dirs_scanned, got.index.dirs_reused), (1, 1));
        let planted: Vec<&Path> = got
            .faces
            .iter()
            .filter(|f| f.family == "Planted")
            .map(|f| f.path.parent().unwrap())
            .collect();
        assert_eq!(planted, vec![fx.root.join("b").as_path()]);
        // A face file removed: its directory's mtime moves, the face goes.
        std::fs::remove_file(fx.root.join("a/DejaVuSans.ttf")).unwrap();
        let got = fx.discover();
        assert!(got
            .find("DejaVu Sans", 400)
            .is_some_and(|f| f.weight == 700));
        assert!(got
            .faces
            .iter()
            .all(|f| !f.path.starts_with(fx.root.join("a"))));
        // Just changed: not trusted, so read again at every start until
        // it has settled.
        let again = fx.discover();
        assert_eq!(again.index.dirs_scanned, 1);
        fx.age("b", 20);
        let scan = fx.scan();
        same_faces(&fx.discover(), &scan);
    }

    #[test]
    fn a_changed_configuration_is_read_again() {
        let Some(fx) = Fixture::new("conf", &[("fonts", &["DejaVuSans.ttf"])]) else {
            return;
        };
        fx.discover();
        assert!(fx.discover().index.conf_reused);
        let conf = std::fs::read_to_string(fx.conf()).unwrap();
        std::fs::write(
            fx.conf(),
            conf.replace("</fontconfig>", "<alias><family>monospace</family><prefer><family>DejaVu Sans</family></prefer></alias></fontconfig>"),
        )
        .unwrap();
        let got = fx.discover();
        assert!(!got.index.conf_reused);
        assert!(got.aliases.iter().any(|(k, _)| k == "monospace"));
        // A file it includes appearing later is seen too.
        fx.age("fonts.conf", 60);
        std::fs::write(
            fx.conf(),
            conf.replace(
                "</fontconfig>",
                &format!(
                    "<include ignore_missing=\"yes\">{}</include></fontconfig>",
                    fx.root.join("extra.conf").display()
                ),
            ),
        )
        .unwrap();
        fx.age("fonts.conf", 50);
        fx.discover();
        assert!(fx.discover().index.conf_reused);
        std::fs::write(
            fx.root.join("extra.conf"),
            "<?xml version=\"1.0\"?>\n<fontconfig><alias><family>cursive</family><prefer><family>DejaVu Sans</family></prefer></alias></fontconfig>\n",
        )
        .unwrap();
        let got = fx.discover();
        assert!(!got.index.conf_reused);
        assert!(got.aliases.iter().any(|(k, _)| k == "cursive"));
    }

    #[test]
    fn an_unwritable_index_is_no_error_and_fonts_are_still_found() {
        let Some(fx) = Fixture::new("ro", &[("fonts", &["DejaVuSans.ttf"])]) else {
            return;
        };
        // A directory where the file should be: cannot be replaced.
        std::fs::create_dir_all(fx.index().join("x")).unwrap();
        let got = fx.discover();
        assert!(got.index.written.is_none());
        same_faces(&got, &fx.scan());
    }
}
