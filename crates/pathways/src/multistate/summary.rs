//! What a multi-state fit reports, as data and as text.

use serde::Serialize;
use std::fmt;

/// State occupation at chosen times, `P(0, τ)` and expected lengths of stay up to τ.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MultiStateSummary {
    /// Always `"multistate"`.
    pub model: &'static str,
    /// State names.
    pub states: Vec<String>,
    /// The times.
    pub times: Vec<f64>,
    /// Occupation probabilities at each time (one list per time).
    pub occupation: Vec<Vec<f64>>,
    /// Their Greenwood-type standard errors.
    pub occupation_std_error: Vec<Vec<f64>>,
    /// The start s of `transition_probabilities`.
    pub from: f64,
    /// `P(s, τ)` (s = 0 unless asked otherwise).
    pub transition_probabilities: Vec<Vec<f64>>,
    /// Their Greenwood-type standard errors.
    pub transition_std_errors: Vec<Vec<f64>>,
    /// Expected time in each state up to τ.
    pub expected_length_of_stay: Vec<f64>,
    /// τ.
    pub tau: f64,
}

impl fmt::Display for MultiStateSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "State occupation probabilities (Aalen–Johansen)")?;
        write!(f, "{:<10}", "time")?;
        for s in &self.states {
            write!(f, " {s:>12}")?;
        }
        for ((t, p), se) in self.times.iter().zip(&self.occupation).zip(&self.occupation_std_error) {
            write!(f, "\n{t:<10}")?;
            for v in p {
                write!(f, " {v:>12.4}")?;
            }
            write!(f, "\n{:<10}", "  (SE)")?;
            for v in se {
                write!(f, " {v:>12.4}")?;
            }
        }
        write!(f, "\n\nTransition probabilities P({}, {}) (rows: state at {}):", self.from, self.tau, self.from)?;
        write!(f, "\n{:<14}", "")?;
        for s in &self.states {
            write!(f, " {s:>12}")?;
        }
        for ((s, row), errors) in
            self.states.iter().zip(&self.transition_probabilities).zip(&self.transition_std_errors)
        {
            write!(f, "\n{s:<14}")?;
            for v in row {
                write!(f, " {v:>12.4}")?;
            }
            write!(f, "\n{:<14}", "  (SE)")?;
            for v in errors {
                write!(f, " {v:>12.4}")?;
            }
        }
        write!(f, "\n\nExpected time in each state up to {}:", self.tau)?;
        let width = self.states.iter().map(|s| s.chars().count()).max().unwrap_or(0);
        for (s, v) in self.states.iter().zip(&self.expected_length_of_stay) {
            write!(f, "\n  {s:<width$} {v:>10.3}")?;
        }
        Ok(())
    }
}
