//! The outbox's dispatcher (SPEC §17), one on every instance: claims due deliveries, sends
//! them, and records each attempt — sent, due again after a backoff, or `DEAD`.
//!
//! A claimed row is leased: its next attempt moves past the time a send can take, so no other
//! dispatcher takes it meanwhile, and if this process dies mid-send the row is due again when
//! the lease ends (at least once). In a normal run each row is claimed once and sent once.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use sea_orm::DatabaseConnection;

use crate::domain::delivery::{
    self, Channel, Delivery, DeliveryStatus, Outcome, RetryPolicy, next_business_day,
};
use crate::domain::ids::MemberId;
use crate::domain::webhook;
use crate::error::AppError;
use crate::infra::clock::Clock;
use crate::service::wechat::WechatApi;
use crate::store;

/// Rows one claim takes; they are sent concurrently.
const BATCH: u64 = 20;

/// How the dispatcher sends.
#[derive(Debug, Clone)]
pub struct DispatchPolicy {
    pub retry: RetryPolicy,
    pub webhook_timeout: Duration,
    pub miniprogram_state: String,
}

/// Attempts by channel and outcome since start, for `/metrics`.
#[derive(Default)]
pub struct DeliveryCounters {
    wechat: OutcomeCounts,
    webhook: OutcomeCounts,
}

#[derive(Default)]
struct OutcomeCounts {
    sent: AtomicU64,
    retried: AtomicU64,
    dead: AtomicU64,
}

