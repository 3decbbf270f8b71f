//! A minimal window of our own: an xdg-shell toplevel with a flat shm
//! buffer. Tests need "a window opened afterwards" (it must start below the
//! bar's exclusive zone) without depending on a terminal package; the window
//! lives as long as the value (dropping it disconnects, which unmaps it).

use std::os::fd::{AsFd, FromRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use wayland_client::globals::{registry_queue_init, GlobalListContents};
use wayland_client::protocol::{
    wl_buffer, wl_compositor, wl_registry, wl_shm, wl_shm_pool, wl_surface,
};
use wayland_client::{Connection, Dispatch, EventQueue, QueueHandle};
use wayland_protocols::xdg::shell::client::{xdg_surface, xdg_toplevel, xdg_wm_base};

use super::sway::HeadlessSway;

/// The buffer's size: Sway sizes a tiled window by the layout, not by its
/// buffer, so any size maps it.
const SIZE: i32 = 64;

#[derive(Default)]
struct State {
    /// The first configure arrived and was acknowledged.
    configured: bool,
}

/// An open window on one Sway.
pub struct TestWindow {
    conn: Connection,
    _queue: EventQueue<State>,
    _surface: wl_surface::WlSurface,
    _toplevel: xdg_toplevel::XdgToplevel,
}

impl TestWindow {
    /// Opens a toplevel titled `title` and returns once it has committed its
    /// first buffer (it is mapped then; Sway lists it in `get_tree`).
    pub fn open(sway: &HeadlessSway, title: &str) -> Result<TestWindow, String> {
        let socket = sway.wayland_socket();
        let stream = UnixStream::connect(&socket)
            .map_err(|e| format!("connect to {}: {e}", socket.display()))?;
        let conn = Connection::from_socket(stream).map_err(|e| format!("wayland: {e}"))?;
        let (globals, mut queue) =
            registry_queue_init::<State>(&conn).map_err(|e| format!("registry: {e}"))?;
        let qh = queue.handle();
        let compositor: wl_compositor::WlCompositor = globals
            .bind(&qh, 1..=4, ())
            .map_err(|e| format!("wl_compositor: {e}"))?;
        let shm: wl_shm::WlShm = globals
            .bind(&qh, 1..=1, ())
            .map_err(|e| format!("wl_shm: {e}"))?;
        let wm: xdg_wm_base::XdgWmBase = globals
            .bind(&qh, 1..=2, ())
            .map_err(|e| format!("xdg_wm_base: {e}"))?;

        let surface = compositor.create_surface(&qh, ());
        let xdg = wm.get_xdg_surface(&surface, &qh, ());
        let toplevel = xdg.get_toplevel(&qh, ());
        toplevel.set_title(title.to_string());
        toplevel.set_app_id("rstat-test-window".to_string());
        // The initial commit without a buffer asks for the first configure.
        surface.commit();

        let mut state = State::default();
        let deadline = Instant::now() + Duration::from_secs(5);
        while !state.configured {
            if Instant::now() > deadline {
                return Err("no configure from the compositor within 5 s".into());
            }
            queue
                .blocking_dispatch(&mut state)
                .map_err(|e| format!("dispatch: {e}"))?;
        }

        let len = (SIZE * SIZE * 4) as usize;
        let fd = memfd(len)?;
        let pool = shm.create_pool(fd.as_fd(), len as i32, &qh, ());
        let buffer = pool.create_buffer(0, SIZE, SIZE, SIZE * 4, wl_shm::Format::Xrgb8888, &qh, ());
        surface.attach(Some(&buffer), 0, 0);
        surface.damage_buffer(0, 0, SIZE, SIZE);
        surface.commit();
        queue
            .roundtrip(&mut state)
            .map_err(|e| format!("roundtrip: {e}"))?;
        Ok(TestWindow {
            conn,
            _queue: queue,
            _surface: surface,
            _toplevel: toplevel,
        })
    }
}

impl TestWindow {
    /// Sets the title to raw bytes, which need not be UTF-8 (as X11 and
    /// some Wayland clients send): wayland-client only takes a `String`, so
    /// the `xdg_toplevel.set_title` request is written to the socket by
    /// hand, after everything queued so far is flushed.
    pub fn set_raw_title(&self, title: &[u8]) -> Result<(), String> {
        use std::os::fd::AsRawFd;
        use wayland_client::Proxy;
        self.conn.flush().map_err(|e| format!("flush: {e}"))?;
        // Header: object id, then (size << 16 | opcode); set_title is
        // opcode 2. The string: its length with the NUL, the bytes, the
        // NUL, padding to 4 bytes.
        let id = self._toplevel.id().protocol_id();
        let len = title.len() + 1;
        let padded = len.div_ceil(4) * 4;
        let size = 8 + 4 + padded;
        let mut msg = Vec::with_capacity(size);
        msg.extend_from_slice(&id.to_ne_bytes());
        msg.extend_from_slice(&(((size as u32) << 16) | 2).to_ne_bytes());
        msg.extend_from_slice(&(len as u32).to_ne_bytes());
        msg.extend_from_slice(title);
        msg.resize(size, 0);
        let fd = self.conn.backend().poll_fd().as_raw_fd();
        // SAFETY: writes our buffer to the connection's socket, which the
        // library is not writing to (its queue was just flushed).
        let n = unsafe { libc::write(fd, msg.as_ptr().cast(), msg.len()) };
        if n != msg.len() as isize {
            return Err(format!(
                "write set_title: {}",
                std::io::Error::last_os_error()
            ));
        }
        Ok(())
    }
}

/// An anonymous shared-memory file of `len` zero bytes (black pixels).
fn memfd(len: usize) -> Result<OwnedFd, String> {
    // SAFETY: memfd_create with a valid C string; the result is checked.
    let raw = unsafe { libc::memfd_create(c"rstat-test-window".as_ptr(), libc::MFD_CLOEXEC) };
    if raw < 0 {
        return Err(format!("memfd_create: {}", std::io::Error::last_os_error()));
    }
    // SAFETY: a fresh descriptor that nothing else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(raw) };
    let file = std::fs::File::from(fd);
    file.set_len(len as u64)
        .map_err(|e| format!("size the shm file: {e}"))?;
    Ok(OwnedFd::from(file))
}

impl Dispatch<xdg_wm_base::XdgWmBase, ()> for State {
    fn event(
        _: &mut Self,
        wm: &xdg_wm_base::XdgWmBase,
        event: xdg_wm_base::Event,
        _: &(),
        _: &Connection,
        _: &QueueHandle<Self>,
    ) {
        if let xdg_wm_base::Event::Ping { serial } = event {
            wm.pong(serial);
        }
    }
}

impl Dispatch<xdg_surface::XdgSurface, ()> for State {
    fn event(
        state: &mut Self,
        xdg: &xdg_surface::XdgSurface,
        event: xdg_surface::Event,
        _: &(),
        _: &Connection,
        _: &QueueHandle<Self>,
    ) {
        if let xdg_surface::Event::Configure { serial } = event {
            xdg.ack_configure(serial);
            state.configured = true;
        }
    }
}

/// Objects whose events the window does not need.
macro_rules! ignore_events {
    ($($iface:ty),*) => {$(
        impl Dispatch<$iface, ()> for State {
            fn event(
                _: &mut Self,
                _: &$iface,
                _: <$iface as wayland_client::Proxy>::Event,
                _: &(),
                _: &Connection,
                _: &QueueHandle<Self>,
            ) {
            }
        }
    )*};
}

ignore_events!(
    wl_compositor::WlCompositor,
    wl_shm::WlShm,
    wl_shm_pool::WlShmPool,
    wl_buffer::WlBuffer,
    wl_surface::WlSurface,
    xdg_toplevel::XdgToplevel
);

impl Dispatch<wl_registry::WlRegistry, GlobalListContents> for State {
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
