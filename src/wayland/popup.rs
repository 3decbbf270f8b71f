//! The hover popup: an `xdg_popup` parented to a bar's layer
//! surface (`get_popup` before its first commit, or the compositor raises
//! `invalid_popup_parent`), placed by an `xdg_positioner` under the module and
//! kept on the output by constraint adjustment: flipped leftwards when the
//! module is at the right edge, upwards when the bar is at the bottom, slid
//! when flipping is not enough.
//!
//! Its two shm buffers outlive the popup: closing destroys the surface but
//! keeps the pool, so opening it again (a thousand times) allocates no new
//! shared memory; only after the popup stayed closed a while (30 s by
//! default) is the pool given back, so it does not stay resident for good.
//! The popup shows either the health module's tables or the clock's calendar
//! ([`PopupKind`]); the two differ in size, so going from one to the other
//! makes a new pool (one at a time, never more). Drawing follows the bar: wait for configure and buffer
//! releases, repaint what the reused buffer missed, damage changed lines.

use smithay_client_toolkit::error::GlobalError;
use smithay_client_toolkit::globals::{GlobalData, ProvidesBoundGlobal};
use smithay_client_toolkit::shell::xdg::popup::{Popup, PopupConfigure, PopupHandler};
use smithay_client_toolkit::shell::xdg::XdgPositioner;
use wayland_client::globals::GlobalList;
use wayland_client::protocol::{wl_shm, wl_surface};
use wayland_client::{Connection, QueueHandle};
use wayland_protocols::xdg::shell::client::xdg_positioner::{
    Anchor, ConstraintAdjustment, Gravity,
};
use wayland_protocols::xdg::shell::client::xdg_wm_base::XdgWmBase;

use super::buffers::{Buffers, Format};
use super::{Bars, Edge};
use crate::render::calendar::{CalendarContent, CalendarRenderer};
use crate::render::popup::{PopupContent, PopupLook, PopupRenderer, PopupSheet};
use crate::render::tooltip::TooltipRenderer;
use crate::render::{Canvas, GlyphCache, PopupId, Rect};

/// The buffer-release id of the popup's buffers (bars count up from 1).
pub(super) const POPUP_BUFFERS: u64 = u64::MAX;

/// `xdg_wm_base` bound on its own: sctk's `XdgShell` would also bind the
/// decoration manager, which wants a window handler a bar has no use for.
pub struct WmBase(XdgWmBase);

impl WmBase {
    /// Binds `xdg_wm_base` (versions sctk's popup code knows); `None` when the
    /// compositor lacks it.
    pub fn bind(globals: &GlobalList, qh: &QueueHandle<Bars>) -> Option<WmBase> {
        globals.bind(qh, 1..=6, GlobalData).ok().map(WmBase)
    }
}

impl ProvidesBoundGlobal<XdgWmBase, 5> for WmBase {
    fn bound_global(&self) -> Result<XdgWmBase, GlobalError> {
        Ok(self.0.clone())
    }
}

impl ProvidesBoundGlobal<XdgWmBase, 6> for WmBase {
    fn bound_global(&self) -> Result<XdgWmBase, GlobalError> {
        Ok(self.0.clone())
    }
}

/// What a popup shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PopupKind {
    /// The health module's top-process tables.
    Tables,
    /// The clock's month calendar.
    Calendar,
    /// A module's tooltip (text with markup).
    Tooltip,
}

impl PopupKind {
    /// The popup a segment's [`PopupId`] opens; `None` for one nothing draws.
    pub fn of(id: PopupId) -> Option<PopupKind> {
        match id {
            PopupId::TABLES => Some(PopupKind::Tables),
            PopupId::CALENDAR => Some(PopupKind::Calendar),
            id if id.is_tooltip() => Some(PopupKind::Tooltip),
            _ => None,
        }
    }
}

/// The popup while it exists on the compositor side.
struct Open {
    popup: Popup,
    /// What it shows.
    kind: PopupKind,
    /// The bar it hangs from, and where on it (logical pixels).
    bar: u64,
    anchor: Rect,
    configured: bool,
    dirty: bool,
    /// Frames committed to this surface (0: it has no content yet).
    frames: u64,
}

