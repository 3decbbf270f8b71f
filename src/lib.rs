//! rstat: a Wayland status bar whose health sampler reads the kernel directly.
//!
//! Layers, each calling only downward (see DESIGN.md): `collect` (kernel) →
//! `modules` (samples and time → segments) → `render` (segments → pixels and
//! damage) → `wayland` (surfaces, buffers); `bar` wires them in one event
//! loop; `services` (below `modules`) hold the peers' connections and hand
//! modules plain state; `report` holds the text outputs of samples (JSON, Waybar lines,
//! benchmarks).

pub mod bar;
pub mod cli;
pub mod collect;
pub mod compositor;
pub mod config;
pub mod exec;
pub mod modules;
pub mod render;
pub mod report;
pub mod services;
pub mod wayland;
