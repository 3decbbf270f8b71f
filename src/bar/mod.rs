//! The bar application: one calloop event loop wiring the tick timer →
//! modules → render → wayland.
//!
//! One timer drives everything: its deadline is the earlier of the next
//! health sample (every [`Options::health_interval`]) and the next minute
//! boundary (the clock), so nothing wakes the process in between.

mod bench;

use std::fmt;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use smithay_client_toolkit::reexports::calloop::timer::{TimeoutAction, Timer};
use smithay_client_toolkit::reexports::calloop::EventLoop;
use smithay_client_toolkit::reexports::calloop_wayland_source::WaylandSource;

use crate::collect::{Sample, Sampler};
use crate::modules::clock::{self, LocalTime};
use crate::modules::Modules;
use crate::render::{GlyphCache, Look, Segment, MAX_SEGMENTS};
use crate::wayland::{Bars, ConnectError, Edge, SurfaceConfig};

pub use bench::bench_render;

/// Everything the bar can be told (the config issue fills this from a file).
#[derive(Clone, Debug)]
pub struct Options {
    /// Bar height in logical pixels (also the exclusive zone). Default 28.
    pub height: u32,
    /// Screen edge. Default top.
    pub edge: Edge,
    /// Font size, spacing and background.
    pub look: Look,
    /// How often the health module samples. Default 1 s.
    pub health_interval: Duration,
    /// The modules and their colours/thresholds.
    pub modules: Modules,
    /// Draw ARGB8888 even when the compositor offers ABGR8888 (to exercise
    /// the conversion path). Also set by `RSTAT_SHM_FORMAT=argb8888`.
    pub force_argb: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            height: 28,
            edge: Edge::Top,
            look: Look::default(),
            health_interval: Duration::from_secs(1),
            modules: Modules::default(),
            force_argb: false,
        }
    }
}

/// Why the bar stopped or could not start.
#[derive(Debug)]
pub enum Error {
    /// No compositor to connect to.
    NoCompositor(String),
    /// The compositor lacks a protocol the bar needs (layer shell, shm).
    Unsupported(&'static str),
    /// The compositor went away while the bar was running.
    ConnectionLost(String),
    /// The event loop itself failed.
    EventLoop(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NoCompositor(why) => write!(
                f,
                "cannot connect to a Wayland compositor ({why}); run rstat inside a Sway or Hyprland session, or use `rstat --once` for a reading without a bar"
            ),
            Error::Unsupported(what) => write!(
                f,
                "this compositor does not offer {what}, which the bar needs (Sway, Hyprland and other wlroots compositors do); use `rstat --once` for a reading without a bar"
            ),
            Error::ConnectionLost(why) => write!(f, "compositor connection lost ({why})"),
            Error::EventLoop(why) => write!(f, "the bar's event loop failed: {why}"),
        }
    }
}

impl std::error::Error for Error {}

