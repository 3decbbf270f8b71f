//! Bar modules: config-driven instances that turn their state (a health
//! sample, the time) into [`Segment`]s of text and style. Data is kept apart
//! from how it is drawn: a module never sees pixels, the renderer never sees
//! a CPU.
//!
//! Each instance keeps the segments it last wrote and rewrites them only on
//! its own interval ([`Module::update`]); [`Modules::write`] copies every
//! instance's segments into a `Vec` the bar clears and reuses, so a steady
//! tick allocates nothing.
//!
//! Adding a module kind: a file here with its [`crate::config::KindDef`]
//! (keys, defaults, placeholders, states), a type implementing [`Module`]
//! and a [`Build`] function, a `pub mod` line below, and one line in
//! [`registry::REGISTRY`].

pub mod audio;
pub mod backlight;
pub mod battery;
pub mod bluetooth;
// The clock popup's content.
pub mod calendar;
pub mod clock;
pub mod custom;
pub mod disk;
pub mod human;
pub mod i3bar;
pub mod idle_inhibitor;
pub mod language;
pub mod media;
pub mod mode;
pub mod network;
pub mod once;
pub mod power_profile;
pub mod registry;
pub mod sample;
pub mod scratchpad;
pub mod style;
// The health popup's content.
pub mod top;
pub mod tray;
pub mod window;
pub mod workspaces;

use std::os::fd::RawFd;
use std::time::{Duration, Instant};

use crate::collect::{Roots, Sample};
use crate::config::{self, Config};
use crate::services::{self, View};

pub use crate::render::{Align, OutputTag, PopupId, Rgba, Segment, Spot, Style, Text};

/// The popup the health-sample modules' segments open on hover: the top
/// processes ([`top`]), drawn as tables.
pub const HEALTH_POPUP: PopupId = PopupId::TABLES;

/// The popup of the clock: this month's calendar (content from
/// [`calendar`], drawn by [`crate::render::calendar`]).
pub const CLOCK_POPUP: PopupId = PopupId::CALENDAR;

/// Modules due within this much of the earliest deadline run in the same
/// tick, so instances with equal intervals never wake the bar twice.
pub const DUE_SLACK: Duration = Duration::from_millis(20);

/// How alarming a value is; picks the colour.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Nothing to worry about.
    Normal,
    /// Worth a glance.
    Warning,
    /// Something is wrong now.
    Critical,
}

impl Level {
    /// `Critical` at or above `critical`, `Warning` at or above `warning`.
    pub fn of(value: f32, warning: f32, critical: f32) -> Level {
        if value >= critical {
            Level::Critical
        } else if value >= warning {
            Level::Warning
        } else {
            Level::Normal
        }
    }
}

/// The state bits of `level` (`warning`, `critical`).
pub fn level_states(level: Level) -> u32 {
    match level {
        Level::Normal => 0,
        Level::Warning => config::state::WARNING,
        Level::Critical => config::state::CRITICAL,
    }
}

/// The colours modules choose from (`[bar.colors]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Palette {
    /// Normal text.
    pub foreground: Rgba,
    /// Text of a value at [`Level::Warning`].
    pub warning: Rgba,
    /// Text of a value at [`Level::Critical`].
    pub critical: Rgba,
    /// Highlights (focused workspace, open popup).
    pub accent: Rgba,
}

impl Default for Palette {
    fn default() -> Self {
        Palette::from_colors(&config::Bar::default().colors)
    }
}

impl Palette {
    /// The palette of a config's `[bar.colors]`.
    pub fn from_colors(c: &config::Colors) -> Palette {
        Palette {
            foreground: rgba(c.foreground),
            warning: rgba(c.warning),
            critical: rgba(c.critical),
            accent: rgba(c.accent),
        }
    }

    /// The style for text at `level`.
    pub fn style(&self, level: Level) -> Style {
        let fg = match level {
            Level::Normal => self.foreground,
            Level::Warning => self.warning,
            Level::Critical => self.critical,
        };
        Style {
            fg,
            bg: None,
            ..Style::default()
        }
    }
}

