//! A lake written by the pricelake before Delta tables becomes one with `process
//! --full-refresh`, as the README says. The fixture `tests/fixtures/lake-before-delta.tar.gz`
//! is a lake in that layout, made by a release build of f495170 (the last commit before Delta
//! tables) with `pricelake demo --no-serve --days 2 --items 40`: marts under
//! `marts/<mart>/run=<run>/`, `items` under `clean/items/run=<run>/`, no `_delta_log/`.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::support::pricelake;

fn on(lake: &Path, args: &[&str]) -> Command {
    let mut cmd = pricelake();
    cmd.args(args).env("PRICELAKE_LAKE__URL", lake);
    cmd
}

/// The fixture, unpacked into `dir`.
fn lake_before_delta(dir: &Path) -> PathBuf {
    let fixture =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/lake-before-delta.tar.gz");
    let status = Command::new("tar")
        .arg("xzf")
        .arg(&fixture)
        .arg("-C")
        .arg(dir)
        .status()
        .unwrap();
    assert!(status.success());
    dir.join("lake")
}

#[test]
fn a_lake_of_the_pricelake_before_delta_tables_becomes_one_with_a_full_refresh() {
    let dir = tempfile::tempdir().unwrap();
    let lake = lake_before_delta(dir.path());
    let old_manifest: Value = serde_json::from_slice(
        &std::fs::read(lake.join("_manifests/process/20261207T000000Z-00000001.json")).unwrap(),
    )
    .unwrap();

    // Every reader says what to do rather than serving or publishing nothing.
    for command in [&["process"][..], &["serve", "--bind", "127.0.0.1:0"][..]] {
        let out = on(&lake, command).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{command:?}: {stderr}");
        assert!(
            stderr.contains("pricelake process --full-refresh"),
            "{command:?}: {stderr}"
        );
    }
    let tables = crate::support::json_of(&mut on(&lake, &["tables", "--json"]));
    let tables = tables.as_array().unwrap();
    assert!(tables.iter().all(|t| t["version"].is_null()), "{tables:?}");

    let out = on(&lake, &["process", "--full-refresh"]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Every table is a Delta table now, with the rows the old run had: the raw zone is the
    // truth, and the same raw objects give the same marts.
    let tables = crate::support::json_of(&mut on(&lake, &["tables", "--json"]));
    for table in tables.as_array().unwrap() {
        let name = table["table"].as_str().unwrap();
        assert!(table["version"].as_u64().is_some(), "{name}: {table}");
        let key = match name.strip_prefix("marts/") {
            Some(mart) => format!("mart.{mart}"),
            None => name.trim_start_matches("clean/").to_string(),
        };
        assert_eq!(
            table["rows"], old_manifest["rows"][&key],
            "{name}: the rows the old run had"
        );
    }
    let out = on(&lake, &["audit"]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // The next run clears the old layout's folders away.
    let out = on(&lake, &["process"]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let leftovers: Vec<PathBuf> = crate::support::files_under(&lake, false)
        .into_iter()
        .filter(|p| p.to_string_lossy().contains("/run="))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}
