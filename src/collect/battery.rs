//! Batteries from `/sys/class/power_supply`, combined into one reading.
//!
//! Discovered once; each read `pread`s kept descriptors. Laptops report
//! either energy (µWh, µW) or charge (µAh, µA, with a voltage); both are
//! turned into watt-hours so several batteries of either kind add up.

use std::fs::{self, File};
use std::path::Path;

use super::parse::i64_prefix;
use super::system::pread_start;

/// What the batteries are doing, combined. (The discriminants index the
/// per-status counts in [`Batteries::read`].)
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Charging = 0,
    Discharging = 1,
    Full = 2,
    /// Plugged in but held below full (charge thresholds).
    NotCharging = 3,
    Unknown = 4,
}

impl Status {
    fn parse(b: &[u8]) -> Status {
        match b.trim_ascii() {
            b"Charging" => Status::Charging,
            b"Discharging" => Status::Discharging,
            b"Full" => Status::Full,
            b"Not charging" => Status::NotCharging,
            _ => Status::Unknown,
        }
    }

    /// A lower-case name for formats and JSON.
    pub fn name(self) -> &'static str {
        match self {
            Status::Charging => "charging",
            Status::Discharging => "discharging",
            Status::Full => "full",
            Status::NotCharging => "not charging",
            Status::Unknown => "unknown",
        }
    }
}

/// All batteries together.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BatteryReading {
    /// Charge left, 0–100.
    pub percent: f32,
    pub status: Status,
    /// Seconds until empty while discharging, when the draw is known.
    pub time_to_empty_s: Option<u32>,
    /// Seconds until full while charging, when the rate is known.
    pub time_to_full_s: Option<u32>,
    /// Watts in or out, when known.
    pub power_w: Option<f32>,
    /// How many batteries were read.
    pub count: u8,
}

/// How one battery reports its level.
enum Level {
    /// µWh now and full, µW rate.
    Energy {
        now: File,
        full: File,
        rate: Option<File>,
    },
    /// µAh now and full, µA rate, µV to convert to energy.
    Charge {
        now: File,
        full: File,
        rate: Option<File>,
        volts: Option<File>,
    },
    /// Only a percentage.
    Capacity(File),
}

struct Battery {
    status: Option<File>,
    level: Level,
}

/// The machine's batteries, with their files kept open.
pub struct Batteries {
    list: Vec<Battery>,
    buf: [u8; 64],
}

/// A sysfs integer (µWh, µA, % …) read through a kept descriptor.
fn num(f: &File, buf: &mut [u8]) -> Option<f64> {
    Some(i64_prefix(pread_start(f, buf).ok()?)? as f64)
}

fn open(dir: &Path, name: &str) -> Option<File> {
    File::open(dir.join(name)).ok()
}

impl Batteries {
    /// Finds system batteries under `sys` (`/sys`): `type` = `Battery`, and
    /// not a peripheral's (`scope` = `Device`: mice, headsets).
    pub fn discover(sys: &Path) -> Batteries {
        let mut dirs: Vec<_> = fs::read_dir(sys.join("class/power_supply"))
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .collect();
        dirs.sort();
        let list = dirs
            .iter()
            .filter(|d| {
                let read = |n: &str| fs::read_to_string(d.join(n)).unwrap_or_default();
                read("type").trim() == "Battery" && read("scope").trim() != "Device"
            })
            .filter_map(|d| {
                let level = if let (Some(now), Some(full)) =
                    (open(d, "energy_now"), open(d, "energy_full"))
                {
                    Level::Energy {
                        now,
                        full,
                        rate: open(d, "power_now"),
                    }
                } else if let (Some(now), Some(full)) =
                    (open(d, "charge_now"), open(d, "charge_full"))
                {
                    Level::Charge {
                        now,
                        full,
                        rate: open(d, "current_now"),
                        volts: open(d, "voltage_min_design").or_else(|| open(d, "voltage_now")),
                    }
                } else {
                    Level::Capacity(open(d, "capacity")?)
                };
                Some(Battery {
                    status: open(d, "status"),
                    level,
                })
            })
            .collect();
        Batteries { list, buf: [0; 64] }
    }

