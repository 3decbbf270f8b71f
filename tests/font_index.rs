//! The installed faces' index across starts, through the path the bar's
//! start-up and reload take (`settings::glyphs`: `$FONTCONFIG_FILE`, the
//! index under `$XDG_CACHE_HOME/rstat/`), with a font directory of real
//! Debian fonts copied into a temporary directory and its own fonts.conf:
//! a second start reads the index, not the fonts; a font added to the
//! directory is found at the next start; a directory newer than its entry
//! is never answered from the index.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use rstat::bar::settings;
use rstat::config::Config;
use rstat::render::text::SystemFonts;

const DEJAVU: &str = "/usr/share/fonts/truetype/dejavu";

fn config(text: &str) -> Config {
    rstat::modules::registry::parse(text, "test.toml", None).unwrap_or_else(|e| panic!("{e}"))
}

/// Sets `path`'s mtime `secs` in the past (old enough to be trusted).
fn age(path: &Path, secs: u64) {
    std::fs::File::open(path)
        .and_then(|f| f.set_modified(SystemTime::now() - Duration::from_secs(secs)))
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn a_font_added_to_a_directory_is_found_at_the_next_start() {
    let fonts = ["DejaVuSans.ttf", "DejaVuSerif.ttf"];
    let have = fonts.iter().all(|f| Path::new(DEJAVU).join(f).exists());
    if !common::need(have, "fonts-dejavu-core is not installed") {
        return;
    }
    let root =
        Scratch(std::env::temp_dir().join(format!("rstat-font-index-{}", std::process::id())));
    let dir = root.0.join("fonts");
    let cache = root.0.join("cache");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(Path::new(DEJAVU).join(fonts[0]), dir.join(fonts[0])).unwrap();
    let conf = root.0.join("fonts.conf");
    std::fs::write(
        &conf,
        format!(
            "<?xml version=\"1.0\"?>\n<fontconfig>\n<dir>{}</dir>\n\
             <alias><family>sans-serif</family><prefer><family>DejaVu Sans</family></prefer></alias>\n\
             </fontconfig>\n",
            dir.display()
        ),
    )
    .unwrap();
    age(&dir, 60);
    age(&conf, 60);
    // The only test in this binary: nothing else reads the environment.
    std::env::set_var("FONTCONFIG_FILE", &conf);
    std::env::set_var("XDG_CACHE_HOME", &cache);
    let cfg = config("[bar]\nfont = { family = [\"DejaVu Serif\", \"DejaVu Sans\"] }\n");

    // First start: no index yet; DejaVu Serif is not there.
    let g = settings::glyphs(&cfg.bar.font).expect("font");
    assert_eq!(g.installed_faces(), 1);
    assert!(!g.loaded_families().contains(&"DejaVu Serif"));
    assert!(g.loaded_families().contains(&"DejaVu Sans"));
    let files: Vec<PathBuf> = std::fs::read_dir(cache.join("rstat"))
        .expect("the index's directory")
        .flatten()
        .map(|e| e.path())
        .collect();
    assert_eq!(files.len(), 1, "one index, no temporary left: {files:?}");
    assert!(files[0].extension().is_some_and(|x| x == "idx"));

    // Second start: answered from the index (no directory read).
    let sys = SystemFonts::discover();
    assert_eq!((sys.index.dirs_reused, sys.index.dirs_scanned), (1, 0));
    assert!(sys.index.conf_reused);

    // A font copied in: the directory is newer than its entry, so the next
    // start (or reload: the same call) reads it and finds the family.
    std::fs::copy(Path::new(DEJAVU).join(fonts[1]), dir.join(fonts[1])).unwrap();
    let g = settings::glyphs(&cfg.bar.font).expect("font");
    assert_eq!(g.installed_faces(), 2);
    assert_eq!(g.loaded_families()[0], "DejaVu Serif");

    // Settled again: from the index, with the new face in it.
    age(&dir, 30);
    let first = SystemFonts::discover();
    assert_eq!(
        first.index.dirs_scanned, 1,
        "its mtime moved: read once more"
    );
    let sys = SystemFonts::discover();
    assert_eq!((sys.index.dirs_reused, sys.index.dirs_scanned), (1, 0));
    assert!(sys.find("DejaVu Serif", 400).is_some());
    assert_eq!(sys.faces, first.faces);
}
