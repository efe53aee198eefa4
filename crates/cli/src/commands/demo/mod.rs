//! `strata demo`: the main job. Generates a synthetic England with known parameters, fits the
//! gradient, multilevel, survival and inequality models, types synthetic assessments by latent
//! classes and children's pathways by sequence analysis, and writes a self-contained HTML report
//! (and the Markdown, SVG plots and every model's JSON), printing how well each model recovers
//! the truth.

mod case_level;
mod html;
mod national;

use crate::args::whole;
use crate::progress::Progress;
use serde::Serialize;
use statrs::distribution::{ChiSquared, ContinuousCDF};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use strata_core::family::Family;
use strata_core::results::normal_quantile;
use strata_core::DataFrame;
use strata_data::{EnglandParameters, SyntheticEngland};
use strata_glm::{Glm, RobustKind};
use strata_inequality::{Distribution, GroupedData, RankOrder};
use strata_multilevel::GeneralizedLinearMixedModel;
use strata_plot::{Chart, Series, BLUE, GREY, RED};

#[derive(clap::Args)]
pub struct DemoArgs {
    /// Folder for the report
    #[arg(long, value_name = "FOLDER", default_value = "strata-report")]
    out: PathBuf,
    /// Random seed
    #[arg(long, default_value_t = 2025)]
    seed: u64,
    /// Number of neighbourhoods (default: England's 32,844 LSOAs)
    #[arg(long, default_value_t = 32_844, value_parser = whole(100, 1_000_000))]
    neighbourhoods: usize,
    /// Number of local authorities
    #[arg(long, default_value_t = 152, value_parser = whole(5, 10_000))]
    authorities: usize,
    /// Children referred in the six authorities of the case-level part
    #[arg(long, default_value_t = 10_000, value_parser = whole(500, 1_000_000))]
    children_followed: usize,
    /// Folder of newer DfE data (as shared/data/england) for the real-data part (default: the tables shipped in strata-data)
    #[arg(long, value_name = "FOLDER")]
    data: Option<String>,
    /// Rerun the synthetic part with this many seeds and report each effect's interval coverage
    #[arg(long, value_parser = whole(1, 1000))]
    replicates: Option<usize>,
}

/// One estimated parameter beside the value it was generated from.
#[derive(Debug, Serialize)]
pub struct Recovery {
    /// What it is.
    pub parameter: String,
    /// The true value.
    pub truth: f64,
    /// The estimate.
    pub estimate: f64,
    /// Lower 95% limit.
    pub lower: f64,
    /// Upper 95% limit.
    pub upper: f64,
    /// Whether the interval covers the truth.
    pub covered: bool,
}

impl Recovery {
    fn new(parameter: &str, truth: f64, estimate: f64, std_error: f64) -> Self {
        let z = normal_quantile(0.975);
        let (lower, upper) = (estimate - z * std_error, estimate + z * std_error);
        Self { parameter: parameter.into(), truth, estimate, lower, upper, covered: lower <= truth && truth <= upper }
    }
}

fn write(dir: &Path, name: &str, text: &str) -> Result<(), String> {
    super::write_file(&dir.join(name).to_string_lossy(), text)
}

fn json<T: Serialize>(dir: &Path, name: &str, value: &T) -> Result<(), String> {
    write(dir, name, &serde_json::to_string_pretty(value).map_err(|e| e.to_string())?)
}

fn column(frame: &DataFrame, name: &str) -> Result<Vec<f64>, String> {
    Ok(frame.numbers(name).map_err(|e| e.to_string())?.into_iter().map(|v| v.unwrap_or(f64::NAN)).collect())
}

/// Exact Poisson interval for a count (Garwood 1936), as rate limits per `per`.
fn poisson_interval(count: f64, population: f64, per: f64) -> (f64, f64) {
    let lower =
        if count > 0.0 { ChiSquared::new(2.0 * count).map_or(0.0, |d| d.inverse_cdf(0.025) / 2.0) } else { 0.0 };
    let upper = ChiSquared::new(2.0 * count + 2.0).map_or(f64::NAN, |d| d.inverse_cdf(0.975) / 2.0);
    (lower / population * per, upper / population * per)
}

