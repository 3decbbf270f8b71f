//! Module kinds as the config names them, the placeholders each offers, and
//! their built-in defaults.

use super::format::Template;

/// What a module shows. An instance is named `KIND` or `KIND#LABEL`
/// (`cpu`, `cpu#big`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// CPU, memory, temperature and load together, with the top-processes popup.
    Health,
    Cpu,
    Memory,
    Temperature,
    Load,
    Gpu,
    /// Local time; `format` is strftime-style rather than placeholders.
    Clock,
    /// The compositor's workspaces, each output's on its own bar (event-driven).
    Workspaces,
    /// The focused window's title (event-driven).
    Window,
    /// The system batteries, combined.
    Battery,
    /// The interface holding the default route.
    Network,
    /// A user's command (Waybar's `custom` module).
    Custom,
    /// File systems' space (`statvfs`), one segment per configured path.
    Disk,
    /// A display backlight from `/sys/class/backlight` (kernel uevents).
    Backlight,
    /// A toggle that keeps the compositor's idle timeout from firing.
    IdleInhibitor,
}

/// A built-in threshold: (placeholder, value).
pub type Level = (&'static str, f64);

/// Every kind with its config name.
pub const KINDS: [(&str, Kind); 15] = [
    ("health", Kind::Health),
    ("cpu", Kind::Cpu),
    ("memory", Kind::Memory),
    ("temperature", Kind::Temperature),
    ("load", Kind::Load),
    ("gpu", Kind::Gpu),
    ("clock", Kind::Clock),
    ("workspaces", Kind::Workspaces),
    ("window", Kind::Window),
    ("battery", Kind::Battery),
    ("network", Kind::Network),
    ("custom", Kind::Custom),
    ("disk", Kind::Disk),
    ("backlight", Kind::Backlight),
    ("idle_inhibitor", Kind::IdleInhibitor),
];

/// The placeholders of one workspace button (each workspace renders the
/// format once).
pub const WORKSPACE_PLACEHOLDERS: &[&str] = &["name", "id", "output"];

/// The window module's placeholders.
pub const WINDOW_PLACEHOLDERS: &[&str] = &["title"];

/// The battery module's placeholders, in the order its values are handed over.
pub const BATTERY_PLACEHOLDERS: &[&str] = &[
    "percent",
    "status",
    "time",
    "time_to_empty",
    "time_to_full",
    "power",
    "count",
];

/// The network module's placeholders.
pub const NETWORK_PLACEHOLDERS: &[&str] = &[
    "iface", "kind", "state", "ipv4", "rx", "tx", "rx_kib", "tx_kib", "signal",
];

/// The disk module's placeholders (one segment per path).
pub const DISK_PLACEHOLDERS: &[&str] = &[
    "path",
    "percent",
    "used",
    "free",
    "total",
    "used_gib",
    "free_gib",
    "total_gib",
];

/// The backlight module's placeholders.
pub const BACKLIGHT_PLACEHOLDERS: &[&str] = &["percent", "icon", "device", "brightness", "max"];

/// The idle inhibitor's placeholders.
pub const IDLE_INHIBITOR_PLACEHOLDERS: &[&str] = &["state", "icon"];

/// The backlight's built-in `{icon}` ramp, dimmest first (block elements:
/// the embedded font has them).
pub const DEFAULT_ICONS: &[&str] = &["▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"];

/// The idle inhibitor's built-in icons: deactivated, activated.
pub const IDLE_INHIBITOR_ICONS: &[&str] = &["○", "●"];

/// The custom module's placeholders (Waybar's JSON fields).
pub const CUSTOM_PLACEHOLDERS: &[&str] = &["text", "tooltip", "class", "percentage"];

/// What each placeholder of the non-sample kinds means: (kind, placeholder,
/// description), for the README and the default config.
pub const OTHER_PLACEHOLDER_DOCS: &[(&str, &str, &str)] = &[
    ("workspaces", "name", "the workspace's name"),
    (
        "workspaces",
        "id",
        "its number (Sway `num`, Hyprland `id`; -1 when named only)",
    ),
    ("workspaces", "output", "the output it is on"),
    (
        "window",
        "title",
        "the focused window's title, cut to `max_chars` characters",
    ),
    (
        "battery",
        "percent",
        "charge left, % (all batteries together)",
    ),
    (
        "battery",
        "status",
        "charging, discharging, full, not charging, unknown",
    ),
    (
        "battery",
        "time",
        "time to empty (discharging) or to full (charging), H:MM",
    ),
    ("battery", "time_to_empty", "time to empty, H:MM"),
    ("battery", "time_to_full", "time to full, H:MM"),
    ("battery", "power", "watts in or out"),
    ("battery", "count", "batteries read"),
    ("network", "iface", "the default route's interface"),
    ("network", "kind", "wired, wifi or other"),
    ("network", "state", "up or down"),
    ("network", "ipv4", "its IPv4 address"),
    (
        "network",
        "rx",
        "receive rate, human-readable (`1.2M`, bytes/s)",
    ),
    ("network", "tx", "transmit rate, human-readable"),
    ("network", "rx_kib", "receive rate, KiB/s"),
    ("network", "tx_kib", "transmit rate, KiB/s"),
    ("network", "signal", "wifi link quality, %"),
    (
        "custom",
        "text",
        "the script's text (plain: line 1; JSON: `text`)",
    ),
    ("custom", "tooltip", "line 2 / `tooltip`"),
    (
        "custom",
        "class",
        "line 3 / `class` (`warning`, `critical` colour the module)",
    ),
    ("custom", "percentage", "JSON `percentage`, 0–100"),
    ("disk", "path", "the configured path"),
    (
        "disk",
        "percent",
        "space used, % of what users may use (as `df` counts: used / (used + free))",
    ),
    ("disk", "used", "space used, human-readable (`12G`)"),
    (
        "disk",
        "free",
        "space free for unprivileged users, human-readable (`df`'s Avail)",
    ),
    ("disk", "total", "the file system's size, human-readable"),
    ("disk", "used_gib", "space used, GiB"),
    ("disk", "free_gib", "space free for unprivileged users, GiB"),
    ("disk", "total_gib", "the file system's size, GiB"),
    (
        "backlight",
        "percent",
        "`actual_brightness` as % of `max_brightness`",
    ),
    (
        "backlight",
        "icon",
        "one of `icons` by percent (the first below 1/n, …)",
    ),
    (
        "backlight",
        "device",
        "the device's name (`intel_backlight`)",
    ),
    ("backlight", "brightness", "`actual_brightness`, raw"),
    ("backlight", "max", "`max_brightness`, raw"),
    ("idle_inhibitor", "state", "activated or deactivated"),
    (
        "idle_inhibitor",
        "icon",
        "`icons[0]` while deactivated, `icons[1]` while activated",
    ),
];

/// The placeholders of every health-sample module, in the order of the
/// values a module hands to [`Template::render`].
pub const SAMPLE_PLACEHOLDERS: &[&str] = &[
    "usage",
    "cores",
    "freq_mhz",
    "freq_max_mhz",
    "freq_ghz",
    "temp",
    "mem_percent",
    "mem_used_gib",
    "mem_total_gib",
    "mem_available_gib",
    "swap_percent",
    "swap_used_gib",
    "swap_total_gib",
    "load1",
    "load5",
    "load15",
    "gpu_busy",
    "gpu_freq_mhz",
    "gpu_freq_max_mhz",
    "power_profile",
    "throttle",
    "tasks",
];

/// What each sample placeholder means, for `--print-default-config` and the README.
pub const SAMPLE_PLACEHOLDER_DOCS: &[(&str, &str)] = &[
    ("usage", "CPU busy, % of the whole machine"),
    ("cores", "online CPUs"),
    ("freq_mhz", "mean CPU frequency, MHz"),
    ("freq_max_mhz", "highest CPU frequency, MHz"),
    ("freq_ghz", "mean CPU frequency, GHz"),
    ("temp", "CPU package temperature, °C"),
    ("mem_percent", "memory used (total − available), %"),
    ("mem_used_gib", "memory used, GiB"),
    ("mem_total_gib", "memory total, GiB"),
    ("mem_available_gib", "memory available, GiB"),
    ("swap_percent", "swap used, %"),
    ("swap_used_gib", "swap used, GiB"),
    ("swap_total_gib", "swap total, GiB"),
    ("load1", "load average, 1 minute"),
    ("load5", "load average, 5 minutes"),
    ("load15", "load average, 15 minutes"),
    ("gpu_busy", "GPU busy, %"),
    ("gpu_freq_mhz", "GPU frequency, MHz"),
    ("gpu_freq_max_mhz", "GPU maximum frequency, MHz"),
    ("power_profile", "ACPI platform profile (text)"),
    ("throttle", "active GPU throttle reasons (text)"),
    ("tasks", "processes"),
];

impl Kind {
    /// Looks a kind up by its config name.
    pub fn from_name(name: &str) -> Option<Kind> {
        KINDS.iter().find(|(n, _)| *n == name).map(|&(_, k)| k)
    }

    /// The config name.
    pub fn name(self) -> &'static str {
        KINDS
            .iter()
            .find(|(_, k)| *k == self)
            .map_or("?", |(n, _)| n)
    }

    /// The placeholders `format` may use (none for the clock).
    pub fn placeholders(self) -> &'static [&'static str] {
        match self {
            Kind::Clock => &[],
            Kind::Workspaces => WORKSPACE_PLACEHOLDERS,
            Kind::Window => WINDOW_PLACEHOLDERS,
            Kind::Battery => BATTERY_PLACEHOLDERS,
            Kind::Network => NETWORK_PLACEHOLDERS,
            Kind::Custom => CUSTOM_PLACEHOLDERS,
            Kind::Disk => DISK_PLACEHOLDERS,
            Kind::Backlight => BACKLIGHT_PLACEHOLDERS,
            Kind::IdleInhibitor => IDLE_INHIBITOR_PLACEHOLDERS,
            _ => SAMPLE_PLACEHOLDERS,
        }
    }

    /// Whether the kind shows the health sample.
    pub fn is_sample(self) -> bool {
        matches!(
            self,
            Kind::Health | Kind::Cpu | Kind::Memory | Kind::Temperature | Kind::Load | Kind::Gpu
        )
    }

    /// The placeholder a bare-number `warning` / `critical` applies to.
    pub fn primary(self) -> Option<&'static str> {
        match self {
            Kind::Health | Kind::Cpu => Some("usage"),
            Kind::Memory => Some("mem_percent"),
            Kind::Temperature => Some("temp"),
            Kind::Load => Some("load1"),
            Kind::Gpu => Some("gpu_busy"),
            Kind::Battery => Some("percent"),
            Kind::Custom => Some("percentage"),
            Kind::Disk | Kind::Backlight => Some("percent"),
            Kind::Clock | Kind::Workspaces | Kind::Window | Kind::Network | Kind::IdleInhibitor => {
                None
            }
        }
    }

    /// The built-in format. Numbers have fixed widths so a module keeps its
    /// size as digits change.
    pub fn default_format(self) -> &'static str {
        match self {
            Kind::Health => {
                "CPU {usage:>3.0}%  MEM {mem_used_gib:>4.1}G  {temp:>3.0}°C  LOAD {load1:>5.2}"
            }
            Kind::Cpu => "CPU {usage:>3.0}%",
            Kind::Memory => "MEM {mem_used_gib:>4.1}G",
            Kind::Temperature => "{temp:>3.0}°C",
            Kind::Load => "{load1:.2} {load5:.2} {load15:.2}",
            Kind::Gpu => "GPU {gpu_busy:>3.0}%",
            Kind::Clock => "%a %d %b  %H:%M",
            Kind::Workspaces => "{name}",
            Kind::Window => "{title}",
            Kind::Battery => "BAT {percent:>3.0}% {time}",
            Kind::Network => "{iface} {ipv4}  rx {rx:>5} tx {tx:>5}",
            Kind::Custom => "{text}",
            Kind::Disk => "{path} {percent:>3.0}%",
            Kind::Backlight => "{icon} {percent:>3.0}%",
            Kind::IdleInhibitor => "{icon}",
        }
    }

    /// The built-in interval in milliseconds (the clock ticks on its own
    /// boundaries instead).
    pub fn default_interval_ms(self) -> u64 {
        match self {
            Kind::Load | Kind::Battery => 5000,
            Kind::Network => 2000,
            Kind::Disk => 30_000,
            // Uevents bring changes at once; the interval only catches
            // drivers that change brightness without one (firmware hotkeys).
            Kind::Backlight => 5000,
            _ => 1000,
        }
    }

    /// Built-in warning and critical levels, as (placeholder, value) pairs.
    pub fn default_thresholds(self) -> (&'static [Level], &'static [Level]) {
        match self {
            Kind::Health => (
                &[("usage", 70.0), ("mem_percent", 80.0), ("temp", 80.0)],
                &[("usage", 90.0), ("mem_percent", 90.0), ("temp", 90.0)],
            ),
            Kind::Cpu => (&[("usage", 70.0)], &[("usage", 90.0)]),
            Kind::Memory => (&[("mem_percent", 80.0)], &[("mem_percent", 90.0)]),
            Kind::Temperature => (&[("temp", 80.0)], &[("temp", 90.0)]),
            Kind::Gpu => (&[("gpu_busy", 80.0)], &[("gpu_busy", 95.0)]),
            // Battery levels count downwards: at or below these.
            Kind::Battery => (&[("percent", 30.0)], &[("percent", 15.0)]),
            Kind::Disk => (&[("percent", 85.0)], &[("percent", 95.0)]),
            _ => (&[], &[]),
        }
    }

    /// Whether the module has a hover popup by default.
    pub fn default_popup(self) -> bool {
        matches!(self, Kind::Health | Kind::Clock)
    }
}

