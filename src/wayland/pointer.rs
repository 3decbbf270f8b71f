//! The pointer on the bars: one `wl_pointer` per seat that has
//! one, the standard cursor on enter (`wp_cursor_shape_v1` when offered,
//! else the cursor theme), and what is under the pointer — which bar and
//! which segment, or the popup — for [`crate::bar`]'s hover logic to read.
//! Clicks and scrolls are queued with what they hit; nothing here decides
//! what they do.

use smithay_client_toolkit::seat::pointer::{
    CursorIcon, PointerEvent, PointerEventKind, PointerHandler, ThemeSpec, ThemedPointer, BTN_LEFT,
    BTN_MIDDLE, BTN_RIGHT,
};
use smithay_client_toolkit::seat::{Capability, SeatHandler, SeatState};
use smithay_client_toolkit::shell::WaylandSurface;
use wayland_client::protocol::{wl_pointer, wl_seat, wl_surface};
use wayland_client::{Connection, QueueHandle};

use super::Bars;
use crate::render::{PopupId, Rect, Segment};

/// Clicks and scrolls kept between two looks by the bar; more in one burst
/// are dropped (nobody clicks 32 times between two event-loop turns).
const MAX_QUEUED: usize = 32;
/// Pixels of smooth (touchpad) scrolling that make one step, as wlroots
/// reports one wheel click.
const SMOOTH_STEP: f64 = 15.0;

/// What the pointer is over.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Target {
    /// None of our surfaces.
    #[default]
    Nothing,
    /// A bar (by id), and the segment under the pointer if any.
    Bar {
        /// The bar's id.
        bar: u64,
        /// Index into the segments, `None` between segments.
        segment: Option<usize>,
    },
    /// The open popup.
    Popup,
    /// A level of the open menu (0: the menu, 1: a submenu beside it, …).
    Menu(u8),
}

/// A mouse button the bar gives meaning to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Button {
    /// Usually the primary button.
    Left,
    /// The wheel pressed.
    Middle,
    /// Usually the context button.
    Right,
}

/// Something the user did with the pointer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Gesture {
    /// A button went down.
    Press(Button),
    /// One scroll step up (away from the user).
    ScrollUp,
    /// One scroll step down.
    ScrollDown,
}

/// A gesture and what it hit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PointerAction {
    /// What was under the pointer.
    pub target: Target,
    /// What was done.
    pub gesture: Gesture,
    /// Where, on the surface it hit (buffer pixels).
    pub at: (i32, i32),
}

/// The seats' pointers and what they are over.
pub struct PointerState {
    pub(super) seats: SeatState,
    pointers: Vec<(wl_seat::WlSeat, ThemedPointer)>,
    target: Target,
    /// The pointer's position on the surface it is over, buffer pixels.
    position: (i32, i32),
    actions: Vec<PointerAction>,
    /// Smooth-scroll distance not yet worth a step.
    scroll: f64,
    /// Value120 scroll not yet worth a step.
    scroll120: i32,
    /// A cursor could not be set: said once.
    warned: bool,
    /// The bar of the last press on a bar (what a menu that opens in
    /// answer hangs from).
    pressed_bar: Option<u64>,
    /// The seat and serial of the last press (a menu's grab names them).
    press_serial: Option<(wl_seat::WlSeat, u32)>,
    /// Where the last press on a bar was, in the compositor's global
    /// logical coordinates (as far as layer-shell lets a client know them:
    /// the output's position, the bar's edge and margins, the pointer on it).
    press_screen: (i32, i32),
}

impl PointerState {
    /// Pointer state over the seats already announced.
    pub fn new(seats: SeatState) -> PointerState {
        PointerState {
            seats,
            pointers: Vec::new(),
            target: Target::Nothing,
            position: (0, 0),
            actions: Vec::with_capacity(MAX_QUEUED),
            scroll: 0.0,
            scroll120: 0,
            warned: false,
            pressed_bar: None,
            press_serial: None,
            press_screen: (0, 0),
        }
    }

    fn push(&mut self, gesture: Gesture) {
        if self.actions.len() < MAX_QUEUED {
            self.actions.push(PointerAction {
                target: self.target,
                gesture,
                at: self.position,
            });
        }
    }
}

impl Bars {
    /// What the pointer is over now.
    pub fn pointer_target(&self) -> Target {
        self.pointer.target
    }

    /// Hands every click and scroll since the last call to `f`, oldest first.
    pub fn drain_pointer_actions(&mut self, mut f: impl FnMut(&Bars, PointerAction)) {
        let mut actions = std::mem::take(&mut self.pointer.actions);
        for a in actions.drain(..) {
            f(self, a);
        }
        // Give the (now empty) buffer back, so its capacity is reused.
        self.pointer.actions = actions;
    }

