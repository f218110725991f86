//! The API held to its own OpenAPI document by a client nobody here wrote: schemathesis
//! (from the test environment's venv) reads `/openapi.json` of a server holding the demo
//! flow's marts, generates requests from it (valid and invalid ones) and runs every check:
//! no server error, every status and content type documented, every answer valid against
//! its schema, every valid request accepted and every invalid one refused.

use std::path::PathBuf;
use std::time::Duration;

/// `schemathesis` beside the test environment's Python.
fn schemathesis() -> PathBuf {
    crate::support::python().with_file_name("schemathesis")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_with_every_check_finds_nothing_against_the_openapi_document() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = crate::support::small_catalog_config();
    config.transform.basket_item_ids = vec![101, 102, 103];
    let base = crate::support::serve_three_days(dir.path(), config).await;
    // `/health` answers 503 by design when the pipeline is degraded (this lake's data is
    // from January): a supervisor's signal, documented, not a server failure.
    let settings = dir.path().join("schemathesis.toml");
    std::fs::write(
        &settings,
        "[[operations]]\ninclude-path = \"/health\"\n\
         checks.not_a_server_error.expected-statuses = [\"2xx\", \"3xx\", \"4xx\", \"503\"]\n",
    )
    .unwrap();
    let run = tokio::process::Command::new(schemathesis())
        .current_dir(dir.path())
        .args(["--no-color", "--config-file"])
        .arg(&settings)
        .args([
            "run",
            &format!("{base}/openapi.json"),
            "--checks",
            "all",
            // About 2,000 requests in 30 s on the 2-core machine (100 examples: 2,900 in 40 s).
            "--max-examples",
            "50",
            "--seed",
            "24",
            "--workers",
            "2",
        ])
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(240), run)
        .await
        .expect("schemathesis ran for more than 4 minutes")
        .expect("schemathesis is missing: run the tests with scripts/test, which installs it");
    let report = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "schemathesis failed:\n{report}");
    // Every documented operation (schemathesis counts the routes, the chart route once per
    // panel, less the document itself) was tested, and nothing was found.
    let number_after = |label: &str| -> Option<usize> {
        let at = report.find(label)? + label.len();
        report[at..]
            .split(|c: char| !c.is_ascii_digit())
            .find(|s| !s.is_empty())?
            .parse()
            .ok()
    };
    let tested = number_after("Tested:");
    let documented = pricelake_serve::ROUTES.len() - 2 + pricelake_serve::openapi::PANELS.len();
    assert!(
        tested.is_some_and(|n| n >= documented) && report.contains("No issues found"),
        "schemathesis did not test every operation ({tested:?} of {documented}):\n{report}"
    );
    eprintln!("{report}");
}
