//! The member inbox: notices newest first, the unread count, marking read.

use std::sync::Arc;

use sea_orm::DatabaseConnection;

use crate::domain::ids::{MemberId, NotificationId};
use crate::domain::notification::InboxNotice;
use crate::domain::paging::PageSize;
use crate::error::AppError;
use crate::infra::clock::Clock;
use crate::store;

pub struct InboxService {
    db: DatabaseConnection,
    clock: Arc<Clock>,
}

impl InboxService {
    pub fn new(db: DatabaseConnection, clock: Arc<Clock>) -> Self {
        Self { db, clock }
    }

    /// Notices newest first, a page at a time, older than the `after` cursor.
    ///
    /// # Errors
    /// `INTERNAL` on database failure.
    pub async fn page(
        &self,
        member: MemberId,
        first: PageSize,
        after: Option<i64>,
        unread_only: bool,
    ) -> Result<(Vec<InboxNotice>, bool), AppError> {
        let rows =
            store::notifications::page(&self.db, member, unread_only, after, first.fetch_limit())
                .await?;
        Ok(first.finish(rows))
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
        ids: Option<Vec<NotificationId>>,
    ) -> Result<u64, AppError> {
        if ids.as_ref().is_some_and(|ids| ids.len() > 100) {
            return Err(AppError::validation("ids", "at most 100 at a time"));
        }
        let ids: Option<Vec<i64>> =
            ids.map(|ids| ids.into_iter().map(NotificationId::get).collect());
        store::notifications::mark_read(&self.db, member, ids.as_deref(), self.clock.now()).await?;
        self.unread_count(member).await
    }
}
