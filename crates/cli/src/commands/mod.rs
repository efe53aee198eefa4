//! The subcommands and their dispatch.

mod categorical;
mod demo;
mod frame;
mod glm;
mod gradient;
mod inequality;
mod latent;
mod mixed;
mod panel;
mod sequences;
mod survival;

use crate::args::{help, Args, Flag};
use strata_core::csv::{read_csv, CsvOptions};
use strata_core::{DataFrame, Warning};

/// A subcommand.
pub struct Command {
    name: &'static str,
    about: &'static str,
    flags: &'static [Flag],
    run: fn(&Args) -> Result<(), String>,
}

const COMMANDS: &[Command] = &[
    demo::COMMAND,
    frame::COMMAND,
    glm::COMMAND,
    gradient::COMMAND,
    survival::KM,
    survival::LOGRANK,
    survival::COX,
    survival::MSM,
    survival::MULTISTATE,
    survival::CUMINC,
    survival::FINE_GRAY,
    mixed::LMM,
    mixed::GLMM,
    inequality::COMMAND,
    panel::COR,
    panel::FEOLS,
    panel::FEPOIS,
    panel::ITS,
    categorical::MULTINOM,
    categorical::ORDINAL,
    sequences::SEQUENCES,
    latent::LCA,
];

/// Runs the command line `argv` (without the program name).
pub fn run(argv: &[String]) -> Result<(), String> {
    let Some(name) = argv.first() else {
        return out(&usage());
    };
    if name == "--help" || name == "-h" || name == "help" {
        return out(&usage());
    }
    if name == "--version" || name == "-V" {
        return out(&format!("strata {}", env!("CARGO_PKG_VERSION")));
    }
    let Some(command) = COMMANDS.iter().find(|c| c.name == name) else {
        let hint = strata_core::error::suggest(name, COMMANDS.iter().map(|c| c.name))
            .map(|s| format!(" (did you mean `{s}`?)"))
            .unwrap_or_default();
        return Err(format!("unknown subcommand `{name}`{hint}; `strata --help` lists them"));
    };
    // `--strict`, accepted by every subcommand, turns warnings into errors.
    let mut rest: Vec<String> = argv[1..].iter().filter(|a| *a != "--strict").cloned().collect();
    STRICT.store(rest.len() < argv.len() - 1, std::sync::atomic::Ordering::Relaxed);
    // `--threads N`, accepted by every subcommand, as STRATA_THREADS.
    if let Some(k) = rest.iter().position(|a| a == "--threads") {
        let value = rest.get(k + 1).cloned().unwrap_or_default();
        let count = value
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_THREADS).contains(n))
            .ok_or_else(|| format!("--threads: `{value}` is not a whole number from 1 to {MAX_THREADS}"))?;
        strata_core::parallel::set_threads(count);
        rest.drain(k..(k + 2).min(rest.len()));
    }
    let rest = &rest[..];
    if rest.iter().any(|a| a == "--help" || a == "-h") {
        return out(&format!("strata {} — {}\n\nOptions:\n{}", command.name, command.about, help(command.flags)));
    }
    let args = Args::parse(rest, command.flags)?;
    let inputs = INPUT_FLAGS.iter().filter_map(|f| args.get(f)).filter_map(|p| std::fs::canonicalize(p).ok()).collect();
    let _ = INPUTS.set(inputs);
    (command.run)(&args)
}

/// Options whose value is a file the command reads.
const INPUT_FLAGS: &[&str] = &["data", "predict", "substitution"];

/// The files this run reads, which no output may overwrite.
static INPUTS: std::sync::OnceLock<Vec<std::path::PathBuf>> = std::sync::OnceLock::new();

/// The most threads `--threads` may ask for.
const MAX_THREADS: usize = 1024;

/// The most bootstrap replicates an option may ask for.
pub const MAX_REPLICATES: usize = 100_000;

fn usage() -> String {
    let width = COMMANDS.iter().map(|c| c.name.len()).max().unwrap_or(0);
    let list: Vec<String> = COMMANDS.iter().map(|c| format!("  {:<width$}  {}", c.name, c.about)).collect();
    format!(
        "strata {} — statistics for research on child-welfare inequalities\n\n\
         Usage: strata SUBCOMMAND --data FILE.csv [OPTIONS] [--json] [--strict] [--threads N]\n\nSubcommands:\n{}\n\n\
         `strata SUBCOMMAND --help` lists a subcommand's options; `--strict` makes any warning an error; `--threads N` \
         computes on N threads (as STRATA_THREADS; the answer is the same on any number).",
        env!("CARGO_PKG_VERSION"),
        list.join("\n")
    )
}

/// Reads the `--data` file.
pub fn read_data(args: &Args) -> Result<DataFrame, String> {
    load(args.required("data")?, None)
}

