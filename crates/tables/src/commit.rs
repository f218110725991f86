//! One run's change to one table, committed once: the files the run added, the live files
//! it removed, and the run as the commit's application transaction (`txn`), so that a run
//! finished again after a crash, or replayed, finds its commit and makes no second one.

use std::collections::{BTreeSet, HashMap};

use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::parquet::arrow::parquet_to_arrow_schema;
use deltalake_core::kernel::engine::arrow_conversion::TryIntoKernel;
use deltalake_core::kernel::transaction::{CommitBuilder, CommitProperties, TransactionError};
use deltalake_core::kernel::{Action, Add, MetadataExt, StructType, Transaction};
use deltalake_core::protocol::{DeltaOperation, SaveMode};
use deltalake_core::table::config::{TablePropertiesExt, TableProperty};
use deltalake_core::{checkpoints, DeltaTable, DeltaTableError};
use futures::{StreamExt, TryStreamExt};
use pricelake_lake::Lake;

use crate::location::{handle, load, LatestTables};
use crate::stats::{delta_stats, footer};
use crate::{TableError, Version};

/// Files whose footers are read at once (on S3 each is a request).
const FOOTERS_AT_ONCE: usize = 16;

/// Commits between checkpoints (delta-rs's default is 100, Delta Spark's 10). Reading a table
/// replays the JSON commits since its last checkpoint, twice per run's commit (the snapshot,
/// then the run's `txn`), and a table takes one commit per hourly run: at 100, the replay grew
/// for four days. A checkpoint of these tables is one small Parquet file of a few dozen live
/// files. Each table writes it at versions of its own ([`checkpoint_due`]).
pub const CHECKPOINT_INTERVAL: u64 = 10;

/// The application id of process runs in each table's `txn` actions.
pub const PROCESS_APP_ID: &str = "pricelake-process";

/// The run a commit belongs to.
#[derive(Debug, Clone)]
pub struct RunKey {
    /// The run's id, recorded in the commit's metadata (`pricelake.run`).
    pub run_id: String,
    /// The run's sequence number: the `txn` version. Runs number upwards, so a table whose
    /// `txn` is at or past it has the run's commit.
    pub seq: i64,
}

/// What a run removes from a table besides adding its files.
#[derive(Debug, Clone, PartialEq)]
pub enum Removal {
    /// Nothing: an append (new clean parts).
    Nothing,
    /// Every live file: the table is replaced (a whole-lake mart, `items`, a full refresh).
    Everything,
    /// These live files, table-relative: a mart kept by day whose touched days are
    /// recomputed.
    Files(BTreeSet<String>),
}

/// One run's change to one table.
#[derive(Debug, Clone)]
pub struct TableChange {
    /// The table's folder, lake-relative (`clean/fx_rates`, `marts/prices_fx`).
    pub table: String,
    /// The columns of its rows, the partition column included: the table's schema; `None`
    /// takes the first added file's columns, all nullable (and the partition column). A
    /// changed schema is taken only when the change replaces every file.
    pub schema: Option<SchemaRef>,
    /// The column the table is partitioned by (`date`, from the files' `date=` folder, and
    /// not in the files), or none.
    pub partition_by: Option<String>,
    /// Files the run wrote for the table, lake-relative.
    pub added: Vec<String>,
    /// What the run removes.
    pub removal: Removal,
}

/// What [`commit`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Committed {
    /// A new version.
    Version(Version),
    /// The run's commit was already in the table (a replay): nothing was committed.
    AlreadyThere(Version),
    /// Nothing to commit: the change adds and removes nothing (the table's version).
    Unchanged(Version),
    /// No table, and nothing to make one of: no schema given and no file added.
    NoTable,
}

impl Committed {
    /// The table's version after the call.
    pub fn version(self) -> Version {
        match self {
            Committed::Version(v) | Committed::AlreadyThere(v) | Committed::Unchanged(v) => v,
            Committed::NoTable => 0,
        }
    }
}

/// Commits `change` to its table as `run`'s, creating the table (empty, version 0) first
/// when there is none. A run's change is committed at most once, whatever number of times
/// this is called.
pub async fn commit(
    lake: &Lake,
    change: &TableChange,
    run: &RunKey,
) -> Result<Committed, TableError> {
    commit_to_latest(lake, &LatestTables::default(), change, run).await
}

/// [`commit`], onto the table as `latest` holds it (read earlier in the same run), so that
/// its log is not read a second time.
pub async fn commit_to_latest(
    lake: &Lake,
    latest: &LatestTables,
    change: &TableChange,
    run: &RunKey,
) -> Result<Committed, TableError> {
    let committed = commit_onto(lake, latest, change, run).await;
    latest.forget(&change.table);
    committed
}