/// The strftime conversions the clock accepts (glibc's, minus the
/// locale-modifier forms `%E` and `%O`).
pub const CLOCK_CONVERSIONS: &str = "aAbBcCdDeFgGhHIjklmMnpPrRsStTuUVwWxXyYzZ%+";

/// Checks a clock format; the error is the offending byte offset and why.
pub fn check_clock_format(f: &str) -> Result<(), (usize, String)> {
    let b = f.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            // glibc flags and a width may follow: %-d, %_H, %02d
            let mut j = i + 1;
            while j < b.len() && b"-_0^#".contains(&b[j]) {
                j += 1;
            }
            while j < b.len() && b[j].is_ascii_digit() {
                j += 1;
            }
            match b.get(j) {
                Some(c) if c.is_ascii() && CLOCK_CONVERSIONS.as_bytes().contains(c) => i = j + 1,
                Some(_) => {
                    let c = f[j..].chars().next().unwrap_or('?');
                    return Err((i, format!("unknown clock conversion `%{c}`")));
                }
                None => return Err((i, "a `%` at the end (write `%%` for a percent sign)".into())),
            }
        } else {
            i += 1;
        }
    }
    Ok(())
}

/// The conversions of a clock format, in order (`%%` included as `%`),
/// skipping glibc's flags and widths (`%-S`, `%02S`).
fn clock_conversions(f: &str) -> impl Iterator<Item = u8> + '_ {
    let b = f.as_bytes();
    let mut i = 0;
    std::iter::from_fn(move || {
        while i < b.len() {
            if b[i] != b'%' {
                i += 1;
                continue;
            }
            let mut j = i + 1;
            while j < b.len() && (b"-_0^#".contains(&b[j]) || b[j].is_ascii_digit()) {
                j += 1;
            }
            i = j + 1;
            if let Some(&c) = b.get(j) {
                return Some(c);
            }
        }
        None
    })
}

