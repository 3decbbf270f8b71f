//! Hardware sensors, discovered once under a sysfs root and read with `pread`.
//!
//! Discovery (start-up) may allocate and walk directories; a tick only
//! `pread`s descriptors kept open. A sensor that is absent stays `None`; one
//! that fails to read on a tick (a driver unloaded, a device gone) is `None`
//! for that tick and does not disturb the others.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::time::Instant;

use super::parse::{i64_prefix, u64_prefix};
use super::sample::ShortStr;
use super::system::{pread_start, Needs};
use super::Sensors;

/// How a GPU reports how busy it is.
enum GpuBusy {
    /// i915 / xe: milliseconds spent idle (RC6 / gtidle); busy is the share of
    /// wall time not spent there, so it needs two readings.
    IdleResidencyMs {
        file: File,
        prev: Option<(u64, Instant)>,
        /// The last figure, shown again by the baseline reading after a
        /// sleep ([`SensorSet::forget_rates`]).
        last: Option<f32>,
    },
    /// amdgpu: the driver computes the percentage itself.
    Percent(File),
}

/// How a GPU reports a frequency.
enum Freq {
    /// A file holding MHz (i915 `rps_*_freq_mhz`, xe `freq0/*_freq`).
    Mhz(File),
    /// amdgpu `pp_dpm_sclk`: one `N: 1800Mhz` line per level, the current one
    /// marked `*`.
    AmdDpm { file: File, max: bool },
}

struct Gpu {
    busy: Option<GpuBusy>,
    cur: Option<Freq>,
    max: Option<Freq>,
}

struct ThrottleFile {
    file: File,
    name: ShortStr,
}

/// The sensors this machine has, with their files kept open.
pub struct SensorSet {
    cpu_temp: Option<File>,
    cpu_freq: Vec<File>,
    cpu_freq_max_mhz: Option<u32>,
    gpu: Option<Gpu>,
    platform_profile: Option<File>,
    throttle: Vec<ThrottleFile>,
    rd: Reader,
}

/// One buffer for every sensor read, and the count of reads.
struct Reader {
    buf: [u8; 512],
    reads: u64,
}

impl Reader {
    fn read(&mut self, f: &File) -> Option<&[u8]> {
        self.reads += 1;
        pread_start(f, &mut self.buf).ok()
    }
}

fn open(p: &Path) -> Option<File> {
    File::open(p).ok()
}

fn read_small(p: &Path) -> Option<String> {
    fs::read_to_string(p).ok().map(|s| s.trim().to_string())
}

/// Directory entries of `dir` whose names start with `prefix`, sorted by the
/// number that follows (hwmon2 before hwmon10).
fn numbered(dir: &Path, prefix: &str) -> Vec<PathBuf> {
    let mut v: Vec<(u64, PathBuf)> = fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name();
            let rest = name.to_str()?.strip_prefix(prefix)?;
            let n = rest.parse::<u64>().ok()?;
            Some((n, e.path()))
        })
        .collect();
    v.sort();
    v.into_iter().map(|(_, p)| p).collect()
}

/// The CPU package temperature file: hwmon coretemp / k10temp / zenpower
/// first (they are the package sensor), then the `x86_pkg_temp` thermal zone,
/// then thermal_zone0.
fn find_cpu_temp(sys: &Path) -> Option<File> {
    let hwmons = numbered(&sys.join("class/hwmon"), "hwmon");
    // Per driver, the labels that mean "the whole package", best first.
    let drivers: [(&str, &[&str]); 3] = [
        ("coretemp", &["Package id 0"]),
        ("k10temp", &["Tdie", "Tctl"]),
        ("zenpower", &["Tdie", "Tctl"]),
    ];
    for (driver, labels) in drivers {
        for hw in &hwmons {
            if read_small(&hw.join("name")).as_deref() != Some(driver) {
                continue;
            }
            for want in labels {
                for i in 1..=64 {
                    let label = hw.join(format!("temp{i}_label"));
                    if read_small(&label).as_deref() == Some(want) {
                        if let Some(f) = open(&hw.join(format!("temp{i}_input"))) {
                            return Some(f);
                        }
                    }
                }
            }
            if let Some(f) = open(&hw.join("temp1_input")) {
                return Some(f);
            }
        }
    }
    let zones = numbered(&sys.join("class/thermal"), "thermal_zone");
    for z in &zones {
        if read_small(&z.join("type")).as_deref() == Some("x86_pkg_temp") {
            if let Some(f) = open(&z.join("temp")) {
                return Some(f);
            }
        }
    }
    open(&sys.join("class/thermal/thermal_zone0/temp"))
}

