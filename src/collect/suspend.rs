//! Noticing that the machine slept between two ticks.
//!
//! Rates divide a counter's change by the monotonic time between two
//! readings, and the monotonic clock stands still while the machine is
//! suspended. Counters do not all stand still with it: devices are
//! reinitialised at resume (a GPU's RC6 residency, a NIC's statistics can
//! start again from zero), a virtual machine's steal time counts the whole
//! pause. A rate over such a window is a spike or a zero, so the bar
//! notices the sleep and takes fresh baselines instead.
//!
//! `CLOCK_BOOTTIME` is `CLOCK_MONOTONIC` plus the time spent suspended: the
//! difference between the two grows only while the machine sleeps.

use std::time::Duration;

/// A sleep shorter than this is not worth new baselines (and the two clocks
/// are read one after the other, so their difference jitters by a little).
pub const MIN_SLEEP: Duration = Duration::from_millis(500);

/// One reading of both clocks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Clocks {
    /// `CLOCK_MONOTONIC`: stops during a suspend.
    pub monotonic: Duration,
    /// `CLOCK_BOOTTIME`: counts a suspend too.
    pub boottime: Duration,
}

fn read(clock: libc::clockid_t) -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: writes into the timespec we own. Both clocks exist on every
    // kernel this runs on (BOOTTIME since 2.6.39); a failure leaves zeros,
    // which only means no sleep is noticed.
    unsafe { libc::clock_gettime(clock, &mut ts) };
    Duration::new(
        ts.tv_sec.max(0) as u64,
        ts.tv_nsec.clamp(0, 999_999_999) as u32,
    )
}

impl Clocks {
    /// Both clocks now (two vDSO calls, no syscall).
    pub fn now() -> Clocks {
        Clocks {
            monotonic: read(libc::CLOCK_MONOTONIC),
            boottime: read(libc::CLOCK_BOOTTIME),
        }
    }

    /// Time spent suspended up to this reading (since boot).
    fn asleep(self) -> Duration {
        self.boottime.saturating_sub(self.monotonic)
    }
}

/// Compares each tick's clocks with the previous tick's.
#[derive(Clone, Copy, Debug, Default)]
pub struct SleepWatch {
    last: Option<Clocks>,
}

impl SleepWatch {
    /// Whether the machine slept (at least [`MIN_SLEEP`]) since the previous
    /// call, and how long; the first call only remembers `now`.
    pub fn slept(&mut self, now: Clocks) -> Option<Duration> {
        let last = self.last.replace(now)?;
        let d = now.asleep().saturating_sub(last.asleep());
        (d >= MIN_SLEEP).then_some(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(mono: u64, boot: u64) -> Clocks {
        Clocks {
            monotonic: Duration::from_secs(mono),
            boottime: Duration::from_secs(boot),
        }
    }

    #[test]
    fn a_sleep_is_boot_time_running_ahead_of_monotonic_time() {
        let mut w = SleepWatch::default();
        assert_eq!(w.slept(at(100, 130)), None, "the first reading");
        assert_eq!(w.slept(at(101, 131)), None, "an awake second");
        assert_eq!(
            w.slept(at(102, 8 * 3600 + 132)),
            Some(Duration::from_secs(8 * 3600))
        );
        assert_eq!(w.slept(at(103, 8 * 3600 + 133)), None, "awake again");
        // A long awake interval (a tick every hour) is no sleep.
        assert_eq!(w.slept(at(3703, 8 * 3600 + 3733)), None);
    }

    #[test]
    fn this_machine_is_awake() {
        let mut w = SleepWatch::default();
        let a = Clocks::now();
        assert!(a.boottime >= a.monotonic, "{a:?}");
        w.slept(a);
        assert_eq!(w.slept(Clocks::now()), None);
    }
}
