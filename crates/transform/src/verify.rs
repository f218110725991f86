//! Exactly-once in the marts, checked rather than assumed: a row whose natural key repeats
//! is a double count (a replayed record, a re-run that appended). `pricelake audit` fails
//! on any.

use std::collections::BTreeMap;

use datafusion::arrow::array::Int64Array;
use datafusion::prelude::SessionContext;
use pricelake_core::{layout, marts};
use pricelake_lake::Lake;

use crate::error::{q, TransformError};
use crate::manifest::latest_manifest;

/// Rows beyond the first for each repeated natural key, per mart of the newest committed
/// run (empty when no run has committed).
pub async fn mart_duplicates(lake: &Lake) -> Result<BTreeMap<String, u64>, TransformError> {
    let mut out = BTreeMap::new();
    let Some(manifest) = latest_manifest(lake).await? else {
        return Ok(out);
    };
    let ctx = SessionContext::new();
    let url = url::Url::parse(lake.store_url()).map_err(|source| TransformError::LakeUrl {
        url: lake.store_url().to_string(),
        source,
    })?;
    ctx.register_object_store(&url, lake.store());
    for mart in marts::names() {
        // The mart as the newest run left it: its Delta version then.
        let folder = layout::mart(mart);
        let files = pricelake_tables::live_files(lake, &folder, manifest.table_version(&folder))
            .await?
            .map(|t| t.files)
            .unwrap_or_default();
        if files.is_empty() {
            continue;
        }
        let table = format!("check_{mart}");
        crate::days::register_files(lake, &ctx, &table, &files).await?;
        let key: Vec<String> = marts::natural_key(mart)
            .iter()
            .map(|c| format!("\"{c}\""))
            .collect();
        let batches = ctx
            .sql(&format!(
                "SELECT CAST(COALESCE(SUM(c - 1), 0) AS BIGINT) FROM (SELECT COUNT(*) AS c FROM {table} GROUP BY {})",
                key.join(", ")
            ))
            .await
            .map_err(q(mart))?
            .collect()
            .await
            .map_err(q(mart))?;
        let repeated = batches
            .first()
            .and_then(|b| b.column(0).as_any().downcast_ref::<Int64Array>())
            .map(|a| a.value(0))
            .unwrap_or(0);
        out.insert(mart.to_string(), repeated.max(0) as u64);
    }
    Ok(out)
}
