//! Which rows a live feed has delivered, when it reads a table by ascending id.
//!
//! Ids are handed out when a row is inserted but become visible when its transaction commits,
//! so on PostgreSQL a lower id can appear after a higher one, and a rolled-back insert leaves a
//! hole forever. The cursor therefore settles ids only up to the first hole, delivers each row
//! above it once, and gives a hole up after a grace period.
#![deny(clippy::arithmetic_side_effects)]

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct FeedCursor {
    /// Every id up to this one is delivered or given up.
    settled: i64,
    /// Ids above `settled` already delivered.
    delivered: BTreeSet<i64>,
    /// The hole right above `settled`, and when it was first seen.
    hole_since: Option<(i64, Instant)>,
}

impl FeedCursor {
    /// A cursor that delivers rows with ids above `last_id`.
    pub fn new(last_id: i64) -> Self {
        Self {
            settled: last_id,
            delivered: BTreeSet::new(),
            hole_since: None,
        }
    }

    /// Read rows with ids above this one.
    pub fn read_after(&self) -> i64 {
        self.settled
    }

    /// Takes the ids read above `read_after()` and returns those to deliver now (each once).
    pub fn take(&mut self, ids: &[i64], now: Instant, grace: Duration) -> Vec<i64> {
        let fresh: Vec<i64> = ids
            .iter()
            .copied()
            .filter(|id| *id > self.settled && self.delivered.insert(*id))
            .collect();
        self.settle(now, grace);
        fresh
    }

    fn settle(&mut self, now: Instant, grace: Duration) {
        loop {
            let Some(next) = self.settled.checked_add(1) else {
                return;
            };
            if self.delivered.remove(&next) {
                self.settled = next;
                self.hole_since = None;
                continue;
            }
            // `next` is missing. Only a hole below a delivered id matters.
            let Some(&above) = self.delivered.first() else {
                self.hole_since = None;
                return;
            };
            match self.hole_since {
                Some((hole, since)) if hole == next => {
                    if now.saturating_duration_since(since) < grace {
                        return;
                    }
                    // Given up: a rolled-back insert. Skip the whole hole.
                    self.settled = above.saturating_sub(1);
                    self.hole_since = None;
                }
                _ => {
                    self.hole_since = Some((next, now));
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GRACE: Duration = Duration::from_secs(5);

    #[test]
    fn rows_in_order_are_delivered_once_and_settled() {
        let now = Instant::now();
        let mut cursor = FeedCursor::new(10);
        assert_eq!(cursor.take(&[11, 12], now, GRACE), vec![11, 12]);
        assert_eq!(cursor.read_after(), 12);
        assert_eq!(cursor.take(&[13], now, GRACE), vec![13]);
        assert_eq!(cursor.take(&[], now, GRACE), Vec::<i64>::new());
        assert_eq!(cursor.read_after(), 13);
    }

    #[test]
    fn a_late_commit_below_a_delivered_row_is_still_delivered() {
        let now = Instant::now();
        let mut cursor = FeedCursor::new(10);
        // 11 is not committed yet; 12 is.
        assert_eq!(cursor.take(&[12], now, GRACE), vec![12]);
        assert_eq!(cursor.read_after(), 10);
        // 12 comes back with 11: only 11 is new.
        assert_eq!(cursor.take(&[11, 12], now, GRACE), vec![11]);
        assert_eq!(cursor.read_after(), 12);
    }

    #[test]
    fn a_hole_is_given_up_after_the_grace_period() {
        let start = Instant::now();
        let mut cursor = FeedCursor::new(10);
        assert_eq!(cursor.take(&[13, 14], start, GRACE), vec![13, 14]);
        assert_eq!(cursor.read_after(), 10);
        let later = start.checked_add(Duration::from_secs(1)).unwrap_or(start);
        assert!(cursor.take(&[13, 14], later, GRACE).is_empty());
        assert_eq!(cursor.read_after(), 10);
        let after_grace = start.checked_add(GRACE).unwrap_or(start);
        assert!(cursor.take(&[13, 14], after_grace, GRACE).is_empty());
        assert_eq!(cursor.read_after(), 14);
    }
}
