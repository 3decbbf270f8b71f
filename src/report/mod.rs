//! Text outputs of samples: `--once` JSON, `--waybar` lines, `--bench` lines.

pub mod bench;
pub mod json;
pub mod once;
pub mod waybar;