/// Reads only the columns of the `--data` file that `formula` refers to, and the `extra`
/// columns options name (weights, clusters): wide files read faster and in less memory.
pub fn read_model_data(args: &Args, formula: &str, extra: &[Option<&str>]) -> Result<DataFrame, String> {
    let mut columns = strata_core::Formula::parse(formula).map_err(|e| e.to_string())?.names();
    columns.extend(extra.iter().flatten().map(|c| (*c).to_string()));
    read_columns(args, &columns)
}

/// Reads only `columns` of the `--data` file.
pub fn read_columns(args: &Args, columns: &[String]) -> Result<DataFrame, String> {
    load(args.required("data")?, Some(columns))
}

/// Reads `path`, whole or only those of `columns` it has: a CSV file, or a Parquet file (named
/// `*.parquet`) when strata is built with the `arrow` feature.
fn load(path: &str, columns: Option<&[String]>) -> Result<DataFrame, String> {
    if std::path::Path::new(path).extension().is_some_and(|e| e.eq_ignore_ascii_case("parquet")) {
        #[cfg(feature = "arrow")]
        return strata_core::interop::arrow::read_parquet(path, columns).map_err(|e| e.to_string());
        #[cfg(not(feature = "arrow"))]
        return Err(format!(
            "{path} is a Parquet file: this strata was built without Parquet support (build it with `--features arrow`)"
        ));
    }
    let options = match columns {
        Some(columns) => CsvOptions::default().with_columns(columns),
        None => CsvOptions::default(),
    };
    read_csv(path, &options).map_err(|e| e.to_string())
}

/// Whether `--strict` was given: a warning is then an error.
static STRICT: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Warnings of this run, for `--json`.
static WARNINGS: std::sync::Mutex<Vec<Warning>> = std::sync::Mutex::new(Vec::new());

/// Prints a warning on stderr and keeps it for the `warnings` array of `--json`.
pub fn warn(warning: Warning) {
    eprintln!("warning: {warning}");
    WARNINGS.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(warning);
}

/// Prints each of a fit's warnings (see [`warn`]).
pub fn warn_all(warnings: &[Warning]) {
    for warning in warnings {
        warn(warning.clone());
    }
}

/// `value` as JSON with a `warnings` array: the model's own and those this run printed, each once.
fn with_warnings<T: serde::Serialize>(value: &T) -> Result<serde_json::Value, String> {
    let mut json = serde_json::to_value(value).map_err(|e| e.to_string())?;
    if let Some(object) = json.as_object_mut() {
        let mut all: Vec<serde_json::Value> =
            object.get("warnings").and_then(serde_json::Value::as_array).cloned().unwrap_or_default();
        for w in WARNINGS.lock().unwrap_or_else(std::sync::PoisonError::into_inner).iter() {
            let w = serde_json::to_value(w).map_err(|e| e.to_string())?;
            if !all.contains(&w) {
                all.push(w);
            }
        }
        object.insert("warnings".into(), all.into());
    }
    Ok(json)
}

/// Under `--strict`, the run's warnings as an error instead of the output.
fn strict(json: &serde_json::Value) -> Result<(), String> {
    if !STRICT.load(std::sync::atomic::Ordering::Relaxed) {
        return Ok(());
    }
    let warnings: Vec<&str> = json
        .get("warnings")
        .and_then(serde_json::Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|w| w.get("message").and_then(serde_json::Value::as_str))
        .collect();
    if warnings.is_empty() {
        Ok(())
    } else {
        Err(format!("--strict: {}", warnings.join("; ")))
    }
}

/// Prints `value` as one JSON object (with its `warnings`), or `text` otherwise.
pub fn emit<T: serde::Serialize + std::fmt::Display>(args: &Args, value: &T) -> Result<(), String> {
    let json = with_warnings(value)?;
    strict(&json)?;
    if args.has("json") {
        out(&serde_json::to_string_pretty(&json).map_err(|e| e.to_string())?)
    } else {
        out(&value.to_string())
    }
}

/// Prints `value` as one JSON object tagged `"model": model` (the tag names the kind of output
/// for pipelines; library types carry none), or `value`'s text otherwise.
pub fn emit_model<T: serde::Serialize + std::fmt::Display>(args: &Args, model: &str, value: &T) -> Result<(), String> {
    let mut json = with_warnings(value)?;
    strict(&json)?;
    if args.has("json") {
        if let Some(object) = json.as_object_mut() {
            object.insert("model".into(), model.into());
        }
        out(&serde_json::to_string_pretty(&json).map_err(|e| e.to_string())?)
    } else {
        out(&value.to_string())
    }
}

