//! Bar modules: each turns its own state (a health sample, the time) into
//! [`Segment`]s of text and style. Data is kept apart from how it is drawn:
//! a module never sees pixels, the renderer never sees a CPU.
//!
//! A module writes its segments by pushing onto a `Vec<Segment>` that the bar
//! clears and reuses every tick, so a steady tick allocates nothing.

pub mod clock;
pub mod health;

pub use crate::render::{Align, PopupId, Rgba, Segment, Style, Text};

/// The popup the health module's segments open on hover (issue 5).
pub const HEALTH_POPUP: PopupId = PopupId(1);

/// How alarming a value is; picks the colour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    /// Nothing to worry about.
    Normal,
    /// Worth a glance.
    Warning,
    /// Something is wrong now.
    Critical,
}

impl Level {
    /// `Critical` at or above `critical`, `Warning` at or above `warning`.
    pub fn of(value: f32, warning: f32, critical: f32) -> Level {
        if value >= critical {
            Level::Critical
        } else if value >= warning {
            Level::Warning
        } else {
            Level::Normal
        }
    }
}

/// The colours modules choose from (the config issue makes them settable).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Palette {
    /// Normal text.
    pub foreground: Rgba,
    /// Text of a value at [`Level::Warning`].
    pub warning: Rgba,
    /// Text of a value at [`Level::Critical`].
    pub critical: Rgba,
    /// Highlights (focused workspace, open popup).
    pub accent: Rgba,
}

impl Default for Palette {
    fn default() -> Self {
        Palette {
            foreground: Rgba::hex(0xcdd6f4ff),
            warning: Rgba::hex(0xf9e2afff),
            critical: Rgba::hex(0xf38ba8ff),
            accent: Rgba::hex(0x89b4faff),
        }
    }
}

impl Palette {
    /// The style for text at `level`.
    pub fn style(&self, level: Level) -> Style {
        let fg = match level {
            Level::Normal => self.foreground,
            Level::Warning => self.warning,
            Level::Critical => self.critical,
        };
        Style { fg, bg: None }
    }
}

/// The built-in modules in bar order, with the clock's segment kept between
/// its minute ticks.
#[derive(Clone, Debug)]
pub struct Modules {
    /// CPU, memory, temperature, load.
    pub health: health::Health,
    /// Date and time.
    pub clock: clock::Clock,
    clock_segments: Vec<Segment>,
}

impl Default for Modules {
    fn default() -> Self {
        Modules::new(health::Health::new(), clock::Clock::default())
    }
}

impl Modules {
    /// The given modules; the clock shows nothing until [`Modules::set_time`].
    pub fn new(health: health::Health, clock: clock::Clock) -> Modules {
        Modules {
            health,
            clock,
            clock_segments: Vec::with_capacity(1),
        }
    }

    /// The clock's tick: shows `time` from now on.
    pub fn set_time(&mut self, time: clock::LocalTime) {
        self.clock_segments.clear();
        self.clock.write(time, &mut self.clock_segments);
    }

    /// Every module's segments for this tick into `out` (cleared first).
    pub fn write(&self, sample: &crate::collect::Sample, out: &mut Vec<Segment>) {
        out.clear();
        self.health.write(sample, out);
        out.extend_from_slice(&self.clock_segments);
    }
}
