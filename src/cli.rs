//! Command-line arguments: parsed by hand (a handful of flags does not need
//! a parser crate), with one-line errors that `main` prints before exit 2.

use std::fmt;
use std::path::PathBuf;

use crate::collect::Choice;

/// What the process was asked to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mode {
    /// No mode flag: be the status bar.
    Bar,
    /// `--once`: two samples, one JSON object, exit.
    Once,
    /// `--once --modules`: what every configured module would show, as one
    /// JSON object keyed by module name.
    OnceModules,
    /// `--waybar`: one JSON line per tick for Waybar's custom module.
    Waybar,
    /// `--bench N`: time N samples per collector.
    Bench(usize),
    /// `--bench-render N`: time N bar redraws.
    BenchRender(usize),
    /// `--check-config [PATH]`: validate and exit.
    CheckConfig(Option<PathBuf>),
    /// `--print-default-config`: the commented built-in config.
    PrintDefaultConfig,
    Help,
    Version,
}

/// `--collector`: one collector, or (for `--bench`) all that load.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CollectorArg {
    One(Choice),
    All,
}

/// Parsed arguments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Args {
    pub mode: Mode,
    pub collector: CollectorArg,
    /// `--interval-ms`; each mode has its own default.
    pub interval_ms: Option<u64>,
    /// `--root DIR`: read `DIR/proc` and `DIR/sys` instead of `/proc`, `/sys`.
    pub root: Option<PathBuf>,
    /// `--config PATH`: the config file instead of the XDG location.
    pub config: Option<PathBuf>,
}

/// A bad command line; `main` prints it and exits 2.
#[derive(Debug, PartialEq, Eq)]
pub struct UsageError(pub String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (see rstat --help)", self.0)
    }
}

/// The `--help` text.
pub const HELP: &str = "\
rstat: a Wayland status bar whose system-health sampler reads the kernel directly

USAGE:
    rstat [--collector auto|iter|bpf|procfs]  run the bar (needs a Wayland compositor
                                              with wlr-layer-shell: Sway, Hyprland, ...)
    rstat --once [--collector C] [--interval-ms N]
                                              two samples N ms apart (default 250),
                                              then one JSON object on stdout
    rstat --once --modules [--config PATH] [--interval-ms N]
                                              what each module of the config's layout
                                              would draw: one JSON object keyed by
                                              module name (clock, workspaces, window,
                                              battery, network, health, custom names)
    rstat --waybar [--collector C] [--interval-ms N]
                                              one JSON line per tick (default 1000 ms)
                                              for Waybar's custom module
    rstat --bench N [--collector C|all]       time N samples, 1 ms apart, per collector,
                                              with each one's total cost (tick CPU +
                                              its BPF programs' kernel time)
    rstat --bench-render N                    time N bar redraws (no compositor needed)
    rstat --check-config [PATH]               validate a config file: exit 0, or print
                                              every error (file:line:column) and exit 1
    rstat --print-default-config              the complete, commented default config
    rstat --help | --version

OPTIONS:
    --collector auto|iter|bpf|procfs|all
        auto (default): the cheapest collector that loads (iter, then bpf), else
        procfs (one line on stderr says why). iter: a BPF task iterator walked once
        per tick, nothing runs between ticks. bpf: the sched_switch probe. Either
        fails (exit 1) when it cannot load. procfs: walk /proc, needs no privilege.
        all: only with --bench, every collector that loads.
    --interval-ms N    time between samples, 1..=3600000
    --config PATH      the config file (default: $XDG_CONFIG_HOME/rstat/config.toml,
                       then ~/.config/rstat/config.toml; none = built-in defaults)
    --root DIR         read DIR/proc and DIR/sys instead of /proc and /sys (for tests
                       and for inspecting a captured sysfs tree)

SIGNALS (to the running bar):
    SIGUSR1    hide the bar (its surfaces and exclusive zone go away) or show it again
    SIGUSR2    re-read the config file; an invalid one is reported on stderr and the
               running config stays (the file is also watched: saving it reloads)
    SIGTERM, SIGINT    exit

