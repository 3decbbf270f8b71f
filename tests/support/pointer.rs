//! A pointer for headless Sway, which has none: a client of ours that creates
//! one with the wlr virtual-pointer protocol and moves, clicks and scrolls it
//! (the hover and click tests). Debian has no ready tool for this. The
//! connection stays open while the value lives: Sway removes the pointer (and
//! with it any hover state) when its client disconnects.

use std::os::unix::net::UnixStream;
use std::time::Instant;

use wayland_client::globals::{registry_queue_init, GlobalListContents};
use wayland_client::protocol::{wl_pointer, wl_registry, wl_seat};
use wayland_client::{Connection, Dispatch, EventQueue, QueueHandle};
use wayland_protocols_wlr::virtual_pointer::v1::client::{
    zwlr_virtual_pointer_manager_v1::ZwlrVirtualPointerManagerV1,
    zwlr_virtual_pointer_v1::ZwlrVirtualPointerV1,
};

use super::sway::HeadlessSway;

/// Linux input event codes (linux/input-event-codes.h) for `button`.
pub const BTN_LEFT: u32 = 0x110;
pub const BTN_RIGHT: u32 = 0x111;
pub const BTN_MIDDLE: u32 = 0x112;

/// The protocol objects here send no events we need; the state is empty.
struct Nothing;

impl Dispatch<wl_registry::WlRegistry, GlobalListContents> for Nothing {
    fn event(
        _: &mut Self,
        _: &wl_registry::WlRegistry,
        _: wl_registry::Event,
        _: &GlobalListContents,
        _: &Connection,
        _: &QueueHandle<Self>,
    ) {
    }
}

impl Dispatch<wl_seat::WlSeat, ()> for Nothing {
    fn event(
        _: &mut Self,
        _: &wl_seat::WlSeat,
        _: wl_seat::Event,
        _: &(),
        _: &Connection,
        _: &QueueHandle<Self>,
    ) {
    }
}

impl Dispatch<ZwlrVirtualPointerManagerV1, ()> for Nothing {
    fn event(
        _: &mut Self,
        _: &ZwlrVirtualPointerManagerV1,
        _: <ZwlrVirtualPointerManagerV1 as wayland_client::Proxy>::Event,
        _: &(),
        _: &Connection,
        _: &QueueHandle<Self>,
    ) {
    }
}

impl Dispatch<ZwlrVirtualPointerV1, ()> for Nothing {
    fn event(
        _: &mut Self,
        _: &ZwlrVirtualPointerV1,
        _: <ZwlrVirtualPointerV1 as wayland_client::Proxy>::Event,
        _: &(),
        _: &Connection,
        _: &QueueHandle<Self>,
    ) {
    }
}

/// A virtual pointer on one Sway. Coordinates are in Sway's layout space
/// (logical pixels, as in `get_outputs` rects).
pub struct VirtualPointer {
    queue: EventQueue<Nothing>,
    pointer: ZwlrVirtualPointerV1,
    /// Width and height of the layout, for `motion_absolute`'s extents.
    extent: (u32, u32),
    epoch: Instant,
}

impl VirtualPointer {
    /// Connects to `sway` and creates the pointer on its seat. The layout's
    /// size is read now: create the pointer after changing outputs.
    pub fn new(sway: &HeadlessSway) -> Result<VirtualPointer, String> {
        let socket = sway.wayland_socket();
        let stream = UnixStream::connect(&socket)
            .map_err(|e| format!("connect to {}: {e}", socket.display()))?;
        let conn = Connection::from_socket(stream).map_err(|e| format!("wayland: {e}"))?;
        let (globals, mut queue) =
            registry_queue_init::<Nothing>(&conn).map_err(|e| format!("registry: {e}"))?;
        let qh = queue.handle();
        let manager: ZwlrVirtualPointerManagerV1 = globals
            .bind(&qh, 1..=2, ())
            .map_err(|e| format!("zwlr_virtual_pointer_manager_v1: {e}"))?;
        let seat: wl_seat::WlSeat = globals
            .bind(&qh, 1..=1, ())
            .map_err(|e| format!("wl_seat: {e}"))?;
        let pointer = manager.create_virtual_pointer(Some(&seat), &qh, ());
        queue
            .roundtrip(&mut Nothing)
            .map_err(|e| format!("roundtrip: {e}"))?;

        let (mut w, mut h) = (0i64, 0i64);
        for o in sway.get_outputs().as_array().into_iter().flatten() {
            let r = super::sway::Rect::from_json(&o["rect"]);
            w = w.max(r.x + r.width);
            h = h.max(r.y + r.height);
        }
        if w <= 0 || h <= 0 {
            return Err("no output to point at".into());
        }
        // The seat has a pointer only from now on: clients (the bar) bind
        // their wl_pointer when they hear of it. A motion sent before they
        // have would reach no one and the next click or scroll would miss.
        std::thread::sleep(std::time::Duration::from_millis(300));
        Ok(VirtualPointer {
            queue,
            pointer,
            extent: (w as u32, h as u32),
            epoch: Instant::now(),
        })
    }

    fn time(&self) -> u32 {
        self.epoch.elapsed().as_millis() as u32
    }

    /// Sends what was queued and waits until Sway has handled it.
    fn sync(&mut self) -> Result<(), String> {
        self.pointer.frame();
        self.queue
            .roundtrip(&mut Nothing)
            .map(|_| ())
            .map_err(|e| format!("virtual pointer: {e}"))
    }

    /// Moves the pointer to layout position (`x`, `y`).
    pub fn move_to(&mut self, x: u32, y: u32) -> Result<(), String> {
        let (w, h) = self.extent;
        self.pointer
            .motion_absolute(self.time(), x.min(w - 1), y.min(h - 1), w, h);
        self.sync()
    }

    /// Presses and releases `button` (e.g. [`BTN_LEFT`]).
    pub fn click(&mut self, button: u32) -> Result<(), String> {
        let t = self.time();
        self.pointer
            .button(t, button, wl_pointer::ButtonState::Pressed);
        self.sync()?;
        self.pointer
            .button(t + 1, button, wl_pointer::ButtonState::Released);
        self.sync()
    }

    /// Scrolls vertically by `steps` wheel clicks (negative: up).
    pub fn scroll(&mut self, steps: i32) -> Result<(), String> {
        let t = self.time();
        self.pointer.axis_source(wl_pointer::AxisSource::Wheel);
        self.pointer.axis_discrete(
            t,
            wl_pointer::Axis::VerticalScroll,
            15.0 * f64::from(steps),
            steps,
        );
        self.sync()
    }
}