/// Current-frequency files of every CPU, and the highest hardware maximum.
fn find_cpu_freq(sys: &Path) -> (Vec<File>, Option<u32>) {
    let mut cur = Vec::new();
    let mut max_khz: Option<u64> = None;
    for cpu in numbered(&sys.join("devices/system/cpu"), "cpu") {
        let dir = cpu.join("cpufreq");
        if let Some(f) = open(&dir.join("scaling_cur_freq")) {
            cur.push(f);
        }
        let m = read_small(&dir.join("cpuinfo_max_freq"))
            .or_else(|| read_small(&dir.join("scaling_max_freq")))
            .and_then(|s| s.parse::<u64>().ok());
        max_khz = max_khz.max(m);
    }
    (cur, max_khz.map(|k| (k / 1000) as u32))
}

/// The first DRM card with a GPU we know how to read, and its throttle files.
fn find_gpu(sys: &Path) -> (Option<Gpu>, Vec<ThrottleFile>) {
    for card in numbered(&sys.join("class/drm"), "card") {
        // i915 with per-GT files (Linux 5.18+): gt/gt0.
        let gt = card.join("gt/gt0");
        if gt.join("rps_act_freq_mhz").exists() {
            let gpu = Gpu {
                busy: idle_ms(&gt.join("rc6_residency_ms")),
                cur: open(&gt.join("rps_act_freq_mhz")).map(Freq::Mhz),
                max: open(&gt.join("rps_max_freq_mhz")).map(Freq::Mhz),
            };
            return (Some(gpu), throttle_files(&gt, "throttle_reason_"));
        }
        // Older i915: the same files on the card itself.
        if card.join("gt_act_freq_mhz").exists() {
            let gpu = Gpu {
                busy: idle_ms(&card.join("power/rc6_residency_ms")),
                cur: open(&card.join("gt_act_freq_mhz")).map(Freq::Mhz),
                max: open(&card.join("gt_max_freq_mhz")).map(Freq::Mhz),
            };
            return (Some(gpu), Vec::new());
        }
        // xe: per tile and GT under the device.
        let xe = card.join("device/tile0/gt0");
        if xe.join("freq0/act_freq").exists() {
            let gpu = Gpu {
                busy: idle_ms(&xe.join("gtidle/idle_residency_ms")),
                cur: open(&xe.join("freq0/act_freq")).map(Freq::Mhz),
                max: open(&xe.join("freq0/max_freq")).map(Freq::Mhz),
            };
            return (
                Some(gpu),
                throttle_files(&xe.join("freq0/throttle"), "reason_"),
            );
        }
        // amdgpu.
        let dev = card.join("device");
        if let Some(busy) = open(&dev.join("gpu_busy_percent")) {
            let sclk = dev.join("pp_dpm_sclk");
            let gpu = Gpu {
                busy: Some(GpuBusy::Percent(busy)),
                cur: open(&sclk).map(|file| Freq::AmdDpm { file, max: false }),
                max: open(&sclk).map(|file| Freq::AmdDpm { file, max: true }),
            };
            return (Some(gpu), Vec::new());
        }
    }
    (None, Vec::new())
}

fn idle_ms(p: &Path) -> Option<GpuBusy> {
    open(p).map(|file| GpuBusy::IdleResidencyMs {
        file,
        prev: None,
        last: None,
    })
}

/// The `PREFIX*` files of `dir` that name a throttle reason. The summary
/// `status` file is left out: the reasons themselves say more.
fn throttle_files(dir: &Path, prefix: &str) -> Vec<ThrottleFile> {
    let mut v: Vec<ThrottleFile> = fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name();
            let reason = name.to_str()?.strip_prefix(prefix)?.to_string();
            if reason == "status" || reason.is_empty() {
                return None;
            }
            Some(ThrottleFile {
                file: open(&e.path())?,
                name: ShortStr::from_bytes(reason.as_bytes()),
            })
        })
        .collect();
    v.sort_by(|a, b| a.name.as_bytes().cmp(b.name.as_bytes()));
    v
}

impl SensorSet {
    /// Finds the sensors under `sys` (normally `/sys`). Absent ones stay absent.
    pub fn discover(sys: &Path) -> SensorSet {
        let (cpu_freq, cpu_freq_max_mhz) = find_cpu_freq(sys);
        let (gpu, throttle) = find_gpu(sys);
        SensorSet {
            cpu_temp: find_cpu_temp(sys),
            cpu_freq,
            cpu_freq_max_mhz,
            gpu,
            platform_profile: open(&sys.join("firmware/acpi/platform_profile")),
            throttle,
            rd: Reader {
                buf: [0; 512],
                reads: 0,
            },
        }
    }

    /// The next reading is a baseline for what needs two (GPU busy from
    /// idle residency), which then shows the figure from before.
    pub fn forget_rates(&mut self) {
        if let Some(GpuBusy::IdleResidencyMs { prev, .. }) =
            self.gpu.as_mut().and_then(|g| g.busy.as_mut())
        {
            *prev = None;
        }
    }

