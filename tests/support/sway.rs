//! A real Sway for the end-to-end tests: headless (`WLR_BACKENDS=headless`,
//! pixman renderer), or nested inside another one (`WLR_BACKENDS=wayland`),
//! with its own runtime directory, started as an unprivileged uid because
//! Sway refuses to run as root. Everything it starts is stopped on drop.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::Value;

use super::image::Image;
use super::proc::{run, wait_for};

/// The uid and gid Sway runs as (`nobody`): root can still connect to the
/// sockets it creates, so the clients under test run as the test does.
pub const SWAY_UID: u32 = 65534;

/// How long Sway gets to come up, and each IPC call or screenshot to answer.
const START_TIMEOUT: Duration = Duration::from_secs(15);
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

static INSTANCE: AtomicUsize = AtomicUsize::new(0);

/// One running Sway.
pub struct HeadlessSway {
    /// Its `XDG_RUNTIME_DIR`, owned by [`SWAY_UID`]; removed on drop.
    dir: PathBuf,
    child: Option<Child>,
    /// Sway's pid, which is also its process group's id.
    pgid: i32,
    /// Socket name inside `dir` (`WAYLAND_DISPLAY`).
    wayland_display: String,
    /// The IPC socket (`SWAYSOCK`).
    swaysock: PathBuf,
    log: PathBuf,
}

impl HeadlessSway {
    /// A headless Sway with one 1920×1080 output, `HEADLESS-1`, no bar, no
    /// borders, no background program (the background is Sway's own clear
    /// colour, so nothing races the first screenshot).
    pub fn start() -> HeadlessSway {
        Self::start_with("output HEADLESS-1 resolution 1920x1080 position 0 0\n")
    }

    /// A headless Sway whose config gets `extra` appended.
    pub fn start_with(extra: &str) -> HeadlessSway {
        Self::launch(&[("WLR_BACKENDS", "headless".into())], extra, "HEADLESS-1")
    }

    /// A Sway nested in `parent`: each of its outputs (`WL-1`, then `WL-2`
    /// from `create_output`, …) is a window of the parent. Closing such a
    /// window destroys the output for real, like unplugging a monitor — the
    /// headless backend of Sway 1.7 (Debian 12) can neither unplug nor even
    /// disable an output, so this is how the tests remove one.
    pub fn start_nested(parent: &HeadlessSway) -> HeadlessSway {
        let outer = parent.dir.join(&parent.wayland_display);
        Self::launch(
            &[
                ("WLR_BACKENDS", "wayland".into()),
                ("WAYLAND_DISPLAY", outer.to_string_lossy().into_owned()),
            ],
            "",
            "WL-1",
        )
    }

    fn launch(backend_env: &[(&str, String)], extra: &str, first_output: &str) -> HeadlessSway {
        let n = INSTANCE.fetch_add(1, Ordering::Relaxed);
        if n == 0 {
            sweep_stale_dirs();
        }
        let dir = std::env::temp_dir().join(format!("rstat-e2e-{}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
        // Sway (as nobody) must own its runtime dir: libwayland creates the
        // socket and lock file there, and checks nothing else.
        std::os::unix::fs::chown(&dir, Some(SWAY_UID), Some(SWAY_UID))
            .unwrap_or_else(|e| panic!("chown {} to {SWAY_UID}: {e}", dir.display()));
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o700))
            .unwrap_or_else(|e| panic!("chmod {}: {e}", dir.display()));

        let config = dir.join("sway.conf");
        fs::write(&config, format!("{BASE_CONFIG}{extra}"))
            .unwrap_or_else(|e| panic!("write {}: {e}", config.display()));
        fs::set_permissions(&config, fs::Permissions::from_mode(0o644))
            .unwrap_or_else(|e| panic!("chmod {}: {e}", config.display()));
        let log = dir.join("sway.log");
        let log_file =
            fs::File::create(&log).unwrap_or_else(|e| panic!("create {}: {e}", log.display()));
        let log_err = log_file.try_clone().expect("dup sway log fd");

        let mut cmd = Command::new("sway");
        cmd.arg("-c")
            .arg(&config)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &dir)
            .env("XDG_RUNTIME_DIR", &dir)
            .env("XDG_CACHE_HOME", &dir)
            .env("WLR_LIBINPUT_NO_DEVICES", "1")
            .env("WLR_RENDERER", "pixman");
        for (k, v) in backend_env {
            cmd.env(k, v);
        }
        // std drops the supplementary groups too when root sets a uid. Its own
        // process group lets Drop sweep up whatever Sway spawned.
        cmd.uid(SWAY_UID)
            .gid(SWAY_UID)
            .process_group(0)
            .current_dir(&dir)
            .stdin(Stdio::null())
            .stdout(log_file)
            .stderr(log_err);
        super::proc::die_with_parent(&mut cmd);
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start sway: {e}"));

