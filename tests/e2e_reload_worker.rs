//! End to end: a reload reads and validates the config on a worker thread,
//! so the running bar keeps drawing while a hostile config loads. The bar
//! runs in a real headless Sway with a script whose output changes fifty
//! times a second; its frames are counted on the wire (`WAYLAND_DEBUG=client`
//! makes the client log every `wl_surface.commit` to stderr, in order with
//! the bar's own messages).
//!
//! Needs root (Sway runs as uid 65534), `sway` and `grim`.

mod common;
mod support;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use support::proc::{poll_every, wait_for, Guarded};
use support::sway::{HeadlessSway, Rect};
use support::unwatched::UnwatchedConfig;
use support::wire::{commit_times, commits, widest_gap};

/// Where waiting stops. The hostile file takes about 1.5 s of CPU to
/// validate (debug build) and far longer in wall time on a loaded machine.
const PATIENCE: Duration = Duration::from_secs(120);

fn can_run() -> bool {
    if !common::need(common::is_root(), "needs root to start Sway as uid 65534") {
        return false;
    }
    ["sway", "grim"]
        .iter()
        .all(|t| common::need(common::have(t), &format!("needs `{t}` on PATH")))
}

/// The running config: a 28-px bar with a script that prints a new number
/// every 20 ms (below the flood throttle), so every frame the compositor
/// asks for has something new to show.
fn good(height: u32) -> String {
    format!(
        r#"[bar]
height = {height}
left = ["custom#fast"]
right = ["clock"]
[module."custom#fast"]
exec = "i=0; while :; do i=$((i+1)); echo $i; sleep 0.02; done"
continuous = true
[module.clock]
format = "%H:%M:%S"
"#
    )
}

/// The slowest file to validate that the loader measured: about 4 MiB of
/// module tables, each with an unknown placeholder (100,000 errors, every
/// one given a suggestion search before the list is capped).
fn hostile() -> String {
    let mut s = String::with_capacity(4 << 20);
    let mut i = 0;
    while s.len() < (4 << 20) - 4096 {
        s.push_str(&format!("[module.\"cpu#{i}\"]\nformat = \"{{usag}}\"\n"));
        i += 1;
    }
    s
}

/// The usable area below a top bar of `h` logical pixels on the 1920×1080 output.
fn below_top_bar(h: i64) -> Rect {
    Rect {
        x: 0,
        y: h,
        width: 1920,
        height: 1080 - h,
    }
}

fn expect_area(sway: &HeadlessSway, rstat: &mut Guarded, want: Rect) {
    poll_every(Duration::from_millis(20), PATIENCE, || {
        rstat.assert_running();
        (sway.usable_area("HEADLESS-1") == Some(want)).then_some(())
    })
    .unwrap_or_else(|| {
        panic!(
            "the usable area never became {want:?}: {:?}\n--- rstat stderr (tail) ---\n{}",
            sway.usable_area("HEADLESS-1"),
            tail(&rstat.stderr())
        )
    });
}

/// rstat's stderr as bytes (offsets into it mark moments of the test).
fn log(rstat: &Guarded) -> Vec<u8> {
    std::fs::read(&rstat.stderr_path).unwrap_or_default()
}

/// The bar's messages (not the protocol log) from the last lines.
fn tail(text: &str) -> String {
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("rstat") || l.contains("panicked"))
        .collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

/// Waits until `needle` appears in the log past `from`; its offset.
fn expect_after(rstat: &mut Guarded, from: usize, needle: &str) -> usize {
    wait_for(PATIENCE, || {
        rstat.assert_running();
        let l = log(rstat);
        let hay = l.get(from..)?;
        hay.windows(needle.len())
            .position(|w| w == needle.as_bytes())
            .map(|p| from + p)
    })
    .unwrap_or_else(|| {
        panic!(
            "rstat never said {needle:?}; its messages:\n{}",
            tail(&rstat.stderr())
        )
    })
}

/// Waits until at least `n` more commits than at `from` are in the log.
fn expect_frames(rstat: &mut Guarded, from: usize, n: usize) {
    wait_for(PATIENCE, || {
        rstat.assert_running();
        (commits(log(rstat).get(from..).unwrap_or(&[])) >= n).then_some(())
    })
    .unwrap_or_else(|| panic!("the bar drew fewer than {n} frames"));
}

