//! Sensor discovery and reading against fixture sysfs trees laid out like
//! real machines (this VM has no hwmon, GPU or platform profile).

mod common;

use std::fs;
use std::process::Command;
use std::time::{Duration, Instant};

use rstat::collect::sysfs::SensorSet;
use rstat::collect::system::Needs;
use rstat::collect::Sensors;
use rstat::modules::Modules;

use common::fixture::Tree;

/// A ThinkPad-like Intel laptop: acpitz + coretemp hwmons, thermal zones,
/// two CPUs with cpufreq, i915 with per-GT files and throttle reasons, and a
/// platform profile. Names and value formats as the kernel writes them.
fn intel_laptop() -> Tree {
    let t = Tree::new("intel");
    t.put("sys/class/hwmon/hwmon0/name", "acpitz\n");
    t.put("sys/class/hwmon/hwmon0/temp1_input", "30000\n");
    t.put("sys/class/hwmon/hwmon4/name", "coretemp\n");
    t.put("sys/class/hwmon/hwmon4/temp1_label", "Package id 0\n");
    t.put("sys/class/hwmon/hwmon4/temp1_input", "52000\n");
    t.put("sys/class/hwmon/hwmon4/temp2_label", "Core 0\n");
    t.put("sys/class/hwmon/hwmon4/temp2_input", "49000\n");
    t.put("sys/class/thermal/thermal_zone0/type", "acpitz\n");
    t.put("sys/class/thermal/thermal_zone0/temp", "27800\n");
    t.put("sys/class/thermal/thermal_zone7/type", "x86_pkg_temp\n");
    t.put("sys/class/thermal/thermal_zone7/temp", "53000\n");
    for (cpu, cur) in [(0, "1800000"), (1, "2200000")] {
        t.put(
            &format!("sys/devices/system/cpu/cpu{cpu}/cpufreq/scaling_cur_freq"),
            &format!("{cur}\n"),
        );
        t.put(
            &format!("sys/devices/system/cpu/cpu{cpu}/cpufreq/cpuinfo_max_freq"),
            "4700000\n",
        );
        t.put(
            &format!("sys/devices/system/cpu/cpu{cpu}/cpufreq/scaling_max_freq"),
            "4700000\n",
        );
    }
    t.put("sys/devices/system/cpu/online", "0-1\n");
    // The connector directory must not be mistaken for a card.
    t.put("sys/class/drm/card1-eDP-1/status", "connected\n");
    let gt = "sys/class/drm/card1/gt/gt0";
    t.put(&format!("{gt}/rc6_residency_ms"), "1000\n");
    t.put(&format!("{gt}/rps_act_freq_mhz"), "1300\n");
    t.put(&format!("{gt}/rps_cur_freq_mhz"), "1300\n");
    t.put(&format!("{gt}/rps_max_freq_mhz"), "1500\n");
    t.put(&format!("{gt}/rps_min_freq_mhz"), "100\n");
    t.put(&format!("{gt}/throttle_reason_status"), "1\n");
    t.put(&format!("{gt}/throttle_reason_pl1"), "1\n");
    t.put(&format!("{gt}/throttle_reason_pl2"), "0\n");
    t.put(&format!("{gt}/throttle_reason_pl4"), "0\n");
    t.put(&format!("{gt}/throttle_reason_thermal"), "1\n");
    t.put(&format!("{gt}/throttle_reason_prochot"), "0\n");
    t.put("sys/firmware/acpi/platform_profile", "balanced\n");
    t.put(
        "sys/firmware/acpi/platform_profile_choices",
        "low-power balanced performance\n",
    );
    t
}

/// A Ryzen laptop: k10temp with Tctl/Tccd labels, amdgpu with its own busy
/// percentage and DPM levels, no platform profile.
fn amd_laptop() -> Tree {
    let t = Tree::new("amd");
    t.put("sys/class/hwmon/hwmon2/name", "nvme\n");
    t.put("sys/class/hwmon/hwmon2/temp1_input", "38850\n");
    t.put("sys/class/hwmon/hwmon3/name", "k10temp\n");
    t.put("sys/class/hwmon/hwmon3/temp1_label", "Tctl\n");
    t.put("sys/class/hwmon/hwmon3/temp1_input", "61250\n");
    t.put("sys/class/hwmon/hwmon3/temp3_label", "Tccd1\n");
    t.put("sys/class/hwmon/hwmon3/temp3_input", "58000\n");
    t.put("sys/class/thermal/thermal_zone0/type", "acpitz\n");
    t.put("sys/class/thermal/thermal_zone0/temp", "40000\n");
    t.put(
        "sys/devices/system/cpu/cpu0/cpufreq/scaling_cur_freq",
        "3000000\n",
    );
    t.put(
        "sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq",
        "4950000\n",
    );
    t.put("sys/class/drm/card0/device/gpu_busy_percent", "37\n");
    t.put(
        "sys/class/drm/card0/device/pp_dpm_sclk",
        "0: 200Mhz \n1: 1100Mhz *\n2: 2200Mhz \n",
    );
    t
}

