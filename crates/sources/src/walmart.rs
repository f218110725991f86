//! The Walmart product API source, Open API v1 (`apiKey`) or Affiliate API v2 (signed
//! headers): trends, value of the day, taxonomy, the paginated catalog (followed through
//! `nextPage` to the end), searches (paged through `start`) and tracked items (20 ids per
//! request, or one UPC), each on its own schedule. Its steps only: the
//! [`Driver`](crate::driver::Driver) runs them.

mod pages;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use pricelake_core::{LakeRecord, Metrics, SharedClock};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::config::WalmartConfig;
use crate::driver::{PollSource, Step, Stepped};
use crate::envelopes::Origin;
use crate::http::{Fetched, Fetcher, Outcome};
use crate::schedule::Slot;
use crate::{SourceError, WalmartAuth};

use pages::{Catalog, Position, Search};

const NAME: &str = "walmart";

/// How far the current catalog walk has got.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct CatalogProgress {
    slot: Slot,
    /// Category ids of this walk (from config or taxonomy); empty until known.
    categories: Vec<String>,
    index: usize,
    /// The next page's path, when inside a category.
    next_path: Option<String>,
}

/// How far the current search round has got.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct SearchProgress {
    slot: Slot,
    query_index: usize,
    start: u32,
}

/// How far the tracked-items round has got.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct ItemsProgress {
    slot: Slot,
    batch: usize,
}

/// The checkpoint: every job's slot and progress.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct WalmartCheckpoint {
    trends: Option<Slot>,
    vod: Option<Slot>,
    taxonomy: Option<Slot>,
    catalog: Option<CatalogProgress>,
    search: Option<SearchProgress>,
    items: Option<ItemsProgress>,
}

/// One of the source's recurring jobs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Job {
    Trends,
    Vod,
    Taxonomy,
    Catalog,
    Search,
    Items,
}

/// The Walmart source's steps.
pub(crate) struct WalmartSource {
    config: WalmartConfig,
    api: Api,
}

/// Requests to the configured generation of the API: its URLs, its credentials, its pace.
struct Api {
    prefix: &'static str,
    base_url: String,
    auth: WalmartAuth,
    fetcher: Fetcher,
}

impl Api {
    /// The full URL of `resource`: a path below the generation's prefix (`trends`), or an
    /// absolute path the service handed back (`nextPage`). v1 adds its `apiKey`; v2 signs
    /// headers instead.
    fn url(&self, resource: &str) -> String {
        let path = if resource.starts_with('/') {
            resource.to_string()
        } else {
            format!("{}{resource}", self.prefix)
        };
        let base = &self.base_url;
        match &self.auth {
            WalmartAuth::ApiKey(key) => {
                let sep = if path.contains('?') { '&' } else { '?' };
                format!("{base}{path}{sep}apiKey={}", key.expose())
            }
            WalmartAuth::Signed(_) => format!("{base}{path}"),
        }
    }

    /// GETs `resource`, counted under `endpoint`.
    async fn get(&mut self, endpoint: &str, resource: &str) -> Fetched {
        let url = self.url(resource);
        self.fetcher.get(endpoint, &url, &[]).await
    }
}

impl WalmartSource {
    /// A source for `config`, its requests proved by `auth`.
    pub(crate) fn new(
        config: WalmartConfig,
        auth: WalmartAuth,
        clock: SharedClock,
        metrics: Metrics,
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
            clock,
            metrics,
            config.timeout_secs,
            config.retry.clone(),
            config.rate_limit_per_sec,
            Some(config.daily_quota),
        )?;
        if let WalmartAuth::Signed(signer) = &auth {
            fetcher = fetcher.with_signer((**signer).clone());
        }
        let api = Api {
            prefix: config.api.path_prefix(),
            base_url: config.effective_base_url(),
            auth,
            fetcher,
        };
        Ok(Self { config, api })
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

