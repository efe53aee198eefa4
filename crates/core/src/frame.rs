//! A small columnar data frame: the typed columns a model reads its variables from.

use crate::error::{suggest, Error, Result};
use crate::masked::Masked;
use serde::Serialize;

/// The type of a column, as inferred from a CSV file or asked for in an override.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ColumnType {
    /// 64-bit floating point numbers.
    Float,
    /// Whole numbers.
    Integer,
    /// `TRUE` / `FALSE`.
    Boolean,
    /// Text with a fixed set of levels (R's factor).
    Categorical,
}

impl std::fmt::Display for ColumnType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Float => "float",
            Self::Integer => "integer",
            Self::Boolean => "boolean",
            Self::Categorical => "categorical",
        })
    }
}

/// One column of values, each possibly missing: the values in one array and, if any is
/// missing, a bit a row saying which ([`Masked`]).
///
/// # Examples
/// ```
/// use strata_core::Column;
/// let x = Column::Float(vec![Some(0.5), None].into());
/// let counts = Column::Integer([Some(3), Some(4)].into_iter().collect());
/// assert_eq!((x.number(1), counts.number(0)), (None, Some(3.0)));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum Column {
    /// Floating point values.
    Float(Masked<f64>),
    /// Integer values.
    Integer(Masked<i64>),
    /// Boolean values.
    Boolean(Masked<bool>),
    /// Level codes into `levels`, which are sorted in byte order (R's C-locale factor levels).
    Categorical {
        /// Index into `levels` for each row.
        codes: Masked<u32>,
        /// The distinct values, in byte order.
        levels: Vec<String>,
    },
}

impl Column {
    /// Builds a categorical column from text, levels sorted in byte order: each distinct text
    /// interned once, then the distinct texts sorted (not every row's).
    pub fn categorical_from<S: AsRef<str>>(values: &[Option<S>]) -> Self {
        let mut ids: std::collections::HashMap<&str, u32> = std::collections::HashMap::new();
        let interned: Vec<Option<u32>> = values
            .iter()
            .map(|v| {
                v.as_ref().map(|s| {
                    let next = ids.len() as u32;
                    *ids.entry(s.as_ref()).or_insert(next)
                })
            })
            .collect();
        let mut levels: Vec<(&str, u32)> = ids.into_iter().collect();
        levels.sort_unstable();
        let mut rank = vec![0u32; levels.len()];
        for (r, (_, id)) in levels.iter().enumerate() {
            rank[*id as usize] = r as u32;
        }
        let codes = interned.into_iter().map(|id| id.map(|id| rank[id as usize])).collect();
        Self::Categorical { codes, levels: levels.into_iter().map(|(text, _)| text.to_string()).collect() }
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        match self {
            Self::Float(v) => v.len(),
            Self::Integer(v) => v.len(),
            Self::Boolean(v) => v.len(),
            Self::Categorical { codes, .. } => codes.len(),
        }
    }

    /// Whether the column has no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The column's type.
    pub fn column_type(&self) -> ColumnType {
        match self {
            Self::Float(_) => ColumnType::Float,
            Self::Integer(_) => ColumnType::Integer,
            Self::Boolean(_) => ColumnType::Boolean,
            Self::Categorical { .. } => ColumnType::Categorical,
        }
    }

    /// Whether row `i` is missing.
    pub fn is_missing(&self, i: usize) -> bool {
        match self {
            Self::Float(v) => v.is_missing(i),
            Self::Integer(v) => v.is_missing(i),
            Self::Boolean(v) => v.is_missing(i),
            Self::Categorical { codes, .. } => codes.is_missing(i),
        }
    }

    /// Number of missing values.
    pub fn missing_count(&self) -> usize {
        match self {
            Self::Float(v) => v.missing_count(),
            Self::Integer(v) => v.missing_count(),
            Self::Boolean(v) => v.missing_count(),
            Self::Categorical { codes, .. } => codes.missing_count(),
        }
    }

    /// Row `i` as a number, for numeric and boolean columns (`None` when missing or text).
    pub fn number(&self, i: usize) -> Option<f64> {
        match self {
            Self::Float(v) => v.get(i),
            Self::Integer(v) => v.get(i).map(|x| x as f64),
            Self::Boolean(v) => v.get(i).map(f64::from),
            Self::Categorical { .. } => None,
        }
    }

    /// The column as numbers, for numeric and boolean columns (`None` for text).
    pub fn numbers(&self) -> Option<Masked<f64>> {
        match self {
            Self::Float(v) => Some(v.clone()),
            Self::Integer(v) => Some(v.map(|x| x as f64)),
            Self::Boolean(v) => Some(v.map(f64::from)),
            Self::Categorical { .. } => None,
        }
    }

