//! The brand's webhooks (SPEC §17): operators register receivers for events; deliveries go
//! through the outbox.

use std::sync::Arc;

use sea_orm::DatabaseConnection;

use crate::domain::ids::WebhookId;
use crate::domain::webhook::{self, Webhook, WebhookEvent};
use crate::error::AppError;
use crate::infra::clock::Clock;
use crate::store;

/// Most webhooks a programme keeps: each event is one outbox row per webhook.
const MAX_WEBHOOKS: usize = 20;

pub struct WebhookService {
    db: DatabaseConnection,
    clock: Arc<Clock>,
    /// Loopback and private addresses allowed (outside production).
    allow_private: bool,
}

impl WebhookService {
    pub fn new(db: DatabaseConnection, clock: Arc<Clock>, allow_private: bool) -> Self {
        Self {
            db,
            clock,
            allow_private,
        }
    }

    /// Registers a receiver; events from the next change on are sent to it.
    ///
    /// # Errors
    /// `VALIDATION` on `url`, `secret` or `events` (none, or more than 20 webhooks).
    pub async fn create(
        &self,
        url: &str,
        secret: &str,
        events: &[WebhookEvent],
    ) -> Result<Webhook, AppError> {
        let url = webhook::check_url(url, self.allow_private)?;
        let secret = webhook::check_secret(secret)?;
        let mut events = events.to_vec();
        events.sort_by_key(|event| event.as_str());
        events.dedup();
        if events.is_empty() {
            return Err(AppError::validation("events", "name at least one event"));
        }
        let txn = store::begin(&self.db).await?;
        if store::reach::webhooks(&txn).await?.len() >= MAX_WEBHOOKS {
            return Err(AppError::validation(
                "url",
                format!("at most {MAX_WEBHOOKS} webhooks; delete one first"),
            ));
        }
        let hook =
            store::reach::insert_webhook(&txn, &url, secret, &events, self.clock.now()).await?;
        txn.commit().await?;
        Ok(hook)
    }

    /// # Errors
    /// `INTERNAL` on database failure.
    pub async fn all(&self) -> Result<Vec<Webhook>, AppError> {
        store::reach::webhooks(&self.db).await
    }

    /// Deletes a receiver; what was queued for it is not sent (its log stays).
    ///
    /// # Errors
    /// `NOT_FOUND` for an unknown id.
    pub async fn delete(&self, id: WebhookId) -> Result<(), AppError> {
        let txn = store::begin(&self.db).await?;
        if !store::reach::delete_webhook(&txn, id.get()).await? {
            return Err(AppError::NotFound("webhook"));
        }
        txn.commit().await?;
        Ok(())
    }
}
