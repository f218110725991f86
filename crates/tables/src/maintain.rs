//! Maintenance: vacuum removes the data files that no version within the retention needs
//! (what a run replaced or removed, and what a crashed run wrote but never committed), so
//! that time travel reaches back exactly as far as the retention says.

use chrono::Duration;
use deltalake_core::operations::vacuum::VacuumMode;
use pricelake_lake::Lake;

use crate::location::load;
use crate::TableError;

/// What [`vacuum`] did to one table.
#[derive(Debug, Clone, PartialEq)]
pub struct Vacuumed {
    /// The files removed (or that would be, on a dry run), table-relative.
    pub files: Vec<String>,
}

/// Removes `table`'s files that are not live in any version committed within `retention`
/// (and files in its folder no version ever named, once older than `retention`). With
/// `dry_run`, only says which. `None` when it is not a Delta table.
pub async fn vacuum(
    lake: &Lake,
    table: &str,
    retention: Duration,
    dry_run: bool,
) -> Result<Option<Vacuumed>, TableError> {
    let Some(delta) = load(lake, table, None).await? else {
        return Ok(None);
    };
    let (_, metrics) = delta
        .vacuum()
        .with_retention_period(retention)
        .with_enforce_retention_duration(false)
        .with_mode(VacuumMode::Full)
        .with_dry_run(dry_run)
        .await
        .map_err(TableError::delta(table))?;
    Ok(Some(Vacuumed {
        files: metrics.files_deleted,
    }))
}
