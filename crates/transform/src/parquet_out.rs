//! Parquet encoding that keeps every core busy: each column of a row group is encoded by its
//! own task while the query goes on producing rows.
//!
//! A mart's rows come out of one sort-preserving merge, in order, into one file. With the
//! arrow writer the task that drives the merge also encodes every column, one after the
//! other, so a run spent about as long encoding as computing, on one core, while the other
//! waited. Here the driving task only hands each batch's columns to their encoders (a
//! bounded channel per column: memory holds a few batches, not the row group's rows) and
//! takes the next batch; a full row group is closed, spliced into the file in column order
//! and its bytes uploaded. The same bytes as the arrow writer's for the same rows, whatever
//! the order the encoders finish in (the `tests` below check this).

use std::io::Write;
use std::sync::{Arc, Mutex};

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::parquet::arrow::arrow_writer::{
    compute_leaves, ArrowColumnChunk, ArrowColumnWriter, ArrowLeafColumn,
    ArrowRowGroupWriterFactory, ArrowWriterOptions,
};
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::errors::ParquetError;
use datafusion::parquet::file::properties::{WriterProperties, DEFAULT_MAX_ROW_GROUP_ROW_COUNT};
use datafusion::parquet::file::writer::SerializedFileWriter;
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Batches queued per column before the driving task waits for that column's encoder.
const QUEUED_BATCHES: usize = 2;

/// Writes record batches as one Parquet object, the columns encoded in parallel.
pub(crate) struct ParallelParquetWriter<W> {
    file: SerializedFileWriter<SharedBuffer>,
    encoded: SharedBuffer,
    columns: ArrowRowGroupWriterFactory,
    schema: SchemaRef,
    out: W,
    open: Option<OpenRowGroup>,
    row_groups: usize,
    max_rows: usize,
}

/// The encoders of the row group being filled.
struct OpenRowGroup {
    senders: Vec<mpsc::Sender<ArrowLeafColumn>>,
    encoders: Vec<JoinHandle<Result<ArrowColumnWriter, ParquetError>>>,
    rows: usize,
}

impl<W: AsyncWrite + Unpin + Send> ParallelParquetWriter<W> {
    /// A writer of `schema`'s rows with `props` into `out` (flushed a row group at a time).
    pub(crate) fn try_new(
        out: W,
        schema: SchemaRef,
        props: WriterProperties,
    ) -> Result<Self, ParquetError> {
        let max_rows = props
            .max_row_group_row_count()
            .unwrap_or(DEFAULT_MAX_ROW_GROUP_ROW_COUNT)
            .max(1);
        let encoded = SharedBuffer::default();
        let options = ArrowWriterOptions::new().with_properties(props);
        let (file, columns) =
            ArrowWriter::try_new_with_options(encoded.clone(), schema.clone(), options)?
                .into_serialized_writer()?;
        Ok(Self {
            file,
            encoded,
            columns,
            schema,
            out,
            open: None,
            row_groups: 0,
            max_rows,
        })
    }

    /// Hands the batch's columns to their encoders; closes each row group that fills up.
    pub(crate) async fn write(&mut self, batch: &RecordBatch) -> Result<(), ParquetError> {
        let mut rest = batch.clone();
        while rest.num_rows() > 0 {
            if self.open.is_none() {
                let started = self.start_row_group()?;
                self.open = Some(started);
            }
            let filled = self.open.as_ref().map_or(0, |open| open.rows);
            let take = rest.num_rows().min(self.max_rows - filled);
            let part = rest.slice(0, take);
            rest = rest.slice(take, rest.num_rows() - take);
            let mut leaves = Vec::new();
            for (array, field) in part.columns().iter().zip(self.schema.fields()) {
                leaves.extend(compute_leaves(field, array)?);
            }
            let Some(open) = self.open.as_mut() else {
                unreachable!("a row group was opened above");
            };
            if leaves.len() != open.senders.len() {
                return Err(ParquetError::General(format!(
                    "{} leaf columns for {} column writers",
                    leaves.len(),
                    open.senders.len()
                )));
            }
            let mut stopped = false;
            for (leaf, sender) in leaves.into_iter().zip(&open.senders) {
                if sender.send(leaf).await.is_err() {
                    stopped = true;
                    break;
                }
            }
            if stopped {
                // An encoder stopped: its error comes out of the row group's close.
                self.finish_row_group().await?;
                return Err(ParquetError::General(
                    "a column encoder stopped before its row group was complete".into(),
                ));
            }
            open.rows += take;
            if open.rows == self.max_rows {
                self.finish_row_group().await?;
            }
        }
        Ok(())
    }

    /// Closes the last row group, writes the footer and completes the object.
    pub(crate) async fn close(mut self) -> Result<(), ParquetError> {
        self.finish_row_group().await?;
        self.file.finish()?;
        self.upload().await?;
        self.out
            .shutdown()
            .await
            .map_err(|e| ParquetError::External(Box::new(e)))
    }

    fn start_row_group(&mut self) -> Result<OpenRowGroup, ParquetError> {
        let writers = self.columns.create_column_writers(self.row_groups)?;
        let (mut senders, mut encoders) = (Vec::new(), Vec::new());
        for mut writer in writers {
            let (sender, mut leaves) = mpsc::channel::<ArrowLeafColumn>(QUEUED_BATCHES);
            senders.push(sender);
            encoders.push(tokio::spawn(async move {
                while let Some(leaf) = leaves.recv().await {
                    writer.write(&leaf)?;
                }
                Ok(writer)
            }));
        }
        Ok(OpenRowGroup {
            senders,
            encoders,
            rows: 0,
        })
    }

