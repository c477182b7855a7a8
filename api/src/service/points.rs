//! A member's points: balance, month counters, what expires soon, history; operator
//! adjustments; and the expiry run.

use std::sync::Arc;

use chrono::TimeDelta;
use sea_orm::DatabaseConnection;

use crate::domain::ids::MemberId;
use crate::domain::notification;
use crate::domain::paging::PageSize;
use crate::domain::points::{EntryKind, LedgerEntry, MonthKey};
use crate::error::AppError;
use crate::infra::clock::Clock;
use crate::service::ledger::{Credit, Debit, LedgerPolicy, Posting};
use crate::service::outbox::Reach;
use crate::service::work::PointsEngine;
use crate::store;

pub use crate::store::ledger::PointsGlance;

/// A member's counters for this business month, with their tier's caps.
#[derive(Debug, Clone, Copy)]
pub struct MonthStanding {
    pub earned: i64,
    pub earn_cap: i64,
    pub redeemed: i64,
    pub redeem_cap: i64,
    pub cut_by_cap: i64,
}

/// What an expiry run did.
#[derive(Debug, Clone, Copy, Default)]
pub struct ExpiryRun {
    /// Members who lost points to expiry.
    pub members: u64,
    /// Points expired.
    pub points: i64,
    /// Purchase points whose return window closed and that became spendable.
    pub matured: i64,
}

/// How far ahead members are told their points will lapse.
const EXPIRING_NOTICE_DAYS: i64 = 30;

/// The most members one expiry pass handles before it looks again.
const EXPIRY_BATCH: u64 = 500;

pub struct PointsService {
    db: DatabaseConnection,
    clock: Arc<Clock>,
    policy: LedgerPolicy,
    engine: PointsEngine,
}

impl PointsService {
    pub fn new(db: DatabaseConnection, clock: Arc<Clock>, engine: PointsEngine) -> Self {
        Self {
            db,
            clock,
            policy: engine.policy(),
            engine,
        }
    }

    /// The member's spendable and pending points, in one statement without a lock: what
    /// matured or lapsed since the last write is counted as if settled (the next write or the
    /// expiry job settles it).
    ///
    /// # Errors
    /// `NOT_FOUND` for an unknown member.
    pub async fn glance(&self, member_id: MemberId) -> Result<PointsGlance, AppError> {
        store::ledger::points_glance(&self.db, member_id, self.clock.now()).await
    }

    /// The member's counters for this business month and their tier's caps.
    ///
    /// # Errors
    /// `NOT_FOUND` for an unknown member.
    pub async fn month(&self, member_id: MemberId) -> Result<MonthStanding, AppError> {
        let member = store::ledger::read_member(&self.db, member_id).await?;
        let rules = self.engine.rules().await?;
        let tier = rules.tier(&member.tier_code)?;
        let month = MonthKey::of(self.clock.now(), self.policy.timezone);
        let totals = store::ledger::month_totals(&self.db, &member, month.as_str()).await?;
        Ok(MonthStanding {
            earned: totals.earned,
            earn_cap: tier.monthly_earn_cap,
            redeemed: totals.redeemed,
            redeem_cap: tier.monthly_redeem_cap,
            cut_by_cap: totals.cut_by_cap,
        })
    }

    /// Points that will lapse within `days` days.
    ///
    /// # Errors
    /// `VALIDATION` for days outside 1..=366.
    pub async fn expiring_soon(&self, member_id: MemberId, days: i64) -> Result<i64, AppError> {
        if !(1..=366).contains(&days) {
            return Err(AppError::validation("days", "must be 1 to 366"));
        }
        let now = self.clock.now();
        Ok(
            store::ledger::expiring_between(&self.db, member_id, now, now + TimeDelta::days(days))
                .await?,
        )
    }

    /// Entries newest first, a page at a time, older than the `after` cursor, of `kinds`.
    ///
    /// # Errors
    /// `INTERNAL` on database failure.
    pub async fn history(
        &self,
        member_id: MemberId,
        first: PageSize,
        after: Option<i64>,
        kinds: &[EntryKind],
    ) -> Result<(Vec<LedgerEntry>, bool), AppError> {
        let rows =
            store::ledger::history(&self.db, member_id, kinds, after, first.fetch_limit()).await?;
        Ok(first.finish(rows))
    }

