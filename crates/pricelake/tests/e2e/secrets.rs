//! Secrets never reach a log, the console or the lake: a whole demo run, with keys nobody
//! else uses and faults on, is searched for them, Parquet included.

use std::path::Path;
use std::process::Command;

use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

/// Every file under `dir` as text: gzip and zstd objects decompressed, Parquet rendered.
fn texts(dir: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let name = path.to_string_lossy().to_string();
            let bytes = std::fs::read(&path).unwrap();
            let text = if name.ends_with(".parquet") {
                let reader = ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(bytes))
                    .unwrap()
                    .build()
                    .unwrap();
                let batches: Vec<_> = reader.map(Result::unwrap).collect();
                datafusion::arrow::util::pretty::pretty_format_batches(&batches)
                    .unwrap()
                    .to_string()
            } else if name.ends_with(".gz") || name.ends_with(".zst") {
                pricelake_lake::ndjson::decode(&name, &bytes).unwrap()
            } else {
                String::from_utf8_lossy(&bytes).into_owned()
            };
            out.push((name, text));
        }
    }
    out
}

#[test]
fn a_demo_run_with_faults_never_writes_its_keys_anywhere() {
    let dir = tempfile::tempdir().unwrap();
    let run = uuid_like();
    let keys = [
        (
            "PRICELAKE_EMULATOR__WALMART_API_KEY",
            format!("wmkey-{run}"),
        ),
        (
            "PRICELAKE_EMULATOR__CURRENCYLAYER_ACCESS_KEY",
            format!("fxkey-{run}"),
        ),
        (
            "PRICELAKE_EMULATOR__APILAYER_APIKEY",
            format!("alkey-{run}"),
        ),
    ];
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pricelake"));
    cmd.env_remove("PRICELAKE_CONFIG")
        .current_dir(dir.path())
        .arg("-v")
        .env("PRICELAKE_DEMO__SPOOL_DIR", dir.path().join("spool"))
        .env("PRICELAKE_EMULATOR__ITEMS", "60")
        .env("PRICELAKE_EMULATOR__FAULTS__ERROR_5XX", "0.05")
        .env("PRICELAKE_EMULATOR__FAULTS__MALFORMED", "0.05")
        .args(["demo", "--days", "2", "--no-serve", "--lake"])
        .arg(dir.path().join("lake"));
    for (name, value) in &keys {
        cmd.env(name, value);
    }
    let out = cmd.output().unwrap();
    let console = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{console}");
    assert!(
        console.contains("DEBUG"),
        "the logs were verbose, so the search means something"
    );
    let files = texts(dir.path());
    assert!(
        files.iter().any(|(n, _)| n.contains("/raw/")),
        "the lake holds raw objects"
    );
    assert!(
        files.iter().any(|(_, t)| t.contains("REDACTED")),
        "request URLs are kept, with their keys replaced"
    );
    for (_, key) in &keys {
        assert!(!console.contains(key.as_str()), "a key in the console");
        for (name, text) in &files {
            assert!(!text.contains(key.as_str()), "a key in {name}");
        }
    }
}

fn uuid_like() -> String {
    format!(
        "{:x}{:x}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    )
}
