//! Reaching members and the brand's systems after a change (SPEC §17): what a change queues in
//! its own transaction, and what operators see of the queue.
//!
//! A change never calls WeChat or a webhook itself. It writes outbox rows in its transaction —
//! a subscribe message beside the inbox notice, a webhook call beside the ledger entry — so a
//! message leaves exactly when the change commits, and survives the process dying before it is
//! sent. The dispatcher (`service::dispatcher`) sends them. Which notice kinds have a template
//! and which webhooks want which events come from the rules snapshot, so a change that nobody
//! listens to costs no statement.

use std::sync::Arc;

use chrono::{DateTime, SecondsFormat, Utc};
use chrono_tz::Tz;
use sea_orm::{ConnectionTrait, DatabaseConnection};

use crate::domain::campaign;
use crate::domain::delivery::{Channel, Delivery, DeliveryStatus};
use crate::domain::ids::{DeliveryId, MemberId};
use crate::domain::notification::Notice;
use crate::domain::paging::PageSize;
use crate::domain::segment;
use crate::domain::webhook::WebhookEvent;
use crate::error::AppError;
use crate::infra::clock::Clock;
use crate::infra::random;
use crate::service::rules::Rules;
use crate::store;
use crate::store::deliveries::NewDelivery;

/// Queues what a change sends out, in the change's transaction `db`.
pub struct Reach<'a, C> {
    pub db: &'a C,
    pub rules: &'a Rules,
    /// The business zone, for a message's `{date}` and `{time}`.
    pub timezone: Tz,
    pub now: DateTime<Utc>,
}

impl<C: ConnectionTrait> Reach<'_, C> {
    /// Puts `notice` in the member's inbox and, when its kind is mapped to a template the
    /// member still allows a message of, uses one consent and queues the subscribe message.
    /// With a `dedupe_key`, a notice already given under that key is neither stored nor sent
    /// again. True when the notice was added.
    ///
    /// # Errors
    /// `INTERNAL` on database failure.
    pub async fn notify(
        &self,
        member: MemberId,
        notice: Notice,
        reference: Option<&str>,
        dedupe_key: Option<&str>,
    ) -> Result<bool, AppError> {
        self.notify_at(member, notice, reference, dedupe_key, None)
            .await
    }

    /// Like [`Self::notify`] for a marketing notice (a campaign's): its subscribe message
    /// waits out the quiet hours (22:00–08:00 business time, sent at 08:00) and is left out
    /// when the member already has `per_day` of them on that business day. The inbox notice
    /// is always added.
    ///
    /// # Errors
    /// `INTERNAL` on database failure.
    pub async fn notify_marketing(
        &self,
        member: MemberId,
        notice: Notice,
        reference: Option<&str>,
        per_day: u32,
    ) -> Result<bool, AppError> {
        let send_at = campaign::marketing_send_at(self.now, self.timezone);
        let day = send_at.with_timezone(&self.timezone).date_naive();
        let window = (
            segment::day_start(day, self.timezone),
            segment::day_start(day.succ_opt().unwrap_or(day), self.timezone),
        );
        let pressure = MarketingPressure {
            send_at,
            day: window,
            per_day: i64::from(per_day),
        };
        self.notify_at(member, notice, reference, None, Some(pressure))
            .await
    }

    async fn notify_at(
        &self,
        member: MemberId,
        notice: Notice,
        reference: Option<&str>,
        dedupe_key: Option<&str>,
        pressure: Option<MarketingPressure>,
    ) -> Result<bool, AppError> {
        let kind = notice.kind;
        let message = self.rules.template(kind).map(|template| {
            let payload = serde_json::json!({
                "template_id": template.template_id,
                "page": template.page,
                "data": template.render(&notice, self.now.with_timezone(&self.timezone)),
            });
            (template.template_id.clone(), payload)
        });
        let added =
            store::notifications::insert(self.db, member, notice, reference, dedupe_key, self.now)
                .await?;
        let Some((template_id, payload)) = message.filter(|_| added) else {
            return Ok(added);
        };
        if let Some(pressure) = &pressure {
            let sent_that_day = store::deliveries::count_member_messages(
                self.db,
                member,
                kind.as_str(),
                pressure.day,
            )
            .await?;
            if sent_that_day >= pressure.per_day {
                return Ok(true);
            }
        }
        store::deliveries::queue_subscribe_message(
            self.db,
            member,
            &template_id,
            kind.as_str(),
            payload.to_string(),
            pressure.as_ref().map_or(self.now, |p| p.send_at),
            self.now,
        )
        .await?;
        Ok(true)
    }

    /// Queues `event` with `data` for every webhook that wants it: one body, signed per
    /// webhook when sent, under one event id so a receiver can tell a redelivery.
    ///
    /// # Errors
    /// `INTERNAL` on database failure.
    pub async fn publish(
        &self,
        event: WebhookEvent,
        data: serde_json::Value,
    ) -> Result<(), AppError> {
        let hooks: Vec<i64> = self.rules.webhooks_for(event).map(|hook| hook.id).collect();
        if hooks.is_empty() {
            return Ok(());
        }
        let body = serde_json::json!({
            "id": random::hex(16),
            "event": event.as_str(),
            "occurredAt": self.now.to_rfc3339_opts(SecondsFormat::Millis, true),
            "data": data,
        })
        .to_string();
        let rows = hooks
            .into_iter()
            .map(|hook| NewDelivery {
                channel: Channel::Webhook,
                member_id: None,
                webhook_id: Some(hook),
                event: event.as_str().to_owned(),
                payload: body.clone(),
            })
            .collect();
        store::deliveries::insert(self.db, rows, self.now).await?;
        Ok(())
    }
}

