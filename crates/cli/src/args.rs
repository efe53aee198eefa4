//! Value parsers for the typed options of the subcommands (clap's `value_parser`): finite
//! numbers, bounded whole numbers and comma-separated lists, each refusing a bad value with a
//! message that says what is allowed.

/// The non-empty, trimmed items of a comma-separated option value (`a, b,c` → `a`, `b`, `c`).
///
/// # Errors
/// A list with no item.
pub fn list(text: &str) -> Result<Vec<String>, String> {
    let items: Vec<String> = text.split(',').map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect();
    if items.is_empty() {
        return Err("an empty list: give one or more names separated by commas".into());
    }
    Ok(items)
}

/// A range `a:b` of whole numbers with `1 ≤ a ≤ b`, or `None`.
pub fn range(text: &str) -> Option<std::ops::RangeInclusive<usize>> {
    let (a, b) = text.split_once(':')?;
    match (a.trim().parse::<usize>(), b.trim().parse::<usize>()) {
        (Ok(a), Ok(b)) if a >= 1 && a <= b => Some(a..=b),
        _ => None,
    }
}

/// A finite number (`NaN` and `inf` are refused).
///
/// # Errors
/// Text that is not a number, or a number that is not finite.
pub fn finite(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(x) if x.is_finite() => Ok(x),
        Ok(_) => Err(format!("`{text}` is not a finite number")),
        Err(_) => Err(format!("`{text}` is not a number")),
    }
}

/// A positive finite number.
///
/// # Errors
/// As [`finite`], or a number that is not above zero.
pub fn positive(text: &str) -> Result<f64, String> {
    finite(text).and_then(|x| if x > 0.0 { Ok(x) } else { Err(format!("`{text}` is not above zero")) })
}

/// A probability strictly between 0 and 1 (a confidence level).
///
/// # Errors
/// As [`finite`], or a number outside (0, 1).
pub fn level(text: &str) -> Result<f64, String> {
    finite(text).and_then(|x| {
        if x > 0.0 && x < 1.0 {
            Ok(x)
        } else {
            Err(format!("`{text}` is not a level between 0 and 1"))
        }
    })
}

/// Comma-separated finite numbers.
///
/// # Errors
/// An item that is not a finite number.
pub fn finite_list(text: &str) -> Result<Vec<f64>, String> {
    text.split(',').map(finite).collect()
}

/// A parser of whole numbers from `low` to `high`: the bound keeps a value from exhausting
/// memory or time, and the message says it.
pub fn whole(low: usize, high: usize) -> impl Fn(&str) -> Result<usize, String> + Clone + Send + Sync + 'static {
    move |text| match text.trim().parse::<usize>() {
        Ok(x) if (low..=high).contains(&x) => Ok(x),
        Ok(_) => Err(format!("{text}: use a whole number from {low} to {high}")),
        Err(_) => Err(format!("`{text}` is not a whole number (use one from {low} to {high})")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parsers_refuse_what_they_must_and_say_why() {
        assert_eq!(list(" a, b,,c ").unwrap(), ["a", "b", "c"]);
        assert!(list(" , ").is_err());
        assert_eq!(range("2:5"), Some(2..=5));
        assert_eq!(range("5:2"), None);
        assert_eq!(finite("1e3"), Ok(1000.0));
        assert_eq!(finite("NaN").unwrap_err(), "`NaN` is not a finite number");
        assert_eq!(finite("x").unwrap_err(), "`x` is not a number");
        assert!(positive("0").is_err());
        assert!(level("1").is_err() && level("0.9").is_ok());
        assert_eq!(finite_list("1, 2.5").unwrap(), [1.0, 2.5]);
        let nagq = whole(1, 100);
        assert_eq!(nagq("7"), Ok(7));
        assert_eq!(nagq("1000").unwrap_err(), "1000: use a whole number from 1 to 100");
        assert!(nagq("-1").unwrap_err().contains("not a whole number"));
    }
}