/// A config colour as the renderer takes it.
pub fn rgba(c: config::Color) -> Rgba {
    Rgba([c.r, c.g, c.b, c.a])
}

/// What a module sees when it updates.
#[derive(Clone, Copy, Debug)]
pub struct Context<'a> {
    /// The tick's monotonic time (deadlines are in this clock).
    pub now: Instant,
    /// The tick's wall-clock time since the Unix epoch (what a clock shows).
    pub wall: Duration,
    /// The newest health sample (taken this tick when a sample module was due).
    pub sample: &'a Sample,
}

/// Everything an instance needs to know about where it sits and how it looks.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Placement {
    /// Which group of the bar.
    pub align: Align,
    /// Colours.
    pub palette: Palette,
}

/// Where modules read from: the sysfs/procfs roots (fixture trees in tests).
#[derive(Clone, Debug, Default)]
pub struct Sources {
    /// `/proc` and `/sys`, or a test's tree.
    pub roots: Roots,
}

/// A pointer action on a segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Button {
    Left,
    Middle,
    Right,
    ScrollUp,
    ScrollDown,
}

/// What a module asks of a service in answer to a pointer action.
pub use crate::services::Command;

/// One module instance (`cpu`, `cpu#big`, `clock`, …).
pub trait Module {
    /// The config it was built from: name, actions, popup.
    fn spec(&self) -> &config::Module;

    /// When it next wants [`Module::update`]; `None`: never by the clock
    /// (event-driven modules, the default).
    fn next_due(&self) -> Option<Instant> {
        None
    }

    /// Whether its update reads [`Context::sample`]: the bar samples first
    /// when such a module is due.
    fn uses_sample(&self) -> bool {
        false
    }

    /// Whether it shows per-process figures of the sample (the task
    /// count): the bar then walks every process each sample, which it
    /// otherwise does only while the health popup is looked at.
    fn uses_processes(&self) -> bool {
        false
    }

    /// Which system-wide figures of the sample it shows (with
    /// [`Module::uses_sample`]): the sampler reads nothing else.
    fn sample_needs(&self) -> crate::collect::system::Needs {
        crate::collect::system::Needs::NONE
    }

    /// Brings the module up to date at `cx` and schedules its next update;
    /// true when its segments changed. Must not allocate in steady state.
    /// Event-driven modules, never due, keep the default.
    fn update(&mut self, _cx: &Context<'_>) -> bool {
        false
    }

    /// Appends its current segments to `out`.
    fn write(&self, out: &mut Vec<Segment>);

    /// The services it shows (the compositor's workspaces, …): the bar
    /// keeps those connected and calls [`Module::on_service`].
    fn services(&self) -> services::Set {
        services::Set::EMPTY
    }

    /// The state of one of its [`Module::services`] changed (inside the
    /// view, `None`: not connected). True when its segments changed. May
    /// allocate (once per event), but must not grow per event.
    fn on_service(&mut self, _view: View<'_>) -> bool {
        false
    }

    /// The wall clock was set, the machine resumed, or the time zone
    /// changed: a module that shows the time reads it again at once.
    fn wall_clock_changed(&mut self, _now: Instant) {}

    /// The machine slept since the last tick: a module that computes rates
    /// itself takes a new baseline at its next update, showing the rates
    /// from before the sleep meanwhile (see [`crate::collect::suspend`]).
    fn forget_rates(&mut self) {}

    /// A descriptor the bar watches for it (a custom script's stdout).
    fn fd(&self) -> Option<RawFd> {
        None
    }

    /// A second descriptor the bar watches for it, readable when its child
    /// process exits (a custom script's pidfd); [`Module::on_readable`]
    /// is called for either. Given from its opening until the module
    /// closes it, never withheld while open: the bar registers it as it
    /// is, without a copy, and its close is what unregisters it.
    fn exit_fd(&self) -> Option<RawFd> {
        None
    }

