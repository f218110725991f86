//! The lake opens in other tools as Delta Lake tables, without conversion: the `deltalake`
//! Python package into pandas, polars and DuckDB's `delta_scan` read every clean table and
//! every mart of a demo lake (two process runs), at its latest version and the one before, and count
//! the rows pricelake says each version holds: `pricelake tables --json` for the latest
//! (itself held to the run manifests' figures), pricelake's own reading for the one before.
//! A plain Parquet reader pointed at a table folder would also see files of replaced
//! versions; a Delta reader sees one version.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

#[test]
fn deltalake_pandas_polars_and_duckdb_read_every_table_at_two_versions() {
    let dir = tempfile::tempdir().unwrap();
    let lake = crate::support::demo_lake_of(dir.path(), 12, 60);
    let tables = crate::support::json_of(
        crate::support::pricelake()
            .args(["tables", "--json"])
            .env("PRICELAKE_LAKE__URL", &lake),
    );
    let tables = tables.as_array().unwrap();
    assert_eq!(
        tables.len(),
        4 + pricelake_core::marts::REGISTRY.len(),
        "4 clean tables and every mart: {tables:?}"
    );

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
            let table = match key.strip_prefix("mart.") {
                Some(mart) if !mart.contains('.') => format!("marts/{mart}"),
                Some(_) => continue,
                None => format!("clean/{key}"),
            };
            if table.starts_with("marts/") || key == "items" {
                if i + 1 == manifests.len() {
                    expected.insert(table, rows);
                }
            } else {
                *expected.entry(table).or_default() += rows;
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
        "deltalake/polars/duckdb (run the tests with scripts/test, which installs them): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let read: Value = serde_json::from_slice(&out.stdout).unwrap();

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let opened = pricelake_lake::Lake::open(&pricelake_lake::LakeConfig {
        url: lake.display().to_string(),
        ..Default::default()
    })
    .unwrap();
    let mut read_before = 0;
    for table in tables {
        let name = table["table"].as_str().unwrap();
        let latest = table["version"]
            .as_u64()
            .expect("every table is a Delta table");
        let rows = table["rows"].as_u64().expect("every file has statistics");
        assert_eq!(Some(&rows), expected.get(name), "pricelake tables: {name}");
        assert!(
            rows > 0 || name.ends_with("trending_appearances"),
            "{name} is empty"
        );
        let theirs = &read["tables"][name];
        assert_eq!(theirs["latest"].as_u64(), Some(latest), "{name}: {theirs}");
        for version in [latest, latest.saturating_sub(1)] {
            let ours = runtime
                .block_on(pricelake_tables::live_files(&opened, name, Some(version)))
                .unwrap()
                .unwrap()
                .rows
                .unwrap();
            if version == latest {
                assert_eq!(ours, rows, "{name}");
            } else if ours != rows {
                read_before += 1;
            }
            for tool in ["pandas", "polars", "duckdb"] {
                assert_eq!(
                    theirs["versions"][version.to_string()][tool].as_u64(),
                    Some(ours),
                    "{tool} reads {name} at version {version}: {theirs}"
                );
            }
        }
    }
    assert!(
        read_before >= 4,
        "the versions before the latest differ from it in several tables (each run changed them)"
    );
    // Partition columns come back as a column, as Spark and DuckDB users expect.
    for (table, column) in [
        ("clean/price_observations", "sale_price"),
        ("clean/items", "is_current"),
    ] {
        let columns = read["tables"][table]["columns"].to_string();
        assert!(
            columns.contains("\"date\"") && columns.contains(&format!("\"{column}\"")),
            "{table}: {columns}"
        );
    }
}
