//! The pipeline `run`, `ingest` and `demo` drive: sources -> delivery stream -> lake, and
//! the schedule of process. [`Pipeline::assemble`] is the one place it is put together,
//! and [`Pipeline::run`] the one place it is driven, so the three commands cannot drift
//! apart in how they wire it; they differ only in when they stop ([`StopAt`]) and when they
//! process ([`Processing`]).
//!
//! One loop owns the ingest schedule: it finds the next instant something is due (a
//! source's next poll or a delivery buffer's interval), sleeps on the clock until then, and
//! does it. With a real clock this paces production; with a simulated clock the same code
//! replays a month in seconds, deterministically.

use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, Utc};
use pricelake_core::{ErrorChain, Metrics, SharedClock};
use pricelake_delivery::DeliveryStream;
use pricelake_lake::Lake;
use pricelake_sources::{build_sources, LakeCheckpoints, Source, SourceHealth, SourceSecrets};
use pricelake_transform::{Engine, ProcessReport};
use serde::Serialize;

use crate::config::PricelakeConfig;
use crate::shutdown::ShutdownSignal;

/// When the loop stops on its own.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum StopAt {
    /// Never (until shutdown): `run` and `ingest`.
    Never,
    /// Once every source has polled once and finished its pages: `ingest --once`.
    OneRound,
    /// Before the first work due at or after this instant: the demo's simulated month
    /// (exclusive, so `days = 3` polls three days, not the first poll of a fourth).
    Instant(DateTime<Utc>),
}

/// What one ingest pass did, for progress and tests.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct IngestSummary {
    /// Polls performed (requests or pages).
    pub polls: u64,
    /// Records handed to delivery.
    pub records: u64,
    /// Dead letters handed to delivery.
    pub dead_letters: u64,
    /// Poll attempts that failed (counted, logged, retried with a growing pause).
    pub failed_polls: u64,
    /// Sources `--once` gave up on, each with why: they failed [`ONCE_MAX_FAILED_POLLS`]
    /// polls in a row (the command then exits non-zero).
    pub gave_up: Vec<String>,
}

impl IngestSummary {
    /// Adds `other`'s counts to these (one turn's to the totals of a run in turns).
    fn absorb(&mut self, other: &IngestSummary) {
        self.polls += other.polls;
        self.records += other.records;
        self.dead_letters += other.dead_letters;
        self.failed_polls += other.failed_polls;
        self.gave_up.extend(other.gave_up.iter().cloned());
    }
}

/// Polls of a source that may fail in a row before `--once` gives up on it (with the
/// pauses of [`retry_pause`] between them, some 15 s, plus the store client's own retries):
/// a cron job must end, and say why, when the store or the API is away.
pub const ONCE_MAX_FAILED_POLLS: u32 = 5;

/// The pause before polling a source again after `failures` failed polls in a row: 1 s,
/// doubled each time, at most a minute. A poll that fails at once (a store that refuses
/// every request) must not be retried in a tight loop.
pub fn retry_pause(failures: u32) -> chrono::Duration {
    chrono::Duration::seconds(1i64 << failures.saturating_sub(1).min(6))
        .min(chrono::Duration::seconds(60))
}

/// A source's failed polls in a row, and when it may be polled again.
#[derive(Debug, Clone, Default)]
struct Failing {
    in_a_row: u32,
    retry_at: Option<DateTime<Utc>>,
    last_error: String,
    gave_up: bool,
}

/// The status document ingest writes to `_state/ingest_status.json`.
#[derive(Debug, Clone, Serialize)]
pub struct IngestStatus {
    /// When it was written, by the pipeline clock.
    pub written_at: DateTime<Utc>,
    /// Each source's health.
    pub sources: Vec<SourceStatus>,
    /// Counters and gauges of this process.
    pub metrics: pricelake_core::metrics::MetricsSnapshot,
    /// Totals of this process so far.
    pub summary: IngestSummary,
    /// The delivery stream's books, and the spool bound sources are paused at: what
    /// `/health` compares to tell a supervisor the store is not keeping up.
    pub delivery: pricelake_delivery::DeliveryStats,
    /// `[delivery] spool_max_bytes`.
    pub spool_max_bytes: u64,
}

/// One source in the status document.
#[derive(Debug, Clone, Serialize)]
pub struct SourceStatus {
    /// The source's name.
    pub name: String,
    /// Its health, as the source reports it.
    pub health: SourceHealth,
    /// When it next polls.
    pub next_due: DateTime<Utc>,
}

