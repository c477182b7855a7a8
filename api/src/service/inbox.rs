//! The member inbox: notices newest first, the unread count, marking read.

use std::sync::Arc;

use sea_orm::DatabaseConnection;

use crate::domain::ids::MemberId;
use crate::domain::notification::InboxNotice;
use crate::error::AppError;
use crate::infra::clock::Clock;
use crate::store;

/// One page of the inbox.
#[derive(Debug, Clone)]
pub struct InboxPage {
    pub notices: Vec<InboxNotice>,
    pub has_next_page: bool,
}

pub struct InboxService {
    db: DatabaseConnection,
    clock: Arc<Clock>,
}

impl InboxService {
    pub fn new(db: DatabaseConnection, clock: Arc<Clock>) -> Self {
        Self { db, clock }
    }

    /// Notices newest first, `first` at a time, older than the `after` cursor.
    ///
    /// # Errors
    /// `VALIDATION` for `first` outside 1..=100.
    pub async fn page(
        &self,
        member: MemberId,
        first: usize,
        after: Option<i64>,
        unread_only: bool,
    ) -> Result<InboxPage, AppError> {
        if !(1..=100).contains(&first) {
            return Err(AppError::validation("first", "must be 1 to 100"));
        }
        let limit = u64::try_from(first).unwrap_or(100).saturating_add(1);
        let mut notices =
            store::notifications::page(&self.db, member, unread_only, after, limit).await?;
        let has_next_page = notices.len() > first;
        notices.truncate(first);
        Ok(InboxPage {
            notices,
            has_next_page,
        })
    }

    /// # Errors
    /// `INTERNAL` on database failure.
    pub async fn unread_count(&self, member: MemberId) -> Result<u64, AppError> {
        Ok(store::notifications::unread_count(&self.db, member).await?)
    }

    /// Marks the member's notices `ids` read (all of them when `None`); another member's ids are
    /// ignored. Returns the unread count after.
    ///
    /// # Errors
    /// `VALIDATION` for more than 100 ids.
    pub async fn mark_read(
        &self,
        member: MemberId,
        ids: Option<Vec<i64>>,
    ) -> Result<u64, AppError> {
        if ids.as_ref().is_some_and(|ids| ids.len() > 100) {
            return Err(AppError::validation("ids", "at most 100 at a time"));
        }
        store::notifications::mark_read(&self.db, member, ids.as_deref(), self.clock.now()).await?;
        self.unread_count(member).await
    }
}