    /// Row `i` as text, as R's `as.character` would print it (`None` when missing).
    pub fn text(&self, i: usize) -> Option<String> {
        match self {
            Self::Float(v) => v.get(i).map(format_number),
            Self::Integer(v) => v.get(i).map(|x| x.to_string()),
            Self::Boolean(v) => v.get(i).map(|b| if b { "TRUE" } else { "FALSE" }.to_string()),
            Self::Categorical { codes, levels } => codes.get(i).map(|c| levels[c as usize].clone()),
        }
    }
}

/// The distinct `labels`, sorted as R orders the levels of a grouping: numerically when every
/// label is a number (years, deciles), else in byte order.
pub fn sorted_distinct<S: AsRef<str>>(labels: impl IntoIterator<Item = S>) -> Vec<String> {
    let mut distinct: Vec<String> = labels.into_iter().map(|l| l.as_ref().to_string()).collect();
    distinct.sort_unstable();
    distinct.dedup();
    if distinct.iter().all(|l| l.parse::<f64>().is_ok()) {
        distinct.sort_by(|a, b| a.parse::<f64>().unwrap_or(0.0).total_cmp(&b.parse::<f64>().unwrap_or(0.0)));
    }
    distinct
}

/// Formats a number as R's `as.character` does for the values met in data: whole numbers without
/// a decimal point, others with up to 15 significant digits.
pub fn format_number(x: f64) -> String {
    if x.is_finite() && x == x.trunc() && x.abs() < 1e15 {
        format!("{x:.0}")
    } else if x.is_nan() {
        "NaN".to_string()
    } else if x.is_infinite() {
        if x > 0.0 { "Inf" } else { "-Inf" }.to_string()
    } else {
        let s = format!("{x:.14e}");
        let parsed: f64 = s.parse().unwrap_or(x);
        let plain = format!("{parsed}");
        if plain.len() <= 17 {
            plain
        } else {
            s
        }
    }
}

/// A named collection of equally long columns.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DataFrame {
    names: Vec<String>,
    columns: Vec<Column>,
}

impl DataFrame {
    /// An empty frame with no columns.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a column.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if the name is taken or the length differs from the frame's.
    pub fn push(&mut self, name: impl Into<String>, column: Column) -> Result<()> {
        let name = name.into();
        if self.names.contains(&name) {
            return Err(Error::InvalidArgument(format!("duplicate column name `{name}`")));
        }
        if !self.columns.is_empty() && column.len() != self.nrows() {
            return Err(Error::InvalidArgument(format!(
                "column `{name}` has {} rows but the frame has {}",
                column.len(),
                self.nrows()
            )));
        }
        self.names.push(name);
        self.columns.push(column);
        Ok(())
    }

    /// Builder form of [`push`](Self::push).
    ///
    /// # Errors
    /// As [`push`](Self::push).
    pub fn with(mut self, name: impl Into<String>, column: Column) -> Result<Self> {
        self.push(name, column)?;
        Ok(self)
    }

    /// Adds a float column without missing values.
    ///
    /// # Errors
    /// As [`push`](Self::push).
    pub fn with_floats(self, name: impl Into<String>, values: &[f64]) -> Result<Self> {
        self.with(name, Column::Float(Masked::from_values(values.to_vec())))
    }

    /// Adds a categorical column without missing values.
    ///
    /// # Errors
    /// As [`push`](Self::push).
    pub fn with_levels<S: AsRef<str>>(self, name: impl Into<String>, values: &[S]) -> Result<Self> {
        let values: Vec<Option<&str>> = values.iter().map(|s| Some(s.as_ref())).collect();
        self.with(name, Column::categorical_from(&values))
    }

    /// Number of rows.
    pub fn nrows(&self) -> usize {
        self.columns.first().map_or(0, Column::len)
    }

    /// Number of columns.
    pub fn ncols(&self) -> usize {
        self.columns.len()
    }

    /// Column names in order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The columns in order.
    pub fn columns(&self) -> &[Column] {
        &self.columns
    }

    /// The column called `name`.
    ///
    /// # Errors
    /// [`Error::UnknownColumn`], suggesting the closest name.
    pub fn column(&self, name: &str) -> Result<&Column> {
        self.names.iter().position(|n| n == name).map(|i| &self.columns[i]).ok_or_else(|| Error::UnknownColumn {
            name: name.to_string(),
            suggestion: suggest(name, self.names.iter().map(String::as_str)),
        })
    }