    /// Whether any battery was found.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Reads every battery; `None` when there are none or none could be read.
    pub fn read(&mut self) -> Option<BatteryReading> {
        let buf = &mut self.buf;
        let (mut now_wh, mut full_wh, mut watts) = (0.0f64, 0.0f64, 0.0f64);
        let (mut pct_sum, mut pct_n) = (0.0f64, 0u32);
        let mut rate_known = true;
        let mut statuses = [0u8; 5];
        let mut count = 0u8;
        for b in &self.list {
            match &b.level {
                Level::Energy { now, full, rate } => {
                    let (Some(n), Some(f)) = (num(now, buf), num(full, buf)) else {
                        continue;
                    };
                    now_wh += n.max(0.0) / 1e6;
                    full_wh += f.max(0.0) / 1e6;
                    match rate.as_ref().and_then(|x| num(x, buf)) {
                        // Some drivers report the draw as negative.
                        Some(r) => watts += r.abs() / 1e6,
                        None => rate_known = false,
                    }
                }
                Level::Charge {
                    now,
                    full,
                    rate,
                    volts,
                } => {
                    let (Some(n), Some(f)) = (num(now, buf), num(full, buf)) else {
                        continue;
                    };
                    // Without a voltage, amp-hours stand in for energy: right
                    // for the percentage, but no time estimate.
                    let v = volts.as_ref().and_then(|x| num(x, buf)).map(|v| v / 1e6);
                    let k = v.unwrap_or(1.0);
                    now_wh += n.max(0.0) / 1e6 * k;
                    full_wh += f.max(0.0) / 1e6 * k;
                    match (rate.as_ref().and_then(|x| num(x, buf)), v) {
                        (Some(r), Some(_)) => watts += r.abs() / 1e6 * k,
                        _ => rate_known = false,
                    }
                }
                Level::Capacity(f) => {
                    let Some(p) = num(f, buf) else { continue };
                    pct_sum += p;
                    pct_n += 1;
                    rate_known = false;
                }
            }
            count += 1;
            let status = match &b.status {
                Some(f) => pread_start(f, buf).map_or(Status::Unknown, Status::parse),
                None => Status::Unknown,
            };
            statuses[status as usize] += 1;
        }
        if count == 0 {
            return None;
        }
        // Energy-reporting batteries weigh by capacity; capacity-only ones
        // count as one equal share each.
        let shares = u32::from(full_wh > 0.0) + pct_n;
        let energy_pct = if full_wh > 0.0 {
            now_wh / full_wh * 100.0
        } else {
            0.0
        };
        let percent = (energy_pct + pct_sum) / shares.max(1) as f64;
        let status = combine(&statuses, count);
        let power_w = (rate_known && watts > 0.0).then_some(watts);
        let secs = |wh: f64| {
            power_w.map(|w| (wh.max(0.0) / w * 3600.0).round().min(u32::MAX as f64) as u32)
        };
        Some(BatteryReading {
            percent: percent.clamp(0.0, 100.0) as f32,
            status,
            time_to_empty_s: if status == Status::Discharging {
                secs(now_wh)
            } else {
                None
            },
            time_to_full_s: if status == Status::Charging {
                secs(full_wh - now_wh)
            } else {
                None
            },
            power_w: power_w.map(|w| w as f32),
            count,
        })
    }
}

/// One status for several batteries: any charging or discharging wins (the
/// other battery is often idle at full), all full is full.
fn combine(counts: &[u8; 5], total: u8) -> Status {
    if counts[1] > 0 {
        Status::Discharging
    } else if counts[0] > 0 {
        Status::Charging
    } else if counts[2] == total {
        Status::Full
    } else if counts[3] > 0 {
        Status::NotCharging
    } else if counts[2] > 0 {
        Status::Full
    } else {
        Status::Unknown
    }
}