    /// Where action `a` landed on its bar and in its segment's box, in
    /// logical pixels; `None` when it hit no segment of a bar.
    pub fn spot(&self, a: &PointerAction) -> Option<crate::render::Spot> {
        let Target::Bar {
            bar,
            segment: Some(global),
        } = a.target
        else {
            return None;
        };
        let b = self.bars.iter().find(|b| b.id == bar)?;
        let local = self.local_index(b.tag, global)?;
        let r = b.renderer.box_of(local)?;
        let s = (b.renderer.scale120() as i32).max(1);
        let l = |v: i32| v * 120 / s;
        Some(crate::render::Spot {
            x: l(a.at.0),
            y: l(a.at.1),
            rel_x: l(a.at.0 - r.x),
            rel_y: l(a.at.1 - r.y),
            width: l(r.w),
            height: l(r.h),
        })
    }

    /// Segment `i` as last shown.
    pub fn segment(&self, i: usize) -> Option<&Segment> {
        self.segments.get(i)
    }

    /// The rectangle, in the bar's logical pixels, covering every segment of
    /// bar `bar` that opens `popup`: what the popup is anchored to.
    pub fn popup_anchor(&self, bar: u64, popup: PopupId) -> Option<Rect> {
        let b = self.bars.iter().find(|b| b.id == bar)?;
        let mut x0 = i32::MAX;
        let mut x1 = i32::MIN;
        for (i, s) in self.segments.iter().enumerate() {
            if s.popup != Some(popup) {
                continue;
            }
            // The renderer counts only the segments this bar shows (per-output
            // segments).
            let Some(local) = self.local_index(b.tag, i) else {
                continue;
            };
            if let Some(r) = b.renderer.segment_rect(local).filter(|r| !r.is_empty()) {
                x0 = x0.min(r.x);
                x1 = x1.max(r.x + r.w);
            }
        }
        if x0 >= x1 {
            return None;
        }
        // Buffer pixels back to logical ones (the scale is in 120ths).
        let s = b.renderer.scale120().max(1) as i64;
        let x = (x0 as i64 * 120 / s) as i32;
        let w = (((x1 as i64 * 120 + s - 1) / s) as i32 - x).max(1);
        Some(Rect::new(x, 0, w, b.logical.1.max(1) as i32))
    }

    /// Works out again which segment of bar `i` is under the pointer, if
    /// the pointer is over that bar (its segments were laid out anew).
    pub(super) fn retarget(&mut self, i: usize) {
        let Some(b) = self.bars.get(i) else {
            return;
        };
        let Target::Bar { bar, .. } = self.pointer.target else {
            return;
        };
        if bar != b.id {
            return;
        }
        let bx = self.pointer.position.0;
        let segment = b
            .renderer
            .segment_at(bx)
            .or_else(|| self.gap_within_module(&b.renderer, b.tag, bx))
            .and_then(|local| self.global_index(b.tag, local));
        self.pointer.target = Target::Bar { bar, segment };
    }

    /// The bar the last press on a bar was on.
    pub fn pressed_bar(&self) -> Option<u64> {
        self.pointer.pressed_bar
    }

    /// Where the last press on a bar was, in global logical coordinates
    /// (what a tray item's `Activate(x, y)` wants).
    pub fn press_position(&self) -> (i32, i32) {
        self.pointer.press_screen
    }

    /// Bar `bar`'s surface position (logical (`x`, `y`) on it) in global
    /// logical coordinates: its output's position, plus the margins and,
    /// at the bottom edge, the output's height less the bar's.
    fn to_screen(&self, bar: u64, x: f64, y: f64) -> (i32, i32) {
        let Some(b) = self.bars.iter().find(|b| b.id == bar) else {
            return (x as i32, y as i32);
        };
        let info = self.outputs.info(&b.output);
        let (ox, oy) = info
            .as_ref()
            .and_then(|i| i.logical_position)
            .unwrap_or((0, 0));
        let oh = info
            .as_ref()
            .and_then(|i| i.logical_size)
            .map_or(0, |s| s.1);
        let [top, _, bottom, left] = self.cfg.margin.map(|m| m as i32);
        let by = match self.cfg.edge {
            super::Edge::Top => top,
            super::Edge::Bottom => oh - b.logical.1 as i32 - bottom,
        };
        (ox + left + x as i32, oy + by + y as i32)
    }

    /// The seat and serial of the last press (for a popup grab).
    pub(super) fn press_serial(&self) -> Option<(wl_seat::WlSeat, u32)> {
        self.pointer.press_serial.clone()
    }

