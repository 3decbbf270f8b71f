//! Idle inhibition: `zwp_idle_inhibitor_v1` objects that keep the
//! compositor from going idle (swayidle's timeouts do not fire) while the
//! bar wants it. Modules only say whether they want it
//! ([`super::Bars::set_idle_inhibit`]); the objects live here.
//!
//! One inhibitor per bar surface while the bars are shown. While they are
//! hidden (SIGUSR1) or there is no output, the wish is kept on a surface of
//! our own that has no role and is never mapped: Sway counts an inhibitor
//! on a surface that belongs to no window as active, so hiding the bar does
//! not let the screen blank.

use smithay_client_toolkit::dispatch2::Dispatch2;
use wayland_client::globals::GlobalList;
use wayland_client::protocol::wl_surface::WlSurface;
use wayland_client::{Connection, QueueHandle};
use wayland_protocols::wp::idle_inhibit::zv1::client::{
    zwp_idle_inhibit_manager_v1::{self, ZwpIdleInhibitManagerV1},
    zwp_idle_inhibitor_v1::{self, ZwpIdleInhibitorV1},
};

use super::Bars;

/// The manager global, when the compositor offers it.
pub struct IdleGlobals {
    manager: ZwpIdleInhibitManagerV1,
}

/// One inhibitor, destroyed when dropped (before its surface).
pub struct Inhibitor(ZwpIdleInhibitorV1);

/// User data of the idle-inhibit objects (they send no events).
pub struct NoEvents;

impl IdleGlobals {
    /// Binds the manager, or `None` when the compositor lacks it.
    pub fn bind(globals: &GlobalList, qh: &QueueHandle<Bars>) -> Option<IdleGlobals> {
        let manager = globals.bind(qh, 1..=1, NoEvents).ok()?;
        Some(IdleGlobals { manager })
    }

    /// An inhibitor on `surface`.
    pub fn inhibit(&self, surface: &WlSurface, qh: &QueueHandle<Bars>) -> Inhibitor {
        Inhibitor(self.manager.create_inhibitor(surface, qh, NoEvents))
    }
}

impl Drop for Inhibitor {
    fn drop(&mut self) {
        self.0.destroy();
    }
}

impl Drop for IdleGlobals {
    fn drop(&mut self) {
        self.manager.destroy();
    }
}

impl Dispatch2<zwp_idle_inhibit_manager_v1::ZwpIdleInhibitManagerV1, Bars> for NoEvents {
    fn event(
        &self,
        _: &mut Bars,
        _: &ZwpIdleInhibitManagerV1,
        _: zwp_idle_inhibit_manager_v1::Event,
        _: &Connection,
        _: &QueueHandle<Bars>,
    ) {
    }
}

impl Dispatch2<zwp_idle_inhibitor_v1::ZwpIdleInhibitorV1, Bars> for NoEvents {
    fn event(
        &self,
        _: &mut Bars,
        _: &ZwpIdleInhibitorV1,
        _: zwp_idle_inhibitor_v1::Event,
        _: &Connection,
        _: &QueueHandle<Bars>,
    ) {
    }
}
