//! A table's commits, read back: by delta-rs itself (its own snapshot) and by pricelake's
//! reading of it, on a real folder.

use std::sync::Arc;

use bytes::Bytes;
use datafusion::arrow::array::{Date32Array, Float64Array, Int64Array, RecordBatch};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::parquet::arrow::ArrowWriter;
use pricelake_lake::{Lake, LakeConfig};

use crate::commit::with_partition;
use crate::{commit, describe, live_files, Committed, Removal, RunKey, TableChange};

fn lake(dir: &tempfile::TempDir) -> Lake {
    Lake::open(&LakeConfig {
        url: dir.path().to_string_lossy().into(),
        ..Default::default()
    })
    .unwrap()
}

/// A Parquet file of `rows` rows (`item_id`, `price`, and the day they are of).
fn file(rows: i64, day: i32) -> Bytes {
    let schema = Arc::new(Schema::new(vec![
        Field::new("item_id", DataType::Int64, false),
        Field::new("price", DataType::Float64, true),
        Field::new("date", DataType::Date32, false),
    ]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(Int64Array::from((1..=rows).collect::<Vec<_>>())),
            Arc::new(Float64Array::from(
                (1..=rows).map(|i| Some(i as f64 / 2.0)).collect::<Vec<_>>(),
            )),
            Arc::new(Date32Array::from(vec![day; rows as usize])),
        ],
    )
    .unwrap();
    let mut out = Vec::new();
    let mut writer = ArrowWriter::try_new(&mut out, schema, None).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
    Bytes::from(out)
}

fn run(seq: i64) -> RunKey {
    RunKey {
        run_id: format!("20260101T000000Z-{seq:08}"),
        seq,
    }
}

fn change(added: Vec<String>, removal: Removal) -> TableChange {
    TableChange {
        table: "marts/m".into(),
        schema: None,
        partition_by: None,
        added,
        removal,
    }
}

#[tokio::test]
async fn a_run_commits_once_however_often_it_is_replayed() {
    let dir = tempfile::tempdir().unwrap();
    let lake = lake(&dir);
    lake.put("marts/m/r1/part-2026-01-01.parquet", file(3, 20_454))
        .await
        .unwrap();
    let first = change(
        vec!["marts/m/r1/part-2026-01-01.parquet".into()],
        Removal::Everything,
    );
    // Created (version 0), then the run's commit (version 1).
    assert_eq!(
        commit(&lake, &first, &run(1)).await.unwrap(),
        Committed::Version(1)
    );
    // Replayed (a crash after the commit, a second process finishing the run): nothing new.
    for _ in 0..2 {
        assert_eq!(
            commit(&lake, &first, &run(1)).await.unwrap(),
            Committed::AlreadyThere(1)
        );
    }
    let log = lake.list("marts/m/_delta_log").await.unwrap();
    assert_eq!(
        log.iter().filter(|o| o.path.ends_with(".json")).count(),
        2,
        "{log:?}"
    );
    let files = live_files(&lake, "marts/m", None).await.unwrap().unwrap();
    assert_eq!(files.version, 1);
    assert_eq!(files.rows, Some(3), "rows from the file's statistics");
    assert_eq!(files.files, ["marts/m/r1/part-2026-01-01.parquet"]);
}

#[tokio::test]
async fn a_commit_removes_only_the_files_it_names_and_earlier_versions_stay_readable() {
    let dir = tempfile::tempdir().unwrap();
    let lake = lake(&dir);
    for (path, rows, day) in [
        ("marts/m/r1/part-2026-01-01.parquet", 3, 20_454),
        ("marts/m/r1/part-2026-01-02.parquet", 4, 20_455),
        ("marts/m/r2/part-2026-01-02.parquet", 5, 20_455),
    ] {
        lake.put(path, file(rows, day)).await.unwrap();
    }
    commit(
        &lake,
        &change(
            vec![
                "marts/m/r1/part-2026-01-01.parquet".into(),
                "marts/m/r1/part-2026-01-02.parquet".into(),
            ],
            Removal::Everything,
        ),
        &run(1),
    )
    .await
    .unwrap();
    // Run 2 recomputes the 2nd: its file replaces that day's, the 1st stays where it is.
    let second = change(
        vec!["marts/m/r2/part-2026-01-02.parquet".into()],
        Removal::Files(["r1/part-2026-01-02.parquet".to_string()].into()),
    );
    assert_eq!(
        commit(&lake, &second, &run(2)).await.unwrap(),
        Committed::Version(2)
    );
    let now = live_files(&lake, "marts/m", None).await.unwrap().unwrap();
    assert_eq!(
        now.files,
        [
            "marts/m/r1/part-2026-01-01.parquet",
            "marts/m/r2/part-2026-01-02.parquet"
        ],
        "in the mart's order: by file name, whatever run's folder"
    );
    assert_eq!(now.rows, Some(8));
    let before = live_files(&lake, "marts/m", Some(1))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(before.rows, Some(7));
    let summary = describe(&lake, "marts/m").await.unwrap().unwrap();
    assert_eq!(summary.latest, now);
    assert_eq!(summary.run_id.as_deref(), Some(run(2).run_id.as_str()));
    assert_eq!(summary.operation.as_deref(), Some("WRITE"));
}

