//! Where everything lives in the lake, relative to its root URL.
//!
//! ```text
//! raw/<source>/<endpoint>/<yyyy>/<MM>/<dd>/<HH>/<object>.ndjson.gz   landed records
//! errors/<stage>/<reason>/<yyyy>/<MM>/<dd>/<HH>/<object>.ndjson.gz   dead letters
//! clean/<table>/date=YYYY-MM-DD/<part>.parquet                       clean tables
//! marts/<mart>/<run>/part-<YYYY-MM-DD>.parquet                        marts kept by day
//! marts/<mart>/<run>/part-0.parquet                                   marts of the whole lake
//! clean/<table>/_delta_log/, marts/<mart>/_delta_log/                  each a Delta Lake table
//! _manifests/process/<run>.json                                      what each run consumed and produced
//! _state/<component>.json                                            checkpoints and status
//! ```
//! Paths never start or end with `/`.

/// Prefix of landed records of one source endpoint.
pub fn raw_prefix(source: &str, endpoint: &str) -> String {
    format!("raw/{}/{}", sanitize(source), sanitize(endpoint))
}

/// Prefix of dead letters of one stage and reason.
pub fn errors_prefix(stage: &str, reason: &str) -> String {
    format!("errors/{}/{}", sanitize(stage), sanitize(reason))
}

/// Prefix of one clean table.
pub fn clean_table(table: &str) -> String {
    format!("clean/{}", sanitize(table))
}

/// Prefix of one mart.
pub fn mart(name: &str) -> String {
    format!("marts/{}", sanitize(name))
}

/// The folder of the files one process run wrote for a mart: a mart kept by day gets one
/// file per day it computed ([`mart_day_file`]); one computed over the whole lake,
/// [`mart_file`]. The mart itself is its Delta table's live files, from several runs' folders.
/// (No `key=value` folder name: Delta readers take those for partitions.)
pub fn mart_run(name: &str, run_id: &str) -> String {
    format!("{}/{}", mart(name), sanitize(run_id))
}

/// The one Parquet file of a mart computed over the whole lake by a process run.
pub fn mart_file(name: &str, run_id: &str) -> String {
    format!("{}/part-0.parquet", mart_run(name, run_id))
}

/// One day's Parquet file of a mart kept by day: a later run that did not touch the day
/// carries the file over instead of recomputing it.
pub fn mart_day_file(name: &str, run_id: &str, day: &str) -> String {
    format!("{}/part-{}.parquet", mart_run(name, run_id), sanitize(day))
}

/// Prefix of process run manifests.
pub const PROCESS_MANIFESTS: &str = "_manifests/process";

/// Prefix of component state (checkpoints, status snapshots).
pub const STATE: &str = "_state";

/// Path of one component's state document.
pub fn state(component: &str) -> String {
    format!("{STATE}/{}.json", sanitize(component))
}

/// Keeps a path segment to `[A-Za-z0-9_.-]`, so no value from an API can climb out of
/// its prefix or split it.
pub fn sanitize(segment: &str) -> String {
    let cleaned: String = segment
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if cleaned.is_empty() || cleaned.chars().all(|c| c == '.') {
        "_".to_string()
    } else {
        cleaned
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_follow_the_documented_layout() {
        assert_eq!(raw_prefix("walmart", "trends"), "raw/walmart/trends");
        assert_eq!(
            errors_prefix("ingest", "http_500"),
            "errors/ingest/http_500"
        );
        assert_eq!(clean_table("fx_rates"), "clean/fx_rates");
        assert_eq!(mart("prices_fx"), "marts/prices_fx");
        assert_eq!(
            mart_day_file("prices_fx", "r1", "2026-01-05"),
            "marts/prices_fx/r1/part-2026-01-05.parquet"
        );
        assert_eq!(mart_file("basket", "r1"), "marts/basket/r1/part-0.parquet");
        assert_eq!(state("sources"), "_state/sources.json");
    }

    #[test]
    fn hostile_segments_cannot_escape() {
        assert_eq!(sanitize("../etc/passwd"), ".._etc_passwd");
        assert_eq!(sanitize(".."), "_");
        assert_eq!(sanitize(""), "_");
    }
}