    /// One request of an endpoint whose every round is one request.
    async fn simple(
        &mut self,
        endpoint: &str,
        resource: &str,
        slot: DateTime<Utc>,
        shape: ListShape<'_>,
    ) -> Stepped {
        let fetched = self.api.get(endpoint, resource).await;
        let origin = Origin {
            source: NAME,
            endpoint,
            url: &fetched.url,
            slot,
        };
        let mut records = origin.discarded(&fetched.discarded);
        let step = match fetched.outcome {
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
                Step::RoundDone
            }
            Outcome::Rejected { status, body, at } => {
                records.push(origin.rejected(status, at, body.clone()));
                refused(status, &body).map_or(Step::RoundDone, Step::Stop)
            }
            Outcome::Exhausted { last } => Step::retry(last),
        };
        Stepped {
            records,
            step,
            requests: fetched.attempts,
        }
    }

    /// The tracked items: one batch of ids, or one UPC, per step.
    async fn items_step(&mut self, progress: &mut ItemsProgress) -> Stepped {
        let batches = self.item_requests();
        let Some(request) = batches.get(progress.batch) else {
            progress.batch = 0;
            return Stepped {
                records: Vec::new(),
                step: Step::RoundDone,
                requests: 0,
            };
        };
        let mut stepped = self
            .simple("items", request, progress.slot.slot, ListShape::Items(&[]))
            .await;
        if stepped.step == Step::RoundDone {
            if progress.batch + 1 < batches.len() {
                progress.batch += 1;
                stepped.step = Step::Progress;
            } else {
                progress.batch = 0;
            }
        }
        stepped
    }

    /// The catalog: its departments from the taxonomy first unless configured, then a page.
    async fn catalog_step(&mut self, progress: &mut CatalogProgress) -> Stepped {
        let slot = progress.slot.slot;
        if progress.categories.is_empty() {
            return self.learn_categories(progress).await;
        }
        let mut at = Position {
            key: progress.index,
            cursor: progress.next_path.clone(),
        };
        let listing = Catalog {
            count: self.config.catalog.count,
        };
        let stepped =
            pages::page(&listing, &mut self.api, &progress.categories, &mut at, slot).await;
        progress.index = at.key;
        progress.next_path = at.cursor;
        if stepped.step == Step::RoundDone && self.config.catalog.categories.is_empty() {
            // Departments come and go: the next walk asks the taxonomy again.
            progress.categories.clear();
        }
        stepped
    }

    /// Learns the departments from the taxonomy (and lands the taxonomy itself).
    async fn learn_categories(&mut self, progress: &mut CatalogProgress) -> Stepped {
        let fetched = self.api.get("taxonomy", "taxonomy").await;
        let origin = Origin {
            source: NAME,
            endpoint: "taxonomy",
            url: &fetched.url,
            slot: progress.slot.slot,
        };
        let mut records = origin.discarded(&fetched.discarded);
        let step = match fetched.outcome {
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
                    Step::retry("taxonomy lists no categories")
                } else {
                    progress.categories = ids;
                    Step::Progress
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
                refused(status, &body).map_or_else(
                    || Step::retry(format!("taxonomy HTTP {status}")),
                    Step::Stop,
                )
            }
            Outcome::Exhausted { last } => Step::retry(last),
        };
        Stepped {
            records,
            step,
            requests: fetched.attempts,
        }
    }
}

#[async_trait]
impl PollSource for WalmartSource {
    type Checkpoint = WalmartCheckpoint;
    type Job = Job;

