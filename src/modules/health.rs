//! The health module: CPU, memory, temperature and load from a
//! [`Sample`](crate::collect::Sample).
//!
//! Numbers are padded to fixed widths so a segment keeps its size as digits
//! change, and the renderer can repaint just that segment.

use std::fmt::Write;

use super::{Align, Level, Palette, Segment, Text, HEALTH_POPUP};
use crate::collect::Sample;

const GIB: f64 = (1u64 << 30) as f64;

/// Thresholds at which figures turn warning / critical.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Thresholds {
    /// (warning, critical) for CPU busy %.
    pub cpu_percent: (f32, f32),
    /// (warning, critical) for memory used, % of total.
    pub mem_percent: (f32, f32),
    /// (warning, critical) for the CPU temperature in °C.
    pub temp_c: (f32, f32),
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            cpu_percent: (70.0, 90.0),
            mem_percent: (80.0, 90.0),
            temp_c: (75.0, 90.0),
        }
    }
}

/// The health module's settings.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Health {
    /// Colours per level.
    pub palette: Palette,
    /// Where values turn warning / critical.
    pub thresholds: Thresholds,
    /// Where on the bar (right by default).
    pub align: Align,
}

impl Health {
    /// The module on the right of the bar with default colours and thresholds.
    pub fn new() -> Health {
        Health {
            align: Align::Right,
            ..Health::default()
        }
    }

    /// Appends this sample's segments to `out`: CPU, memory, temperature (when
    /// the machine has a sensor) and load.
    pub fn write(&self, s: &Sample, out: &mut Vec<Segment>) {
        let t = &self.thresholds;
        let cpu = finite(s.cpu_percent).clamp(0.0, 100.0);
        self.push(out, Level::of(cpu, t.cpu_percent.0, t.cpu_percent.1), |x| {
            let _ = write!(x, "CPU {cpu:>3.0}%");
        });

        let mem_pct = if s.mem.total > 0 {
            (s.mem.used as f64 * 100.0 / s.mem.total as f64) as f32
        } else {
            0.0
        };
        let used_gib = s.mem.used as f64 / GIB;
        self.push(
            out,
            Level::of(mem_pct, t.mem_percent.0, t.mem_percent.1),
            |x| {
                let _ = write!(x, "MEM {used_gib:>4.1}G");
            },
        );

        if let Some(temp) = s.sensors.cpu_temp_c {
            let temp = finite(temp);
            self.push(out, Level::of(temp, t.temp_c.0, t.temp_c.1), |x| {
                let _ = write!(x, "{temp:>3.0}°C");
            });
        }

        let load = finite(s.load[0]).max(0.0);
        let cores = s.cores.max(1) as f32;
        self.push(out, Level::of(load / cores, 1.0, 2.0), |x| {
            let _ = write!(x, "LOAD {load:>5.2}");
        });
    }

    fn push(&self, out: &mut Vec<Segment>, level: Level, text: impl FnOnce(&mut Text)) {
        let mut seg = Segment {
            style: self.palette.style(level),
            align: self.align,
            popup: Some(HEALTH_POPUP),
            ..Segment::default()
        };
        text(&mut seg.text);
        out.push(seg);
    }
}

/// NaN and infinities (a broken sensor) show as 0 rather than "NaN".
fn finite(v: f32) -> f32 {
    if v.is_finite() {
        v
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(out: &[Segment]) -> Vec<&str> {
        out.iter().map(|s| s.text.as_str()).collect()
    }

    #[test]
    fn segments_for_a_sample() {
        let mut s = Sample {
            cpu_percent: 7.4,
            cores: 4,
            load: [0.5, 0.0, 0.0],
            ..Sample::default()
        };
        s.mem.total = 16 << 30;
        s.mem.used = 5 << 30;
        s.sensors.cpu_temp_c = Some(48.2);
        let mut out = Vec::new();
        Health::new().write(&s, &mut out);
        assert_eq!(
            texts(&out),
            ["CPU   7%", "MEM  5.0G", " 48°C", "LOAD  0.50"]
        );
        assert!(out.iter().all(|s| s.popup == Some(HEALTH_POPUP)));
    }

    #[test]
    fn widths_do_not_change_with_digits() {
        let h = Health::new();
        let mut a = Vec::new();
        let mut b = Vec::new();
        h.write(
            &Sample {
                cpu_percent: 1.0,
                ..Sample::default()
            },
            &mut a,
        );
        h.write(
            &Sample {
                cpu_percent: 100.0,
                ..Sample::default()
            },
            &mut b,
        );
        assert_eq!(a[0].text.as_str().len(), b[0].text.as_str().len());
    }

    #[test]
    fn levels_colour_the_cpu() {
        let h = Health::new();
        let mut out = Vec::new();
        h.write(
            &Sample {
                cpu_percent: 95.0,
                ..Sample::default()
            },
            &mut out,
        );
        assert_eq!(out[0].style.fg, h.palette.critical);
        out.clear();
        h.write(
            &Sample {
                cpu_percent: f32::NAN,
                ..Sample::default()
            },
            &mut out,
        );
        assert_eq!(out[0].text.as_str(), "CPU   0%");
        assert_eq!(out[0].style.fg, h.palette.foreground);
    }
}
