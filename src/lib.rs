//! rstat: a Wayland status bar whose health sampler reads the kernel directly.
//!
//! Layers, each calling only downward (see DESIGN.md): `collect` (kernel) →
//! `report` (text outputs of samples: JSON, Waybar lines, benchmarks).

pub mod cli;
pub mod collect;
pub mod compositor;
pub mod config;
pub mod exec;
pub mod report;
