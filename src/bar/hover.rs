//! What the pointer does on the bar: hovering a module that has a
//! popup opens it after a short delay, and it closes when the pointer has
//! left both the module and the popup for a short grace period (so the
//! pointer can travel from the module into the popup), when the compositor
//! dismisses it, or on a click elsewhere. Clicks and scrolls run the
//! module's configured commands, never blocking the bar.
//!
//! Time is passed in, never read here; the bar's loop sleeps until
//! [`Hover::deadline`] (or input) and then calls [`Hover::process`].

use std::time::{Duration, Instant};

use crate::exec::spawn::Launcher;
use crate::exec::CommandLine;
use crate::render::PopupId;
use crate::render::Spot;
use crate::wayland::pointer::{Button, Gesture, Target};
use crate::wayland::popup::PopupKind;
use crate::wayland::Bars;

/// Timing of the popup.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HoverOptions {
    /// How long the pointer rests on a module before its popup opens.
    pub delay: Duration,
    /// How long the popup stays after the pointer left module and popup.
    pub grace: Duration,
    /// How long the popup's buffers are kept for the next popup after one
    /// closes (then given back; the bar's ticks wake the loop to do it).
    pub keep_pool: Duration,
}

impl Default for HoverOptions {
    fn default() -> Self {
        HoverOptions {
            delay: Duration::from_millis(300),
            grace: Duration::from_millis(250),
            keep_pool: Duration::from_secs(30),
        }
    }
}

/// The commands one module runs on clicks and scrolls (the config's
/// `on_click`, `on_middle_click`, `on_right_click`, `on_scroll_up`,
/// `on_scroll_down`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Actions {
    /// Left click.
    pub on_click: Option<CommandLine>,
    /// Middle click.
    pub on_middle_click: Option<CommandLine>,
    /// Right click.
    pub on_right_click: Option<CommandLine>,
    /// One wheel step up.
    pub on_scroll_up: Option<CommandLine>,
    /// One wheel step down.
    pub on_scroll_down: Option<CommandLine>,
}

impl Actions {
    /// A module's actions as its config gives them.
    pub fn from_spec(spec: &crate::config::Module) -> Actions {
        let cmd = |a: &Option<crate::config::Action>| a.as_ref().map(CommandLine::from);
        Actions {
            on_click: cmd(&spec.on_click),
            on_middle_click: cmd(&spec.on_middle_click),
            on_right_click: cmd(&spec.on_right_click),
            on_scroll_up: cmd(&spec.on_scroll_up),
            on_scroll_down: cmd(&spec.on_scroll_down),
        }
    }

    /// The command for `gesture`, if the module has one.
    pub fn for_gesture(&self, gesture: Gesture) -> Option<&CommandLine> {
        match gesture {
            Gesture::Press(Button::Left) => self.on_click.as_ref(),
            Gesture::Press(Button::Middle) => self.on_middle_click.as_ref(),
            Gesture::Press(Button::Right) => self.on_right_click.as_ref(),
            Gesture::ScrollUp => self.on_scroll_up.as_ref(),
            Gesture::ScrollDown => self.on_scroll_down.as_ref(),
        }
    }
}

/// Where the hover logic stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// No popup, none coming.
    Idle,
    /// The pointer rests on a popup module since `since`.
    Waiting {
        bar: u64,
        popup: PopupId,
        since: Instant,
    },
    /// The popup is open; `left` is when the pointer left module and popup.
    Open {
        bar: u64,
        popup: PopupId,
        left: Option<Instant>,
    },
    /// Closed by a click or the compositor while the pointer was still on
    /// the module: stay closed until it leaves (reopening at once would be
    /// the flicker loop users hate in other bars).
    Suppressed { bar: u64, popup: PopupId },
}

/// The pointer's meaning: the hover state machine and the action launcher.
pub struct Hover {
    opts: HoverOptions,
    launcher: Launcher,
    state: State,
}

/// What the pointer means for the popup this turn: the popup module under
/// it, or the popup itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Over {
    Nothing,
    Module { bar: u64, popup: PopupId },
    Popup,
}

impl Hover {
    /// Hover logic with these timings.
    pub fn new(opts: HoverOptions) -> Hover {
        Hover {
            opts,
            launcher: Launcher::default(),
            state: State::Idle,
        }
    }

    /// When [`Hover::process`] next has something to do on its own (the
    /// delay or the grace running out); `None`: only on input.
    pub fn deadline(&self) -> Option<Instant> {
        match self.state {
            State::Waiting { since, .. } => Some(since + self.opts.delay),
            State::Open {
                left: Some(left), ..
            } => Some(left + self.opts.grace),
            _ => None,
        }
    }

