//! Progress on stderr. On a terminal, bars drawn by indicatif: the demo's steps, and the
//! library's long loops (bootstrap replicates, random starts, a range of class counts) reported
//! through `strata_core::progress`. Elsewhere (a log, a pipe) no bar is drawn: the demo writes one
//! line a finished step, `[k/n] what … done in 0.4 s`, and the library's loops are silent.

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal as _;
use std::sync::{LazyLock, Mutex, PoisonError};
use std::time::Instant;

/// Every bar of this run, drawn together below the lines printed above them.
static BARS: LazyLock<MultiProgress> = LazyLock::new(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()));

fn terminal() -> bool {
    std::io::stderr().is_terminal()
}

fn style() -> ProgressStyle {
    ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} ({elapsed}, about {eta} left)")
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("█▌░")
}

/// Draws the library's tasks as bars when stderr is a terminal.
pub fn install() {
    if terminal() {
        let _ = strata_core::progress::set_observer(Box::new(LibraryBar(Mutex::new(None))));
    }
}

/// The bar of the library's current task.
struct LibraryBar(Mutex<Option<ProgressBar>>);

impl strata_core::progress::Observer for LibraryBar {
    fn start(&self, what: &str, total: u64) {
        let bar = BARS.add(ProgressBar::new(total).with_style(style()).with_message(what.to_string()));
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(bar);
    }

    fn advance(&self, units: u64) {
        if let Some(bar) = &*self.0.lock().unwrap_or_else(PoisonError::into_inner) {
            bar.inc(units);
        }
    }

    fn finish(&self) {
        if let Some(bar) = self.0.lock().unwrap_or_else(PoisonError::into_inner).take() {
            bar.finish_and_clear();
            BARS.remove(&bar);
        }
    }
}

/// The steps of a long command (the demo): on a terminal a bar of the steps with the current
/// one named, and above it a line a finished step; elsewhere only the lines.
pub struct Progress {
    total: usize,
    done: usize,
    started: Instant,
    step_started: Option<(String, Instant)>,
    bar: Option<ProgressBar>,
    quiet: bool,
}

impl Progress {
    /// A progress report over `total` steps.
    pub fn new(total: usize) -> Self {
        let bar = terminal().then(|| BARS.add(ProgressBar::new(total as u64).with_style(style())));
        Self { total, done: 0, started: Instant::now(), step_started: None, bar, quiet: false }
    }

    /// A progress report that draws nothing (work inside a larger, reported task).
    pub fn quiet(total: usize) -> Self {
        Self { total, done: 0, started: Instant::now(), step_started: None, bar: None, quiet: true }
    }

    fn close_step(&mut self) {
        if let Some((what, started)) = self.step_started.take() {
            if !self.quiet {
                let line =
                    format!("[{}/{}] {what} … done in {:.1} s", self.done, self.total, started.elapsed().as_secs_f64());
                say(&line);
            }
            if let Some(bar) = &self.bar {
                bar.inc(1);
            }
        }
    }

    /// Starts the next step; on a terminal, names it beside the bar.
    pub fn step(&mut self, what: &str) {
        self.close_step();
        self.done += 1;
        if let Some(bar) = &self.bar {
            bar.set_message(what.to_string());
        }
        self.step_started = Some((what.to_string(), Instant::now()));
    }

    /// Ends the last step.
    pub fn finish(&mut self) {
        self.close_step();
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
            BARS.remove(&bar);
        }
        if !self.quiet {
            say(&format!("finished in {:.1} s", self.started.elapsed().as_secs_f64()));
        }
    }
}

/// A line on stderr, above the bars when they are drawn.
fn say(line: &str) {
    if terminal() {
        let _ = BARS.println(line);
    } else {
        eprintln!("{line}");
    }
}
