//! The Walmart product API source, Open API v1 (`apiKey`) or Affiliate API v2 (signed
//! headers): trends, value of the day, taxonomy, the paginated catalog (followed through
//! `nextPage` to the end), searches (paged through `start`) and tracked items (20 ids per
//! request, or one UPC), each on its own schedule.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use pricelake_core::{LakeRecord, Metrics, RecordSink, SharedClock};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::checkpoint::CheckpointStore;
use crate::config::WalmartConfig;
use crate::envelopes::{count, Origin};
use crate::http::{Fetcher, Outcome};
use crate::schedule::Slot;
use crate::{PollReport, Source, SourceError, SourceHealth, WalmartAuth};

const NAME: &str = "walmart";

/// How far the current catalog walk has got.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct CatalogProgress {
    slot: Slot,
    /// Category ids of this walk (from config or taxonomy); empty until known.
    categories: Vec<String>,
    index: usize,
    /// The next page's path, when inside a category.
    next_path: Option<String>,
}

/// How far the current search round has got.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct SearchProgress {
    slot: Slot,
    query_index: usize,
    start: u32,
}

/// How far the tracked-items round has got.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct ItemsProgress {
    slot: Slot,
    batch: usize,
}

/// The checkpoint: every job's slot and progress.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct WalmartState {
    trends: Option<Slot>,
    vod: Option<Slot>,
    taxonomy: Option<Slot>,
    catalog: Option<CatalogProgress>,
    search: Option<SearchProgress>,
    items: Option<ItemsProgress>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Job {
    Trends,
    Vod,
    Taxonomy,
    Catalog,
    Search,
    Items,
}

/// The Walmart source.
pub struct WalmartSource {
    config: WalmartConfig,
    auth: WalmartAuth,
    clock: SharedClock,
    metrics: Metrics,
    checkpoints: Arc<dyn CheckpointStore>,
    fetcher: Fetcher,
    state: WalmartState,
    restored: bool,
    /// When it was made: before its checkpoint is read it is due from then, which is
    /// never later than any `now` a driver compares with.
    created_at: DateTime<Utc>,
    health: SourceHealth,
    failures: u32,
}

/// What one step decided about its job.
enum Advance {
    /// The round is complete.
    RoundDone,
    /// More requests in this round.
    Progress,
    /// Failed: try again later.
    RetryLater(String),
    /// The credentials were refused.
    Stop(String),
}

impl WalmartSource {
    /// A source starting its schedules now (or where its checkpoint says, on first poll).
    pub fn new(
        config: WalmartConfig,
        auth: WalmartAuth,
        clock: SharedClock,
        metrics: Metrics,
        checkpoints: Arc<dyn CheckpointStore>,
    ) -> Result<Self, SourceError> {
        if config.catalog.count == 0 || config.catalog.count > 200 {
            return Err(SourceError::Config {
                field: "sources.walmart.catalog.count".into(),
                message: "must be 1..=200".into(),
            });
        }
        if config.search.num_items == 0 || config.search.num_items > 25 {
            return Err(SourceError::Config {
                field: "sources.walmart.search.num_items".into(),
                message: "must be 1..=25".into(),
            });
        }
        let mut fetcher = Fetcher::new(
            NAME,
            clock.clone(),
            metrics.clone(),
            config.timeout_secs,
            config.retry.clone(),
            config.rate_limit_per_sec,
            Some(config.daily_quota),
        )?;
        if let WalmartAuth::Signed(signer) = &auth {
            fetcher = fetcher.with_signer((**signer).clone());
        }
        let now = clock.now();
        let state = initial_state(&config, now);
        let now_at_creation = clock.now();
        Ok(Self {
            config,
            auth,
            clock,
            metrics,
            checkpoints,
            fetcher,
            state,
            restored: false,
            created_at: now_at_creation,
            health: SourceHealth::Healthy,
            failures: 0,
        })
    }

    /// The full URL of `resource`: a path below the generation's prefix (`trends`), or an
    /// absolute path the service handed back (`nextPage`). v1 adds its `apiKey`; v2 signs
    /// headers instead.
    fn url(&self, resource: &str) -> String {
        let path = if resource.starts_with('/') {
            resource.to_string()
        } else {
            format!("{}{resource}", self.config.api.path_prefix())
        };
        let base = self.config.effective_base_url();
        match &self.auth {
            WalmartAuth::ApiKey(key) => {
                let sep = if path.contains('?') { '&' } else { '?' };
                format!("{base}{path}{sep}apiKey={}", key.expose())
            }
            WalmartAuth::Signed(_) => format!("{base}{path}"),
        }
    }

