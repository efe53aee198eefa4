//! `strata glm`: generalised linear models (R's `glm`, `MASS::glm.nb`).

use super::{emit, read_model_data, Command};
use crate::args::{switch, value, Args};
use strata_core::family::{Family, Link};
use strata_glm::{Glm, RobustKind};

pub const COMMAND: Command = Command {
    name: "glm",
    about: "generalised linear model: gaussian, binomial, poisson, quasipoisson, gamma, negbin",
    flags: &[
        value("data", "the CSV file"),
        value("formula", "R model formula, e.g. \"y ~ x + offset(log(n))\""),
        value("family", "gaussian | binomial | poisson | quasipoisson | gamma | negbin (θ estimated)"),
        value("link", "identity | log | logit | probit | cloglog | inverse (default: the family's)"),
        value("weights", "column of prior weights"),
        value(
            "robust",
            "hc0 | hc1 | cluster:COLUMN | hac:LAG (Newey–West, rows in time order) for sandwich standard errors",
        ),
        switch("json", "print one JSON object"),
    ],
    run,
};

fn parse_link(text: &str) -> Result<Link, String> {
    Ok(match text {
        "identity" => Link::Identity,
        "log" => Link::Log,
        "logit" => Link::Logit,
        "probit" => Link::Probit,
        "cloglog" => Link::Cloglog,
        "inverse" => Link::Inverse,
        _ => return Err(format!("unknown link `{text}` (identity, log, logit, probit, cloglog, inverse)")),
    })
}

fn run(args: &Args) -> Result<(), String> {
    let formula = args.required("formula")?;
    let family = args.required("family")?;
    let mut glm = match family {
        "negbin" | "negative_binomial" => Glm::negative_binomial(formula),
        other => {
            let family = match other {
                "gaussian" => Family::Gaussian,
                "binomial" => Family::Binomial,
                "poisson" => Family::Poisson,
                "quasipoisson" => Family::QuasiPoisson,
                "gamma" | "Gamma" => Family::Gamma,
                _ => {
                    return Err(format!(
                        "unknown family `{other}` (gaussian, binomial, poisson, quasipoisson, gamma, negbin)"
                    ))
                }
            };
            Glm::new(formula, family)
        }
    }
    .map_err(|e| e.to_string())?;
    if let Some(link) = args.get("link") {
        glm = glm.link(parse_link(link)?).map_err(|e| e.to_string())?;
    }
    if let Some(weights) = args.get("weights") {
        glm = glm.weights(weights);
    }
    let cluster = args.get("robust").and_then(|r| r.strip_prefix("cluster:"));
    let frame = read_model_data(args, formula, &[args.get("weights"), cluster])?;
    let fit = glm.fit(&frame).map_err(|e| e.to_string())?;
    super::warn_all(&fit.convergence().warnings);
    let summary = match args.get("robust") {
        None => fit.summary(),
        Some(robust) => {
            let kind = match robust {
                "hc0" => RobustKind::Hc0,
                "hc1" => RobustKind::Hc1,
                other if other.starts_with("hac:") => RobustKind::NeweyWest { lag: parse_lag(other)? },
                other => {
                    let Some(column) = other.strip_prefix("cluster:") else {
                        return Err(format!("--robust `{other}`: use hc0, hc1, cluster:COLUMN or hac:LAG"));
                    };
                    let values = frame.column(column).map_err(|e| e.to_string())?;
                    let labels = fit
                        .rows()
                        .iter()
                        .map(|&i| {
                            values
                                .text(i)
                                .ok_or_else(|| format!("cluster column `{column}` is missing at data row {}", i + 1))
                        })
                        .collect::<Result<Vec<_>, _>>()?;
                    RobustKind::Cluster(labels)
                }
            };
            let covariance = fit.robust_vcov(&kind).map_err(|e| e.to_string())?;
            let mut summary = fit.summary_with(Some(&covariance), Some(robust.to_string()));
            if matches!(kind, RobustKind::NeweyWest { .. }) {
                summary.model = "glm_hac";
            }
            summary
        }
    };
    emit(args, &summary)
}

/// The lag of `hac:LAG`: a whole number below the number of rows a GLM could be fitted to.
pub fn parse_lag(text: &str) -> Result<usize, String> {
    let lag = text.strip_prefix("hac:").unwrap_or(text);
    match lag.parse::<usize>() {
        Ok(lag) if lag <= 100_000 => Ok(lag),
        _ => Err(format!("--robust hac:LAG needs a whole number of lags from 0 to 100000, not `{lag}`")),
    }
}
