//! `--waybar`: one JSON line per tick for Waybar's `custom` module
//! (`return-type: json`), the seed's original mode.
//!
//! Waybar renders `text` and `tooltip` as Pango markup, so names are escaped
//! for markup first and the tables use `<tt>` to line up.

use std::io::Write;

use super::json::JsonWriter;
use crate::collect::Sample;
use crate::modules::human;

/// CPU, memory and temperature levels that turn the module's class to
/// `warning` and `critical`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Thresholds {
    pub cpu_warning: f32,
    pub cpu_critical: f32,
    pub mem_warning: f32,
    pub mem_critical: f32,
    pub temp_warning: f32,
    pub temp_critical: f32,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            cpu_warning: 70.0,
            cpu_critical: 90.0,
            mem_warning: 80.0,
            mem_critical: 90.0,
            temp_warning: 80.0,
            temp_critical: 90.0,
        }
    }
}

/// The state a sample puts the module in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    Normal,
    Warning,
    Critical,
}

/// Memory used as a share of total, 0–100.
pub fn mem_percent(s: &Sample) -> f32 {
    if s.mem.total == 0 {
        0.0
    } else {
        (s.mem.used as f64 * 100.0 / s.mem.total as f64) as f32
    }
}

/// The worst level any of CPU, memory or temperature reaches.
pub fn level(s: &Sample, t: &Thresholds) -> Level {
    let mem = mem_percent(s);
    let temp = s.sensors.cpu_temp_c.unwrap_or(f32::MIN);
    if s.cpu_percent >= t.cpu_critical || mem >= t.mem_critical || temp >= t.temp_critical {
        Level::Critical
    } else if s.cpu_percent >= t.cpu_warning || mem >= t.mem_warning || temp >= t.temp_warning {
        Level::Warning
    } else {
        Level::Normal
    }
}

/// Reused buffers for the Waybar line, sized once for the longest line a
/// sample can make (15 rows of names that escape to at most 75 bytes each),
/// so a tick never grows them.
pub struct WaybarLine {
    text: Vec<u8>,
    tooltip: Vec<u8>,
    scratch: Vec<u8>,
    /// The finished JSON line, newline included.
    pub line: Vec<u8>,
}

fn markup(out: &mut Vec<u8>, s: &[u8]) {
    for &b in s {
        match b {
            b'&' => out.extend_from_slice(b"&amp;"),
            b'<' => out.extend_from_slice(b"&lt;"),
            b'>' => out.extend_from_slice(b"&gt;"),
            c => out.push(c),
        }
    }
}

/// Appends a display name padded with spaces to 15 characters.
fn padded_name(out: &mut Vec<u8>, scratch: &mut Vec<u8>, raw: &[u8]) {
    scratch.clear();
    let _ = write!(scratch, "{}", human::Name(raw));
    markup(out, scratch);
    for _ in human::name_chars(raw)..15 {
        out.push(b' ');
    }
}

impl Default for WaybarLine {
    fn default() -> Self {
        WaybarLine {
            text: Vec::with_capacity(256),
            tooltip: Vec::with_capacity(8 * 1024),
            scratch: Vec::with_capacity(256),
            line: Vec::with_capacity(64 * 1024),
        }
    }
}

