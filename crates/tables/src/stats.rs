//! The statistics of one data file, as Delta's `add` action carries them: its row count and,
//! per column, nulls, least and greatest value. Readers skip files with them (DuckDB, Spark
//! and delta-rs leave out the days a query's filter excludes) and count rows without opening
//! a file. pricelake writes its files itself, so they come from each file's Parquet footer,
//! whose row-group statistics the writer kept.

use datafusion::arrow::array::{Array, ArrayRef};
use datafusion::arrow::datatypes::Schema;
use datafusion::common::ScalarValue;
use datafusion::parquet::arrow::arrow_reader::statistics::StatisticsConverter;
use datafusion::parquet::arrow::parquet_to_arrow_schema;
use datafusion::parquet::errors::ParquetError;
use datafusion::parquet::file::metadata::{ParquetMetaData, ParquetMetaDataReader};
use pricelake_lake::Lake;
use serde_json::{json, Map, Value};

use crate::TableError;

/// Longest string kept as a bound: Delta readers compare whole values, and a longer bound
/// would only bloat the log (a truncated greatest value would be wrong, so none is kept).
const LONGEST_STRING_BOUND: usize = 32;

/// Bytes read from a file's end at first: a footer of our files fits in them, else the
/// reader says how many it needs and a second read takes them.
const FOOTER_GUESS: u64 = 64 << 10;

/// A file's footer, read from the lake (`size` bytes long), without its page indexes.
pub(crate) async fn footer(
    lake: &Lake,
    path: &str,
    size: u64,
) -> Result<ParquetMetaData, TableError> {
    let failed = |source| TableError::Footer {
        path: path.to_string(),
        source,
    };
    let mut reader = ParquetMetaDataReader::new();
    let tail = lake
        .get_range(path, size.saturating_sub(FOOTER_GUESS)..size)
        .await?;
    match reader.try_parse_sized(&tail, size) {
        Ok(()) => {}
        Err(ParquetError::NeedMoreData(needed)) => {
            let tail = lake
                .get_range(path, size.saturating_sub(needed as u64)..size)
                .await?;
            reader.try_parse_sized(&tail, size).map_err(failed)?;
        }
        Err(e) => return Err(failed(e)),
    }
    reader.finish().map_err(failed)
}

/// The statistics of the file whose footer is `metadata`, as Delta's JSON (but for the
/// `partition` column, whose value the log holds: Delta leaves it out of statistics).
pub(crate) fn delta_stats(
    metadata: &ParquetMetaData,
    partition: Option<&str>,
) -> Result<String, TableError> {
    let file = metadata.file_metadata();
    let schema = parquet_to_arrow_schema(file.schema_descr(), file.key_value_metadata())
        .unwrap_or_else(|_| Schema::empty());
    let (mut mins, mut maxes, mut nulls) = (Map::new(), Map::new(), Map::new());
    for field in schema.fields() {
        if Some(field.name().as_str()) == partition {
            continue;
        }
        let Ok(converter) =
            StatisticsConverter::try_new(field.name(), &schema, file.schema_descr())
        else {
            continue;
        };
        let groups = metadata.row_groups();
        if let Ok(counts) = converter.row_group_null_counts(groups) {
            if counts.null_count() == 0 {
                let total: u64 = counts.values().iter().sum();
                nulls.insert(field.name().clone(), json!(total));
            }
        }
        let bounds = (
            converter.row_group_mins(groups),
            converter.row_group_maxes(groups),
        );
        if let (Ok(least), Ok(greatest)) = bounds {
            let (Some(least), Some(greatest)) = (extreme(&least, false), extreme(&greatest, true))
            else {
                continue;
            };
            if let (Some(least), Some(greatest)) = (bound(&least, false), bound(&greatest, true)) {
                mins.insert(field.name().clone(), least);
                maxes.insert(field.name().clone(), greatest);
            }
        }
    }
    let stats = json!({
        "numRecords": file.num_rows(),
        "minValues": mins,
        "maxValues": maxes,
        "nullCount": nulls,
    });
    Ok(stats.to_string())
}

/// The least (or greatest) of the row groups' bounds; `None` when a row group has none (its
/// statistics were not written), since then no bound holds for the file.
fn extreme(bounds: &ArrayRef, greatest: bool) -> Option<ScalarValue> {
    if bounds.null_count() > 0 || bounds.is_empty() {
        return None;
    }
    let mut best: Option<ScalarValue> = None;
    for i in 0..bounds.len() {
        let value = ScalarValue::try_from_array(bounds, i).ok()?;
        best = Some(match best {
            None => value,
            Some(b) => {
                let order = value.partial_cmp(&b)?;
                let better = if greatest {
                    order.is_gt()
                } else {
                    order.is_lt()
                };
                if better {
                    value
                } else {
                    b
                }
            }
        });
    }
    best
}

/// A bound as Delta's JSON writes it, or `None` for a type whose bounds are not kept. Times
/// are kept to the millisecond, as Delta's are: a least value rounded down, a greatest one
/// rounded up, so that each still bounds the file's values.
fn bound(value: &ScalarValue, greatest: bool) -> Option<Value> {
    let micros_to_text = |micros: i64| {
        let millis = if greatest {
            micros.div_euclid(1000) + i64::from(micros.rem_euclid(1000) != 0)
        } else {
            micros.div_euclid(1000)
        };
        chrono::DateTime::from_timestamp_millis(millis)
            .map(|t| json!(t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()))
    };
    match value {
        ScalarValue::Int8(Some(v)) => Some(json!(v)),
        ScalarValue::Int16(Some(v)) => Some(json!(v)),
        ScalarValue::Int32(Some(v)) => Some(json!(v)),
        ScalarValue::Int64(Some(v)) => Some(json!(v)),
        ScalarValue::UInt8(Some(v)) => Some(json!(v)),
        ScalarValue::UInt16(Some(v)) => Some(json!(v)),
        ScalarValue::UInt32(Some(v)) => Some(json!(v)),
        ScalarValue::UInt64(Some(v)) => Some(json!(v)),
        ScalarValue::Float32(Some(v)) if v.is_finite() => Some(json!(v)),
        ScalarValue::Float64(Some(v)) if v.is_finite() => Some(json!(v)),
        ScalarValue::Date32(Some(days)) => chrono::NaiveDate::from_epoch_days(*days)
            .map(|d| json!(d.format("%Y-%m-%d").to_string())),
        ScalarValue::TimestampMicrosecond(Some(v), _) => micros_to_text(*v),
        ScalarValue::TimestampMillisecond(Some(v), _) => micros_to_text(v.checked_mul(1000)?),
        ScalarValue::TimestampSecond(Some(v), _) => micros_to_text(v.checked_mul(1_000_000)?),
        ScalarValue::Utf8(Some(s))
        | ScalarValue::LargeUtf8(Some(s))
        | ScalarValue::Utf8View(Some(s))
            if s.chars().count() <= LONGEST_STRING_BOUND =>
        {
            Some(json!(s))
        }
        _ => None,
    }
}
