//! The same plans on a Ballista cluster of separate processes: `pricelake cluster
//! scheduler` and `pricelake cluster executor` started as their own OS processes, then
//! `pricelake process --engine ballista://...` on the lake a local run processed.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::Stdio;

use crate::support::{pricelake, KillOnDrop};
use std::time::{Duration, Instant};

use datafusion::arrow::datatypes::DataType;
use datafusion::arrow::util::pretty::pretty_format_batches;
use datafusion::prelude::{ParquetReadOptions, SessionContext};

fn free_addr() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

/// Kills the cluster processes however the test ends.
struct Cluster(Vec<KillOnDrop>);

fn wait_for_port(addr: SocketAddr, cluster: &mut Cluster) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while TcpStream::connect(addr).is_err() {
        for child in &mut cluster.0 {
            if let Some(status) = child.try_wait().unwrap() {
                panic!("a cluster process exited early: {status}");
            }
        }
        assert!(Instant::now() < deadline, "{addr} never listened");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Every mart of the lake at its latest Delta version, rows sorted on every column and
/// floats rounded to 1e-9 (sums may add in another order on another engine), as text.
async fn canonical_marts(lake: &Path) -> Vec<(String, usize, String)> {
    let ctx = SessionContext::new();
    let opened = pricelake_lake::Lake::open(&pricelake_lake::LakeConfig {
        url: lake.display().to_string(),
        ..Default::default()
    })
    .unwrap();
    let mut out = Vec::new();
    for mart in pricelake_core::marts::names() {
        let files =
            pricelake_tables::live_files(&opened, &pricelake_core::layout::mart(mart), None)
                .await
                .unwrap()
                .expect("every mart is a Delta table")
                .files;
        let urls: Vec<String> = files.iter().map(|f| opened.file_url(f)).collect();
        let table = format!("m_{mart}");
        let df = ctx
            .read_parquet(urls, ParquetReadOptions::default())
            .await
            .unwrap();
        ctx.register_table(table.as_str(), df.into_view()).unwrap();
        let schema = ctx.table(&table).await.unwrap().schema().as_arrow().clone();
        let columns: Vec<String> = schema
            .fields()
            .iter()
            .map(|f| match f.data_type() {
                DataType::Float64 | DataType::Float32 => {
                    format!("ROUND(\"{0}\", 9) AS \"{0}\"", f.name())
                }
                _ => format!("\"{}\"", f.name()),
            })
            .collect();
        let order: Vec<String> = (1..=columns.len()).map(|i| i.to_string()).collect();
        let batches = ctx
            .sql(&format!(
                "SELECT {} FROM {table} ORDER BY {}",
                columns.join(", "),
                order.join(", ")
            ))
            .await
            .unwrap()
            .collect()
            .await
            .unwrap();
        let rows = batches.iter().map(|b| b.num_rows()).sum();
        out.push((
            mart.to_string(),
            rows,
            pretty_format_batches(&batches).unwrap().to_string(),
        ));
    }
    out
}

fn process(lake: &Path, engine: &str) -> String {
    let out = pricelake()
        .args(["process", "--full-refresh", "--engine", engine])
        .env("PRICELAKE_LAKE__URL", lake.to_str().unwrap())
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "process --engine {engine}:\n{text}");
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scheduler_and_an_executor_in_their_own_processes_give_the_same_marts_as_local() {
    let dir = tempfile::tempdir().unwrap();
    let lake = crate::support::demo_lake(dir.path());
    process(&lake, "local");
    let local = canonical_marts(&lake).await;

    let scheduler = free_addr();
    let flight = free_addr();
    let grpc = free_addr();
    let logs = dir.path();
    let spawn = |args: &[String], log: &str| {
        pricelake()
            .arg("cluster")
            .args(args)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(logs.join(log)).unwrap())
            .spawn()
            .map(KillOnDrop)
            .unwrap()
    };
    let mut cluster = Cluster(vec![spawn(
        &["scheduler".into(), "--bind".into(), scheduler.to_string()],
        "scheduler.log",
    )]);
    wait_for_port(scheduler, &mut cluster);
    cluster.0.push(spawn(
        &[
            "executor".into(),
            "--scheduler".into(),
            scheduler.to_string(),
            "--bind".into(),
            flight.to_string(),
            "--grpc-port".into(),
            grpc.port().to_string(),
            "--concurrent-tasks".into(),
            "2".into(),
        ],
        "executor.log",
    ));
    wait_for_port(flight, &mut cluster);
    // The executor registers with the scheduler after its services are up.
    std::thread::sleep(Duration::from_secs(2));

    process(&lake, &format!("ballista://{scheduler}"));
    let distributed = canonical_marts(&lake).await;
    let scheduler_log = std::fs::read_to_string(logs.join("scheduler.log")).unwrap_or_default();
    assert!(
        scheduler_log.to_lowercase().contains("job"),
        "the scheduler ran the jobs:\n{scheduler_log}"
    );
    for ((name, rows, text), (_, ballista_rows, ballista_text)) in local.iter().zip(&distributed) {
        assert!(
            *rows > 0,
            "{name} is empty: the comparison would prove nothing"
        );
        assert_eq!(ballista_rows, rows, "{name}: row count");
        assert_eq!(ballista_text, text, "{name}: rows differ on Ballista");
    }
}
