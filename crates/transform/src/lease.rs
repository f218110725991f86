//! One process run at a time per lake: a lease, `_state/process-lease.json`, taken with a
//! write that succeeds only if no lease is there (S3's conditional PUT, a no-replace link on a
//! local folder), renewed while the run lasts, removed when it ends.
//!
//! A run prepares by removing what runs that never committed left (a crash), which would be
//! the files of a run under way in another process; and two runs that read the same previous
//! state would consume the same raw objects. Delta's commits are safe without a lock, but a
//! run is more than one commit. So a second `process` waits for the lease; a lease whose
//! holder stopped renewing it (killed, its machine gone), or whose process on this machine is
//! gone, is taken over.

use std::time::Duration;

use chrono::{DateTime, Utc};
use pricelake_core::layout;
use pricelake_lake::Lake;
use serde::{Deserialize, Serialize};

use crate::error::TransformError;

/// How often a holder renews its lease.
const RENEW_EVERY: Duration = Duration::from_secs(15);

/// A lease not renewed for this long is abandoned.
const ABANDONED_AFTER: chrono::Duration = chrono::Duration::seconds(90);

/// How often a waiting run looks at the lease again.
const POLL_EVERY: Duration = Duration::from_millis(500);

/// Where the lease is.
fn lease_path() -> String {
    layout::state("process-lease")
}

/// Who holds the lease, since when, and when it last said it was alive.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Holder {
    /// Unique per taking: a holder removes only its own lease.
    token: String,
    host: String,
    pid: u32,
    since: DateTime<Utc>,
    renewed_at: DateTime<Utc>,
}

impl Holder {
    fn new() -> Holder {
        let now = Utc::now();
        Holder {
            token: uuid::Uuid::new_v4().to_string(),
            host: host_name(),
            pid: std::process::id(),
            since: now,
            renewed_at: now,
        }
    }

    /// Abandoned: not renewed for [`ABANDONED_AFTER`], or held by a process of this machine
    /// that is gone (killed: no need to wait out the lease).
    fn abandoned(&self) -> bool {
        if Utc::now() - self.renewed_at > ABANDONED_AFTER {
            return true;
        }
        self.host == host_name()
            && std::path::Path::new("/proc/self").exists()
            && !std::path::Path::new(&format!("/proc/{}", self.pid)).exists()
    }

    fn bytes(&self) -> bytes::Bytes {
        bytes::Bytes::from(serde_json::to_vec(self).unwrap_or_default())
    }
}

/// This machine's name, as the lease names its holder.
fn host_name() -> String {
    std::fs::read_to_string("/etc/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown".to_string())
}

/// The lease, held: renewed in the background until [`Lease::release`].
pub(crate) struct Lease {
    lake: Lake,
    holder: Holder,
    renewer: tokio::task::JoinHandle<()>,
}

/// Takes the lease, waiting up to `wait` while another run holds it.
pub(crate) async fn acquire(lake: &Lake, wait: Duration) -> Result<Lease, TransformError> {
    let started = std::time::Instant::now();
    let mut said = false;
    loop {
        let holder = Holder::new();
        if lake.put_if_absent(&lease_path(), holder.bytes()).await? {
            let renewer = tokio::spawn(renew(lake.clone(), holder.clone()));
            return Ok(Lease {
                lake: lake.clone(),
                holder,
                renewer,
            });
        }
        match lake.get_json::<Holder>(&lease_path()).await {
            // Released between the two calls: try again at once.
            Ok(None) => continue,
            Ok(Some(other)) if other.abandoned() => {
                tracing::warn!(
                    host = other.host,
                    pid = other.pid,
                    since = %other.since,
                    "taking over the process lease of a run that stopped without releasing it"
                );
                remove_if_held_by(lake, &other.token).await?;
                continue;
            }
            Ok(Some(other)) => {
                if started.elapsed() >= wait {
                    return Err(TransformError::Busy {
                        holder: format!(
                            "process {} on {} since {}",
                            other.pid, other.host, other.since
                        ),
                        waited_secs: wait.as_secs(),
                    });
                }
                if !said {
                    tracing::info!(
                        host = other.host,
                        pid = other.pid,
                        since = %other.since,
                        "another process run holds the lake; waiting for it to end"
                    );
                    said = true;
                }
            }
            // Unreadable (a torn write by hand): wait for its holder to rewrite it, then
            // for it to be abandoned.
            Err(error) => {
                tracing::warn!(%error, "the process lease cannot be read");
                if started.elapsed() >= wait {
                    return Err(error.into());
                }
            }
        }
        tokio::time::sleep(POLL_EVERY).await;
    }
}

/// Renews the lease every [`RENEW_EVERY`] for as long as the run lasts.
async fn renew(lake: Lake, mut holder: Holder) {
    loop {
        tokio::time::sleep(RENEW_EVERY).await;
        holder.renewed_at = Utc::now();
        if let Err(error) = lake.put(&lease_path(), holder.bytes()).await {
            tracing::warn!(%error, "the process lease could not be renewed");
        }
    }
}

/// Removes the lease if the holder `token` names still holds it.
async fn remove_if_held_by(lake: &Lake, token: &str) -> Result<(), TransformError> {
    if let Ok(Some(current)) = lake.get_json::<Holder>(&lease_path()).await {
        if current.token == token {
            lake.delete(&lease_path()).await?;
        }
    }
    Ok(())
}

impl Lease {
    /// Ends the lease: the next run may start.
    pub(crate) async fn release(self) -> Result<(), TransformError> {
        self.renewer.abort();
        remove_if_held_by(&self.lake, &self.holder.token).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn one_run_holds_the_lake_a_second_waits_and_a_dead_holder_is_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::open(&pricelake_lake::LakeConfig {
            url: dir.path().to_string_lossy().into(),
            ..Default::default()
        })
        .unwrap();
        let first = acquire(&lake, Duration::ZERO).await.unwrap();
        let busy = acquire(&lake, Duration::from_millis(600)).await;
        assert!(
            matches!(&busy, Err(TransformError::Busy { holder, .. }) if holder.contains(&std::process::id().to_string())),
            "{:?}",
            busy.err()
        );
        first.release().await.unwrap();
        let second = acquire(&lake, Duration::ZERO).await.unwrap();
        second.renewer.abort();
        // A holder of this machine whose process is gone (killed): taken over at once.
        let mut dead = Holder::new();
        dead.pid = u32::MAX - 1;
        lake.put(&lease_path(), dead.bytes()).await.unwrap();
        let third = acquire(&lake, Duration::ZERO).await.unwrap();
        assert_ne!(third.holder.token, dead.token);
        // A holder elsewhere that stopped renewing: taken over too.
        third.renewer.abort();
        let mut silent = Holder::new();
        silent.host = "elsewhere".into();
        silent.renewed_at = Utc::now() - chrono::Duration::minutes(5);
        lake.put(&lease_path(), silent.bytes()).await.unwrap();
        acquire(&lake, Duration::ZERO)
            .await
            .unwrap()
            .release()
            .await
            .unwrap();
        assert!(lake.get(&lease_path()).await.unwrap().is_none(), "released");
    }
}