    /// Names the descriptors it gives now ([`Module::fd`],
    /// [`Module::exit_fd`]): a new value ([`crate::exec::next_serial`])
    /// whenever it has closed them and opened others (a script's next run),
    /// whose numbers are likely the same. The bar matches its registrations
    /// by number and serial, with no system call.
    fn fd_serial(&self) -> u64 {
        0
    }

    /// A script started with this wakeup whose output is expected within
    /// milliseconds (its last run was that quick): the bar may hold the
    /// frame for it, drawing both changes in one commit.
    fn quick_run_pending(&self) -> bool {
        false
    }

    /// Its [`Module::fd`] (or [`Module::exit_fd`]) is readable; true when its segments changed.
    fn on_readable(&mut self) -> bool {
        false
    }

    /// A pointer action on its segment `index` (counted in what it wrote);
    /// what to ask of the compositor, if anything.
    fn pointer(&mut self, _index: usize, _button: Button) -> Option<Command> {
        None
    }

    /// [`Module::pointer`], knowing where the click landed (the i3bar
    /// protocol sends it on).
    fn pointer_at(&mut self, index: usize, button: Button, _spot: Spot) -> Option<Command> {
        self.pointer(index, button)
    }

    /// An idle inhibitor's wish: `Some(true)` while the compositor should
    /// not go idle; `None` for every other kind.
    fn inhibits_idle(&self) -> Option<bool> {
        None
    }

    /// Sets an idle inhibitor's wish (carried over a reload).
    fn set_inhibit_idle(&mut self, _on: bool) {}

    /// Offers the icons its segments show ([`crate::render::icon`]): the
    /// bar calls it before handing segments to the renderer.
    fn offer_icons(&self, _icons: &mut crate::render::icon::Icons) {}

    /// The context menu it wants shown now: a revision (bumped whenever
    /// the content changes), the segment it hangs from (counted in what it
    /// wrote) and the rows. `None`: no menu (an open one closes).
    fn menu(&self) -> Option<(u64, usize, &crate::render::menu::MenuContent)> {
        None
    }

    /// Something happened in the menu it showed; what to ask of a
    /// service. Its [`Module::menu`] is `None` after a click or dismissal.
    fn menu_event(&mut self, _event: crate::render::menu::MenuEvent) -> Option<Command> {
        None
    }

