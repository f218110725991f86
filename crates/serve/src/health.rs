//! `/health`: is the pipeline behind this server degraded? A supervisor (systemd, a load
//! balancer, Kubernetes) reads the status code; a person reads the reasons, here and on
//! the dashboard's health panel.
//!
//! `/healthz` only says the process answers and `/readyz` that marts are loaded; neither
//! notices a source that keeps failing, a spool that stopped draining or data that stopped
//! arriving, which are what users of the original found out about days late.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

/// One thing that was checked.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Check {
    /// `source:<name>`, `spool`, `ingest` or `data`.
    pub name: String,
    /// False makes the pipeline degraded.
    pub ok: bool,
    /// What was seen, in words.
    pub detail: String,
}

/// The spool is reported degraded from this fraction of its bound (sources pause at 1.0).
const SPOOL_WARN_FRACTION: f64 = 0.9;

/// Checks the ingest status document (`_state/ingest_status.json`, written by `ingest` and
/// `run`) and the time of the newest committed process run against `now`.
pub fn checks(
    now: DateTime<Utc>,
    ingest: Option<&Value>,
    last_commit: Option<DateTime<Utc>>,
    stale_after_secs: u64,
) -> Vec<Check> {
    let stale_after = chrono::Duration::seconds(stale_after_secs.min(i64::MAX as u64) as i64);
    let mut out = Vec::new();
    match ingest {
        None => out.push(Check {
            name: "ingest".into(),
            ok: true,
            detail: "no ingest has reported to this lake (serving only)".into(),
        }),
        Some(status) => {
            for source in status["sources"].as_array().into_iter().flatten() {
                let name = source["name"].as_str().unwrap_or("?");
                let state = source["health"]["state"].as_str().unwrap_or("unknown");
                let reason = source["health"]["reason"].as_str().unwrap_or("");
                out.push(Check {
                    name: format!("source:{name}"),
                    ok: state == "healthy",
                    detail: if reason.is_empty() {
                        state.to_string()
                    } else {
                        format!("{state}: {reason}")
                    },
                });
            }
            let spool = status["delivery"]["spool_bytes"].as_u64();
            let bound = status["spool_max_bytes"].as_u64();
            if let (Some(spool), Some(bound)) = (spool, bound) {
                let over = bound > 0 && spool as f64 >= bound as f64 * SPOOL_WARN_FRACTION;
                out.push(Check {
                    name: "spool".into(),
                    ok: !over,
                    detail: format!(
                        "{spool} of {bound} bytes{}",
                        if over {
                            ": the store is not keeping up, sources pause at the bound"
                        } else {
                            ""
                        }
                    ),
                });
            }
            let written = status["written_at"]
                .as_str()
                .and_then(|t| t.parse::<DateTime<Utc>>().ok());
            out.push(match written {
                Some(at) if now - at > stale_after => Check {
                    name: "ingest".into(),
                    ok: false,
                    detail: format!("last reported at {at}: is ingest still running?"),
                },
                Some(at) => Check {
                    name: "ingest".into(),
                    ok: true,
                    detail: format!("last reported at {at}"),
                },
                None => Check {
                    name: "ingest".into(),
                    ok: false,
                    detail: "the status document has no time".into(),
                },
            });
        }
    }
    out.push(match last_commit {
        None => Check {
            name: "data".into(),
            ok: false,
            detail: "no process run has committed yet".into(),
        },
        Some(at) if now - at > stale_after => Check {
            name: "data".into(),
            ok: false,
            detail: format!("the newest process run committed at {at}: the marts are stale"),
        },
        Some(at) => Check {
            name: "data".into(),
            ok: true,
            detail: format!("the newest process run committed at {at}"),
        },
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn status(health: Value, spool: u64, written: &str) -> Value {
        json!({
            "written_at": written,
            "sources": [{"name": "walmart", "health": {"state": "healthy"}}, {"name": "currencylayer", "health": health}],
            "delivery": {"spool_bytes": spool},
            "spool_max_bytes": 1000,
        })
    }

    fn failing(checks: &[Check]) -> Vec<&str> {
        checks
            .iter()
            .filter(|c| !c.ok)
            .map(|c| c.name.as_str())
            .collect()
    }

    #[test]
    fn a_fresh_healthy_pipeline_passes_every_check() {
        let now = t("2026-03-01T12:00:00Z");
        let s = status(json!({"state": "healthy"}), 10, "2026-03-01T11:59:00Z");
        let checks = checks(now, Some(&s), Some(t("2026-03-01T06:00:00Z")), 86_400);
        assert!(failing(&checks).is_empty(), "{checks:?}");
        assert_eq!(checks.len(), 5, "two sources, spool, ingest, data");
    }

    #[test]
    fn a_failing_source_a_full_spool_and_stale_data_each_degrade() {
        let now = t("2026-03-01T12:00:00Z");
        let s = status(
            json!({"state": "unhealthy", "reason": "http 503", "consecutive_failures": 4}),
            950,
            "2026-02-20T00:00:00Z",
        );
        let checks = checks(now, Some(&s), Some(t("2026-02-20T00:00:00Z")), 86_400);
        assert_eq!(
            failing(&checks),
            ["source:currencylayer", "spool", "ingest", "data"]
        );
        assert!(checks[1].detail.contains("http 503"));
    }

    #[test]
    fn serving_a_lake_without_ingest_only_needs_fresh_marts() {
        let now = t("2026-03-01T12:00:00Z");
        let checks_fresh = checks(now, None, Some(t("2026-03-01T00:00:00Z")), 86_400);
        assert!(failing(&checks_fresh).is_empty());
        assert_eq!(failing(&checks(now, None, None, 86_400)), ["data"]);
    }
}
