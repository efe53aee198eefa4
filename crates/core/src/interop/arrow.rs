//! Data frames from Arrow record batches and Parquet files, and back (cargo feature `arrow`).
//!
//! Each Arrow column becomes the column a CSV file of the same values gives: floating-point
//! numbers a float column; signed and unsigned integers an integer column (an unsigned 64-bit
//! value beyond `i64` is an error); booleans a boolean column; text — UTF-8 strings of any
//! offset width, string views, or dictionaries of strings, as pandas, polars and DuckDB write
//! categorical columns — a categorical column whose levels are the texts that occur, in byte
//! order (R's C-locale order, as the CSV reader gives). Nulls are missing values; a NaN stays a
//! NaN (which a model then refuses, naming the row). Other types (dates, decimals, nested
//! columns) are refused with the column's name.

/// The Arrow and Parquet crates these conversions are built on, for building record batches of
/// the same versions.
pub use {arrow_array, arrow_schema, parquet};

use crate::error::{Error, Result};
use crate::frame::{Column, DataFrame};
use crate::masked::Masked;
use arrow_array::cast::AsArray;
use arrow_array::types::{
    Float32Type, Float64Type, Int16Type, Int32Type, Int64Type, Int8Type, UInt16Type, UInt32Type, UInt64Type, UInt8Type,
};
use arrow_array::{Array, ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::{ArrowWriter, ProjectionMask};
use std::path::Path;
use std::sync::Arc;

/// A data frame of the record batches' rows, in order; the batches share one schema.
///
/// # Examples
/// ```
/// use std::sync::Arc;
/// use arrow_array::{Float64Array, RecordBatch, StringArray};
/// use strata_core::interop::arrow::from_record_batches;
/// let batch = RecordBatch::try_from_iter([
///     ("rate", Arc::new(Float64Array::from(vec![Some(52.1), None, Some(80.4)])) as _),
///     ("region", Arc::new(StringArray::from(vec!["North East", "London", "North East"])) as _),
/// ])?;
/// let frame = from_record_batches(&[batch])?;
/// assert_eq!(frame.nrows(), 3);
/// assert_eq!(frame.column("rate")?.missing_count(), 1);
/// assert_eq!(frame.column("region")?.text(1).as_deref(), Some("London"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// [`Error::InvalidArgument`] for batches whose schemas differ; [`Error::ColumnType`] for a
/// column of a type a data frame does not hold, or unsigned values beyond `i64`.
pub fn from_record_batches(batches: &[RecordBatch]) -> Result<DataFrame> {
    let Some(first) = batches.first() else { return Ok(DataFrame::new()) };
    let schema = first.schema();
    // The same names and types (nullability may differ from batch to batch).
    let shape = |s: &Schema| -> Vec<(String, DataType)> {
        s.fields().iter().map(|f| (f.name().clone(), f.data_type().clone())).collect()
    };
    if let Some(k) = batches.iter().position(|b| shape(&b.schema()) != shape(&schema)) {
        return Err(Error::InvalidArgument(format!("record batch {} has another schema than the first", k + 1)));
    }
    let mut frame = DataFrame::new();
    for (j, field) in schema.fields().iter().enumerate() {
        let arrays: Vec<&ArrayRef> = batches.iter().map(|b| b.column(j)).collect();
        frame.push(field.name().clone(), column(field.name(), field.data_type(), &arrays)?)?;
    }
    Ok(frame)
}

/// Reads a Parquet file into a data frame — every column, or only those named in `columns`
/// that the file has (the others are not decoded; a name the file does not have is left to
/// whoever asks for that column, as with the CSV reader's selection).
///
/// # Errors
/// [`Error::Io`] for a file that cannot be opened or read as Parquet; the errors of
/// [`from_record_batches`].
pub fn read_parquet<S: AsRef<str>>(path: impl AsRef<Path>, columns: Option<&[S]>) -> Result<DataFrame> {
    let path = path.as_ref();
    let io = |message: String| Error::Io { path: path.display().to_string(), message };
    let file = std::fs::File::open(path).map_err(|e| io(e.to_string()))?;
    let mut builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| io(e.to_string()))?;
    if let Some(columns) = columns {
        let wanted = |name: &String| columns.iter().any(|c| c.as_ref() == name);
        let indices: Vec<usize> =
            builder.schema().fields().iter().enumerate().filter(|(_, f)| wanted(f.name())).map(|(j, _)| j).collect();
        let mask = ProjectionMask::roots(builder.parquet_schema(), indices);
        builder = builder.with_projection(mask);
    }
    let batches = builder
        .build()
        .map_err(|e| io(e.to_string()))?
        .collect::<std::result::Result<Vec<RecordBatch>, _>>()
        .map_err(|e| io(e.to_string()))?;
    from_record_batches(&batches)
}

