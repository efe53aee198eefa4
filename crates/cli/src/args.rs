//! A small command-line parser: `--flag value`, `--flag=value` and `--switch`, validated
//! against each subcommand's list so that a misspelt option is an error, not ignored.

use std::collections::BTreeMap;

/// One option a subcommand accepts.
pub struct Flag {
    /// The name without the leading dashes.
    pub name: &'static str,
    /// Whether it takes a value.
    pub takes_value: bool,
    /// One line of help.
    pub help: &'static str,
}

/// The non-empty, trimmed items of a comma-separated option value (`a, b,c` → `a`, `b`, `c`).
pub fn list(text: &str) -> Vec<String> {
    text.split(',').map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect()
}

/// A range `a:b` of whole numbers with `1 ≤ a ≤ b`, or `None`.
pub fn range(text: &str) -> Option<std::ops::RangeInclusive<usize>> {
    let (a, b) = text.split_once(':')?;
    match (a.trim().parse::<usize>(), b.trim().parse::<usize>()) {
        (Ok(a), Ok(b)) if a >= 1 && a <= b => Some(a..=b),
        _ => None,
    }
}

/// `v` as a finite number, or an error naming option `name`.
fn finite(name: &str, v: &str) -> Result<f64, String> {
    match v.trim().parse::<f64>() {
        Ok(x) if x.is_finite() => Ok(x),
        Ok(_) => Err(format!("--{name}: `{v}` is not a finite number")),
        Err(_) => Err(format!("--{name}: `{v}` is not a number")),
    }
}

/// Shorthand for a flag that takes a value.
pub const fn value(name: &'static str, help: &'static str) -> Flag {
    Flag { name, takes_value: true, help }
}

/// Shorthand for a switch.
pub const fn switch(name: &'static str, help: &'static str) -> Flag {
    Flag { name, takes_value: false, help }
}

/// Parsed options.
#[derive(Debug, Default)]
pub struct Args {
    values: BTreeMap<String, String>,
    switches: Vec<String>,
}

impl Args {
    /// Parses `argv` (after the subcommand) against `flags`.
    pub fn parse(argv: &[String], flags: &[Flag]) -> Result<Self, String> {
        let mut args = Self::default();
        let mut i = 0;
        while i < argv.len() {
            let arg = &argv[i];
            let Some(body) = arg.strip_prefix("--") else {
                return Err(format!("unexpected argument `{arg}` (options start with --)"));
            };
            let (name, inline) = match body.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (body, None),
            };
            let Some(flag) = flags.iter().find(|f| f.name == name) else {
                let names: Vec<&str> = flags.iter().map(|f| f.name).collect();
                let hint = strata_core::error::suggest(name, names.iter().copied())
                    .map(|s| format!(" (did you mean --{s}?)"))
                    .unwrap_or_default();
                return Err(format!("unknown option --{name}{hint}"));
            };
            if flag.takes_value {
                let value = if let Some(v) = inline {
                    v
                } else {
                    i += 1;
                    argv.get(i).cloned().ok_or_else(|| format!("--{name} needs a value"))?
                };
                args.values.insert(name.to_string(), value);
            } else {
                if inline.is_some() {
                    return Err(format!("--{name} takes no value"));
                }
                args.switches.push(name.to_string());
            }
            i += 1;
        }
        Ok(args)
    }

    /// The value of an option, if given.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// The value of a required option.
    pub fn required(&self, name: &str) -> Result<&str, String> {
        self.get(name).ok_or_else(|| format!("--{name} is required"))
    }

    /// The finite numbers of a comma-separated option, if given.
    ///
    /// # Errors
    /// A value that is not a finite number, naming the option.
    pub fn numbers(&self, name: &str) -> Result<Option<Vec<f64>>, String> {
        self.get(name).map(|list| list.split(',').map(|v| finite(name, v)).collect()).transpose()
    }

    /// A finite number (`default` when the option is absent).
    ///
    /// # Errors
    /// A value that is not a finite number (`NaN`, `inf`), naming the option.
    pub fn number(&self, name: &str, default: f64) -> Result<f64, String> {
        self.get(name).map_or(Ok(default), |v| finite(name, v))
    }

    /// A whole number between `low` and `high` (`default` when the option is absent); the bound
    /// keeps a value from exhausting memory or time, and the message says it.
    ///
    /// # Errors
    /// A value that is not a whole number or lies outside the bounds, naming the option.
    pub fn whole(&self, name: &str, default: usize, low: usize, high: usize) -> Result<usize, String> {
        let Some(v) = self.get(name) else { return Ok(default) };
        match v.trim().parse::<usize>() {
            Ok(x) if (low..=high).contains(&x) => Ok(x),
            Ok(_) => Err(format!("--{name} {v}: use a whole number from {low} to {high}")),
            Err(_) => Err(format!("--{name}: `{v}` is not a whole number")),
        }
    }

    /// A seed (`1` when absent).
    ///
    /// # Errors
    /// A value that is not a whole number from 0 to 2⁶⁴ − 1.
    pub fn seed(&self) -> Result<u64, String> {
        self.get("seed").map_or(Ok(1), |s| s.trim().parse().map_err(|_| format!("--seed: `{s}` is not a whole number")))
    }

    /// Whether a switch was given.
    pub fn has(&self, name: &str) -> bool {
        self.switches.iter().any(|s| s == name)
    }
}

/// Help text for a subcommand's flags.
pub fn help(flags: &[Flag]) -> String {
    let width = flags.iter().map(|f| f.name.len()).max().unwrap_or(0) + 8;
    flags
        .iter()
        .map(|f| {
            let left = if f.takes_value { format!("--{} VALUE", f.name) } else { format!("--{}", f.name) };
            format!("  {left:<width$}  {}", f.help)
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_string()).collect()
    }

    #[test]
    fn parses_values_and_switches_and_rejects_typos() {
        let flags = [value("formula", ""), switch("json", "")];
        let args = Args::parse(&argv(&["--formula", "y ~ x", "--json"]), &flags).unwrap();
        assert_eq!(args.get("formula"), Some("y ~ x"));
        assert!(args.has("json"));
        let error = Args::parse(&argv(&["--formla=y ~ x"]), &flags).unwrap_err();
        assert_eq!(error, "unknown option --formla (did you mean --formula?)");
        assert_eq!(Args::parse(&argv(&["--formula"]), &flags).unwrap_err(), "--formula needs a value");
    }
}
