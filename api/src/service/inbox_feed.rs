//! The live inbox feed behind the `inboxUpdates` subscription.
//!
//! One poller per instance reads new notices from the database (whoever wrote them, on any
//! instance) and fans them out to this instance's subscribers; it reads nothing while nobody
//! listens. The database stays the only source: no message bus to run or lose.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::stream;
use futures_util::{Stream, StreamExt};
use sea_orm::DatabaseConnection;
use tokio::sync::{Mutex, broadcast};

use crate::domain::feed::FeedCursor;
use crate::domain::ids::MemberId;
use crate::domain::notification::InboxNotice;
use crate::error::AppError;
use crate::store;

/// Notices read per poll.
const BATCH: u64 = 1000;
/// How long a hole in the ids may be waited for (an insert not committed yet) before it is
/// taken for a rolled-back one.
const HOLE_GRACE: Duration = Duration::from_secs(5);
/// Older notices a subscription replays at most (the rest are in `inbox`).
const REPLAY_LIMIT: u64 = 100;
/// Notices a slow subscriber may fall behind by before it misses some.
const BUFFER: usize = 1024;

type Event = Arc<(MemberId, InboxNotice)>;

pub struct InboxFeed {
    db: DatabaseConnection,
    sender: broadcast::Sender<Event>,
    /// `None` while nobody listens.
    cursor: Mutex<Option<FeedCursor>>,
}

impl InboxFeed {
    pub fn new(db: DatabaseConnection) -> Self {
        let (sender, _) = broadcast::channel(BUFFER);
        Self {
            db,
            sender,
            cursor: Mutex::new(None),
        }
    }

    /// The member's notices from now on, as they are read; with `after`, first those after
    /// that id the member has not seen (up to `REPLAY_LIMIT`), so a client that reconnects
    /// loses nothing. Each notice comes once.
    ///
    /// # Errors
    /// `INTERNAL` on database failure.
    pub async fn subscribe(
        &self,
        member: MemberId,
        after: Option<i64>,
    ) -> Result<impl Stream<Item = InboxNotice> + use<>, AppError> {
        let receiver = {
            let mut cursor = self.cursor.lock().await;
            if cursor.is_none() {
                *cursor = Some(FeedCursor::new(
                    store::notifications::last_id(&self.db).await?,
                ));
            }
            // Under the lock: the poller cannot go idle between the cursor and the receiver.
            self.sender.subscribe()
        };
        // Read after subscribing: whatever the poller hands out from here on reaches the
        // receiver, and whatever it handed out before is committed and found here.
        let backlog = match after {
            Some(after) => store::notifications::after(&self.db, Some(member), after, REPLAY_LIMIT)
                .await?
                .into_iter()
                .map(|(_, notice)| notice)
                .collect(),
            None => Vec::new(),
        };
        let replayed_up_to = backlog.last().map_or(after.unwrap_or(0), |n| n.id);
        let live = stream::unfold(receiver, move |mut receiver| async move {
            loop {
                match receiver.recv().await {
                    Ok(event) if event.0 == member && event.1.id > replayed_up_to => {
                        return Some((event.1.clone(), receiver));
                    }
                    Ok(_) => {}
                    Err(broadcast::error::RecvError::Lagged(missed)) => {
                        tracing::warn!(missed, member.id = %member, "inbox subscriber fell behind");
                    }
                    Err(broadcast::error::RecvError::Closed) => return None,
                }
            }
        });
        Ok(stream::iter(backlog).chain(live))
    }

    /// Reads new notices and hands them to the subscribers; forgets the cursor when nobody
    /// listens. Returns how many were handed out.
    ///
    /// # Errors
    /// `INTERNAL` on database failure.
    pub async fn poll(&self) -> Result<usize, AppError> {
        let mut guard = self.cursor.lock().await;
        if self.sender.receiver_count() == 0 {
            *guard = None;
            return Ok(0);
        }
        let Some(cursor) = guard.as_mut() else {
            return Ok(0);
        };
        let rows = store::notifications::after(&self.db, None, cursor.read_after(), BATCH).await?;
        let ids: Vec<i64> = rows.iter().map(|(_, notice)| notice.id).collect();
        let fresh = cursor.take(&ids, Instant::now(), HOLE_GRACE);
        let mut sent = 0_usize;
        for row in rows {
            // `fresh` keeps the ascending order of the read.
            if fresh.binary_search(&row.1.id).is_ok() {
                // An error only means every subscriber left since the check.
                if self.sender.send(Arc::new(row)).is_ok() {
                    sent = sent.saturating_add(1);
                }
            }
        }
        Ok(sent)
    }

    /// Polls every `interval` until the process ends.
    pub async fn run(self: Arc<Self>, interval: Duration) {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            if let Err(error) = self.poll().await {
                tracing::warn!(%error, "inbox feed not read");
            }
        }
    }
}
