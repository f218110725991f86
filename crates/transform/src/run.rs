//! A run under way: what its stages share (the lake, the config, the engine session, the
//! run's id) and what they add to (the files the run wrote and took out of the tables).

use std::collections::BTreeSet;

use datafusion::execution::context::SessionContext;
use pricelake_core::Metrics;
use pricelake_lake::Lake;
use pricelake_tables::LatestTables;

use crate::config::TransformConfig;

/// A run under way, handed from stage to stage.
pub(crate) struct Run<'a> {
    /// The lake read and written.
    pub(crate) lake: &'a Lake,
    /// What the run is configured with.
    pub(crate) config: &'a TransformConfig,
    /// Where the run's counters go.
    pub(crate) metrics: &'a Metrics,
    /// The engine session every plan of the run is made in ([`crate::session`]).
    pub(crate) ctx: SessionContext,
    /// The run's id ([`crate::prepare::next_run_id`]).
    pub(crate) id: String,
    /// What the run changed in the tables so far.
    pub(crate) output: Output,
    /// The tables as the run read them, which its commits start from.
    pub(crate) latest: LatestTables,
}

/// What a run changes in the lake's tables: its manifest's `produced`, `removed` and
/// `replaced`, from which its Delta commits are made ([`crate::tables`]).
#[derive(Debug, Default)]
pub(crate) struct Output {
    /// Every file the run wrote so far, in the order written.
    pub(crate) produced: Vec<String>,
    /// Live files the run takes out of their tables (a recomputed day's, an extended day's
    /// merged mart's).
    pub(crate) removed: Vec<String>,
    /// Tables the run writes whole (their folders): every live file of them goes.
    pub(crate) replaced: BTreeSet<String>,
}

impl<'a> Run<'a> {
    /// A run that has written nothing yet.
    pub(crate) fn new(
        lake: &'a Lake,
        config: &'a TransformConfig,
        metrics: &'a Metrics,
        ctx: SessionContext,
        id: String,
    ) -> Self {
        Run {
            lake,
            config,
            metrics,
            ctx,
            id,
            output: Output::default(),
            latest: LatestTables::default(),
        }
    }
}