    /// An operator's adjustment: credits (not capped) or debits (never below zero) `amount`.
    /// Replaying the same key returns the first result; the same key with another amount or
    /// reason is `CONFLICT`.
    ///
    /// # Errors
    /// `VALIDATION` for a zero or oversized amount or a missing reason; `INSUFFICIENT_POINTS`
    /// for a debit beyond the balance; `CONFLICT`; `NOT_FOUND`.
    #[tracing::instrument(skip_all, fields(member.id = %member_id, points.delta = amount))]
    pub async fn adjust(
        &self,
        member_id: MemberId,
        amount: i64,
        reason: &str,
        idempotency_key: &str,
    ) -> Result<Posting, AppError> {
        if amount == 0 || amount.unsigned_abs() > 1_000_000 {
            return Err(AppError::validation(
                "amount",
                "must be non-zero, at most 1000000 either way",
            ));
        }
        let reason = reason.trim();
        if reason.is_empty() || reason.chars().count() > 200 {
            return Err(AppError::validation(
                "reason",
                "must be 1 to 200 characters",
            ));
        }
        let key = idempotency_key.trim();
        if key.is_empty() || key.len() > 100 {
            return Err(AppError::validation(
                "idempotencyKey",
                "must be 1 to 100 characters",
            ));
        }
        let key = format!("adjust:{key}");
        let payload = format!("{amount}|{reason}");
        let mut work = self.engine.begin(member_id).await?;
        let posting = if amount > 0 {
            let credit = Credit {
                kind: EntryKind::AdminAdjust,
                requested: amount,
                key: &key,
                payload: &payload,
                reference: None,
                note: Some(reason),
                expires_at: None,
            };
            work.credit(credit).await?
        } else {
            let debit = Debit {
                kind: EntryKind::AdminAdjust,
                amount: amount.saturating_neg(),
                is_redemption: false,
                key: &key,
                payload: &payload,
                reference: None,
                note: Some(reason),
            };
            work.debit(debit).await?
        };
        work.commit().await?;
        Ok(posting)
    }

    /// Brings every member up to date: credits purchases whose return window closed and expires
    /// lapsed lots. Safe to run twice or on several instances at once: each member is handled
    /// under its row lock, and what was credited or emptied is not found again.
    ///
    /// # Errors
    /// `INTERNAL` on database failure.
    pub async fn run_expiry(&self) -> Result<ExpiryRun, AppError> {
        let now = self.clock.now();
        let mut run = ExpiryRun::default();
        loop {
            let mut members =
                store::ledger::members_with_expired_lots(&self.db, now, EXPIRY_BATCH).await?;
            members.extend(store::purchases::members_with_due(&self.db, now, EXPIRY_BATCH).await?);
            members.sort_unstable();
            members.dedup();
            if members.is_empty() {
                self.notify_expiring(now).await?;
                return Ok(run);
            }
            for member_id in members {
                // Opening the work settles the member.
                let work = self.engine.begin(member_id).await?;
                let (matured, expired) = work.settled;
                work.commit().await?;
                run.matured = run.matured.saturating_add(matured);
                if expired > 0 {
                    run.members = run.members.saturating_add(1);
                    run.points = run.points.saturating_add(expired);
                }
            }
        }
    }

    /// Tells members, once per expiry date, that points lapse within 30 days.
    async fn notify_expiring(&self, now: chrono::DateTime<chrono::Utc>) -> Result<(), AppError> {
        let until = now + TimeDelta::days(EXPIRING_NOTICE_DAYS);
        let rules = self.engine.rules().await?;
        for (member, expires_at, points) in
            store::notifications::expiring_lots(&self.db, now, until).await?
        {
            let last_day = notification::last_day(expires_at, self.policy.timezone);
            let notice = notification::expiring(points, &last_day);
            let key = format!("expiring:{last_day}");
            // The notice and its subscribe message commit together.
            let txn = store::begin(&self.db).await?;
            let reach = Reach {
                db: &txn,
                rules: &rules,
                timezone: self.policy.timezone,
                now,
            };
            reach.notify(member, notice, None, Some(&key)).await?;
            txn.commit().await?;
        }
        Ok(())
    }
}