    /// What it lists beyond its segments, as (key, value) rows for
    /// `--once --modules` (the tray's items: id, title, status).
    fn listing(&self) -> Vec<[(&'static str, &str); 3]> {
        Vec::new()
    }

    /// The name of the state it is in (`activated`, `warning`, …), for
    /// styles and `--once --modules`; `None`: hidden or stateless.
    fn state(&self) -> Option<&str> {
        None
    }

    /// The bar was hidden (`false`) or shown again (SIGUSR1): a status
    /// command is stopped or continued.
    fn set_visible(&mut self, _shown: bool) {}

    /// Why it shows an error state, if it does (a custom script's failure).
    fn error(&self) -> Option<&str> {
        None
    }

    /// The tooltip of its segment `index` (counted in what it wrote), shown
    /// on hover: what [`config::Module::render_tooltip`] wrote at its last
    /// update, or the kind's own (a script's `tooltip`). `None`: none.
    fn tooltip(&self, _index: usize) -> Option<&str> {
        None
    }

    /// Whether its text is markup whatever its format says (a script's
    /// output, as Waybar draws it).
    fn markup(&self) -> bool {
        false
    }
}

/// A module's `tooltip_format`, rendered at its last update into a reused
/// buffer (no allocation once it is large enough).
#[derive(Clone, Debug, Default)]
pub struct Tip(String);

impl Tip {
    /// Renders `spec`'s `tooltip_format` with `values` (nothing when it has
    /// none or tooltips are off).
    pub fn render(&mut self, spec: &config::Module, values: &[config::format::Value<'_>]) {
        self.0.clear();
        spec.render_tooltip(&mut self.0, values);
    }

    /// The tooltip; `None` when empty.
    pub fn get(&self) -> Option<&str> {
        let t = self.0.trim_end();
        (!t.is_empty()).then_some(t)
    }
}

/// The popup id of the tooltip of segment `k` of instance `instance`:
/// distinct per segment, so moving from one module to the next opens the
/// next one's tooltip under it.
pub fn tooltip_popup(instance: usize, k: usize) -> PopupId {
    PopupId(PopupId::TOOLTIP_BASE | ((instance as u16 & 0x1ff) << 6) | (k as u16 & 0x3f))
}

/// What building an instance gets besides its config.
#[derive(Clone, Copy, Debug)]
pub struct Init<'a> {
    /// Where it sits and its colours.
    pub place: Placement,
    /// Its first update is due now.
    pub now: Instant,
    /// Where it reads sysfs and procfs.
    pub src: &'a Sources,
}

/// How a kind builds an instance (its registry line names it).
pub type Build = fn(&config::Module, &Init<'_>) -> Box<dyn Module>;

/// A descriptor an instance gives the bar to watch ([`Modules::descriptors`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Descriptor {
    /// The instance.
    pub module: usize,
    pub fd: RawFd,
    /// Which [`Modules`] and which of the instance's descriptor sets
    /// ([`Module::fd_serial`]): equal numbers with another serial are
    /// another file.
    pub serial: (u64, u64),
    /// An [`Module::exit_fd`]: given exactly while open.
    pub exit: bool,
}

/// Every instance the layout lists, in bar order (left, centre, right).
pub struct Modules {
    /// Tells these instances' descriptors from those of the instances a
    /// reload replaced ([`crate::exec::next_serial`]).
    born: u64,
    list: Vec<Box<dyn Module>>,
    /// `owners[i]`: the instance that wrote segment `i` of the last
    /// [`Modules::write`] and that segment's index among its own (for
    /// pointer actions and popups).
    owners: Vec<(u16, u16)>,
    /// `tags[i]`: the output segment `i` of the last write is limited to.
    tags: Vec<Option<OutputTag>>,
    /// `[bar.style]`.
    bar_style: config::style::Styles,
    /// Per instance: whether a style applies, and its resolved looks.
    looks: Vec<(bool, Vec<style::Entry>)>,
    /// The segment under the pointer (index in the last write): `hover`.
    hover: Option<usize>,
    /// Per instance: the group it is a member of (index into `groups`).
    group_of: Vec<Option<u16>>,
    /// The layout's groups.
    groups: Vec<style::GroupState>,
    /// The group under the pointer.
    hover_group: Option<u16>,
    /// A drawer was opened or closed by a click since [`Modules::set_hover`]
    /// last reported a change.
    toggled: bool,
    /// Whether any instance shows per-process figures (asked every turn
    /// of the loop; fixed by the config).
    processes: bool,
    /// What the instances show of the system-wide sample (fixed by the
    /// config).
    needs: crate::collect::system::Needs,
}

impl Default for Modules {
    /// The built-in config's modules.
    fn default() -> Self {
        Modules::from_config(&registry::default_config(), Instant::now())
    }
}

impl std::fmt::Debug for Modules {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.list.iter().map(|m| &m.spec().name))
            .finish()
    }
}

impl Modules {
    /// The instances `cfg`'s layout lists, all due at `now`. A name the
    /// layout lists but `cfg.modules` lacks (validation rules that out) is
    /// skipped.
    pub fn from_config(cfg: &Config, now: Instant) -> Modules {
        Modules::with_sources(cfg, now, &Sources::default())
    }

