//! Styles applied to segments: `[bar.style]`, then the module's
//! `[module.NAME.style]`, then for each set state in order (the kind's own,
//! `warning`, `critical`, `hover`) the bar's and the module's table for it;
//! later wins. Resolved when a segment's states (or its base look) change,
//! and kept: a steady tick only compares.

use crate::config::state;
use crate::config::style::{Background, StyleSpec, Styles, TextAlign as CfgAlign};
use crate::config::{self, Color};
use std::time::{Duration, Instant};

use crate::render::{Deco, FontKey, GroupBox, Rgba, Slide, Style, TextAlign};

/// Resolved looks kept per instance (workspace buttons have several).
pub const CACHE: usize = 8;

/// One kept resolution: (states, the module's own look, the result).
pub type Entry = (u32, Style, Style);

fn rgba(c: Color) -> Rgba {
    Rgba([c.r, c.g, c.b, c.a])
}

/// The style table that applies to `spec` in `states`, merged in order.
pub fn merged(bar: &Styles, spec: &config::Module, states: u32) -> StyleSpec {
    let mut out = bar.base;
    out.over(&spec.styles.base);
    for name in state::names(spec.kind, &spec.classes, states) {
        if let Some(s) = bar.state(name) {
            out.over(s);
        }
        if let Some(s) = spec.styles.state(name) {
            out.over(s);
        }
    }
    out
}

/// `base` (the module's palette colours) with `spec` laid over it.
pub fn apply(base: Style, spec: &StyleSpec) -> Style {
    let mut s = base;
    if let Some(c) = spec.color {
        s.fg = rgba(c);
    }
    if let Some(Background { from, to }) = spec.background {
        s.bg = Some(rgba(from));
        s.deco.gradient = to.map(|(c, angle)| (rgba(c), angle.round() as i16));
    }
    let d = &mut s.deco;
    if let Some(p) = spec.padding {
        d.padding = Some(p);
    }
    if let Some(m) = spec.margin {
        d.margin = m;
    }
    for (slot, side) in d.border.iter_mut().zip(spec.border) {
        if let Some(side) = side {
            *slot = (side.width, rgba(side.color));
        }
    }
    if let Some(r) = spec.radius {
        d.radius = r;
    }
    if let Some(w) = spec.min_width {
        d.min_width = w;
    }
    if let Some(a) = spec.align {
        d.align = match a {
            CfgAlign::Left => TextAlign::Left,
            CfgAlign::Center => TextAlign::Center,
            CfgAlign::Right => TextAlign::Right,
        };
    }
    if let Some(o) = spec.opacity {
        d.transparency = 255 - (o.clamp(0.0, 1.0) * 255.0).round() as u8;
    }
    if let Some(u) = spec.underline {
        d.underline = (u.width, rgba(u.color));
    }
    let f = &spec.font;
    s.font = FontKey {
        family: f.family.unwrap_or(s.font.family),
        weight: f.weight.unwrap_or(s.font.weight),
        size: f.size.map_or(s.font.size, |px| {
            (px * 4.0).round().clamp(1.0, 4096.0) as u16
        }),
    };
    s
}

/// Whether any style could apply to `spec` (else segments keep their look).
pub fn styled(bar: &Styles, spec: &config::Module) -> bool {
    !bar.base.is_empty()
        || !bar.states.is_empty()
        || !spec.styles.base.is_empty()
        || !spec.styles.states.is_empty()
}

/// The look of a segment of `spec` whose own look is `base`, in `states`,
/// from `cache` when resolved before (no allocation: `cache` keeps its
/// capacity of [`CACHE`]).
pub fn resolve(
    cache: &mut Vec<Entry>,
    bar: &Styles,
    spec: &config::Module,
    states: u32,
    base: Style,
) -> Style {
    if let Some((_, _, s)) = cache.iter().find(|(st, b, _)| *st == states && *b == base) {
        return *s;
    }
    let s = apply(base, &merged(bar, spec, states));
    let e = (states, base, s);
    if cache.len() < CACHE {
        cache.push(e);
    } else {
        cache[states as usize % CACHE] = e;
    }
    s
}

