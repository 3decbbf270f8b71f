//! What a client's protocol log says: `WAYLAND_DEBUG=client` makes
//! libwayland print every request and event on stderr, each line starting
//! with a millisecond timestamp (`[1234567.890]`), in order with the
//! client's own messages. Frames are its `wl_surface.commit` requests.

fn commit_lines(log: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(log)
        .lines()
        .filter(|l| l.contains("-> wl_surface@") && l.contains(".commit()"))
        .map(str::to_string)
        .collect()
}

/// Surface commits (frames sent to the compositor) in a protocol log.
pub fn commits(log: &[u8]) -> usize {
    commit_lines(log).len()
}

/// The timestamps (milliseconds) of the surface commits in a protocol log.
pub fn commit_times(log: &[u8]) -> Vec<f64> {
    commit_lines(log)
        .iter()
        .filter_map(|l| l.strip_prefix('[')?.split(']').next()?.trim().parse().ok())
        .collect()
}

/// The longest time between two consecutive commits, in milliseconds (0
/// with fewer than two).
pub fn widest_gap(times: &[f64]) -> f64 {
    times.windows(2).map(|w| w[1] - w[0]).fold(0.0f64, f64::max)
}
