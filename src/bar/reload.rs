//! Config reloads off the loop. Reading, parsing and validating a config
//! (and loading a changed font) is bounded but can take seconds for a
//! hostile file near the size cap; on the loop the bar would stop drawing
//! for that long. So a reload hands the [`config::Source`] to one worker
//! thread, which sends the plain result back through a
//! [`crate::services::channel`] (an eventfd on the loop); the loop applies
//! it, or keeps the running config and says why.
//!
//! At most one worker runs. A reload asked for while one is in flight
//! supersedes it: the running worker's result is dropped unseen when it
//! arrives, and one new worker reads the source as it is then. So a burst of
//! reloads costs at most two loads, and the last request always wins.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use crate::config::{self, Config, ConfigErrors};
use crate::render::GlyphCache;
use crate::services::{channel, Receiver, Sender};

/// What a worker is handed: where to read, and the running config (a new
/// glyph cache is built only when the new config's fonts differ from it).
#[derive(Clone, Debug)]
pub struct Job {
    /// Where the config is read from.
    pub source: config::Source,
    /// The config the bar runs with.
    pub running: Config,
}

/// A config read and validated, ready to apply.
pub struct Loaded {
    /// The new config.
    pub config: Config,
    /// The file it came from (`None`: the built-in defaults).
    pub path: Option<PathBuf>,
    /// Its fonts' glyphs, when they differ from the running ones.
    pub glyphs: Option<GlyphCache>,
}

/// What one load came to.
pub enum Outcome {
    /// Valid: apply it.
    Loaded(Box<Loaded>),
    /// The config has errors (file, line, column, key).
    Invalid(ConfigErrors),
    /// Valid, but its font cannot be loaded.
    Font(String),
    /// The load itself failed (a panic in a parser, say): the message.
    Failed(String),
}

/// A result for the loop, with when its first request came.
pub struct Done {
    /// The outcome.
    pub outcome: Outcome,
    /// When the reload that led to it was first asked for (the
    /// "reloaded in N ms" message counts from there).
    pub asked: Instant,
}

/// The work one worker does.
pub type Work = Arc<dyn Fn(Job) -> Outcome + Send + Sync>;

/// Reads, validates and (for a new font) loads the glyphs of `job`'s
/// config: what a worker does.
pub fn load(job: Job) -> Outcome {
    let (cfg, path) = match job.source.load() {
        Ok(x) => x,
        Err(errors) => return Outcome::Invalid(errors),
    };
    let glyphs = if fonts_changed(&cfg, &job.running) {
        match glyphs_of(&cfg) {
            Ok(g) => Some(g),
            Err(e) => return Outcome::Font(e),
        }
    } else {
        None
    };
    Outcome::Loaded(Box::new(Loaded {
        config: cfg,
        path,
        glyphs,
    }))
}

/// Whether `new` draws with other fonts than `old` (its own glyph cache).
pub fn fonts_changed(new: &Config, old: &Config) -> bool {
    new.bar.font != old.bar.font
        || new.bar.style_families != old.bar.style_families
        || super::settings::font_sets(new) != super::settings::font_sets(old)
}

/// The glyph cache of `cfg`: the bar's font and every font its styles name.
pub fn glyphs_of(cfg: &Config) -> Result<GlyphCache, String> {
    let mut g = super::settings::glyphs(&cfg.bar.font)?;
    super::settings::add_style_fonts(cfg, &mut g);
    Ok(g)
}

/// The loop's side of reloads: at most one worker in flight, the newest
/// request kept for when it is done.
pub struct Reloader {
    tx: Sender<Outcome>,
    rx: Receiver<Outcome>,
    work: Work,
    /// A worker runs (its result is still to come).
    busy: bool,
    /// A request that came while the worker ran: it supersedes that
    /// worker's result.
    next: Option<Job>,
    /// When the reload in flight was first asked for.
    asked: Option<Instant>,
}