impl DeliveryCounters {
    fn count(&self, channel: Channel, status: DeliveryStatus) {
        let counts = match channel {
            Channel::Wechat => &self.wechat,
            Channel::Webhook => &self.webhook,
        };
        let counter = match status {
            DeliveryStatus::Sent => &counts.sent,
            // Still pending after an attempt: it will be tried again.
            DeliveryStatus::Pending => &counts.retried,
            DeliveryStatus::Dead => &counts.dead,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// (channel, outcome, attempts) for every pair; outcomes are `sent`, `retried`, `dead`.
    pub fn snapshot(&self) -> Vec<(&'static str, &'static str, u64)> {
        [
            (Channel::Wechat, &self.wechat),
            (Channel::Webhook, &self.webhook),
        ]
        .into_iter()
        .flat_map(|(channel, counts)| {
            [
                ("sent", &counts.sent),
                ("retried", &counts.retried),
                ("dead", &counts.dead),
            ]
            .map(|(outcome, counter)| (channel.as_str(), outcome, counter.load(Ordering::Relaxed)))
        })
        .collect()
    }
}

/// A queued subscribe message as the outbox holds it; `touser` and the mini-program state
/// are added when it is sent.
#[derive(serde::Deserialize)]
struct QueuedMessage {
    template_id: String,
    page: String,
    data: serde_json::Value,
}

pub struct Dispatcher {
    db: DatabaseConnection,
    clock: Arc<Clock>,
    wechat: Arc<WechatApi>,
    http: reqwest::Client,
    policy: DispatchPolicy,
    counters: Arc<DeliveryCounters>,
    wake: Arc<tokio::sync::Notify>,
}

/// What an attempt came to, before the retry policy decides the row's status.
struct Attempt {
    outcome: Outcome,
    error: Option<(String, Option<i64>)>,
}

impl Attempt {
    fn sent() -> Self {
        Self {
            outcome: Outcome::Sent,
            error: None,
        }
    }

    fn failed(outcome: Outcome, message: impl Into<String>, errcode: Option<i64>) -> Self {
        Self {
            outcome,
            error: Some((message.into(), errcode)),
        }
    }
}

impl Dispatcher {
    /// # Errors
    /// When the webhook HTTP client cannot be built.
    pub fn new(
        db: DatabaseConnection,
        clock: Arc<Clock>,
        wechat: Arc<WechatApi>,
        policy: DispatchPolicy,
        counters: Arc<DeliveryCounters>,
        wake: Arc<tokio::sync::Notify>,
    ) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(policy.webhook_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Self {
            db,
            clock,
            wechat,
            http,
            policy,
            counters,
            wake,
        })
    }

    /// Dispatches every `poll` (or when woken) until `stop` turns true; a batch in flight is
    /// finished and recorded first.
    pub async fn run(
        self: Arc<Self>,
        poll: Duration,
        mut stop: tokio::sync::watch::Receiver<bool>,
    ) {
        loop {
            loop {
                match self.dispatch_due().await {
                    Ok(claimed) if claimed >= BATCH && !*stop.borrow() => {}
                    Ok(_) => break,
                    Err(e) => {
                        tracing::warn!(error = ?e, "outbox dispatch failed; trying again");
                        break;
                    }
                }
            }
            let stopping = tokio::select! {
                () = tokio::time::sleep(poll) => false,
                () = self.wake.notified() => false,
                // A dropped sender stops the dispatcher too, rather than waking it forever.
                changed = stop.changed() => changed.is_err(),
            };
            if stopping || *stop.borrow() {
                tracing::info!("outbox dispatcher stopped");
                return;
            }
        }
    }

    /// Claims one batch of due deliveries, sends them and records the attempts. Returns how
    /// many it claimed.
    ///
    /// # Errors
    /// `UNAVAILABLE`/`INTERNAL` when the database fails.
    pub async fn dispatch_due(&self) -> Result<u64, AppError> {
        let now = self.clock.now();
        let lease = TimeDelta::from_std(self.lease()).unwrap_or(TimeDelta::minutes(5));
        let claimed = store::deliveries::claim(&self.db, now, now + lease, BATCH).await?;
        let count = u64::try_from(claimed.len()).unwrap_or(u64::MAX);
        let attempts = claimed.into_iter().map(|row| async move {
            let attempt = self.send(&row).await;
            self.record(&row, attempt).await
        });
        for result in futures_util::future::join_all(attempts).await {
            result?;
        }
        Ok(count)
    }

    /// Longer than any send can take: a WeChat call may refresh the token and retry once.
    fn lease(&self) -> Duration {
        self.policy
            .webhook_timeout
            .max(Duration::from_secs(30))
            .saturating_mul(3)
    }

    async fn send(&self, row: &Delivery) -> Attempt {
        match row.channel {
            Channel::Wechat => self.send_wechat(row).await,
            Channel::Webhook => self.send_webhook(row).await,
        }
    }

    async fn send_wechat(&self, row: &Delivery) -> Attempt {
        let Ok(queued) = serde_json::from_str::<QueuedMessage>(&row.payload) else {
            return Attempt::failed(Outcome::Dead, "the stored message does not parse", None);
        };
        let openid = match row.member_id {
            Some(member) => store::members::openid(&self.db, MemberId::new(member)).await,
            None => Ok(None),
        };
        let openid = match openid {
            Ok(Some(openid)) => openid,
            Ok(None) => return Attempt::failed(Outcome::Dead, "the member is gone", None),
            Err(e) => return Attempt::failed(Outcome::Retry, e.to_string(), None),
        };
        let message = &serde_json::json!({
            "touser": openid,
            "template_id": queued.template_id,
            "page": queued.page,
            "data": queued.data,
            "miniprogram_state": self.policy.miniprogram_state,
            "lang": "zh_CN",
        });
        let sent = self
            .wechat
            .call(
                |client, token| async move { client.send_subscribe_message(&token, message).await },
            )
            .await;
        match sent {
            Ok(()) => Attempt::sent(),
            Err(AppError::WechatApiFailed { errcode, message }) => {
                Attempt::failed(delivery::wechat_outcome(errcode), message, errcode)
            }
            Err(other) => Attempt::failed(Outcome::Retry, other.to_string(), None),
        }
    }

    async fn send_webhook(&self, row: &Delivery) -> Attempt {
        let hook = match row.webhook_id {
            Some(id) => store::reach::webhook(&self.db, id).await,
            None => Ok(None),
        };
        let hook = match hook {
            Ok(Some(hook)) => hook,
            Ok(None) => return Attempt::failed(Outcome::Dead, "the webhook was deleted", None),
            Err(e) => return Attempt::failed(Outcome::Retry, e.to_string(), None),
        };
        let event_id = serde_json::from_str::<serde_json::Value>(&row.payload)
            .ok()
            .and_then(|body| body.get("id")?.as_str().map(str::to_owned))
            .unwrap_or_default();
        // The receiver checks the timestamp against its own clock: the wall clock, not the
        // (possibly moved) business clock.
        let timestamp = self.clock.wall_now().timestamp();
        let answer = self
            .http
            .post(&hook.url)
            .header("content-type", "application/json")
            .header(
                "user-agent",
                concat!("membercard/", env!("CARGO_PKG_VERSION")),
            )
            .header("x-membercard-event-id", event_id)
            .header("x-membercard-timestamp", timestamp.to_string())
            .header(
                "x-membercard-signature",
                webhook::signature(&hook.secret, timestamp, &row.payload),
            )
            .body(row.payload.clone())
            .send()
            .await;
        match answer {
            Ok(response) => {
                let status = response.status().as_u16();
                match delivery::webhook_outcome(Some(status)) {
                    Outcome::Sent => Attempt::sent(),
                    outcome => Attempt::failed(
                        outcome,
                        format!("the receiver answered HTTP {status}"),
                        Some(i64::from(status)),
                    ),
                }
            }
            Err(e) => Attempt::failed(
                Outcome::Retry,
                format!("the receiver could not be reached: {e}"),
                None,
            ),
        }
    }

    /// Turns an attempt into the row's next state under the retry policy, and records it.
    async fn record(&self, row: &Delivery, attempt: Attempt) -> Result<(), AppError> {
        let now = self.clock.now();
        let attempts = u32::try_from(row.attempts).unwrap_or(u32::MAX);
        let used_up = attempts >= self.policy.retry.max_attempts;
        let (status, next): (DeliveryStatus, DateTime<Utc>) = match attempt.outcome {
            Outcome::Sent => (DeliveryStatus::Sent, now),
            Outcome::Dead => (DeliveryStatus::Dead, now),
            Outcome::ConsentWithdrawn => {
                self.withdraw_consent(row, now).await?;
                (DeliveryStatus::Dead, now)
            }
            Outcome::Retry | Outcome::NextDay if used_up => (DeliveryStatus::Dead, now),
            Outcome::Retry => {
                let wait = TimeDelta::from_std(self.policy.retry.wait_after(attempts))
                    .unwrap_or(TimeDelta::hours(6));
                (DeliveryStatus::Pending, now + wait)
            }
            Outcome::NextDay => (
                DeliveryStatus::Pending,
                next_business_day(now, self.clock.timezone()),
            ),
        };
        if let Some((message, errcode)) = &attempt.error {
            tracing::info!(
                delivery.id = row.id,
                delivery.channel = row.channel.as_str(),
                delivery.attempts = attempts,
                delivery.status = status.as_str(),
                errcode,
                error = %message,
                "a delivery attempt failed"
            );
        }
        self.counters.count(row.channel, status);
        store::deliveries::record(&self.db, row.id, status, next, attempt.error, now).await?;
        Ok(())
    }

    /// 43101: the member refused or withdrew the template; their remaining consents for it
    /// are gone.
    async fn withdraw_consent(&self, row: &Delivery, now: DateTime<Utc>) -> Result<(), AppError> {
        let template_id = serde_json::from_str::<QueuedMessage>(&row.payload)
            .ok()
            .map(|queued| queued.template_id);
        if let (Some(member), Some(template_id)) = (row.member_id, template_id) {
            store::message_consents::zero(&self.db, MemberId::new(member), &template_id, now)
                .await?;
        }
        Ok(())
    }
}