/// When processing runs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Processing {
    /// Never: `ingest` only lands raw records.
    Never,
    /// Every interval of the clock, alongside ingest, until shutdown or the end of ingest: a
    /// failed run is logged and the next one retries, and a run that changed the marts is
    /// published (`[publish] after_process`): `run`.
    Every(Duration),
    /// In turns with ingest, until the [`StopAt::Instant`] end: ingest for `every` of the
    /// clock, then process while ingest waits. A failed run ends the pipeline; each run's
    /// report is printed if `print`. The demo's way: on a simulated clock, the runs see the
    /// same data every time.
    InTurns {
        /// Clock time between two runs.
        every: chrono::Duration,
        /// Print each run's report.
        print: bool,
    },
}

/// What a pipeline did.
#[derive(Debug, Clone, Default)]
pub struct PipelineOutcome {
    /// Totals of the ingest loop.
    pub ingest: IngestSummary,
    /// The process runs made in turns with ingest, in order ([`Processing::InTurns`] only:
    /// a long `run` does not keep them).
    pub process_runs: Vec<ProcessReport>,
}

/// Opens the delivery stream of `config` on `lake`: where sources (and backfills) put
/// records, acknowledged once durable.
pub async fn open_delivery(
    config: &PricelakeConfig,
    lake: &Lake,
    clock: &SharedClock,
    metrics: &Metrics,
) -> anyhow::Result<DeliveryStream> {
    // Boxed: the stream's opening (a spool replay into the lake) is a deep future type, and
    // nested in the pipeline's and its callers' it overflows the compiler's query depth.
    Box::pin(DeliveryStream::open(
        config.delivery.clone(),
        lake.clone(),
        clock.clone(),
        metrics.clone(),
    ))
    .await
    .context("opening the delivery stream")
}

/// Sources -> delivery stream -> lake, on one clock, with the config that says when to
/// process and what to publish.
pub struct Pipeline {
    config: PricelakeConfig,
    lake: Lake,
    delivery: DeliveryStream,
    sources: Vec<Box<dyn Source>>,
    clock: SharedClock,
    metrics: Metrics,
}

impl Pipeline {
    /// Puts the pipeline together: the delivery stream of `config.delivery` on `lake`, and
    /// every enabled source of `config.sources` with `secrets`, checkpointing in `lake`. A
    /// source enabled without its secret is a config error naming the variable.
    pub async fn assemble(
        config: &PricelakeConfig,
        secrets: &SourceSecrets,
        lake: Lake,
        clock: SharedClock,
        metrics: Metrics,
    ) -> anyhow::Result<Self> {
        let delivery = open_delivery(config, &lake, &clock, &metrics).await?;
        let sources = build_sources(
            &config.sources,
            secrets,
            clock.clone(),
            metrics.clone(),
            std::sync::Arc::new(LakeCheckpoints(lake.clone())),
        )?;
        Ok(Self {
            config: config.clone(),
            lake,
            delivery,
            sources,
            clock,
            metrics,
        })
    }