/// Everything about the popup: the xdg shell (absent: no popup, the bar
/// still works), the latest content, the renderer and the reused pool.
pub struct PopupState {
    xdg: Option<WmBase>,
    content: PopupContent,
    renderer: PopupRenderer,
    /// The clock's calendar, content and renderer.
    calendar: CalendarContent,
    calendar_renderer: CalendarRenderer,
    /// A module's tooltip (its text is its content).
    tooltip: TooltipRenderer,
    open: Option<Open>,
    buffers: Option<Buffers>,
    /// Which renderer's frames the pool's buffers hold (their `shown`
    /// numbers mean nothing to the other one).
    pool_kind: PopupKind,
    generation: u64,
    /// The compositor dismissed the popup (`popup_done`) since the last look.
    dismissed: bool,
    /// When the last popup closed (for giving an idle pool back).
    closed_at: Option<std::time::Instant>,
    /// Counters for tests and reports: popups opened, pools created, commits.
    pub stats: PopupStats,
}

/// How often the popup did costly things (tests read these).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PopupStats {
    /// Popups created.
    pub opened: u64,
    /// Shared-memory pools created for them.
    pub pools: u64,
    /// Pools given back after the popup stayed closed a while.
    pub pools_released: u64,
    /// Frames committed.
    pub commits: u64,
}

impl PopupState {
    /// The popup machinery over `xdg` (none: popups are disabled).
    pub fn new(xdg: Option<WmBase>, look: PopupLook, glyphs: &mut GlyphCache) -> PopupState {
        PopupState {
            xdg,
            content: PopupContent::default(),
            renderer: PopupRenderer::new(look, glyphs),
            calendar: CalendarContent::default(),
            calendar_renderer: CalendarRenderer::new(look, glyphs),
            tooltip: TooltipRenderer::new(look, glyphs),
            open: None,
            buffers: None,
            pool_kind: PopupKind::Tables,
            generation: 0,
            dismissed: false,
            closed_at: None,
            stats: PopupStats::default(),
        }
    }

    /// The xdg shell, when the compositor has one.
    pub(super) fn xdg(&self) -> Option<&WmBase> {
        self.xdg.as_ref()
    }

    /// The renderer of `kind`.
    fn sheet(&mut self, kind: PopupKind) -> &mut dyn PopupSheet {
        match kind {
            PopupKind::Tables => &mut self.renderer,
            PopupKind::Calendar => &mut self.calendar_renderer,
            PopupKind::Tooltip => &mut self.tooltip,
        }
    }
}

/// The positioner's anchor, gravity and adjustments for a bar on `edge`:
/// the popup hangs from the module's outer corner and grows away from the
/// bar and to the right; the compositor flips it leftwards at the right end
/// of the output (and slides it when even that does not fit).
pub fn placement(edge: Edge) -> (Anchor, Gravity, ConstraintAdjustment) {
    let adjust = ConstraintAdjustment::FlipX
        | ConstraintAdjustment::SlideX
        | ConstraintAdjustment::FlipY
        | ConstraintAdjustment::SlideY;
    match edge {
        Edge::Top => (Anchor::BottomLeft, Gravity::BottomRight, adjust),
        Edge::Bottom => (Anchor::TopLeft, Gravity::TopRight, adjust),
    }
}

/// [`placement`] for a popup showing `kind`. The calendar is centred under
/// the clock (which usually sits in the middle of the bar, and is narrower
/// than its calendar); at an end of the output the same adjustments slide
/// it back on screen (flipping a centred popup changes nothing).
pub fn placement_of(edge: Edge, kind: PopupKind) -> (Anchor, Gravity, ConstraintAdjustment) {
    let (a, g, adjust) = placement(edge);
    match (kind, edge) {
        (PopupKind::Tables, _) => (a, g, adjust),
        (PopupKind::Calendar | PopupKind::Tooltip, Edge::Top) => {
            (Anchor::Bottom, Gravity::Bottom, adjust)
        }
        (PopupKind::Calendar | PopupKind::Tooltip, Edge::Bottom) => {
            (Anchor::Top, Gravity::Top, adjust)
        }
    }
}

impl Bars {
    /// Opens the health popup (the process tables) under `anchor` (logical
    /// pixels of bar `bar`), replacing any open one. Does nothing without
    /// xdg shell or that bar.
    pub fn open_popup(&mut self, bar: u64, anchor: Rect) {
        self.open_popup_of(bar, PopupKind::Tables, anchor);
    }

