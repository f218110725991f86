//! Two `pricelake process` runs started at once on an `s3://` lake (the S3-protocol server of
//! the tests): one holds the lake's process lease, the other waits for it, and in the end
//! every raw object is consumed exactly once and every table has each run's commit once,
//! with the rows the same raw objects give processed anywhere else.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Stdio;

use pricelake_lake::{Lake, LakeConfig};
use serde_json::Value;

use crate::support::{create_bucket, demo_lake_of, files_under, json_of, pricelake, s3_endpoint};

/// `pricelake tables --json` of a lake, as table -> rows.
fn rows_by_table(envs: &[(&str, String)]) -> BTreeMap<String, Value> {
    let tables = json_of(
        pricelake()
            .args(["tables", "--json"])
            .envs(envs.iter().map(|(k, v)| (*k, v.as_str()))),
    );
    tables
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["table"].as_str().unwrap().to_string(), t["rows"].clone()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_process_runs_at_once_on_s3_consume_each_object_once_and_commit_each_run_once() {
    // The input: the raw zone of a demo lake made on disk, copied into a bucket.
    let dir = tempfile::tempdir().unwrap();
    let local = demo_lake_of(dir.path(), 12, 60);
    let endpoint = s3_endpoint();
    let bucket = format!("concurrent-{}", std::process::id());
    create_bucket(&endpoint, &bucket).await;
    let url = format!("s3://{bucket}/lake");
    let s3 = Lake::open(&LakeConfig {
        url: url.clone(),
        s3_endpoint: Some(endpoint.clone()),
        s3_allow_http: true,
        ..Default::default()
    })
    .unwrap();
    let raw: Vec<String> = files_under(&local.join("raw"), false)
        .iter()
        .map(|p| format!("raw/{}", p.display()))
        .collect();
    for path in &raw {
        let bytes = std::fs::read(local.join(path)).unwrap();
        s3.put(path, bytes.into()).await.unwrap();
    }
    let envs = [
        ("PRICELAKE_LAKE__URL", url.clone()),
        ("PRICELAKE_LAKE__S3_ENDPOINT", endpoint.clone()),
        ("PRICELAKE_LAKE__S3_ALLOW_HTTP", "true".to_string()),
        ("AWS_ACCESS_KEY_ID", "test".to_string()),
        ("AWS_SECRET_ACCESS_KEY", "test".to_string()),
        ("AWS_REGION", "us-east-1".to_string()),
    ];

    // Two runs, started at once.
    let start = || {
        pricelake()
            .arg("process")
            .envs(envs.iter().map(|(k, v)| (*k, v.as_str())))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (first, second) = (start(), start());
    // Both read at once: a run blocked on a full pipe would hold the lease for ever.
    let (first, second) = (
        std::thread::spawn(move || first.wait_with_output().unwrap()),
        std::thread::spawn(move || second.wait_with_output().unwrap()),
    );
    let (first, second) = (first.join().unwrap(), second.join().unwrap());
    let logs = format!(
        "{}\n{}",
        String::from_utf8_lossy(&first.stderr),
        String::from_utf8_lossy(&second.stderr)
    );
    assert!(first.status.success() && second.status.success(), "{logs}");
    assert!(
        logs.contains("another process run holds the lake"),
        "one run waited for the other: {logs}"
    );

    // Every raw object consumed exactly once, by the runs in force.
    let manifests = pricelake_lake::manifest::all_manifests(&s3).await.unwrap();
    let mut consumed: BTreeMap<&str, usize> = BTreeMap::new();
    for m in &manifests {
        for object in &m.consumed {
            *consumed.entry(object.as_str()).or_default() += 1;
        }
    }
    assert!(consumed.values().all(|n| *n == 1), "{consumed:?}");
    assert_eq!(
        consumed
            .keys()
            .map(|k| k.to_string())
            .collect::<BTreeSet<_>>(),
        raw.iter().cloned().collect::<BTreeSet<_>>(),
    );

    // Each table's commits: one per run that changed it, none twice, and the latest is the
    // version the newest run names.
    let newest = manifests.last().unwrap();
    let versions = newest.tables.clone().expect("the run named its versions");
    for table in pricelake_transform::table_folders() {
        let log = s3.list(&format!("{table}/_delta_log")).await.unwrap();
        let mut runs = Vec::new();
        for object in log.iter().filter(|o| o.path.ends_with(".json")) {
            let text = s3.get(&object.path).await.unwrap().unwrap();
            for line in String::from_utf8_lossy(&text).lines() {
                let action: Value = serde_json::from_str(line).unwrap();
                if let Some(version) = action["txn"]["version"].as_i64() {
                    runs.push(version);
                }
            }
        }
        let distinct: BTreeSet<i64> = runs.iter().copied().collect();
        assert_eq!(
            distinct.len(),
            runs.len(),
            "{table}: a run committed twice: {runs:?}"
        );
        let latest = pricelake_tables::live_files(&s3, &table, None)
            .await
            .unwrap()
            .unwrap()
            .version;
        assert_eq!(Some(&latest), versions.get(&table), "{table}");
    }

    // And the rows are those of the same raw objects processed on disk.
    let on_disk = rows_by_table(&[("PRICELAKE_LAKE__URL", local.display().to_string())]);
    assert_eq!(rows_by_table(&envs), on_disk);
}