impl WaybarLine {
    /// Formats `s` into `self.line`.
    pub fn format(&mut self, s: &Sample, t: &Thresholds) {
        let mem = mem_percent(s);
        let sn = &s.sensors;

        self.text.clear();
        let _ = write!(self.text, "CPU {:>3.0}%  MEM {:>3.0}%", s.cpu_percent, mem);
        if let Some(c) = sn.cpu_temp_c {
            let _ = write!(self.text, "  {c:.0}°C");
        }

        let tt = &mut self.tooltip;
        tt.clear();
        let _ = write!(
            tt,
            "CPU {:.1}% of {} cores, load {:.2} {:.2} {:.2}\nMemory ",
            s.cpu_percent, s.cores, s.load[0], s.load[1], s.load[2]
        );
        let _ = write!(tt, "{}", human::Bytes(s.mem.used));
        tt.extend_from_slice(b" of ");
        let _ = write!(tt, "{}", human::Bytes(s.mem.total));
        if s.mem.swap_total > 0 {
            tt.extend_from_slice(b", swap ");
            let _ = write!(tt, "{}", human::Bytes(s.mem.swap_used));
            tt.extend_from_slice(b" of ");
            let _ = write!(tt, "{}", human::Bytes(s.mem.swap_total));
        }
        let mut sep = b"\n" as &[u8];
        if let Some(c) = sn.cpu_temp_c {
            tt.extend_from_slice(sep);
            let _ = write!(tt, "{c:.1}°C");
            sep = b", ";
        }
        if let (Some(cur), Some(max)) = (sn.cpu_freq_mhz, sn.cpu_freq_max_mhz) {
            tt.extend_from_slice(sep);
            let _ = write!(tt, "{cur}/{max} MHz");
            sep = b", ";
        }
        if let Some(g) = sn.gpu_busy_percent {
            tt.extend_from_slice(sep);
            let _ = write!(tt, "GPU {g:.0}%");
            if let (Some(cur), Some(max)) = (sn.gpu_freq_mhz, sn.gpu_freq_max_mhz) {
                let _ = write!(tt, " {cur}/{max} MHz");
            }
            sep = b", ";
        }
        if let Some(p) = &sn.power_profile {
            tt.extend_from_slice(sep);
            markup(tt, p.as_bytes());
            sep = b", ";
        }
        if !sn.throttle.as_slice().is_empty() {
            tt.extend_from_slice(sep);
            tt.extend_from_slice(b"throttled:");
            for r in sn.throttle.as_slice() {
                tt.push(b' ');
                markup(tt, r.as_bytes());
            }
        }

        tt.extend_from_slice(b"\n\n<tt>Top CPU");
        for p in s.top_cpu.as_slice() {
            let _ = write!(tt, "\n{:>7}  ", p.pid);
            padded_name(tt, &mut self.scratch, p.name.as_bytes());
            let _ = write!(tt, " {:>5.1}%", p.cpu_percent);
        }
        tt.extend_from_slice(b"\nTop memory");
        for p in s.top_mem.as_slice() {
            let _ = write!(tt, "\n{:>7}  ", p.pid);
            padded_name(tt, &mut self.scratch, p.name.as_bytes());
            tt.push(b' ');
            let _ = write!(tt, "{}", human::Bytes(p.rss_bytes));
        }
        tt.extend_from_slice(b"\nTop IO");
        for p in s.top_io.as_slice() {
            let _ = write!(tt, "\n{:>7}  ", p.pid);
            padded_name(tt, &mut self.scratch, p.name.as_bytes());
            tt.extend_from_slice(b" R ");
            let _ = write!(tt, "{}", human::Bytes(p.read_bytes_per_s));
            tt.extend_from_slice(b"/s  W ");
            let _ = write!(tt, "{}", human::Bytes(p.write_bytes_per_s));
            tt.extend_from_slice(b"/s");
        }
        tt.extend_from_slice(b"</tt>");

        self.line.clear();
        let mut w = JsonWriter::new(&mut self.line);
        w.begin_object();
        w.key("text").string(&self.text);
        w.key("tooltip").string(&self.tooltip);
        w.key("class").string(match level(s, t) {
            Level::Normal => b"",
            Level::Warning => b"warning",
            Level::Critical => b"critical",
        });
        w.key("percentage")
            .uint(s.cpu_percent.round().clamp(0.0, 100.0) as u64);
        w.end_object();
        self.line.push(b'\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::{Comm, ProcCpu};

    #[test]
    fn levels_follow_thresholds() {
        let t = Thresholds::default();
        let mut s = Sample::default();
        s.mem.total = 100;
        s.mem.used = 10;
        assert_eq!(level(&s, &t), Level::Normal);
        s.cpu_percent = 75.0;
        assert_eq!(level(&s, &t), Level::Warning);
        s.sensors.cpu_temp_c = Some(95.0);
        assert_eq!(level(&s, &t), Level::Critical);
    }

    #[test]
    fn names_are_escaped_for_markup_and_json() {
        let mut s = Sample::default();
        s.top_cpu.offer(
            1,
            ProcCpu {
                pid: 42,
                name: Comm::from_bytes(b"<b>&\"x\n"),
                cpu_percent: 50.0,
            },
        );
        let mut w = WaybarLine::default();
        w.format(&s, &Thresholds::default());
        let line = std::str::from_utf8(&w.line).unwrap();
        assert!(line.ends_with('\n'));
        assert_eq!(line.matches('\n').count(), 1, "one line per tick: {line}");
        assert!(line.contains("&lt;b&gt;&amp;\\\"x?"), "{line}");
    }
}