impl Reloader {
    /// A reloader whose workers run [`load`].
    pub fn new() -> std::io::Result<Reloader> {
        Reloader::with_work(Arc::new(load))
    }

    /// A reloader whose workers run `work` (tests hold a worker back).
    pub fn with_work(work: Work) -> std::io::Result<Reloader> {
        let (tx, rx) = channel()?;
        Ok(Reloader {
            tx,
            rx,
            work,
            busy: false,
            next: None,
            asked: None,
        })
    }

    /// The descriptor that is readable when a worker is done.
    pub fn fd(&self) -> std::os::fd::RawFd {
        self.rx.fd()
    }

    /// Whether a worker is in flight.
    pub fn busy(&self) -> bool {
        self.busy
    }

    /// Asks for a reload of `job`: started now when no worker runs,
    /// otherwise kept (replacing any older waiting request) for when the
    /// running one is done.
    pub fn request(&mut self, job: Job) {
        self.asked.get_or_insert_with(Instant::now);
        if self.busy {
            self.next = Some(job);
        } else {
            self.start(job);
        }
    }

    fn start(&mut self, job: Job) {
        self.busy = true;
        let (tx, work) = (self.tx.clone(), self.work.clone());
        // Kept for the case of no thread: `spawn` consumes the closure.
        let here = job.clone();
        let spawned = std::thread::Builder::new()
            .name("rstat-config".into())
            .spawn(move || {
                // The loop is gone only when the bar is exiting.
                let _ = tx.send(run(&*work, job));
            });
        if let Err(e) = spawned {
            // No thread to be had (a process limit): the worker's work,
            // here, once; the loop picks the result up as usual.
            eprintln!("rstat: loading the config on the event loop (no worker thread: {e})");
            let _ = self.tx.send(run(&*self.work, here));
        }
    }

    /// What the worker sent, when it is the answer to the newest request.
    /// A superseded result is dropped here and the waiting request started;
    /// `None` then (and when nothing arrived).
    pub fn take(&mut self) -> Option<Done> {
        let mut got = None;
        // The channel holds our own sender: it never ends while we live.
        let _ = self.rx.drain(|o| got = Some(o));
        let outcome = got?;
        self.busy = false;
        if let Some(job) = self.next.take() {
            self.start(job);
            return None;
        }
        let asked = self.asked.take().unwrap_or_else(Instant::now);
        Some(Done { outcome, asked })
    }
}

/// `work(job)`, a panic in it turned into [`Outcome::Failed`] (the bar
/// keeps its config and goes on).
fn run(work: &(dyn Fn(Job) -> Outcome + Send + Sync), job: Job) -> Outcome {
    catch_unwind(AssertUnwindSafe(|| work(job)))
        .unwrap_or_else(|p| Outcome::Failed(panic_message(&*p)))
}

