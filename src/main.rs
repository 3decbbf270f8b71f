//! rstat's entry point: arguments, wiring, and the one place errors are printed.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use rstat::cli::{self, Args, CollectorArg, Mode};
use rstat::collect::{self, privilege, Choice, CollectorKind, Roots, Sample, Sampler};
use rstat::config;
use rstat::report::{bench, once, waybar};

/// A failure that ends the process: the message and the exit status.
struct Fatal {
    msg: String,
    code: u8,
}

impl From<collect::Error> for Fatal {
    fn from(e: collect::Error) -> Fatal {
        Fatal {
            msg: e.to_string(),
            code: 1,
        }
    }
}

fn main() -> ExitCode {
    rstat::bar::resident::one_heap();
    let args = match cli::parse(std::env::args().skip(1)) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("rstat: {e}");
            return ExitCode::from(2);
        }
    };
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            eprintln!("rstat: {}", f.msg);
            ExitCode::from(f.code)
        }
    }
}

fn roots(args: &Args) -> Roots {
    args.root.as_deref().map(Roots::under).unwrap_or_default()
}

/// Opens one collector; with `auto`, a BPF failure is said once on stderr.
fn open_sampler(choice: Choice, roots: &Roots) -> Result<Sampler, Fatal> {
    let (source, fallback) = collect::open_source(choice, roots)?;
    if let Some(why) = fallback {
        eprintln!("rstat: using the procfs collector ({why})");
    }
    Ok(Sampler::new(roots, source)?)
}

/// Opens the collector, then gives up every capability (and a setuid uid)
/// before anything reads user input or talks to a compositor: the probe is
/// loaded and attached by now, and its maps are read through descriptors
/// we already hold. CAP_BPF stays only where the kernel demands it for map
/// reads and iterator creation (before 6.5 with `unprivileged_bpf_disabled`;
/// since 6.5, `BPF_ITER_CREATE` on a held link checks no capability).
fn open_sampler_unprivileged(choice: Choice, roots: &Roots) -> Result<Sampler, Fatal> {
    let sampler = open_sampler(choice, roots)?;
    let keep_bpf = matches!(sampler.kind(), CollectorKind::Bpf | CollectorKind::Iter)
        && privilege::bpf_reads_need_cap();
    privilege::drop_privileges(keep_bpf)?;
    Ok(sampler)
}

fn run(args: &Args) -> Result<(), Fatal> {
    let roots = roots(args);
    let choice = match args.collector {
        CollectorArg::One(c) => c,
        CollectorArg::All => Choice::Auto,
    };
    match args.mode {
        Mode::Help => {
            print!("{}", cli::HELP);
            Ok(())
        }
        Mode::Version => {
            println!("rstat {}", env!("CARGO_PKG_VERSION"));
            println!("eBPF probe: {}", env!("RSTAT_PROBE_STATUS"));
            Ok(())
        }
        Mode::Once => {
            let mut sampler = open_sampler_unprivileged(choice, &roots)?;
            let mut s = Sample::default();
            sampler.sample(&mut s)?;
            std::thread::sleep(Duration::from_millis(args.interval_ms.unwrap_or(250)));
            sampler.sample(&mut s)?;
            let mut buf = Vec::with_capacity(64 * 1024);
            once::write_sample(&mut buf, &s);
            buf.push(b'\n');
            write_stdout(&buf)
        }
        Mode::OnceModules => once_modules(args, choice, &roots),
        Mode::Waybar => {
            let mut sampler = open_sampler_unprivileged(choice, &roots)?;
            let interval = Duration::from_millis(args.interval_ms.unwrap_or(1000));
            let thresholds = waybar::Thresholds::default();
            let mut line = waybar::WaybarLine::default();
            let mut s = Sample::default();
            // The first sample only sets baselines; show real rates at once
            // rather than a line of zeros.
            sampler.sample(&mut s)?;
            std::thread::sleep(Duration::from_millis(100).min(interval));
            loop {
                sampler.sample(&mut s)?;
                line.format(&s, &thresholds);
                write_stdout(&line.line)?;
                std::thread::sleep(interval);
            }
        }
        Mode::Bench(n) => {
            let mut samplers = Vec::new();
            match args.collector {
                CollectorArg::All => {
                    match collect::bpf::open_iter() {
                        Ok(src) => samplers.push(Sampler::new(&roots, Box::new(src))?),
                        Err(why) => eprintln!("rstat: not measuring iter ({why})"),
                    }
                    match collect::bpf::open() {
                        Ok(src) => samplers.push(Sampler::new(&roots, src)?),
                        Err(why) => eprintln!("rstat: not measuring bpf ({why})"),
                    }
                    samplers.push(open_sampler(Choice::Procfs, &roots)?);
                }
                CollectorArg::One(c) => samplers.push(open_sampler(c, &roots)?),
            }
            let report = bench::run(&mut samplers, n)?;
            write_stdout(report.as_bytes())
        }
        Mode::PrintDefaultConfig => write_stdout(config::DEFAULT_TEXT.as_bytes()),
        Mode::CheckConfig(ref path) => check_config(path.as_deref().or(args.config.as_deref())),
        Mode::BenchRender(n) => write_stdout(rstat::bar::bench_render(n).as_bytes()),
        Mode::Bar => {
            // The scripts' watchdog first, while the process is one thread
            // and has touched little memory: the pages it shares with the
            // bar at the fork count as its resident memory.
            if let Err(e) = rstat::exec::reaper::start() {
                eprintln!("rstat: scripts' children may outlive a killed bar (watchdog: {e})");
            }
            // Privileges go before Wayland is touched: the bar never runs
            // with CAP_BPF/CAP_PERFMON (beyond what map reads need).
            let sampler = open_sampler_unprivileged(choice, &roots)?;
            // The config is user input: read only now, without privilege.
            // A bad one at start-up is fatal; at a reload the bar keeps the
            // running one.
            let source = rstat::modules::registry::source(args.config.clone());
            let (config, _) = source.load().map_err(|errors| Fatal {
                msg: format!("invalid config:\n{errors}"),
                code: 1,
            })?;
            let opts = rstat::bar::Options {
                config,
                source: Some(source),
                force_argb: false,
                sources: rstat::modules::Sources {
                    roots: roots.clone(),
                },
            };
            rstat::bar::run(sampler, &opts).map_err(|e| Fatal {
                msg: e.to_string(),
                code: 1,
            })
        }
    }
}

