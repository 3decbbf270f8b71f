//! A config the running bar cannot see change, for tests that must reload
//! by `SIGUSR2` alone: the default config directory is a symlink into a
//! dotfiles checkout, and each new version is a new directory the link is
//! repointed to (as a profile switch does). The bar's watch stays on the
//! directory the link led to at start, and the link itself lives in a
//! directory nobody watches.

use std::path::{Path, PathBuf};

/// `XDG_CONFIG_HOME/rstat` → `XDG_CONFIG_HOME/dotfiles/vN`.
pub struct UnwatchedConfig {
    home: PathBuf,
    versions: u32,
}

impl UnwatchedConfig {
    /// The first version, `text`, in place under `config_home`.
    pub fn new(config_home: &Path, text: &str) -> UnwatchedConfig {
        let mut c = UnwatchedConfig {
            home: config_home.to_path_buf(),
            versions: 0,
        };
        c.swap(text);
        c
    }

    /// The path the bar reads (its default config path).
    pub fn path(&self) -> PathBuf {
        self.home.join("rstat").join("config.toml")
    }

    /// Makes `text` the config by repointing the directory link at once.
    pub fn swap(&mut self, text: &str) {
        let version = self
            .home
            .join("dotfiles")
            .join(format!("v{}", self.versions));
        self.versions += 1;
        std::fs::create_dir_all(&version).expect("create a config version's directory");
        std::fs::write(version.join("config.toml"), text).expect("write a config version");
        let tmp = self.home.join(".rstat.new");
        let _ = std::fs::remove_file(&tmp);
        std::os::unix::fs::symlink(&version, &tmp).expect("link the new version");
        std::fs::rename(&tmp, self.home.join("rstat")).expect("repoint the config directory");
    }
}
