//! The `--once` JSON object: every figure of one sample.

use super::json::JsonWriter;
use crate::collect::Sample;

/// Writes `s` as one JSON object (no trailing newline) into `buf`.
pub fn write_sample(buf: &mut Vec<u8>, s: &Sample) {
    let mut w = JsonWriter::new(buf);
    let sn = &s.sensors;
    w.begin_object();
    w.key("collector").string(s.collector.name().as_bytes());
    w.key("cpu_percent").float(s.cpu_percent as f64, 1);
    w.key("cores").uint(s.cores as u64);
    w.key("mem_total_bytes").uint(s.mem.total);
    w.key("mem_used_bytes").uint(s.mem.used);
    w.key("mem_available_bytes").uint(s.mem.available);
    w.key("swap_total_bytes").uint(s.mem.swap_total);
    w.key("swap_used_bytes").uint(s.mem.swap_used);
    w.key("load").begin_array();
    for l in s.load {
        w.float(l as f64, 2);
    }
    w.end_array();
    w.key("cpu_temp_c")
        .opt_float(sn.cpu_temp_c.map(f64::from), 1);
    w.key("cpu_freq_mhz")
        .opt_uint(sn.cpu_freq_mhz.map(u64::from));
    w.key("cpu_freq_max_mhz")
        .opt_uint(sn.cpu_freq_max_mhz.map(u64::from));
    w.key("gpu_busy_percent")
        .opt_float(sn.gpu_busy_percent.map(f64::from), 1);
    w.key("gpu_freq_mhz")
        .opt_uint(sn.gpu_freq_mhz.map(u64::from));
    w.key("gpu_freq_max_mhz")
        .opt_uint(sn.gpu_freq_max_mhz.map(u64::from));
    w.key("power_profile");
    match &sn.power_profile {
        Some(p) => w.string(p.as_bytes()),
        None => w.null(),
    };
    w.key("throttle").begin_array();
    for t in sn.throttle.as_slice() {
        w.string(t.as_bytes());
    }
    w.end_array();
    w.key("tasks").uint(s.tasks as u64);

    w.key("top_cpu").begin_array();
    for p in s.top_cpu.as_slice() {
        w.begin_object();
        w.key("pid").uint(p.pid as u64);
        w.key("name").string(p.name.as_bytes());
        w.key("cpu_percent").float(p.cpu_percent as f64, 1);
        w.end_object();
    }
    w.end_array();
    w.key("top_mem").begin_array();
    for p in s.top_mem.as_slice() {
        w.begin_object();
        w.key("pid").uint(p.pid as u64);
        w.key("name").string(p.name.as_bytes());
        w.key("rss_bytes").uint(p.rss_bytes);
        w.end_object();
    }
    w.end_array();
    w.key("top_io").begin_array();
    for p in s.top_io.as_slice() {
        w.begin_object();
        w.key("pid").uint(p.pid as u64);
        w.key("name").string(p.name.as_bytes());
        w.key("read_bytes_per_s").uint(p.read_bytes_per_s);
        w.key("write_bytes_per_s").uint(p.write_bytes_per_s);
        w.end_object();
    }
    w.end_array();
    w.end_object();
}
