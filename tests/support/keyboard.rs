//! A keyboard for headless Sway, which has none: a client of ours that
//! creates one with the virtual-keyboard protocol (`zwp_virtual_keyboard_v1`)
//! and hands Sway a keymap of the layouts asked for (the language tests).
//! The keyboard lives as long as the value: Sway removes the device when
//! its client disconnects.

use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;

use wayland_client::globals::{registry_queue_init, GlobalListContents};
use wayland_client::protocol::{wl_registry, wl_seat};
use wayland_client::{Connection, Dispatch, EventQueue, QueueHandle};
use wayland_protocols_misc::zwp_virtual_keyboard_v1::client::{
    zwp_virtual_keyboard_manager_v1::ZwpVirtualKeyboardManagerV1,
    zwp_virtual_keyboard_v1::ZwpVirtualKeyboardV1,
};

use super::sway::HeadlessSway;

/// The protocol objects here send no events we need.
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

impl Dispatch<ZwpVirtualKeyboardManagerV1, ()> for Nothing {
    fn event(
        _: &mut Self,
        _: &ZwpVirtualKeyboardManagerV1,
        _: <ZwpVirtualKeyboardManagerV1 as wayland_client::Proxy>::Event,
        _: &(),
        _: &Connection,
        _: &QueueHandle<Self>,
    ) {
    }
}

impl Dispatch<ZwpVirtualKeyboardV1, ()> for Nothing {
    fn event(
        _: &mut Self,
        _: &ZwpVirtualKeyboardV1,
        _: <ZwpVirtualKeyboardV1 as wayland_client::Proxy>::Event,
        _: &(),
        _: &Connection,
        _: &QueueHandle<Self>,
    ) {
    }
}

/// The keymap text of `layouts` (xkeyboard-config names, `["us", "de"]`),
/// one group each. The compositor compiles it with libxkbcommon, which
/// resolves the includes from its own data (/usr/share/X11/xkb).
pub fn keymap(layouts: &[&str]) -> String {
    let mut symbols = String::from("pc");
    for (i, l) in layouts.iter().enumerate() {
        if i == 0 {
            symbols.push_str(&format!("+{l}"));
        } else {
            symbols.push_str(&format!("+{l}:{}", i + 1));
        }
    }
    symbols.push_str("+inet(evdev)");
    format!(
        "xkb_keymap {{\n  xkb_keycodes {{ include \"evdev+aliases(qwerty)\" }};\n  xkb_types {{ include \"complete\" }};\n  xkb_compat {{ include \"complete\" }};\n  xkb_symbols {{ include \"{symbols}\" }};\n}};\n"
    )
}

/// A virtual keyboard on one Sway's seat.
pub struct VirtualKeyboard {
    queue: EventQueue<Nothing>,
    _keyboard: ZwpVirtualKeyboardV1,
}

impl VirtualKeyboard {
    /// Connects to `sway` and creates a keyboard with the keymap of
    /// `layouts`; returns once Sway has taken it.
    pub fn new(sway: &HeadlessSway, layouts: &[&str]) -> Result<VirtualKeyboard, String> {
        let socket = sway.wayland_socket();
        let stream = UnixStream::connect(&socket)
            .map_err(|e| format!("connect to {}: {e}", socket.display()))?;
        let conn = Connection::from_socket(stream).map_err(|e| format!("wayland: {e}"))?;
        let (globals, mut queue) =
            registry_queue_init::<Nothing>(&conn).map_err(|e| format!("registry: {e}"))?;
        let qh = queue.handle();
        let manager: ZwpVirtualKeyboardManagerV1 = globals
            .bind(&qh, 1..=1, ())
            .map_err(|e| format!("zwp_virtual_keyboard_manager_v1: {e}"))?;
        let seat: wl_seat::WlSeat = globals
            .bind(&qh, 1..=1, ())
            .map_err(|e| format!("wl_seat: {e}"))?;
        let keyboard = manager.create_virtual_keyboard(&seat, &qh, ());

        // The keymap travels as a file descriptor of the text, NUL included.
        let path = sway
            .runtime_dir()
            .join(format!("keymap-{}.xkb", layouts.join("-")));
        let mut text = keymap(layouts).into_bytes();
        text.push(0);
        std::fs::write(&path, &text).map_err(|e| format!("{}: {e}", path.display()))?;
        let file = std::fs::File::open(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        // 1: WL_KEYBOARD_KEYMAP_FORMAT_XKB_V1.
        keyboard.keymap(1, file.as_fd(), text.len() as u32);
        queue
            .roundtrip(&mut Nothing)
            .map_err(|e| format!("roundtrip after the keymap: {e}"))?;
        Ok(VirtualKeyboard {
            queue,
            _keyboard: keyboard,
        })
    }

    /// Waits until Sway has handled everything sent so far.
    pub fn sync(&mut self) -> Result<(), String> {
        self.queue
            .roundtrip(&mut Nothing)
            .map(|_| ())
            .map_err(|e| format!("virtual keyboard: {e}"))
    }
}