/// The text of a caught panic's payload.
fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    let what = p
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic".into());
    format!("loading the config failed: {what}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{mpsc, Mutex};
    use std::time::Duration;

    /// Waits (polling the loop's descriptor, as the loop would) until the
    /// reloader hands over a result.
    fn next_done(r: &mut Reloader) -> Done {
        let until = Instant::now() + Duration::from_secs(60);
        loop {
            let mut p = libc::pollfd {
                fd: r.fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one valid pollfd, a bounded wait.
            unsafe { libc::poll(&mut p, 1, 100) };
            if let Some(d) = r.take() {
                return d;
            }
            assert!(Instant::now() < until, "no result from the reload worker");
        }
    }

    fn scratch(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("rstat-reload-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn job(path: &std::path::Path) -> Job {
        Job {
            source: config::Source {
                explicit: Some(path.to_path_buf()),
                kinds: crate::modules::registry::kinds(),
                builtin: None,
            },
            running: crate::modules::registry::default_config(),
        }
    }

    fn height(d: Done) -> u32 {
        match d.outcome {
            Outcome::Loaded(l) => l.config.bar.height,
            Outcome::Invalid(e) => panic!("invalid: {e}"),
            Outcome::Font(e) | Outcome::Failed(e) => panic!("{e}"),
        }
    }

    /// The first worker reads the file, then is held back; meanwhile the
    /// file changes and two more reloads are asked for. Its result is
    /// dropped, one more worker (not two) reads the file as it is now, and
    /// no two workers ever run at once.
    #[test]
    fn reloads_in_quick_succession_apply_the_last_with_one_worker_at_a_time() {
        let dir = scratch("burst");
        let path = dir.join("config.toml");
        std::fs::write(&path, "[bar]\nheight = 30\n").unwrap();
        let (read_tx, read_rx) = mpsc::channel::<u32>();
        let (gate_tx, gate_rx) = mpsc::channel::<()>();
        let gate = Mutex::new(gate_rx);
        let read_tx = Mutex::new(read_tx);
        let (running, most, runs) = (
            Arc::new(AtomicUsize::new(0)),
            Arc::new(AtomicUsize::new(0)),
            Arc::new(AtomicUsize::new(0)),
        );
        let (r2, m2, n2) = (running.clone(), most.clone(), runs.clone());
        let work: Work = Arc::new(move |job| {
            let now = r2.fetch_add(1, Ordering::SeqCst) + 1;
            m2.fetch_max(now, Ordering::SeqCst);
            n2.fetch_add(1, Ordering::SeqCst);
            let out = load(job);
            let h = match &out {
                Outcome::Loaded(l) => l.config.bar.height,
                _ => 0,
            };
            let _ = read_tx.lock().unwrap().send(h);
            let _ = gate.lock().unwrap().recv();
            r2.fetch_sub(1, Ordering::SeqCst);
            out
        });
        let mut r = Reloader::with_work(work).unwrap();
        r.request(job(&path));
        assert_eq!(read_rx.recv_timeout(Duration::from_secs(60)), Ok(30));
        std::fs::write(&path, "[bar]\nheight = 36\n").unwrap();
        r.request(job(&path));
        std::fs::write(&path, "[bar]\nheight = 40\n").unwrap();
        r.request(job(&path));
        assert!(r.busy());
        // Both workers may go on once started (the second starts when the
        // loop sees the first's result).
        gate_tx.send(()).unwrap();
        gate_tx.send(()).unwrap();
        assert_eq!(height(next_done(&mut r)), 40);
        // The first result (30) was superseded; the second worker read 40.
        assert_eq!(read_rx.try_recv(), Ok(40));
        assert!(!r.busy());
        assert_eq!(
            runs.load(Ordering::SeqCst),
            2,
            "one load per burst, then one"
        );
        assert_eq!(most.load(Ordering::SeqCst), 1, "two workers at once");
        // Nothing else is left to come.
        std::thread::sleep(Duration::from_millis(50));
        assert!(r.take().is_none());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn errors_come_back_as_errors_and_a_panic_leaves_the_reloader_working() {
        let dir = scratch("errors");
        let path = dir.join("config.toml");
        std::fs::write(&path, "[bar]\nheight = \"tall\"\n").unwrap();
        let mut r = Reloader::new().unwrap();
        r.request(job(&path));
        match next_done(&mut r).outcome {
            Outcome::Invalid(e) => assert!(e.to_string().contains("config.toml:2:"), "{e}"),
            _ => panic!("a bad height is not an error"),
        }
        let mut r = Reloader::with_work(Arc::new(|job: Job| {
            if job.source.explicit.is_some() {
                panic!("a parser bug");
            }
            load(job)
        }))
        .unwrap();
        r.request(job(&path));
        match next_done(&mut r).outcome {
            Outcome::Failed(e) => assert!(e.contains("a parser bug"), "{e}"),
            _ => panic!("the panic was not reported"),
        }
        let mut defaults = job(&path);
        defaults.source.explicit = None;
        defaults.source.kinds = crate::modules::registry::kinds();
        // XDG lookup: whatever this machine has, it is an answer.
        r.request(defaults);
        let _ = next_done(&mut r);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