    /// How many sensor files were read so far (what a test counts).
    pub fn reads(&self) -> u64 {
        self.rd.reads
    }

    /// Reads the sensors `needs` asks for; one that fails to read this tick
    /// is `None`, one not asked for keeps what it held.
    pub fn read(&mut self, now: Instant, needs: Needs, out: &mut Sensors) {
        let rd = &mut self.rd;
        out.cpu_freq_max_mhz = self.cpu_freq_max_mhz;
        if needs.temp {
            out.cpu_temp_c = self
                .cpu_temp
                .as_ref()
                .and_then(|f| i64_prefix(rd.read(f)?))
                .map(|milli| milli as f32 / 1000.0);
        }

        if needs.freq {
            // The mean over CPUs: one busy core at full clock among idle
            // ones is what "the CPU's frequency" means to someone glancing
            // at a bar.
            let (mut sum, mut n) = (0u64, 0u64);
            for f in &self.cpu_freq {
                if let Some(khz) = rd.read(f).and_then(u64_prefix) {
                    sum += khz;
                    n += 1;
                }
            }
            out.cpu_freq_mhz = (n > 0).then(|| (sum / n / 1000) as u32);
        }

        if needs.gpu {
            out.gpu_busy_percent = None;
            out.gpu_freq_mhz = None;
            out.gpu_freq_max_mhz = None;
            if let Some(gpu) = &mut self.gpu {
                out.gpu_busy_percent = gpu.busy.as_mut().and_then(|b| read_busy(b, now, rd));
                out.gpu_freq_mhz = gpu.cur.as_ref().and_then(|f| read_freq(f, rd));
                out.gpu_freq_max_mhz = gpu.max.as_ref().and_then(|f| read_freq(f, rd));
            }
        }

        if needs.profile {
            out.power_profile = self
                .platform_profile
                .as_ref()
                .and_then(|f| rd.read(f))
                .filter(|b| !b.is_empty())
                .map(ShortStr::from_bytes);
        }

        if needs.throttle {
            out.throttle.clear();
            for t in &self.throttle {
                if let Some(v) = rd.read(&t.file).and_then(u64_prefix) {
                    if v != 0 {
                        out.throttle.push(t.name.as_bytes());
                    }
                }
            }
        }
    }
}

fn read_busy(b: &mut GpuBusy, now: Instant, rd: &mut Reader) -> Option<f32> {
    match b {
        GpuBusy::Percent(f) => u64_prefix(rd.read(f)?).map(|p| p.min(100) as f32),
        GpuBusy::IdleResidencyMs { file, prev, last } => {
            let idle = match rd.read(file).and_then(u64_prefix) {
                Some(v) => v,
                None => {
                    (*prev, *last) = (None, None);
                    return None;
                }
            };
            let Some((idle0, t0)) = prev.replace((idle, now)) else {
                return *last;
            };
            let wall_ms = now.duration_since(t0).as_secs_f64() * 1000.0;
            if wall_ms <= 0.0 {
                return *last;
            }
            let idle_ms = idle.saturating_sub(idle0) as f64;
            *last = Some((100.0 * (1.0 - idle_ms / wall_ms)).clamp(0.0, 100.0) as f32);
            *last
        }
    }
}

fn read_freq(f: &Freq, rd: &mut Reader) -> Option<u32> {
    match f {
        Freq::Mhz(file) => u64_prefix(rd.read(file)?).map(|v| v as u32),
        Freq::AmdDpm { file, max } => amd_dpm(rd.read(file)?, *max),
    }
}

/// From `pp_dpm_sclk` text, the current (`*`) level's MHz, or the highest level's.
fn amd_dpm(text: &[u8], want_max: bool) -> Option<u32> {
    let mut best: Option<u64> = None;
    for line in text.split(|&c| c == b'\n') {
        let Some(colon) = line.iter().position(|&c| c == b':') else {
            continue;
        };
        let Some(mhz) = u64_prefix(&line[colon + 1..]) else {
            continue;
        };
        if want_max {
            best = best.max(Some(mhz));
        } else if line.ends_with(b"*") || line.ends_with(b"* ") {
            return Some(mhz as u32);
        }
    }
    best.map(|v| v as u32)
}

#[cfg(test)]
mod tests {
    use super::amd_dpm;

    #[test]
    fn amd_dpm_levels() {
        let t = b"0: 500Mhz \n1: 1200Mhz *\n2: 2400Mhz \n";
        assert_eq!(amd_dpm(t, false), Some(1200));
        assert_eq!(amd_dpm(t, true), Some(2400));
        assert_eq!(amd_dpm(b"garbage", true), None);
    }
}
