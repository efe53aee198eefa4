//! `strata sequences`: state sequences from long data or episodes, distances (TraMineR's
//! `seqdist`) and typologies (`hclust(ward.D2)`, PAM, CLARA).

use super::{emit_model, write_file};
use crate::args::{finite, list, range, whole};
use serde::Serialize;
use std::fmt;
use strata_core::csv::{read_csv, CsvOptions};
use strata_core::DataFrame;
use strata_sequences::cluster::{ClaraOptions, Quality};
use strata_sequences::describe::{describe, Description};
use strata_sequences::episodes::{from_episodes, parse_day, Alignment, Grid, Unit};
use strata_sequences::{plot, DistinctDistances, Method, Metric, Sequences, Substitution};

#[derive(clap::Args)]
pub struct SequencesArgs {
    /// The CSV file: one row per (id, time, state), or per episode with --start/--end
    #[arg(long, value_name = "FILE")]
    data: String,
    /// The column identifying each sequence (child)
    #[arg(long, value_name = "COLUMN")]
    id: String,
    /// Long data: the column of time points
    #[arg(long, value_name = "COLUMN")]
    time: Option<String>,
    /// The column of states
    #[arg(long, value_name = "COLUMN", required_unless_present = "wide")]
    state: Option<String>,
    /// Wide data: one row per sequence, every column but --id a position in order
    #[arg(long)]
    wide: bool,
    /// Episodes: the column of start dates (YYYY-MM-DD or day numbers)
    #[arg(long, value_name = "COLUMN", requires = "end")]
    start: Option<String>,
    /// Episodes: the column of end dates (exclusive; empty = still open)
    #[arg(long, value_name = "COLUMN", requires = "start")]
    end: Option<String>,
    /// Episodes: month | week | days:N
    #[arg(long, default_value = "month")]
    unit: String,
    /// Episodes: periods per sequence
    #[arg(long, default_value_t = 36, value_parser = whole(1, usize::MAX))]
    periods: usize,
    /// Episodes: first (time since the first episode) | calendar | a start date YYYY-MM-DD
    #[arg(long, default_value = "first")]
    align: String,
    /// Episodes: states in order of precedence where episodes overlap, comma-separated
    #[arg(long, value_name = "STATES", value_parser = list)]
    precedence: Option<::std::vec::Vec<String>>,
    /// The distance
    #[arg(long, value_enum, default_value = "om")]
    distance: DistanceName,
    /// om: the insertion/deletion cost (default 1)
    #[arg(long, value_parser = finite)]
    indel: Option<f64>,
    /// om, hamming: constant:C (default constant:2 for om, constant:1 for hamming) | trate | FILE.csv (header state,A,B,…; one row per state)
    #[arg(long, value_name = "COSTS")]
    substitution: Option<String>,
    /// The number of clusters of the typology
    #[arg(long, value_name = "K", value_parser = whole(1, usize::MAX))]
    clusters: Option<usize>,
    /// The clustering of the typology
    #[arg(long, value_enum, default_value = "ward")]
    method: MethodName,
    /// Cluster quality (ASW, PBC, HC) for a range of cluster counts, e.g. 2:8 (8 alone means 2:8)
    #[arg(long, value_name = "RANGE", value_parser = quality_range)]
    quality: Option<std::ops::RangeInclusive<usize>>,
    /// Write id,cluster to this CSV file
    #[arg(long, value_name = "FILE", requires = "clusters")]
    clusters_out: Option<String>,
    /// Write the sequence index plot (sorted by cluster) to this SVG file
    #[arg(long, value_name = "FILE", requires = "clusters")]
    plot: Option<String>,
    /// Write the state distribution plot to this SVG file
    #[arg(long, value_name = "FILE")]
    distribution_plot: Option<String>,
    /// Write the cross-sectional entropy by time to this SVG file
    #[arg(long, value_name = "FILE")]
    entropy_plot: Option<String>,
    /// clara: the seed of its samples
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Print one JSON object
    #[arg(long)]
    json: bool,
}

/// The distances of `--distance`.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DistanceName {
    Om,
    Hamming,
    Lcs,
    Dhd,
}

/// The clusterings of `--method`.
#[derive(Clone, Copy, clap::ValueEnum)]
pub enum MethodName {
    Ward,
    Pam,
    Clara,
}

/// A range `a:b` of cluster counts; `b` alone means `2:b`.
fn quality_range(text: &str) -> Result<std::ops::RangeInclusive<usize>, String> {
    let full = if text.contains(':') { text.to_string() } else { format!("2:{text}") };
    range(&full).ok_or_else(|| format!("`{text}`: use a range such as 2:8"))
}

