//! `rstat --once --modules`: what every module of the layout would draw, as
//! one JSON object keyed by instance name, so users and tests can check a
//! bar's content without reading pixels.
//!
//! ```json
//! {"clock": {"text": "Wed 25 Nov  18:40", "segments": [{"text": "…", "class": "normal", "states": []}]},
//!  "workspaces": {"text": "1 2", "segments": [{"text": "1", "class": "accent", "states": ["visible", "focused"], "output": "DP-1"}, …]},
//!  "custom#weather": {"text": "weather: error", "segments": […], "error": "`…` timed out after 10.0 s"}}
//! ```
//!
//! `text` is the module's segments joined by a space (`""`: hidden, its
//! source is absent). A segment's `class` names its colour: `normal`,
//! `warning`, `critical`, `accent` (the focused workspace), `dim` (a
//! workspace shown on no output). `states` are the segment's current
//! states, in the order their styles apply (the kind's own, then
//! `warning`, `critical`, `hover`). A segment with a tooltip has it as
//! `tooltip` (markup, as the popup would draw it).

use std::os::fd::RawFd;
use std::time::{Duration, Instant};

use serde_json::{json, Map, Value};

use super::{Context, Modules, OutputTag, Palette, Segment};
use crate::collect::{Error, Sample, Sampler};
use crate::compositor::State;

/// How long `--once --modules` waits at most for custom scripts' first output.
pub const SCRIPT_WAIT_CAP: Duration = Duration::from_secs(3);

/// How long `--once --modules` waits at most for a status command's blocks.
pub const STATUS_WAIT_CAP: Duration = Duration::from_secs(10);

/// Brings every module up to date once: a first sample and read, `interval`
/// later a second (rates and CPU need two), and custom scripts' first
/// output (waiting at most their timeout, capped at [`SCRIPT_WAIT_CAP`]).
pub fn collect(
    modules: &mut Modules,
    sampler: &mut Sampler,
    compositor: Option<&State>,
    interval: Duration,
    wall: impl Fn() -> Duration,
) -> Result<Sample, Error> {
    let mut sample = Sample::default();
    if modules.uses_sample() {
        sampler.sample(&mut sample)?;
    }
    let t0 = Instant::now();
    modules.update_all(&Context {
        now: t0,
        wall: wall(),
        sample: &sample,
    });
    modules.on_service(crate::services::View::Compositor(compositor));
    pump(modules, t0 + interval);
    if modules.uses_sample() {
        sampler.sample(&mut sample)?;
    }
    let now = Instant::now();
    let cx = Context {
        now,
        wall: wall(),
        sample: &sample,
    };
    // A second reading for those with rates (network, the sample); a custom
    // script starts again only if its interval has passed.
    modules.update_all(&cx);
    let wait = modules
        .iter()
        .filter(|m| m.spec().kind.name == super::custom::KIND.name)
        .map(|m| super::custom::timeout(m.spec()))
        .max()
        .unwrap_or_default()
        .min(SCRIPT_WAIT_CAP);
    // A status command's first line of blocks may take a while (py3status
    // starts Python and prints an empty line first): wait for it, up to a cap.
    let wait = if modules
        .iter()
        .any(|m| m.spec().kind.name == super::i3bar::KIND.name)
    {
        wait.max(STATUS_WAIT_CAP)
    } else {
        wait
    };
    let until = t0 + wait;
    loop {
        let now = Instant::now();
        modules.update_due(&Context {
            now,
            wall: wall(),
            sample: &sample,
        });
        if now >= until || !modules.iter().any(|m| m.fd().is_some()) {
            break;
        }
        // Scripts that already answered are done; wait for the others.
        if modules.iter().all(|m| m.fd().is_none() || has_output(m)) {
            break;
        }
        pump(modules, until.min(now + Duration::from_millis(50)));
    }
    Ok(sample)
}

fn has_output(m: &dyn super::Module) -> bool {
    let mut v = Vec::new();
    m.write(&mut v);
    !v.is_empty()
}

/// Reads the modules' descriptors as they become readable until `until`.
fn pump(modules: &mut Modules, until: Instant) {
    loop {
        let now = Instant::now();
        if now >= until {
            return;
        }
        let fds: Vec<(usize, RawFd)> = modules.fds().collect();
        if fds.is_empty() {
            std::thread::sleep(until - now);
            return;
        }
        let mut polls: Vec<libc::pollfd> = fds
            .iter()
            .map(|&(_, fd)| libc::pollfd {
                fd,
                events: libc::POLLIN,
                revents: 0,
            })
            .collect();
        let ms = (until - now).as_millis().clamp(1, i32::MAX as u128) as i32;
        // SAFETY: `polls` is a valid array of pollfd of the length passed;
        // the descriptors belong to the modules, which outlive this call.
        let n = unsafe { libc::poll(polls.as_mut_ptr(), polls.len() as libc::nfds_t, ms) };
        if n <= 0 {
            continue;
        }
        for (p, &(i, _)) in polls.iter().zip(&fds) {
            if p.revents != 0 {
                modules.on_readable(i);
            }
        }
    }
}

