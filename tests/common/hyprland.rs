//! A local stand-in for Hyprland's two sockets (Hyprland cannot run on this
//! machine): `.socket.sock` answers `j/…` requests from a [`Model`] the test
//! changes as a real session would, and records `dispatch …` commands;
//! `.socket2.sock` hands the test the event stream to write Hyprland's
//! documented `NAME>>DATA` lines into.

use std::io::{Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde_json::Value;

/// What the stand-in answers to `j/workspaces`, `j/monitors`,
/// `j/activewindow` and `j/clients`, and the commands it was sent.
pub struct Model {
    pub workspaces: Value,
    pub monitors: Value,
    pub active: Value,
    pub clients: Value,
    pub commands: Vec<String>,
}

impl Model {
    /// A model with these replies and no commands yet.
    pub fn new(workspaces: Value, monitors: Value, active: Value, clients: Value) -> Model {
        Model {
            workspaces,
            monitors,
            active,
            clients,
            commands: Vec::new(),
        }
    }
}

/// One Hyprland instance's sockets, served by a thread of the test.
pub struct FakeHyprland {
    /// The `XDG_RUNTIME_DIR` the sockets are under (`hypr/SIG/`).
    pub runtime: PathBuf,
    /// `runtime/hypr/SIG`.
    pub dir: PathBuf,
    /// `HYPRLAND_INSTANCE_SIGNATURE`.
    pub sig: String,
    pub model: Arc<Mutex<Model>>,
    events: UnixListener,
}

impl FakeHyprland {
    /// Binds both sockets under a fresh runtime dir named after `name`.
    pub fn start(name: &str, model: Model) -> FakeHyprland {
        let runtime = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("hypr-{name}-{}", std::process::id()));
        let sig = format!("v0.45.0_{name}_1732550000");
        let dir = runtime.join("hypr").join(&sig);
        let _ = std::fs::remove_dir_all(&runtime);
        std::fs::create_dir_all(&dir).expect("creating the stand-in's socket dir");
        let model = Arc::new(Mutex::new(model));
        let requests = UnixListener::bind(dir.join(".socket.sock")).expect("binding .socket.sock");
        let events = UnixListener::bind(dir.join(".socket2.sock")).expect("binding .socket2.sock");
        let m = model.clone();
        std::thread::spawn(move || {
            for conn in requests.incoming() {
                let Ok(mut conn) = conn else { break };
                let mut buf = [0u8; 512];
                let n = conn.read(&mut buf).unwrap_or(0);
                let cmd = String::from_utf8_lossy(&buf[..n]).into_owned();
                let mut m = m.lock().unwrap_or_else(|p| p.into_inner());
                let reply = match cmd.as_str() {
                    "j/workspaces" => m.workspaces.to_string(),
                    "j/monitors" => m.monitors.to_string(),
                    "j/activewindow" => m.active.to_string(),
                    "j/clients" => m.clients.to_string(),
                    c if c.starts_with("dispatch ") => {
                        m.commands.push(c.to_string());
                        "ok".to_string()
                    }
                    _ => "unknown request".to_string(),
                };
                let _ = conn.write_all(reply.as_bytes());
            }
        });
        FakeHyprland {
            runtime,
            dir,
            sig,
            model,
            events,
        }
    }

    /// Waits for the client's event connection; the test writes events into it.
    pub fn accept_events(&self) -> UnixStream {
        let (s, _) = self
            .events
            .accept()
            .expect("accepting the event connection");
        s
    }
}

impl Drop for FakeHyprland {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.runtime);
    }
}
