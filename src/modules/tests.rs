use std::time::{Duration, Instant};

use super::*;
use crate::config;

fn cfg(text: &str) -> Config {
    registry::parse(text, "test.toml", None).unwrap_or_else(|e| panic!("{e}"))
}

fn sample() -> Sample {
    let mut s = Sample {
        cpu_percent: 7.4,
        cores: 4,
        load: [0.5, 0.25, 0.125],
        tasks: 321,
        ..Sample::default()
    };
    s.mem.total = 16 << 30;
    s.mem.used = 5 << 30;
    s.mem.available = 11 << 30;
    s.sensors.cpu_temp_c = Some(48.2);
    s
}

fn cx(now: Instant, s: &Sample) -> Context<'_> {
    Context {
        now,
        wall: Duration::new(1_000_000_007, 0),
        sample: s,
    }
}

/// The clock in the centre, the health module at the right.
fn clock_health() -> Config {
    cfg("[bar]\ncenter = [\"clock\"]\nright = [\"health\"]\n")
}

fn texts(out: &[Segment]) -> Vec<&str> {
    out.iter().map(|s| s.text.as_str()).collect()
}

#[test]
fn clock_centre_health_right() {
    let now = Instant::now();
    let mut m = Modules::from_config(&clock_health(), now);
    assert_eq!(m.len(), 2);
    let s = sample();
    assert!(m.due_needs_sample(now));
    assert!(m.update_due(&cx(now, &s)));
    let mut out = Vec::new();
    m.write(&mut out);
    assert_eq!(out.len(), 2);
    assert_eq!(out[0].align, Align::Center);
    assert_eq!(out[1].align, Align::Right);
    assert_eq!(
        out[1].text.as_str(),
        "CPU   7%  MEM  5.0G   48°C  LOAD  0.50"
    );
    assert_eq!(out[1].popup, Some(HEALTH_POPUP));
    assert_eq!(m.owner(0).map(|o| o.name.as_str()), Some("clock"));
    assert_eq!(m.owner(1).map(|o| o.name.as_str()), Some("health"));
    assert!(m.owner(2).is_none());
}