/// Builds the report in a hidden folder inside `--out` and moves its files into place only when
/// every step has succeeded, so a failure leaves no half-written report.
pub fn run(args: &DemoArgs) -> Result<(), String> {
    let out = &args.out;
    std::fs::create_dir_all(out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
    let staging = out.join(format!(".strata-partial-{}", std::process::id()));
    std::fs::create_dir_all(&staging).map_err(|e| format!("cannot create {}: {e}", staging.display()))?;
    let seed = args.seed;
    let built = match args.replicates {
        None => build(args, &staging, seed, true).map(|(message, _)| message),
        Some(count) => replicate(args, &staging, seed, count),
    };
    let moved = built.and_then(|message| {
        let entries = std::fs::read_dir(&staging).map_err(|e| format!("cannot read {}: {e}", staging.display()))?;
        for entry in entries {
            let entry = entry.map_err(|e| e.to_string())?;
            let target = out.join(entry.file_name());
            std::fs::rename(entry.path(), &target).map_err(|e| format!("cannot write {}: {e}", target.display()))?;
        }
        Ok(message)
    });
    let _ = std::fs::remove_dir_all(&staging);
    let written = if args.replicates.is_some() { "coverage.md" } else { "report.md" };
    super::out(&format!("{}{}", moved?, out.join(written).display()))
}

/// How often one effect's interval covered it.
#[derive(Serialize)]
struct Coverage<'a> {
    parameter: &'a str,
    replicates: usize,
    covered: usize,
    #[serde(rename = "coverage")]
    share: f64,
}

/// The validity check of the whole pipeline: the synthetic part rebuilt with `count` seeds
/// (`seed`, `seed + 1`, …), and how often each generated effect's 95% interval covers it (about
/// 95% of the time if estimates and standard errors are right), written to `coverage.md` and
/// `coverage.json`.
fn replicate(args: &DemoArgs, out: &Path, seed: u64, count: usize) -> Result<String, String> {
    let mut tallies: Vec<(String, usize, usize)> = Vec::new();
    let mut progress = Progress::new(count);
    for r in 0..count {
        progress.step(&format!("replicate {} of {count} (seed {})", r + 1, seed + r as u64));
        let scratch = out.join(format!("replicate-{r}"));
        std::fs::create_dir_all(&scratch).map_err(|e| format!("cannot create {}: {e}", scratch.display()))?;
        let (_, recovery) = build(args, &scratch, seed + r as u64, false)?;
        let _ = std::fs::remove_dir_all(&scratch);
        for row in recovery {
            match tallies.iter_mut().find(|t| t.0 == row.parameter) {
                Some(t) => {
                    t.1 += 1;
                    t.2 += usize::from(row.covered);
                }
                None => tallies.push((row.parameter, 1, usize::from(row.covered))),
            }
        }
    }
    let mut table = format!(
        "# Coverage of the 95% intervals over {count} replicates (seeds {seed} to {})\n\n\
         | parameter | replicates | covered | coverage |\n|---|---|---|---|\n",
        seed + count as u64 - 1
    );
    let mut rows = Vec::new();
    for (parameter, n, covered) in &tallies {
        let coverage = *covered as f64 / *n as f64;
        let _ = writeln!(table, "| {parameter} | {n} | {covered} | {:.1}% |", 100.0 * coverage);
        rows.push(Coverage { parameter, replicates: *n, covered: *covered, share: coverage });
    }
    progress.finish();
    json(out, "coverage.json", &rows)?;
    write(out, "coverage.md", &table)?;
    Ok(format!("\n{table}\nCoverage written to "))
}