async fn commit_onto(
    lake: &Lake,
    latest: &LatestTables,
    change: &TableChange,
    run: &RunKey,
) -> Result<Committed, TableError> {
    let table_name = change.table.as_str();
    let failed = TableError::delta(table_name);
    let (adds, first_file_columns) = added_files(lake, change).await?;
    let schema = match (&change.schema, first_file_columns) {
        (Some(schema), _) => schema.clone(),
        (None, Some(columns)) => {
            let columns = nullable(&columns);
            match &change.partition_by {
                Some(column) => with_partition(&columns, column),
                None => std::sync::Arc::new(columns),
            }
        }
        (None, None) => match latest.get(lake, table_name).await? {
            Some(table) => {
                let version = table.version().unwrap_or(0);
                return match change.removal {
                    Removal::Nothing => Ok(Committed::Unchanged(version)),
                    _ => Err(TableError::Refused {
                        table: change.table.clone(),
                        problem: "a change that removes files must name the table's columns"
                            .to_string(),
                    }),
                };
            }
            None => return Ok(Committed::NoTable),
        },
    };
    let schema: StructType =
        schema
            .as_ref()
            .try_into_kernel()
            .map_err(|e| TableError::Refused {
                table: change.table.clone(),
                problem: format!("its schema has no Delta equivalent: {e}"),
            })?;
    let table = match latest.get(lake, table_name).await? {
        Some(table) => table,
        None => create(lake, change, &schema).await?,
    };
    let snapshot = table.snapshot().map_err(TableError::delta(table_name))?;
    let log_store = table.log_store();
    let version = snapshot.version();
    if snapshot
        .transaction_version(log_store.as_ref(), PROCESS_APP_ID)
        .await
        .map_err(TableError::delta(table_name))?
        .is_some_and(|v| v >= run.seq)
    {
        return Ok(Committed::AlreadyThere(version));
    }

    let mut actions = Vec::new();
    let replaces_all = change.removal == Removal::Everything;
    if snapshot.schema().as_ref() != &schema {
        if !replaces_all {
            return Err(TableError::Refused {
                table: change.table.clone(),
                problem: "the run's files have other columns than the table; \
                          run `pricelake process --full-refresh` to rewrite it"
                    .to_string(),
            });
        }
        let metadata = snapshot
            .metadata()
            .clone()
            .with_schema(&schema)
            .map_err(|e| TableError::delta(table_name)(e.into()))?;
        actions.push(Action::Metadata(metadata));
    }
    for file in snapshot.log_data().iter() {
        let path = file.path();
        let removed = match &change.removal {
            Removal::Nothing => false,
            Removal::Everything => true,
            Removal::Files(files) => files.contains(path.as_ref()),
        };
        if removed {
            actions.push(Action::Remove(file.remove_action(true)));
        }
    }
    let removes = actions.iter().any(|a| matches!(a, Action::Remove(_)));
    if adds.is_empty() && !removes && actions.is_empty() {
        return Ok(Committed::Unchanged(version));
    }
    actions.extend(adds.into_iter().map(Action::Add));

    let operation = DeltaOperation::Write {
        mode: if removes {
            SaveMode::Overwrite
        } else {
            SaveMode::Append
        },
        partition_by: change.partition_by.clone().map(|c| vec![c]),
        predicate: None,
    };
    let properties = CommitProperties::default()
        .with_application_transaction(Transaction::new(PROCESS_APP_ID, run.seq))
        .with_metadata([(
            "pricelake.run".to_string(),
            serde_json::Value::String(run.run_id.clone()),
        )]);
    let checkpoint_interval = snapshot.table_config().checkpoint_interval().get();
    let done = async {
        CommitBuilder::from(properties)
            .with_actions(actions)
            .build(Some(snapshot), log_store.clone(), operation)
            .into_prepared_commit_future()
            .await?
            .await
    }
    .await;
    match done {
        Ok(committed) => {
            let version = committed.version;
            // The commit is made. What delta-rs does after it (reading the new version back,
            // a checkpoint at its own versions, removing expired log files) is left out: the
            // run reads the table no more, and writes the checkpoint itself when it is due.
            drop(committed);
            if checkpoint_due(table_name, version, checkpoint_interval) {
                // As Delta Spark does, a checkpoint that fails does not fail the commit, which
                // is made: readers replay a few more JSON commits until the next checkpoint.
                if let Err(error) = write_checkpoint(table.clone(), table_name, version).await {
                    tracing::warn!(
                        table = table_name,
                        version,
                        %error,
                        "the table's checkpoint could not be written; its next one is due in \
                         {checkpoint_interval} commits"
                    );
                }
            }
            Ok(Committed::Version(version))
        }
        // Another process committed this run's change first (a replay racing the
        // original): the table has it once.
        Err(DeltaTableError::Transaction {
            source: TransactionError::CommitConflict(_),
        }) if already_committed(lake, table_name, run).await? => {
            let latest = load(lake, table_name, None)
                .await?
                .and_then(|t| t.version())
                .unwrap_or(version);
            Ok(Committed::AlreadyThere(latest))
        }
        Err(source) => Err(failed(source)),
    }
}

