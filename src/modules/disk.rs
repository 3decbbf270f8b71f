//! The disk module: the space of each configured path's file system
//! (`statvfs`, through [`crate::collect::disk`]) at its interval, one
//! segment per path, counted as `df` counts it. A path that cannot be read
//! (not mounted, removed) hides its segment and says why in
//! [`Module::error`]; states `normal` / `warning` / `critical` by `percent`.

use std::time::{Duration, Instant};

use super::network::human_rate;
use super::sample::level;
use super::Text;
use super::{
    next_on_wall_second, Align, Context, Init, Level, Module, Palette, Placement, Segment,
};
use crate::collect::disk::{DiskPath, DiskReading};
use crate::config::kind::short_list;
use crate::config::{self, format::Value, Key, KeyType, KindDef};

/// `disk`: file systems' space, one segment per configured path.
pub const KIND: KindDef = KindDef {
    name: "disk",
    about: "file systems' space (statvfs, as df counts), one segment per path",
    placeholders: &[
        ("path", "the configured path"),
        (
            "percent",
            "space used, % of what users may use (as `df` counts: used / (used + free))",
        ),
        ("used", "space used, human-readable (`12G`)"),
        (
            "free",
            "space free for unprivileged users, human-readable (`df`'s Avail)",
        ),
        ("total", "the file system's size, human-readable"),
        ("used_gib", "space used, GiB"),
        ("free_gib", "space free for unprivileged users, GiB"),
        ("total_gib", "the file system's size, GiB"),
    ],
    format: "{path} {percent:>3.0}%",
    interval_ms: 30_000,
    primary: Some("percent"),
    warning: &[("percent", 85.0)],
    critical: &[("percent", 95.0)],
    keys: &[Key::new(
        "paths",
        KeyType::Strings(&["/"]),
        "the mount points (any path on the file system) to show, in order",
    )
    .checked(short_list)],
    ..KindDef::BASE
};

/// Builds a disk module (its registry line).
pub fn build(spec: &config::Module, init: &Init<'_>) -> Box<dyn Module> {
    Box::new(Disk::new(spec, init.place, init.now))
}

const GIB: f64 = (1u64 << 30) as f64;

/// The disk module.
pub struct Disk {
    spec: config::Module,
    palette: Palette,
    align: Align,
    interval: Duration,
    next: Instant,
    paths: Vec<DiskPath>,
    /// One per path; `None`: that path is hidden.
    segments: Vec<Option<Segment>>,
    levels: Vec<Level>,
    /// `tooltip_format` rendered per path at its last reading.
    tips: Vec<super::Tip>,
    text: String,
    /// Why the last read of some path failed.
    error: Option<String>,
}

impl Disk {
    /// The instance of `spec`, due at `now`.
    pub fn new(spec: &config::Module, place: Placement, now: Instant) -> Disk {
        let paths: Vec<DiskPath> = spec
            .strings("paths")
            .iter()
            .filter_map(|p| DiskPath::new(p))
            .collect();
        Disk {
            spec: spec.clone(),
            palette: place.palette,
            align: place.align,
            interval: Duration::from_millis(spec.interval_ms.max(1)),
            next: now,
            segments: vec![None; paths.len()],
            levels: vec![Level::Normal; paths.len()],
            tips: (0..paths.len()).map(|_| super::Tip::default()).collect(),
            paths,
            text: String::with_capacity(128),
            error: None,
        }
    }

    /// Shows reading `r` of path `i` (`None`: hidden); true when it changed.
    pub fn show(&mut self, i: usize, r: Option<&DiskReading>) -> bool {
        let Some(path) = self.paths.get(i) else {
            return false;
        };
        let seg = r.map(|r| {
            let (mut used, mut free, mut total) =
                (Text::default(), Text::default(), Text::default());
            human_rate(r.used, &mut used);
            human_rate(r.available, &mut free);
            human_rate(r.total, &mut total);
            let values = [
                Value::Text(&path.shown),
                Value::Float(r.percent()),
                Value::Text(used.as_str()),
                Value::Text(free.as_str()),
                Value::Text(total.as_str()),
                Value::Float(r.used as f64 / GIB),
                Value::Float(r.available as f64 / GIB),
                Value::Float(r.total as f64 / GIB),
            ];
            let lv = level(&values, &self.spec.warning, &self.spec.critical);
            self.text.clear();
            self.spec
                .render(&mut self.text, super::level_states(lv), &values);
            self.tips[i].render(&self.spec, &values);
            (
                Segment {
                    markup: false,
                    text: Text::new(&self.text),
                    style: self.palette.style(lv),
                    align: self.align,
                    popup: None,
                    output: None,
                    states: super::level_states(lv),
                },
                lv,
            )
        });
        let (seg, lv) = match seg {
            Some((s, l)) => (Some(s), l),
            None => {
                self.tips[i] = super::Tip::default();
                (None, Level::Normal)
            }
        };
        let changed = seg != self.segments[i];
        self.segments[i] = seg;
        self.levels[i] = lv;
        changed
    }
}