    /// Ingests until `stop` or shutdown, processing as `processing` says, then flushes and
    /// closes the delivery stream.
    ///
    /// `on_progress` is called after each poll with the clock's time and the totals so far,
    /// so the demo can show progress without the pipeline knowing about terminals.
    pub async fn run(
        self,
        stop: StopAt,
        processing: Processing,
        shutdown: ShutdownSignal,
        mut on_progress: impl FnMut(DateTime<Utc>, &IngestSummary),
    ) -> anyhow::Result<PipelineOutcome> {
        let Pipeline {
            config,
            lake,
            delivery,
            mut sources,
            clock,
            metrics,
        } = self;
        let mut ingest = Ingest {
            sources: &mut sources,
            delivery: &delivery,
            clock: clock.clone(),
            metrics: metrics.clone(),
            lake: lake.clone(),
            status_interval: chrono::Duration::seconds(config.schedule.status_interval_secs as i64),
        };
        // A loop that failed has failed to flush: closing would only try again.
        let outcome = match processing {
            Processing::Never => PipelineOutcome {
                ingest: ingest.run(stop, shutdown, on_progress).await?,
                process_runs: Vec::new(),
            },
            Processing::Every(every) => {
                // Processing also ends when ingest does (`--once`), not only on shutdown.
                let (ended, ingest_ended) = tokio::sync::watch::channel(false);
                let ingesting = async {
                    let summary = ingest.run(stop, shutdown.clone(), on_progress).await;
                    let _ = ended.send(true);
                    summary
                };
                let processing = async {
                    loop {
                        tokio::select! {
                            _ = clock.sleep(every) => {},
                            _ = crate::shutdown::requested(shutdown.clone()) => return,
                            _ = crate::shutdown::requested(ingest_ended.clone()) => return,
                        }
                        process_and_publish(&config, &lake, &clock, &metrics).await;
                    }
                };
                let (summary, ()) = tokio::join!(ingesting, processing);
                PipelineOutcome {
                    ingest: summary?,
                    process_runs: Vec::new(),
                }
            }
            Processing::InTurns { every, print } => {
                let StopAt::Instant(end) = stop else {
                    anyhow::bail!("processing in turns with ingest needs an end instant");
                };
                let mut outcome = PipelineOutcome::default();
                let mut turn_end = clock.now();
                // A turn of no time would never reach the end.
                let every = every.max(chrono::Duration::seconds(1));
                while turn_end < end {
                    turn_end = (turn_end + every).min(end);
                    let before = outcome.ingest.clone();
                    let summary = ingest
                        .run(StopAt::Instant(turn_end), shutdown.clone(), |now, turn| {
                            let mut so_far = before.clone();
                            so_far.absorb(turn);
                            on_progress(now, &so_far)
                        })
                        .await?;
                    outcome.ingest.absorb(&summary);
                    let report = pricelake_transform::process(
                        &lake,
                        &config.transform,
                        &Engine::Local,
                        clock.clone(),
                        metrics.clone(),
                        false,
                    )
                    .await
                    .context("processing")?;
                    if print {
                        crate::commands::print_process_report(&report);
                    }
                    outcome.process_runs.push(report);
                }
                outcome
            }
        };
        drop(ingest);
        delivery
            .close()
            .await
            .context("closing the delivery stream")?;
        Ok(outcome)
    }
}

/// One scheduled process run of `run`, then its publication: a failure is logged, and the
/// next run retries.
async fn process_and_publish(
    config: &PricelakeConfig,
    lake: &Lake,
    clock: &SharedClock,
    metrics: &Metrics,
) {
    match pricelake_transform::process(
        lake,
        &config.transform,
        &Engine::Local,
        clock.clone(),
        metrics.clone(),
        false,
    )
    .await
    {
        Ok(report) => {
            crate::commands::print_process_report(&report);
            if !report.skipped {
                if let Err(e) = crate::commands::publish_after_process(config, lake).await {
                    tracing::error!(error = %format!("{e:#}"), "publishing to MongoDB failed; the next run retries");
                }
            }
        }
        Err(e) => {
            tracing::error!(error = %ErrorChain(&e), "scheduled process run failed; the next run retries")
        }
    }
}

/// The ingest loop, over the pipeline's parts.
struct Ingest<'a> {
    /// The sources to poll.
    sources: &'a mut [Box<dyn Source>],
    /// Where records go.
    delivery: &'a DeliveryStream,
    /// The one clock.
    clock: SharedClock,
    /// Counters.
    metrics: Metrics,
    /// Where the status document goes.
    lake: Lake,
    /// Clock time between status documents.
    status_interval: chrono::Duration,
}

