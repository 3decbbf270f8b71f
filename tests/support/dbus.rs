//! A private D-Bus session bus per test: a real `dbus-daemon` in its own
//! directory, as the unprivileged uid 65534 when the test runs as root (its
//! policy lets the root test and the clients it starts connect).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use super::proc::{wait_for, Guarded};

/// A running private bus; killed on drop.
pub struct PrivateBus {
    dir: PathBuf,
    daemon: Guarded,
    /// Its `unix:path=…` address (`DBUS_SESSION_BUS_ADDRESS` for clients).
    pub address: String,
}

const CONFIG: &str = r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>LISTEN</listen>
  <auth>EXTERNAL</auth>
  <!-- As the stock session.conf: big messages (a hostile 64 MiB pixmap) pass. -->
  <limit name="max_incoming_bytes">1000000000</limit>
  <limit name="max_outgoing_bytes">1000000000</limit>
  <limit name="max_message_size">1000000000</limit>
  <limit name="max_replies_per_connection">50000</limit>
  <limit name="max_match_rules_per_connection">50000</limit>
  <policy context="default">
    <allow user="*"/>
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"#;

impl PrivateBus {
    /// Starts one; `None` when `dbus-daemon` is not installed.
    pub fn start(tag: &str) -> Option<PrivateBus> {
        let on_path = std::env::var_os("PATH")
            .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join("dbus-daemon").is_file()));
        if !on_path {
            return None;
        }
        // Tests of one binary run in parallel and may share a tag: the
        // counter keeps one bus from removing another's directory.
        static STARTED: AtomicU32 = AtomicU32::new(0);
        let n = STARTED.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("rstat-dbus-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("private bus directory");
        let sock = dir.join("bus");
        let address = format!("unix:path={}", sock.display());
        let conf = dir.join("bus.conf");
        std::fs::write(&conf, CONFIG.replace("LISTEN", &address)).expect("bus config");
        // SAFETY: geteuid(2) cannot fail.
        let root = unsafe { libc::geteuid() } == 0;
        let mut cmd = if root {
            // SAFETY: chown(2) on our own fresh directory; the result only
            // decides whether the daemon can create its socket there.
            let c = std::ffi::CString::new(dir.as_os_str().as_encoded_bytes()).expect("path");
            unsafe { libc::chown(c.as_ptr(), 65534, 65534) };
            let mut c = Command::new("setpriv");
            c.args([
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                "dbus-daemon",
            ]);
            c
        } else {
            Command::new("dbus-daemon")
        };
        cmd.arg(format!("--config-file={}", conf.display()))
            .arg("--nofork")
            .arg("--nopidfile");
        let daemon = Guarded::spawn("dbus-daemon", &mut cmd, &dir.join("daemon.stderr"));
        if wait_for(Duration::from_secs(5), || sock.exists().then_some(())).is_none() {
            panic!(
                "dbus-daemon did not create {}: {}",
                sock.display(),
                daemon.stderr()
            );
        }
        Some(PrivateBus {
            dir,
            daemon,
            address,
        })
    }

    /// Its directory (logs, scratch files of the test).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Kills the daemon (the bus goes away under its clients).
    pub fn kill(&mut self) {
        self.daemon.signal(libc::SIGKILL);
        let _ = self.daemon.wait_exit(Duration::from_secs(5));
    }
}

impl Drop for PrivateBus {
    fn drop(&mut self) {
        self.kill();
        if std::env::var_os("RSTAT_E2E_KEEP").is_none() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}
