//! What a run tells its caller: the [`ProcessReport`], a skipped run's or the committed
//! manifest's figures.

use std::collections::BTreeMap;

use pricelake_core::marts;
use serde::Serialize;

use crate::manifest::Manifest;

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ProcessReport {
    /// The run's id (empty when skipped).
    pub run_id: String,
    /// Raw objects consumed.
    pub consumed_objects: usize,
    /// Rows per clean table and per mart.
    pub rows: BTreeMap<String, u64>,
    /// Rows rejected, by reason.
    pub rejected: BTreeMap<String, u64>,
    /// Duplicate observations removed.
    pub duplicates_removed: u64,
    /// Marts written.
    pub marts: Vec<String>,
    /// Nothing new: nothing was written.
    pub skipped: bool,
    /// Configured currencies no rate in the lake quotes (their converted prices are null).
    pub unquoted_currencies: Vec<String>,
}

impl ProcessReport {
    /// A run that found nothing new: nothing was written.
    pub(crate) fn skipped() -> Self {
        ProcessReport {
            skipped: true,
            ..ProcessReport::default()
        }
    }

    /// The figures of a committed run, from its manifest.
    pub(crate) fn committed(manifest: Manifest) -> Self {
        ProcessReport {
            run_id: manifest.run_id,
            consumed_objects: manifest.consumed.len(),
            rows: manifest.rows,
            rejected: manifest.rejected,
            duplicates_removed: manifest.duplicates_removed,
            // Every public mart, in listing order (`item_days` is kept by day too, but only
            // as the `items` table's input: not a mart).
            marts: marts::names().map(str::to_string).collect(),
            skipped: false,
            unquoted_currencies: manifest.unquoted_currencies,
        }
    }
}
