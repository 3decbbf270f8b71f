//! Pointer-action commands: run without a shell unless asked, never block,
//! and every child is reaped.

use std::time::{Duration, Instant};

use rstat::exec::spawn::Launcher;
use rstat::exec::CommandLine;

#[test]
fn commands_run_directly_or_through_sh_and_are_reaped() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("spawn-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let direct = dir.join("direct");
    let shell = dir.join("shell");
    let mut l = Launcher::default();

    // An argument with spaces and a `$`: a direct exec passes it untouched.
    let t0 = Instant::now();
    l.spawn(&CommandLine::Exec(vec![
        "/bin/sh".into(),
        "-c".into(),
        "printf '%s' \"$0\" > \"$1\"; sleep 0.3".into(),
        "a $HOME b".into(),
        direct.display().to_string(),
    ]))
    .unwrap();
    l.spawn(&CommandLine::Shell(format!(
        "echo $((6 * 7)) > {}",
        shell.display()
    )))
    .unwrap();
    assert!(
        t0.elapsed() < Duration::from_millis(200),
        "spawning must not wait for the command"
    );
    assert_eq!(l.running(), 2);

    let end = Instant::now() + Duration::from_secs(5);
    while l.running() > 0 {
        assert!(Instant::now() < end, "children were not reaped");
        std::thread::sleep(Duration::from_millis(20));
        l.reap();
    }
    assert_eq!(std::fs::read_to_string(&direct).unwrap(), "a $HOME b");
    assert_eq!(std::fs::read_to_string(&shell).unwrap().trim(), "42");

    let err = l
        .spawn(&CommandLine::Exec(vec!["/nonexistent/btop".into()]))
        .unwrap_err();
    assert!(err.contains("cannot run `/nonexistent/btop`"), "{err}");
    assert!(l.spawn(&CommandLine::Exec(vec![])).is_err());
    let _ = std::fs::remove_dir_all(&dir);
}
