//! How a run writes Parquet: every clean part, mart and intermediate table with the same
//! [`writer_properties`], a mart streamed as the engine produces it ([`write_mart`], over
//! the parallel column writer of [`crate::parquet_out`]), small tables from batches in
//! memory ([`parquet_bytes`]).

use bytes::Bytes;
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::basic::Compression;
use datafusion::parquet::file::properties::WriterProperties;
use datafusion::parquet::schema::types::ColumnPath;
use pricelake_lake::Lake;

use crate::error::TransformError;
use crate::parquet_out;

/// How every table and mart is written: Snappy, and no dictionary for `record_id`. A record
/// id is a hash, unique per row of the clean tables (and per observation in `prices_fx`), so
/// its dictionary only fills up and falls back to plain values after every value has been
/// hashed and interned: the writer's costliest column, for nothing.
fn writer_properties() -> WriterProperties {
    WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_column_dictionary_enabled(ColumnPath::from("record_id"), false)
        .build()
}

/// `batches` as the bytes of one Parquet file (for tables small enough to hold in memory).
pub(crate) fn parquet_bytes(
    schema: SchemaRef,
    batches: &[RecordBatch],
) -> Result<Bytes, TransformError> {
    let props = writer_properties();
    let mut buffer = Vec::new();
    let mut writer = ArrowWriter::try_new(&mut buffer, schema, Some(props))
        .map_err(|e| TransformError::Parquet(e.to_string()))?;
    for batch in batches {
        writer
            .write(batch)
            .map_err(|e| TransformError::Parquet(e.to_string()))?;
    }
    writer
        .close()
        .map_err(|e| TransformError::Parquet(e.to_string()))?;
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
    let props = writer_properties();
    let object = object_store::buffered::BufWriter::new(lake.store(), lake.path(path));
    let mut writer = parquet_out::ParallelParquetWriter::try_new(object, schema.clone(), props)
        .map_err(|e| MartWriteError::Parquet(e.to_string()))?;
    let (mut rows, mut null_rates) = (0usize, 0u64);
    while let Some(batch) = stream.next().await {
        let batch = batch.map_err(MartWriteError::Query)?;
        rows += batch.num_rows();
        null_rates += missing_rates(std::slice::from_ref(&batch));
        writer
            .write(&batch)
            .await
            .map_err(|e| MartWriteError::Parquet(e.to_string()))?;
    }
    writer
        .close()
        .await
        .map_err(|e| MartWriteError::Parquet(e.to_string()))?;
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
    Parquet(String),
}

impl MartWriteError {
    pub(crate) fn for_mart(self, mart: &str) -> TransformError {
        match self {
            MartWriteError::Query(source) => TransformError::Query {
                mart: mart.to_string(),
                source,
            },
            MartWriteError::Parquet(e) => TransformError::Parquet(format!("{mart}: {e}")),
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