/// When a marketing message may go out, and how many a member may get that day.
struct MarketingPressure {
    send_at: DateTime<Utc>,
    /// The business day of `send_at`, as instants.
    day: (DateTime<Utc>, DateTime<Utc>),
    per_day: i64,
}

/// The operators' view of the outbox.
pub struct OutboxService {
    db: DatabaseConnection,
    clock: Arc<Clock>,
    /// Wakes this instance's dispatcher when an operator revives a row.
    wake: Arc<tokio::sync::Notify>,
}

impl OutboxService {
    pub fn new(db: DatabaseConnection, clock: Arc<Clock>, wake: Arc<tokio::sync::Notify>) -> Self {
        Self { db, clock, wake }
    }

    /// Deliveries newest first, of one status or all.
    ///
    /// # Errors
    /// `INTERNAL` on database failure.
    pub async fn page(
        &self,
        status: Option<DeliveryStatus>,
        first: PageSize,
        after: Option<i64>,
    ) -> Result<(Vec<Delivery>, bool), AppError> {
        let rows = store::deliveries::page(&self.db, status, after, first.fetch_limit()).await?;
        Ok(first.finish(rows))
    }

    /// Sends a dead delivery again, with a fresh set of attempts.
    ///
    /// # Errors
    /// `NOT_FOUND` for an unknown id; `CONFLICT` when the delivery is not dead.
    pub async fn retry(&self, id: DeliveryId) -> Result<Delivery, AppError> {
        let id = id.get();
        // The revived row is read back before the commit: once committed, a worker on
        // any instance may send it at once, and the answer must show what the retry did.
        let txn = store::begin(&self.db).await?;
        let revived = store::deliveries::revive(&txn, id, self.clock.now()).await?;
        let delivery = store::deliveries::find(&txn, id).await?;
        txn.commit().await?;
        match (revived, delivery) {
            (_, None) => Err(AppError::NotFound("delivery")),
            (false, Some(delivery)) => Err(AppError::Conflict(format!(
                "delivery {id} is {}, only a DEAD delivery can be retried",
                delivery.status.as_str()
            ))),
            (true, Some(delivery)) => {
                self.wake.notify_one();
                Ok(delivery)
            }
        }
    }

    /// How many deliveries stand in each status (the outbox depth is the `PENDING` count).
    ///
    /// # Errors
    /// `INTERNAL` on database failure.
    pub async fn counts(&self) -> Result<Vec<(String, i64)>, AppError> {
        Ok(store::deliveries::counts(&self.db).await?)
    }
}