/// Whether the clock format shows seconds, so the clock must tick each second
/// rather than each minute.
pub fn clock_shows_seconds(f: &str) -> bool {
    clock_conversions(f).any(|c| b"SsTrcX+".contains(&c))
}

/// The built-in `icons` of `kind`.
pub fn default_icons(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::IdleInhibitor => IDLE_INHIBITOR_ICONS,
        _ => DEFAULT_ICONS,
    }
}

/// Parses a kind's default format; the built-ins are known to be valid.
pub fn default_template(kind: Kind) -> Template {
    Template::parse(kind.default_format(), kind.placeholders()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        for (name, kind) in KINDS {
            assert_eq!(Kind::from_name(name), Some(kind));
            assert_eq!(kind.name(), name);
            if kind == Kind::Clock {
                assert!(check_clock_format(kind.default_format()).is_ok());
            } else {
                Template::parse(kind.default_format(), kind.placeholders())
                    .unwrap_or_else(|e| panic!("{name}: {e:?}"));
            }
            let (w, c) = kind.default_thresholds();
            for (p, _) in w.iter().chain(c) {
                assert!(kind.placeholders().contains(p));
            }
        }
        assert_eq!(SAMPLE_PLACEHOLDERS.len(), SAMPLE_PLACEHOLDER_DOCS.len());
        for (kind, p, _) in OTHER_PLACEHOLDER_DOCS {
            let k = Kind::from_name(kind).unwrap();
            assert!(k.placeholders().contains(p), "{kind}.{p}");
        }
        for (_, k) in KINDS {
            if k.is_sample() || k == Kind::Clock {
                continue;
            }
            for p in k.placeholders() {
                assert!(
                    OTHER_PLACEHOLDER_DOCS
                        .iter()
                        .any(|(n, q, _)| *n == k.name() && q == p),
                    "{p} undocumented"
                );
            }
        }
        for (a, (b, _)) in SAMPLE_PLACEHOLDERS.iter().zip(SAMPLE_PLACEHOLDER_DOCS) {
            assert_eq!(a, b);
        }
    }

    #[test]
    fn clock_formats() {
        assert!(check_clock_format("%a %-d %b %H:%M:%S %%").is_ok());
        assert_eq!(check_clock_format("%H:%Q").unwrap_err().0, 3);
        assert!(check_clock_format("100%").is_err());
        assert!(check_clock_format("%é").is_err());
        assert!(clock_shows_seconds("%H:%M:%S"));
        assert!(!clock_shows_seconds("%H:%M"));
        assert!(clock_shows_seconds("%H:%M:%-S"));
        assert!(clock_shows_seconds("%T"));
        assert!(!clock_shows_seconds("%H:%M %%S"), "a literal %S");
    }
}