    /// As [`Modules::from_config`], reading sysfs and procfs under `src`.
    pub fn with_sources(cfg: &Config, now: Instant, src: &Sources) -> Modules {
        let palette = Palette::from_colors(&cfg.bar.colors);
        let sides = [
            (&cfg.bar.left, Align::Left),
            (&cfg.bar.center, Align::Center),
            (&cfg.bar.right, Align::Right),
        ];
        let mut list = Vec::new();
        let mut group_of = Vec::new();
        let mut groups = Vec::new();
        for (names, align) in sides {
            for name in names {
                let init = Init {
                    place: Placement { align, palette },
                    now,
                    src,
                };
                let Some(g) = cfg.group(name) else {
                    if let Some(m) = cfg.module(name).and_then(|s| registry::build(s, &init)) {
                        list.push(m);
                        group_of.push(None);
                    }
                    continue;
                };
                let gi = groups.len() as u16;
                // A drawer opening to the left draws its first member last.
                let mut order: Vec<&String> = g.modules.iter().collect();
                if g.drawer.is_some_and(|d| !d.left_to_right) {
                    order.rotate_left(1);
                }
                let mut leader = None;
                for member in order {
                    if let Some(m) = cfg.module(member).and_then(|s| registry::build(s, &init)) {
                        if Some(member) == g.modules.first() {
                            leader = Some(list.len());
                        }
                        list.push(m);
                        group_of.push(Some(gi));
                    }
                }
                groups.push(style::GroupState::new(g, gi + 1, leader));
            }
        }
        let looks = list
            .iter()
            .map(|m| {
                let on = style::styled(&cfg.bar.style, m.spec());
                (on, Vec::with_capacity(if on { style::CACHE } else { 0 }))
            })
            .collect();
        Modules {
            born: crate::exec::next_serial(),
            processes: list.iter().any(|m| m.uses_processes()),
            needs: list
                .iter()
                .fold(crate::collect::system::Needs::NONE, |n, m| {
                    n.union(m.sample_needs())
                }),
            list,
            owners: Vec::with_capacity(crate::render::MAX_SEGMENTS),
            tags: Vec::with_capacity(crate::render::MAX_SEGMENTS),
            bar_style: cfg.bar.style.clone(),
            looks,
            hover: None,
            group_of,
            groups,
            hover_group: None,
            toggled: false,
        }
    }

    /// Offers every instance's icons to the renderers' cache.
    /// Icons no instance offers any more are forgotten.
    pub fn offer_icons(&self, icons: &mut crate::render::icon::Icons) {
        icons.begin_offers();
        for m in &self.list {
            m.offer_icons(icons);
        }
        icons.end_offers();
    }

    /// Number of instances.
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// True when the layout lists no module.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// The earliest deadline of any instance.
    pub fn next_due(&self) -> Option<Instant> {
        self.list.iter().filter_map(|m| m.next_due()).min()
    }

    /// Tells every instance the wall clock or the zone changed (those that
    /// show the time become due at `now`).
    pub fn wall_clock_changed(&mut self, now: Instant) {
        for m in &mut self.list {
            m.wall_clock_changed(now);
        }
    }

    /// Tells every instance the machine slept since the last tick.
    pub fn forget_rates(&mut self) {
        for m in &mut self.list {
            m.forget_rates();
        }
    }

    fn is_due(m: &dyn Module, now: Instant) -> bool {
        m.next_due().is_some_and(|d| d <= now + DUE_SLACK)
    }

    /// Whether an instance due at `now` reads the health sample.
    pub fn due_needs_sample(&self, now: Instant) -> bool {
        self.list
            .iter()
            .any(|m| m.uses_sample() && Self::is_due(m.as_ref(), now))
    }

    /// Whether any instance reads the health sample at all.
    pub fn uses_sample(&self) -> bool {
        self.list.iter().any(|m| m.uses_sample())
    }

    /// Whether any instance shows per-process figures (see
    /// [`Module::uses_processes`]).
    pub fn uses_processes(&self) -> bool {
        self.processes
    }

    /// The system-wide figures any instance shows (see
    /// [`Module::sample_needs`]).
    pub fn sample_needs(&self) -> crate::collect::system::Needs {
        self.needs
    }

