//! A full refresh writes its run beside the current one and becomes current only when it
//! commits: killed with SIGKILL at any moment, it leaves the previous run current, served
//! and audited.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use crate::support::{demo_lake, pricelake, KillOnDrop};

fn on(lake: &Path, args: &[&str]) -> Command {
    let mut cmd = pricelake();
    cmd.args(args).env("PRICELAKE_LAKE__URL", lake);
    cmd
}

/// `status --json` of the lake.
fn status(lake: &Path) -> serde_json::Value {
    let out = on(lake, &["status", "--json"]).output().unwrap();
    assert!(
        out.status.success(),
        "status: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn current_run(lake: &Path) -> String {
    status(lake)["last_process_run"]["run_id"]
        .as_str()
        .expect("a committed run")
        .to_string()
}

/// `audit` exits 0: the books balance and no mart row is counted twice.
fn assert_audited(lake: &Path, when: &str) {
    let out = on(lake, &["audit"]).output().unwrap();
    assert!(
        out.status.success(),
        "audit {when}:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Starts `serve` on a free port and waits for `/readyz`; returns its `/api/v1/status`.
async fn served_status(lake: &Path) -> serde_json::Value {
    let (_server, base) = crate::support::serve_lake(lake, &[]).await;
    reqwest::get(format!("{base}/api/v1/status"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_refresh_killed_at_any_moment_leaves_the_previous_run_current_served_and_audited() {
    let dir = tempfile::tempdir().unwrap();
    let lake = demo_lake(dir.path());
    assert_audited(&lake, "of the demo lake");

    // One full refresh to the end: how long one takes, and that it commits.
    let before = current_run(&lake);
    let started = Instant::now();
    let out = on(&lake, &["process", "--full-refresh"]).output().unwrap();
    let took = started.elapsed();
    assert!(
        out.status.success(),
        "full refresh: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let current = current_run(&lake);
    assert!(current > before, "the refresh committed a newer run");
    assert_eq!(status(&lake)["last_process_run"]["full_refresh"], true);
    assert_audited(&lake, "after a full refresh");

    // Killed early, midway and late in a refresh like it.
    let mut killed_mid_run = 0;
    for fraction in [0.15, 0.4, 0.6, 0.85] {
        let mut child = KillOnDrop(
            on(&lake, &["process", "--full-refresh"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        );
        tokio::time::sleep(took.mul_f64(fraction)).await;
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap(); // SIGKILL
            killed_mid_run += 1;
        }
        child.wait().unwrap();
        let after = status(&lake);
        let run = after["last_process_run"]["run_id"].as_str().unwrap();
        if run == current {
            assert_audited(&lake, &format!("after a kill at {fraction} of a refresh"));
        } else {
            // The kill came after the commit: the new run is whole, and it is a refresh.
            assert_eq!(after["last_process_run"]["full_refresh"], true);
            assert_audited(&lake, "after a refresh that committed before its kill");
        }
    }
    assert!(
        killed_mid_run >= 2,
        "kills landed before the commit: {killed_mid_run} of 4"
    );

    // The lake after the last kill is served: `/readyz` and the current run.
    let current = current_run(&lake);
    let served = served_status(&lake).await;
    assert_eq!(
        served["run_id"],
        current.as_str(),
        "the API serves the current run"
    );

    // The next run removes what the killed ones left, and the books still balance.
    let out = on(&lake, &["process"]).output().unwrap();
    assert!(out.status.success());
    assert_eq!(status(&lake)["uncommitted_outputs"], 0);
    assert_audited(&lake, "after the run that followed the kills");
}

#[test]
fn a_full_refresh_on_a_ballista_scheduler_that_is_not_there_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let lake = demo_lake(dir.path());
    let before = current_run(&lake);
    let files = |lake: &Path| {
        let mut out = Vec::new();
        let mut stack = vec![lake.to_path_buf()];
        while let Some(folder) = stack.pop() {
            for entry in std::fs::read_dir(folder).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                } else if !path.to_string_lossy().contains("/_state/") {
                    out.push(path);
                }
            }
        }
        out.sort();
        out
    };
    let listed = files(&lake);
    let out = on(
        &lake,
        &[
            "process",
            "--full-refresh",
            "--engine",
            "ballista://127.0.0.1:9",
        ],
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("127.0.0.1:9"), "names the address: {err}");
    assert_eq!(current_run(&lake), before);
    assert_eq!(files(&lake), listed, "nothing removed, nothing written");
    assert_audited(&lake, "after a refresh on an engine that is not there");
}