/// `--once --modules`: every module of the config's layout, what it would
/// draw, as one JSON object keyed by instance name.
fn once_modules(args: &Args, choice: Choice, roots: &Roots) -> Result<(), Fatal> {
    use rstat::modules::{once, Modules, Palette, Sources};
    let mut sampler = open_sampler_unprivileged(choice, roots)?;
    let source = rstat::modules::registry::source(args.config.clone());
    let (config, _) = source.load().map_err(|errors| Fatal {
        msg: format!("invalid config:\n{errors}"),
        code: 1,
    })?;
    let src = Sources {
        roots: roots.clone(),
    };
    let mut modules = Modules::with_sources(&config, std::time::Instant::now(), &src);
    let conn = if modules.uses(rstat::services::Id::Compositor) {
        rstat::services::compositor::open_from_env()
            .map_err(|e| eprintln!("rstat: {e}; workspaces and window are hidden"))
            .ok()
    } else {
        None
    };
    let state = conn.as_ref().map(|c| c.state().clone());
    // The sound server answers within milliseconds; a hung one costs at most
    // this wait, and shows `disconnected`.
    let sound = if modules.uses(rstat::services::Id::Sound) {
        rstat::services::pulse::target_from_env(&|k| std::env::var(k).ok())
            .map_err(|e| rstat::services::Error(e.0))
            .and_then(|t| rstat::services::sound::query_once(&t, Duration::from_secs(2)))
            .map_err(|e| eprintln!("rstat: {e}; the audio module shows `disconnected`"))
            .ok()
    } else {
        None
    };
    let interval = Duration::from_millis(args.interval_ms.unwrap_or(250));
    let wall = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
    };
    once::collect(&mut modules, &mut sampler, state.as_ref(), interval, wall)?;
    once::settle_buses(&mut modules, &|k| std::env::var(k).ok());
    modules.on_service(rstat::services::View::Sound(sound.as_ref()));
    let v = once::snapshot(
        &modules,
        &Palette::from_colors(&config.bar.colors),
        state.as_ref(),
    );
    write_stdout(format!("{v}\n").as_bytes())
}

/// `--check-config`: validates the file (or says which defaults apply).
fn check_config(explicit: Option<&std::path::Path>) -> Result<(), Fatal> {
    let Some(path) = config::find(explicit) else {
        println!("no config file found: the built-in defaults apply (rstat --print-default-config shows them)");
        return Ok(());
    };
    match rstat::modules::registry::load(&path) {
        Ok(_) => {
            println!("{}: ok", path.display());
            Ok(())
        }
        Err(errors) => Err(Fatal {
            msg: format!("invalid config:\n{errors}"),
            code: 1,
        }),
    }
}

/// Writes to stdout; a reader that went away (Waybar restarted, `| head`)
/// ends the process quietly rather than with a panic.
fn write_stdout(b: &[u8]) -> Result<(), Fatal> {
    let mut out = std::io::stdout().lock();
    match out.write_all(b).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => std::process::exit(0),
        Err(e) => Err(Fatal {
            msg: format!("writing to stdout: {e}"),
            code: 1,
        }),
    }
}
