//! Subscribe messages (订阅消息): what each member allows (SPEC §17). Sending them goes through
//! the outbox, which is not built yet; this records and shows the consents.

use std::sync::Arc;

use sea_orm::DatabaseConnection;

use crate::domain::ids::MemberId;
use crate::domain::subscribe_message::{self, MAX_REPORTED};
use crate::error::AppError;
use crate::infra::clock::Clock;
use crate::store;

/// A template the member allows messages of, and how many are left.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consent {
    pub template_id: String,
    pub remaining: i32,
}

pub struct MessageService {
    db: DatabaseConnection,
    clock: Arc<Clock>,
}

impl MessageService {
    pub fn new(db: DatabaseConnection, clock: Arc<Clock>) -> Self {
        Self { db, clock }
    }

    /// Records what the member answered in `wx.requestSubscribeMessage`: each accepted
    /// template allows one more message; a declined one changes nothing (what the member
    /// allowed before stays). One transaction. Returns the consents after.
    ///
    /// # Errors
    /// `VALIDATION` on `input` (none, or more than 20) or `templateId`.
    pub async fn record(
        &self,
        member: MemberId,
        answers: &[(String, bool)],
    ) -> Result<Vec<Consent>, AppError> {
        if answers.is_empty() || answers.len() > MAX_REPORTED {
            return Err(AppError::validation(
                "input",
                format!("report 1 to {MAX_REPORTED} templates"),
            ));
        }
        let mut accepted = Vec::new();
        for (template_id, yes) in answers {
            let template_id = subscribe_message::check_template_id(template_id)?;
            if *yes {
                accepted.push(template_id);
            }
        }
        let now = self.clock.now();
        let txn = store::begin(&self.db).await?;
        for template_id in accepted {
            store::message_consents::add_one(&txn, member, template_id, now).await?;
        }
        txn.commit().await?;
        self.consents(member).await
    }

    /// The templates the member allows messages of, with how many are left.
    ///
    /// # Errors
    /// `INTERNAL` on database failure.
    pub async fn consents(&self, member: MemberId) -> Result<Vec<Consent>, AppError> {
        Ok(store::message_consents::remaining(&self.db, member)
            .await?
            .into_iter()
            .map(|(template_id, remaining)| Consent {
                template_id,
                remaining,
            })
            .collect())
    }
}