    /// Updates the instances due at `cx.now`; true when any segment changed.
    pub fn update_due(&mut self, cx: &Context<'_>) -> bool {
        let mut changed = false;
        for m in &mut self.list {
            if Self::is_due(m.as_ref(), cx.now) {
                changed |= m.update(cx);
            }
        }
        changed
    }

    /// Updates every instance now (after a reload: show the new config at
    /// once, from the sample already held).
    pub fn update_all(&mut self, cx: &Context<'_>) {
        for m in &mut self.list {
            m.update(cx);
        }
    }

    /// Every instance's segments into `out` (cleared first).
    pub fn write(&mut self, out: &mut Vec<Segment>) {
        out.clear();
        self.owners.clear();
        self.tags.clear();
        for (i, m) in self.list.iter().enumerate() {
            let group = self.group_of[i].and_then(|g| self.groups.get(g as usize));
            if group.is_some_and(|g| !g.shows(i)) {
                continue;
            }
            let gbox = group.map(|g| g.look_of(i, self.hover_group == Some(g.id - 1)));
            let before = out.len();
            m.write(out);
            let (on, cache) = &mut self.looks[i];
            for (k, s) in out[before..].iter_mut().enumerate() {
                if self.hover == Some(before + k) {
                    s.states |= config::state::HOVER;
                }
                if *on {
                    s.style = style::resolve(cache, &self.bar_style, m.spec(), s.states, s.style);
                }
                s.style.group = gbox;
                let spec = m.spec();
                s.markup = s.markup || m.markup() || spec.format_for(s.states).markup;
                if s.popup.is_none() && spec.tooltip && m.tooltip(k).is_some() {
                    s.popup = Some(tooltip_popup(i, k));
                }
                self.owners.push((i as u16, k as u16));
                self.tags.push(s.output);
            }
        }
    }

    /// Sets the segment under the pointer (an index of the last write;
    /// `None`: none). True when that changed: write again and redraw, so
    /// only the old and new segment's boxes are damaged.
    pub fn set_hover(&mut self, segment: Option<usize>) -> bool {
        let group = segment
            .and_then(|s| self.owners.get(s))
            .and_then(|&(i, _)| self.group_of.get(i as usize).copied().flatten());
        let mut changed = self.hover != segment || self.hover_group != group;
        self.hover = segment;
        self.hover_group = group;
        for g in &mut self.groups {
            changed |= g.hovered(group == Some(g.id - 1));
        }
        changed | std::mem::take(&mut self.toggled)
    }

    /// Whether a drawer is sliding open or closed (the bar draws frames
    /// until none is: [`Modules::animate`] each).
    pub fn sliding(&self) -> bool {
        self.groups.iter().any(|g| g.sliding())
    }

    /// Moves every sliding drawer on to `now`; true when one was sliding
    /// (write again and redraw: it moved, or it just stopped).
    pub fn animate(&mut self, now: Instant) -> bool {
        let mut any = false;
        for g in &mut self.groups {
            if g.sliding() {
                g.animate(now);
                any = true;
            }
        }
        any
    }

    /// A left click on segment `segment` of the last write: when it is the
    /// first member of a drawer that opens by click, the drawer opens or
    /// closes (the next [`Modules::set_hover`] reports the change) and true
    /// is returned: the click is the drawer's, not the module's.
    pub fn click_drawer(&mut self, segment: usize) -> bool {
        let Some(&(i, _)) = self.owners.get(segment) else {
            return false;
        };
        let Some(g) = self.group_of[i as usize].and_then(|g| self.groups.get_mut(g as usize))
        else {
            return false;
        };
        let hit = g.click(i as usize);
        self.toggled |= hit;
        hit
    }

    /// The config of the instance that wrote segment `segment` in the last
    /// [`Modules::write`]: its actions and popup.
    pub fn owner(&self, segment: usize) -> Option<&config::Module> {
        let (i, _) = *self.owners.get(segment)?;
        self.list.get(i as usize).map(|m| m.spec())
    }