fn read(set: &mut SensorSet) -> Sensors {
    let mut s = Sensors::default();
    set.read(Instant::now(), Needs::ALL, &mut s);
    s
}

/// What the bar's modules made of `toml` ask the sampler to read.
fn needs_of(toml: &str) -> Needs {
    let cfg =
        rstat::modules::registry::parse(toml, "test.toml", None).unwrap_or_else(|e| panic!("{e}"));
    Modules::from_config(&cfg, Instant::now()).sample_needs()
}

/// Sensor files read by three samples of a bar made of `toml` on the Intel
/// laptop, and the sensors those samples left.
fn reads_for(toml: &str) -> (u64, Sensors) {
    let t = intel_laptop();
    let mut set = SensorSet::discover(&t.sys());
    let needs = needs_of(toml);
    let mut s = Sensors::default();
    for _ in 0..3 {
        set.read(Instant::now(), needs, &mut s);
    }
    (set.reads(), s)
}

#[test]
fn sensors_nobody_shows_are_not_read() {
    // Everything: a temperature, two CPUs' frequencies, the GPU's busy,
    // current and highest frequency, the platform profile and five
    // throttle reasons: twelve files a sample.
    let t = intel_laptop();
    let mut set = SensorSet::discover(&t.sys());
    read(&mut set);
    assert_eq!(set.reads(), 12);

    // The benchmark's bar (clock, CPU, memory) shows no sensor: none read.
    let (n, s) = reads_for(
        "[bar]\nleft = [\"cpu\", \"memory\"]\nright = [\"clock\"]\n\
         [module.cpu]\nformat = \"cpu {usage:>3.0}%\"\n\
         [module.memory]\nformat = \"mem {mem_percent:>3.0}%\"\n",
    );
    assert_eq!(n, 0, "no sensor shown, none read");
    assert_eq!(
        (s.cpu_temp_c, s.cpu_freq_mhz, s.gpu_freq_mhz),
        (None, None, None)
    );
    // The highest frequency is read once, at discovery: still shown.
    assert_eq!(s.cpu_freq_max_mhz, Some(4700));
    let (n, _) = reads_for("[bar]\nleft = [\"cpu\"]\n[module.cpu]\nformat = \"{freq_max_mhz}\"\nwarning = {}\ncritical = {}\n");
    assert_eq!(n, 0, "freq_max_mhz needs no read");

    // Each sensor read where something shows it: a format, a state's
    // format, a tooltip, a threshold.
    let cases: [(&str, u64); 7] = [
        ("[bar]\nleft = [\"temperature\"]\n", 1),
        (
            "[bar]\nleft = [\"cpu\"]\n[module.cpu]\nformat = \"x\"\ntooltip_format = \"{freq_ghz:.1}\"\nwarning = {}\ncritical = {}\n",
            2,
        ),
        ("[bar]\nleft = [\"gpu\"]\n[module.gpu]\nformat = \"x\"\nformat_warning = \"{gpu_freq_mhz}\"\n", 3),
        ("[bar]\nleft = [\"cpu\"]\n[module.cpu]\nformat = \"x\"\nwarning = { temp = 80 }\ncritical = {}\n", 1),
        ("[bar]\nleft = [\"cpu\"]\n[module.cpu]\nformat = \"{power_profile}\"\nwarning = {}\ncritical = {}\n", 1),
        ("[bar]\nleft = [\"cpu\"]\n[module.cpu]\nformat = \"{throttle}\"\nwarning = {}\ncritical = {}\n", 5),
        ("[bar]\nleft = [\"health\"]\n", 1),
    ];
    for (toml, per_sample) in cases {
        let (n, _) = reads_for(toml);
        assert_eq!(n, 3 * per_sample, "{toml}");
    }
    let (_, s) = reads_for("[bar]\nleft = [\"temperature\"]\n");
    assert_eq!(s.cpu_temp_c, Some(52.0));
}