    /// The tracked-items requests of one round: ids 20 at a time, then each UPC.
    fn item_requests(&self) -> Vec<String> {
        let by_id = self.config.tracked_item_ids.chunks(20).map(|chunk| {
            let ids: Vec<String> = chunk.iter().map(u64::to_string).collect();
            format!("items?ids={}", ids.join(","))
        });
        let by_upc = self.config.tracked_upcs.iter().map(|upc| {
            format!(
                "items?upc={}",
                url::form_urlencoded::byte_serialize(upc.as_bytes()).collect::<String>()
            )
        });
        by_id.chain(by_upc).collect()
    }

    fn due_jobs(&self) -> Vec<(DateTime<Utc>, Job)> {
        let s = &self.state;
        let mut jobs = Vec::new();
        if let Some(x) = &s.taxonomy {
            jobs.push((x.due(), Job::Taxonomy));
        }
        if let Some(x) = &s.trends {
            jobs.push((x.due(), Job::Trends));
        }
        if let Some(x) = &s.vod {
            jobs.push((x.due(), Job::Vod));
        }
        if let Some(x) = &s.catalog {
            jobs.push((x.slot.due(), Job::Catalog));
        }
        if let Some(x) = &s.search {
            jobs.push((x.slot.due(), Job::Search));
        }
        if let Some(x) = &s.items {
            jobs.push((x.slot.due(), Job::Items));
        }
        jobs
    }

    fn slot_mut(&mut self, job: Job) -> &mut Slot {
        let s = &mut self.state;
        match job {
            Job::Trends => s.trends.as_mut(),
            Job::Vod => s.vod.as_mut(),
            Job::Taxonomy => s.taxonomy.as_mut(),
            Job::Catalog => s.catalog.as_mut().map(|c| &mut c.slot),
            Job::Search => s.search.as_mut().map(|c| &mut c.slot),
            Job::Items => s.items.as_mut().map(|c| &mut c.slot),
        }
        .expect("a due job has a slot")
    }

    fn interval(&self, job: Job) -> Duration {
        let secs = match job {
            Job::Trends => self.config.trends_interval_secs,
            Job::Vod => self.config.vod_interval_secs,
            Job::Taxonomy => self.config.taxonomy_interval_secs,
            Job::Catalog => self.config.catalog.interval_secs,
            Job::Search => self.config.search.interval_secs,
            Job::Items => self.config.items_interval_secs,
        };
        Duration::seconds(secs.max(1) as i64)
    }

    /// One request of `job`: the records it produced and what it means for the job.
    async fn step(&mut self, job: Job) -> (Vec<LakeRecord>, Advance, u32) {
        let slot = self.slot_mut(job).slot;
        match job {
            Job::Trends => {
                self.simple("trends", "trends", slot, ListShape::Items(&["time"]))
                    .await
            }
            Job::Vod => self.simple("vod", "vod", slot, ListShape::WholeItem).await,
            Job::Taxonomy => {
                self.simple("taxonomy", "taxonomy", slot, ListShape::Whole)
                    .await
            }
            Job::Items => {
                let progress = self.state.items.clone().expect("items job");
                let batches = self.item_requests();
                let Some(request) = batches.get(progress.batch) else {
                    self.state.items.as_mut().expect("items job").batch = 0;
                    return (Vec::new(), Advance::RoundDone, 0);
                };
                let (records, advance, requests) = self
                    .simple("items", &request.clone(), slot, ListShape::Items(&[]))
                    .await;
                let advance = match advance {
                    Advance::RoundDone if progress.batch + 1 < batches.len() => {
                        self.state.items.as_mut().expect("items job").batch += 1;
                        Advance::Progress
                    }
                    Advance::RoundDone => {
                        self.state.items.as_mut().expect("items job").batch = 0;
                        Advance::RoundDone
                    }
                    other => other,
                };
                (records, advance, requests)
            }
            Job::Search => self.search_step(slot).await,
            Job::Catalog => self.catalog_step(slot).await,
        }
    }

