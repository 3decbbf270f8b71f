//! Error-heavy configs cost work in proportion to their size: each error's
//! line and column come from one index of the file (not a rescan per
//! error), at most [`MAX_ERRORS`] are listed (the first in the file, then a
//! count), and suggestions are worked out only for those listed. Measured
//! as a ratio in the same run: ten times the errors must cost about ten
//! times the work, not a hundred (it was quadratic: 40,000 unknown keys took
//! 22 s, 100,000 layout entries 13.8 s).

use std::time::{Duration, Instant};

use rstat::config::MAX_ERRORS;

fn parse(text: &str) -> Result<(), rstat::config::ConfigErrors> {
    rstat::modules::registry::parse(text, "hostile.toml", None).map(|_| ())
}

fn unknown_keys(n: usize) -> String {
    let mut s = String::from("[bar]\n");
    for i in 0..n {
        s.push_str(&format!("bogus{i} = 1\n"));
    }
    s
}

fn layout_of_unknowns(n: usize) -> String {
    let names: Vec<String> = (0..n).map(|i| format!("\"nope#{i}\"")).collect();
    format!("[bar]\nright = [{}]\n", names.join(","))
}

/// The quickest of three runs (the machine is shared).
fn cost(text: &str) -> Duration {
    (0..3)
        .map(|_| {
            let t = Instant::now();
            let _ = parse(text);
            t.elapsed()
        })
        .min()
        .unwrap_or_default()
}

#[test]
fn errors_are_capped_and_listed_in_file_order() {
    let e = parse(&unknown_keys(5000)).unwrap_err();
    assert_eq!(e.0.len(), MAX_ERRORS + 1, "the listed ones and a count");
    for (i, err) in e.0[..MAX_ERRORS].iter().enumerate() {
        assert_eq!(err.line, i + 2, "{err}");
        assert!(err.message.contains(&format!("`bogus{i}`")), "{err}");
    }
    let last = e.0.last().unwrap();
    assert!(
        last.message
            .contains(&format!("{} more errors not listed", 5000 - MAX_ERRORS)),
        "{last}"
    );
    // On one long line: columns still right.
    let text = layout_of_unknowns(3000);
    let e = parse(&text).unwrap_err();
    let third = &e.0[2];
    let at = text.find("\"nope#2\"").unwrap();
    assert_eq!(
        (third.line, third.column),
        (2, at - text.find("right").unwrap() + 1)
    );
    assert!(third.message.contains("`nope#2`"), "{third}");
}

#[test]
fn ten_times_the_errors_cost_about_ten_times_the_work() {
    for (what, make) in [
        ("unknown keys", unknown_keys as fn(usize) -> String),
        ("layout entries", layout_of_unknowns),
    ] {
        let (small, big) = (make(4_000), make(40_000));
        let (a, b) = (cost(&small), cost(&big));
        let ratio = b.as_secs_f64() / a.as_secs_f64().max(1e-6);
        eprintln!("{what}: 4,000 in {a:?}, 40,000 in {b:?} ({ratio:.1}x)");
        assert!(
            ratio < 35.0,
            "{what}: 10x the errors cost {ratio:.0}x the work (quadratic?)"
        );
    }
}

/// One hostile config file: what it is called in messages, and how to make
/// it in a scratch directory (returning the path to load).
pub struct Case {
    pub name: &'static str,
    pub make: fn(&std::path::Path) -> std::path::PathBuf,
}

/// How long any one case may take to be refused or accepted: far above
/// what each takes (under 1 s, debug build), so a loaded machine passes and
/// a blocked or unbounded read still fails.
const CASE_BOUND: Duration = Duration::from_secs(20);

fn write(dir: &std::path::Path, name: &str, text: &[u8]) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write a case");
    p
}

/// The special, huge and error-heavy files the loader is fuzzed with. The
/// font cases (a FIFO or `/dev/zero` as `font.path`, corrupt fonts) join
/// this list from the text helper's side: add a [`Case`] whose file names
/// such a font.
pub fn hostile_cases() -> Vec<Case> {
    vec![
        Case {
            name: "a FIFO with no writer",
            make: |d| {
                let p = d.join("fifo.toml");
                let c = std::ffi::CString::new(p.to_str().unwrap()).unwrap();
                // SAFETY: mkfifo with a valid C path.
                assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
                p
            },
        },
        Case {
            name: "/dev/zero",
            make: |_| "/dev/zero".into(),
        },
        Case {
            name: "/dev/null",
            make: |_| "/dev/null".into(),
        },
        Case {
            name: "a directory",
            make: |d| {
                let p = d.join("dir.toml");
                std::fs::create_dir_all(&p).unwrap();
                p
            },
        },
        Case {
            name: "a symlink loop",
            make: |d| {
                let p = d.join("loop.toml");
                let _ = std::os::unix::fs::symlink(&p, &p);
                p
            },
        },
        Case {
            name: "a 64 MiB file",
            make: |d| {
                let p = d.join("huge.toml");
                let f = std::fs::File::create(&p).unwrap();
                f.set_len(64 << 20).unwrap();
                p
            },
        },
        Case {
            name: "40,000 unknown keys",
            make: |d| write(d, "keys.toml", unknown_keys(40_000).as_bytes()),
        },
        Case {
            name: "100,000 layout entries",
            make: |d| write(d, "layout.toml", layout_of_unknowns(100_000).as_bytes()),
        },
        Case {
            name: "10,000 module tables with a bad placeholder each",
            make: |d| {
                let mut s = String::new();
                for i in 0..10_000 {
                    s.push_str(&format!("[module.\"cpu#{i}\"]\nformat = \"{{usag}}\"\n"));
                }
                write(d, "tables.toml", s.as_bytes())
            },
        },
        Case {
            name: "invalid UTF-8",
            make: |d| write(d, "bytes.toml", b"[bar]\nheight = \xff\xfe\n"),
        },
        Case {
            name: "a 3 MB string",
            make: |d| {
                let s = format!("[module.clock]\nformat = \"{}\"\n", "%".repeat(3 << 20));
                write(d, "string.toml", s.as_bytes())
            },
        },
        Case {
            name: "deeply nested arrays",
            make: |d| {
                let s = format!("x = {}{}\n", "[".repeat(100_000), "]".repeat(100_000));
                write(d, "nested.toml", s.as_bytes())
            },
        },
    ]
}

#[test]
fn special_huge_and_error_heavy_files_are_refused_in_bounded_time() {
    let dir = std::env::temp_dir().join(format!("rstat-hostile-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let kinds = rstat::modules::registry::kinds();
    for case in hostile_cases() {
        let path = (case.make)(&dir);
        let (tx, rx) = std::sync::mpsc::channel();
        let t0 = Instant::now();
        let k = kinds.clone();
        std::thread::spawn(move || {
            let r = rstat::config::load(&path, &k.0);
            let _ = tx.send(r.map(|_| ()).map_err(|e| e.to_string()));
        });
        let got = rx.recv_timeout(CASE_BOUND).unwrap_or_else(|_| {
            panic!(
                "{}: not refused within {CASE_BOUND:?} (blocked or unbounded)",
                case.name
            )
        });
        let took = t0.elapsed();
        // Refused (most) or accepted (a long but valid string): either way
        // in bounded time and with a bounded report.
        let msg = got.err().unwrap_or_else(|| "accepted".into());
        eprintln!(
            "{}: {took:?}: {}",
            case.name,
            msg.lines()
                .last()
                .unwrap_or("")
                .chars()
                .take(120)
                .collect::<String>()
        );
        assert!(
            msg.lines().count() <= MAX_ERRORS + 1,
            "{}: capped",
            case.name
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
