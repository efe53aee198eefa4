//! A fixed effect's level codes from the columns of a data frame: categorical codes, numbers by
//! rank, several columns joined with `^` by their distinct combinations.

use crate::error::Result;
use strata_core::ranks::RankTable;
use strata_core::{Column, DataFrame, Masked};

/// Level codes on every data row of a fixed effect made of `columns` (one, or several joined
/// by `^`), numbered densely from 0 and missing where any column is: categorical codes in the
/// order of their levels, numbers by the rank of their distinct values; several columns combine
/// into the codes of their distinct tuples.
pub(crate) fn combined_codes(frame: &DataFrame, columns: &[String]) -> Result<Masked<u32>> {
    let mut combined: Option<Masked<u32>> = None;
    for name in columns {
        let codes = column_codes(frame.column(name)?);
        combined = Some(match combined {
            None => codes,
            Some(previous) => {
                let width = u64::from(codes.values().iter().max().map_or(0, |m| m + 1));
                let keys: Masked<u64> = previous
                    .iter()
                    .zip(codes.iter())
                    .map(|(a, b)| Some(u64::from(a?) * width + u64::from(b?)))
                    .collect();
                rank_codes(&keys, |k| k)
            }
        });
    }
    Ok(combined.unwrap_or_default())
}

fn column_codes(column: &Column) -> Masked<u32> {
    match column {
        Column::Categorical { codes, .. } => rank_codes(codes, u64::from),
        Column::Boolean(values) => rank_codes(values, u64::from),
        Column::Integer(values) => {
            let min = values.iter().flatten().min().unwrap_or(0);
            rank_codes(values, |v| v.wrapping_sub(min) as u64)
        }
        Column::Float(values) => {
            let mut distinct: Vec<f64> = values.iter().flatten().collect();
            distinct.sort_by(f64::total_cmp);
            distinct.dedup();
            values.map(|v| distinct.binary_search_by(|d| d.total_cmp(&v)).unwrap_or(0) as u32)
        }
    }
}

/// Codes `0..` in the order of the distinct keys of `values`, missing kept.
fn rank_codes<T: Copy + Default + Send + Sync>(
    values: &Masked<T>,
    key: impl Fn(T) -> u64 + Copy + Sync,
) -> Masked<u32> {
    let table = if values.has_missing() {
        RankTable::new(
            (0..values.len()).filter(|&i| !values.is_missing(i)).map(|i| key(values.values()[i])),
            values.len(),
        )
    } else {
        RankTable::new(values.values().iter().map(|&v| key(v)), values.len())
    };
    values.map(|v| table.rank(key(v)))
}

/// Renumbers codes densely `0..`, keeping their order.
pub(crate) fn dense_codes(codes: &[u32]) -> Vec<u32> {
    let table = RankTable::new(codes.iter().map(|&c| u64::from(c)), codes.len());
    codes.iter().map(|&c| table.rank(u64::from(c))).collect()
}