/// Fits every model and writes the report's files into `out`; returns the closing message and
/// the recovery of every generated effect. A `complete` run (not a replicate of `--replicates`)
/// adds the real-data part, which has no generated effects, and the HTML page.
fn build(args: &DemoArgs, out: &Path, seed: u64, complete: bool) -> Result<(String, Vec<Recovery>), String> {
    let out = out.to_path_buf();
    let parameters = EnglandParameters {
        neighbourhoods: args.neighbourhoods,
        local_authorities: args.authorities,
        ..EnglandParameters::default()
    };
    let followed = args.children_followed;
    // A replicate's steps are not drawn: `replicate` reports the replicates.
    let steps = 8 + usize::from(complete);
    let mut progress = if complete { Progress::new(steps) } else { Progress::quiet(steps) };
    let mut report = String::new();
    let mut recovery: Vec<Recovery> = Vec::new();

    progress.step("generating synthetic England");
    let england = SyntheticEngland::generate(&parameters, seed).map_err(|e| e.to_string())?;
    let truth = &england.truth;
    let n = &england.neighbourhoods;
    let children = column(n, "children")?;
    let cla = column(n, "cla")?;
    let deciles = column(n, "imd_decile")?;
    let total_children: f64 = children.iter().sum();
    let total_cla: f64 = cla.iter().sum();
    let _ = writeln!(
        report,
        "# strata demo report\n\nThe study in two strands. **Part 1, national**: a synthetic England (seed {seed}: {} local \
         authorities, {} neighbourhoods, {:.0} children, {:.0} looked after, {:.1} per 10,000) whose every effect is \
         known (sections 1–4), then the real local-authority returns 2013–2025 (section 5). **Part 2, case level**: \
         every child referred over three years in six synthetic authorities with different system conditions, from \
         the factors recorded at assessment to the decision, the pathway and re-referral (sections 6–8). Every \
         synthetic estimate is set beside the value it was generated from in the recovery table at the end.\n\n\
         # Part 1. The national strand\n",
        parameters.local_authorities,
        parameters.neighbourhoods,
        total_children,
        total_cla,
        total_cla / total_children * 1e4
    );

    progress.step("deprivation gradient: rates by decile and inequality indices");
    let mut by_decile = [(0.0, 0.0); 10];
    for i in 0..children.len() {
        let d = deciles[i] as usize - 1;
        by_decile[d].0 += cla[i];
        by_decile[d].1 += children[i];
    }
    let ranks: Vec<f64> = (1..=10).map(f64::from).collect();
    let grouped = GroupedData::new(
        &ranks,
        &by_decile.iter().map(|d| d.1).collect::<Vec<_>>(),
        &by_decile.iter().map(|d| d.0).collect::<Vec<_>>(),
        RankOrder::MostDeprivedFirst,
    )
    .map_err(|e| e.to_string())?;
    let indices = grouped.indices(10_000.0).map_err(|e| e.to_string())?;
    json(&out, "inequality_deciles.json", &indices)?;
    let points: Vec<(f64, f64, f64, f64)> = (0..10)
        .map(|d| {
            let (count, population) = by_decile[d];
            let (low, high) = poisson_interval(count, population, 10_000.0);
            (f64::from(d as u32 + 1), count / population * 1e4, low, high)
        })
        .collect();
    let chart = Chart::new(
        "Children looked after by neighbourhood deprivation",
        "IMD decile (1 = most deprived)",
        "rate per 10,000 children",
    )
    .with(Series::Points { points, colour: BLUE, label: "rate with exact 95% CI".into() });
    write(&out, "gradient.svg", &chart.to_svg())?;
    let chart = Chart::new(
        "Concentration of children in care, least to most deprived",
        "cumulative share of children",
        "cumulative share of children in care",
    )
    .y_range(0.0, 1.0)
    .with(Series::Line { points: vec![(0.0, 0.0), (1.0, 1.0)], colour: GREY, label: "equality".into(), dashed: true })
    .with(Series::Line {
        points: indices.concentration_curve.clone(),
        colour: RED,
        label: format!("concentration index {:.3}", indices.concentration_index),
        dashed: false,
    });
    write(&out, "concentration.svg", &chart.to_svg())?;
    let _ = writeln!(
        report,
        "## 1. The deprivation gradient\n\n![Children looked after per 10,000 by neighbourhood IMD decile, with exact Poisson 95% intervals (rates of the synthetic England)](gradient.svg)\n\nThe most deprived tenth of neighbourhoods has \
         {:.1} times the rate of the least deprived (generated: {:.0}). Slope index of inequality {:.1} per 10,000; \
         relative index (Poisson) {:.2} (95% CI {:.2} to {:.2}); concentration index {:.3}.\n\n\
         ![Concentration curve of children in care over neighbourhoods ranked from least to most deprived (concentration index of grouped data)](concentration.svg)\n",
        indices.ratio_most_to_least,
        parameters.cla_ratio,
        indices.sii,
        indices.rii_poisson,
        indices.rii_poisson_ci95[0],
        indices.rii_poisson_ci95[1],
        indices.concentration_index
    );

    progress.step("negative binomial gradient model with LA-clustered standard errors");
    let glm = Glm::negative_binomial("cla ~ deprivation * la_deprivation + caseload + offset(log(children))")
        .map_err(|e| e.to_string())?;
    let fit = glm.fit(n).map_err(|e| e.to_string())?;
    let la_column = n.column("la").map_err(|e| e.to_string())?;
    let labels: Vec<String> = fit.rows().iter().map(|&i| la_column.text(i).unwrap_or_default()).collect();
    let robust = fit.robust_vcov(&RobustKind::Cluster(labels)).map_err(|e| e.to_string())?;
    let summary = fit.summary_with(Some(&robust), Some("cluster: la".into()));
    json(&out, "gradient_negbin.json", &summary)?;
    let find = |term: &str| summary.coefficients.iter().find(|c| c.term == term).ok_or(format!("no term {term}"));
    let step = find("deprivation")?;
    let interaction = find("deprivation:la_deprivation")?;
    let caseload = find("caseload")?;
    let gradient_recovery = [
        Recovery::new("log rate ratio per deprivation step", truth.cla_step, step.estimate, step.std_error),
        Recovery::new(
            "inverse-intervention interaction",
            truth.interaction,
            interaction.estimate,
            interaction.std_error,
        ),
        Recovery::new("caseload effect", truth.caseload_effect, caseload.estimate, caseload.std_error),
    ];
    let _ = writeln!(
        report,
        "## 2. Gradient model\n\n`cla ~ deprivation * la_deprivation + caseload + offset(log(children))`, negative binomial \
         (θ = {:.1}), standard errors clustered by local authority.\n\n```\n{summary}\n```\n",
        fit.theta().map_or(f64::NAN, |t| t.0)
    );
    recovery.extend(gradient_recovery);

    progress.step("multilevel model: variation between local authorities");
    let glmm = GeneralizedLinearMixedModel::new(
        "cla ~ deprivation * la_deprivation + caseload + offset(log(children)) + (1 | la)",
        Family::Poisson,
    )
    .map_err(|e| e.to_string())?;
    let lmm_fit = glmm.fit(n).map_err(|e| e.to_string())?;
    let lmm_summary = lmm_fit.summary();
    json(&out, "multilevel_glmm.json", &lmm_summary)?;
    let la_sd = lmm_summary.random_effects[0].sdcor;
    let ranef = lmm_fit.ranef();
    let la_names: Vec<String> = (0..parameters.local_authorities).map(|j| format!("LA{:03}", j + 1)).collect();
    let mut caterpillar: Vec<(f64, f64)> = ranef
        .iter()
        .map(|r| {
            let j = la_names.iter().position(|n| *n == r.level).unwrap_or(0);
            (r.value, truth.la_effects[j])
        })
        .collect();
    caterpillar.sort_by(|a, b| a.0.total_cmp(&b.0));
    let chart =
        Chart::new("Local-authority effects (conditional modes), ranked", "rank of authority", "effect on log rate")
            .with(Series::Points {
                points: caterpillar
                    .iter()
                    .enumerate()
                    .map(|(k, (v, _))| (k as f64 + 1.0, *v, f64::NAN, f64::NAN))
                    .collect(),
                colour: BLUE,
                label: "estimated".into(),
            })
            .with(Series::Points {
                points: caterpillar
                    .iter()
                    .enumerate()
                    .map(|(k, (_, t))| (k as f64 + 1.0, *t, f64::NAN, f64::NAN))
                    .collect(),
                colour: GREY,
                label: "generated".into(),
            });
    write(&out, "caterpillar.svg", &chart.to_svg())?;
    let correlation = {
        let (a, b): (Vec<f64>, Vec<f64>) = caterpillar.iter().copied().unzip();
        let (ma, mb) = (a.iter().sum::<f64>() / a.len() as f64, b.iter().sum::<f64>() / b.len() as f64);
        let cov: f64 = a.iter().zip(&b).map(|(x, y)| (x - ma) * (y - mb)).sum();
        cov / (a.iter().map(|x| (x - ma).powi(2)).sum::<f64>() * b.iter().map(|y| (y - mb).powi(2)).sum::<f64>()).sqrt()
    };
    let _ = writeln!(
        report,
        "## 3. Variation between local authorities\n\nA Poisson mixed model of each neighbourhood's count, \
         `cla ~ deprivation * la_deprivation + caseload + offset(log(children)) + (1 | la)` (Laplace): the standard \
         deviation between authorities is {la_sd:.3} (generated: {:.3}; the neighbourhood counts carry extra-Poisson \
         variation too); the estimated authority effects correlate {correlation:.3} with the generated ones.\n\n\
         ![Local-authority effects: the Poisson GLMM's conditional modes beside the generated effects, ranked (section 3 model)](caterpillar.svg)\n\n```\n{lmm_summary}\n```\n",
        truth.la_sd
    );

    progress.step("inequality between local authorities");
    let la = &england.local_authorities;
    let la_children = column(la, "children")?;
    let la_rates: Vec<f64> = column(la, "cla")?.iter().zip(&la_children).map(|(c, k)| c / k * 1e4).collect();
    let distribution = Distribution::weighted(&la_rates, &la_children).map_err(|e| e.to_string())?;
    let la_indices = distribution.summary(&[0.5, 1.0, 2.0]).map_err(|e| e.to_string())?;
    json(&out, "inequality_authorities.json", &la_indices)?;
    let lorenz = distribution.lorenz_curve();
    let chart = Chart::new(
        "Lorenz curve of authorities' rates of children in care",
        "cumulative share of children",
        "cumulative share of children in care",
    )
    .y_range(0.0, 1.0)
    .with(Series::Line { points: vec![(0.0, 0.0), (1.0, 1.0)], colour: GREY, label: "equality".into(), dashed: true })
    .with(Series::Line {
        points: lorenz,
        colour: BLUE,
        label: format!("Gini {:.3}", la_indices.gini.unwrap_or(f64::NAN)),
        dashed: false,
    });
    write(&out, "lorenz.svg", &chart.to_svg())?;
    let _ = writeln!(
        report,
        "## 4. Inequality between local authorities\n\n![Lorenz curve of local authorities' rates of children in care, weighted by children (Gini index)](lorenz.svg)\n\n```\n{la_indices}\n```\n"
    );

    let mut case_report = String::new();
    case_level::run(seed, followed, &out, &mut case_report, &mut recovery, &mut progress)?;
    if complete {
        progress.step("the national strand on real data, 2013–2025 (DfE, Ofsted)");
        national::run(args.data.as_deref(), &out, &mut report)?;
    } else {
        report.push_str(
            "## 5. The national strand on real data\n\nNot part of a replicate (it has no generated effects).\n\n",
        );
    }
    report.push_str(&case_report);

    let mut table = String::from("| parameter | generated | estimate | 95% CI | covered |\n|---|---|---|---|---|\n");
    for r in &recovery {
        let _ = writeln!(
            table,
            "| {} | {:.4} | {:.4} | {:.4} to {:.4} | {} |",
            r.parameter,
            r.truth,
            r.estimate,
            r.lower,
            r.upper,
            if r.covered { "yes" } else { "no" }
        );
    }
    let _ = writeln!(report, "## Parameter recovery\n\n{table}");
    json(&out, "recovery.json", &recovery)?;
    write(&out, "report.md", &report)?;
    if complete {
        write(&out, "report.html", &html::html(&report, &out)?)?;
    }
    progress.finish();
    Ok((format!("\nParameter recovery (truth vs estimate, 95% CI):\n{table}\nReport written to "), recovery))
}
