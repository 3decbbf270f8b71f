//! Text outputs of samples: `--once` JSON, `--waybar` lines, `--bench` lines.