        let mut sway = HeadlessSway {
            dir,
            pgid: child.id() as i32,
            child: Some(child),
            wayland_display: String::new(),
            swaysock: PathBuf::new(),
            log,
        };
        sway.wait_ready(first_output);
        sway
    }

    /// Waits for both sockets, then for the first output to be active.
    fn wait_ready(&mut self, first_output: &str) {
        let dir = self.dir.clone();
        let found = wait_for(START_TIMEOUT, || {
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                self.fail(&format!("sway exited during start-up ({status})"));
            }
            let mut wl = None;
            let mut ipc = None;
            for e in fs::read_dir(&dir).ok()?.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if name.starts_with("wayland-") && !name.ends_with(".lock") {
                    wl = Some(name);
                } else if name.starts_with("sway-ipc.") && name.ends_with(".sock") {
                    ipc = Some(e.path());
                }
            }
            Some((wl?, ipc?))
        });
        let Some((wl, ipc)) = found else {
            self.fail("sway did not create its wayland and IPC sockets in time");
        };
        // Open the sockets to every uid. Root reaches them anyway through
        // CAP_DAC_OVERRIDE, but a bar that drops its capabilities after
        // loading the probe (as DESIGN.md asks) is uid 0 without it, and must
        // still be able to connect, as it would to its own user's compositor.
        for path in [dir.clone(), dir.join(&wl), ipc.clone()] {
            let mode = if path == dir { 0o711 } else { 0o777 };
            fs::set_permissions(&path, fs::Permissions::from_mode(mode))
                .unwrap_or_else(|e| panic!("chmod {}: {e}", path.display()));
        }
        self.wayland_display = wl;
        self.swaysock = ipc;
        let ready = wait_for(START_TIMEOUT, || {
            let outputs = self.try_swaymsg(&["-t", "get_outputs"]).ok()?;
            let outputs: Value = serde_json::from_str(&outputs).ok()?;
            outputs.as_array()?.iter().find(|o| {
                o["name"] == first_output
                    && o["active"] == true
                    && o["rect"]["width"].as_u64().unwrap_or(0) > 0
            })?;
            Some(())
        });
        if ready.is_none() {
            self.fail(&format!(
                "sway's output {first_output} did not become active"
            ));
        }
    }

    /// Panics with `msg` and the tail of Sway's log.
    pub fn fail(&self, msg: &str) -> ! {
        panic!(
            "{msg}\n--- sway log ({}) ---\n{}",
            self.log.display(),
            self.log_tail(40)
        );
    }

    /// The last `n` lines Sway logged.
    pub fn log_tail(&self, n: usize) -> String {
        let text = fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }

    pub fn runtime_dir(&self) -> &Path {
        &self.dir
    }

    /// The path of the Wayland socket, for clients of our own.
    pub fn wayland_socket(&self) -> PathBuf {
        self.dir.join(&self.wayland_display)
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }

    /// The environment a client of this Sway needs.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("WAYLAND_DISPLAY", self.wayland_display.clone()),
            ("XDG_RUNTIME_DIR", self.dir.to_string_lossy().into_owned()),
            ("SWAYSOCK", self.swaysock.to_string_lossy().into_owned()),
        ]
    }

    /// A command for a client of this Sway: its environment set, and
    /// everything that could point the client at another compositor, or at
    /// the tester's own config, removed. `XDG_CONFIG_HOME` is an empty
    /// directory, so programs run on their built-in defaults.
    pub fn client(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut cmd = Command::new(program);
        for var in [
            "DISPLAY",
            "WAYLAND_SOCKET",
            "I3SOCK",
            "HYPRLAND_INSTANCE_SIGNATURE",
            "NIRI_SOCKET",
        ] {
            cmd.env_remove(var);
        }
        cmd.env("XDG_CONFIG_HOME", self.config_home());
        for (k, v) in self.env() {
            cmd.env(k, v);
        }
        cmd
    }

    /// The `XDG_CONFIG_HOME` of clients: empty unless a test writes a
    /// config there (`config_home()/rstat/config.toml`).
    pub fn config_home(&self) -> PathBuf {
        let dir = self.dir.join("client-config");
        let _ = fs::create_dir_all(&dir);
        dir
    }

    /// Writes `text` as the clients' rstat config
    /// (`config_home()/rstat/config.toml`), the file rstat reads without
    /// `--config`; its path.
    pub fn write_rstat_config(&self, text: &str) -> PathBuf {
        let dir = self.config_home().join("rstat");
        let _ = fs::create_dir_all(&dir);
        let path = dir.join("config.toml");
        fs::write(&path, text).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
        path
    }

    /// Runs `swaymsg ARGS` (raw JSON output); errors carry swaymsg's stderr.
    pub fn try_swaymsg(&self, args: &[&str]) -> Result<String, String> {
        // `-t get_x` is a query; anything else is one command line, as
        // swaymsg would join it.
        let (kind, payload) = match args {
            ["-t", query] => (
                match *query {
                    "get_workspaces" => IPC_GET_WORKSPACES,
                    "get_outputs" => IPC_GET_OUTPUTS,
                    "get_tree" => IPC_GET_TREE,
                    "get_seats" => IPC_GET_SEATS,
                    other => {
                        return Err(format!("swaymsg -t {other}: not a query the harness knows"))
                    }
                },
                String::new(),
            ),
            _ => (IPC_COMMAND, args.join(" ")),
        };
        self.ipc(kind, &payload)
            .map_err(|e| format!("sway IPC {args:?}: {e}"))
    }

    /// One request on Sway's IPC socket (the i3 protocol: magic, length,
    /// type, payload), answered within the call timeout. Talking to the
    /// socket directly instead of running `swaymsg` takes about a millisecond,
    /// which lets the tests time how fast a bar appears.
    pub fn ipc(&self, kind: u32, payload: &str) -> std::io::Result<String> {
        use std::io::{Read, Write};
        let mut sock = std::os::unix::net::UnixStream::connect(&self.swaysock)?;
        sock.set_read_timeout(Some(CALL_TIMEOUT))?;
        sock.set_write_timeout(Some(CALL_TIMEOUT))?;
        let mut msg = Vec::with_capacity(14 + payload.len());
        msg.extend_from_slice(IPC_MAGIC);
        msg.extend_from_slice(&(payload.len() as u32).to_ne_bytes());
        msg.extend_from_slice(&kind.to_ne_bytes());
        msg.extend_from_slice(payload.as_bytes());
        sock.write_all(&msg)?;
        let mut header = [0u8; 14];
        sock.read_exact(&mut header)?;
        if &header[..6] != IPC_MAGIC {
            return Err(std::io::Error::other("bad IPC reply magic"));
        }
        let len = u32::from_ne_bytes(header[6..10].try_into().expect("4 bytes")) as usize;
        let mut body = vec![0u8; len];
        sock.read_exact(&mut body)?;
        String::from_utf8(body).map_err(std::io::Error::other)
    }

    /// `swaymsg ARGS`, panicking with Sway's log when it fails. A command
    /// (not a `-t get_*` query) must report success for every part.
    pub fn swaymsg(&self, args: &[&str]) -> String {
        let out = self
            .try_swaymsg(args)
            .unwrap_or_else(|e| self.fail(&format!("swaymsg: {e}")));
        if !args.contains(&"-t") {
            let v: Value = serde_json::from_str(&out).unwrap_or(Value::Null);
            let ok = v
                .as_array()
                .is_some_and(|a| a.iter().all(|r| r["success"] == true));
            if !ok {
                self.fail(&format!("swaymsg {args:?} did not succeed: {out}"));
            }
        }
        out
    }

    fn query(&self, what: &str) -> Value {
        let out = self.swaymsg(&["-t", what]);
        serde_json::from_str(&out)
            .unwrap_or_else(|e| self.fail(&format!("swaymsg -t {what}: bad JSON ({e}): {out}")))
    }

    pub fn get_tree(&self) -> Value {
        self.query("get_tree")
    }

    pub fn get_outputs(&self) -> Value {
        self.query("get_outputs")
    }

    pub fn get_workspaces(&self) -> Value {
        self.query("get_workspaces")
    }

    /// The output called `name` from `get_outputs`, if present.
    pub fn output(&self, name: &str) -> Option<Value> {
        self.get_outputs()
            .as_array()?
            .iter()
            .find(|o| o["name"] == name)
            .cloned()
    }

    /// The area windows get on output `name`: the `rect` of its visible
    /// workspace, which Sway shrinks by the layer surfaces' exclusive zones.
    pub fn usable_area(&self, name: &str) -> Option<Rect> {
        self.get_workspaces()
            .as_array()?
            .iter()
            .find(|w| w["output"] == name && w["visible"] == true)
            .map(|w| Rect::from_json(&w["rect"]))
    }

    /// A screenshot of output `name` at its physical resolution.
    pub fn try_screenshot(&self, name: &str) -> Result<Image, String> {
        let out = run(
            self.client("grim").args(["-t", "ppm", "-o", name, "-"]),
            CALL_TIMEOUT,
        )?;
        if !out.status.success() {
            return Err(format!(
                "grim -o {name} failed ({}): {}",
                out.status, out.stderr
            ));
        }
        Image::from_ppm(&out.stdout)
    }

    pub fn screenshot(&self, name: &str) -> Image {
        self.try_screenshot(name)
            .unwrap_or_else(|e| self.fail(&format!("screenshot: {e}")))
    }

    /// Writes a PNG of the layout region `x,y w×h` with grim's own encoder.
    pub fn screenshot_png(&self, geometry: &str, path: &Path) -> Result<(), String> {
        let out = run(
            self.client("grim")
                .args(["-t", "png", "-g", geometry])
                .arg(path),
            CALL_TIMEOUT,
        )?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!("grim -g {geometry} failed: {}", out.stderr))
        }
    }

    /// Sends `signal` to Sway and waits (up to 5 s) until it is gone.
    pub fn kill(&mut self, signal: i32) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        // SAFETY: plain kill(2) on the pid of a child we have not reaped yet.
        unsafe { libc::kill(child.id() as i32, signal) };
        if wait_for(Duration::from_secs(5), || child.try_wait().ok().flatten()).is_none() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for HeadlessSway {
    fn drop(&mut self) {
        self.kill(libc::SIGTERM);
        // SAFETY: plain kill(2). The group Sway led keeps its id while any
        // member lives, so this reaches exactly what Sway spawned into it
        // (swaybg, exec'd programs); with no member left it is ESRCH.
        unsafe { libc::kill(-self.pgid, libc::SIGKILL) };
        if std::env::var_os("RSTAT_E2E_KEEP").is_none() {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

/// Removes runtime dirs left by test processes that were killed outright
/// (their compositors died with them, see `die_with_parent`; their
/// directories could not be cleaned up).
fn sweep_stale_dirs() {
    let Ok(entries) = fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(pid) = name
            .strip_prefix("rstat-e2e-")
            .and_then(|rest| rest.split('-').next())
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        if !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = fs::remove_dir_all(e.path());
        }
    }
}

/// A rectangle from Sway's JSON (`rect`, in layout coordinates).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rect {
    pub x: i64,
    pub y: i64,
    pub width: i64,
    pub height: i64,
}