/// Runs the bar until the compositor goes away.
pub fn run(sampler: Sampler, opts: &Options) -> Result<(), Error> {
    if std::env::var_os("WAYLAND_DISPLAY").is_none() && std::env::var_os("WAYLAND_SOCKET").is_none()
    {
        return Err(Error::NoCompositor("WAYLAND_DISPLAY is not set".into()));
    }
    let force_argb = opts.force_argb
        || std::env::var("RSTAT_SHM_FORMAT").is_ok_and(|v| v.eq_ignore_ascii_case("argb8888"));
    let cfg = SurfaceConfig {
        height: opts.height,
        edge: opts.edge,
        look: opts.look,
        force_argb,
    };
    let mut glyphs = GlyphCache::with_default_font();
    // Warm scale 1 now; other scales are warmed when a bar first draws at them.
    glyphs.warm(
        crate::render::glyphs::WARM_CHARS,
        (opts.look.font_px.round() as u16).max(1),
    );
    // fontdue parses every glyph outline up front and frees its scratch
    // tables; hand that freed heap back so it does not count as resident.
    trim_heap();
    let (mut bars, conn, queue) = Bars::connect(cfg, glyphs).map_err(|e| match e {
        ConnectError::NoCompositor(why) => Error::NoCompositor(why),
        ConnectError::Missing(what) => Error::Unsupported(what),
    })?;

    let mut event_loop: EventLoop<Bars> =
        EventLoop::try_new().map_err(|e| Error::EventLoop(e.to_string()))?;
    WaylandSource::new(conn, queue)
        .insert(event_loop.handle())
        .map_err(|e| Error::EventLoop(e.error.to_string()))?;

    let mut ticker = Ticker::new(sampler, opts);
    let first = ticker.tick(Instant::now(), &mut bars);
    event_loop
        .handle()
        .insert_source(Timer::from_deadline(first), move |now, _, bars| {
            TimeoutAction::ToInstant(ticker.tick(now, bars))
        })
        .map_err(|e| Error::EventLoop(e.error.to_string()))?;

    loop {
        event_loop
            .dispatch(None, &mut bars)
            .map_err(|e| Error::ConnectionLost(root_cause(&e)))?;
    }
}

/// The innermost error's message ("Broken pipe (os error 32)"), without the
/// layers of "error during loop operation" wrapping around it.
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut e = e;
    while let Some(inner) = e.source() {
        e = inner;
    }
    e.to_string()
}

/// Returns freed heap pages to the kernel (glibc keeps them otherwise).
fn trim_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks glibc's own arenas; no pointers of ours
    // are involved and it is safe to call at any time.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// The tick's state: sampler, last sample, modules, and the two deadlines.
struct Ticker {
    sampler: Sampler,
    sample: Sample,
    modules: Modules,
    segments: Vec<Segment>,
    interval: Duration,
    next_health: Instant,
    next_clock: Instant,
    /// A sampling error was already reported (say it once, keep going).
    warned: bool,
}

impl Ticker {
    fn new(sampler: Sampler, opts: &Options) -> Ticker {
        let now = Instant::now();
        Ticker {
            sampler,
            sample: Sample::default(),
            modules: opts.modules.clone(),
            segments: Vec::with_capacity(MAX_SEGMENTS),
            interval: opts.health_interval.max(Duration::from_millis(100)),
            next_health: now,
            next_clock: now,
            warned: false,
        }
    }

    /// Does what is due at `now`, shows the result, and returns the next deadline.
    fn tick(&mut self, now: Instant, bars: &mut Bars) -> Instant {
        if now >= self.next_health {
            if let Err(e) = self.sampler.sample(&mut self.sample) {
                if !self.warned {
                    eprintln!("rstat: sampling failed, showing the last values: {e}");
                    self.warned = true;
                }
            }
            self.next_health += self.interval;
            if self.next_health <= now {
                // We were suspended or starved: skip the missed ticks.
                self.next_health = now + self.interval;
            }
        }
        if now >= self.next_clock {
            let since_epoch = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default();
            if let Some(t) = LocalTime::at(since_epoch.as_secs() as i64) {
                self.modules.set_time(t);
            }
            // A few ms past the boundary, so the new minute is what we read.
            self.next_clock =
                now + clock::until_next_minute(since_epoch) + Duration::from_millis(5);
        }
        self.modules.write(&self.sample, &mut self.segments);
        bars.set_segments(&self.segments);
        self.next_health.min(self.next_clock)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_up_errors_are_one_sentence_suggesting_once() {
        for e in [
            Error::NoCompositor("WAYLAND_DISPLAY is not set".into()),
            Error::Unsupported("zwlr_layer_shell_v1"),
        ] {
            let m = e.to_string();
            assert!(m.contains("rstat --once"), "{m}");
            assert!(
                !m.contains('\n') && !m.trim_end_matches(')').contains(". "),
                "{m}"
            );
        }
        assert!(Error::ConnectionLost("Broken pipe".into())
            .to_string()
            .starts_with("compositor connection lost"));
    }
}
