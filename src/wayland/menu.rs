//! Context menus (the tray's dbusmenus) in our own popups: level 0 an
//! `xdg_popup` of the bar's layer surface under the clicked icon, each
//! submenu an `xdg_popup` of its parent level anchored beside the row that
//! opens it, all kept on the output by the compositor's flip and slide.
//!
//! The pointer over a level highlights the row under it and, resting on a
//! submenu row, opens that submenu (closing deeper ones); a press on an
//! enabled row reports [`MenuEvent::Clicked`] and closes the menu. What a
//! click means is the module's business: this file only says which row.
//! Each level has its own two small buffers, made when it opens and freed
//! when it closes (menus open seldom; the health popup's pool reuse would
//! buy nothing here).

use smithay_client_toolkit::shell::xdg::popup::Popup;
use smithay_client_toolkit::shell::xdg::XdgPositioner;
use wayland_client::protocol::{wl_shm, wl_surface};
use wayland_protocols::xdg::shell::client::xdg_positioner::{
    Anchor, ConstraintAdjustment, Gravity,
};

use super::buffers::{Buffers, Format};
use super::Bars;
pub use crate::render::menu::MenuEvent;
use crate::render::menu::{MenuContent, MenuLayout};
use crate::render::popup::PopupLook;
use crate::render::{Canvas, Rect};

/// Buffer-release ids of the levels: `MENU_BUFFERS - level` (bars count up
/// from 1, the health popup is `u64::MAX`).
pub(super) const MENU_BUFFERS: u64 = u64::MAX - 1;
/// Submenu levels opened at most (the content is bounded further up too).
pub const MAX_LEVELS: usize = 8;

/// One open level.
struct Level {
    popup: Popup,
    layout: MenuLayout,
    buffers: Option<Buffers>,
    configured: bool,
    dirty: bool,
    /// The content row under the pointer.
    hovered: Option<usize>,
}

/// The open menu, if any, and what happened in it.
#[derive(Default)]
pub struct MenuState {
    content: MenuContent,
    levels: Vec<Level>,
    /// The bar the menu hangs from.
    bar: u64,
    events: Vec<MenuEvent>,
    generation: u64,
    look: PopupLook,
    /// A button went down on a bar while the menu was open (the bar
    /// decides whether that closes it: a click on the icon toggles).
    press_outside: bool,
    /// Menus opened (levels 0) and frames committed, for tests.
    pub opened: u64,
    /// Frames committed to menu levels.
    pub commits: u64,
}

impl Bars {
    /// Shows `content` as a menu hanging from bar `bar` under `anchor`
    /// (logical pixels of that bar). An open menu on the same bar is
    /// updated in place (rows re-laid out; a level whose size changed is
    /// opened again at its place), otherwise a new one opens.
    pub fn show_menu(&mut self, bar: u64, anchor: Rect, content: &MenuContent) {
        if !self.menu.levels.is_empty() && self.menu.bar == bar {
            if *content != self.menu.content {
                self.menu.content = content.clone();
                self.relayout_menu(anchor);
            }
            return;
        }
        self.close_menu();
        self.menu.content = content.clone();
        self.menu.bar = bar;
        if self.open_level(None, anchor) {
            self.menu.opened += 1;
        }
    }

    /// Closes every level of the menu (reports nothing).
    pub fn close_menu(&mut self) {
        if self.menu.levels.is_empty() {
            return;
        }
        // Children before parents, as xdg-shell requires.
        while let Some(l) = self.menu.levels.pop() {
            drop(l);
        }
        self.pointer_left_menu();
    }

    /// Whether a menu is open.
    pub fn menu_is_open(&self) -> bool {
        !self.menu.levels.is_empty()
    }

    /// How many levels are open (1: the menu, 2: a submenu beside it, …).
    pub fn menu_levels(&self) -> usize {
        self.menu.levels.len()
    }