impl Rect {
    pub fn from_json(v: &Value) -> Rect {
        let f = |k: &str| v[k].as_i64().unwrap_or(-1);
        Rect {
            x: f("x"),
            y: f("y"),
            width: f("width"),
            height: f("height"),
        }
    }
}

/// Every node of a `get_tree` answer, depth first (tiled and floating).
pub fn tree_nodes(tree: &Value) -> Vec<&Value> {
    let mut all = Vec::new();
    let mut stack = vec![tree];
    while let Some(n) = stack.pop() {
        all.push(n);
        for key in ["nodes", "floating_nodes"] {
            if let Some(children) = n[key].as_array() {
                stack.extend(children.iter());
            }
        }
    }
    all
}

const IPC_MAGIC: &[u8; 6] = b"i3-ipc";
pub const IPC_COMMAND: u32 = 0;
pub const IPC_GET_WORKSPACES: u32 = 1;
pub const IPC_GET_OUTPUTS: u32 = 3;
pub const IPC_GET_TREE: u32 = 4;
pub const IPC_GET_SEATS: u32 = 101;

/// Kept minimal: no bar (the bar is what is under test), no borders or gaps
/// (so window geometry shows the exclusive zone alone), no wallpaper program
/// (the background is Sway's flat clear colour), no Xwayland.
const BASE_CONFIG: &str = "\
xwayland disable
swaybg_command -
default_border none
default_floating_border none
focus_follows_mouse no
";