    /// The index in the last [`Modules::write`] of segment `shown` of the
    /// bar on output `tag`, which draws only the segments for every output
    /// and for its own (what the pointer sees is that bar's list).
    pub fn index_on(&self, tag: Option<OutputTag>, shown: usize) -> Option<usize> {
        self.tags
            .iter()
            .enumerate()
            .filter(|(_, t)| t.is_none() || **t == tag)
            .nth(shown)
            .map(|(i, _)| i)
    }

    /// The tooltip a [`tooltip_popup`] id shows, if its module still has one.
    pub fn tooltip_of(&self, popup: PopupId) -> Option<&str> {
        if popup.0 & PopupId::TOOLTIP_BASE == 0 {
            return None;
        }
        let i = ((popup.0 >> 6) & 0x1ff) as usize;
        let m = self.list.get(i)?;
        if !m.spec().tooltip {
            return None;
        }
        m.tooltip((popup.0 & 0x3f) as usize)
    }

    /// A pointer action on segment `segment` of the last write: what the
    /// module that drew it asks of the compositor, if anything.
    pub fn pointer(&mut self, segment: usize, button: Button) -> Option<Command> {
        self.pointer_at(segment, button, Spot::default())
    }

    /// [`Modules::pointer`], knowing where the click landed.
    pub fn pointer_at(&mut self, segment: usize, button: Button, spot: Spot) -> Option<Command> {
        let (i, k) = *self.owners.get(segment)?;
        self.list
            .get_mut(i as usize)?
            .pointer_at(k as usize, button, spot)
    }

    /// The first instance's context menu: (revision, segment of the last
    /// [`Modules::write`] it hangs from, rows). `None` also when that
    /// segment is no longer written.
    pub fn menu(&self) -> Option<(u64, usize, &crate::render::menu::MenuContent)> {
        self.list.iter().enumerate().find_map(|(i, m)| {
            let (rev, k, content) = m.menu()?;
            let seg = self
                .owners
                .iter()
                .position(|&(a, b)| a as usize == i && b as usize == k)?;
            Some((rev, seg, content))
        })
    }

    /// Hands a menu event to the instance showing a menu: what it asks of
    /// a service.
    pub fn menu_event(&mut self, event: crate::render::menu::MenuEvent) -> Option<Command> {
        self.list
            .iter_mut()
            .find(|m| m.menu().is_some())?
            .menu_event(event)
    }

    /// Whether any instance listens to service `id`.
    pub fn uses(&self, id: services::Id) -> bool {
        self.list.iter().any(|m| m.services().contains(id))
    }

    /// Hands a service's state (or its absence) to the instances that
    /// listen to it; true when any segment changed.
    pub fn on_service(&mut self, view: View<'_>) -> bool {
        let id = view.id();
        let mut changed = false;
        for m in &mut self.list {
            if m.services().contains(id) {
                changed |= m.on_service(view);
            }
        }
        changed
    }