    /// Waits for the open row group's encoders, appends their chunks in column order and
    /// uploads the bytes. Nothing open: nothing to do.
    async fn finish_row_group(&mut self) -> Result<(), ParquetError> {
        let Some(open) = self.open.take() else {
            return Ok(());
        };
        drop(open.senders);
        let mut chunks: Vec<ArrowColumnChunk> = Vec::with_capacity(open.encoders.len());
        let mut failure = None;
        for encoder in open.encoders {
            match encoder.await {
                Ok(Ok(writer)) => chunks.push(writer.close()?),
                Ok(Err(e)) => failure = failure.or(Some(e)),
                Err(join) => {
                    failure = failure.or(Some(ParquetError::External(Box::new(join))));
                }
            }
        }
        if let Some(e) = failure {
            return Err(e);
        }
        if open.rows == 0 {
            return Ok(());
        }
        let mut row_group = self.file.next_row_group()?;
        for chunk in chunks {
            chunk.append_to_row_group(&mut row_group)?;
        }
        row_group.close()?;
        self.row_groups += 1;
        self.upload().await
    }

    /// Moves the bytes encoded so far to the object.
    async fn upload(&mut self) -> Result<(), ParquetError> {
        self.file.flush()?;
        let bytes = self.encoded.take();
        if !bytes.is_empty() {
            self.out
                .write_all(&bytes)
                .await
                .map_err(|e| ParquetError::External(Box::new(e)))?;
        }
        Ok(())
    }
}

/// The file writer's sink: bytes wait here until [`ParallelParquetWriter::upload`] takes them
/// (the file writer counts offsets itself, so taking them does not move any).
#[derive(Clone, Default)]
struct SharedBuffer(Arc<Mutex<Vec<u8>>>);

impl SharedBuffer {
    fn take(&self) -> Vec<u8> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

impl Write for SharedBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{ArrayRef, Float64Array, Int64Array, StringArray};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use datafusion::parquet::basic::Compression;

    fn batches(rows: usize, per_batch: usize) -> (SchemaRef, Vec<RecordBatch>) {
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("name", DataType::Utf8, true),
            Field::new("price", DataType::Float64, true),
        ]));
        let mut out = Vec::new();
        let mut start = 0;
        while start < rows {
            let n = per_batch.min(rows - start);
            let ids: Vec<i64> = (start as i64..(start + n) as i64).collect();
            let names: Vec<Option<String>> = ids
                .iter()
                .map(|i| (i % 7 != 0).then(|| format!("item {}", i % 13)))
                .collect();
            let prices: Vec<Option<f64>> = ids
                .iter()
                .map(|i| (i % 5 != 0).then_some(*i as f64 * 0.25))
                .collect();
            let columns: Vec<ArrayRef> = vec![
                Arc::new(Int64Array::from(ids)),
                Arc::new(StringArray::from(names)),
                Arc::new(Float64Array::from(prices)),
            ];
            out.push(RecordBatch::try_new(schema.clone(), columns).unwrap());
            start += n;
        }
        (schema, out)
    }

    fn props(max_rows: usize) -> WriterProperties {
        WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_max_row_group_row_count(Some(max_rows))
            .build()
    }

    async fn parallel(schema: SchemaRef, input: &[RecordBatch], max_rows: usize) -> Vec<u8> {
        let mut out = Vec::new();
        let mut writer = ParallelParquetWriter::try_new(&mut out, schema, props(max_rows)).unwrap();
        for batch in input {
            writer.write(batch).await.unwrap();
        }
        writer.close().await.unwrap();
        out
    }

    fn serial(schema: SchemaRef, input: &[RecordBatch], max_rows: usize) -> Vec<u8> {
        let mut out = Vec::new();
        let mut writer = ArrowWriter::try_new(&mut out, schema, Some(props(max_rows))).unwrap();
        for batch in input {
            writer.write(batch).unwrap();
        }
        writer.close().unwrap();
        out
    }

    fn read(bytes: Vec<u8>) -> (usize, Vec<RecordBatch>) {
        let builder = ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(bytes)).unwrap();
        let row_groups = builder.metadata().num_row_groups();
        let batches = builder.build().unwrap().map(Result::unwrap).collect();
        (row_groups, batches)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn row_groups_split_across_batches_read_back_as_the_rows_written() {
        // 10,000 rows in batches of 3,000 into row groups of 4,096: groups end inside batches.
        let (schema, input) = batches(10_000, 3_000);
        let bytes = parallel(schema.clone(), &input, 4_096).await;
        let (row_groups, back) = read(bytes);
        assert_eq!(row_groups, 3);
        let written = datafusion::arrow::compute::concat_batches(&schema, &input).unwrap();
        let read = datafusion::arrow::compute::concat_batches(&schema, &back).unwrap();
        assert_eq!(read, written);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_bytes_are_those_of_the_arrow_writer() {
        let (schema, input) = batches(5_000, 1_024);
        let parallel = parallel(schema.clone(), &input, 2_000).await;
        assert_eq!(parallel, serial(schema, &input, 2_000));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn no_rows_give_a_readable_file_with_the_columns() {
        let (schema, _) = batches(0, 1);
        let bytes = parallel(schema.clone(), &[], 1_000).await;
        let builder = ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(bytes)).unwrap();
        assert_eq!(builder.metadata().num_row_groups(), 0);
        assert_eq!(builder.schema().fields().len(), schema.fields().len());
    }
}
