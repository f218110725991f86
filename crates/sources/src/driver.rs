//! One poll lifecycle for every source.
//!
//! A source knows its endpoints: which jobs it runs and how to make one request of a job
//! and read the answer ([`PollSource::step`]). Everything around a step is the same for
//! every source, so it lives here once, in [`Driver`]: reading the checkpoint on the first
//! poll (an unreadable one is logged and replaced by fresh schedules), the stopped state,
//! picking the job due first, handing the records to delivery and moving the checkpoint
//! only once delivery acknowledged them (at-least-once), the backoff after a failed step,
//! health, and the records-received metric. Two copies of this had drifted apart; one
//! cannot.

use std::fmt::Debug;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use pricelake_core::{LakeRecord, Metrics, RecordSink, SharedClock};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::checkpoint::CheckpointStore;
use crate::envelopes::count;
use crate::schedule::Slot;
use crate::{PollReport, Source, SourceError, SourceHealth};

/// What one step means for its job.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Step {
    /// The job's round is complete: its next round is due one interval later.
    RoundDone,
    /// The round goes on (more pages, more batches): the job stays due.
    Progress,
    /// The request failed (every retry spent, a quota or plan error): the job is due again
    /// after [`backoff`], or after `at_least` if that is longer (the service said how long).
    RetryLater {
        /// Why, for the log and the health report.
        reason: String,
        /// The wait the service asked for, if it did.
        at_least: Option<Duration>,
    },
    /// The credentials were refused: the source stops until a person acts.
    Stop(String),
}

impl Step {
    /// A failure retried on the driver's backoff.
    pub(crate) fn retry(reason: impl Into<String>) -> Self {
        Step::RetryLater {
            reason: reason.into(),
            at_least: None,
        }
    }
}

/// What a step produced: its records, what it means for the job, the requests it took.
pub(crate) struct Stepped {
    /// Raw records and dead letters, for delivery.
    pub records: Vec<LakeRecord>,
    /// What the step means for its job.
    pub step: Step,
    /// HTTP requests made, retries included.
    pub requests: u32,
}

/// A source as the [`Driver`] sees it: a checkpoint of jobs on slots, and a step per job.
#[async_trait]
pub(crate) trait PollSource: Send {
    /// What is saved after each step: every job's slot and progress. Its JSON is a contract
    /// with the lake (`_state/source-<name>.json`): a change that cannot read an older one
    /// restarts every schedule.
    type Checkpoint: Clone + Serialize + DeserializeOwned + Send + Sync;
    /// One of its recurring jobs.
    type Job: Copy + Debug + Send + Sync;

    /// A stable name (`walmart`, `currencylayer`): its checkpoint key and its label in
    /// logs and metrics.
    fn name(&self) -> &'static str;
    /// Failed steps in a row after which it reports itself unhealthy.
    fn unhealthy_after_failures(&self) -> u32;
    /// The checkpoint of a first start: every configured job due at `now`.
    fn fresh(&self, now: DateTime<Utc>) -> Self::Checkpoint;
    /// A saved checkpoint fitted to the config in force: jobs still configured keep their
    /// place, jobs added since start as in `fresh`, jobs removed since are dropped.
    fn reconcile(&self, saved: Self::Checkpoint, fresh: Self::Checkpoint) -> Self::Checkpoint;
    /// Every scheduled job and its slot, the one to run first on a tie first.
    fn jobs<'a>(&self, checkpoint: &'a Self::Checkpoint) -> Vec<(Self::Job, &'a Slot)>;
    /// The slot of a scheduled job, which the driver moves.
    fn slot_mut<'a>(&self, checkpoint: &'a mut Self::Checkpoint, job: Self::Job) -> &'a mut Slot;
    /// Time between two rounds of `job`.
    fn interval(&self, job: Self::Job) -> Duration;
    /// Not before this instant, whatever the slots say (a daily quota spent).
    fn paused_until(&self) -> Option<DateTime<Utc>> {
        None
    }
    /// One request of `job`. It may move the job's progress in `checkpoint` (a cursor, a
    /// batch), never its slot; the driver forgets that progress if delivery refuses the
    /// records, so the same request is made again.
    async fn step(&mut self, checkpoint: &mut Self::Checkpoint, job: Self::Job) -> Stepped;
}

/// The pause before a failed job is due again: a minute per failed step in a row, at most
/// half an hour, so that a blip costs little delay and an outage few requests.
pub(crate) fn backoff(failures_in_a_row: u32) -> Duration {
    Duration::minutes(i64::from(failures_in_a_row.clamp(1, 30)))
}