    /// Opens the popup showing `kind` under `anchor` (logical pixels of bar
    /// `bar`), replacing any open one. Does nothing without xdg shell or
    /// that bar.
    pub fn open_popup_of(&mut self, bar: u64, kind: PopupKind, anchor: Rect) {
        self.close_popup();
        let Some(b) = self.bars.iter().find(|b| b.id == bar) else {
            return;
        };
        let Some(xdg) = &self.popup.xdg else {
            return;
        };
        // The bar's scale, rounded up for a fractional one: a little
        // oversampled beats blurry.
        let scale = b.renderer.scale120().div_ceil(120).max(1);
        let sheet = match kind {
            PopupKind::Tables => &mut self.popup.renderer as &mut dyn PopupSheet,
            PopupKind::Calendar => &mut self.popup.calendar_renderer,
            PopupKind::Tooltip => &mut self.popup.tooltip,
        };
        sheet.set_scale(scale, &mut self.glyphs);
        let (w, h) = sheet.logical_size();
        let font_px = sheet.font_px();
        let positioner = match XdgPositioner::new(xdg) {
            Ok(p) => p,
            Err(e) => {
                eprintln!("rstat: cannot place the popup: {e}");
                return;
            }
        };
        let (a, g, adjust) = placement_of(self.cfg.edge, kind);
        positioner.set_size(w as i32, h as i32);
        positioner.set_anchor_rect(anchor.x, anchor.y, anchor.w.max(1), anchor.h.max(1));
        positioner.set_anchor(a);
        positioner.set_gravity(g);
        positioner.set_constraint_adjustment(adjust);
        let surface = self.compositor.create_surface(&self.qh);
        let popup = match Popup::from_surface(None, &positioner, &self.qh, surface, xdg) {
            Ok(p) => p,
            Err(e) => {
                eprintln!("rstat: cannot open the popup: {e}");
                return;
            }
        };
        // The parent, before the first commit (invalid_popup_parent otherwise).
        b.layer.get_popup(popup.xdg_popup());
        popup.wl_surface().set_buffer_scale(scale as i32);
        popup.wl_surface().commit();
        self.popup.open = Some(Open {
            popup,
            kind,
            bar,
            anchor,
            configured: false,
            dirty: true,
            frames: 0,
        });
        self.popup.stats.opened += 1;
        self.glyphs.warm(crate::render::glyphs::WARM_CHARS, font_px);
    }

    /// Closes the popup if open (its buffers stay for the next one).
    pub fn close_popup(&mut self) {
        // Dropping the sctk Popup destroys the xdg_popup, xdg_surface and
        // wl_surface in that order.
        if self.popup.open.take().is_some() {
            self.popup.closed_at = Some(std::time::Instant::now());
        }
        // No leave comes for a destroyed surface.
        self.pointer_left_popup();
    }

    /// Gives the popup's pool back once no popup has been open for `idle`:
    /// hovering again soon (or a thousand times in a row) reuses it, but a
    /// bar whose popup was looked at once does not keep its two buffers
    /// (0.9 MiB at scale 1, 3.9 MiB at scale 2) resident for good.
    pub fn release_idle_popup_pool(&mut self, now: std::time::Instant, idle: std::time::Duration) {
        let p = &mut self.popup;
        if p.open.is_none() && p.buffers.is_some() && p.closed_at.is_some_and(|t| now >= t + idle) {
            // Drop destroys the wl_buffers and unmaps the pool.
            p.buffers = None;
            p.stats.pools_released += 1;
        }
    }

    /// Whether a popup exists (configured or not yet).
    pub fn popup_is_open(&self) -> bool {
        self.popup.open.is_some()
    }

    /// The bar the open popup hangs from.
    pub fn popup_bar(&self) -> Option<u64> {
        self.popup.open.as_ref().map(|o| o.bar)
    }

    /// True once after the compositor dismissed the popup.
    pub fn take_popup_dismissed(&mut self) -> bool {
        std::mem::take(&mut self.popup.dismissed)
    }

