//! The plain data of one health sample: fixed-size, `Copy`, no heap.
//!
//! Every collector fills the same [`Sample`], so everything above `collect`
//! (the bar's modules, `--once`, `--waybar`) never knows which one ran.

/// How many processes each top list keeps.
pub const TOP_N: usize = 5;

/// The kernel's `TASK_COMM_LEN`: a process name is at most 15 bytes plus NUL.
pub const COMM_LEN: usize = 16;

/// Which collector produced a sample.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum CollectorKind {
    /// Walks `/proc/PID/{stat,io}` each tick; needs no privilege.
    #[default]
    Procfs,
    /// Reads the maps the `sched_switch` eBPF probe keeps.
    Bpf,
    /// Walks every task once per tick with a BPF task iterator.
    Iter,
}

impl CollectorKind {
    /// The name used on the command line and in JSON output.
    pub fn name(self) -> &'static str {
        match self {
            CollectorKind::Procfs => "procfs",
            CollectorKind::Bpf => "bpf",
            CollectorKind::Iter => "iter",
        }
    }
}

/// A process name exactly as the kernel holds it: up to 15 arbitrary bytes.
///
/// Names are not guaranteed to be UTF-8 (or printable); consumers decide how
/// to show them (`to_str_lossy` style) at the edge.
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct Comm {
    bytes: [u8; COMM_LEN],
    len: u8,
}

impl Comm {
    /// Copies at most `COMM_LEN - 1` bytes, stopping at the first NUL
    /// (BPF hands us NUL-padded arrays).
    pub fn from_bytes(raw: &[u8]) -> Comm {
        let end = raw.iter().position(|&b| b == 0).unwrap_or(raw.len());
        let n = end.min(COMM_LEN - 1);
        let mut bytes = [0u8; COMM_LEN];
        bytes[..n].copy_from_slice(&raw[..n]);
        Comm {
            bytes,
            len: n as u8,
        }
    }

    /// The raw name bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len as usize]
    }
}

impl std::fmt::Debug for Comm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(self.as_bytes()))
    }
}

/// A short ASCII-ish string held inline (power profile, throttle reason).
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct ShortStr {
    bytes: [u8; 31],
    len: u8,
}

impl ShortStr {
    /// Copies at most 31 bytes of `raw`, trimming trailing whitespace.
    pub fn from_bytes(raw: &[u8]) -> ShortStr {
        let mut end = raw.len().min(31);
        while end > 0 && raw[end - 1].is_ascii_whitespace() {
            end -= 1;
        }
        let mut bytes = [0u8; 31];
        bytes[..end].copy_from_slice(&raw[..end]);
        ShortStr {
            bytes,
            len: end as u8,
        }
    }

    /// The stored bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len as usize]
    }

    /// The stored text; sysfs values are ASCII, anything else shows as `?`.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(self.as_bytes()).unwrap_or("?")
    }
}

impl std::fmt::Debug for ShortStr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(self.as_bytes()))
    }
}

/// The most throttle reasons a sample reports at once.
pub const MAX_THROTTLE: usize = 16;

/// The GPU throttle reasons that read non-zero this tick.
#[derive(Clone, Copy, PartialEq, Eq, Default, Debug)]
pub struct Throttle {
    names: [ShortStr; MAX_THROTTLE],
    len: u8,
}

impl Throttle {
    /// Forgets every reason.
    pub fn clear(&mut self) {
        self.len = 0;
    }

    /// Adds a reason; past `MAX_THROTTLE` reasons, further ones are dropped.
    pub fn push(&mut self, name: &[u8]) {
        if (self.len as usize) < MAX_THROTTLE {
            self.names[self.len as usize] = ShortStr::from_bytes(name);
            self.len += 1;
        }
    }

    /// The active reasons, in discovery order.
    pub fn as_slice(&self) -> &[ShortStr] {
        &self.names[..self.len as usize]
    }
}

/// Memory figures in bytes. `used` is what `free` calls used: total − available.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Memory {
    pub total: u64,
    pub used: u64,
    pub available: u64,
    pub swap_total: u64,
    pub swap_used: u64,
}

/// Hardware sensors; `None` means the machine has no such sensor (or it
/// vanished), never an error.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Sensors {
    pub cpu_temp_c: Option<f32>,
    pub cpu_freq_mhz: Option<u32>,
    pub cpu_freq_max_mhz: Option<u32>,
    pub gpu_busy_percent: Option<f32>,
    pub gpu_freq_mhz: Option<u32>,
    pub gpu_freq_max_mhz: Option<u32>,
    pub power_profile: Option<ShortStr>,
    pub throttle: Throttle,
}

/// One row of the CPU top list. `cpu_percent` is a share of the whole
/// machine (all cores = 100%), the same convention as the system figure.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ProcCpu {
    pub pid: u32,
    pub name: Comm,
    pub cpu_percent: f32,
}

