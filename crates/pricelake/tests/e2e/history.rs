//! The lake's history, as a user reaches it: the API answers as of an earlier run or time
//! (`?as_of=`), `pricelake serve --as-of` serves an earlier run for good, and `pricelake
//! vacuum` removes the files of versions older than its retention, after which those runs
//! are refused by name while the current one is whole.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::support::{demo_lake_of, files_under, json_of, pricelake, serve_lake};

fn on(lake: &Path, args: &[&str]) -> Command {
    let mut cmd = pricelake();
    cmd.args(args).env("PRICELAKE_LAKE__URL", lake);
    cmd
}

/// The committed runs' manifests, oldest first.
fn manifests(lake: &Path) -> Vec<Value> {
    let mut paths: Vec<_> = std::fs::read_dir(lake.join("_manifests/process"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    paths.sort();
    paths
        .iter()
        .map(|p| serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap())
        .collect()
}

async fn get(base: &str, path: &str) -> (u16, Value) {
    let response = reqwest::get(format!("{base}{path}")).await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_answers_as_of_an_earlier_run_until_vacuum_removes_it() {
    let dir = tempfile::tempdir().unwrap();
    let lake = demo_lake_of(dir.path(), 12, 60);
    let runs = manifests(&lake);
    assert!(
        runs.len() >= 2,
        "the demo processes more than once: {runs:?}"
    );
    let (first, latest) = (&runs[0], runs.last().unwrap());
    let first_id = first["run_id"].as_str().unwrap();
    let latest_id = latest["run_id"].as_str().unwrap();

    let (_server, base) = serve_lake(&lake, &[]).await;
    let (code, now) = get(&base, "/api/v1/status").await;
    assert_eq!((code, now["run_id"].as_str()), (200, Some(latest_id)));
    let (code, then) = get(&base, &format!("/api/v1/status?as_of={first_id}")).await;
    assert_eq!((code, then["run_id"].as_str()), (200, Some(first_id)));
    // Then, the lake held fewer days: fewer rows in the marts kept by day.
    let rows = |status: &Value| status["rows"]["prices_fx"].as_u64().unwrap();
    assert!(rows(&then) < rows(&now), "{then} / {now}");
    assert_eq!(
        rows(&then),
        first["rows"]["mart.prices_fx"].as_u64().unwrap(),
        "as the first run counted them"
    );
    // By time: the moment the first run committed.
    let at = first["finished_at"].as_str().unwrap();
    let (code, by_time) = get(&base, &format!("/api/v1/status?as_of={at}")).await;
    assert_eq!((code, by_time["run_id"].as_str()), (200, Some(first_id)));
    // Any route: the value of the day had fewer days then.
    let (_, vod_then) = get(&base, &format!("/api/v1/vod?currency=USD&as_of={first_id}")).await;
    let (_, vod_now) = get(&base, "/api/v1/vod?currency=USD").await;
    let days = |v: &Value| v["days"].as_array().map_or(0, Vec::len);
    assert!(days(&vod_then) < days(&vod_now), "{vod_then} / {vod_now}");
    // Before any run, and not a moment at all.
    let (code, body) = get(&base, "/api/v1/status?as_of=1999-01-01").await;
    assert_eq!(
        (code, body["error"]["param"].as_str()),
        (404, Some("as_of"))
    );
    let (code, body) = get(&base, "/api/v1/status?as_of=soon").await;
    assert_eq!(
        (code, body["error"]["param"].as_str()),
        (400, Some("as_of"))
    );

    // `serve --as-of` serves that run for good.
    let (_pinned, pinned) = serve_lake(&lake, &["--as-of", first_id]).await;
    let (code, status) = get(&pinned, "/api/v1/status").await;
    assert_eq!((code, status["run_id"].as_str()), (200, Some(first_id)));
    let out = on(&lake, &["serve", "--as-of", "1999-01-01"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "no run by then");
    assert!(String::from_utf8_lossy(&out.stderr).contains("no process run had committed"));

    // Vacuum: a dry run removes nothing; with no retention, the replaced files go...
    let planned = json_of(&mut on(
        &lake,
        &["vacuum", "--retention-hours", "0", "--dry-run", "--json"],
    ));
    let planned = planned.as_array().unwrap();
    let planned_files: usize = planned
        .iter()
        .map(|t| t["files"].as_array().unwrap().len())
        .sum();
    assert!(planned_files > 0, "replaced files to remove: {planned:?}");
    let before = files_under(&lake, true);
    let out = on(&lake, &["vacuum", "--retention-hours", "0", "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let after = files_under(&lake, true);
    assert_eq!(
        before.len() - after.len(),
        planned_files,
        "what the dry run said"
    );
    // ...the current run is whole (served and read back the same)...
    let (_fresh, fresh) = serve_lake(&lake, &[]).await;
    let (code, again) = get(&fresh, "/api/v1/status").await;
    assert_eq!((code, &again["rows"]), (200, &now["rows"]));
    // ...and the first run is refused by name, not answered with what is left of it.
    let (code, body) = get(&fresh, &format!("/api/v1/status?as_of={first_id}")).await;
    assert_eq!(
        (code, body["error"]["param"].as_str()),
        (404, Some("as_of")),
        "{body}"
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("vacuum"),
        "{body}"
    );
}