/// Done means: "each hostile config … with the running bar drawing new
/// frames while it reloads". The slowest file is loaded by SIGUSR2 while
/// the script changes the bar: frames keep being committed between the
/// signal and the verdict (on the loop there were none: the loop was busy
/// validating), the file is refused with its errors, the 28-px bar stays,
/// then a good file applies. Last, a hostile reload followed at once by a
/// good one ends with the good one.
#[test]
fn the_bar_keeps_drawing_while_a_hostile_config_loads_and_the_last_reload_wins() {
    if !can_run() {
        return;
    }
    let _lock = support::compositor_lock();
    let sway = HeadlessSway::start();
    // A config the bar cannot see change, so each reload here is exactly
    // one, the signal's.
    let mut config = UnwatchedConfig::new(&sway.config_home(), &good(28));
    let link = config.path();

    let mut cmd = sway.client(common::rstat_bin());
    cmd.env("WAYLAND_DEBUG", "client")
        .env("RUST_BACKTRACE", "1");
    let mut rstat = Guarded::spawn(
        "rstat",
        &mut cmd,
        &sway.runtime_dir().join("rstat-reload-worker.stderr"),
    );
    expect_area(&sway, &mut rstat, below_top_bar(28));
    support::wait_for_bar(&sway, "HEADLESS-1", 28, PATIENCE)
        .unwrap_or_else(|e| panic!("no bar: {e}\n{}", tail(&rstat.stderr())));
    // The script is drawing: frames arrive.
    let at = log(&rstat).len();
    expect_frames(&mut rstat, at, 10);

    // The hostile file, by signal.
    config.swap(&hostile());
    let before = log(&rstat).len();
    rstat.signal(libc::SIGUSR2);
    let verdict = expect_after(&mut rstat, before, "keeping the running one");
    let l = log(&rstat);
    let during = commits(&l[before..verdict]);
    let message = String::from_utf8_lossy(&l[verdict..]).into_owned();
    eprintln!("frames committed while the hostile config loaded: {during}");
    assert!(
        during >= 5,
        "the bar drew {during} frames while the config loaded (the loop was blocked?)"
    );
    // Refused with its errors, as on the loop: capped, with a position.
    assert!(
        message.contains(&format!("{}:2:", link.display())) && message.contains("usag"),
        "the refusal names the file, line and placeholder:\n{}",
        tail(&message)
    );
    assert!(
        message.contains("more errors not listed"),
        "the error list is capped:\n{}",
        tail(&message)
    );
    // The old look stays, and the bar goes on drawing.
    assert_eq!(sway.usable_area("HEADLESS-1"), Some(below_top_bar(28)));
    support::wait_for_bar(&sway, "HEADLESS-1", 28, PATIENCE)
        .unwrap_or_else(|e| panic!("the old bar is gone: {e}"));
    expect_frames(&mut rstat, verdict, 10);

    // A good file applies.
    config.swap(&good(40));
    let before = log(&rstat).len();
    rstat.signal(libc::SIGUSR2);
    expect_area(&sway, &mut rstat, below_top_bar(40));
    expect_after(&mut rstat, before, "config reloaded from");
    support::wait_for_bar(&sway, "HEADLESS-1", 40, PATIENCE)
        .unwrap_or_else(|e| panic!("no 40-px bar: {e}"));

    // Two reloads in quick succession: the hostile file, then at once a
    // good one. Whenever the second signal lands (while the first load
    // runs, or after), the last file is what the bar shows.
    config.swap(&hostile());
    rstat.signal(libc::SIGUSR2);
    config.swap(&good(36));
    let t0 = Instant::now();
    rstat.signal(libc::SIGUSR2);
    expect_area(&sway, &mut rstat, below_top_bar(36));
    eprintln!("the last of two reloads applied after {:?}", t0.elapsed());
    // And stays: no older load's result lands after it.
    let settled = log(&rstat).len();
    expect_frames(&mut rstat, settled, 25);
    assert_eq!(sway.usable_area("HEADLESS-1"), Some(below_top_bar(36)));
    support::wait_for_bar(&sway, "HEADLESS-1", 36, PATIENCE)
        .unwrap_or_else(|e| panic!("no 36-px bar: {e}"));
    rstat.assert_running();
    let err = rstat.stderr();
    assert!(!err.contains("panicked"), "rstat panicked:\n{}", tail(&err));
}

/// A copy of a real font with `n` bits flipped at spread, repeatable places.
fn corrupt_font(dst: &Path, n: usize) {
    let mut bytes =
        std::fs::read("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf").expect("read DejaVu Sans");
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    for _ in 0..n {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let at = (x % bytes.len() as u64) as usize;
        bytes[at] ^= 1 << (x % 8);
    }
    std::fs::write(dst, bytes).expect("write the corrupt font");
}