#[test]
fn intel_laptop_sensors() {
    let t = intel_laptop();
    let mut set = SensorSet::discover(&t.sys());
    let s = read(&mut set);
    assert_eq!(
        s.cpu_temp_c,
        Some(52.0),
        "coretemp package wins over acpitz and zones"
    );
    assert_eq!(s.cpu_freq_mhz, Some(2000), "mean of 1800 and 2200 MHz");
    assert_eq!(s.cpu_freq_max_mhz, Some(4700));
    assert_eq!(s.gpu_freq_mhz, Some(1300));
    assert_eq!(s.gpu_freq_max_mhz, Some(1500));
    assert_eq!(s.gpu_busy_percent, None, "RC6 busy needs two readings");
    assert_eq!(
        s.power_profile.map(|p| p.as_str().to_owned()).as_deref(),
        Some("balanced")
    );
    let reasons: Vec<&str> = s.throttle.as_slice().iter().map(|r| r.as_str()).collect();
    assert_eq!(reasons, ["pl1", "thermal"]);

    // 100 ms of RC6 in ~200 ms of wall time: about half busy.
    std::thread::sleep(Duration::from_millis(200));
    t.put("sys/class/drm/card1/gt/gt0/rc6_residency_ms", "1100\n");
    let busy = read(&mut set)
        .gpu_busy_percent
        .expect("busy after two readings");
    assert!((40.0..=60.0).contains(&busy), "busy {busy}");
}

#[test]
fn intel_without_hwmon_uses_the_pkg_thermal_zone() {
    let t = intel_laptop();
    fs::remove_dir_all(t.sys().join("class/hwmon/hwmon4")).unwrap();
    assert_eq!(
        read(&mut SensorSet::discover(&t.sys())).cpu_temp_c,
        Some(53.0)
    );
    fs::remove_dir_all(t.sys().join("class/thermal/thermal_zone7")).unwrap();
    assert_eq!(
        read(&mut SensorSet::discover(&t.sys())).cpu_temp_c,
        Some(27.8)
    );
}

#[test]
fn amd_laptop_sensors() {
    let t = amd_laptop();
    let s = read(&mut SensorSet::discover(&t.sys()));
    assert_eq!(s.cpu_temp_c, Some(61.25), "k10temp Tctl, not nvme");
    assert_eq!(s.cpu_freq_mhz, Some(3000));
    assert_eq!(s.cpu_freq_max_mhz, Some(4950));
    assert_eq!(s.gpu_busy_percent, Some(37.0));
    assert_eq!(s.gpu_freq_mhz, Some(1100));
    assert_eq!(s.gpu_freq_max_mhz, Some(2200));
    assert_eq!(s.power_profile, None);
    assert!(s.throttle.as_slice().is_empty());
}

#[test]
fn an_empty_tree_has_no_sensors() {
    let t = Tree::new("empty");
    let s = read(&mut SensorSet::discover(&t.sys()));
    assert_eq!(s, Sensors::default());
}

#[test]
fn sensors_that_vanish_or_turn_odd_do_not_break_a_tick() {
    let t = amd_laptop();
    let mut set = SensorSet::discover(&t.sys());
    assert!(read(&mut set).cpu_temp_c.is_some());
    // A driver going away leaves empty or garbage reads behind the kept fds.
    fs::write(t.sys().join("class/hwmon/hwmon3/temp1_input"), "").unwrap();
    fs::write(
        t.sys().join("class/drm/card0/device/gpu_busy_percent"),
        "N/A\n",
    )
    .unwrap();
    fs::write(
        t.sys().join("class/drm/card0/device/pp_dpm_sclk"),
        "\u{0}\u{ff}junk",
    )
    .unwrap();
    fs::remove_dir_all(t.sys().join("devices")).unwrap();
    let s = read(&mut set);
    assert_eq!(s.cpu_temp_c, None);
    assert_eq!(s.gpu_busy_percent, None);
    assert_eq!((s.gpu_freq_mhz, s.gpu_freq_max_mhz), (None, None));
    // The deleted cpufreq file still reads through its kept descriptor.
    assert_eq!(s.cpu_freq_mhz, Some(3000));
    // And when the values come back, so do the readings.
    fs::write(t.sys().join("class/hwmon/hwmon3/temp1_input"), "70000\n").unwrap();
    assert_eq!(read(&mut set).cpu_temp_c, Some(70.0));
}

#[test]
fn once_with_a_fixture_root_reports_its_sensors() {
    let t = intel_laptop();
    std::os::unix::fs::symlink("/proc", t.0.join("proc")).unwrap();
    let out = Command::new(common::rstat_bin())
        .args([
            "--once",
            "--collector",
            "procfs",
            "--interval-ms",
            "50",
            "--root",
        ])
        .arg(&t.0)
        .output()
        .expect("running rstat");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(v["cpu_temp_c"].as_f64(), Some(52.0));
    assert_eq!(v["cpu_freq_mhz"].as_u64(), Some(2000));
    assert_eq!(v["gpu_freq_max_mhz"].as_u64(), Some(1500));
    assert_eq!(v["power_profile"], "balanced");
    assert_eq!(v["throttle"], serde_json::json!(["pl1", "thermal"]));
    // RC6 did not advance while 50 ms passed: the GPU was fully busy.
    assert_eq!(v["gpu_busy_percent"].as_f64(), Some(100.0));
}