#[test]
fn instances_render_their_own_templates_and_colours() {
    let c = cfg(r##"
[bar]
left = ["cpu", "cpu#big", "load"]
right = ["memory", "temperature"]
[bar.colors]
warning = "#ff0"
critical = "#f00"
[module."cpu#big"]
format = "{usage:>5.1}% of {cores} cores, {tasks} tasks"
warning = 5
critical = { usage = 50 }
[module.memory]
format = "{mem_used_gib:.1}/{mem_total_gib:.0}G swap {swap_percent:.0}%"
[module.temperature]
format = "{temp:>3.0}°C gpu {gpu_busy:>3}"
critical = 40
"##);
    let now = Instant::now();
    let mut m = Modules::from_config(&c, now);
    let s = sample();
    m.update_due(&cx(now, &s));
    let mut out = Vec::new();
    m.write(&mut out);
    assert_eq!(
        texts(&out),
        [
            "CPU   7%",
            "  7.4% of 4 cores, 321 tasks",
            "0.50 0.25 0.12",
            "5.0/16G swap 0%",
            " 48°C gpu  --",
        ]
    );
    let yellow = Rgba::hex(0xffff00ff);
    let red = Rgba::hex(0xff0000ff);
    assert_eq!(out[0].style.fg, Palette::default().foreground);
    assert_eq!(out[1].style.fg, yellow, "usage 7.4 ≥ warning 5");
    assert_eq!(out[4].style.fg, red, "temp 48 ≥ critical 40");
    assert!(out[..3].iter().all(|s| s.align == Align::Left));
    assert!(out[3..].iter().all(|s| s.align == Align::Right));
    assert!(out[0].popup.is_none(), "cpu has no popup by default");
}

#[test]
fn each_instance_updates_on_its_own_interval() {
    let c = cfg(r#"
[bar]
left = ["cpu", "cpu#slow"]
[module."cpu#slow"]
interval_ms = 3000
"#);
    let t0 = Instant::now();
    let mut m = Modules::from_config(&c, t0);
    let mut s = sample();
    m.update_due(&cx(t0, &s));
    // On the wall clock's seconds (cx's wall is a whole second), where a
    // seconds clock ticks too.
    assert_eq!(
        m.next_due(),
        Some(t0 + Duration::from_secs(1) + PAST_SECOND)
    );
    let mut out = Vec::new();
    for sec in 1..=3u64 {
        let now = t0 + Duration::from_secs(sec);
        assert!(m.due_needs_sample(now));
        s.cpu_percent = 10.0 * sec as f32;
        m.update_due(&cx(now, &s));
        m.write(&mut out);
        // The slow instance keeps its old figure until its third second.
        let slow = if sec < 3 { "CPU   7%" } else { "CPU  30%" };
        assert_eq!(texts(&out), [&format!("CPU {:>3}%", sec * 10)[..], slow]);
    }
    // Not due in between: nothing to sample.
    assert!(!m.due_needs_sample(t0 + Duration::from_millis(3500)));
}

#[test]
fn whole_second_intervals_fall_just_past_the_wall_clocks_second() {
    let t0 = Instant::now();
    let i = Duration::from_secs(1);
    // 0.3 s into a second: the next deadline moves back to 0.005.
    let wall = Duration::new(100, 300_000_000);
    let d = next_on_wall_second(t0, i, t0, wall);
    assert_eq!(d, t0 + Duration::from_millis(705));
    // Once there it stays on the phase.
    let wall2 = wall + Duration::from_millis(705);
    assert_eq!(next_on_wall_second(d, i, d, wall2), d + i);
    // 0.8 s into a second: forward to the next second's 0.005.
    let wall = Duration::new(100, 800_000_000);
    assert_eq!(
        next_on_wall_second(t0, i, t0, wall),
        t0 + Duration::from_millis(1205)
    );
    // Not whole seconds: the plain grid.
    let h = Duration::from_millis(1500);
    assert_eq!(next_on_wall_second(t0, h, t0, wall), t0 + h);
    // A clock and a 1 s sample module share their deadline.
    let c = cfg(r#"
[bar]
left = ["cpu", "clock"]
[module.clock]
format = "%H:%M:%S"
"#);
    let mut m = Modules::from_config(&c, t0);
    let s = sample();
    m.update_due(&cx(t0, &s));
    let Some(due) = m.next_due() else {
        panic!("nothing due")
    };
    let now = due;
    assert!(m.due_needs_sample(now));
    m.update_due(&cx(now, &s));
    let dues: Vec<Instant> = m.list.iter().filter_map(|x| x.next_due()).collect();
    assert_eq!(dues.len(), 2);
    assert!(
        dues.iter()
            .all(|d| d.saturating_duration_since(dues[0]) <= DUE_SLACK
                && dues[0].saturating_duration_since(*d) <= DUE_SLACK),
        "{dues:?}"
    );
}

#[test]
fn a_late_tick_skips_missed_intervals() {
    let t0 = Instant::now();
    let i = Duration::from_secs(1);
    assert_eq!(next_on_grid(t0, i, t0), t0 + i);
    assert_eq!(next_on_grid(t0, i, t0 + 5 * i), t0 + 6 * i);
}

#[test]
fn absent_and_text_values_never_cross_thresholds() {
    use crate::config::format::Value;
    let v = [
        Value::Absent,
        Value::Text("x"),
        Value::Int(5),
        Value::Float(0.5),
    ];
    assert_eq!(
        sample::level(&v, &vec![(0, 0.0), (1, 0.0)], &vec![]),
        Level::Normal
    );
    assert_eq!(
        sample::level(&v, &vec![(2, 5.0)], &vec![(3, 1.0)]),
        Level::Warning
    );
    assert_eq!(
        sample::level(&v, &vec![(2, 5.0)], &vec![(3, 0.5)]),
        Level::Critical
    );
}

#[test]
fn every_placeholder_has_a_value() {
    let mut s = sample();
    s.sensors.throttle.push(b"thermal");
    s.sensors.throttle.push(b"power");
    s.sensors.power_profile = Some(crate::collect::sample::ShortStr::from_bytes(b"balanced"));
    s.sensors.cpu_freq_mhz = Some(2400);
    let mut scratch = String::new();
    let v = sample::values(&s, &mut scratch);
    let at = |name: &str| {
        let i = sample::CPU.placeholder(name).unwrap();
        v[i]
    };
    use crate::config::format::Value;
    assert_eq!(at("throttle"), Value::Text("thermal,power"));
    assert_eq!(at("power_profile"), Value::Text("balanced"));
    assert_eq!(at("freq_ghz"), Value::Float(2.4));
    assert_eq!(at("gpu_freq_mhz"), Value::Absent);
    assert_eq!(at("tasks"), Value::Int(321));
    assert_eq!(at("mem_available_gib"), Value::Float(11.0));
    // A broken CPU figure shows as 0, not NaN.
    s.cpu_percent = f32::NAN;
    let v = sample::values(&s, &mut scratch);
    assert_eq!(v[0], Value::Float(0.0));
}

#[test]
fn widths_do_not_change_with_digits() {
    let now = Instant::now();
    let mut m = Modules::from_config(&clock_health(), now);
    let mut a = sample();
    let mut out = Vec::new();
    let mut lens = Vec::new();
    for cpu in [1.0, 10.0, 100.0] {
        a.cpu_percent = cpu;
        m.update_all(&cx(now, &a));
        m.write(&mut out);
        lens.push(out[1].text.as_str().chars().count());
    }
    assert!(lens.windows(2).all(|w| w[0] == w[1]), "{lens:?}");
}

#[test]
fn only_a_per_process_placeholder_needs_the_walk() {
    let now = Instant::now();
    assert!(!Modules::from_config(&registry::default_config(), now).uses_processes());
    let shown = cfg(r#"
[bar]
left = ["cpu", "load"]
[module.cpu]
format = "{usage}% {tasks} tasks"
"#);
    assert!(Modules::from_config(&shown, now).uses_processes());
    let threshold = cfg(r#"
[bar]
left = ["load"]
[module.load]
warning = { tasks = 500 }
"#);
    assert!(Modules::from_config(&threshold, now).uses_processes());
    let none = cfg(r#"
[bar]
left = ["cpu", "memory", "load", "clock"]
"#);
    assert!(!Modules::from_config(&none, now).uses_processes());
}

#[test]
fn the_sampler_reads_only_the_sources_the_modules_show() {
    use crate::collect::system::Needs;
    let now = Instant::now();
    let needs = |toml: &str| Modules::from_config(&cfg(toml), now).sample_needs();
    // The benchmark's bar: CPU and memory, no load average.
    let bench = needs(
        r#"
[bar]
left = ["cpu", "memory"]
right = ["clock"]
[module.cpu]
format = "cpu {usage:>3.0}%"
[module.memory]
format = "mem {mem_percent:>3.0}%"
"#,
    );
    let cpu_mem = Needs {
        cpu: true,
        memory: true,
        ..Needs::NONE
    };
    assert_eq!(bench, cpu_mem);
    assert_eq!(
        needs("[bar]\nleft = [\"clock\"]\n"),
        Needs::NONE,
        "a clock reads no /proc file"
    );
    assert_eq!(
        needs("[bar]\nleft = [\"load\"]\n"),
        Needs {
            load: true,
            ..Needs::NONE
        }
    );
    // The built-in bar: CPU, memory, load and the temperature; no other
    // sensor.
    assert_eq!(
        Modules::from_config(&registry::default_config(), now).sample_needs(),
        Needs {
            cpu: true,
            memory: true,
            load: true,
            temp: true,
            ..Needs::NONE
        }
    );
    // Shown only in a tooltip, a state's format or a threshold: still read.
    let hidden = needs(
        r#"
[bar]
left = ["cpu", "load"]
[module.cpu]
format = "cpu"
tooltip_format = "{usage}%"
[module.load]
format = "x"
format_warning = "{swap_percent}"
warning = { load1 = 4 }
"#,
    );
    assert_eq!(
        hidden,
        Needs {
            cpu: true,
            memory: true,
            load: true,
            ..Needs::NONE
        }
    );
    // A format that shows no figure of them reads none.
    assert_eq!(
        needs("[bar]\nleft = [\"cpu\"]\n[module.cpu]\nformat = \"{cores} cores\"\nwarning = {}\ncritical = {}\n"),
        Needs::NONE
    );
}

#[test]
fn styles_resolve_by_state_and_hover_restyles_one_segment() {
    let mut m = Modules::from_config(
        &cfg(r##"
[bar]
left = ["cpu", "memory"]
[bar.style]
background = "#101010"
[module.cpu.style]
padding = 4
[module.cpu.style.hover]
background = "#ff0000"
[module.cpu.style.critical]
color = "#ffff00"
"##),
        Instant::now(),
    );
    let s = sample();
    m.update_all(&Context {
        now: Instant::now(),
        wall: Duration::ZERO,
        sample: &s,
    });
    let mut out = Vec::new();
    m.write(&mut out);
    assert_eq!(out[0].style.bg, Some(Rgba::hex(0x101010ff)));
    assert_eq!(out[0].style.deco.padding, Some([4; 4]));
    assert_eq!(
        out[1].style.deco.padding, None,
        "memory: only the bar's style"
    );
    assert!(m.set_hover(Some(0)));
    assert!(!m.set_hover(Some(0)));
    let before = out.clone();
    m.write(&mut out);
    assert_eq!(out[0].style.bg, Some(Rgba::hex(0xff0000ff)));
    assert_ne!(out[0].states & config::state::HOVER, 0);
    assert_eq!(out[1], before[1], "the other module is untouched");
    m.set_hover(None);
    m.write(&mut out);
    assert_eq!(out[0].style, before[0].style, "moving away restores it");
}

#[test]
fn groups_share_a_box_and_drawers_open_on_hover() {
    let c = cfg(r##"
[bar]
left = ["clock", "group#d", "load"]
[module."group#d"]
modules = ["cpu", "memory"]
drawer = true
[module."group#d".style]
background = "#112233"
[module."group#d".style.hover]
background = "#445566"
"##);
    let now = Instant::now();
    let mut m = Modules::from_config(&c, now);
    let s = sample();
    m.update_all(&cx(now, &s));
    let mut out = Vec::new();
    m.write(&mut out);
    // Closed: clock, cpu (the drawer's handle), load.
    assert_eq!(out.len(), 3, "{:?}", texts(&out));
    assert_eq!(m.owner(1).map(|o| o.name.as_str()), Some("cpu"));
    let g = out[1].style.group.unwrap();
    assert_eq!(g.bg, Some(Rgba::hex(0x112233ff)));
    assert!(out[0].style.group.is_none() && out[2].style.group.is_none());
    // Hovering the handle opens it, hovered.
    assert!(m.set_hover(Some(1)));
    m.write(&mut out);
    assert_eq!(out.len(), 4);
    assert_eq!(m.owner(2).map(|o| o.name.as_str()), Some("memory"));
    for s in &out[1..3] {
        assert_eq!(s.style.group.unwrap().bg, Some(Rgba::hex(0x445566ff)));
    }
    // Over another member it stays open; off the group it closes.
    assert!(!m.set_hover(Some(1)));
    assert!(m.set_hover(Some(2)));
    m.write(&mut out);
    assert_eq!(out.len(), 4);
    assert!(m.set_hover(Some(3)));
    m.write(&mut out);
    assert_eq!(out.len(), 3);
    assert_eq!(out[1].style.group.unwrap().bg, Some(Rgba::hex(0x112233ff)));
}

#[test]
fn click_drawers_toggle_on_their_handle_and_open_leftwards() {
    let c = cfg(r##"
[bar]
right = ["group#d"]
[module."group#d"]
modules = ["cpu", "memory", "load"]
drawer = { click_to_reveal = true, transition_left_to_right = false }
"##);
    let now = Instant::now();
    let mut m = Modules::from_config(&c, now);
    let s = sample();
    m.update_all(&cx(now, &s));
    let mut out = Vec::new();
    m.write(&mut out);
    assert_eq!(out.len(), 1);
    // Hover alone does not open it.
    m.set_hover(Some(0));
    m.write(&mut out);
    assert_eq!(out.len(), 1);
    assert!(m.click_drawer(0));
    assert!(m.set_hover(Some(0)));
    m.write(&mut out);
    let names: Vec<&str> = (0..3)
        .filter_map(|i| m.owner(i))
        .map(|o| o.name.as_str())
        .collect();
    assert_eq!(names, ["memory", "load", "cpu"], "the handle ends the row");
    // A click on another member is that module's.
    assert!(!m.click_drawer(0));
    assert!(m.click_drawer(2));
    m.set_hover(None);
    m.write(&mut out);
    assert_eq!(out.len(), 1);
}

#[test]
fn tooltip_format_opens_a_tooltip_per_segment_and_tooltip_false_turns_it_off() {
    let mut m = Modules::from_config(
        &cfg(r##"
[bar]
left = ["cpu", "memory", "cpu#quiet", "health"]
[module.cpu]
popup = false
tooltip_format = "busy {usage:.0}% of {cores} & <b>more</b>"
[module.memory]
popup = false
tooltip_format = "<span color='red'>{mem_percent:.0}%</span>"
tooltip = false
[module."cpu#quiet"]
popup = false
"##),
        Instant::now(),
    );
    let s = sample();
    m.update_all(&cx(Instant::now(), &s));
    let mut out = Vec::new();
    m.write(&mut out);
    let p = out[0].popup.expect("cpu has a tooltip");
    assert!(p.is_tooltip());
    // The format's own text is markup as written (a stray `&` is drawn
    // as itself).
    assert_eq!(m.tooltip_of(p), Some("busy 7% of 4 & <b>more</b>"));
    assert_eq!(out[1].popup, None, "tooltip = false");
    assert_eq!(
        out[2].popup, None,
        "no tooltip_format, no tooltip of its own"
    );
    assert_eq!(out[3].popup, Some(HEALTH_POPUP), "the health popup stays");
    assert_eq!(m.tooltip_of(HEALTH_POPUP), None);
    assert_eq!(m.tooltip_of(tooltip_popup(1, 0)), None);
}

#[test]
fn a_format_with_markup_marks_its_segment_and_escapes_its_values() {
    let mut m = Modules::from_config(
        &cfg(r##"
[bar]
left = ["cpu", "memory"]
[module.cpu]
format = "<b>CPU</b> {usage:>3.0}%"
"##),
        Instant::now(),
    );
    let s = sample();
    m.update_all(&cx(Instant::now(), &s));
    let mut out = Vec::new();
    m.write(&mut out);
    assert!(out[0].markup, "{:?}", out[0].text);
    assert_eq!(out[0].text.as_str(), "<b>CPU</b>   7%");
    assert!(!out[1].markup, "a plain format is drawn as it is");
    let t = config::Template::parse("<i>{name}</i>", &["name"]).unwrap();
    let mut s = String::new();
    t.render(&mut s, &[config::format::Value::Text("a<b> & c")]);
    assert_eq!(s, "<i>a&lt;b&gt; &amp; c</i>");
    let t = config::Template::parse("[{name:>6}]", &["name"]).unwrap();
    assert!(!t.markup);
}
