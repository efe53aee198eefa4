//! `strata glm`: generalised linear models (R's `glm`, `MASS::glm.nb`).

use super::{emit, read_model_data};
use strata_core::family::{Family, Link};
use strata_glm::{Glm, RobustKind};

#[derive(clap::Args)]
pub struct GlmArgs {
    /// The CSV file
    #[arg(long, value_name = "FILE")]
    data: String,
    /// R model formula, e.g. "y ~ x + offset(log(n))"
    #[arg(long)]
    formula: String,
    /// The family (negbin: θ estimated, as MASS::glm.nb)
    #[arg(long, value_enum)]
    family: FamilyName,
    /// The link (default: the family's canonical link)
    #[arg(long, value_enum)]
    link: Option<LinkName>,
    /// Column of prior weights
    #[arg(long, value_name = "COLUMN")]
    weights: Option<String>,
    /// Sandwich standard errors: hc0 | hc1 | cluster:COLUMN | hac:LAG (Newey–West, rows in time order)
    #[arg(long, value_name = "KIND")]
    robust: Option<String>,
    /// Print one JSON object
    #[arg(long)]
    json: bool,
}

/// The families of `--family`.
#[derive(Clone, Copy, clap::ValueEnum)]
pub enum FamilyName {
    Gaussian,
    Binomial,
    Poisson,
    Quasipoisson,
    #[value(alias = "Gamma")]
    Gamma,
    #[value(alias = "negative_binomial")]
    Negbin,
}

/// The links of `--link`.
#[derive(Clone, Copy, clap::ValueEnum)]
pub enum LinkName {
    Identity,
    Log,
    Logit,
    Probit,
    Cloglog,
    Inverse,
}

impl FamilyName {
    /// The family, or `None` for the negative binomial, whose θ is estimated.
    fn fixed(self) -> Option<Family> {
        Some(match self {
            Self::Gaussian => Family::Gaussian,
            Self::Binomial => Family::Binomial,
            Self::Poisson => Family::Poisson,
            Self::Quasipoisson => Family::QuasiPoisson,
            Self::Gamma => Family::Gamma,
            Self::Negbin => return None,
        })
    }
}

impl From<LinkName> for Link {
    fn from(link: LinkName) -> Self {
        match link {
            LinkName::Identity => Link::Identity,
            LinkName::Log => Link::Log,
            LinkName::Logit => Link::Logit,
            LinkName::Probit => Link::Probit,
            LinkName::Cloglog => Link::Cloglog,
            LinkName::Inverse => Link::Inverse,
        }
    }
}

pub fn run(args: &GlmArgs) -> Result<(), String> {
    let formula = args.formula.as_str();
    let mut glm = match args.family.fixed() {
        Some(family) => Glm::new(formula, family),
        None => Glm::negative_binomial(formula),
    }
    .map_err(|e| e.to_string())?;
    if let Some(link) = args.link {
        glm = glm.link(link.into()).map_err(|e| e.to_string())?;
    }
    if let Some(weights) = &args.weights {
        glm = glm.weights(weights);
    }
    let robust = args.robust.as_deref();
    let cluster = robust.and_then(|r| r.strip_prefix("cluster:"));
    let frame = read_model_data(&args.data, formula, &[args.weights.as_deref(), cluster])?;
    // The cluster column is kept (its values are shared, not copied); the frame goes to the fit.
    let cluster_values = cluster.map(|c| frame.column(c).cloned().map_err(|e| e.to_string())).transpose()?;
    let fit = glm.fit_owned(frame).map_err(|e| e.to_string())?;
    super::warn_all(&fit.convergence().warnings);
    let summary = match robust {
        None => fit.summary(),
        Some(robust) => {
            let kind = match robust {
                "hc0" => RobustKind::Hc0,
                "hc1" => RobustKind::Hc1,
                other if other.starts_with("hac:") => RobustKind::NeweyWest { lag: parse_lag(other)? },
                other => {
                    let (Some(column), Some(values)) = (other.strip_prefix("cluster:"), &cluster_values) else {
                        return Err(format!("--robust `{other}`: use hc0, hc1, cluster:COLUMN or hac:LAG"));
                    };
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
    emit(args.json, &summary)
}

/// The lag of `hac:LAG`: a whole number below the number of rows a GLM could be fitted to.
fn parse_lag(text: &str) -> Result<usize, String> {
    let lag = text.strip_prefix("hac:").unwrap_or(text);
    match lag.parse::<usize>() {
        Ok(lag) if lag <= 100_000 => Ok(lag),
        _ => Err(format!("--robust hac:LAG needs a whole number of lags from 0 to 100000, not `{lag}`")),
    }
}
