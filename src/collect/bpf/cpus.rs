//! Which CPUs are online, and making each of them switch tasks once.
//!
//! The probe learns what a CPU is running only from `sched_switch`. A CPU
//! that has not switched since the probe attached (a busy loop alone on an
//! otherwise idle core never does) is invisible: neither its busy time nor
//! its task's CPU time would be counted until its next switch, which may be
//! seconds away. Running this thread on each CPU once right after attaching
//! makes every CPU it may use switch twice (to us and back), so the probe
//! knows each one's current task from the start.

/// The `(first, last)` ranges of a kernel CPU list such as `"0-3"` or
/// `"0,2-5"` (the format of `/sys/devices/system/cpu/{possible,online}`);
/// empty for an empty list, `None` if the text does not parse.
pub fn ranges(text: &str) -> Option<Vec<(usize, usize)>> {
    let text = text.trim();
    if text.is_empty() {
        return Some(Vec::new());
    }
    text.split(',')
        .map(|part| {
            let (lo, hi) = part.split_once('-').unwrap_or((part, part));
            let (lo, hi) = (lo.trim().parse().ok()?, hi.trim().parse().ok()?);
            (lo <= hi).then_some((lo, hi))
        })
        .collect()
}

/// The CPUs of a kernel CPU list as flags indexed by CPU number; CPUs at or
/// past `ncpu` are ignored. `None` if the text does not parse.
pub fn parse_list(text: &str, ncpu: usize) -> Option<Vec<bool>> {
    let mut on = vec![false; ncpu];
    for (lo, hi) in ranges(text)? {
        for flag in on.iter_mut().take(hi.saturating_add(1)).skip(lo) {
            *flag = true;
        }
    }
    Some(on)
}

/// The CPUs online now, as flags for CPUs `0..ncpu`. When the list cannot be
/// read every possible CPU counts as online: then a CPU that never switches
/// (an offline one) only makes the bpf collector keep `/proc/stat`'s figure.
pub fn online(ncpu: usize) -> Vec<bool> {
    std::fs::read_to_string("/sys/devices/system/cpu/online")
        .ok()
        .and_then(|t| parse_list(&t, ncpu))
        .unwrap_or_else(|| vec![true; ncpu])
}

/// Moves the calling thread onto each CPU of its affinity mask in turn and
/// back to the mask it had. `sched_setaffinity` on oneself returns only once
/// the thread runs on an allowed CPU, so each CPU has switched to this thread
/// and away again by the end. Best effort: a CPU this thread may not use (a
/// cpuset) or a failing call leaves that CPU to its next natural switch.
pub fn visit_each() {
    let size = std::mem::size_of::<libc::cpu_set_t>();
    // SAFETY: cpu_set_t is a plain bit array; all zeroes is the empty set.
    let mut mask: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: the kernel writes at most `size` bytes into `mask`, which we own.
    if unsafe { libc::sched_getaffinity(0, size, &mut mask) } != 0 {
        return;
    }
    for cpu in 0..libc::CPU_SETSIZE as usize {
        // SAFETY: `cpu` is below CPU_SETSIZE, the set's size in bits.
        if !unsafe { libc::CPU_ISSET(cpu, &mask) } {
            continue;
        }
        // SAFETY: as above, a plain bit array.
        let mut one: libc::cpu_set_t = unsafe { std::mem::zeroed() };
        // SAFETY: `cpu` is below CPU_SETSIZE; the call reads `size` bytes of `one`.
        unsafe {
            libc::CPU_SET(cpu, &mut one);
            libc::sched_setaffinity(0, size, &one);
        }
    }
    // SAFETY: reads `size` bytes of the mask saved above.
    unsafe { libc::sched_setaffinity(0, size, &mask) };
}

#[cfg(test)]
mod tests {
    use super::parse_list;

    #[test]
    fn cpu_lists_parse_as_the_kernel_writes_them() {
        assert_eq!(parse_list("0-3\n", 4), Some(vec![true; 4]));
        assert_eq!(
            parse_list("0,2-3", 5),
            Some(vec![true, false, true, true, false])
        );
        assert_eq!(parse_list("1", 2), Some(vec![false, true]));
        assert_eq!(parse_list("\n", 2), Some(vec![false, false]));
        // CPUs past the per-CPU map's size are ignored, not an error.
        assert_eq!(parse_list("0-1000000", 2), Some(vec![true, true]));
        assert_eq!(parse_list("3-1", 4), None);
        assert_eq!(parse_list("x", 4), None);
        assert_eq!(parse_list("0-", 4), None);
        // `possible` is read through the same ranges.
        assert_eq!(super::ranges("0-3,8"), Some(vec![(0, 3), (8, 8)]));
        assert_eq!(super::ranges(""), Some(vec![]));
    }
}