/// Whether `table` writes a checkpoint at `version`: once every `interval` versions, as
/// Delta's `checkpointInterval` asks, but at versions of the table's own. Every table of the
/// lake takes one commit per run, so at the same versions (delta-rs's rule, the tenth of each
/// ten) every table would write its checkpoint in the same run, and that run took 0.3 to
/// 0.4 s longer on the 10 M lake; spread by a hash of the table's name, a run writes the
/// checkpoints of at most four of the lake's sixteen tables (none in some runs).
pub(crate) fn checkpoint_due(table: &str, version: Version, interval: u64) -> bool {
    // FNV-1a: the same for a table's name on every machine and build.
    let hash = table.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    interval > 0 && (version + 1 + hash % interval).is_multiple_of(interval)
}

/// Writes the checkpoint of `delta` (the table as the run read it) at `version` (the run's
/// commit), then removes the log files its retention (`logRetentionDuration`) lets go, as
/// delta-rs does after a commit that checkpoints. On a thread of its own: delta-rs writes a
/// checkpoint with the Delta kernel's blocking calls, on the thread that awaits it, and on the
/// runtime's threads the tables' checkpoints took turns and held up every other task of the run.
async fn write_checkpoint(
    mut delta: DeltaTable,
    table: &str,
    version: Version,
) -> Result<(), TableError> {
    let runtime = tokio::runtime::Handle::current();
    let name = table.to_string();
    tokio::task::spawn_blocking(move || {
        runtime.block_on(async {
            // The version read, and the run's commit on top of it: not the whole log again.
            delta.update_incremental(Some(version)).await?;
            checkpoints::create_checkpoint(&delta, None).await?;
            if delta
                .snapshot()?
                .table_config()
                .enable_expired_log_cleanup()
            {
                checkpoints::cleanup_metadata(&delta, None).await?;
            }
            Ok::<(), DeltaTableError>(())
        })
    })
    .await
    .map_err(|e| TableError::Refused {
        table: name.clone(),
        problem: format!("its checkpoint stopped: {e}"),
    })?
    .map_err(TableError::delta(&name))
}

/// Replaces `removed` (live files, table-relative) by `added` (new files holding the same
/// rows, lake-relative): a compaction, committed as Delta's `OPTIMIZE` with no data change,
/// so that readers of changes skip it. Conflicts with a concurrent change to the same files
/// are delta-rs's to detect (and the lake's process lease keeps runs away meanwhile).
pub async fn compact(
    lake: &Lake,
    table: &str,
    removed: &BTreeSet<String>,
    added: &[String],
) -> Result<Version, TableError> {
    let Some(delta) = load(lake, table, None).await? else {
        return Err(TableError::NotATable {
            table: table.to_string(),
        });
    };
    let snapshot = delta.snapshot().map_err(TableError::delta(table))?;
    let change = TableChange {
        table: table.to_string(),
        schema: None,
        partition_by: None,
        added: added.to_vec(),
        removal: Removal::Files(removed.clone()),
    };
    let (adds, _) = added_files(lake, &change).await?;
    let mut actions: Vec<Action> = snapshot
        .log_data()
        .iter()
        .filter(|f| removed.contains(f.path().as_ref()))
        .map(|f| Action::Remove(f.remove_action(false)))
        .collect();
    if actions.len() != removed.len() {
        return Err(TableError::Refused {
            table: table.to_string(),
            problem: "a file to compact is no longer live (another change came first)".to_string(),
        });
    }
    actions.extend(adds.into_iter().map(|add| {
        Action::Add(Add {
            data_change: false,
            ..add
        })
    }));
    let operation = DeltaOperation::Optimize {
        predicate: None,
        target_size: 0,
    };
    let done = CommitBuilder::from(CommitProperties::default())
        .with_actions(actions)
        .build(Some(snapshot), delta.log_store(), operation)
        .await
        .map_err(TableError::delta(table))?;
    Ok(done.version())
}