/// The class name of a segment's colour.
pub fn class(s: &Segment, p: &Palette) -> &'static str {
    let fg = s.style.fg;
    if fg == p.critical {
        "critical"
    } else if fg == p.warning {
        "warning"
    } else if fg == p.accent {
        "accent"
    } else if fg == p.foreground {
        "normal"
    } else {
        "dim"
    }
}

/// The JSON object of every module's current segments; `compositor` names
/// the outputs of output-bound segments.
pub fn snapshot(modules: &Modules, palette: &Palette, compositor: Option<&State>) -> Value {
    let mut out = Map::new();
    let mut segs = Vec::new();
    for m in modules.iter() {
        segs.clear();
        m.write(&mut segs);
        let text: Vec<&str> = segs.iter().map(|s| s.text.as_str()).collect();
        let list: Vec<Value> = segs
            .iter()
            .enumerate()
            .map(|(k, s)| {
                let states: Vec<&str> =
                    crate::config::state::names(m.spec().kind, &m.spec().classes, s.states)
                        .collect();
                let mut o = json!({
                    "text": s.text.as_str(),
                    "class": class(s, palette),
                    "states": states,
                });
                if let Some(tag) = s.output {
                    let name = compositor
                        .and_then(|c| {
                            c.workspaces
                                .iter()
                                .find(|w| OutputTag::of(&w.output) == tag)
                        })
                        .map_or("", |w| w.output.as_str());
                    o["output"] = Value::from(name);
                }
                // What hovering it would show (markup), if anything.
                if let Some(tip) = m.tooltip(k).filter(|_| m.spec().tooltip) {
                    o["tooltip"] = Value::from(tip);
                }
                o
            })
            .collect();
        let mut entry = json!({"text": text.join(" "), "segments": list});
        if let Some(st) = m.state() {
            entry["state"] = Value::from(st);
        }
        let rows = m.listing();
        if !rows.is_empty() {
            let items: Vec<Value> = rows
                .iter()
                .map(|r| {
                    Value::Object(
                        r.iter()
                            .map(|(k, v)| (k.to_string(), Value::from(*v)))
                            .collect(),
                    )
                })
                .collect();
            entry["items"] = Value::from(items);
        }
        if let Some(e) = m.error() {
            entry["error"] = Value::from(e);
        }
        out.insert(m.spec().name.clone(), entry);
    }
    Value::Object(out)
}

/// How long `--once --modules` waits at most for a bus's answers.
pub const BUS_WAIT_CAP: Duration = Duration::from_secs(2);

/// Connects the D-Bus services the modules use (session, system), reads
/// until every call made has been answered (or [`BUS_WAIT_CAP`]), and hands
/// each bus's state to the modules. A bus that cannot be reached leaves
/// its modules hidden; the reason goes to stderr.
pub fn settle_buses(modules: &mut Modules, env: &dyn Fn(&str) -> Option<String>) {
    use crate::services::{registry, Id};
    for mut service in registry(env) {
        let id = service.id();
        if !matches!(id, Id::SessionBus | Id::SystemBus) || !modules.uses(id) {
            continue;
        }
        if let Some(why) = service.unavailable() {
            eprintln!("rstat: {why}");
            continue;
        }
        if let Err(e) = service.connect() {
            eprintln!("rstat: {e}");
            continue;
        }
        let until = Instant::now() + BUS_WAIT_CAP;
        let mut rounds = 0;
        while let Some(fd) = service.fd() {
            let now = Instant::now();
            if now >= until {
                break;
            }
            let mut p = libc::pollfd {
                fd,
                events: libc::POLLIN,
                revents: 0,
            };
            let ms = (until - now).as_millis().clamp(1, 1000) as i32;
            // SAFETY: one valid pollfd; the descriptor is the service's, open.
            unsafe { libc::poll(&mut p, 1, ms) };
            if let Err(e) = service.dispatch() {
                eprintln!("rstat: {e}");
                break;
            }
            rounds += 1;
            modules.on_service(service.view());
            if rounds > 1 && !service.busy() {
                break;
            }
        }
        modules.on_service(service.view());
    }
}
