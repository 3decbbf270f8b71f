//! The bar application: one event loop (`event_loop`) wiring the tick timer →
//! modules → render → wayland, plus the config's reload and the visibility
//! toggle.
//!
//! One timer drives the modules: its deadline is the earliest of their own
//! (each sample module's interval, the clock's next second or minute), so
//! nothing wakes the process in between. SIGUSR1 / SIGUSR2 arrive through a
//! signalfd and changes to the config file through inotify, both sources on
//! the same loop: no thread, no async runtime.

mod bench;
pub mod event_loop;
// Hover popup and pointer actions.
pub mod hover;
pub mod reload;
pub mod resident;
pub mod services;
pub mod settings;
pub mod signals;
pub mod wallclock;
pub mod watch;

use std::cell::RefCell;
use std::fmt;
use std::os::fd::AsRawFd;
use std::rc::Rc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use event_loop::{EventLoop, PostAction, TimeoutAction, Token};

use crate::collect::suspend::{Clocks, SleepWatch};
use crate::collect::system::Needs;
use crate::collect::{Sample, Sampler};
use crate::config::{self, Config};
use crate::modules::{Button, Context, Descriptor, Modules, Sources, HEALTH_POPUP};
use crate::render::calendar::CalendarContent;
use crate::render::popup::PopupContent;
use crate::render::{GlyphCache, Segment, MAX_SEGMENTS};
use crate::services::EventFd;
use crate::wayland::popup::PopupKind;
use crate::wayland::{Bars, ConnectError};
use signals::{Request, Signals};
use watch::Watch;

pub use bench::bench_render;

/// How long the config file must stay quiet after a change before it is
/// read: an editor's save is several events (write, rename, attributes).
pub const RELOAD_DEBOUNCE: Duration = Duration::from_millis(100);

/// How long a tick's frame may wait for a quick script started with it
/// (one whose last run ended within milliseconds): its output is drawn in
/// the same commit, one frame and one buffer release a second instead of
/// two. The other modules' changes are at most this late.
const HOLD_FOR_SCRIPT: Duration = Duration::from_millis(25);

/// How soon a sliding drawer's next frame is looked for when the last one
/// moved no pixel (so no frame callback is coming to wake the loop).
const SLIDE_RETRY: Duration = Duration::from_millis(4);

/// Everything the bar is told at start-up.
#[derive(Clone, Debug)]
pub struct Options {
    /// The config to start with (read and validated by the caller).
    pub config: Config,
    /// Where reloads read the config (SIGUSR2, the file changing on disk);
    /// `None`: the bar never reloads.
    pub source: Option<config::Source>,
    /// Draw ARGB8888 even when the compositor offers ABGR8888 (to exercise
    /// the conversion path). Also set by `RSTAT_SHM_FORMAT=argb8888`.
    pub force_argb: bool,
    /// Where the battery and network modules read (`/sys`, `/proc`).
    pub sources: Sources,
}