/// One row of the memory top list.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProcMem {
    pub pid: u32,
    pub name: Comm,
    pub rss_bytes: u64,
}

/// One row of the IO top list (storage-layer bytes, as `/proc/PID/io`'s
/// `read_bytes` / `write_bytes`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProcIo {
    pub pid: u32,
    pub name: Comm,
    pub read_bytes_per_s: u64,
    pub write_bytes_per_s: u64,
}

/// The `TOP_N` largest entries by a key, largest first, kept by insertion
/// into a fixed array (no heap).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Top<T> {
    items: [T; TOP_N],
    keys: [u64; TOP_N],
    len: usize,
}

impl<T: Copy + Default> Default for Top<T> {
    fn default() -> Self {
        Top {
            items: [T::default(); TOP_N],
            keys: [0; TOP_N],
            len: 0,
        }
    }
}

impl<T: Copy + Default> Top<T> {
    /// Empties the list.
    pub fn clear(&mut self) {
        self.len = 0;
    }

    /// Offers an entry; it is kept when its key is among the `TOP_N` largest.
    /// Entries with a zero key are never kept: an idle process is not "top".
    pub fn offer(&mut self, key: u64, item: T) {
        if key == 0 {
            return;
        }
        // Position: first slot whose key is smaller (ties keep the earlier).
        let mut pos = self.len;
        while pos > 0 && self.keys[pos - 1] < key {
            pos -= 1;
        }
        if pos >= TOP_N {
            return;
        }
        let last = if self.len < TOP_N {
            self.len
        } else {
            TOP_N - 1
        };
        let mut i = last;
        while i > pos {
            self.items[i] = self.items[i - 1];
            self.keys[i] = self.keys[i - 1];
            i -= 1;
        }
        self.items[pos] = item;
        self.keys[pos] = key;
        if self.len < TOP_N {
            self.len += 1;
        }
    }

    /// The kept entries, largest first.
    pub fn as_slice(&self) -> &[T] {
        &self.items[..self.len]
    }

    /// The mutable kept entries (to refine figures after selection, e.g. exact RSS).
    pub fn as_mut_slice(&mut self) -> &mut [T] {
        &mut self.items[..self.len]
    }
}

/// Everything one tick knows about the machine's health.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Sample {
    /// Which collector filled the per-process part.
    pub collector: CollectorKind,
    /// Wall time the rates below are computed over, in nanoseconds
    /// (0 on the first sample, whose rates are all zero).
    pub interval_ns: u64,
    /// Busy share of all cores together, 0–100.
    pub cpu_percent: f32,
    /// Online CPUs.
    pub cores: u32,
    pub mem: Memory,
    /// Load averages over 1, 5 and 15 minutes.
    pub load: [f32; 3],
    pub sensors: Sensors,
    /// Processes (not threads) seen this tick.
    pub tasks: u32,
    pub top_cpu: Top<ProcCpu>,
    pub top_mem: Top<ProcMem>,
    pub top_io: Top<ProcIo>,
}

impl Sample {
    /// Forgets the per-process part (task count, top lists): what a walk
    /// fills, when no walk will refresh it for a while.
    pub fn clear_processes(&mut self) {
        self.tasks = 0;
        self.top_cpu.clear();
        self.top_mem.clear();
        self.top_io.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_keeps_largest_in_order() {
        let mut t: Top<u32> = Top::default();
        for (k, v) in [
            (5, 1),
            (1, 2),
            (9, 3),
            (7, 4),
            (3, 5),
            (8, 6),
            (2, 7),
            (0, 8),
        ] {
            t.offer(k, v);
        }
        assert_eq!(t.as_slice(), &[3, 6, 4, 1, 5]);
        t.clear();
        assert!(t.as_slice().is_empty());
    }

    #[test]
    fn top_ties_keep_first_seen() {
        let mut t: Top<u32> = Top::default();
        for v in 0..8 {
            t.offer(10, v);
        }
        assert_eq!(t.as_slice(), &[0, 1, 2, 3, 4]);
    }

    #[test]
    fn comm_stops_at_nul_and_limit() {
        assert_eq!(Comm::from_bytes(b"bash\0\0junk").as_bytes(), b"bash");
        assert_eq!(
            Comm::from_bytes(b"0123456789abcdefXYZ").as_bytes(),
            b"0123456789abcde"
        );
        assert_eq!(
            Comm::from_bytes(&[0xff, b'"', b'\n']).as_bytes(),
            &[0xff, b'"', b'\n']
        );
    }

    #[test]
    fn throttle_caps_at_max() {
        let mut t = Throttle::default();
        for _ in 0..40 {
            t.push(b"pl1");
        }
        assert_eq!(t.as_slice().len(), MAX_THROTTLE);
        assert_eq!(t.as_slice()[0].as_str(), "pl1");
    }
}