/// The pause before a job whose records delivery refused is due again: delivery, not the
/// API, is what must recover, and the pipeline paces its own retries of a failed poll.
fn refused_delivery_pause() -> Duration {
    Duration::seconds(5)
}

/// Runs a [`PollSource`]'s steps through the one lifecycle, as a [`Source`].
pub(crate) struct Driver<S: PollSource> {
    source: S,
    clock: SharedClock,
    metrics: Metrics,
    checkpoints: Arc<dyn CheckpointStore>,
    checkpoint: S::Checkpoint,
    /// Whether the saved checkpoint was read. It is read on the first poll rather than at
    /// construction, so that a store that is away fails a poll, which is retried, and not
    /// the start.
    restored: bool,
    /// When it was made: until its checkpoint is read it is due from then, which is never
    /// later than any `now` a caller compares with.
    created_at: DateTime<Utc>,
    health: SourceHealth,
    failures: u32,
}

impl<S: PollSource> Driver<S> {
    /// `source` with every job due now, or where its checkpoint says from the first poll on.
    pub(crate) fn new(
        source: S,
        clock: SharedClock,
        metrics: Metrics,
        checkpoints: Arc<dyn CheckpointStore>,
    ) -> Self {
        let created_at = clock.now();
        let checkpoint = source.fresh(created_at);
        Self {
            source,
            clock,
            metrics,
            checkpoints,
            checkpoint,
            restored: false,
            created_at,
            health: SourceHealth::Healthy,
            failures: 0,
        }
    }

    /// Replaces the fresh checkpoint with the saved one, fitted to the config.
    async fn restore(&mut self) -> Result<(), SourceError> {
        let name = self.source.name();
        if let Some(saved) = self.checkpoints.load(name).await? {
            match serde_json::from_value::<S::Checkpoint>(saved) {
                Ok(saved) => {
                    let fresh = self.checkpoint.clone();
                    self.checkpoint = self.source.reconcile(saved, fresh);
                }
                Err(e) => {
                    tracing::warn!(source = name, error = %pricelake_core::ErrorChain(&e), "checkpoint unreadable; starting fresh schedules")
                }
            }
        }
        self.restored = true;
        Ok(())
    }

    /// The job due first at `now`, if any is due.
    fn due_job(&self, now: DateTime<Utc>) -> Option<S::Job> {
        self.source
            .jobs(&self.checkpoint)
            .into_iter()
            .filter(|(_, slot)| slot.due() <= now)
            .min_by_key(|(_, slot)| slot.due())
            .map(|(job, _)| job)
    }

    /// Moves `job`'s slot, the failure count and the health after a delivered step.
    fn settle(&mut self, job: S::Job, step: Step, now: DateTime<Utc>) {
        let name = self.source.name();
        match step {
            Step::RoundDone => {
                let interval = self.source.interval(job);
                self.source
                    .slot_mut(&mut self.checkpoint, job)
                    .advance(interval, now);
                self.failures = 0;
                self.health = SourceHealth::Healthy;
            }
            Step::Progress => {
                self.failures = 0;
                self.health = SourceHealth::Healthy;
            }
            Step::RetryLater { reason, at_least } => {
                self.failures += 1;
                let backoff = backoff(self.failures);
                let wait = at_least.map_or(backoff, |asked| asked.max(backoff));
                self.source.slot_mut(&mut self.checkpoint, job).not_before = Some(now + wait);
                if self.failures >= self.source.unhealthy_after_failures() {
                    self.health = SourceHealth::Unhealthy {
                        reason: reason.clone(),
                        consecutive_failures: self.failures,
                    };
                }
                tracing::warn!(
                    source = name,
                    ?job,
                    %reason,
                    retry_in_secs = wait.num_seconds(),
                    "request failed; will try again"
                );
            }
            Step::Stop(reason) => {
                tracing::error!(source = name, %reason, "credentials refused: source stopped");
                self.health = SourceHealth::Stopped { reason };
            }
        }
    }

    // `&mut`: a source need not be `Sync`, and a shared borrow held across the await would ask it.
    async fn save(&mut self) -> Result<(), SourceError> {
        let key = self.source.name();
        let value = serde_json::to_value(&self.checkpoint)
            .map_err(|source| SourceError::EncodeCheckpoint { key, source })?;
        self.checkpoints.save(key, &value).await
    }
}

#[async_trait]
impl<S: PollSource> Source for Driver<S> {
    fn name(&self) -> &str {
        self.source.name()
    }

    fn next_due(&self) -> DateTime<Utc> {
        if !self.restored {
            return self.created_at;
        }
        let due = self
            .source
            .jobs(&self.checkpoint)
            .into_iter()
            .map(|(_, slot)| slot.due())
            .min()
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
        match self.source.paused_until() {
            Some(until) => due.max(until),
            None => due,
        }
    }