    fn name(&self) -> &'static str {
        NAME
    }

    fn unhealthy_after_failures(&self) -> u32 {
        self.config.unhealthy_after_failures
    }

    fn fresh(&self, now: DateTime<Utc>) -> WalmartCheckpoint {
        let config = &self.config;
        WalmartCheckpoint {
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

    fn reconcile(&self, saved: WalmartCheckpoint, fresh: WalmartCheckpoint) -> WalmartCheckpoint {
        fn keep<T>(fresh: Option<T>, saved: Option<T>) -> Option<T> {
            fresh.map(|f| saved.unwrap_or(f))
        }
        WalmartCheckpoint {
            trends: keep(fresh.trends, saved.trends),
            vod: keep(fresh.vod, saved.vod),
            taxonomy: keep(fresh.taxonomy, saved.taxonomy),
            catalog: keep(fresh.catalog, saved.catalog),
            search: keep(fresh.search, saved.search),
            items: keep(fresh.items, saved.items),
        }
    }

    fn jobs<'a>(&self, c: &'a WalmartCheckpoint) -> Vec<(Job, &'a Slot)> {
        [
            (Job::Taxonomy, c.taxonomy.as_ref()),
            (Job::Trends, c.trends.as_ref()),
            (Job::Vod, c.vod.as_ref()),
            (Job::Catalog, c.catalog.as_ref().map(|p| &p.slot)),
            (Job::Search, c.search.as_ref().map(|p| &p.slot)),
            (Job::Items, c.items.as_ref().map(|p| &p.slot)),
        ]
        .into_iter()
        .filter_map(|(job, slot)| Some((job, slot?)))
        .collect()
    }

    fn slot_mut<'a>(&self, c: &'a mut WalmartCheckpoint, job: Job) -> &'a mut Slot {
        match job {
            Job::Trends => c.trends.as_mut(),
            Job::Vod => c.vod.as_mut(),
            Job::Taxonomy => c.taxonomy.as_mut(),
            Job::Catalog => c.catalog.as_mut().map(|p| &mut p.slot),
            Job::Search => c.search.as_mut().map(|p| &mut p.slot),
            Job::Items => c.items.as_mut().map(|p| &mut p.slot),
        }
        .expect("a scheduled job has a slot")
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

    fn paused_until(&self) -> Option<DateTime<Utc>> {
        self.api.fetcher.quota_exhausted_until()
    }

    async fn step(&mut self, c: &mut WalmartCheckpoint, job: Job) -> Stepped {
        let slot = self.slot_mut(c, job).slot;
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
                let progress = c.items.as_mut().expect("a scheduled items job");
                self.items_step(progress).await
            }
            Job::Search => {
                let progress = c.search.as_mut().expect("a scheduled search job");
                let mut at = Position {
                    key: progress.query_index,
                    cursor: progress.start,
                };
                let listing = Search(&self.config.search);
                let stepped = pages::page(
                    &listing,
                    &mut self.api,
                    &self.config.search.queries,
                    &mut at,
                    slot,
                )
                .await;
                progress.query_index = at.key;
                progress.start = at.cursor;
                stepped
            }
            Job::Catalog => {
                let progress = c.catalog.as_mut().expect("a scheduled catalog job");
                self.catalog_step(progress).await
            }
        }
    }
}

/// How a one-request endpoint's body becomes records.
enum ListShape<'a> {
    /// `{"items": [...]}` split into items, with these fields as context.
    Items(&'a [&'a str]),
    /// The body is one item.
    WholeItem,
    /// The body is kept whole.
    Whole,
}

/// The `fields` of a response kept beside each of its items; `None` when it has none.
fn context_of(body: &Value, fields: &[&str]) -> Option<Value> {
    let mut context = serde_json::Map::new();
    for field in fields {
        if let Some(v) = body.get(*field) {
            context.insert((*field).to_string(), v.clone());
        }
    }
    (!context.is_empty()).then_some(Value::Object(context))
}

/// The reason to stop when a rejection means the credentials were refused (401, 403).
fn refused(status: u16, body: &str) -> Option<String> {
    (status == 401 || status == 403)
        .then(|| format!("HTTP {status}: {}", first_error_message(body)))
}

fn first_error_message(body: &str) -> String {
    serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| v["errors"][0]["message"].as_str().map(str::to_string))
        .unwrap_or_else(|| body.chars().take(200).collect())
}