    /// The id of the first bar the compositor has configured (for tests
    /// that drive the popup directly).
    pub fn first_configured_bar(&self) -> Option<u64> {
        self.bars.iter().find(|b| b.configured).map(|b| b.id)
    }

    /// Whether the open popup has shown a frame.
    pub fn popup_shown(&self) -> bool {
        self.popup.open.as_ref().is_some_and(|o| o.frames > 0)
    }

    /// Popup counters (opened, pools, commits).
    pub fn popup_stats(&self) -> PopupStats {
        self.popup.stats
    }

    /// Shows `content` in the health popup from now on (redrawn at once
    /// when open).
    pub fn set_popup_content(&mut self, content: &PopupContent) {
        if *content == self.popup.content {
            return;
        }
        self.popup.content = *content;
        self.content_changed(PopupKind::Tables);
    }

    /// Shows `content` in the clock's popup from now on (redrawn at once
    /// when open). The same month and day again costs one comparison.
    pub fn set_calendar_content(&mut self, content: &CalendarContent) {
        if *content == self.popup.calendar {
            return;
        }
        self.popup.calendar = *content;
        self.content_changed(PopupKind::Calendar);
    }

    /// Shows `text` (markup) as the tooltip from now on; an open tooltip is
    /// redrawn, or opened anew under the same module when its size changed.
    /// The same text again costs one comparison.
    pub fn set_tooltip_text(&mut self, text: &str) {
        let before = self.popup.tooltip.size();
        if !self.popup.tooltip.set_text(text, &mut self.glyphs) {
            return;
        }
        let Some(o) = self
            .popup
            .open
            .as_ref()
            .filter(|o| o.kind == PopupKind::Tooltip)
        else {
            return;
        };
        if self.popup.tooltip.size() != before {
            let (bar, anchor) = (o.bar, o.anchor);
            self.open_popup_of(bar, PopupKind::Tooltip, anchor);
        } else {
            self.content_changed(PopupKind::Tooltip);
        }
    }

    /// The tooltip's text as set (markup).
    pub fn tooltip_text(&self) -> &str {
        self.popup.tooltip.text()
    }

    /// What the open popup shows, if one is open.
    pub fn popup_kind(&self) -> Option<PopupKind> {
        self.popup.open.as_ref().map(|o| o.kind)
    }

    /// `kind`'s content changed: redraw if that is what the popup shows.
    fn content_changed(&mut self, kind: PopupKind) {
        if let Some(o) = self.popup.open.as_mut().filter(|o| o.kind == kind) {
            o.dirty = true;
            self.draw_popup();
        }
    }

    pub(super) fn popup_surface_is(&self, surface: &wl_surface::WlSurface) -> bool {
        self.popup
            .open
            .as_ref()
            .is_some_and(|o| o.popup.wl_surface() == surface)
    }

    /// A release of one of the popup's buffers.
    pub(super) fn popup_buffer_released(&mut self, generation: u64, index: usize) {
        if let Some(bufs) = &mut self.popup.buffers {
            if bufs.generation == generation {
                bufs.slots[index].busy = false;
            }
        }
        if self.popup.open.as_ref().is_some_and(|o| o.dirty) {
            self.draw_popup();
        }
    }

    /// The glyph cache was replaced: lay the popup out anew when it next opens.
    pub(super) fn popup_glyphs_changed(&mut self) {
        self.popup.renderer.forget_layout();
        self.popup.calendar_renderer.forget_layout();
        PopupSheet::forget_layout(&mut self.popup.tooltip);
    }

    /// The bar `bar` goes away: a popup hanging from it goes first.
    pub(super) fn popup_parent_gone(&mut self, bar: u64) {
        self.menu_parent_gone(bar);
        if self.popup.open.as_ref().is_some_and(|o| o.bar == bar) {
            self.close_popup();
            self.popup.dismissed = true;
        }
    }