    async fn simple(
        &mut self,
        endpoint: &str,
        path: &str,
        slot: DateTime<Utc>,
        shape: ListShape<'_>,
    ) -> (Vec<LakeRecord>, Advance, u32) {
        let url = self.url(path);
        let fetched = self.fetcher.get(endpoint, &url, &[]).await;
        let origin = Origin {
            source: NAME,
            endpoint,
            url: &fetched.url,
            slot,
        };
        let mut records = origin.discarded(&fetched.discarded);
        let advance = match fetched.outcome {
            Outcome::Json { status, body, at } => {
                match shape {
                    ListShape::Whole => records.push(origin.whole(status, at, body)),
                    ListShape::WholeItem => records.extend(
                        origin
                            .items(status, at, std::slice::from_ref(&body), None)
                            .into_iter()
                            .map(|r| match r {
                                // The value of the day is one item: keep it whole (position none).
                                LakeRecord::Raw(mut e) => {
                                    e.position = None;
                                    e.record_id = pricelake_core::RecordEnvelope::derive_id(
                                        NAME,
                                        endpoint,
                                        &format!("{}@{}", fetched.url, slot.to_rfc3339()),
                                        None,
                                    );
                                    LakeRecord::Raw(e)
                                }
                                dead => dead,
                            }),
                    ),
                    ListShape::Items(context_fields) => {
                        match body.get("items").and_then(Value::as_array) {
                            Some(items) => {
                                let context = context_of(&body, context_fields);
                                records.extend(origin.items(status, at, items, context));
                            }
                            None => records.push(origin.dead(
                                "missing_items",
                                "response has no items array",
                                Some(status),
                                at,
                                body.to_string(),
                                0,
                            )),
                        }
                    }
                }
                Advance::RoundDone
            }
            Outcome::Rejected { status, body, at } => {
                records.push(origin.dead(
                    &format!("http_{status}"),
                    "the service rejected the request",
                    Some(status),
                    at,
                    body.clone(),
                    999,
                ));
                if status == 401 || status == 403 {
                    Advance::Stop(format!("HTTP {status}: {}", first_error_message(&body)))
                } else {
                    Advance::RoundDone
                }
            }
            Outcome::Exhausted { last } => Advance::RetryLater(last),
        };
        (records, advance, fetched.attempts)
    }

    async fn search_step(&mut self, slot: DateTime<Utc>) -> (Vec<LakeRecord>, Advance, u32) {
        let progress = self.state.search.clone().expect("search job");
        let Some(query) = self
            .config
            .search
            .queries
            .get(progress.query_index)
            .cloned()
        else {
            return (Vec::new(), Advance::RoundDone, 0);
        };
        let mut path = format!(
            "search?query={}&sort={}&start={}&numItems={}",
            url::form_urlencoded::byte_serialize(query.as_bytes()).collect::<String>(),
            self.config.search.sort,
            progress.start,
            self.config.search.num_items
        );
        if !self.config.search.category_id.is_empty() {
            path.push_str("&categoryId=");
            path.extend(url::form_urlencoded::byte_serialize(
                self.config.search.category_id.as_bytes(),
            ));
        }
        let url = self.url(&path);
        let fetched = self.fetcher.get("search", &url, &[]).await;
        let origin = Origin {
            source: NAME,
            endpoint: "search",
            url: &fetched.url,
            slot,
        };
        let mut records = origin.discarded(&fetched.discarded);
        let mut next_query = false;
        let advance = match fetched.outcome {
            Outcome::Json { status, body, at } => {
                let items = body
                    .get("items")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                let context = context_of(&body, &["query", "totalResults", "start"]);
                records.extend(origin.items(status, at, &items, context));
                let total = body
                    .get("totalResults")
                    .and_then(Value::as_u64)
                    .unwrap_or(0) as u32;
                let next_start = progress.start + items.len() as u32;
                if items.is_empty()
                    || next_start > total.min(self.config.search.max_results).min(1000)
                {
                    next_query = true;
                } else {
                    self.state.search.as_mut().expect("search job").start = next_start;
                }
                Advance::Progress
            }
            Outcome::Rejected { status, body, at } => {
                records.push(origin.dead(
                    &format!("http_{status}"),
                    "the service rejected the request",
                    Some(status),
                    at,
                    body,
                    999,
                ));
                next_query = true;
                Advance::Progress
            }
            Outcome::Exhausted { last } => Advance::RetryLater(last),
        };
        if next_query {
            let s = self.state.search.as_mut().expect("search job");
            s.query_index += 1;
            s.start = 1;
            if s.query_index >= self.config.search.queries.len() {
                s.query_index = 0;
                return (records, Advance::RoundDone, fetched.attempts);
            }
        }
        (records, advance, fetched.attempts)
    }