#[tokio::test]
async fn a_partitioned_table_takes_its_partition_from_the_folder_and_keeps_stats_without_it() {
    let dir = tempfile::tempdir().unwrap();
    let lake = lake(&dir);
    let path = "clean/t/date=2026-01-01/part-x.parquet";
    lake.put(path, file(2, 20_454)).await.unwrap();
    let columns = Schema::new(vec![
        Field::new("item_id", DataType::Int64, false),
        Field::new("price", DataType::Float64, true),
    ]);
    let change = TableChange {
        table: "clean/t".into(),
        schema: Some(with_partition(&columns, "date")),
        partition_by: Some("date".into()),
        added: vec![path.into()],
        removal: Removal::Nothing,
    };
    // The file holds a `date` column too here; what matters is the log's partition value.
    commit(&lake, &change, &run(1)).await.unwrap();
    let log = lake
        .get("clean/t/_delta_log/00000000000000000001.json")
        .await;
    let text = String::from_utf8(log.unwrap().unwrap().to_vec()).unwrap();
    let actions: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let add = actions.iter().find_map(|a| a.get("add")).expect("an add");
    assert_eq!(add["path"], "date=2026-01-01/part-x.parquet");
    assert_eq!(add["partitionValues"]["date"], "2026-01-01");
    let stats: serde_json::Value = serde_json::from_str(add["stats"].as_str().unwrap()).unwrap();
    assert_eq!(stats["numRecords"], 2);
    assert_eq!(stats["minValues"]["price"], 0.5);
    assert_eq!(stats["maxValues"]["item_id"], 2);
    assert_eq!(stats["nullCount"]["price"], 0);
    assert!(
        stats["minValues"].get("date").is_none(),
        "no partition in the stats: {stats}"
    );
    let txn = actions.iter().find_map(|a| a.get("txn")).expect("a txn");
    assert_eq!(txn["appId"], "pricelake-process");
    assert_eq!(txn["version"], 1);
}

#[tokio::test]
async fn a_folder_without_a_log_is_no_table_and_nothing_is_made_of_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let lake = lake(&dir);
    assert_eq!(live_files(&lake, "marts/none", None).await.unwrap(), None);
    lake.put("marts/old/r1/part-0.parquet", file(1, 1))
        .await
        .unwrap();
    assert_eq!(live_files(&lake, "marts/old", None).await.unwrap(), None);
    assert_eq!(
        commit(&lake, &change(Vec::new(), Removal::Nothing), &run(1))
            .await
            .unwrap(),
        Committed::NoTable
    );
}

/// A table checkpoints once every [`crate::commit::CHECKPOINT_INTERVAL`] commits, at versions
/// of its own ([`crate::commit::checkpoint_due`]: tables committed by the same runs do not all
/// checkpoint in the same run), and reads right at any version across a checkpoint, by
/// delta-rs's own snapshot and with one commit's file replaced each run.
#[tokio::test]
async fn a_table_checkpoints_every_ten_commits_and_reads_right_across_them() {
    let dir = tempfile::tempdir().unwrap();
    let lake = lake(&dir);
    let interval = crate::commit::CHECKPOINT_INTERVAL as i64;
    let due = |v: i64| crate::commit::checkpoint_due("marts/m", v as u64, interval as u64);
    let mut expected = Vec::new();
    for seq in 1..=2 * interval {
        let path = format!("marts/m/r{seq}/part-2026-01-01.parquet");
        lake.put(&path, file(seq, 20_454)).await.unwrap();
        let removal = Removal::Everything;
        assert_eq!(
            commit(&lake, &change(vec![path], removal), &run(seq))
                .await
                .unwrap(),
            Committed::Version(seq as u64)
        );
        let checkpoints: Vec<String> = lake
            .list("marts/m/_delta_log")
            .await
            .unwrap()
            .into_iter()
            .map(|o| o.path)
            .filter(|p| p.ends_with(".checkpoint.parquet"))
            .collect();
        if due(seq) {
            expected.push(format!("marts/m/_delta_log/{seq:020}.checkpoint.parquet"));
        }
        assert_eq!(checkpoints, expected, "after version {seq}");
    }
    // Two commits in twenty, ten apart.
    assert_eq!(expected.len(), 2, "{expected:?}");
    let checkpointed: Vec<i64> = (1..=2 * interval).filter(|v| due(*v)).collect();
    assert_eq!(checkpointed[1] - checkpointed[0], interval);
    // Another table's checkpoints fall on other versions.
    assert!((0..interval as u64).any(|v| crate::commit::checkpoint_due(
        "marts/m",
        v,
        interval as u64
    ) != crate::commit::checkpoint_due(
        "clean/fx_rates",
        v,
        interval as u64
    )));
    assert!(lake
        .head("marts/m/_delta_log/_last_checkpoint")
        .await
        .unwrap()
        .is_some());
    let first = checkpointed[0];
    for version in [1, first - 1, first, first + 1, 2 * interval] {
        let files = live_files(&lake, "marts/m", Some(version as u64))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            files.files,
            [format!("marts/m/r{version}/part-2026-01-01.parquet")]
        );
        assert_eq!(files.rows, Some(version as u64), "version {version}");
    }
    // A replay of a run before the checkpoint is still found by its `txn`.
    let path = "marts/m/r3/part-2026-01-01.parquet".to_string();
    assert!(matches!(
        commit(&lake, &change(vec![path], Removal::Everything), &run(3))
            .await
            .unwrap(),
        Committed::AlreadyThere(_)
    ));
}