    /// The logical rectangle of segment `segment` (of the whole list) on
    /// bar `bar`: what a menu opened from it hangs from.
    pub fn segment_anchor(&self, bar: u64, segment: usize) -> Option<Rect> {
        let b = self.bars.iter().find(|b| b.id == bar)?;
        let local = self.local_index(b.tag, segment)?;
        let r = b.renderer.segment_rect(local).filter(|r| !r.is_empty())?;
        let s = b.renderer.scale120().max(1) as i64;
        let x = (r.x as i64 * 120 / s) as i32;
        let w = ((((r.x + r.w) as i64 * 120 + s - 1) / s) as i32 - x).max(1);
        Some(Rect::new(x, 0, w, b.logical.1.max(1) as i32))
    }

    /// The menu went away under the pointer.
    pub(super) fn pointer_left_menu(&mut self) {
        self.pointer_left_menu_level(0);
    }

    /// Menu levels from `level` on went away.
    pub(super) fn pointer_left_menu_level(&mut self, level: usize) {
        if matches!(self.pointer.target, Target::Menu(l) if l as usize >= level) {
            self.pointer.target = Target::Nothing;
        }
    }

    /// The popup went away under the pointer (the compositor sends no
    /// leave for a destroyed surface).
    pub(super) fn pointer_left_popup(&mut self) {
        if self.pointer.target == Target::Popup {
            self.pointer.target = Target::Nothing;
        }
    }

    /// Which target `surface` at logical (`x`, `y`) is, and the buffer position.
    fn hit(&self, surface: &wl_surface::WlSurface, x: f64, y: f64) -> (Target, (i32, i32)) {
        if self.popup_surface_is(surface) {
            return (Target::Popup, (x as i32, y as i32));
        }
        if let Some(l) = self.menu_level_of(surface) {
            return (Target::Menu(l as u8), (x as i32, y as i32));
        }
        let Some(b) = self.bars.iter().find(|b| b.layer.wl_surface() == surface) else {
            return (Target::Nothing, (0, 0));
        };
        let s = b.renderer.scale120() as f64 / 120.0;
        let (bx, by) = ((x * s).floor() as i32, (y * s).floor() as i32);
        // The renderer's indices count what this bar shows; targets name
        // the index in the whole list (per-output segments).
        let segment = b
            .renderer
            .segment_at(bx)
            .or_else(|| self.gap_within_module(&b.renderer, b.tag, bx))
            .and_then(|local| self.global_index(b.tag, local));
        (Target::Bar { bar: b.id, segment }, (bx, by))
    }

    /// Column `x` between two segments that open the same popup counts as
    /// the left one, so crossing the gap inside a module neither restarts
    /// the hover delay nor starts the grace. `None` elsewhere.
    fn gap_within_module(
        &self,
        r: &crate::render::Renderer,
        tag: Option<crate::render::OutputTag>,
        x: i32,
    ) -> Option<usize> {
        let mut left: Option<(usize, i32)> = None;
        let mut right: Option<(usize, i32)> = None;
        let shown = self
            .segments
            .iter()
            .filter(|s| s.output.is_none() || s.output == tag)
            .count();
        for i in 0..shown {
            let Some(c) = r.segment_rect(i).filter(|c| !c.is_empty()) else {
                continue;
            };
            if c.x + c.w <= x && left.is_none_or(|(_, e)| c.x + c.w > e) {
                left = Some((i, c.x + c.w));
            }
            if c.x > x && right.is_none_or(|(_, e)| c.x < e) {
                right = Some((i, c.x));
            }
        }
        let (l, r) = (left?.0, right?.0);
        let seg = |local| {
            self.global_index(tag, local)
                .and_then(|g| self.segments.get(g))
        };
        let popup = seg(l)?.popup?;
        (seg(r)?.popup == Some(popup)).then_some(l)
    }

    /// Sets the standard arrow on `pointer` (after an enter, as the protocol
    /// requires a fresh serial).
    fn set_cursor(&mut self, conn: &Connection, pointer: &wl_pointer::WlPointer) {
        let Some((_, themed)) = self
            .pointer
            .pointers
            .iter()
            .find(|(_, p)| p.pointer() == pointer)
        else {
            return;
        };
        if let Err(e) = themed.set_cursor(conn, CursorIcon::Default) {
            if !self.pointer.warned {
                eprintln!("rstat: cannot set the pointer's cursor over the bar: {e}");
                self.pointer.warned = true;
            }
        }
    }
}