    /// The descriptors to watch: (instance, fd).
    pub fn fds(&self) -> impl Iterator<Item = (usize, RawFd)> + '_ {
        self.descriptors().map(|d| (d.module, d.fd))
    }

    /// The descriptors to watch, each with what tells it from an earlier
    /// one of the same number.
    pub fn descriptors(&self) -> impl Iterator<Item = Descriptor> + '_ {
        self.list.iter().enumerate().flat_map(|(i, m)| {
            let serial = (self.born, m.fd_serial());
            let watch = m.fd().map(|fd| (fd, false));
            let exit = m.exit_fd().map(|fd| (fd, true));
            [watch, exit]
                .into_iter()
                .flatten()
                .map(move |(fd, exit)| Descriptor {
                    module: i,
                    fd,
                    serial,
                    exit,
                })
        })
    }

    /// Drops every instance: the bar is exiting, and dropping a custom
    /// module kills its script's process groups.
    pub fn stop_scripts(&mut self) {
        self.list.clear();
        self.owners.clear();
        self.tags.clear();
    }

    /// Tells every instance the bar was hidden or shown.
    pub fn set_visible(&mut self, shown: bool) {
        for m in &mut self.list {
            m.set_visible(shown);
        }
    }

    /// Instance `i`'s descriptor is readable; true when its segments changed.
    pub fn on_readable(&mut self, i: usize) -> bool {
        self.list.get_mut(i).is_some_and(|m| m.on_readable())
    }

    /// Whether some instance's quick script run is going (see
    /// [`Module::quick_run_pending`]).
    pub fn quick_run_pending(&self) -> bool {
        self.list.iter().any(|m| m.quick_run_pending())
    }

    /// Whether some idle inhibitor is activated.
    pub fn inhibits_idle(&self) -> bool {
        self.list.iter().any(|m| m.inhibits_idle() == Some(true))
    }

    /// Sets every idle inhibitor's wish (after a reload: the new instances
    /// keep what the old ones had).
    pub fn set_inhibit_idle(&mut self, on: bool) {
        for m in &mut self.list {
            m.set_inhibit_idle(on);
        }
    }

    /// The instances as (name, instance), in bar order.
    pub fn iter(&self) -> impl Iterator<Item = &dyn Module> {
        self.list.iter().map(|m| m.as_ref())
    }
}

/// The next deadline of an instance updating every `interval`, after one
/// that was due at `due` ran at `now`: on the grid, skipping missed ticks
/// (suspend, a starved loop) rather than running them all at once.
pub fn next_on_grid(due: Instant, interval: Duration, now: Instant) -> Instant {
    let next = due + interval;
    if next <= now {
        now + interval
    } else {
        next
    }
}

/// The wall-clock time since the Unix epoch (what [`Context::wall`] holds),
/// for a module handling an event outside a tick.
pub fn wall_now() -> Duration {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
}

/// How far past a wall-clock second whole-second instances fall: the
/// clock's own margin, so a seconds clock and these share one wakeup.
pub const PAST_SECOND: Duration = Duration::from_millis(5);

/// [`next_on_grid`] for an instance on a whole-second interval, moved within
/// its second to fall [`PAST_SECOND`] after a wall-clock second, where a
/// seconds clock ticks: the bar then wakes once a second for both, not
/// twice. `wall` is the wall-clock time at `now`. The first move shortens
/// or lengthens one interval by at most half a second (rates are per
/// elapsed time, so they stay right); after it the phase holds.
pub fn next_on_wall_second(
    due: Instant,
    interval: Duration,
    now: Instant,
    wall: Duration,
) -> Instant {
    let next = next_on_grid(due, interval, now);
    if interval.subsec_nanos() != 0 || interval.is_zero() {
        return next;
    }
    on_wall_second(next, now, wall)
}

/// `at` (a future deadline) moved to the nearest instant [`PAST_SECOND`]
/// after a wall-clock second, at most half a second either way and never
/// sooner than [`DUE_SLACK`] from `now`; `wall` is the wall-clock time at
/// `now`. A deadline already on that phase stays where it is.
pub fn on_wall_second(at: Instant, now: Instant, wall: Duration) -> Instant {
    let phase = (wall + at.saturating_duration_since(now)).subsec_nanos() as i64;
    let target = PAST_SECOND.as_nanos() as i64;
    // The nearest instant with that phase: back or forward, at most ½ s.
    let mut shift = target - phase;
    if shift > 500_000_000 {
        shift -= 1_000_000_000;
    } else if shift < -500_000_000 {
        shift += 1_000_000_000;
    }
    let moved = if shift >= 0 {
        at + Duration::from_nanos(shift as u64)
    } else {
        at - Duration::from_nanos(shift.unsigned_abs())
    };
    moved.max(now + DUE_SLACK)
}

#[cfg(test)]
mod tests;