    /// Draws the popup if it may (configured, a free buffer) and its
    /// content changed.
    fn draw_popup(&mut self) {
        let p = &mut self.popup;
        let Some(o) = p.open.as_mut() else { return };
        if !o.configured || !o.dirty {
            return;
        }
        let kind = o.kind;
        let (w, h) = p.sheet(kind).size();
        let format =
            if !self.cfg.force_argb && self.shm.formats().contains(&wl_shm::Format::Abgr8888) {
                Format::Abgr8888
            } else {
                Format::Argb8888
            };
        let fits = p.pool_kind == kind
            && p.buffers
                .as_ref()
                .is_some_and(|x| (x.width, x.height, x.format) == (w, h, format));
        if !fits {
            p.buffers = None;
            p.generation += 1;
            match Buffers::new(
                &self.shm,
                &self.qh,
                POPUP_BUFFERS,
                p.generation,
                w,
                h,
                format,
            ) {
                Ok(x) => p.buffers = Some(x),
                Err(e) => {
                    eprintln!("rstat: cannot draw the popup: {}", e.0);
                    return;
                }
            }
            p.stats.pools += 1;
            p.pool_kind = kind;
            // New memory holds nothing: the next update repaints all.
            p.sheet(kind).invalidate();
        }
        let Some(o) = p.open.as_mut() else { return };
        let Some(bufs) = p.buffers.as_mut() else {
            return;
        };
        let Some(k) = bufs.pick() else {
            // Both with the compositor: a release calls us again.
            return;
        };
        let changed = match kind {
            PopupKind::Tables => p.renderer.update(&p.content),
            PopupKind::Calendar => p.calendar_renderer.update(&p.calendar),
            PopupKind::Tooltip => p.tooltip.update(),
        };
        let sheet: &dyn PopupSheet = match kind {
            PopupKind::Tables => &p.renderer,
            PopupKind::Calendar => &p.calendar_renderer,
            PopupKind::Tooltip => &p.tooltip,
        };
        o.dirty = false;
        // The buffer is brought up to date whatever it last showed (it
        // may be from an earlier popup: the pool outlives them). A fresh
        // surface has no content yet, so its first frame is damaged whole.
        let repaint = sheet.since(bufs.slots[k].shown);
        let fresh = o.frames == 0;
        if !fresh && changed.is_empty() {
            return;
        }
        let damage = if fresh {
            crate::render::Mask::FULL
        } else {
            changed
        };
        match bufs.format {
            Format::Abgr8888 => {
                if let Some(mut c) = Canvas::new(bufs.canvas(k), w, h) {
                    sheet.paint(&mut c, repaint, &mut self.glyphs);
                }
            }
            Format::Argb8888 => {
                let (private, canvas) = bufs.private_and_canvas(k);
                if let Some(mut c) = Canvas::new(private, w, h) {
                    sheet.paint(&mut c, changed, &mut self.glyphs);
                }
                sheet.rects(repaint, &mut self.rects);
                for r in &self.rects {
                    crate::render::paint::copy_rect_to_argb(private, canvas, w, *r);
                }
            }
        }
        let slot = &mut bufs.slots[k];
        slot.shown = sheet.frame();
        slot.busy = true;
        let surface = o.popup.wl_surface();
        sheet.rects(damage, &mut self.rects);
        for r in &self.rects {
            surface.damage_buffer(r.x, r.y, r.w, r.h);
        }
        // No frame callback: the popup changes at most once a tick, and the
        // busy flags already keep us off a buffer the compositor reads. A
        // callback pending when the popup closes is never answered (the
        // compositor drops it with the surface) and wayland-backend keeps
        // its object data, ~200 bytes a popup: measured by tests/popup_leak.rs.
        surface.attach(Some(&slot.buffer), 0, 0);
        surface.commit();
        o.frames += 1;
        p.stats.commits += 1;
    }
}

impl PopupHandler for Bars {
    fn configure(
        &mut self,
        _: &Connection,
        _: &QueueHandle<Self>,
        popup: &Popup,
        _: PopupConfigure,
    ) {
        if self.menu_configured(popup) {
            return;
        }
        // The size is ours (fixed by the content's layout); where the
        // compositor put it is its business.
        let Some(o) = self.popup.open.as_mut().filter(|o| o.popup == *popup) else {
            return;
        };
        if !o.configured {
            o.configured = true;
            o.dirty = true;
        }
        self.draw_popup();
    }

    fn done(&mut self, _: &Connection, _: &QueueHandle<Self>, popup: &Popup) {
        if self.menu_popup_done(popup) {
            return;
        }
        if self.popup.open.as_ref().is_some_and(|o| o.popup == *popup) {
            self.close_popup();
            self.popup.dismissed = true;
        }
    }
}
