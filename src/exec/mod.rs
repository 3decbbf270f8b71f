//! Child processes the bar starts: click actions ([`spawn`]) and the custom
//! module's scripts ([`custom`]). Nothing here ever waits for a child: output
//! is read from non-blocking pipes when the event loop says it is readable,
//! and exits are collected with `try_wait`.

pub mod custom;
pub mod i3bar;
pub mod reaper;
pub mod spawn;
pub mod vfork;

use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};

/// A number never handed out before in this process (from 1): names a set
/// of descriptors a module hands the bar (a script run's pipe and pidfd),
/// so the bar tells them from earlier ones that had the same numbers (a
/// closed descriptor's number is the next one opened) without asking the
/// kernel.
pub fn next_serial() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// How to run a command: an argv run directly, or a line for `sh -c`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CommandLine {
    Exec(Vec<String>),
    Shell(String),
}

impl CommandLine {
    /// A `std::process::Command` for it; `None` for an empty argv.
    pub fn command(&self) -> Option<Command> {
        match self {
            CommandLine::Exec(argv) => {
                let (prog, args) = argv.split_first()?;
                let mut c = Command::new(prog);
                c.args(args);
                Some(c)
            }
            CommandLine::Shell(line) => {
                let mut c = Command::new("/bin/sh");
                c.arg("-c").arg(line);
                Some(c)
            }
        }
    }

    /// A short form for messages.
    pub fn display(&self) -> String {
        match self {
            CommandLine::Exec(argv) => argv.join(" "),
            CommandLine::Shell(line) => line.clone(),
        }
    }
}

impl From<&crate::config::Action> for CommandLine {
    fn from(a: &crate::config::Action) -> Self {
        match a {
            crate::config::Action::Exec(v) => CommandLine::Exec(v.clone()),
            crate::config::Action::Shell(s) => CommandLine::Shell(s.clone()),
        }
    }
}