    async fn poll(&mut self, sink: &dyn RecordSink) -> Result<PollReport, SourceError> {
        if !self.restored {
            self.restore().await?;
        }
        if matches!(self.health, SourceHealth::Stopped { .. }) {
            return Ok(PollReport::default());
        }
        let now = self.clock.now();
        let Some(job) = self.due_job(now) else {
            return Ok(PollReport::default());
        };
        let before = self.checkpoint.clone();
        let Stepped {
            records,
            step,
            requests,
        } = self.source.step(&mut self.checkpoint, job).await;
        let (raw, dead) = count(&records);
        if !records.is_empty() {
            if let Err(e) = sink.accept(records).await {
                // Not durable: forget the progress so that the same request is made again.
                self.checkpoint = before;
                self.source.slot_mut(&mut self.checkpoint, job).not_before =
                    Some(now + refused_delivery_pause());
                return Err(e.into());
            }
        }
        self.settle(job, step, self.clock.now());
        self.save().await?;
        let component = format!("source_{}", self.source.name());
        self.metrics.add(
            pricelake_core::metrics::names::RECORDS_RECEIVED,
            &[("component", component.as_str())],
            raw + dead,
        );
        Ok(PollReport {
            requests,
            records: raw,
            dead_letters: dead,
        })
    }