FILES:
    $XDG_CONFIG_HOME/rstat/config.toml, else ~/.config/rstat/config.toml
               the config (TOML; every key optional; see --print-default-config)
    /proc/stat, /proc/meminfo, /proc/PID/{stat,io}, /proc/net/route
    /sys/class/{hwmon,thermal,drm,power_supply,net}, /sys/devices/system/cpu,
    /sys/firmware/acpi/platform_profile
               what the health, battery and network modules read (under --root)
    /sys/kernel/btf/vmlinux
               the kernel's BTF, against which the embedded eBPF probe is relocated

ENVIRONMENT:
    WAYLAND_DISPLAY, XDG_RUNTIME_DIR    the compositor to draw on
    SWAYSOCK (or I3SOCK)                Sway's IPC socket: workspaces, window title
    HYPRLAND_INSTANCE_SIGNATURE         Hyprland's instance: its sockets in
                                        $XDG_RUNTIME_DIR/hypr/SIG/, else /tmp/hypr/SIG/
    XDG_CONFIG_HOME, HOME               where the config file is looked for
    RSTAT_SHM_FORMAT=argb8888           draw ARGB8888 even where ABGR8888 is offered
    RSTAT_NO_CLANG=1 (build time)       embed the committed probe object instead of
                                        compiling probe/probe.bpf.c with clang
    RSTAT_REQUIRE_E2E=1 (tests)         tests that need root, clang or Sway fail
                                        instead of skipping

PRIVILEGES:
    With CAP_BPF + CAP_PERFMON (setcap cap_bpf,cap_perfmon+ep on the binary, or root)
    rstat loads its probe, then drops every capability and sets no_new_privs before
    it reads the config or connects to the compositor. Without them: procfs.

CONVENTIONS:
    CPU percentages, the system's and each process's, are shares of the whole
    machine: all cores busy = 100%. Memory \"used\" is total - available, as free(1).

EXIT STATUS:
    0 success, 1 runtime failure (no compositor, collector failed, bad config),
    2 bad arguments.
";

fn number<T: TryFrom<u64>>(
    flag: &str,
    v: Option<String>,
    min: u64,
    max: u64,
) -> Result<T, UsageError> {
    let v = v.ok_or_else(|| UsageError(format!("{flag} needs a value")))?;
    let n: u64 = v
        .parse()
        .map_err(|_| UsageError(format!("{flag}: '{v}' is not a whole number")))?;
    if n < min || n > max {
        return Err(UsageError(format!(
            "{flag}: {n} is out of range ({min}..={max})"
        )));
    }
    T::try_from(n).map_err(|_| UsageError(format!("{flag}: {n} is too large")))
}

