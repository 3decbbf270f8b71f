//! Real sound servers for the audio tests, from Debian's packages, each in
//! its own runtime directory as an unprivileged uid (`nobody`) with a null
//! sink: PulseAudio (`pulseaudio -n -F script`: module-null-sink and
//! module-native-protocol-unix, nothing else), or PipeWire with WirePlumber
//! and pipewire-pulse (and a private session bus, which WirePlumber needs).
//! Everything started is killed on drop.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use super::proc::{run, wait_for};

/// The uid the servers run as.
pub const UID: u32 = 65534;

/// Which server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavour {
    PulseAudio,
    PipeWire,
}

impl Flavour {
    /// The programs it needs.
    pub fn programs(self) -> &'static [&'static str] {
        match self {
            Flavour::PulseAudio => &["pulseaudio", "pactl"],
            Flavour::PipeWire => &[
                "pipewire",
                "wireplumber",
                "pipewire-pulse",
                "dbus-daemon",
                "pactl",
                "wpctl",
            ],
        }
    }
}

static N: AtomicUsize = AtomicUsize::new(0);

/// One running server.
pub struct SoundServer {
    pub flavour: Flavour,
    /// Its `XDG_RUNTIME_DIR` (and `HOME` below it), owned by [`UID`].
    pub dir: PathBuf,
    children: Vec<Child>,
}

const PIPEWIRE_NULL_SINK: &str = r#"context.objects = [
    { factory = adapter
      args = {
        factory.name     = support.null-audio-sink
        node.name        = "null1"
        node.description = "Null1"
        media.class      = Audio/Sink
        audio.position   = [ FL FR ]
        monitor.channel-volumes = true
      }
    }
]
"#;

fn chown_all(p: &Path) {
    std::os::unix::fs::chown(p, Some(UID), Some(UID))
        .unwrap_or_else(|e| panic!("chown {}: {e}", p.display()));
}

impl SoundServer {
    /// A new server in a fresh directory.
    pub fn start(flavour: Flavour) -> SoundServer {
        let n = N.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("rstat-sound-{}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        Self::start_in(flavour, &dir)
    }

    /// A server in `dir` (a directory a killed server used: the same
    /// socket path, as a restarted server has).
    pub fn start_in(flavour: Flavour, dir: &Path) -> SoundServer {
        let home = dir.join("home");
        let cfg = home.join(".config");
        fs::create_dir_all(cfg.join("pipewire/pipewire.conf.d"))
            .unwrap_or_else(|e| panic!("create {}: {e}", cfg.display()));
        fs::write(
            cfg.join("pipewire/pipewire.conf.d/null.conf"),
            PIPEWIRE_NULL_SINK,
        )
        .expect("write the null-sink drop-in");
        let script = dir.join("default.pa");
        fs::write(
            &script,
            "load-module module-null-sink sink_name=null1 sink_properties=device.description=Null1\n\
             load-module module-native-protocol-unix\n",
        )
        .expect("write default.pa");
        for p in [
            dir.to_path_buf(),
            home.clone(),
            cfg.clone(),
            cfg.join("pipewire"),
            cfg.join("pipewire/pipewire.conf.d"),
            cfg.join("pipewire/pipewire.conf.d/null.conf"),
            script.clone(),
        ] {
            chown_all(&p);
        }
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).expect("chmod runtime dir");
        let mut s = SoundServer {
            flavour,
            dir: dir.to_path_buf(),
            children: Vec::new(),
        };
        match flavour {
            Flavour::PulseAudio => {
                s.spawn(
                    "pulseaudio",
                    &[
                        "--daemonize=no",
                        "-n",
                        "-F",
                        &script.to_string_lossy(),
                        "--exit-idle-time=-1",
                        "--log-target=stderr",
                    ],
                );
            }
            Flavour::PipeWire => {
                let bus = format!("unix:path={}", dir.join("bus").display());
                s.spawn(
                    "dbus-daemon",
                    &[
                        "--session",
                        &format!("--address={bus}"),
                        "--nofork",
                        "--nopidfile",
                    ],
                );
                wait_for(Duration::from_secs(10), || {
                    dir.join("bus").exists().then_some(())
                });
                s.spawn("pipewire", &[]);
                wait_for(Duration::from_secs(10), || {
                    dir.join("pipewire-0").exists().then_some(())
                });
                s.spawn("wireplumber", &[]);
                s.spawn("pipewire-pulse", &[]);
            }
        }
        let sock = s.socket();
        if wait_for(Duration::from_secs(20), || sock.exists().then_some(())).is_none() {
            s.fail("no socket pulse/native");
        }
        // The bar drops its capabilities when started as root (DESIGN.md):
        // it must reach the server as it would its own user's.
        for (p, mode) in [
            (dir.to_path_buf(), 0o711),
            (dir.join("pulse"), 0o711),
            (home.clone(), 0o711),
            (cfg.clone(), 0o711),
        ] {
            let _ = fs::set_permissions(&p, fs::Permissions::from_mode(mode));
        }
        let ready = wait_for(Duration::from_secs(20), || {
            let info = s.pactl(&["info"]).ok()?;
            info.contains("Default Sink: null1").then_some(())
        });
        if ready.is_none() {
            s.fail("the server did not report null1 as its default sink");
        }
        if let Some(c) = s.cookie() {
            let _ = fs::set_permissions(cfg.join("pulse"), fs::Permissions::from_mode(0o711));
            let _ = fs::set_permissions(&c, fs::Permissions::from_mode(0o644));
        }
        s
    }