    fn health(&self) -> SourceHealth {
        self.health.clone()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;

    use chrono::TimeZone;
    use pricelake_core::{Clock, MemorySink, SimulatedClock, SinkError};
    use serde::Deserialize;
    use serde_json::json;

    use super::*;
    use crate::MemoryCheckpoints;

    /// One job, whose steps play a script; each step delivers one dead letter.
    struct Scripted {
        steps: VecDeque<Step>,
    }

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    struct Only {
        slot: Slot,
        pages: u32,
    }

    #[async_trait]
    impl PollSource for Scripted {
        type Checkpoint = Only;
        type Job = ();

        fn name(&self) -> &'static str {
            "scripted"
        }
        fn unhealthy_after_failures(&self) -> u32 {
            2
        }
        fn fresh(&self, now: DateTime<Utc>) -> Only {
            Only {
                slot: Slot::new(now),
                pages: 0,
            }
        }
        fn reconcile(&self, saved: Only, _fresh: Only) -> Only {
            saved
        }
        fn jobs<'a>(&self, checkpoint: &'a Only) -> Vec<((), &'a Slot)> {
            vec![((), &checkpoint.slot)]
        }
        fn slot_mut<'a>(&self, checkpoint: &'a mut Only, _job: ()) -> &'a mut Slot {
            &mut checkpoint.slot
        }
        fn interval(&self, _job: ()) -> Duration {
            Duration::hours(1)
        }
        async fn step(&mut self, checkpoint: &mut Only, _job: ()) -> Stepped {
            checkpoint.pages += 1;
            let origin = crate::envelopes::Origin {
                source: "scripted",
                endpoint: "only",
                url: "http://example.test/only",
                slot: checkpoint.slot.slot,
            };
            Stepped {
                records: vec![origin.dead(
                    "scripted",
                    "a step",
                    Some(200),
                    checkpoint.slot.slot,
                    String::new(),
                    checkpoint.pages as usize,
                )],
                step: self.steps.pop_front().expect("a scripted step"),
                requests: 1,
            }
        }
    }

    /// A delivery stream that is away.
    struct Refusing;

    #[async_trait]
    impl RecordSink for Refusing {
        async fn accept(&self, _records: Vec<LakeRecord>) -> Result<(), SinkError> {
            Err(SinkError::Failed("away".into()))
        }
    }

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 10, 1, 0, 0, 0).unwrap()
    }

    fn driver(
        steps: impl IntoIterator<Item = Step>,
        clock: &Arc<SimulatedClock>,
        checkpoints: Arc<MemoryCheckpoints>,
    ) -> Driver<Scripted> {
        Driver::new(
            Scripted {
                steps: steps.into_iter().collect(),
            },
            clock.clone(),
            Metrics::new(),
            checkpoints,
        )
    }

    #[tokio::test]
    async fn failed_steps_back_off_longer_each_time_turn_unhealthy_and_recover_on_progress() {
        let clock = SimulatedClock::shared(t0());
        let checkpoints = Arc::new(MemoryCheckpoints::default());
        let mut source = driver(
            [
                Step::retry("HTTP 503"),
                Step::retry("HTTP 503"),
                Step::Progress,
                Step::RoundDone,
            ],
            &clock,
            checkpoints.clone(),
        );
        let sink = MemorySink::new();
        source.poll(&sink).await.unwrap();
        assert_eq!(source.next_due(), t0() + Duration::minutes(1));
        assert_eq!(
            source.health(),
            SourceHealth::Healthy,
            "one failure is a blip"
        );

        clock.advance_to(source.next_due());
        source.poll(&sink).await.unwrap();
        assert_eq!(source.next_due(), clock.now() + Duration::minutes(2));
        match source.health() {
            SourceHealth::Unhealthy {
                reason,
                consecutive_failures,
            } => assert_eq!((reason.as_str(), consecutive_failures), ("HTTP 503", 2)),
            other => panic!("expected unhealthy, got {other:?}"),
        }

        clock.advance_to(source.next_due());
        source.poll(&sink).await.unwrap();
        assert_eq!(source.health(), SourceHealth::Healthy);
        assert_eq!(source.next_due(), clock.now(), "more pages: still due");

        source.poll(&sink).await.unwrap();
        assert_eq!(source.next_due(), t0() + Duration::hours(1), "next round");
        let saved: Only =
            serde_json::from_value(checkpoints.load("scripted").await.unwrap().unwrap()).unwrap();
        assert_eq!(saved.pages, 4, "saved after every delivered step");
        assert_eq!(sink.records().len(), 4);
    }

    #[tokio::test]
    async fn a_wait_the_service_asks_for_beats_the_backoff() {
        let clock = SimulatedClock::shared(t0());
        let mut source = driver(
            [Step::RetryLater {
                reason: "quota".into(),
                at_least: Some(Duration::hours(6)),
            }],
            &clock,
            Arc::new(MemoryCheckpoints::default()),
        );
        source.poll(&MemorySink::new()).await.unwrap();
        assert_eq!(source.next_due(), t0() + Duration::hours(6));
    }

    #[tokio::test]
    async fn refused_records_leave_the_checkpoint_where_it_was_and_the_job_due_soon() {
        let clock = SimulatedClock::shared(t0());
        let checkpoints = Arc::new(MemoryCheckpoints::default());
        let mut source = driver(
            [Step::Progress, Step::Progress],
            &clock,
            checkpoints.clone(),
        );
        assert!(source.poll(&Refusing).await.is_err());
        assert_eq!(source.checkpoint.pages, 0, "the progress is forgotten");
        assert_eq!(source.next_due(), t0() + Duration::seconds(5));
        assert!(checkpoints.load("scripted").await.unwrap().is_none());
        assert_eq!(
            source.health(),
            SourceHealth::Healthy,
            "not the API's fault"
        );
        clock.advance_to(source.next_due());
        source.poll(&MemorySink::new()).await.unwrap();
        assert_eq!(source.checkpoint.pages, 1, "the same step again");
    }

    #[tokio::test]
    async fn a_stopped_source_polls_no_more_and_says_why() {
        let clock = SimulatedClock::shared(t0());
        let mut source = driver(
            [Step::Stop("HTTP 401: bad key".into())],
            &clock,
            Arc::new(MemoryCheckpoints::default()),
        );
        source.poll(&MemorySink::new()).await.unwrap();
        assert_eq!(
            source.health(),
            SourceHealth::Stopped {
                reason: "HTTP 401: bad key".into()
            }
        );
        let report = source.poll(&MemorySink::new()).await.unwrap();
        assert_eq!(report, PollReport::default(), "no step is taken");
    }

    #[tokio::test]
    async fn a_saved_checkpoint_is_resumed_and_an_unreadable_one_is_replaced_by_fresh_schedules() {
        let clock = SimulatedClock::shared(t0());
        let checkpoints = Arc::new(MemoryCheckpoints::default());
        let later = t0() + Duration::hours(3);
        checkpoints
            .save("scripted", &json!({"slot": {"slot": later}, "pages": 7}))
            .await
            .unwrap();
        let mut source = driver([Step::RoundDone], &clock, checkpoints.clone());
        assert_eq!(
            source.next_due(),
            t0(),
            "due at once, to read its checkpoint"
        );
        source.poll(&MemorySink::new()).await.unwrap();
        assert_eq!(source.next_due(), later, "resumed: nothing due yet");
        assert_eq!(source.checkpoint.pages, 7);

        checkpoints
            .save("scripted", &json!({"unknown": true}))
            .await
            .unwrap();
        let mut source = driver([Step::RoundDone], &clock, checkpoints);
        source.poll(&MemorySink::new()).await.unwrap();
        assert_eq!(source.checkpoint.pages, 1, "a fresh start, one step taken");
        assert_eq!(source.next_due(), clock.now() + Duration::hours(1));
    }
}
