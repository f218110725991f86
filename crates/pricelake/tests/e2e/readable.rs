//! The lake's Parquet opens in other tools without conversion: pyarrow (what pandas reads
//! through) and DuckDB read every clean table (Hive partitions `date=...`) and every mart
//! of a demo run, and count the rows the run manifests say were written. `items`, rewritten
//! by every run, is read from the newest run's folder.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

#[test]
fn pyarrow_and_duckdb_read_every_clean_table_and_mart() {
    let dir = tempfile::tempdir().unwrap();
    let lake = crate::support::demo_lake(dir.path());
    // What the manifests say: clean rows summed over runs, mart rows of the newest run.
    let mut expected: BTreeMap<String, u64> = BTreeMap::new();
    let mut manifests: Vec<PathBuf> = std::fs::read_dir(lake.join("_manifests/process"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    manifests.sort();
    for (i, path) in manifests.iter().enumerate() {
        let manifest: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
        for (key, rows) in manifest["rows"].as_object().unwrap() {
            let rows = rows.as_u64().unwrap();
            if key.starts_with("mart.") || key == "items" {
                if i + 1 == manifests.len() && (key == "items" || key.matches('.').count() == 1) {
                    expected.insert(key.clone(), rows);
                }
            } else {
                *expected.entry(key.clone()).or_default() += rows;
            }
        }
    }
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/e2e/read_with_others.py");
    let out = Command::new(crate::support::python())
        .arg(&script)
        .arg(&lake)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "pyarrow/duckdb (run the tests with scripts/test, which installs them): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let read: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        expected.len() >= 4 + pricelake_core::marts::REGISTRY.len(),
        "4 clean tables, every mart and item_days: {expected:?}"
    );
    for (table, rows) in &expected {
        assert!(
            *rows > 0 || table == "trending_appearances",
            "{table} is empty"
        );
        for tool in ["pyarrow", "duckdb"] {
            assert_eq!(
                read[tool][table].as_u64(),
                Some(*rows),
                "{tool} reads {table}: {read}"
            );
        }
    }
    // Hive partitions come back as a column, as Spark and DuckDB users expect.
    let columns = read["columns"]["price_observations"].to_string();
    assert!(
        columns.contains("\"date\"") && columns.contains("\"sale_price\""),
        "{columns}"
    );
    let columns = read["columns"]["items"].to_string();
    assert!(
        columns.contains("\"date\"") && columns.contains("\"is_current\""),
        "{columns}"
    );
}
