//! The i3bar kind with real status commands from Debian's packages, in a
//! real headless Sway: i3status's and i3blocks' blocks (configs written
//! here) are what `rstat --once --modules` shows; in a running bar, hiding
//! it (SIGUSR1) stops i3status (state `T` in /proc) and showing it again
//! continues it.

mod common;
mod support;

use std::time::Duration;

use serde_json::Value;
use support::proc::{poll_every, run, Guarded};
use support::sway::HeadlessSway;

fn ready() -> bool {
    common::need(common::is_root(), "needs root to start Sway as another uid")
        && common::need(common::have("sway"), "needs sway (apt-get install sway)")
        && common::need(
            common::have("i3status"),
            "needs i3status (apt-get install i3status)",
        )
        && common::need(
            common::have("i3blocks"),
            "needs i3blocks (apt-get install i3blocks)",
        )
}

fn texts(v: &Value, module: &str) -> Vec<String> {
    v[module]["segments"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|s| s["text"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default()
}

fn once(sway: &HeadlessSway) -> Value {
    let mut cmd = sway.client(common::rstat_bin());
    cmd.args([
        "--once",
        "--modules",
        "--collector",
        "procfs",
        "--interval-ms",
        "1500",
    ]);
    let out = run(&mut cmd, Duration::from_secs(30)).unwrap_or_else(|e| panic!("{e}"));
    assert!(out.status.success(), "{}", out.stderr);
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

fn proc_state(pid: u32) -> Option<char> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    s.rsplit_once(')')?.1.trim_start().chars().next()
}

#[test]
fn i3status_and_i3blocks_blocks_are_shown_and_a_hidden_bar_stops_the_command() {
    if !ready() {
        return;
    }
    let _lock = support::compositor_lock();
    let sway = HeadlessSway::start();
    let dir = sway.runtime_dir().join("i3bar");
    std::fs::create_dir_all(&dir).unwrap();
    let i3status = dir.join("i3status.conf");
    std::fs::write(
        &i3status,
        "general {\n  output_format = \"i3bar\"\n  colors = true\n  interval = 1\n}\norder += \"tztime utc\"\norder += \"load\"\ntztime utc {\n  format = \"UTC %Y\"\n  timezone = \"UTC\"\n}\nload {\n  format = \"L %1min\"\n}\n",
    )
    .unwrap();
    let i3blocks = dir.join("i3blocks.conf");
    std::fs::write(
        &i3blocks,
        "[hello]\ncommand=echo hello from i3blocks\ninterval=once\ncolor=#FF0000\n\n[static]\nfull_text=static block\n",
    )
    .unwrap();
    let cfg = sway.config_home().join("rstat");
    std::fs::create_dir_all(&cfg).unwrap();
    std::fs::write(
        cfg.join("config.toml"),
        format!(
            "[bar]\nleft = [\"i3bar#status\", \"i3bar#blocks\"]\ncenter = []\nright = []\n[module.\"i3bar#status\"]\nexec = [\"i3status\", \"-c\", \"{}\"]\n[module.\"i3bar#blocks\"]\nexec = [\"i3blocks\", \"-c\", \"{}\"]\n",
            i3status.display(),
            i3blocks.display()
        ),
    )
    .unwrap();

    let v = once(&sway);
    let year = 1970
        + (std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
            / 31_556_952);
    let status = texts(&v, "i3bar#status");
    assert_eq!(status.len(), 2, "{v}");
    assert!(status[0].starts_with("UTC 20"), "{status:?} (about {year})");
    assert!(status[1].starts_with("L "), "{status:?}");
    assert_eq!(
        texts(&v, "i3bar#blocks"),
        ["hello from i3blocks", "static block"],
        "{v}"
    );

    // The running bar: hide it, the command stops; show it, it continues.
    let mut cmd = sway.client(common::rstat_bin());
    cmd.args(["--collector", "procfs"]);
    let mut bar = Guarded::spawn("rstat", &mut cmd, &sway.runtime_dir().join("rstat.stderr"));
    let pid = poll_every(Duration::from_millis(50), Duration::from_secs(10), || {
        support::proc::descendants(bar.pid())
            .into_iter()
            .find(|&p| {
                std::fs::read_to_string(format!("/proc/{p}/comm"))
                    .is_ok_and(|c| c.trim() == "i3status")
            })
    })
    .unwrap_or_else(|| panic!("i3status never started\n{}", bar.stderr()));
    assert_ne!(proc_state(pid), Some('T'));
    bar.signal(libc::SIGUSR1);
    poll_every(Duration::from_millis(20), Duration::from_secs(5), || {
        (proc_state(pid) == Some('T')).then_some(())
    })
    .unwrap_or_else(|| panic!("hiding did not stop i3status: {:?}", proc_state(pid)));
    bar.signal(libc::SIGUSR1);
    poll_every(Duration::from_millis(20), Duration::from_secs(5), || {
        (proc_state(pid).is_some_and(|s| s != 'T')).then_some(())
    })
    .unwrap_or_else(|| panic!("showing did not continue i3status: {:?}", proc_state(pid)));
    bar.assert_running();
}

/// Columns (x) of the bar's top 28 rows on HEADLESS-1 where a pixel is `want`.
fn columns_of(img: &support::image::Image, want: impl Fn([u8; 3]) -> bool) -> Vec<usize> {
    (0..img.width)
        .filter(|&x| (0..28).any(|y| want(img.px(x, y))))
        .collect()
}

#[test]
fn blocks_are_drawn_with_colour_border_separator_and_min_width_and_clicks_reach_i3blocks() {
    if !ready() {
        return;
    }
    let _lock = support::compositor_lock();
    let sway = HeadlessSway::start();
    let dir = sway.runtime_dir().join("i3bar");
    std::fs::create_dir_all(&dir).unwrap();
    // The runtime dir belongs to Sway's uid; the bar and its children run
    // as root, so the files they write land here.
    let clicked = dir.join("clicked");
    let raw_log = dir.join("raw-clicks");
    let i3blocks = dir.join("i3blocks.conf");
    std::fs::write(
        &i3blocks,
        format!(
            "[hello]\ncommand=[ -n \"$BLOCK_BUTTON\" ] && echo \"$BLOCK_BUTTON $BLOCK_X $BLOCK_Y\" > {}; echo hello\ninterval=once\ncolor=#FF0000\n\n[boxed]\nfull_text=boxed\n\n[wide]\nfull_text=W\nmin_width=300\nalign=right\n",
            clicked.display()
        ),
    )
    .unwrap();
    // A status command of our own that logs the click events it reads.
    let raw = dir.join("raw.sh");
    std::fs::write(
        &raw,
        format!(
            "#!/bin/sh\nprintf '{{\"version\":1,\"click_events\":true}}\\n[\\n[{{\"name\":\"raw\",\"full_text\":\"RAWRAW\",\"color\":\"#0000FF\"}},{{\"name\":\"box\",\"full_text\":\"boxed\",\"border\":\"#00FF00\",\"border_top\":2,\"border_bottom\":2}}]\\n'\nwhile IFS= read -r l; do printf '%s\\n' \"$l\" >> {}; done\n",
            raw_log.display()
        ),
    )
    .unwrap();
    let cfg = sway.config_home().join("rstat");
    std::fs::create_dir_all(&cfg).unwrap();
    std::fs::write(
        cfg.join("config.toml"),
        format!(
            "[bar]\nleft = [\"i3bar#blocks\"]\ncenter = []\nright = [\"i3bar#raw\"]\n[module.\"i3bar#blocks\"]\nexec = [\"i3blocks\", \"-c\", \"{}\"]\n[module.\"i3bar#raw\"]\nexec = [\"sh\", \"{}\"]\n",
            i3blocks.display(),
            raw.display()
        ),
    )
    .unwrap();

    let mut cmd = sway.client(common::rstat_bin());
    cmd.args(["--collector", "procfs"]);
    let mut bar = Guarded::spawn("rstat", &mut cmd, &sway.runtime_dir().join("rstat.stderr"));
    let red = |p: [u8; 3]| p[0] > 200 && p[1] < 60 && p[2] < 60;
    let green = |p: [u8; 3]| p == [0, 255, 0];
    let grey = |p: [u8; 3]| p == [0x66, 0x66, 0x66];
    let blue = |p: [u8; 3]| p[2] > 200 && p[0] < 60 && p[1] < 60;
    let img = poll_every(Duration::from_millis(100), Duration::from_secs(15), || {
        let img = sway.try_screenshot("HEADLESS-1").ok()?;
        (!columns_of(&img, red).is_empty()
            && !columns_of(&img, green).is_empty()
            && !columns_of(&img, blue).is_empty())
        .then_some(img)
    })
    .unwrap_or_else(|| panic!("the blocks' colours were never drawn\n{}", bar.stderr()));

    // `color`: hello's text is red, RAWRAW's blue; `border`: the raw
    // command's last block is boxed in green, top and bottom 2 rows; a grey
    // separator line after hello.
    let r = columns_of(&img, red);
    let g = columns_of(&img, green);
    let b = columns_of(&img, blue);
    let (r0, r1) = (r[0], *r.last().unwrap());
    let (g0, g1) = (g[0], *g.last().unwrap());
    let (b0, b1) = (b[0], *b.last().unwrap());
    assert!(
        b1 < g0,
        "RAWRAW (blue {b0}..{b1}) before its boxed block (green {g0}..{g1})"
    );
    let rows: Vec<usize> = (0..28).filter(|&y| green(img.px(g0 + 3, y))).collect();
    assert!(
        rows.len() >= 4,
        "top and bottom borders, 2 rows each: rows {rows:?}"
    );
    let sep = columns_of(&img, grey);
    assert!(
        sep.iter().any(|&x| x > r1 && x < r1 + 20),
        "a separator line after hello: grey at {sep:?}, red ends at {r1}"
    );
    assert!(
        sep.iter().any(|&x| x > b1 && x < g0),
        "a separator line between RAWRAW and the boxed block: grey at {sep:?}"
    );
    // `min_width` 300 with `align` right: W is drawn near the end of a
    // 300 px box after `boxed`, not right after it.
    let bg = img.dominant(0, 28);
    let last = (0..img.width / 2)
        .rev()
        .find(|&x| (0..28).any(|y| support::image::diff(img.px(x, y), bg) > 24))
        .unwrap_or(0);
    assert!(
        last > r1 + 300,
        "W right-aligned in 300 px: ends at {last}, hello at {r1}"
    );
    eprintln!(
        "red {r0}..{r1}, blue {b0}..{b1}, green {g0}..{g1}, separators {sep:?}, W ends at {last}"
    );

    // A click on hello reaches its script with $BLOCK_BUTTON and where.
    let mut pointer = support::pointer::VirtualPointer::new(&sway).expect("virtual pointer");
    let cx = (r0 + r1) / 2;
    pointer.move_to(cx as u32, 14).expect("move onto hello");
    pointer.click(support::pointer::BTN_LEFT).expect("click");
    let got = poll_every(Duration::from_millis(50), Duration::from_secs(10), || {
        std::fs::read_to_string(&clicked)
            .ok()
            .filter(|s| !s.is_empty())
    })
    .unwrap_or_else(|| {
        panic!(
            "i3blocks never ran hello with BLOCK_BUTTON\n{}",
            bar.stderr()
        )
    });
    let f: Vec<i64> = got
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    assert_eq!(f.len(), 3, "{got:?}");
    assert_eq!(f[0], 1, "left button: {got:?}");
    assert!(
        f[1].abs_diff(cx as i64) <= 1,
        "x {} for a click at {cx}",
        f[1]
    );
    assert!(f[2].abs_diff(14) <= 1, "y {}", f[2]);

    // The raw command gets the whole event: relative position and size.
    let bx = (b0 + b1) / 2;
    pointer.move_to(bx as u32, 10).expect("move onto RAWRAW");
    pointer.click(support::pointer::BTN_RIGHT).expect("click");
    let line = poll_every(Duration::from_millis(50), Duration::from_secs(10), || {
        std::fs::read_to_string(&raw_log).ok().and_then(|s| {
            s.lines()
                .find(|l| l.contains("\"raw\""))
                .map(str::to_string)
        })
    })
    .unwrap_or_else(|| panic!("no click event reached the raw command\n{}", bar.stderr()));
    let ev: Value = serde_json::from_str(line.trim_start_matches(',')).expect("click JSON");
    assert_eq!(ev["button"], 3, "{ev}");
    assert_eq!(
        ev["x"].as_i64().map(|x| x.abs_diff(bx as i64) <= 1),
        Some(true),
        "{ev}"
    );
    assert_eq!(ev["y"], 10, "{ev}");
    let (rx, w) = (
        ev["relative_x"].as_i64().unwrap(),
        ev["width"].as_i64().unwrap(),
    );
    assert!(w > (b1 - b0) as i64 && rx > 0 && rx < w, "{ev}");
    assert_eq!(ev["relative_y"], 10, "{ev}");
    assert_eq!(ev["height"], 28, "{ev}");
    bar.assert_running();
}

#[test]
fn py3status_blocks_are_shown() {
    if !(common::need(common::is_root(), "needs root to start Sway as another uid")
        && common::need(common::have("sway"), "needs sway (apt-get install sway)")
        && common::need(
            common::have("py3status"),
            "needs py3status (apt-get install py3status)",
        ))
    {
        return;
    }
    let _lock = support::compositor_lock();
    let sway = HeadlessSway::start();
    let dir = sway.runtime_dir().join("i3bar");
    std::fs::create_dir_all(&dir).unwrap();
    let conf = dir.join("py3status.conf");
    std::fs::write(
        &conf,
        "general {\n  output_format = \"i3bar\"\n  colors = true\n  interval = 1\n}\norder += \"static_string\"\norder += \"tztime utc\"\nstatic_string {\n  format = \"py3 says hi\"\n}\ntztime utc {\n  format = \"UTC %Y\"\n  timezone = \"UTC\"\n}\n",
    )
    .unwrap();
    let cfg = sway.config_home().join("rstat");
    std::fs::create_dir_all(&cfg).unwrap();
    std::fs::write(
        cfg.join("config.toml"),
        format!(
            "[bar]\nleft = [\"i3bar#py3\"]\ncenter = []\nright = []\n[module.\"i3bar#py3\"]\nexec = [\"py3status\", \"-c\", \"{}\"]\n",
            conf.display()
        ),
    )
    .unwrap();
    let v = once(&sway);
    let got = texts(&v, "i3bar#py3");
    assert!(got.contains(&"py3 says hi".to_string()), "{v}");
    assert!(got.iter().any(|t| t.starts_with("UTC 20")), "{v}");
}

/// Green pixels (each channel within 60 of #00ff00) under the bar, the
/// cursor's image at `cursor` left out.
fn green_below_bar(img: &support::image::Image, cursor: (usize, usize)) -> usize {
    let mut n = 0;
    for y in 28..(28 + 120).min(img.height) {
        for x in 0..img.width {
            // The cursor image hangs down and right of its hot spot.
            let near = (cursor.0.saturating_sub(2)..cursor.0 + 20).contains(&x)
                && (cursor.1.saturating_sub(2)..cursor.1 + 26).contains(&y);
            let p = img.px(x, y);
            if !near && p[0] < 60 && p[1] > 195 && p[2] < 60 {
                n += 1;
            }
        }
    }
    n
}

/// `tooltip_format` per block over real i3status and i3blocks blocks'
/// fields, a status command's own `tooltip` shown without one, both in
/// `--once --modules`; hovering an i3status block in the bar opens its
/// tooltip (the green span drawn under the bar).
#[test]
fn each_block_has_its_tooltip_and_hovering_one_shows_it() {
    if !ready() {
        return;
    }
    let _lock = support::compositor_lock();
    let sway = HeadlessSway::start();
    let dir = sway.runtime_dir().join("i3bar");
    std::fs::create_dir_all(&dir).unwrap();
    let i3status = dir.join("i3status.conf");
    std::fs::write(
        &i3status,
        "general {\n  output_format = \"i3bar\"\n  colors = true\n  interval = 1\n}\norder += \"tztime utc\"\norder += \"load\"\ntztime utc {\n  format = \"UTC %Y\"\n  timezone = \"UTC\"\n}\nload {\n  format = \"L %1min\"\n}\n",
    )
    .unwrap();
    let i3blocks = dir.join("i3blocks.conf");
    std::fs::write(
        &i3blocks,
        "[hello]\ncommand=echo 'hi & co'\ninterval=once\n",
    )
    .unwrap();
    // A status command of our own sending the non-standard `tooltip`.
    let own = dir.join("own.sh");
    std::fs::write(
        &own,
        "#!/bin/sh\nprintf '{\"version\":1}\\n[\\n[{\"name\":\"own\",\"full_text\":\"OWN\",\"tooltip\":\"<i>own</i> tip &amp; more\"}]\\n'\nexec sleep 600\n",
    )
    .unwrap();
    let cfg = sway.config_home().join("rstat");
    std::fs::create_dir_all(&cfg).unwrap();
    std::fs::write(
        cfg.join("config.toml"),
        format!(
            "[bar]\nleft = [\"i3bar#status\", \"i3bar#blocks\", \"i3bar#own\"]\ncenter = []\nright = []\n\
             [module.\"i3bar#status\"]\nexec = [\"i3status\", \"-c\", \"{}\"]\n\
             tooltip_format = \"<span color='#00ff00'>{{name}}</span> {{instance}}: {{full_text}}\"\n\
             [module.\"i3bar#blocks\"]\nexec = [\"i3blocks\", \"-c\", \"{}\"]\ntooltip_format = \"{{name}}|{{instance}}|{{text}}\"\n\
             [module.\"i3bar#own\"]\nexec = [\"sh\", \"{}\"]\n",
            i3status.display(),
            i3blocks.display(),
            own.display()
        ),
    )
    .unwrap();

    let v = once(&sway);
    let tips = |module: &str| -> Vec<Option<String>> {
        v[module]["segments"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|s| s["tooltip"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    let status = texts(&v, "i3bar#status");
    assert_eq!(status.len(), 2, "{v}");
    assert_eq!(
        tips("i3bar#status"),
        [
            Some(format!(
                "<span color='#00ff00'>tztime</span> utc: {}",
                status[0]
            )),
            Some(format!("<span color='#00ff00'>load</span> : {}", status[1])),
        ],
        "{v}"
    );
    // The block's text is escaped into the markup.
    assert_eq!(
        tips("i3bar#blocks"),
        [Some("hello||hi &amp; co".to_string())],
        "{v}"
    );
    assert_eq!(
        tips("i3bar#own"),
        [Some("<i>own</i> tip &amp; more".to_string())],
        "{v}"
    );

    // The running bar: hover the first i3status block.
    let mut cmd = sway.client(common::rstat_bin());
    cmd.args(["--collector", "procfs"]);
    let mut bar = Guarded::spawn("rstat", &mut cmd, &sway.runtime_dir().join("rstat.stderr"));
    let first = poll_every(Duration::from_millis(100), Duration::from_secs(20), || {
        bar.assert_running();
        let img = sway.try_screenshot("HEADLESS-1").ok()?;
        let bg = img.dominant(0, 28);
        (0..img.width / 2).find(|&x| (0..28).any(|y| support::image::diff(img.px(x, y), bg) > 60))
    })
    .unwrap_or_else(|| panic!("no block drawn\n{}", bar.stderr()));
    let mut pointer = support::pointer::VirtualPointer::new(&sway).expect("virtual pointer");
    let at = (first + 8, 14);
    let mut wiggle = 0;
    let green = poll_every(Duration::from_millis(100), Duration::from_secs(20), || {
        // Moved on every look (a first motion may precede the bar's
        // wl_pointer; moving inside the block keeps the rest going).
        wiggle ^= 1;
        pointer
            .move_to((at.0 + wiggle) as u32, at.1 as u32)
            .expect("onto the block");
        bar.assert_running();
        let img = sway.try_screenshot("HEADLESS-1").ok()?;
        let n = green_below_bar(&img, at);
        (n >= 20).then_some(n)
    });
    if green.is_none() {
        let shot = dir.join("hover.png");
        let _ = sway.screenshot_png("0,0 800x200", &shot);
        panic!(
            "hovering the i3status block at {at:?} opened no tooltip (screenshot {})\n{}",
            shot.display(),
            bar.stderr()
        );
    }
    pointer.move_to(300, 600).expect("away");
    let gone = poll_every(Duration::from_millis(100), Duration::from_secs(20), || {
        let img = sway.try_screenshot("HEADLESS-1").ok()?;
        (green_below_bar(&img, (300, 600)) == 0).then_some(())
    });
    assert!(gone.is_some(), "leaving the block closed its tooltip");
    bar.assert_running();
    let err = bar.stderr();
    assert!(
        !err.contains("panicked") && !err.contains("markup:"),
        "{err}"
    );
}