    /// The popup the pointer is heading for or has open: `(popup, open)`.
    /// While the pointer rests on its module the popup is about to open
    /// (the delay runs), so whatever it will show can be prepared.
    pub fn looking_at(&self) -> Option<(PopupId, bool)> {
        match self.state {
            State::Waiting { popup, .. } => Some((popup, false)),
            State::Open { popup, .. } => Some((popup, true)),
            State::Idle | State::Suppressed { .. } => None,
        }
    }

    /// Action children still running (not yet reaped).
    pub fn running(&self) -> usize {
        self.launcher.running()
    }

    /// Takes in what happened since the last call: clicks and scrolls run
    /// the command `command(segment, gesture)` names (the module that
    /// wrote that segment decides), the popup opens or closes as due at
    /// `now`. `command` is asked only when a gesture happens.
    pub fn process(
        &mut self,
        now: Instant,
        bars: &mut Bars,
        command: &dyn Fn(usize, Gesture, Spot) -> Option<CommandLine>,
    ) {
        if bars.take_popup_dismissed() {
            self.state = match self.state {
                State::Open { bar, popup, .. } => State::Suppressed { bar, popup },
                s => s,
            };
        }
        let mut close = false;
        let launcher = &mut self.launcher;
        let state = self.state;
        bars.drain_pointer_actions(|bars, a| {
            let Target::Bar {
                segment: Some(i), ..
            } = a.target
            else {
                // A click on the popup leaves it be; between segments, it
                // is a click elsewhere.
                if a.target != Target::Popup && matches!(a.gesture, Gesture::Press(_)) {
                    close = true;
                }
                return;
            };
            if bars.segment(i).is_none() {
                return;
            }
            let spot = bars.spot(&a).unwrap_or_default();
            if let Some(cmd) = command(i, a.gesture, spot) {
                if let Err(e) = launcher.spawn(&cmd) {
                    eprintln!("rstat: {e}");
                }
            }
            // Any press on the bar closes the popup: elsewhere, it is
            // "click elsewhere"; on the module, the user acts on it.
            if matches!(a.gesture, Gesture::Press(_)) && state != State::Idle {
                close = true;
            }
        });
        let over = match bars.pointer_target() {
            Target::Popup => Over::Popup,
            Target::Bar {
                bar,
                segment: Some(i),
            } => match bars
                .segment(i)
                .and_then(|s| s.popup)
                // Only popups something draws (the health tables, the
                // clock's calendar).
                .filter(|&p| PopupKind::of(p).is_some())
            {
                Some(popup) => Over::Module { bar, popup },
                None => Over::Nothing,
            },
            _ => Over::Nothing,
        };
        if close {
            if let State::Open { bar, popup, .. } | State::Waiting { bar, popup, .. } = self.state {
                bars.close_popup();
                self.state = State::Suppressed { bar, popup };
            }
        }
        self.advance(now, over, bars);
        bars.release_idle_popup_pool(now, self.opts.keep_pool);
        self.launcher.reap();
    }

    /// Applies one [`step`] to the popup.
    fn advance(&mut self, now: Instant, over: Over, bars: &mut Bars) {
        let (state, effect) = step(self.state, &self.opts, now, over, bars.popup_is_open());
        self.state = state;
        match effect {
            Effect::Nothing => {}
            Effect::Close => bars.close_popup(),
            Effect::Open { bar, popup } => {
                match (bars.popup_anchor(bar, popup), PopupKind::of(popup)) {
                    (Some(anchor), Some(kind)) => bars.open_popup_of(bar, kind, anchor),
                    // The module vanished from that bar meanwhile.
                    _ => self.state = State::Idle,
                }
            }
        }
    }
}

/// What the popup must do after a step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Effect {
    Nothing,
    Open { bar: u64, popup: PopupId },
    Close,
}