/// Done means, the other hostile configs the loader was measured with (a
/// font path that is a FIFO, `/dev/zero`, a font with flipped bits, 40,000
/// unknown keys, 100,000 layout entries): each is read by SIGUSR2 while the
/// script changes the bar, the bar never stops committing frames for long
/// (the widest gap between two commits around the reload is bounded), a
/// refused file is named, and the 28-px bar stays and goes on drawing.
#[test]
fn each_hostile_config_loads_while_the_bar_draws_on() {
    if !can_run() {
        return;
    }
    if !common::need(
        Path::new("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf").exists(),
        "needs DejaVu Sans (fonts-dejavu-core)",
    ) {
        return;
    }
    let _lock = support::compositor_lock();
    let sway = HeadlessSway::start();
    // A config the bar cannot see change, so each reload here is exactly
    // one, the signal's; the font files live beside it.
    let mut config = UnwatchedConfig::new(&sway.config_home(), &good(28));
    let link = config.path();
    let fonts: PathBuf = sway.config_home().join("fonts");
    std::fs::create_dir_all(&fonts).expect("create the fonts directory");

    let fifo = fonts.join("font.fifo");
    let c = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).expect("path");
    // SAFETY: a NUL-terminated path we own.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0, "mkfifo");
    let flipped = fonts.join("flipped.ttf");
    corrupt_font(&flipped, 45);
    let with_font = |path: &Path| {
        good(28).replacen(
            "height = 28\n",
            &format!("height = 28\nfont = {{ path = \"{}\" }}\n", path.display()),
            1,
        )
    };
    let unknown_keys = {
        let mut s = good(28);
        for i in 0..40_000 {
            s.push_str(&format!("nosuch{i} = 1\n"));
        }
        s
    };
    let long_layout = {
        let names: Vec<String> = (0..100_000).map(|i| format!("\"nosuch{i}\"")).collect();
        good(28).replacen(
            "right = [\"clock\"]",
            &format!("right = [\"clock\", {}]", names.join(", ")),
            1,
        )
    };
    let cases = [
        ("a font path that is a FIFO", with_font(&fifo)),
        ("/dev/zero as the font", with_font(Path::new("/dev/zero"))),
        ("a font with 45 flipped bits", with_font(&flipped)),
        ("40,000 unknown keys", unknown_keys),
        ("100,000 layout entries", long_layout),
    ];

    let mut cmd = sway.client(common::rstat_bin());
    cmd.env("WAYLAND_DEBUG", "client")
        .env("RUST_BACKTRACE", "1");
    let mut rstat = Guarded::spawn(
        "rstat",
        &mut cmd,
        &sway.runtime_dir().join("rstat-reload-hostile.stderr"),
    );
    expect_area(&sway, &mut rstat, below_top_bar(28));
    support::wait_for_bar(&sway, "HEADLESS-1", 28, PATIENCE)
        .unwrap_or_else(|e| panic!("no bar: {e}\n{}", tail(&rstat.stderr())));
    let at = log(&rstat).len();
    expect_frames(&mut rstat, at, 10);

    for (what, text) in &cases {
        config.swap(text);
        let before = log(&rstat).len();
        rstat.signal(libc::SIGUSR2);
        let verdict = wait_for(PATIENCE, || {
            rstat.assert_running();
            let l = log(&rstat);
            let hay = String::from_utf8_lossy(l.get(before..)?).into_owned();
            ["keeping the running one", "config reloaded from"]
                .iter()
                .filter_map(|n| hay.find(n))
                .min()
                .map(|p| before + p)
        })
        .unwrap_or_else(|| panic!("{what}: no verdict\n{}", tail(&rstat.stderr())));
        // Frames after the verdict close the window whose gaps count.
        expect_frames(&mut rstat, verdict, 5);
        let l = log(&rstat);
        let refused = l[verdict..].starts_with(b"keeping the running one");
        let times = commit_times(&l[before.saturating_sub(4096)..]);
        let widest = widest_gap(&times);
        eprintln!(
            "{what}: {} after {} frames, widest gap between commits {widest:.0} ms",
            if refused { "refused" } else { "applied" },
            commits(&l[before..verdict]),
        );
        // The script asks for a frame every 20 ms; a loop busy validating
        // would leave a gap as long as the validation.
        assert!(
            widest < 1500.0,
            "{what}: the bar committed no frame for {widest:.0} ms while it reloaded\n{}",
            tail(&rstat.stderr())
        );
        if refused {
            let message = String::from_utf8_lossy(&l[before..]).into_owned();
            assert!(
                message.contains(&link.display().to_string()),
                "{what}: the refusal names the file:\n{}",
                tail(&message)
            );
        }
        assert_eq!(
            sway.usable_area("HEADLESS-1"),
            Some(below_top_bar(28)),
            "{what}: the bar's size changed"
        );
    }
    // Hostile files do not stick: a good one still applies.
    config.swap(&good(40));
    rstat.signal(libc::SIGUSR2);
    expect_area(&sway, &mut rstat, below_top_bar(40));
    rstat.assert_running();
    let err = rstat.stderr();
    assert!(!err.contains("panicked"), "rstat panicked:\n{}", tail(&err));
}
