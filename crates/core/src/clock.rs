//! One clock for the whole system.
//!
//! Every component asks this trait for "now" and sleeps through it, so the demo and the
//! tests can replace wall time with a simulated clock and produce weeks of history in
//! seconds, deterministically.

use std::fmt::Debug;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// The source of "now" and of waiting, shared by every component of one process.
#[async_trait]
pub trait Clock: Send + Sync + Debug {
    /// The current instant, in UTC.
    fn now(&self) -> DateTime<Utc>;

    /// Waits until `deadline`; returns at once when it has already passed.
    ///
    /// A simulated clock jumps to the deadline instead of waiting, which is what lets a
    /// single scheduling loop replay a month of polling in seconds.
    async fn sleep_until(&self, deadline: DateTime<Utc>);

    /// Waits for `duration` from now.
    async fn sleep(&self, duration: std::time::Duration) {
        let deadline =
            self.now() + chrono::Duration::from_std(duration).unwrap_or(chrono::Duration::MAX);
        self.sleep_until(deadline).await;
    }

    /// True when time is simulated: callers may then skip real-time pacing such as
    /// rate-limit waits, which would otherwise stall a replay.
    fn is_simulated(&self) -> bool {
        false
    }
}

/// A clock handle that can be cloned into every component.
pub type SharedClock = Arc<dyn Clock>;

/// Wall-clock time, for production runs.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

#[async_trait]
impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }

    async fn sleep_until(&self, deadline: DateTime<Utc>) {
        let remaining = deadline - Utc::now();
        if let Ok(remaining) = remaining.to_std() {
            tokio::time::sleep(remaining).await;
        }
    }
}

/// Simulated time that only moves forward when someone sleeps or advances it.
///
/// Sleeping jumps the clock to the deadline at once (never backwards), so one driver
/// loop decides the pace. Several tasks may read it; only the driver should sleep on it.
#[derive(Debug)]
pub struct SimulatedClock {
    now: Mutex<DateTime<Utc>>,
}

impl SimulatedClock {
    /// A clock that starts at `start`.
    pub fn new(start: DateTime<Utc>) -> Self {
        Self {
            now: Mutex::new(start),
        }
    }

    /// A shared clock that starts at `start`.
    pub fn shared(start: DateTime<Utc>) -> Arc<Self> {
        Arc::new(Self::new(start))
    }

    /// Moves time forward to `instant`; an instant in the past leaves the clock alone.
    pub fn advance_to(&self, instant: DateTime<Utc>) {
        let mut now = self.now.lock().expect("clock lock poisoned");
        if instant > *now {
            *now = instant;
        }
    }

    /// Moves time forward by `duration`.
    pub fn advance(&self, duration: chrono::Duration) {
        let mut now = self.now.lock().expect("clock lock poisoned");
        *now += duration;
    }
}

#[async_trait]
impl Clock for SimulatedClock {
    fn now(&self) -> DateTime<Utc> {
        *self.now.lock().expect("clock lock poisoned")
    }

    async fn sleep_until(&self, deadline: DateTime<Utc>) {
        self.advance_to(deadline);
        // Let other tasks observe the new time before the sleeper goes on.
        tokio::task::yield_now().await;
    }

    fn is_simulated(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[tokio::test]
    async fn simulated_clock_jumps_forward_and_never_back() {
        let start = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let clock = SimulatedClock::new(start);
        clock.sleep(std::time::Duration::from_secs(3600)).await;
        assert_eq!(clock.now(), start + chrono::Duration::hours(1));
        clock.sleep_until(start).await;
        assert_eq!(clock.now(), start + chrono::Duration::hours(1));
        assert!(clock.is_simulated());
    }

    #[tokio::test]
    async fn system_clock_sleep_until_past_returns_at_once() {
        let clock = SystemClock;
        let before = std::time::Instant::now();
        clock
            .sleep_until(Utc::now() - chrono::Duration::hours(1))
            .await;
        assert!(before.elapsed() < std::time::Duration::from_millis(100));
    }
}