/// The hover state machine: from `state`, with the pointer `over` something
/// at `now` (and whether the popup still exists), the next state and what
/// to do. Pure, so its timing is tested without a compositor.
fn step(
    state: State,
    opts: &HoverOptions,
    now: Instant,
    over: Over,
    exists: bool,
) -> (State, Effect) {
    let on = |bar: u64, popup: PopupId| over == Over::Module { bar, popup };
    let start = || match over {
        Over::Module { bar, popup } => State::Waiting {
            bar,
            popup,
            since: now,
        },
        _ => State::Idle,
    };
    match state {
        State::Idle => (start(), Effect::Nothing),
        State::Suppressed { bar, popup } if on(bar, popup) => (state, Effect::Nothing),
        State::Suppressed { .. } => (start(), Effect::Nothing),
        State::Waiting { bar, popup, since } if on(bar, popup) => {
            if now >= since + opts.delay {
                let open = State::Open {
                    bar,
                    popup,
                    left: None,
                };
                (open, Effect::Open { bar, popup })
            } else {
                (state, Effect::Nothing)
            }
        }
        State::Waiting { .. } => (start(), Effect::Nothing),
        // Gone without us (its bar's output went away).
        State::Open { bar, popup, .. } if !exists => {
            (State::Suppressed { bar, popup }, Effect::Nothing)
        }
        State::Open { bar, popup, .. } if on(bar, popup) || over == Over::Popup => (
            State::Open {
                bar,
                popup,
                left: None,
            },
            Effect::Nothing,
        ),
        // Another popup module (another bar): switch without grace.
        State::Open { .. } if matches!(over, Over::Module { .. }) => (start(), Effect::Close),
        State::Open { bar, popup, left } => {
            let left = left.unwrap_or(now);
            if now >= left + opts.grace {
                (start(), Effect::Close)
            } else {
                let open = State::Open {
                    bar,
                    popup,
                    left: Some(left),
                };
                (open, Effect::Nothing)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: PopupId = PopupId(1);
    const MODULE: Over = Over::Module { bar: 1, popup: P };

    /// Runs `moves` (milliseconds since start, what the pointer is over)
    /// through the state machine, as the bar's loop would, and returns the
    /// effects with their times.
    fn run(moves: &[(u64, Over)]) -> Vec<(u64, Effect)> {
        let opts = HoverOptions::default();
        let t0 = Instant::now();
        let mut state = State::Idle;
        let mut exists = false;
        let mut out = Vec::new();
        let mut last = Over::Nothing;
        // Every 10 ms, like deadlines and input waking the loop.
        let end = moves.last().map_or(0, |m| m.0) + 1000;
        for ms in (0..=end).step_by(10) {
            if let Some(&(_, o)) = moves.iter().rev().find(|m| m.0 <= ms) {
                last = o;
            }
            let (s, e) = step(state, &opts, t0 + Duration::from_millis(ms), last, exists);
            state = s;
            match e {
                Effect::Open { .. } => exists = true,
                Effect::Close => exists = false,
                Effect::Nothing => continue,
            }
            out.push((ms, e));
        }
        out
    }

    #[test]
    fn opens_after_the_delay_and_closes_after_the_grace() {
        let fx = run(&[(0, MODULE), (2000, Over::Nothing)]);
        assert_eq!(
            fx,
            [
                (300, Effect::Open { bar: 1, popup: P }),
                (2250, Effect::Close)
            ]
        );
    }

    #[test]
    fn a_quick_pass_opens_nothing() {
        assert!(run(&[(0, MODULE), (200, Over::Nothing)]).is_empty());
    }

    #[test]
    fn the_pointer_may_travel_into_the_popup() {
        // Leaves the module at 1000, reaches the popup 100 ms later (within
        // the grace), stays, then leaves for good at 3000.
        let fx = run(&[
            (0, MODULE),
            (1000, Over::Nothing),
            (1100, Over::Popup),
            (3000, Over::Nothing),
        ]);
        assert_eq!(
            fx,
            [
                (300, Effect::Open { bar: 1, popup: P }),
                (3250, Effect::Close)
            ]
        );
    }

    #[test]
    fn another_bar_switches_at_once() {
        let other = Over::Module { bar: 2, popup: P };
        let fx = run(&[(0, MODULE), (1000, other)]);
        assert_eq!(
            fx,
            [
                (300, Effect::Open { bar: 1, popup: P }),
                (1000, Effect::Close),
                (1300, Effect::Open { bar: 2, popup: P }),
            ]
        );
    }

    #[test]
    fn suppressed_until_the_pointer_leaves() {
        let opts = HoverOptions::default();
        let t = Instant::now();
        let s = State::Suppressed { bar: 1, popup: P };
        let later = t + Duration::from_secs(5);
        assert_eq!(step(s, &opts, later, MODULE, false), (s, Effect::Nothing));
        let (s, _) = step(s, &opts, later, Over::Nothing, false);
        assert_eq!(s, State::Idle);
    }

    #[test]
    fn a_popup_gone_by_itself_is_not_reopened_under_the_pointer() {
        let opts = HoverOptions::default();
        let s = State::Open {
            bar: 1,
            popup: P,
            left: None,
        };
        let (s, e) = step(s, &opts, Instant::now(), MODULE, false);
        assert_eq!(
            (s, e),
            (State::Suppressed { bar: 1, popup: P }, Effect::Nothing)
        );
    }
}