    fn spawn(&mut self, program: &str, args: &[&str]) {
        let home = self.dir.join("home");
        let log = fs::File::create(self.dir.join(format!("{program}.log")))
            .unwrap_or_else(|e| panic!("log for {program}: {e}"));
        let err = log.try_clone().expect("dup log");
        let mut cmd = Command::new(program);
        cmd.args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &home)
            .env("XDG_RUNTIME_DIR", &self.dir)
            .env("XDG_CONFIG_HOME", home.join(".config"))
            .env("XDG_STATE_HOME", home.join(".state"))
            .env(
                "DBUS_SESSION_BUS_ADDRESS",
                format!("unix:path={}", self.dir.join("bus").display()),
            )
            .current_dir(&self.dir)
            .uid(UID)
            .gid(UID)
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(err);
        super::proc::die_with_parent(&mut cmd);
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {program}: {e}"));
        self.children.push(child);
    }

    /// Panics with `msg` and the servers' logs.
    pub fn fail(&self, msg: &str) -> ! {
        let mut logs = String::new();
        for e in fs::read_dir(&self.dir).into_iter().flatten().flatten() {
            let p = e.path();
            if p.extension().is_some_and(|x| x == "log") {
                let t = fs::read_to_string(&p).unwrap_or_default();
                let tail: Vec<&str> = t.lines().rev().take(15).collect();
                logs.push_str(&format!("--- {} ---\n", p.display()));
                for l in tail.iter().rev() {
                    logs.push_str(l);
                    logs.push('\n');
                }
            }
        }
        panic!("{:?}: {msg}\n{logs}", self.flavour);
    }

    /// The native-protocol socket.
    pub fn socket(&self) -> PathBuf {
        self.dir.join("pulse/native")
    }

    /// PulseAudio's cookie file (pipewire-pulse writes none and checks none).
    pub fn cookie(&self) -> Option<PathBuf> {
        let c = self.dir.join("home/.config/pulse/cookie");
        c.exists().then_some(c)
    }

    /// What a client of this server needs in its environment.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        let mut v = vec![("PULSE_SERVER", format!("unix:{}", self.socket().display()))];
        if let Some(c) = self.cookie() {
            v.push(("PULSE_COOKIE", c.display().to_string()));
        }
        v
    }

    /// Runs `pactl ARGS` against it (as root, with its cookie).
    pub fn pactl(&self, args: &[&str]) -> Result<String, String> {
        let mut cmd = Command::new("pactl");
        cmd.args(args).env("HOME", self.dir.join("home"));
        for (k, v) in self.env() {
            cmd.env(k, v);
        }
        let out = run(&mut cmd, Duration::from_secs(10))?;
        if !out.status.success() {
            return Err(format!("pactl {args:?}: {}", out.stderr.trim()));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Runs `wpctl ARGS` against PipeWire itself (not through the pulse
    /// server).
    pub fn wpctl(&self, args: &[&str]) -> Result<String, String> {
        let mut cmd = Command::new("wpctl");
        cmd.args(args).env("XDG_RUNTIME_DIR", &self.dir);
        let out = run(&mut cmd, Duration::from_secs(10))?;
        if !out.status.success() {
            return Err(format!("wpctl {args:?}: {}", out.stderr.trim()));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// The default sink's volume as `pactl get-sink-volume` prints it (the
    /// first channel's percentage).
    pub fn volume(&self) -> u32 {
        let out = self
            .pactl(&["get-sink-volume", "@DEFAULT_SINK@"])
            .unwrap_or_else(|e| self.fail(&e));
        out.split('/')
            .nth(1)
            .and_then(|p| p.trim().trim_end_matches('%').trim().parse().ok())
            .unwrap_or_else(|| self.fail(&format!("get-sink-volume printed {out:?}")))
    }

    /// Whether `pactl get-sink-mute` says the default sink is muted.
    pub fn muted(&self) -> bool {
        let out = self
            .pactl(&["get-sink-mute", "@DEFAULT_SINK@"])
            .unwrap_or_else(|e| self.fail(&e));
        out.contains("yes")
    }

    /// Kills it and starts the same server again on the same socket path.
    pub fn restart(&mut self) {
        self.kill();
        let fresh = SoundServer::start_in(self.flavour, &self.dir.clone());
        // The old value owns the same directory: it must not remove it.
        std::mem::forget(std::mem::replace(self, fresh));
    }

    /// Kills every process of it (SIGKILL: a crash), leaving the directory.
    pub fn kill(&mut self) {
        for c in &mut self.children {
            // SAFETY: kill(2) on the process group of our own child.
            unsafe { libc::kill(-(c.id() as i32), libc::SIGKILL) };
            let _ = c.wait();
        }
        self.children.clear();
        let _ = fs::remove_file(self.socket());
    }
}

impl Drop for SoundServer {
    fn drop(&mut self) {
        self.kill();
        if std::env::var_os("RSTAT_E2E_KEEP").is_none() {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}
