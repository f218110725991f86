//! How a run writes Parquet: every clean part and the items table with the same
//! [`table_properties`], every mart and intermediate table with [`mart_properties`]; a mart
//! streamed as the engine produces it ([`write_mart`], over the parallel column writer of
//! [`crate::parquet_out`]), small tables from batches in memory ([`parquet_bytes`]).

use bytes::Bytes;
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::basic::Compression;
use datafusion::parquet::file::properties::{WriterProperties, WriterPropertiesBuilder};
use datafusion::parquet::schema::types::ColumnPath;
use pricelake_lake::Lake;

use crate::error::TransformError;
use crate::parquet_out;

/// How every table and mart is written: Snappy, and no dictionary for `record_id`. A record
/// id is a hash, unique per row of the clean tables (and per observation in `prices_fx`), so
/// its dictionary only fills up and falls back to plain values after every value has been
/// hashed and interned: the writer's costliest column, for nothing.
fn table_properties() -> WriterPropertiesBuilder {
    WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_column_dictionary_enabled(ColumnPath::from("record_id"), false)
}

/// How a mart (or a run's intermediate table) of `schema` is written: as a table, and with
/// no dictionary for its floating-point columns either. A mart's prices and rates are
/// converted to every currency, so all but unique too: leaving their dictionaries out saved
/// about 5 % of an hour's CPU time on the 10 M lake, for marts 2.4 % bigger
/// (docs/benchmarks.md). The clean tables keep theirs: prices in the source's currency
/// repeat, and their dictionaries pay (9 % smaller clean tables than without).
fn mart_properties(schema: &SchemaRef) -> WriterProperties {
    schema
        .fields()
        .iter()
        .filter(|f| f.data_type().is_floating())
        .fold(table_properties(), |builder, f| {
            builder.set_column_dictionary_enabled(ColumnPath::from(f.name().as_str()), false)
        })
        .build()
}

/// `batches` as the bytes of one Parquet file (for tables small enough to hold in memory).
pub(crate) fn parquet_bytes(
    table: &str,
    schema: SchemaRef,
    batches: &[RecordBatch],
) -> Result<Bytes, TransformError> {
    let failed = |source| TransformError::Parquet {
        table: table.to_string(),
        source,
    };
    let props = table_properties().build();
    let mut buffer = Vec::new();
    let mut writer = ArrowWriter::try_new(&mut buffer, schema, Some(props)).map_err(failed)?;
    for batch in batches {
        writer.write(batch).map_err(failed)?;
    }
    writer.close().map_err(failed)?;
    Ok(Bytes::from(buffer))
}

/// What streaming one mart into its Parquet file found.
pub(crate) struct WrittenMart {
    pub(crate) schema: SchemaRef,
    pub(crate) rows: usize,
    /// Rows whose `rate` is null (a mart without that column: 0).
    pub(crate) null_rates: u64,
}

/// Streams a mart's rows into one Parquet object as the engine produces them, each column
/// encoded by its own task ([`parquet_out`]): memory holds a row group's encoded pages at a
/// time, not the mart. The object is written as a multipart upload that
/// becomes visible only when complete (a crash leaves no partial file under its name), and
/// the run is committed by its manifest afterwards anyway.
pub(crate) async fn write_mart(
    lake: &Lake,
    path: &str,
    df: datafusion::dataframe::DataFrame,
) -> Result<WrittenMart, MartWriteError> {
    use futures::StreamExt;
    let started = std::time::Instant::now();
    let mut stream = df.execute_stream().await.map_err(MartWriteError::Query)?;
    let schema = stream.schema();
    let props = mart_properties(&schema);
    let object = object_store::buffered::BufWriter::new(lake.store(), lake.path(path));
    let mut writer = parquet_out::ParallelParquetWriter::try_new(object, schema.clone(), props)
        .map_err(MartWriteError::Parquet)?;
    let (mut rows, mut null_rates) = (0usize, 0u64);
    while let Some(batch) = stream.next().await {
        let batch = batch.map_err(MartWriteError::Query)?;
        rows += batch.num_rows();
        null_rates += missing_rates(std::slice::from_ref(&batch));
        writer
            .write(&batch)
            .await
            .map_err(MartWriteError::Parquet)?;
    }
    writer.close().await.map_err(MartWriteError::Parquet)?;
    // Where a run spends its time: every mart, day mart and intermediate table passes here.
    tracing::debug!(
        path,
        rows,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "table written"
    );
    Ok(WrittenMart {
        schema,
        rows,
        null_rates,
    })
}

/// [`write_mart`]'s failures, named after their mart by [`MartWriteError::for_mart`].
pub(crate) enum MartWriteError {
    Query(datafusion::error::DataFusionError),
    Parquet(datafusion::parquet::errors::ParquetError),
}

impl MartWriteError {
    pub(crate) fn for_mart(self, mart: &str) -> TransformError {
        match self {
            MartWriteError::Query(source) => TransformError::Query {
                mart: mart.to_string(),
                source,
            },
            MartWriteError::Parquet(source) => TransformError::Parquet {
                table: mart.to_string(),
                source,
            },
        }
    }
}

/// Rows whose `rate` is null (a batch without that column: none).
fn missing_rates(batches: &[RecordBatch]) -> u64 {
    batches
        .iter()
        .filter_map(|b| b.column_by_name("rate"))
        .map(|c| c.null_count() as u64)
        .sum()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use datafusion::arrow::array::{Int64Array, StringArray};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};

    use super::*;

    #[test]
    fn a_marts_floats_and_hashes_are_written_without_a_dictionary_a_tables_floats_with_one() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("record_id", DataType::Utf8, false),
            Field::new("sale_price", DataType::Float64, true),
            Field::new("currency", DataType::Utf8, false),
            Field::new("item_id", DataType::Int64, false),
        ]));
        let mart = mart_properties(&schema);
        let table = table_properties().build();
        let column = |name: &str| ColumnPath::from(name);
        assert!(!mart.dictionary_enabled(&column("record_id")));
        assert!(!mart.dictionary_enabled(&column("sale_price")));
        assert!(mart.dictionary_enabled(&column("currency")));
        assert!(mart.dictionary_enabled(&column("item_id")));
        assert!(!table.dictionary_enabled(&column("record_id")));
        assert!(table.dictionary_enabled(&column("sale_price")));
        for props in [&mart, &table] {
            assert_eq!(props.compression(&column("currency")), Compression::SNAPPY);
        }
    }

    #[test]
    fn a_batch_the_writer_cannot_take_names_its_table_and_keeps_parquets_error() {
        let declared = Arc::new(Schema::new(vec![Field::new("id", DataType::Int64, false)]));
        let other =
            RecordBatch::try_from_iter([("name", Arc::new(StringArray::from(vec!["TV"])) as _)])
                .unwrap();
        let error = parquet_bytes("items", declared.clone(), &[other]).unwrap_err();
        assert!(
            matches!(&error, TransformError::Parquet { table, .. } if table == "items"),
            "{error:?}"
        );
        assert!(std::error::Error::source(&error).is_some(), "{error:?}");
        assert_eq!(error.to_string(), "writing items as Parquet");

        let fits =
            RecordBatch::try_new(declared.clone(), vec![Arc::new(Int64Array::from(vec![7]))])
                .unwrap();
        assert!(parquet_bytes("items", declared, &[fits]).is_ok());
    }
}