/// Sequences with `distances` in `--json` up to this many (the condensed matrix of 10,000
/// sequences already holds 50 million numbers).
const MAX_DISTANCES_SHOWN: usize = 10_000;

/// States are labels: a state named `c` or `x` is not a DfE suppression code.
fn csv_options() -> CsvOptions {
    CsvOptions { suppression_codes: Vec::new(), ..CsvOptions::default() }
}

fn text_column(frame: &DataFrame, name: &str) -> Result<Vec<String>, String> {
    let column = frame.column(name).map_err(|e| e.to_string())?;
    (0..column.len())
        .map(|i| column.text(i).ok_or_else(|| format!("`{name}` is missing at data row {}", i + 1)))
        .collect()
}

fn read_sequences(args: &SequencesArgs) -> Result<Sequences, String> {
    let (path, id) = (args.data.as_str(), args.id.as_str());
    if args.wide {
        return read_wide(path, id);
    }
    let state = args.state.as_deref().ok_or("--state is required (or --wide)")?;
    if let (Some(start), Some(end)) = (&args.start, &args.end) {
        let columns: Vec<String> = [id, state, start, end].iter().map(ToString::to_string).collect();
        let frame = read_csv(path, &csv_options().with_columns(&columns)).map_err(|e| e.to_string())?;
        let day = |name: &str, allow_missing: bool| -> Result<Vec<f64>, String> {
            let column = frame.column(name).map_err(|e| e.to_string())?;
            (0..column.len())
                .map(|i| match column.text(i) {
                    None if allow_missing => Ok(f64::NAN),
                    None => Err(format!("`{name}` is missing at data row {}", i + 1)),
                    Some(t) => {
                        parse_day(&t).ok_or_else(|| format!("`{name}` at data row {}: `{t}` is not a date", i + 1))
                    }
                })
                .collect()
        };
        let grid = grid(args)?;
        return from_episodes(
            &text_column(&frame, id)?,
            &text_column(&frame, state)?,
            &day(start, false)?,
            &day(end, true)?,
            &grid,
        )
        .map_err(|e| e.to_string());
    }
    let time = args.time.as_deref().ok_or("--time (long data) or --start and --end (episodes) is required")?;
    let columns: Vec<String> = [id, time, state].iter().map(ToString::to_string).collect();
    let frame = read_csv(path, &csv_options().with_columns(&columns)).map_err(|e| e.to_string())?;
    let times: Vec<f64> = frame
        .numbers(time)
        .map_err(|e| e.to_string())?
        .into_iter()
        .enumerate()
        .map(|(i, t)| t.ok_or_else(|| format!("`{time}` is missing or not a number at data row {}", i + 1)))
        .collect::<Result<_, _>>()?;
    Sequences::from_long(&text_column(&frame, id)?, &times, &text_column(&frame, state)?).map_err(|e| e.to_string())
}

/// Wide data: one row per sequence, every column but the id a position in file order (as
/// TraMineR's `seqdef(data[, -1])`); missing values at the end shorten a sequence.
fn read_wide(path: &str, id: &str) -> Result<Sequences, String> {
    let frame = read_csv(path, &csv_options()).map_err(|e| e.to_string())?;
    let ids = text_column(&frame, id)?;
    let positions: Vec<&String> = frame.names().iter().filter(|n| *n != id).collect();
    if positions.is_empty() {
        return Err(format!("--wide: {path} has no columns besides `{id}`"));
    }
    let columns: Vec<&strata_core::Column> =
        positions.iter().map(|n| frame.column(n)).collect::<Result<_, _>>().map_err(|e| e.to_string())?;
    let rows: Vec<Vec<String>> = (0..frame.nrows())
        .map(|r| {
            let states: Vec<Option<String>> = columns.iter().map(|c| c.text(r)).collect();
            let length = states.iter().rposition(Option::is_some).map_or(0, |p| p + 1);
            states[..length]
                .iter()
                .zip(&positions)
                .map(|(s, name)| {
                    s.clone()
                        .ok_or_else(|| format!("sequence `{}` has a missing state in `{name}` before its end", ids[r]))
                })
                .collect()
        })
        .collect::<Result<_, _>>()?;
    Sequences::new(&ids, &rows).map_err(|e| e.to_string())
}