    async fn catalog_step(&mut self, slot: DateTime<Utc>) -> (Vec<LakeRecord>, Advance, u32) {
        let progress = self.state.catalog.clone().expect("catalog job");
        if progress.categories.is_empty() {
            // Learn the departments from the taxonomy (and land the taxonomy itself).
            let url = self.url("taxonomy");
            let fetched = self.fetcher.get("taxonomy", &url, &[]).await;
            let origin = Origin {
                source: NAME,
                endpoint: "taxonomy",
                url: &fetched.url,
                slot,
            };
            let mut records = origin.discarded(&fetched.discarded);
            let advance = match fetched.outcome {
                Outcome::Json { status, body, at } => {
                    let ids: Vec<String> = body["categories"]
                        .as_array()
                        .map(|c| {
                            c.iter()
                                .filter_map(|c| c["id"].as_str().map(str::to_string))
                                .collect()
                        })
                        .unwrap_or_default();
                    records.push(origin.whole(status, at, body));
                    if ids.is_empty() {
                        Advance::RetryLater("taxonomy lists no categories".into())
                    } else {
                        self.state.catalog.as_mut().expect("catalog job").categories = ids;
                        Advance::Progress
                    }
                }
                Outcome::Rejected { status, body, at } => {
                    records.push(origin.dead(
                        &format!("http_{status}"),
                        "taxonomy rejected",
                        Some(status),
                        at,
                        body.clone(),
                        999,
                    ));
                    if status == 401 || status == 403 {
                        Advance::Stop(format!("HTTP {status}: {}", first_error_message(&body)))
                    } else {
                        Advance::RetryLater(format!("taxonomy HTTP {status}"))
                    }
                }
                Outcome::Exhausted { last } => Advance::RetryLater(last),
            };
            return (records, advance, fetched.attempts);
        }
        let category = progress.categories[progress.index].clone();
        let path = progress.next_path.clone().unwrap_or_else(|| {
            format!(
                "paginated/items?category={category}&count={}",
                self.config.catalog.count
            )
        });
        let url = self.url(&path);
        let fetched = self.fetcher.get("paginated_items", &url, &[]).await;
        let origin = Origin {
            source: NAME,
            endpoint: "paginated_items",
            url: &fetched.url,
            slot,
        };
        let mut records = origin.discarded(&fetched.discarded);
        let mut category_done = false;
        let advance = match fetched.outcome {
            Outcome::Json { status, body, at } => {
                let items = body
                    .get("items")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                let mut context =
                    context_of(&body, &["nextPage", "totalPages"]).unwrap_or_else(|| json!({}));
                context["category"] = json!(category);
                records.extend(origin.items(status, at, &items, Some(context)));
                match body
                    .get("nextPage")
                    .and_then(Value::as_str)
                    .filter(|p| !p.is_empty())
                {
                    Some(next) => {
                        self.state.catalog.as_mut().expect("catalog job").next_path =
                            Some(next.to_string())
                    }
                    None => category_done = true,
                }
                Advance::Progress
            }
            Outcome::Rejected { status, body, at } => {
                records.push(origin.dead(
                    &format!("http_{status}"),
                    "page rejected; category skipped this round",
                    Some(status),
                    at,
                    body.clone(),
                    999,
                ));
                if status == 401 || status == 403 {
                    return (
                        records,
                        Advance::Stop(format!("HTTP {status}: {}", first_error_message(&body))),
                        fetched.attempts,
                    );
                }
                category_done = true;
                Advance::Progress
            }
            Outcome::Exhausted { last } => Advance::RetryLater(last),
        };
        if category_done {
            let c = self.state.catalog.as_mut().expect("catalog job");
            c.next_path = None;
            c.index += 1;
            if c.index >= c.categories.len() {
                c.index = 0;
                if self.config.catalog.categories.is_empty() {
                    c.categories.clear();
                }
                return (records, Advance::RoundDone, fetched.attempts);
            }
        }
        (records, advance, fetched.attempts)
    }
}

enum ListShape<'a> {
    /// `{"items": [...]}` split into items, with these fields as context.
    Items(&'a [&'a str]),
    /// The body is one item.
    WholeItem,
    /// The body is kept whole.
    Whole,
}

fn context_of(body: &Value, fields: &[&str]) -> Option<Value> {
    let mut context = serde_json::Map::new();
    for field in fields {
        if let Some(v) = body.get(*field) {
            context.insert((*field).to_string(), v.clone());
        }
    }
    (!context.is_empty()).then_some(Value::Object(context))
}

fn first_error_message(body: &str) -> String {
    serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| v["errors"][0]["message"].as_str().map(str::to_string))
        .unwrap_or_else(|| body.chars().take(200).collect())
}