impl Default for Options {
    /// The built-in config, no reloads.
    fn default() -> Self {
        Options {
            config: crate::modules::registry::default_config(),
            source: None,
            force_argb: false,
            sources: Sources::default(),
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
    // First, while the bar has one thread: the watchdog that kills the
    // scripts' groups should the bar be killed outright.
    if let Err(e) = crate::exec::reaper::start() {
        eprintln!("rstat: scripts' children may outlive a killed bar (watchdog: {e})");
    }
    // Blocked from here on: a SIGUSR1 during start-up waits for the loop
    // instead of killing the process (their default action), and SIGTERM
    // ends the loop so the scripts are stopped on the way out.
    let signals = Signals::new()
        .map_err(|e| eprintln!("rstat: no signal handling ({e})"))
        .ok();
    let force_argb = opts.force_argb
        || std::env::var("RSTAT_SHM_FORMAT").is_ok_and(|v| v.eq_ignore_ascii_case("argb8888"));
    let mut cfg = settings::surface_config(&opts.config, force_argb);
    // The font was validated with the config; if it vanished since, the
    // embedded font still draws a bar.
    let mut glyphs = settings::glyphs(&opts.config.bar.font).unwrap_or_else(|e| {
        eprintln!("rstat: {e}; using the embedded font");
        GlyphCache::with_default_font()
    });
    settings::add_style_fonts(&opts.config, &mut glyphs);
    cfg.height = settings::fit_height(&opts.config, &mut glyphs);
    // Font discovery's scratch (fontconfig's XML, the faces' names) is
    // freed; hand that heap back so it does not count as resident.
    resident::trim_heap();
    let (mut bars, conn, queue) = Bars::connect(cfg, glyphs).map_err(|e| match e {
        ConnectError::NoCompositor(why) => Error::NoCompositor(why),
        ConnectError::Missing(what) => Error::Unsupported(what),
    })?;

    let mut event_loop = EventLoop::new(queue, conn.backend().poll_fd().as_raw_fd())
        .map_err(|e| Error::EventLoop(e.to_string()))?;
    let handle = event_loop.handle();

    let now = Instant::now();
    let ctl = Rc::new(RefCell::new(Control {
        ticker: Ticker::new(
            sampler,
            Modules::with_sources(&opts.config, now, &opts.sources),
        ),
        config: opts.config.clone(),
        source: opts.source.clone(),
        sources: opts.sources.clone(),
        force_argb,
        timer: None,
        timer_at: now,
        reload_at: None,
        reloader: opts.source.as_ref().and_then(|_| {
            reload::Reloader::new()
                .map_err(|e| {
                    eprintln!("rstat: reloads will read the config on the event loop ({e})")
                })
                .ok()
        }),
        services: services::Services::new(crate::services::registry(&|k| std::env::var(k).ok())),
        watched: Vec::with_capacity(8),
        quit: None,
        press_at: (0, 0),
    }));
    // The services' state first, so the first frame shows workspaces.
    services::sync(&handle, &ctl, &mut bars);
    let first = ctl.borrow_mut().ticker.tick(now, &mut bars);
    schedule_tick(&handle, &ctl, first);
    sync_fds(&handle, &ctl);

    if let Some(signals) = signals {
        let (c, h) = (ctl.clone(), handle.clone());
        handle
            .insert_fd(signals, move |signals, bars| {
                signals.drain(|req| match req {
                    Request::ToggleVisible => {
                        let shown = !bars.visible();
                        bars.set_visible(shown);
                        c.borrow_mut().ticker.modules.set_visible(shown);
                    }
                    Request::Reload => reload(&h, &c, bars),
                    Request::Quit => c.borrow_mut().quit = Some(()),
                });
                PostAction::Continue
            })
            .map_err(|e| Error::EventLoop(e.to_string()))?;
    }
    watch_reloads(&handle, &ctl);
    watch_wall_clock(&handle, &ctl);
    if let Some(path) = opts.source.as_ref().and_then(config::Source::watched) {
        match Watch::new(&path) {
            Ok(w) => {
                let (c, h) = (ctl.clone(), handle.clone());
                handle
                    .insert_fd(w, move |w, _| {
                        if w.changed() {
                            file_changed(&h, &c);
                        }
                        PostAction::Continue
                    })
                    .map_err(|e| Error::EventLoop(e.to_string()))?;
            }
            // No config directory is the common case of a user on the
            // defaults: nothing to say. (Creating one later takes SIGUSR2 or
            // a restart.) Reload by SIGUSR2 works either way.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => eprintln!("rstat: not watching the config for changes ({e})"),
        }
    }

    // The hover logic runs after every turn of the loop and
    // bounds the next wait by its own deadline (hover delay, grace). A
    // click or scroll asks the module that wrote the segment for its command.
    let mut hover = hover::Hover::new(hover::HoverOptions::default());
    // The revision of the context menu on screen.
    let mut menu_shown: Option<u64> = None;
    let command = |segment: usize, gesture, spot| {
        let mut c = ctl.borrow_mut();
        // The first member of a drawer that opens by click: the click is
        // the drawer's (redrawn after this turn, with the hover).
        if gesture == crate::wayland::pointer::Gesture::Press(crate::wayland::pointer::Button::Left)
            && c.ticker.modules.click_drawer(segment)
        {
            return None;
        }
        let spec = c.ticker.modules.owner(segment)?;
        let configured = hover::Actions::from_spec(spec)
            .for_gesture(gesture)
            .cloned();
        if configured.is_some() {
            return configured;
        }
        // No command configured: what the module itself does (a workspace
        // button switches, scrolling cycles).
        c.pointer(segment, button_of(gesture), spot);
        drop(c);
        // The module may have made itself due (a backlight step to show).
        reschedule_if_earlier(&handle, &ctl);
        None
    };
    // Start-up's pages go back once the first frame is up, and once more
    // when the services have had time to answer (their set-up runs once).
    let mut release = Release::default();
    let ended = loop {
        release.after_turn(bars.commits, Instant::now());
        let mut timeout = hover
            .deadline()
            .map(|d| d.saturating_duration_since(Instant::now()));
        // A drawer slides frame by frame, each drawn when the compositor
        // takes one (its frame callback wakes the loop); a frame that moved
        // no pixel asks for no callback, so the loop looks again shortly.
        if bars.frame_ready() && ctl.borrow().ticker.modules.sliding() {
            timeout = Some(timeout.map_or(SLIDE_RETRY, |t| t.min(SLIDE_RETRY)));
        }
        if let Err(e) = event_loop.dispatch(timeout, &mut bars) {
            break Err(Error::ConnectionLost(root_cause(&e)));
        }
        if ctl.borrow().quit.is_some() {
            break Ok(());
        }
        // What was done in a context menu goes to the module that showed
        // it, before this turn's clicks (which may open another).
        bars.drain_menu_events(|e| ctl.borrow_mut().menu_event(e));
        // This turn's clicks happened there (a tray item is told where).
        ctl.borrow_mut().press_at = bars.press_position();
        hover.process(Instant::now(), &mut bars, &command);
        sync_menu(&ctl, &mut bars, &mut menu_shown);
        // `hover` styles: only the segments entered and left are redrawn.
        let hovered = match bars.pointer_target() {
            crate::wayland::pointer::Target::Bar { segment, .. } => segment,
            _ => None,
        };
        {
            let mut c = ctl.borrow_mut();
            let mut changed = c.ticker.modules.set_hover(hovered);
            if bars.frame_ready() && c.ticker.modules.sliding() {
                changed |= c.ticker.modules.animate(Instant::now());
            }
            if changed {
                c.ticker.redraw(&mut bars);
            }
        }
        // A tooltip shows its module's text as of now: set while the
        // pointer rests (the popup's size follows it) and while it is open.
        if let Some((p, open)) = hover.looking_at().filter(|(p, _)| p.is_tooltip()) {
            let c = ctl.borrow();
            match c.ticker.modules.tooltip_of(p) {
                Some(text) => bars.set_tooltip_text(text),
                // The module has no tooltip any more.
                None if open => bars.close_popup(),
                None => {}
            }
        }
        // The process walk runs only while its result is looked at.
        let looking = hover.looking_at().is_some_and(|(p, _)| p == HEALTH_POPUP);
        ctl.borrow_mut()
            .ticker
            .look(looking, Instant::now(), &mut bars);
    };
    // However the bar ends, its scripts (and what they started) end first.
    ctl.borrow_mut().ticker.modules.stop_scripts();
    crate::exec::reaper::stop();
    ended
}

/// Puts the module's context menu on screen, updates it or takes it away.
/// A press on the bar that left the menu as it was (not its icon, not
/// another menu) dismisses it.
fn sync_menu(ctl: &Rc<RefCell<Control>>, bars: &mut Bars, shown: &mut Option<u64>) {
    if bars.take_menu_press_outside() {
        let same = ctl.borrow().ticker.modules.menu().map(|m| m.0);
        if same.is_some() && same == *shown {
            ctl.borrow_mut()
                .menu_event(crate::render::menu::MenuEvent::Dismissed);
        }
    }
    let c = ctl.borrow();
    let Some((rev, segment, content)) = c.ticker.modules.menu() else {
        if shown.take().is_some() || bars.menu_is_open() {
            bars.close_menu();
        }
        return;
    };
    if *shown == Some(rev) {
        return;
    }
    let Some(bar) = bars.pressed_bar().or_else(|| bars.first_configured_bar()) else {
        return;
    };
    // The icon's bar is the one clicked; the module's segment on it.
    let Some(anchor) = bars.segment_anchor(bar, segment) else {
        return;
    };
    bars.show_menu(bar, anchor, content);
    *shown = Some(rev);
}

/// The module-level button of a pointer gesture.
fn button_of(g: crate::wayland::pointer::Gesture) -> Button {
    use crate::wayland::pointer::{Button as B, Gesture as G};
    match g {
        G::Press(B::Left) => Button::Left,
        G::Press(B::Middle) => Button::Middle,
        G::Press(B::Right) => Button::Right,
        G::ScrollUp => Button::ScrollUp,
        G::ScrollDown => Button::ScrollDown,
    }
}

/// What the loop's callbacks share: the ticker, the running config and the
/// registration of the tick timer (replaced when a reload changes the
/// intervals). One thread: the `RefCell` is never borrowed twice, as
/// callbacks run one after another and each drops its borrow before
/// calling another.
struct Control {
    ticker: Ticker,
    config: Config,
    source: Option<config::Source>,
    sources: Sources,
    force_argb: bool,
    timer: Option<Token>,
    /// When the tick timer fires next (an fd event that brings a module's
    /// deadline earlier moves it).
    timer_at: Instant,
    /// A file change is waiting out [`RELOAD_DEBOUNCE`] until then.
    reload_at: Option<Instant>,
    /// Loads reloaded configs on a worker (`None`: on the loop, as a last
    /// resort when it could not be set up, or no reloads at all).
    reloader: Option<reload::Reloader>,
    /// The services (compositor IPC, …) and their places on the loop.
    services: services::Services,
    /// Module descriptors on the loop (custom scripts' stdout).
    watched: Vec<Watched>,
    /// A signal asked the bar to exit.
    quit: Option<()>,
    /// Where the last press on a bar was, in global logical pixels.
    press_at: (i32, i32),
}

/// A module's descriptor registered on the loop.
struct Watched {
    /// The instance, the number and its serial: a number is reused by the
    /// next run's pipe, the serial is not.
    desc: Descriptor,
    token: Token,
}

type Handle = event_loop::Handle<Bars>;

/// (Re)places the tick timer so it first fires at `at`.
fn schedule_tick(handle: &Handle, ctl: &Rc<RefCell<Control>>, at: Instant) {
    let (c, h) = (ctl.clone(), handle.clone());
    let token = handle.insert_timer(at, move |bars| {
        // The event is the deadline; the modules need the time it is.
        let next = {
            let mut ctl = c.borrow_mut();
            let next = ctl.ticker.tick(Instant::now(), bars);
            ctl.timer_at = next;
            next
        };
        // A tick may have started a script (a new pipe to watch).
        sync_fds(&h, &c);
        TimeoutAction::ToInstant(next)
    });
    let mut c = ctl.borrow_mut();
    c.timer_at = at;
    if let Some(old) = c.timer.replace(token) {
        handle.remove(old);
    }
}

/// Puts the wall-clock timerfd and the zone file's watch on the loop: either
/// makes the time-showing modules due at once.
fn watch_wall_clock(handle: &Handle, ctl: &Rc<RefCell<Control>>) {
    let changed = |h: &Handle, c: &Rc<RefCell<Control>>| {
        {
            let mut c = c.borrow_mut();
            c.ticker.modules.wall_clock_changed(Instant::now());
            c.ticker.today.forget();
        }
        reschedule_if_earlier(h, c);
    };
    match wallclock::ClockSet::new() {
        Ok(t) => {
            let (c, h) = (ctl.clone(), handle.clone());
            let r = handle.insert_fd(t, move |t, _| {
                if t.was_set() {
                    changed(&h, &c);
                }
                PostAction::Continue
            });
            if let Err(e) = r {
                eprintln!(
                    "rstat: the clock will not follow wall-clock changes ({})",
                    e
                );
            }
        }
        Err(e) => eprintln!("rstat: the clock will not follow wall-clock changes ({e})"),
    }
    let tz = std::env::var("TZ").ok();
    let Some(zone) = wallclock::zone_file(tz.as_deref()) else {
        return;
    };
    match Watch::new(&zone) {
        Ok(w) => {
            let (c, h) = (ctl.clone(), handle.clone());
            let r = handle.insert_fd(w, move |w, _| {
                if w.changed() {
                    changed(&h, &c);
                }
                PostAction::Continue
            });
            if let Err(e) = r {
                eprintln!("rstat: not watching {} ({})", zone.display(), e);
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => eprintln!("rstat: not watching {} ({e})", zone.display()),
    }
}

/// Moves the tick timer earlier when a module's deadline now comes before
/// it (an event made a module due sooner).
fn reschedule_if_earlier(handle: &Handle, ctl: &Rc<RefCell<Control>>) {
    let (due, at) = {
        let c = ctl.borrow();
        (c.ticker.due(), c.timer_at)
    };
    if let Some(due) = due.filter(|d| *d < at) {
        schedule_tick(handle, ctl, due);
    }
}

/// Moves the tick timer to the modules' earliest deadline, earlier or
/// later: after a script's exit the deadline that watched its run (the end
/// of its quiet start, its timeout) is gone, and waking for it would be a
/// wakeup for nothing.
fn reschedule(handle: &Handle, ctl: &Rc<RefCell<Control>>) {
    let (due, at) = {
        let c = ctl.borrow();
        (c.ticker.due(), c.timer_at)
    };
    if let Some(due) = due.filter(|d| *d != at) {
        schedule_tick(handle, ctl, due);
    }
}

/// Matches the loop's registrations to the modules' descriptors: a new one
/// is watched, a closed one forgotten. Nothing is polled: a readable pipe
/// wakes the loop. Matched by number and serial ([`Descriptor::serial`]),
/// so a closed descriptor whose number the next run's reuses is told from
/// it without a system call; nothing changed, nothing is called.
fn sync_fds(handle: &Handle, ctl: &Rc<RefCell<Control>>) {
    let mut c = ctl.borrow_mut();
    let c = &mut *c;
    let modules = &c.ticker.modules;
    c.watched.retain(|w| {
        let live = modules.descriptors().any(|d| d == w.desc);
        if !live {
            handle.remove(w.token);
        }
        live
    });
    let mut fresh: [Option<Descriptor>; 16] = [None; 16];
    let mut n = 0;
    for d in modules.descriptors() {
        if n < fresh.len() && !c.watched.iter().any(|w| w.desc == d) {
            fresh[n] = Some(d);
            n += 1;
        }
    }
    for d in fresh[..n].iter().flatten().copied() {
        let (cc, h) = (ctl.clone(), handle.clone());
        let on_event = move |bars: &mut Bars| {
            let still = {
                let mut c = cc.borrow_mut();
                if c.ticker.modules.on_readable(d.module) {
                    c.ticker.redraw(bars);
                } else if c.ticker.held.is_some() && !c.ticker.modules.quick_run_pending() {
                    // The run the frame waited for is over, its text unchanged.
                    c.ticker.show(bars);
                }
                let still = c.ticker.modules.descriptors().any(|x| x == d);
                if !still {
                    // Forget it here: the loop drops it on `Remove`.
                    c.watched.retain(|w| w.desc != d);
                }
                still
            };
            reschedule(&h, &cc);
            if still {
                PostAction::Continue
            } else {
                PostAction::Remove
            }
        };
        let inserted = if d.exit {
            // Given exactly while open, closed by its module: registered as
            // it is (a copy would cost a dup, and a DEL and a close at the end).
            handle.insert_borrowed_fd(d.fd, on_event)
        } else {
            // A pipe may be withheld while open (paused, a quiet start): a
            // copy of our own, unregistered before it is closed.
            let Some(dup) = EventFd::dup(d.fd) else {
                eprintln!("rstat: out of descriptors; a custom module will not update");
                continue;
            };
            handle.insert_fd(dup, move |_, bars| on_event(bars))
        };
        match inserted {
            Ok(token) => c.watched.push(Watched { desc: d, token }),
            Err(e) => eprintln!("rstat: cannot watch a custom module's output: {}", e),
        }
    }
}

/// The config file changed: reload once it has been quiet for
/// [`RELOAD_DEBOUNCE`].
fn file_changed(handle: &Handle, ctl: &Rc<RefCell<Control>>) {
    let at = Instant::now() + RELOAD_DEBOUNCE;
    let armed = ctl.borrow_mut().reload_at.replace(at).is_some();
    if armed {
        // The pending timer sees the later deadline and waits on.
        return;
    }
    let (c, h) = (ctl.clone(), handle.clone());
    handle.insert_timer(at, move |bars| {
        let due = c.borrow().reload_at;
        match due {
            Some(t) if Instant::now() < t => TimeoutAction::ToInstant(t),
            _ => {
                c.borrow_mut().reload_at = None;
                reload(&h, &c, bars);
                TimeoutAction::Drop
            }
        }
    });
}

/// Asks for the config to be read again: on the worker, whose result
/// [`watch_reloads`] applies; on the loop only if there is no worker.
fn reload(handle: &Handle, ctl: &Rc<RefCell<Control>>, bars: &mut Bars) {
    let here = {
        let mut c = ctl.borrow_mut();
        let Some(source) = c.source.clone() else {
            return;
        };
        let job = reload::Job {
            source,
            running: c.config.clone(),
        };
        match c.reloader.as_mut() {
            Some(r) => {
                r.request(job);
                None
            }
            None => Some(job),
        }
    };
    if let Some(job) = here {
        let asked = Instant::now();
        let outcome = reload::load(job);
        apply(handle, ctl, bars, reload::Done { outcome, asked });
    }
}

/// Puts the reload worker's channel on the loop: each result that answers
/// the newest request is applied.
fn watch_reloads(handle: &Handle, ctl: &Rc<RefCell<Control>>) {
    let Some(fd) = ctl.borrow().reloader.as_ref().map(reload::Reloader::fd) else {
        return;
    };
    let Some(dup) = EventFd::dup(fd) else {
        eprintln!("rstat: out of descriptors; reloads will read the config on the event loop");
        ctl.borrow_mut().reloader = None;
        return;
    };
    let (c, h) = (ctl.clone(), handle.clone());
    let inserted = handle.insert_fd(dup, move |_, bars| {
        let done = c.borrow_mut().reloader.as_mut().and_then(|r| r.take());
        if let Some(done) = done {
            apply(&h, &c, bars, done);
        }
        PostAction::Continue
    });
    if let Err(e) = inserted {
        eprintln!(
            "rstat: reloads will read the config on the event loop ({})",
            e
        );
        ctl.borrow_mut().reloader = None;
    }
}

/// Applies a loaded config, or reports why not and keeps the running one.
fn apply(handle: &Handle, ctl: &Rc<RefCell<Control>>, bars: &mut Bars, done: reload::Done) {
    let next = ctl.borrow_mut().apply(bars, done);
    if let Some(at) = next {
        // New instances: the compositor's state for them, their pipes.
        services::sync(handle, ctl, bars);
        sync_fds(handle, ctl);
        schedule_tick(handle, ctl, at);
    }
}

impl Control {
    /// A pointer action on segment `segment` (of the whole list): runs what
    /// the module that drew it asks of a service. Errors are said on
    /// stderr; the bar carries on.
    fn pointer(&mut self, segment: usize, button: Button, spot: crate::render::Spot) {
        let Some(cmd) = self.ticker.modules.pointer_at(segment, button, spot) else {
            return;
        };
        let cmd = cmd.at(self.press_at.0, self.press_at.1);
        if let Err(e) = self.services.run(&cmd) {
            eprintln!("rstat: {e}");
        }
    }

    /// Something happened in the context menu: what the module that showed
    /// it asks of a service.
    fn menu_event(&mut self, event: crate::render::menu::MenuEvent) {
        let Some(cmd) = self.ticker.modules.menu_event(event) else {
            return;
        };
        if let Err(e) = self.services.run(&cmd) {
            eprintln!("rstat: {e}");
        }
    }

    /// Applies what a reload loaded; the new first tick deadline, or
    /// `None` when nothing changed (or nothing could).
    fn apply(&mut self, bars: &mut Bars, done: reload::Done) -> Option<Instant> {
        let loaded = match done.outcome {
            reload::Outcome::Loaded(l) => *l,
            reload::Outcome::Invalid(errors) => {
                eprintln!("rstat: the config has errors; keeping the running one:\n{errors}");
                // A hostile file's syntax tree was large: give it back.
                resident::trim_heap();
                return None;
            }
            reload::Outcome::Font(e) | reload::Outcome::Failed(e) => {
                eprintln!("rstat: {e}; keeping the running config");
                return None;
            }
        };
        let (cfg, path) = (loaded.config, loaded.path);
        let from = path.as_ref().map_or_else(
            || "the built-in defaults".to_string(),
            |p| p.display().to_string(),
        );
        if cfg == self.config {
            eprintln!("rstat: config reloaded from {from}: unchanged");
            return None;
        }
        let glyphs = if reload::fonts_changed(&cfg, &self.config) {
            // The worker loaded them when the fonts differed from those
            // running as it started; were they missing, they load here.
            match loaded.glyphs.map_or_else(|| reload::glyphs_of(&cfg), Ok) {
                Ok(g) => Some(g),
                Err(e) => {
                    eprintln!("rstat: {e}; keeping the running config");
                    return None;
                }
            }
        } else {
            None
        };
        let now = Instant::now();
        let inhibit = self.ticker.modules.inhibits_idle();
        self.ticker.modules = Modules::with_sources(&cfg, now, &self.sources);
        self.ticker.modules.set_inhibit_idle(inhibit);
        let mut glyphs = glyphs;
        // Icons live beside the glyphs: the new cache gets them too.
        match glyphs.as_mut() {
            Some(g) => self.ticker.modules.offer_icons(&mut g.icons),
            None => self
                .ticker
                .modules
                .offer_icons(&mut bars.glyphs_mut().icons),
        }
        let segments = self.ticker.refresh(now);
        let mut surface = settings::surface_config(&cfg, self.force_argb);
        surface.height = match glyphs.as_mut() {
            Some(g) => settings::fit_height(&cfg, g),
            None => settings::fit_height(&cfg, bars.glyphs_mut()),
        };
        bars.reconfigure(surface, glyphs, segments);
        bars.set_idle_inhibit(self.ticker.modules.inhibits_idle());
        self.config = cfg;
        // A font change freed the old glyphs and outlines.
        resident::trim_heap();
        eprintln!(
            "rstat: config reloaded from {from} in {:.1} ms",
            done.asked.elapsed().as_secs_f64() * 1e3
        );
        Some(self.ticker.next_due(now))
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
/// When start-up memory is handed back: after the first frame, and again
/// [`RELEASE_AGAIN_AFTER`] later.
#[derive(Default)]
struct Release {
    /// The second release is due then (`None`: the first has not happened).
    again_at: Option<Instant>,
    done: bool,
}

/// Services (buses, sound server, tray items) set up within this long of
/// the first frame; their set-up code is released with the second call.
const RELEASE_AGAIN_AFTER: Duration = Duration::from_secs(10);

impl Release {
    fn after_turn(&mut self, commits: u64, now: Instant) {
        if self.done || commits == 0 {
            return;
        }
        match self.again_at {
            None => {
                resident::release_startup_memory();
                self.again_at = Some(now + RELEASE_AGAIN_AFTER);
            }
            Some(at) if now >= at => {
                resident::release_startup_memory();
                self.done = true;
            }
            Some(_) => {}
        }
    }
}

/// The tick's state: sampler, last sample, modules, their segments.
struct Ticker {
    sampler: Sampler,
    sample: Sample,
    modules: Modules,
    segments: Vec<Segment>,
    /// The popup's tables, rewritten every tick.
    popup: PopupContent,
    /// The clock popup's month, converted once a minute (`today`).
    calendar: CalendarContent,
    today: crate::modules::calendar::Today,
    /// A sampling error was already reported (say it once, keep going).
    warned: bool,
    /// Somebody looks at the health popup (the pointer rests on its module
    /// or the popup is open): the process walk runs with each sample.
    looking: bool,
    /// The open health popup has been given a walk with rates since it
    /// opened.
    shown_rated: bool,
    /// Notices a suspend between two samples (rates then start afresh).
    sleep: SleepWatch,
    /// The segments written last wait until then for a quick script's
    /// output (see [`HOLD_FOR_SCRIPT`]).
    held: Option<Instant>,
}

/// A walk this soon after the previous one would give rates over too short
/// a window to mean anything: the popup shows the previous one's.
const MIN_WALK_GAP: Duration = Duration::from_millis(50);

/// How long the bar sleeps when no module has a deadline (event-driven
/// modules only): nothing needs the timer, but it must name a time.
const IDLE: Duration = Duration::from_secs(3600);

impl Ticker {
    fn new(sampler: Sampler, modules: Modules) -> Ticker {
        Ticker {
            sampler,
            sample: Sample::default(),
            modules,
            segments: Vec::with_capacity(MAX_SEGMENTS),
            popup: PopupContent::default(),
            calendar: CalendarContent::default(),
            today: Default::default(),
            warned: false,
            looking: false,
            shown_rated: false,
            sleep: SleepWatch::default(),
            held: None,
        }
    }

    /// Before any sample or walk: if the machine slept since the last one,
    /// every rate starts from a new baseline instead of spanning the sleep.
    fn check_sleep(&mut self) {
        if self.sleep.slept(Clocks::now()).is_some() {
            self.sampler.forget_rates();
            self.modules.forget_rates();
        }
    }

    /// Whether each sample walks the processes: while somebody looks at the
    /// popup, or always when a module shows a per-process figure.
    fn walking(&self) -> bool {
        self.looking || self.modules.uses_processes()
    }

    /// Reports a sampling error once; later ones only keep the last values.
    fn sampled(&mut self, r: Result<(), crate::collect::Error>) {
        if let Some(notice) = self.sampler.take_notice() {
            eprintln!("rstat: {notice}");
        }
        if let Err(e) = r {
            if !self.warned {
                eprintln!("rstat: sampling failed, showing the last values: {e}");
                self.warned = true;
            }
        }
    }

    /// One process walk now, and the popup's tables from it.
    fn walk_now(&mut self, bars: &mut Bars) {
        self.check_sleep();
        let r = self.sampler.walk(&mut self.sample);
        self.sampled(r);
        crate::modules::top::write(&self.sample, &mut self.popup);
        bars.set_popup_content(&self.popup);
    }

    /// Whether somebody looks at the health popup (`looking`: the pointer
    /// rests on its module or the popup is open), after every turn of the
    /// loop. Walks start when the pointer arrives: a baseline at once, so
    /// that when the popup opens (after the hover delay) a second walk
    /// gives it rates over that delay, not an empty CPU list for a whole
    /// interval. They stop when nobody looks.
    fn look(&mut self, looking: bool, now: Instant, bars: &mut Bars) {
        let always = self.modules.uses_processes();
        if looking && !self.looking {
            self.looking = true;
            if !always {
                self.walk_now(bars);
            }
        } else if !looking && self.looking {
            self.looking = false;
            if !always {
                self.stop_walks();
            }
        }
        let open = bars.popup_kind() == Some(PopupKind::Tables);
        if !open || !self.looking {
            self.shown_rated = false;
        } else if !self.shown_rated {
            self.shown_rated = true;
            // A walk with rates moments ago (a tick's) already serves.
            let fresh = self.sampler.last_walk_rated()
                && self
                    .sampler
                    .last_walk()
                    .is_some_and(|t| now.saturating_duration_since(t) < MIN_WALK_GAP);
            if !fresh {
                self.walk_now(bars);
            }
        }
    }

    /// No walks until somebody looks again: the next one is a baseline, and
    /// nothing keeps showing what the last one found.
    fn stop_walks(&mut self) {
        if self.sampler.last_walk().is_some() {
            self.sampler.pause_walks();
            self.sample.clear_processes();
        }
    }

    /// Does what is due at `now`, shows the result, and returns the next deadline.
    fn tick(&mut self, now: Instant, bars: &mut Bars) -> Instant {
        self.check_sleep();
        if self.modules.due_needs_sample(now) {
            // One sample serves every sample module due now; the process
            // walk only when somebody looks at what it finds. Only what the
            // modules show is read, everything while walking (as `--once`).
            self.sampler.set_needs(if self.walking() {
                Needs::ALL
            } else {
                self.modules.sample_needs()
            });
            let r = self.sampler.sample_system(&mut self.sample);
            self.sampled(r);
            if self.walking() {
                let r = self.sampler.walk(&mut self.sample);
                self.sampled(r);
            } else {
                // A reload may have removed the last module that needed it.
                self.stop_walks();
            }
        }
        let wall = wall_clock();
        let cx = Context {
            now,
            wall,
            sample: &self.sample,
        };
        if self.modules.update_due(&cx) {
            self.modules.write(&mut self.segments);
            self.modules.offer_icons(&mut bars.glyphs_mut().icons);
            if self.modules.quick_run_pending() {
                // Its exit, or the deadline, draws this frame with its output.
                self.held.get_or_insert(now + HOLD_FOR_SCRIPT);
            } else {
                self.show(bars);
            }
            bars.set_idle_inhibit(self.modules.inhibits_idle());
        }
        if self.held.is_some_and(|t| now >= t) {
            self.show(bars);
        }
        // Cheap (fifteen short rows, no heap); redrawn only when
        // open, and only a walk changes what it shows.
        if self.walking() {
            crate::modules::top::write(&self.sample, &mut self.popup);
            bars.set_popup_content(&self.popup);
        }
        // The clock's calendar; differs (and redraws) only when the
        // day does, which the clock's minute tick notices.
        self.today.write(wall, &mut self.calendar);
        bars.set_calendar_content(&self.calendar);
        self.next_due(now)
    }

    /// Every module updated from the sample already held (after a reload:
    /// no extra sample, which would shorten the CPU figure's window), and
    /// the segments they write.
    fn refresh(&mut self, now: Instant) -> &[Segment] {
        let cx = Context {
            now,
            wall: wall_clock(),
            sample: &self.sample,
        };
        self.modules.update_all(&cx);
        self.modules.write(&mut self.segments);
        &self.segments
    }

    fn next_due(&self, now: Instant) -> Instant {
        self.due().unwrap_or(now + IDLE)
    }

    /// The earliest deadline: a module's, or a held frame's.
    fn due(&self) -> Option<Instant> {
        match (self.modules.next_due(), self.held) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Draws the segments written last (a held frame's wait is over).
    fn show(&mut self, bars: &mut Bars) {
        self.held = None;
        bars.set_segments(&self.segments);
    }

    /// Shows the modules' current segments (after an event changed them).
    fn redraw(&mut self, bars: &mut Bars) {
        self.modules.write(&mut self.segments);
        self.modules.offer_icons(&mut bars.glyphs_mut().icons);
        self.show(bars);
        bars.set_idle_inhibit(self.modules.inhibits_idle());
    }
}

fn wall_clock() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
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