/// The data frame as one record batch: floats as `Float64`, integers as `Int64`, booleans as
/// `Boolean`, categorical columns as UTF-8 text; missing values as nulls.
///
/// # Errors
/// [`Error::InvalidArgument`] should Arrow refuse the batch (it does not for a data frame).
pub fn to_record_batch(frame: &DataFrame) -> Result<RecordBatch> {
    let mut fields = Vec::with_capacity(frame.ncols());
    let mut arrays: Vec<ArrayRef> = Vec::with_capacity(frame.ncols());
    for (name, column) in frame.names().iter().zip(frame.columns()) {
        let (data_type, array): (DataType, ArrayRef) = match column {
            Column::Float(values) => (DataType::Float64, Arc::new(values.iter().collect::<Float64Array>())),
            Column::Integer(values) => (DataType::Int64, Arc::new(values.iter().collect::<Int64Array>())),
            Column::Boolean(values) => (DataType::Boolean, Arc::new(values.iter().collect::<BooleanArray>())),
            Column::Categorical { codes, levels } => (
                DataType::Utf8,
                Arc::new(codes.iter().map(|c| c.map(|c| levels[c as usize].as_str())).collect::<StringArray>()),
            ),
        };
        fields.push(Field::new(name, data_type, true));
        arrays.push(array);
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).map_err(|e| Error::InvalidArgument(e.to_string()))
}

/// Writes the data frame to a Parquet file (uncompressed, one row group per million rows).
///
/// # Errors
/// [`Error::Io`] for a file that cannot be written.
pub fn write_parquet(frame: &DataFrame, path: impl AsRef<Path>) -> Result<()> {
    let path = path.as_ref();
    let io = |message: String| Error::Io { path: path.display().to_string(), message };
    let batch = to_record_batch(frame)?;
    let file = std::fs::File::create(path).map_err(|e| io(e.to_string()))?;
    let mut writer = ArrowWriter::try_new(file, batch.schema(), None).map_err(|e| io(e.to_string()))?;
    writer.write(&batch).map_err(|e| io(e.to_string()))?;
    writer.close().map_err(|e| io(e.to_string()))?;
    Ok(())
}

/// One column from its arrays in every batch.
fn column(name: &str, data_type: &DataType, arrays: &[&ArrayRef]) -> Result<Column> {
    let unsupported = |found: String| Error::ColumnType {
        name: name.to_string(),
        found,
        expected: "numbers, booleans or text (strings or a dictionary of strings)".into(),
    };
    Ok(match data_type {
        DataType::Float64 => Column::Float(gather(arrays, |a, i| a.as_primitive::<Float64Type>().value(i))),
        DataType::Float32 => Column::Float(gather(arrays, |a, i| f64::from(a.as_primitive::<Float32Type>().value(i)))),
        DataType::Int8 => Column::Integer(gather(arrays, |a, i| i64::from(a.as_primitive::<Int8Type>().value(i)))),
        DataType::Int16 => Column::Integer(gather(arrays, |a, i| i64::from(a.as_primitive::<Int16Type>().value(i)))),
        DataType::Int32 => Column::Integer(gather(arrays, |a, i| i64::from(a.as_primitive::<Int32Type>().value(i)))),
        DataType::Int64 => Column::Integer(gather(arrays, |a, i| a.as_primitive::<Int64Type>().value(i))),
        DataType::UInt8 => Column::Integer(gather(arrays, |a, i| i64::from(a.as_primitive::<UInt8Type>().value(i)))),
        DataType::UInt16 => Column::Integer(gather(arrays, |a, i| i64::from(a.as_primitive::<UInt16Type>().value(i)))),
        DataType::UInt32 => Column::Integer(gather(arrays, |a, i| i64::from(a.as_primitive::<UInt32Type>().value(i)))),
        DataType::UInt64 => {
            let too_large = arrays
                .iter()
                .flat_map(|a| a.as_primitive::<UInt64Type>().iter().flatten())
                .find(|&v| i64::try_from(v).is_err());
            if let Some(value) = too_large {
                return Err(unsupported(format!("unsigned 64-bit with {value}, beyond a 64-bit integer")));
            }
            Column::Integer(gather(arrays, |a, i| a.as_primitive::<UInt64Type>().value(i) as i64))
        }
        DataType::Boolean => Column::Boolean(gather(arrays, |a, i| a.as_boolean().value(i))),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
            let rows: Vec<Option<&str>> =
                arrays.iter().flat_map(|a| (0..a.len()).map(move |i| text(a.as_ref(), i))).collect();
            Column::categorical_from(&rows)
        }
        DataType::Dictionary(_, values)
            if matches!(values.as_ref(), DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View) =>
        {
            // Each batch's keys into its own dictionary, taken row by row, so that the levels
            // are the texts that occur, whatever the dictionaries hold.
            let mut rows: Vec<Option<&str>> = Vec::new();
            for array in arrays {
                let dictionary = array.as_any_dictionary();
                let keys = dictionary.normalized_keys();
                let texts = dictionary.values().as_ref();
                rows.extend((0..array.len()).map(|i| if array.is_null(i) { None } else { text(texts, keys[i]) }));
            }
            Column::categorical_from(&rows)
        }
        other => return Err(unsupported(format!("of Arrow type {other}"))),
    })
}