/// Writes `text` and a newline to stdout. A reader that has gone away (`strata … | head -1`)
/// ends the program quietly with status 0, as Unix tools do; any other failure to write (a
/// full disk) is an error.
pub fn out(text: &str) -> Result<(), String> {
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    match writeln!(stdout, "{text}").and_then(|()| stdout.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => std::process::exit(0),
        Err(e) => Err(format!("cannot write the output: {e}")),
    }
}

/// The data of `--predict`, checking that `--predictions` says where the results go.
pub fn new_data(args: &Args) -> Result<Option<DataFrame>, String> {
    match (args.get("predict"), args.get("predictions")) {
        (None, None) => Ok(None),
        (Some(path), Some(_)) => read_csv(path, &CsvOptions::default()).map(Some).map_err(|e| e.to_string()),
        _ => Err("--predict NEW.csv and --predictions OUT.csv go together".into()),
    }
}

/// Writes each row's predicted probability of every level to the `--predictions` CSV file.
pub fn write_probabilities(args: &Args, levels: &[String], probabilities: &[Vec<f64>]) -> Result<(), String> {
    use std::fmt::Write as _;
    let path = args.required("predictions")?;
    let quoted: Vec<String> = levels.iter().map(|l| format!("\"{}\"", l.replace('"', "\"\""))).collect();
    let mut text = format!("row,{}\n", quoted.join(","));
    for (i, row) in probabilities.iter().enumerate() {
        let cells: Vec<String> = row.iter().map(ToString::to_string).collect();
        let _ = writeln!(text, "{},{}", i + 1, cells.join(","));
    }
    write_file(path, &text)
}

/// Writes `chart` as SVG to `path`.
pub fn write_chart(path: &str, chart: &strata_plot::Chart) -> Result<(), String> {
    write_file(path, &chart.to_svg())
}

/// Writes `text` to the file `path` atomically — to a temporary file beside it, then renamed —
/// so that a failure leaves no half-written file, and never over a file this run reads.
pub fn write_file(path: &str, text: &str) -> Result<(), String> {
    let target = std::path::Path::new(path);
    if let Ok(canonical) = std::fs::canonicalize(target) {
        if INPUTS.get().is_some_and(|inputs| inputs.contains(&canonical)) {
            return Err(format!("refusing to write {path}: it is an input of this command"));
        }
    }
    let name = target.file_name().ok_or_else(|| format!("cannot write {path}: not a file name"))?;
    let temporary = target.with_file_name(format!(".{}.strata-{}.tmp", name.to_string_lossy(), std::process::id()));
    std::fs::write(&temporary, text).and_then(|()| std::fs::rename(&temporary, target)).map_err(|e| {
        let _ = std::fs::remove_file(&temporary);
        format!("cannot write {path}: {e}")
    })
}

/// Progress of a long command, on stderr: on a terminal a bar of the steps, redrawn in place;
/// elsewhere (a log, a pipe) one line a finished step, `[k/n] what … done in 0.4 s`.
pub struct Progress {
    total: usize,
    done: usize,
    started: std::time::Instant,
    step_started: Option<(String, std::time::Instant)>,
    terminal: bool,
    quiet: bool,
}

impl Progress {
    /// A progress report over `total` steps.
    pub fn new(total: usize) -> Self {
        use std::io::IsTerminal as _;
        Self {
            total,
            done: 0,
            started: std::time::Instant::now(),
            step_started: None,
            terminal: std::io::stderr().is_terminal(),
            quiet: false,
        }
    }

    /// A progress report that draws nothing (work inside a larger, reported task).
    pub fn quiet(total: usize) -> Self {
        Self { quiet: true, ..Self::new(total) }
    }

    fn close_step(&mut self) {
        if let Some((what, started)) = self.step_started.take() {
            if !self.quiet {
                let clear = if self.terminal { "\r\x1b[2K" } else { "" };
                eprintln!(
                    "{clear}[{}/{}] {what} … done in {:.1} s",
                    self.done,
                    self.total,
                    started.elapsed().as_secs_f64()
                );
            }
        }
    }

    /// Starts the next step; on a terminal, draws the bar of steps begun.
    pub fn step(&mut self, what: &str) {
        self.close_step();
        self.done += 1;
        if self.terminal && !self.quiet {
            use std::io::Write as _;
            let width = 30;
            let filled = width * (self.done - 1) / self.total.max(1);
            let bar: String = (0..width).map(|k| if k < filled { '█' } else { '░' }).collect();
            eprint!("\r\x1b[2K{bar} [{}/{}] {what} …", self.done, self.total);
            let _ = std::io::stderr().flush();
        }
        self.step_started = Some((what.to_string(), std::time::Instant::now()));
    }

    /// Ends the last step.
    pub fn finish(&mut self) {
        self.close_step();
        if !self.quiet {
            eprintln!("finished in {:.1} s", self.started.elapsed().as_secs_f64());
        }
    }
}
