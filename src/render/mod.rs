//! Pixels without Wayland: glyph cache, layout, segments, damage tracking,
//! and drawing into an in-memory premultiplied RGBA buffer.
//!
//! The flow of one frame: [`Renderer::update`] diffs the new segments against
//! the last ones and returns a damage [`Mask`]; [`Renderer::paint`] draws a
//! mask into a [`Canvas`]; [`Renderer::rects`] turns a mask into rectangles
//! for `damage_buffer`; [`Renderer::since`] tells what a reused buffer missed.

// The clock's calendar popup.
// The pixels under each segment's text, kept between frames.
mod backs;
pub mod boxes;
pub mod calendar;
pub mod damage;
pub mod glyphs;
// Tray icons: theme lookup, PNG/SVG/pixmap rasterising, the cache.
pub mod icon;
pub mod layout;
// One shaped line for the popups that are not segments.
pub mod line;
pub mod menu;
// The markup subset of formats, scripts and tooltips.
pub mod markup;
pub mod paint;
// The hover popup's tables.
pub mod popup;
pub mod renderer;
pub mod segment;
pub mod text;
// A module's tooltip in the hover popup.
pub mod tooltip;

pub use damage::{Mask, MAX_SEGMENTS};
pub use glyphs::GlyphCache;
pub use layout::Rect;
pub use paint::Canvas;
pub use renderer::{Look, Renderer};
pub use segment::{
    Align, Deco, FontKey, GroupBox, OutputTag, PopupId, Rgba, Segment, Slide, Spot, Style, Text,
    TextAlign,
};