/// The values of every array in order, `value(array, i)` where row i is not null.
fn gather<T: Copy + Default>(arrays: &[&ArrayRef], value: impl Fn(&dyn Array, usize) -> T) -> Masked<T> {
    let total = arrays.iter().map(|a| Array::len(a.as_ref())).sum();
    let (mut values, mut missing) = (Vec::with_capacity(total), Vec::new());
    for array in arrays {
        for i in 0..array.len() {
            if array.is_null(i) {
                missing.push(values.len());
                values.push(T::default());
            } else {
                values.push(value(array.as_ref(), i));
            }
        }
    }
    Masked::with_missing_rows(values, missing)
}

/// Row i of a string array of any kind, `None` where it is null.
fn text(array: &dyn Array, i: usize) -> Option<&str> {
    if array.is_null(i) {
        return None;
    }
    Some(match array.data_type() {
        DataType::LargeUtf8 => array.as_string::<i64>().value(i),
        DataType::Utf8View => array.as_string_view().value(i),
        _ => array.as_string::<i32>().value(i),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{DictionaryArray, Float32Array, LargeStringArray, UInt64Array};

    fn frame() -> DataFrame {
        crate::csv::parse_csv(
            b"la,rate,referrals,inspected,grade\nE1,52.5,10,TRUE,good\nE2,,12,FALSE,\nE1,80.25,NA,NA,inadequate\n",
            &crate::csv::CsvOptions::default(),
        )
        .unwrap()
    }

    /// A frame written as Parquet and read back (all columns, then two) is the same frame.
    #[test]
    fn parquet_round_trips_a_frame() {
        let frame = frame();
        let path = std::env::temp_dir().join(format!("strata-arrow-{}.parquet", std::process::id()));
        write_parquet(&frame, &path).unwrap();
        let back = read_parquet::<&str>(&path, None).unwrap();
        let two = read_parquet(&path, Some(&["grade", "rate", "rates"])).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(back, frame);
        // In the file's order; a name the file does not have is an unknown column when asked for.
        assert_eq!(two.names(), ["rate", "grade"]);
        assert_eq!(two.column("grade").unwrap(), frame.column("grade").unwrap());
        assert!(two.column("rates").unwrap_err().to_string().contains("did you mean `rate`"));
        let missing = read_parquet::<&str>("/nonexistent/x.parquet", None).unwrap_err();
        assert!(missing.to_string().contains("cannot read /nonexistent/x.parquet"), "{missing}");
    }

    /// Batches are joined in order; narrow numbers widen; dictionaries and large strings give
    /// the levels that occur, in byte order; unsupported types and huge unsigned values are
    /// refused by name.
    #[test]
    fn record_batches_become_typed_columns() {
        let keys = arrow_array::Int8Array::from(vec![Some(1), None, Some(1)]);
        let dictionary = DictionaryArray::try_new(keys, Arc::new(StringArray::from(vec!["unused", "b"]))).unwrap();
        let one = RecordBatch::try_from_iter([
            ("x", Arc::new(Float32Array::from(vec![Some(1.5), None, Some(2.0)])) as ArrayRef),
            ("g", Arc::new(dictionary) as ArrayRef),
        ])
        .unwrap();
        let keys = arrow_array::Int8Array::from(vec![Some(0)]);
        let dictionary = DictionaryArray::try_new(keys, Arc::new(StringArray::from(vec!["a"]))).unwrap();
        let two = RecordBatch::try_from_iter([
            ("x", Arc::new(Float32Array::from(vec![Some(-3.0)])) as ArrayRef),
            ("g", Arc::new(dictionary) as ArrayRef),
        ])
        .unwrap();
        let frame = from_record_batches(&[one, two]).unwrap();
        assert_eq!(frame.column("x").unwrap(), &Column::Float(vec![Some(1.5), None, Some(2.0), Some(-3.0)].into()));
        let Column::Categorical { codes, levels } = frame.column("g").unwrap() else { panic!() };
        assert_eq!(levels, &["a", "b"]);
        assert_eq!(codes.iter().collect::<Vec<_>>(), [Some(1), None, Some(1), Some(0)]);

        let large =
            RecordBatch::try_from_iter([("t", Arc::new(LargeStringArray::from(vec!["z", "y"])) as ArrayRef)]).unwrap();
        assert_eq!(from_record_batches(&[large]).unwrap().column("t").unwrap().text(0).as_deref(), Some("z"));
        let huge =
            RecordBatch::try_from_iter([("n", Arc::new(UInt64Array::from(vec![u64::MAX])) as ArrayRef)]).unwrap();
        assert!(from_record_batches(&[huge]).unwrap_err().to_string().contains("column `n`"));
        let dates =
            RecordBatch::try_from_iter([("day", Arc::new(arrow_array::Date32Array::from(vec![1])) as ArrayRef)])
                .unwrap();
        let error = from_record_batches(&[dates]).unwrap_err().to_string();
        assert!(error.contains("column `day`") && error.contains("Date32"), "{error}");
    }
}
