//! Slots: when each job of a source is next due, and how far a multi-request job has got.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// One recurring job's place in time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Slot {
    /// The scheduled instant of the current round (part of its records' ids).
    pub slot: DateTime<Utc>,
    /// Not before this instant (backoff after a failure or a quota error).
    #[serde(default)]
    pub not_before: Option<DateTime<Utc>>,
}

impl Slot {
    pub fn new(start: DateTime<Utc>) -> Self {
        Self {
            slot: start,
            not_before: None,
        }
    }

    pub fn due(&self) -> DateTime<Utc> {
        match self.not_before {
            Some(t) if t > self.slot => t,
            _ => self.slot,
        }
    }

    /// The round is done: the next one is one interval later, or now if far behind
    /// (after downtime we poll once, not once per missed interval).
    pub fn advance(&mut self, interval: Duration, now: DateTime<Utc>) {
        let next = self.slot + interval;
        self.slot = if next + interval < now { now } else { next };
        self.not_before = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_advance_by_interval_and_catch_up_after_downtime() {
        let t0: DateTime<Utc> = "2026-01-01T00:00:00Z".parse().unwrap();
        let mut s = Slot::new(t0);
        s.advance(Duration::hours(1), t0);
        assert_eq!(s.slot, t0 + Duration::hours(1));
        s.not_before = Some(t0 + Duration::hours(2));
        assert_eq!(s.due(), t0 + Duration::hours(2));
        s.advance(Duration::hours(1), t0 + Duration::hours(10));
        assert_eq!(s.slot, t0 + Duration::hours(10));
        assert!(s.not_before.is_none());
    }
}
