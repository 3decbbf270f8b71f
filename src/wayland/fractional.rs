//! Fractional scale: `wp_fractional_scale_v1` tells a surface its preferred
//! scale in 120ths; `wp_viewporter` lets us attach a buffer of that many
//! pixels and have it shown at the logical size. sctk wraps neither, so they
//! are bound directly. Used only when the compositor offers both.

use smithay_client_toolkit::dispatch2::Dispatch2;
use wayland_client::globals::GlobalList;
use wayland_client::protocol::wl_surface::WlSurface;
use wayland_client::{Connection, QueueHandle};
use wayland_protocols::wp::fractional_scale::v1::client::{
    wp_fractional_scale_manager_v1::{self, WpFractionalScaleManagerV1},
    wp_fractional_scale_v1::{self, WpFractionalScaleV1},
};
use wayland_protocols::wp::viewporter::client::{
    wp_viewport::{self, WpViewport},
    wp_viewporter::{self, WpViewporter},
};

use super::Bars;

/// The two globals, when the compositor has both.
pub struct FractionalGlobals {
    manager: WpFractionalScaleManagerV1,
    viewporter: WpViewporter,
}

/// One surface's fractional-scale and viewport objects.
pub struct SurfaceScaling {
    fractional: WpFractionalScaleV1,
    viewport: WpViewport,
    /// The logical size last set as the viewport's destination.
    destination: (u32, u32),
}

/// User data of the objects that send no events we use.
pub struct NoEvents;

/// User data of a surface's `wp_fractional_scale_v1`: which bar it is.
pub struct ScaleData {
    pub bar: u64,
}

impl FractionalGlobals {
    /// Binds both globals, or `None` if either is missing.
    pub fn bind(globals: &GlobalList, qh: &QueueHandle<Bars>) -> Option<FractionalGlobals> {
        let manager = globals.bind(qh, 1..=1, NoEvents).ok()?;
        let viewporter = globals.bind(qh, 1..=1, NoEvents).ok()?;
        Some(FractionalGlobals {
            manager,
            viewporter,
        })
    }

    /// The objects for `surface` of bar `bar`.
    pub fn for_surface(
        &self,
        surface: &WlSurface,
        bar: u64,
        qh: &QueueHandle<Bars>,
    ) -> SurfaceScaling {
        SurfaceScaling {
            fractional: self
                .manager
                .get_fractional_scale(surface, qh, ScaleData { bar }),
            viewport: self.viewporter.get_viewport(surface, qh, NoEvents),
            destination: (0, 0),
        }
    }
}

impl SurfaceScaling {
    /// Shows the buffer at `logical` size (sent only when it changes; takes
    /// effect with the next commit).
    pub fn set_destination(&mut self, logical: (u32, u32)) {
        if self.destination != logical && logical.0 > 0 && logical.1 > 0 {
            self.viewport
                .set_destination(logical.0 as i32, logical.1 as i32);
            self.destination = logical;
        }
    }
}

impl Drop for SurfaceScaling {
    fn drop(&mut self) {
        // Both must go before their wl_surface; the bar drops this first.
        self.fractional.destroy();
        self.viewport.destroy();
    }
}

impl Drop for FractionalGlobals {
    fn drop(&mut self) {
        self.manager.destroy();
        self.viewporter.destroy();
    }
}

impl Dispatch2<wp_fractional_scale_v1::WpFractionalScaleV1, Bars> for ScaleData {
    fn event(
        &self,
        state: &mut Bars,
        _: &WpFractionalScaleV1,
        event: wp_fractional_scale_v1::Event,
        _: &Connection,
        _: &QueueHandle<Bars>,
    ) {
        if let wp_fractional_scale_v1::Event::PreferredScale { scale } = event {
            state.fractional_scale_changed(self.bar, scale);
        }
    }
}

impl Dispatch2<wp_fractional_scale_manager_v1::WpFractionalScaleManagerV1, Bars> for NoEvents {
    fn event(
        &self,
        _: &mut Bars,
        _: &WpFractionalScaleManagerV1,
        _: wp_fractional_scale_manager_v1::Event,
        _: &Connection,
        _: &QueueHandle<Bars>,
    ) {
    }
}

impl Dispatch2<wp_viewporter::WpViewporter, Bars> for NoEvents {
    fn event(
        &self,
        _: &mut Bars,
        _: &WpViewporter,
        _: wp_viewporter::Event,
        _: &Connection,
        _: &QueueHandle<Bars>,
    ) {
    }
}

impl Dispatch2<wp_viewport::WpViewport, Bars> for NoEvents {
    fn event(
        &self,
        _: &mut Bars,
        _: &WpViewport,
        _: wp_viewport::Event,
        _: &Connection,
        _: &QueueHandle<Bars>,
    ) {
    }
}