    /// A numeric column as `f64` values (integers and booleans converted).
    ///
    /// # Errors
    /// [`Error::UnknownColumn`] or [`Error::ColumnType`] for a categorical column.
    pub fn numbers(&self, name: &str) -> Result<Masked<f64>> {
        self.column(name)?.numbers().ok_or_else(|| Error::ColumnType {
            name: name.to_string(),
            found: "categorical (text)".into(),
            expected: "a numeric column".into(),
        })
    }

    /// The rows at `indices`, in that order.
    ///
    /// # Panics
    /// If an index is out of range.
    #[must_use]
    pub fn take(&self, indices: &[usize]) -> Self {
        let rows: Vec<Option<usize>> = indices.iter().map(|&i| Some(i)).collect();
        self.take_or_missing(&rows)
    }

    /// The rows at `indices` in that order, a row of missing values where an index is `None`.
    ///
    /// # Panics
    /// If an index is out of range.
    #[must_use]
    pub fn take_or_missing(&self, indices: &[Option<usize>]) -> Self {
        let columns = self
            .columns
            .iter()
            .map(|column| match column {
                Column::Float(v) => Column::Float(indices.iter().map(|i| i.and_then(|i| v.get(i))).collect()),
                Column::Integer(v) => Column::Integer(indices.iter().map(|i| i.and_then(|i| v.get(i))).collect()),
                Column::Boolean(v) => Column::Boolean(indices.iter().map(|i| i.and_then(|i| v.get(i))).collect()),
                Column::Categorical { codes, levels } => {
                    let texts: Vec<Option<&str>> = indices
                        .iter()
                        .map(|i| i.and_then(|i| codes.get(i)).map(|c| levels[c as usize].as_str()))
                        .collect();
                    Column::categorical_from(&texts)
                }
            })
            .collect();
        Self { names: self.names.clone(), columns }
    }

    /// R's `merge(left, right, by = key, all.x = TRUE)`: every row of `self` with the columns of
    /// `right` from its row of the same `key` (compared as text), missing where `right` has
    /// none. Columns of `right` whose names `self` already has are left out.
    ///
    /// # Errors
    /// [`Error::UnknownColumn`] if either frame lacks `key`; [`Error::InvalidArgument`] if a key
    /// occurs twice in `right`.
    pub fn left_join(&self, right: &DataFrame, key: &str) -> Result<Self> {
        let (left_keys, right_keys) = (self.column(key)?, right.column(key)?);
        let mut index = std::collections::HashMap::new();
        for j in 0..right.nrows() {
            if let Some(k) = right_keys.text(j) {
                if index.insert(k.clone(), j).is_some() {
                    return Err(Error::InvalidArgument(format!("`{key}` = {k} occurs twice in the table joined")));
                }
            }
        }
        let matches: Vec<Option<usize>> =
            (0..self.nrows()).map(|i| left_keys.text(i).and_then(|k| index.get(&k).copied())).collect();
        let joined = right.take_or_missing(&matches);
        let mut out = self.clone();
        for (name, column) in joined.names.into_iter().zip(joined.columns) {
            if !out.names.contains(&name) {
                out.push(name, column)?;
            }
        }
        Ok(out)
    }

    /// The indices of the rows where `predicate` holds for the text of column `name`.
    ///
    /// # Errors
    /// [`Error::UnknownColumn`].
    pub fn rows_where(&self, name: &str, predicate: impl Fn(Option<&str>) -> bool) -> Result<Vec<usize>> {
        let column = self.column(name)?;
        Ok((0..self.nrows()).filter(|&i| predicate(column.text(i).as_deref())).collect())
    }

    /// A summary of each column: the newcomer's first look at a data set.
    pub fn describe(&self) -> FrameSummary {
        let columns = crate::parallel::map_in_order(self.ncols(), crate::parallel::threads(), |j| {
            let (name, column) = (&self.names[j], &self.columns[j]);
            let range = match column {
                Column::Float(v) => v.range(|&x| x),
                Column::Integer(v) => v.range(|&x| x as f64),
                Column::Boolean(v) => v.range(|&x| f64::from(u8::from(x))),
                Column::Categorical { .. } => None,
            };
            let (min, max) = (range.map(|r| r.0), range.map(|r| r.1));
            let levels = match column {
                Column::Categorical { levels, .. } => Some(levels.clone()),
                _ => None,
            };
            ColumnSummary {
                name: name.clone(),
                column_type: column.column_type(),
                missing: column.missing_count(),
                min,
                max,
                levels,
            }
        });
        FrameSummary { rows: self.nrows(), columns }
    }
}