    /// Whether every open level has shown a frame.
    pub fn menu_shown(&self) -> bool {
        !self.menu.levels.is_empty()
            && self.menu.levels.iter().all(|l| {
                l.buffers
                    .as_ref()
                    .is_some_and(|b| b.slots.iter().any(|s| s.shown > 0))
            })
    }

    /// Menus opened, frames committed.
    pub fn menu_stats(&self) -> (u64, u64) {
        (self.menu.opened, self.menu.commits)
    }

    /// True once after a press on a bar or the health popup while the menu
    /// was open.
    pub fn take_menu_press_outside(&mut self) -> bool {
        std::mem::take(&mut self.menu.press_outside)
    }

    /// A press somewhere else than the menu, while it is open.
    pub(super) fn menu_press_outside(&mut self) {
        if self.menu_is_open() {
            self.menu.press_outside = true;
        }
    }

    /// Hands what happened in the menu since the last call to `f`.
    pub fn drain_menu_events(&mut self, mut f: impl FnMut(MenuEvent)) {
        for e in self.menu.events.drain(..) {
            f(e);
        }
    }

    /// The level `surface` shows, if it is one of the menu's.
    pub(super) fn menu_level_of(&self, surface: &wl_surface::WlSurface) -> Option<usize> {
        self.menu
            .levels
            .iter()
            .position(|l| l.popup.wl_surface() == surface)
    }

    /// The pointer moved to logical (`x`, `y`) of level `level`: the row
    /// under it lights up; resting on a submenu row opens its submenu.
    pub(super) fn menu_pointer(&mut self, level: usize, x: i32, y: i32) {
        let Some(l) = self.menu.levels.get(level) else {
            return;
        };
        let row = l.layout.row_at(&self.menu.content, x, y);
        // Between rows (the border, a separator) nothing changes: crossing
        // the border into a submenu must not close it.
        if row.is_none() || row == l.hovered {
            return;
        }
        let l = &mut self.menu.levels[level];
        l.hovered = row;
        l.dirty = true;
        self.draw_menu_level(level);
        // A different row of this level: deeper levels go, and a submenu
        // row opens its own.
        self.close_levels_from(level + 1);
        let Some(r) = row else { return };
        let Some(entry) = self.menu.content.rows.get(r) else {
            return;
        };
        if entry.submenu && entry.enabled && self.menu.levels.len() < MAX_LEVELS {
            let id = entry.id;
            let anchor = self.menu.levels[level].layout.row_rect(r);
            if let Some(anchor) = anchor {
                if self.open_level(Some(r), anchor) {
                    self.menu.events.push(MenuEvent::Opened(id));
                }
            }
        }
    }

    /// A button went down over level `level`: the hovered row, if enabled
    /// and not a submenu, is clicked and the menu closes.
    pub(super) fn menu_press(&mut self, level: usize) {
        let Some(r) = self.menu.levels.get(level).and_then(|l| l.hovered) else {
            return;
        };
        let Some(entry) = self.menu.content.rows.get(r) else {
            return;
        };
        if !entry.enabled || entry.separator || entry.submenu {
            return;
        }
        let id = entry.id;
        self.close_menu();
        self.menu.events.push(MenuEvent::Clicked(id));
    }

    /// The compositor configured `popup`: a level of ours gets drawn. False
    /// when `popup` is none of the menu's.
    pub(super) fn menu_configured(&mut self, popup: &Popup) -> bool {
        let Some(i) = self.menu.levels.iter().position(|l| l.popup == *popup) else {
            return false;
        };
        let l = &mut self.menu.levels[i];
        if !l.configured {
            l.configured = true;
            l.dirty = true;
        }
        self.draw_menu_level(i);
        true
    }

    /// The compositor dismissed `popup` (a click elsewhere with a grab, its
    /// parent gone): that level and deeper close; the top one closing is a
    /// dismissal of the menu. False when `popup` is none of the menu's.
    pub(super) fn menu_popup_done(&mut self, popup: &Popup) -> bool {
        let Some(i) = self.menu.levels.iter().position(|l| l.popup == *popup) else {
            return false;
        };
        if i == 0 {
            self.close_menu();
            self.menu.events.push(MenuEvent::Dismissed);
        } else {
            self.close_levels_from(i);
        }
        true
    }

