//! Fire-and-forget commands for pointer actions: started without a shell
//! (unless the config asked for one), detached from the bar's stdio, and
//! reaped without ever blocking the bar.

use std::process::{Child, Stdio};

use super::CommandLine;

/// Children started for actions, until they exit.
#[derive(Default)]
pub struct Launcher {
    running: Vec<Child>,
}

impl Launcher {
    /// Starts `cmd`; the error says what could not be started and why.
    pub fn spawn(&mut self, cmd: &CommandLine) -> Result<u32, String> {
        self.reap();
        let mut c = cmd
            .command()
            .ok_or_else(|| "an empty command".to_string())?;
        c.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        let child = c
            .spawn()
            .map_err(|e| format!("cannot run `{}`: {e}", cmd.display()))?;
        let pid = child.id();
        self.running.push(child);
        Ok(pid)
    }

    /// Collects children that have exited (call on SIGCHLD or each tick).
    pub fn reap(&mut self) {
        self.running
            .retain_mut(|c| matches!(c.try_wait(), Ok(None)));
    }

    /// Children still running.
    pub fn running(&self) -> usize {
        self.running.len()
    }
}
