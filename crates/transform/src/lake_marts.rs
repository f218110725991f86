//! The whole-lake marts: those of the registry's [`marts::over_the_lake`], each rebuilt by
//! every run from the day marts (and the clean tables), in registry order.

use std::collections::BTreeMap;

use datafusion::prelude::ParquetReadOptions;
use pricelake_core::{layout, marts};

use crate::error::{q, TransformError};
use crate::run::Run;
use crate::sql::{self, fill};
use crate::write::write_mart;

/// Writes every whole-lake mart of the run; returns their rows (`mart.<name>`).
pub(crate) async fn write_lake_marts(
    run: &mut Run<'_>,
) -> Result<BTreeMap<String, u64>, TransformError> {
    let (lake, ctx, config, run_id) = (run.lake, &run.ctx, run.config, run.id.as_str());
    let mut rows = BTreeMap::new();
    for mart in marts::over_the_lake() {
        let name = mart.name;
        let sql = fill(sql::text(mart.sql)?, config, ctx).await?;
        let df = ctx.sql(&sql).await.map_err(q(name))?;
        let path = layout::mart_file(name, run_id);
        let written = write_mart(lake, &path, df)
            .await
            .map_err(|e| e.for_mart(name))?;
        // Later marts read earlier ones from the file just written rather than re-running
        // them: a file-backed table, so the same plans can run on Ballista.
        ctx.deregister_table(name).ok();
        ctx.register_parquet(
            name,
            lake.table_url(&layout::mart_run(name, run_id)),
            ParquetReadOptions::default().schema(&written.schema),
        )
        .await
        .map_err(q(name))?;
        rows.insert(format!("mart.{name}"), written.rows as u64);
        run.produced.push(path);
    }
    Ok(rows)
}