impl PointerHandler for Bars {
    fn pointer_frame(
        &mut self,
        conn: &Connection,
        _: &QueueHandle<Self>,
        pointer: &wl_pointer::WlPointer,
        events: &[PointerEvent],
    ) {
        for e in events {
            match e.kind {
                PointerEventKind::Enter { .. } => {
                    let (t, p) = self.hit(&e.surface, e.position.0, e.position.1);
                    self.pointer.target = t;
                    self.pointer.position = p;
                    if t != Target::Nothing {
                        self.set_cursor(conn, pointer);
                    }
                    if let Target::Menu(l) = t {
                        self.menu_pointer(l as usize, p.0, p.1);
                    }
                }
                PointerEventKind::Motion { .. } => {
                    let (t, p) = self.hit(&e.surface, e.position.0, e.position.1);
                    self.pointer.target = t;
                    self.pointer.position = p;
                    if let Target::Menu(l) = t {
                        self.menu_pointer(l as usize, p.0, p.1);
                    }
                }
                PointerEventKind::Leave { .. } => {
                    // Only the surface we think we are on: with an enter and
                    // a leave in one frame the order is not guaranteed.
                    let (t, _) = self.hit(&e.surface, e.position.0, e.position.1);
                    let same = match (t, self.pointer.target) {
                        (Target::Bar { bar: a, .. }, Target::Bar { bar: b, .. }) => a == b,
                        (a, b) => a == b,
                    };
                    if same {
                        self.pointer.target = Target::Nothing;
                    }
                }
                PointerEventKind::Press { button, serial, .. } => {
                    let seat = self
                        .pointer
                        .pointers
                        .iter()
                        .find(|(_, p)| p.pointer() == pointer)
                        .map(|(s, _)| s.clone());
                    self.pointer.press_serial = seat.map(|s| (s, serial));
                    match self.pointer.target {
                        Target::Menu(l) => {
                            // The menu's own business: a row clicked, or nothing.
                            self.menu_press(l as usize);
                            continue;
                        }
                        Target::Bar { bar, .. } => {
                            self.pointer.pressed_bar = Some(bar);
                            self.pointer.press_screen =
                                self.to_screen(bar, e.position.0, e.position.1);
                            self.menu_press_outside();
                        }
                        _ => self.menu_press_outside(),
                    }
                    let b = match button {
                        BTN_LEFT => Button::Left,
                        BTN_MIDDLE => Button::Middle,
                        BTN_RIGHT => Button::Right,
                        _ => continue,
                    };
                    self.pointer.push(Gesture::Press(b));
                }
                PointerEventKind::Release { .. } => {}
                PointerEventKind::Axis { vertical, .. } => {
                    // Prefer whole wheel clicks; then high-resolution wheel
                    // units; then smooth (touchpad) pixels, accumulated.
                    let steps = if vertical.discrete != 0 {
                        vertical.discrete
                    } else if vertical.value120 != 0 {
                        self.pointer.scroll120 += vertical.value120;
                        let n = self.pointer.scroll120 / 120;
                        self.pointer.scroll120 -= n * 120;
                        n
                    } else {
                        self.pointer.scroll += vertical.absolute;
                        let n = (self.pointer.scroll / SMOOTH_STEP).trunc();
                        self.pointer.scroll -= n * SMOOTH_STEP;
                        if vertical.stop {
                            self.pointer.scroll = 0.0;
                        }
                        n as i32
                    };
                    let g = if steps < 0 {
                        Gesture::ScrollUp
                    } else {
                        Gesture::ScrollDown
                    };
                    for _ in 0..steps.unsigned_abs().min(MAX_QUEUED as u32) {
                        self.pointer.push(g);
                    }
                }
            }
        }
    }
}

impl SeatHandler for Bars {
    fn seat_state(&mut self) -> &mut SeatState {
        &mut self.pointer.seats
    }

    fn new_seat(&mut self, _: &Connection, _: &QueueHandle<Self>, _: wl_seat::WlSeat) {}

    fn new_capability(
        &mut self,
        _: &Connection,
        qh: &QueueHandle<Self>,
        seat: wl_seat::WlSeat,
        capability: Capability,
    ) {
        if capability != Capability::Pointer
            || self.pointer.pointers.iter().any(|(s, _)| *s == seat)
        {
            return;
        }
        let cursor_surface = self.compositor.create_surface(qh);
        match self.pointer.seats.get_pointer_with_theme::<Bars, ()>(
            qh,
            &seat,
            self.shm.wl_shm(),
            cursor_surface,
            ThemeSpec::System,
        ) {
            Ok(p) => self.pointer.pointers.push((seat, p)),
            Err(e) => eprintln!("rstat: no pointer on this seat: {e}"),
        }
    }

    fn remove_capability(
        &mut self,
        _: &Connection,
        _: &QueueHandle<Self>,
        seat: wl_seat::WlSeat,
        capability: Capability,
    ) {
        if capability == Capability::Pointer {
            // Dropping the ThemedPointer releases the wl_pointer.
            self.pointer.pointers.retain(|(s, _)| *s != seat);
            self.pointer.target = Target::Nothing;
        }
    }

    fn remove_seat(&mut self, _: &Connection, _: &QueueHandle<Self>, seat: wl_seat::WlSeat) {
        self.pointer.pointers.retain(|(s, _)| *s != seat);
    }
}