/// What [`DataFrame::describe`] reports of one column.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ColumnSummary {
    /// Column name.
    pub name: String,
    /// Inferred type.
    #[serde(rename = "type")]
    pub column_type: ColumnType,
    /// Number of missing values.
    pub missing: usize,
    /// Smallest value of a numeric column.
    pub min: Option<f64>,
    /// Largest value of a numeric column.
    pub max: Option<f64>,
    /// Levels of a categorical column.
    pub levels: Option<Vec<String>>,
}

/// What [`DataFrame::describe`] reports of a frame.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FrameSummary {
    /// Number of rows.
    pub rows: usize,
    /// One entry per column.
    pub columns: Vec<ColumnSummary>,
}

impl std::fmt::Display for FrameSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "{} rows, {} columns", self.rows, self.columns.len())?;
        let width = self.columns.iter().map(|c| c.name.len()).max().unwrap_or(4).max(6);
        writeln!(f, "{:<width$}  {:<11}  {:>7}  details", "column", "type", "missing")?;
        for c in &self.columns {
            let details = match (&c.levels, c.min, c.max) {
                (Some(levels), _, _) => {
                    let shown: Vec<&str> = levels.iter().take(8).map(String::as_str).collect();
                    let more =
                        if levels.len() > 8 { format!(", … ({} levels)", levels.len()) } else { String::new() };
                    format!("levels: {}{more}", shown.join(", "))
                }
                (None, Some(min), Some(max)) => format!("range {} to {}", format_number(min), format_number(max)),
                _ => String::new(),
            };
            writeln!(f, "{:<width$}  {:<11}  {:>7}  {details}", c.name, c.column_type.to_string(), c.missing)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn categorical_levels_are_in_byte_order() {
        let column = Column::categorical_from(&[Some("b"), Some("B"), None, Some("a")]);
        let Column::Categorical { codes, levels } = column else { panic!("not categorical") };
        assert_eq!(levels, ["B", "a", "b"]);
        assert_eq!(codes, vec![Some(2), Some(0), None, Some(1)].into());
    }

    #[test]
    fn numbers_format_as_r_prints_them() {
        assert_eq!(format_number(3.0), "3");
        assert_eq!(format_number(-0.5), "-0.5");
        assert_eq!(format_number(2.759_305_210_918_11), "2.75930521091811");
    }

    #[test]
    fn labels_sort_numerically_when_all_are_numbers() {
        assert_eq!(sorted_distinct(["10", "9", "10", "2013"]), ["9", "10", "2013"]);
        assert_eq!(sorted_distinct(["b", "10", "9", "b"]), ["10", "9", "b"]);
    }

    #[test]
    fn left_join_keeps_every_left_row() {
        let left =
            DataFrame::new().with_levels("la", &["a", "b", "c"]).unwrap().with_floats("x", &[1.0, 2.0, 3.0]).unwrap();
        let right = DataFrame::new()
            .with_levels("la", &["c", "a"])
            .unwrap()
            .with_levels("grade", &["Good", "Inadequate"])
            .unwrap()
            .with_floats("x", &[9.0, 9.0])
            .unwrap();
        let joined = left.left_join(&right, "la").unwrap();
        assert_eq!(joined.names(), ["la", "x", "grade"]);
        let grade = joined.column("grade").unwrap();
        assert_eq!(
            (0..3).map(|i| grade.text(i)).collect::<Vec<_>>(),
            [Some("Inadequate".into()), None, Some("Good".into())]
        );
        let twice = DataFrame::new().with_levels("la", &["a", "a"]).unwrap();
        assert!(left.left_join(&twice, "la").is_err());
    }

    #[test]
    fn take_and_filter_rows() {
        let frame =
            DataFrame::new().with_floats("x", &[1.0, 2.0, 3.0]).unwrap().with_levels("g", &["b", "a", "b"]).unwrap();
        let rows = frame.rows_where("g", |v| v == Some("b")).unwrap();
        assert_eq!(rows, [0, 2]);
        let subset = frame.take(&rows);
        assert_eq!(subset.column("x").unwrap(), &Column::Float(vec![Some(1.0), Some(3.0)].into()));
        assert_eq!(
            subset.column("g").unwrap(),
            &Column::Categorical { codes: vec![Some(0), Some(0)].into(), levels: vec!["b".into()] }
        );
    }

    #[test]
    fn unknown_columns_suggest_a_name() {
        let frame = DataFrame::new().with_floats("Reaction", &[1.0]).unwrap();
        let error = frame.column("reaction").unwrap_err();
        assert_eq!(error.to_string(), "unknown column `reaction` (did you mean `Reaction`?)");
    }
}