    /// A release of one of a level's buffers.
    pub(super) fn menu_buffer_released(&mut self, id: u64, generation: u64, index: usize) {
        let level = (MENU_BUFFERS - id) as usize;
        let Some(l) = self.menu.levels.get_mut(level) else {
            return;
        };
        if let Some(b) = l.buffers.as_mut().filter(|b| b.generation == generation) {
            b.slots[index].busy = false;
        }
        if l.dirty {
            self.draw_menu_level(level);
        }
    }

    /// The bar `bar` goes away: a menu hanging from it goes first.
    pub(super) fn menu_parent_gone(&mut self, bar: u64) {
        if self.menu_is_open() && self.menu.bar == bar {
            self.close_menu();
            self.menu.events.push(MenuEvent::Dismissed);
        }
    }

    fn close_levels_from(&mut self, level: usize) {
        let had = self.menu.levels.len() > level;
        while self.menu.levels.len() > level {
            self.menu.levels.pop();
        }
        if had {
            self.pointer_left_menu_level(level);
        }
    }

    /// Lays every level out anew for changed content. A level whose rows
    /// or size changed is opened again (xdg popups keep the size they were
    /// placed with); a submenu whose row is gone closes.
    fn relayout_menu(&mut self, anchor: Rect) {
        let mut i = 0;
        while i < self.menu.levels.len() {
            let parent = self.menu.levels[i].layout.parent();
            let still = parent.is_none_or(|p| {
                self.menu
                    .content
                    .rows
                    .get(p)
                    .is_some_and(|r| r.submenu && r.enabled)
            });
            if !still {
                self.close_levels_from(i);
                break;
            }
            let scale = self.menu.levels[i].layout.scale();
            let layout = MenuLayout::new(
                &self.menu.content,
                parent,
                self.menu.look,
                scale,
                &mut self.glyphs,
            );
            if layout.size() == self.menu.levels[i].layout.size() {
                let l = &mut self.menu.levels[i];
                l.layout = layout;
                l.hovered = l.hovered.filter(|&r| r < self.menu.content.rows.len());
                l.dirty = true;
                self.draw_menu_level(i);
                i += 1;
                continue;
            }
            // Reopen this level (and drop deeper ones) at its anchor.
            let at = match parent {
                None => Some(anchor),
                Some(p) => self.menu.levels[i - 1].layout.row_rect(p),
            };
            self.close_levels_from(i);
            if let Some(at) = at {
                self.open_level(parent, at);
            }
            break;
        }
    }

