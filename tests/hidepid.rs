//! A `/proc` mounted `hidepid=2` hides other users' processes; a setcap'd
//! rstat reads every task through BPF, and must show a user no more than
//! `/proc` would. Real kernel, real mount namespace (`unshare -m`), a real
//! setcap'd copy run as nobody beside a root process burning CPU.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// A directory every user can traverse holding the setcap'd copy and the
/// burner (a copy of `yes` under a name nothing else has).
struct Dir(PathBuf);

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

struct Burner(Child);

impl Drop for Burner {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

const BURNER: &str = "hpburnroot";

fn setcap() -> Option<String> {
    if common::have("setcap") {
        Some("setcap".into())
    } else if Path::new("/usr/sbin/setcap").exists() {
        Some("/usr/sbin/setcap".into())
    } else {
        None
    }
}

/// `rstat --once --collector COLLECTOR` as nobody in a new mount namespace
/// whose `/proc` is mounted with `opts`.
fn run(bin: &Path, collector: &str, opts: &str) -> serde_json::Value {
    let script = format!(
        "mount -t proc -o {opts} proc /proc && exec setpriv --reuid=65534 --regid=65534 \
         --clear-groups {} --once --collector {collector} --interval-ms 400",
        bin.display()
    );
    let out = Command::new("unshare")
        .args(["-m", "--propagation", "private", "sh", "-c", &script])
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .env("HOME", "/nonexistent")
        .output()
        .expect("running unshare");
    assert!(
        out.status.success(),
        "{collector} with {opts}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(v["collector"], collector, "{v}");
    v
}

fn names(v: &serde_json::Value) -> Vec<String> {
    ["top_cpu", "top_mem", "top_io"]
        .iter()
        .flat_map(|k| v[k].as_array().cloned().unwrap_or_default())
        .filter_map(|p| p["name"].as_str().map(str::to_string))
        .collect()
}

#[test]
fn hidepid_hides_other_users_tasks_from_the_bpf_collectors() {
    let Some(setcap) = setcap() else {
        common::need(false, "needs setcap (apt-get install libcap2-bin)");
        return;
    };
    if !common::need(
        common::is_root(),
        "needs root to setcap, mount and switch users",
    ) || !common::need(
        common::have("unshare") && common::have("setpriv"),
        "needs unshare and setpriv (util-linux)",
    ) || !common::need(
        rstat::collect::bpf::open_iter().is_ok() && rstat::collect::bpf::open().is_ok(),
        "needs a kernel that loads the BPF collectors",
    ) {
        return;
    }
    let dir = Dir(std::env::temp_dir().join(format!("rstat-hidepid-{}", std::process::id())));
    let _ = std::fs::remove_dir_all(&dir.0);
    std::fs::create_dir_all(&dir.0).expect("creating the test directory");
    std::fs::set_permissions(&dir.0, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let bin = dir.0.join("rstat");
    std::fs::copy(common::rstat_bin(), &bin).expect("copying rstat");
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let out = Command::new(&setcap)
        .arg("cap_bpf,cap_perfmon+ep")
        .arg(&bin)
        .output()
        .expect("running setcap");
    assert!(
        out.status.success(),
        "setcap: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let burn = dir.0.join(BURNER);
    std::fs::copy("/usr/bin/yes", &burn).expect("copying yes");
    // Raised priority so it makes the top-CPU list on a loaded machine
    // when nothing hides it.
    let _burner = Burner(
        Command::new("nice")
            .args(["-n", "-15"])
            .arg(&burn)
            .stdout(Stdio::null())
            .spawn()
            .expect("starting the burner"),
    );
    std::thread::sleep(std::time::Duration::from_millis(200));

    for collector in ["iter", "bpf"] {
        let hidden = run(&bin, collector, "hidepid=2");
        let shown = run(&bin, collector, "hidepid=0");
        let hidden_tasks = hidden["tasks"].as_u64().unwrap_or(u64::MAX);
        let shown_tasks = shown["tasks"].as_u64().unwrap_or(0);
        assert!(
            !names(&hidden).iter().any(|n| n == BURNER),
            "{collector}: root's burner shown through hidepid=2: {hidden}"
        );
        // Nobody's own processes only: rstat itself and the few others
        // running as nobody, far fewer than the whole machine.
        assert!(
            (1..20).contains(&hidden_tasks) && hidden_tasks * 3 < shown_tasks,
            "{collector}: tasks {hidden_tasks} with hidepid=2, {shown_tasks} without"
        );
        assert!(
            names(&shown).iter().any(|n| n == BURNER),
            "{collector}: root's burner missing without hidepid: {shown}"
        );
    }
}