fn initial_state(config: &WalmartConfig, now: DateTime<Utc>) -> WalmartState {
    WalmartState {
        trends: (config.trends_interval_secs > 0).then(|| Slot::new(now)),
        vod: (config.vod_interval_secs > 0).then(|| Slot::new(now)),
        taxonomy: (config.taxonomy_interval_secs > 0).then(|| Slot::new(now)),
        catalog: config.catalog.enabled.then(|| CatalogProgress {
            slot: Slot::new(now),
            categories: config.catalog.categories.clone(),
            index: 0,
            next_path: None,
        }),
        search: (!config.search.queries.is_empty()).then(|| SearchProgress {
            slot: Slot::new(now),
            query_index: 0,
            start: 1,
        }),
        items: (!config.tracked_item_ids.is_empty() || !config.tracked_upcs.is_empty()).then(
            || ItemsProgress {
                slot: Slot::new(now),
                batch: 0,
            },
        ),
    }
}

#[async_trait]
impl Source for WalmartSource {
    fn name(&self) -> &str {
        NAME
    }

    fn next_due(&self) -> DateTime<Utc> {
        if !self.restored {
            return self.created_at;
        }
        let due = self
            .due_jobs()
            .into_iter()
            .map(|(t, _)| t)
            .min()
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
        match self.fetcher.quota_exhausted_until() {
            Some(until) => due.max(until),
            None => due,
        }
    }

    async fn poll(&mut self, sink: &dyn RecordSink) -> Result<PollReport, SourceError> {
        if !self.restored {
            if let Some(saved) = self.checkpoints.load(NAME).await? {
                match serde_json::from_value::<WalmartState>(saved) {
                    Ok(state) => {
                        self.state = merge_with_config(state, &self.config, self.clock.now())
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "walmart checkpoint unreadable; starting fresh schedules")
                    }
                }
            }
            self.restored = true;
        }
        if matches!(self.health, SourceHealth::Stopped { .. }) {
            return Ok(PollReport::default());
        }
        let now = self.clock.now();
        let Some((_, job)) = self
            .due_jobs()
            .into_iter()
            .filter(|(t, _)| *t <= now)
            .min_by_key(|(t, _)| *t)
        else {
            return Ok(PollReport::default());
        };
        let before = self.state.clone();
        let (records, advance, requests) = self.step(job).await;
        let (raw, dead) = count(&records);
        if !records.is_empty() {
            if let Err(e) = sink.accept(records).await {
                // Not durable: forget the progress so the same request is made again.
                self.state = before;
                let slot = self.slot_mut(job);
                slot.not_before = Some(now + Duration::seconds(5));
                return Err(e.into());
            }
        }
        let now = self.clock.now();
        let interval = self.interval(job);
        match advance {
            Advance::RoundDone => {
                self.slot_mut(job).advance(interval, now);
                self.failures = 0;
                self.health = SourceHealth::Healthy;
            }
            Advance::Progress => {
                self.failures = 0;
                self.health = SourceHealth::Healthy;
            }
            Advance::RetryLater(reason) => {
                self.failures += 1;
                let wait = Duration::seconds(60 * i64::from(self.failures.min(30)));
                self.slot_mut(job).not_before = Some(now + wait);
                if self.failures >= self.config.unhealthy_after_failures {
                    self.health = SourceHealth::Unhealthy {
                        reason: reason.clone(),
                        consecutive_failures: self.failures,
                    };
                }
                tracing::warn!(source = NAME, ?job, %reason, "request failed after retries; will try again");
            }
            Advance::Stop(reason) => {
                tracing::error!(source = NAME, %reason, "credentials refused: walmart source stopped");
                self.health = SourceHealth::Stopped { reason };
            }
        }
        self.checkpoints
            .save(
                NAME,
                &serde_json::to_value(&self.state)
                    .map_err(|source| SourceError::EncodeCheckpoint { key: NAME, source })?,
            )
            .await?;
        self.metrics.add(
            pricelake_core::metrics::names::RECORDS_RECEIVED,
            &[("component", "source_walmart")],
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

/// A restored checkpoint keeps its progress for jobs still configured and starts new ones now.
fn merge_with_config(
    saved: WalmartState,
    config: &WalmartConfig,
    now: DateTime<Utc>,
) -> WalmartState {
    let fresh = initial_state(config, now);
    fn keep<T>(fresh: Option<T>, saved: Option<T>) -> Option<T> {
        fresh.map(|f| saved.unwrap_or(f))
    }
    WalmartState {
        trends: keep(fresh.trends, saved.trends),
        vod: keep(fresh.vod, saved.vod),
        taxonomy: keep(fresh.taxonomy, saved.taxonomy),
        catalog: keep(fresh.catalog, saved.catalog),
        search: keep(fresh.search, saved.search),
        items: keep(fresh.items, saved.items),
    }
}