fn grid(args: &SequencesArgs) -> Result<Grid, String> {
    let unit = match args.unit.as_str() {
        "month" => Unit::Month,
        "week" => Unit::Week,
        other => match other.strip_prefix("days:").and_then(|n| n.parse::<u32>().ok()).filter(|&n| n > 0) {
            Some(n) => Unit::Days(n),
            None => return Err(format!("--unit `{other}`: use month, week or days:N")),
        },
    };
    let periods = args.periods;
    let alignment = match args.align.as_str() {
        "first" => Alignment::SinceFirst,
        "calendar" => Alignment::Calendar(None),
        date => Alignment::Calendar(Some(
            parse_day(date).ok_or_else(|| format!("--align `{date}`: use first, calendar or a date YYYY-MM-DD"))?,
        )),
    };
    let precedence = args.precedence.clone();
    Ok(Grid { unit, periods, alignment, precedence, ..Grid::months(periods) })
}

fn metric(args: &SequencesArgs) -> Result<Metric, String> {
    let substitution = |default: f64| -> Result<Substitution, String> {
        match args.substitution.as_deref() {
            None => Ok(Substitution::Constant(default)),
            Some(path) if std::path::Path::new(path).extension().is_some_and(|e| e.eq_ignore_ascii_case("csv")) => {
                cost_matrix(path)
            }
            Some(text) => Substitution::parse(text)
                .ok_or_else(|| format!("--substitution `{text}`: use constant:C (a number), trate or a FILE.csv")),
        }
    };
    if args.indel.is_some() && args.distance != DistanceName::Om {
        return Err("--indel applies to optimal matching (--distance om)".into());
    }
    if args.substitution.is_some() && matches!(args.distance, DistanceName::Lcs | DistanceName::Dhd) {
        return Err("--substitution applies to om and hamming distances".into());
    }
    Ok(match args.distance {
        DistanceName::Om => {
            Metric::OptimalMatching { indel: args.indel.unwrap_or(1.0), substitution: substitution(2.0)? }
        }
        DistanceName::Hamming => Metric::Hamming(substitution(1.0)?),
        DistanceName::Lcs => Metric::LongestCommonSubsequence,
        DistanceName::Dhd => Metric::DynamicHamming,
    })
}

/// A substitution-cost matrix from a CSV file (read as any data file): a header `state,A,B,…`
/// and one row per state, `A,0,2,…`.
fn cost_matrix(path: &str) -> Result<Substitution, String> {
    let frame = read_csv(path, &csv_options()).map_err(|e| e.to_string())?;
    let (first, header) = frame.names().split_first().ok_or_else(|| format!("{path} has no columns"))?;
    let rows = text_column(&frame, first)?;
    let columns = header
        .iter()
        .map(|state| frame.numbers(state).map_err(|_| format!("{path}: the costs of `{state}` are not all numbers")))
        .collect::<Result<Vec<_>, _>>()?;
    let mut costs = vec![f64::NAN; header.len() * header.len()];
    let mut seen = vec![false; header.len()];
    for (r, state) in rows.iter().enumerate() {
        let row = header
            .iter()
            .position(|h| h == state)
            .ok_or_else(|| format!("{path}: row `{state}` is not a state of the header"))?;
        for (c, column) in columns.iter().enumerate() {
            costs[row * header.len() + c] =
                column.get(r).ok_or_else(|| format!("{path}: row `{state}` has no cost for `{}`", header[c]))?;
        }
        seen[row] = true;
    }
    if let Some(missing) = seen.iter().position(|s| !s) {
        return Err(format!("{path}: no row for state `{}`", header[missing]));
    }
    Ok(Substitution::Matrix { states: header.to_vec(), costs })
}

fn method(args: &SequencesArgs, k: usize) -> Method {
    match args.method {
        MethodName::Ward => Method::Ward,
        MethodName::Pam => Method::Pam,
        MethodName::Clara => Method::Clara(ClaraOptions { seed: args.seed, ..ClaraOptions::for_clusters(k) }),
    }
}

#[derive(Serialize)]
struct Membership<'a> {
    id: &'a str,
    cluster: usize,
}

#[derive(Serialize)]
struct Medoid<'a> {
    cluster: usize,
    size: usize,
    id: &'a str,
    sequence: Vec<&'a str>,
    spells: String,
}

#[derive(Serialize)]
struct SequencesOutput<'a> {
    distance: &'static str,
    n_sequences: usize,
    n_distinct: usize,
    states: &'a [String],
    ids: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    distances: Option<Vec<f64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    method: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    n_clusters: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    clusters: Option<Vec<Membership<'a>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    medoids: Option<Vec<Medoid<'a>>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    quality: Vec<Quality>,
    description: Description,
}