/// A group of the layout as the bar runs it: its looks worked out for
/// each state (so hovering it only picks one), and whether its drawer is
/// open.
#[derive(Clone, Debug)]
pub struct GroupState {
    /// The group's id in segments (its layout index + 1).
    pub id: u16,
    /// The instance index of its first member (a drawer's handle).
    leader: Option<usize>,
    drawer: Option<config::group::Drawer>,
    /// A drawer is open (or opening, while it slides).
    open: bool,
    /// Looks: [closed, open] × [not hovered, hovered].
    looks: [[GroupBox; 2]; 2],
    /// Its slide, while the drawer opens or closes over `transition_ms`.
    slide: Motion,
}

/// Where a drawer's slide is: `at` (0 closed … 1 open, linear in time) as
/// of `since`, moving towards the drawer's `open` in `dir`.
#[derive(Clone, Copy, Debug, Default)]
struct Motion {
    moving: bool,
    at: f32,
    /// When `at` was worked out; `None`: the move has not been clocked yet
    /// (it starts at the next [`GroupState::animate`]).
    since: Option<Instant>,
    /// +1 opening, -1 closing, as of `since`.
    dir: f32,
}

/// The eased share of a slide at linear position `t` (0..=1): slow at both
/// ends (cubic ease in and out), never going back.
pub fn ease(t: f32) -> f32 {
    let t = t.clamp(0.0, 1.0);
    if t < 0.5 {
        4.0 * t * t * t
    } else {
        1.0 - (-2.0 * t + 2.0).powi(3) / 2.0
    }
}

impl GroupState {
    /// The state of group `g`, whose segments carry `id`, first member
    /// at instance `leader`.
    pub fn new(g: &config::Group, id: u16, leader: Option<usize>) -> GroupState {
        let look = |open: bool, hover: bool| {
            let mut spec = g.styles.base;
            for (name, on) in [("open", open), ("hover", hover)] {
                if let Some(st) = g.styles.state(name).filter(|_| on) {
                    spec.over(st);
                }
            }
            let s = apply(Style::default(), &spec);
            GroupBox {
                id,
                bg: s.bg,
                deco: s.deco,
                slide: None,
            }
        };
        GroupState {
            id,
            leader,
            drawer: g.drawer,
            // A group that is no drawer counts as open.
            open: g.drawer.is_none(),
            looks: [
                [look(false, false), look(false, true)],
                [look(true, false), look(true, true)],
            ],
            slide: Motion::default(),
        }
    }

    fn ms(&self) -> u16 {
        self.drawer.map_or(0, |d| d.transition_ms)
    }

    /// The drawer was told to open or close: with a transition, it starts
    /// sliding from where it is (midway, if it was sliding the other way).
    fn toggled(&mut self) {
        if self.ms() == 0 {
            return;
        }
        if !self.slide.moving {
            self.slide = Motion {
                moving: true,
                at: if self.open { 0.0 } else { 1.0 },
                since: None,
                dir: if self.open { 1.0 } else { -1.0 },
            };
        }
    }

    /// Whether its drawer is sliding.
    pub fn sliding(&self) -> bool {
        self.slide.moving
    }

    /// Moves its slide on to `now`; true while it still moves (the bar
    /// draws another frame).
    pub fn animate(&mut self, now: Instant) -> bool {
        let total = Duration::from_millis(self.ms().max(1) as u64).as_secs_f32();
        let m = &mut self.slide;
        if !m.moving {
            return false;
        }
        if let Some(t) = m.since {
            let dt = now.saturating_duration_since(t).as_secs_f32();
            m.at = (m.at + m.dir * dt / total).clamp(0.0, 1.0);
        }
        m.since = Some(now);
        m.dir = if self.open { 1.0 } else { -1.0 };
        let done = if self.open { m.at >= 1.0 } else { m.at <= 0.0 };
        if done {
            *m = Motion::default();
        }
        !done
    }

    /// What a hidden member (not the first) is drawn with: `None` at
    /// rest, the share shown while sliding.
    fn slide_of(&self) -> Option<Slide> {
        if !self.slide.moving {
            return None;
        }
        let e = ease(self.slide.at);
        Some(Slide {
            shown: (e * Slide::ALL as f32).round() as u16,
            leftward: self.drawer.is_some_and(|d| !d.left_to_right),
        })
    }