/// True when the latest version of the table carries `run`'s commit.
async fn already_committed(lake: &Lake, table: &str, run: &RunKey) -> Result<bool, TableError> {
    let Some(latest) = load(lake, table, None).await? else {
        return Ok(false);
    };
    let snapshot = latest.snapshot().map_err(TableError::delta(table))?;
    Ok(snapshot
        .transaction_version(latest.log_store().as_ref(), PROCESS_APP_ID)
        .await
        .map_err(TableError::delta(table))?
        .is_some_and(|v| v >= run.seq))
}

/// Creates the table, empty: version 0, with its schema and partition column. Two runs
/// creating it at once: the second finds the first's and uses it.
async fn create(
    lake: &Lake,
    change: &TableChange,
    schema: &StructType,
) -> Result<DeltaTable, TableError> {
    let table_name = change.table.as_str();
    let created = handle(lake, table_name)?
        .create()
        .with_columns(schema.fields().cloned())
        .with_partition_columns(change.partition_by.clone())
        .with_configuration_property(
            TableProperty::CheckpointInterval,
            Some(CHECKPOINT_INTERVAL.to_string()),
        )
        .with_save_mode(SaveMode::Ignore)
        .with_commit_properties(CommitProperties::default().with_max_retries(0))
        .await;
    match created {
        Ok(table) => Ok(table),
        Err(_) => load(lake, table_name, None)
            .await?
            .ok_or_else(|| TableError::Refused {
                table: change.table.clone(),
                problem: "it could not be created".to_string(),
            }),
    }
}

/// The `add` actions of the run's files: table-relative path, partition value, size, time
/// and statistics (from each file's footer); and the first file's columns.
async fn added_files(
    lake: &Lake,
    change: &TableChange,
) -> Result<(Vec<Add>, Option<Schema>), TableError> {
    let prefix = format!("{}/", change.table.trim_end_matches('/'));
    let read: Vec<(Add, Option<Schema>)> = futures::stream::iter(change.added.iter().map(|path| {
        let prefix = prefix.as_str();
        async move {
            let relative = path
                .strip_prefix(prefix)
                .ok_or_else(|| TableError::Refused {
                    table: change.table.clone(),
                    problem: format!("{path} is not in the table's folder"),
                })?;
            let head = lake.head(path).await?.ok_or_else(|| TableError::Refused {
                table: change.table.clone(),
                problem: format!("its new file {path} is not in the lake"),
            })?;
            let metadata = footer(lake, path, head.size).await?;
            let file = metadata.file_metadata();
            let columns = parquet_to_arrow_schema(file.schema_descr(), file.key_value_metadata())
                .map_err(|source| TableError::Footer {
                path: path.to_string(),
                source,
            })?;
            let mut partition_values = HashMap::new();
            if let Some(column) = &change.partition_by {
                let value = relative
                    .split('/')
                    .find_map(|segment| segment.strip_prefix(&format!("{column}=")))
                    .map(str::to_string);
                partition_values.insert(column.clone(), value);
            }
            let add = Add {
                path: relative.to_string(),
                partition_values,
                size: head.size as i64,
                modification_time: head.last_modified.timestamp_millis(),
                data_change: true,
                stats: Some(delta_stats(&metadata, change.partition_by.as_deref())?),
                ..Default::default()
            };
            Ok::<_, TableError>((add, Some(columns)))
        }
    }))
    .buffered(FOOTERS_AT_ONCE)
    .try_collect()
    .await?;
    let first_columns = read.first().and_then(|(_, columns)| columns.clone());
    Ok((
        read.into_iter().map(|(add, _)| add).collect(),
        first_columns,
    ))
}

/// `columns`, every one nullable and without metadata: the schema of a table taken from its
/// files, which a later run's files (a merge, say, whose columns the engine cannot prove
/// non-null) must match too.
fn nullable(columns: &Schema) -> Schema {
    Schema::new(
        columns
            .fields()
            .iter()
            .map(|f| Field::new(f.name(), f.data_type().clone(), true))
            .collect::<Vec<_>>(),
    )
}

/// The schema of a table partitioned by `partition_by` whose files hold `file_columns`:
/// the files' columns and the partition column (a `date`, last).
pub fn with_partition(file_columns: &Schema, partition_by: &str) -> SchemaRef {
    let mut fields: Vec<Field> = file_columns
        .fields()
        .iter()
        .map(|f| f.as_ref().clone())
        .collect();
    fields.push(Field::new(partition_by, DataType::Date32, true));
    std::sync::Arc::new(Schema::new(fields))
}