/// Parses the arguments after the program name.
pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Args, UsageError> {
    let mut mode: Option<Mode> = None;
    let mut collector: Option<CollectorArg> = None;
    let mut interval_ms = None;
    let mut root = None;
    let mut config = None;
    let mut modules = false;
    let mut it = args.into_iter().peekable();
    let mut set_mode = |m: Mode, flag: &str| -> Result<(), UsageError> {
        if mode.is_some() {
            return Err(UsageError(format!("{flag}: only one mode flag at a time")));
        }
        mode = Some(m);
        Ok(())
    };
    while let Some(arg) = it.next() {
        // Accept `--flag=value` as well as `--flag value`.
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        let value = |it: &mut dyn Iterator<Item = String>| inline.clone().or_else(|| it.next());
        match flag.as_str() {
            "--once" => set_mode(Mode::Once, &flag)?,
            "--modules" => modules = true,
            "--waybar" => set_mode(Mode::Waybar, &flag)?,
            "-h" | "--help" => set_mode(Mode::Help, &flag)?,
            "-V" | "--version" => set_mode(Mode::Version, &flag)?,
            "--bench" => {
                let n = number(&flag, value(&mut it), 1, 10_000_000)?;
                set_mode(Mode::Bench(n), &flag)?
            }
            "--bench-render" => {
                let n = number(&flag, value(&mut it), 1, 10_000_000)?;
                set_mode(Mode::BenchRender(n), &flag)?
            }
            "--interval-ms" => interval_ms = Some(number(&flag, value(&mut it), 1, 3_600_000)?),
            "--collector" => {
                let v =
                    value(&mut it).ok_or_else(|| UsageError("--collector needs a value".into()))?;
                collector = Some(match v.as_str() {
                    "all" => CollectorArg::All,
                    other => CollectorArg::One(Choice::parse(other).ok_or_else(|| {
                        UsageError(format!(
                            "--collector: '{other}' is not one of auto, iter, bpf, procfs, all"
                        ))
                    })?),
                });
            }
            "--config" => {
                let v = value(&mut it).ok_or_else(|| UsageError("--config needs a file".into()))?;
                config = Some(PathBuf::from(v));
            }
            "--check-config" => {
                // The path is optional: take the next argument unless it is a flag.
                let path = match inline.clone() {
                    Some(v) => Some(v),
                    None => it.next_if(|a| !a.starts_with('-')),
                };
                set_mode(Mode::CheckConfig(path.map(PathBuf::from)), &flag)?
            }
            "--print-default-config" => set_mode(Mode::PrintDefaultConfig, &flag)?,
            "--root" => {
                let v =
                    value(&mut it).ok_or_else(|| UsageError("--root needs a directory".into()))?;
                root = Some(PathBuf::from(v));
            }
            _ if flag.starts_with('-') => {
                return Err(UsageError(format!("unknown option '{flag}'")));
            }
            _ => return Err(UsageError(format!("unexpected argument '{arg}'"))),
        }
    }
    let mut mode = mode.unwrap_or(Mode::Bar);
    if modules {
        if mode != Mode::Once {
            return Err(UsageError("--modules works only with --once".into()));
        }
        mode = Mode::OnceModules;
    }
    let collector = collector.unwrap_or(CollectorArg::One(Choice::Auto));
    if collector == CollectorArg::All && !matches!(mode, Mode::Bench(_)) {
        return Err(UsageError("--collector all works only with --bench".into()));
    }
    if interval_ms.is_some()
        && !matches!(
            mode,
            Mode::Once | Mode::OnceModules | Mode::Waybar | Mode::Bar
        )
    {
        return Err(UsageError(
            "--interval-ms works with --once, --waybar and the bar".into(),
        ));
    }
    Ok(Args {
        mode,
        collector,
        interval_ms,
        root,
        config,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<Args, UsageError> {
        parse(s.split_whitespace().map(String::from))
    }

    #[test]
    fn once_modules() {
        assert_eq!(p("--once --modules").unwrap().mode, Mode::OnceModules);
        assert_eq!(
            p("--modules --once --interval-ms 100").unwrap().mode,
            Mode::OnceModules
        );
        assert!(p("--modules").is_err());
        assert!(p("--waybar --modules").is_err());
    }

    #[test]
    fn modes_and_defaults() {
        let a = p("").unwrap();
        assert_eq!(a.mode, Mode::Bar);
        assert_eq!(a.collector, CollectorArg::One(Choice::Auto));
        let a = p("--once --collector procfs --interval-ms 100").unwrap();
        assert_eq!(a.mode, Mode::Once);
        assert_eq!(a.collector, CollectorArg::One(Choice::Procfs));
        assert_eq!(a.interval_ms, Some(100));
        assert_eq!(
            p("--bench=20 --collector=all").unwrap().mode,
            Mode::Bench(20)
        );
        assert_eq!(p("--waybar").unwrap().mode, Mode::Waybar);
        assert_eq!(
            p("--root /tmp/x --once").unwrap().root,
            Some("/tmp/x".into())
        );
    }

    #[test]
    fn errors() {
        for bad in [
            "--frobnicate",
            "--once --waybar",
            "--bench",
            "--bench x",
            "--bench 0",
            "--interval-ms -5",
            "--interval-ms 0",
            "--collector magic",
            "--once --collector all",
            "--bench 5 --interval-ms 3",
            "stray",
        ] {
            assert!(p(bad).is_err(), "{bad} should be refused");
        }
        assert_eq!(
            p("--nope").unwrap_err().to_string(),
            "unknown option '--nope' (see rstat --help)"
        );
    }
}