impl Ingest<'_> {
    /// Runs until `stop` or shutdown; flushes everything before returning. `on_progress`
    /// is called after each poll with the clock's time and this loop's totals.
    async fn run(
        &mut self,
        stop: StopAt,
        shutdown: ShutdownSignal,
        mut on_progress: impl FnMut(DateTime<Utc>, &IngestSummary),
    ) -> anyhow::Result<IngestSummary> {
        let mut summary = IngestSummary::default();
        let mut next_status = self.clock.now();
        let mut failing: Vec<Failing> = vec![Failing::default(); self.sources.len()];
        loop {
            if *shutdown.borrow() {
                tracing::info!("ingest: stopping on request");
                break;
            }
            let now = self.clock.now();
            if now >= next_status {
                self.write_status(&summary).await;
                next_status = now + self.status_interval;
            }
            // Sources that are due now, in order. In `--once` mode a source with pages
            // pending stays due; one that is done has its next poll in the future.
            let wants = |i: usize| {
                self.sources[i].next_due() <= now
                    && is_active(self.sources[i].as_ref())
                    && !failing[i].gave_up
            };
            let due: Vec<usize> = (0..self.sources.len())
                .filter(|&i| wants(i) && failing[i].retry_at.is_none_or(|t| t <= now))
                .collect();
            if stop == StopAt::OneRound && due.is_empty() {
                // Sources pausing after a failed poll: wait for the first, then try again.
                match (0..self.sources.len())
                    .filter(|&i| wants(i))
                    .filter_map(|i| failing[i].retry_at)
                    .min()
                {
                    Some(retry_at) => {
                        self.sleep_until(retry_at, shutdown.clone()).await;
                        continue;
                    }
                    None => break,
                }
            }
            for i in due {
                let source = &mut self.sources[i];
                match source.poll(self.delivery).await {
                    Ok(report) => {
                        summary.polls += u64::from(report.requests.max(1));
                        summary.records += report.records;
                        summary.dead_letters += report.dead_letters;
                        failing[i] = Failing::default();
                    }
                    Err(e) => {
                        summary.failed_polls += 1;
                        let failed = &mut failing[i];
                        failed.in_a_row += 1;
                        let e = ErrorChain(&e);
                        failed.last_error = e.to_string();
                        let pause = retry_pause(failed.in_a_row);
                        failed.retry_at = Some(self.clock.now() + pause);
                        if stop == StopAt::OneRound && failed.in_a_row >= ONCE_MAX_FAILED_POLLS {
                            failed.gave_up = true;
                            let why = format!(
                                "{}: {} polls failed in a row, the last with: {e}",
                                source.name(),
                                failed.in_a_row
                            );
                            tracing::error!(source = source.name(), error = %e, "giving up on the source for this round");
                            summary.gave_up.push(why);
                        } else {
                            tracing::warn!(
                                source = source.name(),
                                error = %e,
                                failures_in_a_row = failed.in_a_row,
                                retry_in_secs = pause.num_seconds(),
                                "poll failed; will retry"
                            );
                        }
                    }
                }
                on_progress(self.clock.now(), &summary);
            }
            if let Err(e) = self.delivery.flush_due().await {
                tracing::warn!(error = %ErrorChain(&e), "delivery flush failed; records stay in the spool and are retried");
            }
            if stop == StopAt::OneRound {
                continue;
            }
            let next = self.next_wakeup(next_status, &failing);
            if let StopAt::Instant(until) = stop {
                if next >= until {
                    self.clock.sleep_until(until).await;
                    break;
                }
            }
            self.sleep_until(next, shutdown.clone()).await;
        }
        self.delivery.flush_all().await?;
        self.write_status(&summary).await;
        Ok(summary)
    }

    fn next_wakeup(&self, next_status: DateTime<Utc>, failing: &[Failing]) -> DateTime<Utc> {
        let mut next = next_status;
        for (source, failed) in self.sources.iter().zip(failing) {
            if !is_active(source.as_ref()) {
                continue;
            }
            // A source pausing after a failed poll is not due before its pause ends.
            let due = match failed.retry_at {
                Some(retry_at) => source.next_due().max(retry_at),
                None => source.next_due(),
            };
            next = next.min(due);
        }
        if let Some(flush) = self.delivery.next_flush_due() {
            next = next.min(flush);
        }
        // Never spin: a source that is due in the past is polled on the next pass anyway.
        next.max(self.clock.now())
    }

    async fn sleep_until(&self, deadline: DateTime<Utc>, shutdown: ShutdownSignal) {
        if self.clock.is_simulated() {
            self.clock.sleep_until(deadline).await;
            return;
        }
        tokio::select! {
            _ = self.clock.sleep_until(deadline) => {},
            _ = crate::shutdown::requested(shutdown) => {},
            // Wake up regularly so that a newly due flush is never late by much.
            _ = tokio::time::sleep(Duration::from_secs(30)) => {},
        }
    }

    async fn write_status(&self, summary: &IngestSummary) {
        let status = IngestStatus {
            written_at: self.clock.now(),
            sources: self
                .sources
                .iter()
                .map(|s| SourceStatus {
                    name: s.name().to_string(),
                    health: s.health(),
                    next_due: s.next_due(),
                })
                .collect(),
            metrics: self.metrics.snapshot(),
            summary: summary.clone(),
            delivery: self.delivery.stats().await,
            spool_max_bytes: self.delivery.spool_max_bytes(),
        };
        if let Err(e) = self
            .lake
            .put_json(&pricelake_core::layout::state("ingest_status"), &status)
            .await
        {
            tracing::warn!(error = %ErrorChain(&e), "cannot write the ingest status document");
        }
    }
}

fn is_active(source: &dyn Source) -> bool {
    !matches!(source.health(), SourceHealth::Stopped { .. })
}