    /// Its box for instance `i`, hovered or not: on a hidden member of a
    /// sliding drawer, with how much of it shows.
    pub fn look_of(&self, i: usize, hovered: bool) -> GroupBox {
        let mut b = self.look(hovered);
        if self.leader != Some(i) {
            b.slide = self.slide_of();
        }
        b
    }

    /// Its box, hovered or not.
    pub fn look(&self, hovered: bool) -> GroupBox {
        self.looks[self.open as usize][hovered as usize]
    }

    /// Whether instance `i` (one of its members) is shown: all of them,
    /// unless a closed drawer shows only its first.
    pub fn shows(&self, i: usize) -> bool {
        self.open || self.slide.moving || self.leader == Some(i)
    }

    /// The pointer is over the group or not: a drawer that opens on hover
    /// follows. True when it opened or closed.
    pub fn hovered(&mut self, on: bool) -> bool {
        match self.drawer {
            Some(d) if !d.click_to_reveal && self.open != on => {
                self.open = on;
                self.toggled();
                true
            }
            _ => false,
        }
    }

    /// A click on instance `i`: a drawer that opens by click toggles when
    /// `i` is its first member. True when it did.
    pub fn click(&mut self, i: usize) -> bool {
        match self.drawer {
            Some(d) if d.click_to_reveal && self.leader == Some(i) => {
                self.open = !self.open;
                self.toggled();
                true
            }
            _ => false,
        }
    }
}

/// The default deco (tests).
pub fn plain() -> Deco {
    Deco::default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drawer(ms: u16) -> GroupState {
        let g = config::Group {
            name: "group#d".into(),
            modules: vec!["cpu".into(), "load".into()],
            styles: Styles::default(),
            drawer: Some(config::group::Drawer {
                transition_ms: ms,
                ..Default::default()
            }),
        };
        GroupState::new(&g, 1, Some(0))
    }

    #[test]
    fn the_ease_starts_and_ends_still_and_never_goes_back() {
        assert_eq!((ease(0.0), ease(1.0), ease(0.5)), (0.0, 1.0, 0.5));
        assert!(ease(-1.0) == 0.0 && ease(2.0) == 1.0);
        let steps: Vec<f32> = (0..=100).map(|i| ease(i as f32 / 100.0)).collect();
        assert!(steps.windows(2).all(|w| w[0] <= w[1]));
        // Slow at both ends, fastest in the middle.
        assert!(steps[1] - steps[0] < steps[51] - steps[50]);
        assert!(steps[100] - steps[99] < steps[51] - steps[50]);
    }

    #[test]
    fn a_slide_is_clocked_from_its_first_frame_and_turns_round_where_it_is() {
        let t0 = Instant::now();
        let ms = |m: u64| t0 + Duration::from_millis(m);
        let mut g = drawer(200);
        assert!(!g.sliding() && g.look_of(1, false).slide.is_none());
        assert!(g.hovered(true) && g.sliding() && g.shows(1));
        // Not clocked yet: nothing shows of the hidden member.
        assert_eq!(g.look_of(1, true).slide.map(|s| s.shown), Some(0));
        assert!(g.animate(ms(1000)));
        assert!(g.animate(ms(1100)));
        let half = g.look_of(1, true).slide.unwrap().shown;
        assert_eq!(half, Slide::ALL / 2 + 1, "half way after 100 of 200 ms");
        // The leader never slides.
        assert!(g.look_of(0, true).slide.is_none());
        // Leaving now: closing from the middle takes the 100 ms it took.
        assert!(g.hovered(false));
        assert!(g.animate(ms(1100)));
        assert_eq!(g.look_of(1, false).slide.unwrap().shown, half);
        assert!(g.animate(ms(1150)));
        assert!(g.look_of(1, false).slide.unwrap().shown < half);
        assert!(!g.animate(ms(1200)));
        assert!(!g.sliding() && !g.shows(1));
        // Without a transition nothing slides.
        let mut g = drawer(0);
        assert!(g.hovered(true) && !g.sliding() && g.shows(1));
        assert!(g.look_of(1, true).slide.is_none());
    }
}