impl fmt::Display for SequencesOutput<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} sequences ({} distinct) over states {}; distance {}",
            self.n_sequences,
            self.n_distinct,
            self.states.join(", "),
            self.distance
        )?;
        writeln!(f, "\nMean time in each state:")?;
        for (s, t) in self.states.iter().zip(&self.description.mean_time) {
            writeln!(f, "  {s:<20} {t:>8.2}")?;
        }
        if let (Some(medoids), Some(method)) = (&self.medoids, self.method) {
            writeln!(f, "\nTypology ({method}), {} clusters:", medoids.len())?;
            for m in medoids {
                writeln!(f, "  cluster {} ({} sequences), medoid {}: {}", m.cluster, m.size, m.id, m.spells)?;
            }
        }
        if !self.quality.is_empty() {
            writeln!(f, "\n  k      ASW      PBC       HC")?;
            for q in &self.quality {
                writeln!(f, "  {:<3} {:>7.4}  {:>7.4}  {:>7.4}", q.clusters, q.asw, q.pbc, q.hc)?;
            }
        }
        Ok(())
    }
}

pub fn run(args: &SequencesArgs) -> Result<(), String> {
    let metric = metric(args)?;
    let clusters = args.clusters;
    let method = method(args, clusters.unwrap_or(2));
    let quality_range = args.quality.clone();
    let sequences = read_sequences(args)?;
    let measure = metric.measure(&sequences).map_err(|e| e.to_string())?;
    let n = sequences.len();
    let is_clara = matches!(method, Method::Clara(_));
    if is_clara && quality_range.is_some() {
        return Err("--quality needs the distance matrix; use --method ward or pam".into());
    }
    let shared = (!is_clara).then(|| DistinctDistances::new(&sequences, &measure));
    let typology = match (clusters, &shared) {
        (None, _) => None,
        (Some(k), Some(shared)) => Some(shared.partition(k, method).map_err(|e| e.to_string())?),
        (Some(k), None) => {
            Some(strata_sequences::typology(&sequences, &measure, k, method).map_err(|e| e.to_string())?)
        }
    };
    let quality = match (&quality_range, &shared) {
        (Some(range), Some(shared)) => shared.quality_range(range.clone(), method).map_err(|e| e.to_string())?,
        _ => Vec::new(),
    };
    let description = describe(&sequences);
    if let Some(path) = &args.distribution_plot {
        write_file(path, &plot::distribution_svg(&description, "State distribution by time"))?;
    }
    if let Some(path) = &args.entropy_plot {
        write_file(path, &plot::entropy_chart(&description).to_svg())?;
    }
    let ids = sequences.ids();
    if let Some(t) = &typology {
        if let Some(path) = &args.clusters_out {
            use std::fmt::Write as _;
            let mut text = String::from("id,cluster\n");
            for (id, c) in ids.iter().zip(&t.clusters) {
                let _ = writeln!(text, "\"{}\",{c}", id.replace('"', "\"\""));
            }
            write_file(path, &text)?;
        }
        if let Some(path) = &args.plot {
            write_file(path, &plot::index_svg(&sequences, Some(&t.clusters), "Sequences by cluster"))?;
        }
    }
    let output = SequencesOutput {
        distance: metric.name(),
        n_sequences: n,
        n_distinct: shared.as_ref().map_or_else(|| sequences.distinct().weights.len(), |s| s.distinct.weights.len()),
        states: sequences.alphabet(),
        ids,
        distances: match &shared {
            Some(s) if args.json && n <= MAX_DISTANCES_SHOWN => {
                Some(s.distances.expand(&s.distinct.of).values().to_vec())
            }
            _ => None,
        },
        method: typology.as_ref().map(|_| method.name()),
        n_clusters: clusters,
        clusters: typology
            .as_ref()
            .map(|t| ids.iter().zip(&t.clusters).map(|(id, &cluster)| Membership { id, cluster }).collect()),
        medoids: typology.as_ref().map(|t| {
            t.medoids
                .iter()
                .enumerate()
                .map(|(c, &m)| Medoid {
                    cluster: c + 1,
                    size: t.sizes[c],
                    id: &ids[m],
                    sequence: sequences.states(m),
                    spells: sequences.spells(m),
                })
                .collect()
        }),
        quality,
        description,
    };
    emit_model(args.json, "sequences", &output)
}