impl Module for Disk {
    fn spec(&self) -> &config::Module {
        &self.spec
    }

    fn next_due(&self) -> Option<Instant> {
        Some(self.next)
    }

    fn update(&mut self, cx: &Context<'_>) -> bool {
        self.next = next_on_wall_second(self.next, self.interval, cx.now, cx.wall);
        let mut changed = false;
        let mut failed = false;
        for i in 0..self.paths.len() {
            let r = match self.paths[i].read() {
                Ok(r) => Some(r),
                Err(e) => {
                    // Only a new reason is formatted: a path that stays
                    // missing costs no allocation per tick.
                    if !failed && self.error.is_none() {
                        self.error = Some(self.paths[i].error(e).to_string());
                    }
                    failed = true;
                    None
                }
            };
            changed |= self.show(i, r.as_ref());
        }
        if !failed {
            self.error = None;
        }
        changed
    }

    fn write(&self, out: &mut Vec<Segment>) {
        out.extend(self.segments.iter().flatten());
    }

    fn tooltip(&self, index: usize) -> Option<&str> {
        // `index` counts the segments written: the shown paths.
        let (i, _) = self
            .segments
            .iter()
            .enumerate()
            .filter(|(_, s)| s.is_some())
            .nth(index)?;
        self.tips.get(i)?.get()
    }

    fn state(&self) -> Option<&str> {
        let worst = self.levels.iter().max().copied()?;
        Some(match worst {
            Level::Normal => "normal",
            Level::Warning => "warning",
            Level::Critical => "critical",
        })
    }

    fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::registry;

    fn disk(text: &str) -> Disk {
        let c = registry::parse(text, "test.toml", None).unwrap_or_else(|e| panic!("{e}"));
        let place = Placement {
            align: Align::Right,
            palette: Palette::default(),
        };
        Disk::new(&c.modules[0], place, Instant::now())
    }

    const GIB: u64 = 1 << 30;

    #[test]
    fn tooltip_format_per_shown_path() {
        let mut d = disk(
            "[bar]\nright = [\"disk\"]\n[module.disk]\npaths = [\"/\", \"/tmp\"]\n\
             tooltip_format = \"{path}: {free_gib:.0} GiB free of {total_gib:.0}\"\n",
        );
        let r = |free| DiskReading {
            total: 100 * GIB,
            used: (100 - free) * GIB,
            available: free * GIB,
        };
        d.show(0, Some(&r(40)));
        d.show(1, Some(&r(5)));
        assert_eq!(d.tooltip(0), Some("/: 40 GiB free of 100"));
        assert_eq!(d.tooltip(1), Some("/tmp: 5 GiB free of 100"));
        // The first path hidden: the one segment written is /tmp's.
        d.show(0, None);
        assert_eq!(d.tooltip(0), Some("/tmp: 5 GiB free of 100"));
        assert_eq!(d.tooltip(1), None);
    }

    #[test]
    fn no_tooltip_without_a_format_or_when_off() {
        let mut d = disk("[bar]\nright = [\"disk\"]\n");
        d.show(
            0,
            Some(&DiskReading {
                total: GIB,
                used: 0,
                available: GIB,
            }),
        );
        assert_eq!(d.tooltip(0), None);
        let mut d = disk(
            "[bar]\nright = [\"disk\"]\n[module.disk]\ntooltip = false\ntooltip_format = \"{path}\"\n",
        );
        d.show(
            0,
            Some(&DiskReading {
                total: GIB,
                used: 0,
                available: GIB,
            }),
        );
        assert_eq!(d.tooltip(0), None);
    }
}
