//! Every command on a lake that is missing, empty, ingested but not processed, or
//! half-written (a process run killed before its commit) answers with what it knows and a
//! next step, never panics, and never creates a lake it was only asked to read.

use std::path::Path;
use std::process::Output;

use crate::support::{demo_lake, pricelake};

fn on(lake: &Path, args: &[&str]) -> Output {
    let mut cmd = pricelake();
    cmd.args(args).env("PRICELAKE_LAKE__URL", lake);
    if args[0] == "publish" {
        // A MongoDB for `publish` to get past its own config check (nothing listens).
        cmd.env(
            "PRICELAKE_MONGODB_URI",
            "mongodb://127.0.0.1:9/?serverSelectionTimeoutMS=500",
        );
    }
    cmd.output().unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// No panic (exit 101), no Rust backtrace hint: the answer of a program, not a crash.
fn assert_answered(out: &Output, what: &str) {
    assert_ne!(
        out.status.code(),
        Some(101),
        "{what} panicked:\n{}",
        text(out)
    );
    assert!(!text(out).contains("panicked"), "{what}:\n{}", text(out));
}

#[test]
fn commands_on_a_missing_lake_say_there_is_none_and_create_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("mistyped-lake");
    let commands: [(&[&str], i32); 5] = [
        (&["status"], 0),
        (&["audit"], 1),
        (&["process"], 1),
        (&["publish"], 1),
        (&["serve", "--bind", "127.0.0.1:0"], 1),
    ];
    for (args, code) in commands {
        let out = on(&lake, args);
        assert_answered(&out, args[0]);
        assert_eq!(out.status.code(), Some(code), "{args:?}:\n{}", text(&out));
        let said = text(&out);
        assert!(said.contains("there is no lake at"), "{args:?}:\n{said}");
        assert!(said.contains("pricelake ingest"), "a next step: {said}");
        assert!(!lake.exists(), "`{}` created the lake", args.join(" "));
    }
    let out = on(&lake, &["status", "--json"]);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["exists"], false);
    assert!(!lake.exists());
}

#[test]
fn commands_on_an_empty_lake_answer_with_a_next_step() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    std::fs::create_dir(&lake).unwrap();
    let out = on(&lake, &["status"]);
    assert_answered(&out, "status");
    assert!(out.status.success());
    assert!(
        text(&out).contains("nothing ingested yet"),
        "{}",
        text(&out)
    );

    let out = on(&lake, &["audit"]);
    assert_answered(&out, "audit");
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("next: nothing ingested yet"),
        "{}",
        text(&out)
    );
    let out = on(&lake, &["audit", "--json"]);
    let books: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(!books["next_steps"].as_array().unwrap().is_empty());
}

#[test]
fn commands_on_an_ingested_but_unprocessed_or_half_written_lake_say_what_is_waiting() {
    let dir = tempfile::tempdir().unwrap();
    let lake = demo_lake(dir.path());
    // What `ingest` alone leaves: the raw zone, no process run.
    for zone in ["_manifests", "clean", "marts", "errors/transform"] {
        let _ = std::fs::remove_dir_all(lake.join(zone));
    }
    let out = on(&lake, &["audit"]);
    assert_answered(&out, "audit");
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("not processed yet"), "{}", text(&out));
    let out = on(&lake, &["status"]);
    assert_answered(&out, "status");
    assert!(
        text(&out).contains("raw objects not processed yet: `pricelake process`"),
        "{}",
        text(&out)
    );

    // Half-written: a process run's files without its manifest (a run killed before its
    // commit), then the same with a committed run before it.
    let orphan = lake.join("marts/discounts/run=29990101T000000Z-00000009/part-0.parquet");
    std::fs::create_dir_all(orphan.parent().unwrap()).unwrap();
    std::fs::write(&orphan, b"half-written").unwrap();
    for (args, ok) in [(&["status"][..], true), (&["audit"][..], true)] {
        let out = on(&lake, args);
        assert_answered(&out, args[0]);
        assert_eq!(out.status.success(), ok, "{args:?}:\n{}", text(&out));
    }
    let said = text(&on(&lake, &["status"]));
    assert!(said.contains("stopped before its commit"), "{said}");
    let out = on(&lake, &["process"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(!orphan.exists(), "the next run removes it");
    let out = on(&lake, &["status", "--json"]);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["raw_objects_unprocessed"], 0);
    assert_eq!(report["uncommitted_outputs"], 0);
    assert!(
        report["next_steps"].as_array().unwrap().is_empty(),
        "{report}"
    );
}