    /// Opens the level of `parent`'s rows (`None`: the top, under the bar's
    /// `anchor`; else beside `anchor`, the parent row in the level above).
    fn open_level(&mut self, parent: Option<usize>, anchor: Rect) -> bool {
        let Some(b) = self.bars.iter().find(|b| b.id == self.menu.bar) else {
            return false;
        };
        let Some(xdg) = self.popup.xdg() else {
            return false;
        };
        let scale = b.renderer.scale120().div_ceil(120).max(1);
        let layout = MenuLayout::new(
            &self.menu.content,
            parent,
            self.menu.look,
            scale,
            &mut self.glyphs,
        );
        let (w, h) = layout.logical_size();
        let positioner = match XdgPositioner::new(xdg) {
            Ok(p) => p,
            Err(e) => {
                eprintln!("rstat: cannot place the menu: {e}");
                return false;
            }
        };
        positioner.set_size(w.max(1) as i32, h.max(1) as i32);
        positioner.set_anchor_rect(anchor.x, anchor.y, anchor.w.max(1), anchor.h.max(1));
        let adjust = ConstraintAdjustment::FlipX
            | ConstraintAdjustment::SlideX
            | ConstraintAdjustment::FlipY
            | ConstraintAdjustment::SlideY;
        let (a, g) = match (parent, self.cfg.edge) {
            // Beside the parent row, its top at the row's top.
            (Some(_), _) => (Anchor::TopRight, Gravity::BottomRight),
            (None, super::Edge::Top) => (Anchor::BottomLeft, Gravity::BottomRight),
            (None, super::Edge::Bottom) => (Anchor::TopLeft, Gravity::TopRight),
        };
        positioner.set_anchor(a);
        positioner.set_gravity(g);
        positioner.set_constraint_adjustment(adjust);
        let surface = self.compositor.create_surface(&self.qh);
        let parent_surface = match parent {
            None => None,
            Some(_) => match self.menu.levels.last() {
                Some(l) => Some(l.popup.xdg_surface().clone()),
                None => return false,
            },
        };
        let popup =
            match Popup::from_surface(parent_surface.as_ref(), &positioner, &self.qh, surface, xdg)
            {
                Ok(p) => p,
                Err(e) => {
                    eprintln!("rstat: cannot open the menu: {e}");
                    return false;
                }
            };
        if parent.is_none() {
            // The parent, before the first commit (invalid_popup_parent otherwise).
            b.layer.get_popup(popup.xdg_popup());
        }
        // A grab, so a click anywhere else (another window) dismisses it;
        // nested levels grab too, as xdg-shell asks of a grabbing parent's
        // children. Without a press (never, in practice) it stays grabless
        // and closes on a click on the bar.
        if let Some((seat, serial)) = self.press_serial() {
            popup.xdg_popup().grab(&seat, serial);
        }
        popup.wl_surface().set_buffer_scale(scale as i32);
        popup.wl_surface().commit();
        self.glyphs
            .warm(crate::render::glyphs::WARM_CHARS, layout.font_px());
        self.menu.levels.push(Level {
            popup,
            layout,
            buffers: None,
            configured: false,
            dirty: true,
            hovered: None,
        });
        true
    }

    /// Draws level `i` if it may (configured, a free buffer) and changed.
    fn draw_menu_level(&mut self, i: usize) {
        let format =
            if !self.cfg.force_argb && self.shm.formats().contains(&wl_shm::Format::Abgr8888) {
                Format::Abgr8888
            } else {
                Format::Argb8888
            };
        let m = &mut self.menu;
        let Some(l) = m.levels.get_mut(i) else { return };
        if !l.configured || !l.dirty {
            return;
        }
        let (w, h) = l.layout.size();
        let fits = l
            .buffers
            .as_ref()
            .is_some_and(|x| (x.width, x.height, x.format) == (w, h, format));
        if !fits {
            m.generation += 1;
            let id = MENU_BUFFERS - i as u64;
            match Buffers::new(&self.shm, &self.qh, id, m.generation, w, h, format) {
                Ok(b) => l.buffers = Some(b),
                Err(e) => {
                    eprintln!("rstat: cannot draw the menu: {}", e.0);
                    return;
                }
            }
        }
        let Some(bufs) = l.buffers.as_mut() else {
            return;
        };
        let Some(k) = bufs.pick() else {
            // Both with the compositor: a release calls us again.
            return;
        };
        l.dirty = false;
        match bufs.format {
            Format::Abgr8888 => {
                if let Some(mut c) = Canvas::new(bufs.canvas(k), w, h) {
                    l.layout
                        .paint(&mut c, &m.content, l.hovered, &mut self.glyphs);
                }
            }
            Format::Argb8888 => {
                let (private, canvas) = bufs.private_and_canvas(k);
                if let Some(mut c) = Canvas::new(private, w, h) {
                    l.layout
                        .paint(&mut c, &m.content, l.hovered, &mut self.glyphs);
                }
                let all = Rect::new(0, 0, w as i32, h as i32);
                crate::render::paint::copy_rect_to_argb(private, canvas, w, all);
            }
        }
        let slot = &mut bufs.slots[k];
        slot.shown += 1;
        slot.busy = true;
        let surface = l.popup.wl_surface();
        surface.damage_buffer(0, 0, w as i32, h as i32);
        surface.attach(Some(&slot.buffer), 0, 0);
        surface.commit();
        m.commits += 1;
    }
}
