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
use crate::service::ledger::{self, Credit, Debit, LedgerPolicy, Posting};
use crate::store::{self, programme};

/// What `me.points` shows.
#[derive(Debug, Clone, Copy)]
pub struct PointsSummary {
    pub balance: i64,
    /// Purchase points inside their return window.
    pub pending: i64,
    pub month_earned: i64,
    pub month_earn_cap: i64,
    pub month_redeemed: i64,
    pub month_redeem_cap: i64,
    pub month_cut_by_cap: i64,
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
}

impl PointsService {
    pub fn new(db: DatabaseConnection, clock: Arc<Clock>, policy: LedgerPolicy) -> Self {
        Self { db, clock, policy }
    }

    /// The member's balance and this business month's counters. Lapsed lots are expired first,
    /// so the balance shown is always spendable.
    ///
    /// # Errors
    /// `NOT_FOUND` for an unknown member.
    pub async fn summary(&self, member_id: MemberId) -> Result<PointsSummary, AppError> {
        let now = self.clock.now();
        let txn = store::begin(&self.db).await?;
        let mut member = store::ledger::lock_member(&txn, member_id).await?;
        ledger::settle(&txn, &mut member, now, self.policy).await?;
        let tier = programme::tier_rules(&txn, &member.tier_code).await?;
        let month = MonthKey::of(now, self.policy.timezone);
        let totals = store::ledger::month_totals(&txn, &member, month.as_str()).await?;
        let pending = store::purchases::pending_points(&txn, member_id, now).await?;
        txn.commit().await?;
        Ok(PointsSummary {
            balance: member.balance,
            pending,
            month_earned: totals.earned,
            month_earn_cap: tier.monthly_earn_cap,
            month_redeemed: totals.redeemed,
            month_redeem_cap: tier.monthly_redeem_cap,
            month_cut_by_cap: totals.cut_by_cap,
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
        let now = self.clock.now();
        let txn = store::begin(&self.db).await?;
        let mut member = store::ledger::lock_member(&txn, member_id).await?;
        ledger::settle(&txn, &mut member, now, self.policy).await?;
        let posting = if amount > 0 {
            let credit = Credit {
                kind: EntryKind::AdminAdjust,
                requested: amount,
                requested_before_cap: None,
                earn_cap: None,
                key: &key,
                payload: &payload,
                reference: None,
                note: Some(reason),
            };
            ledger::credit(&txn, &mut member, credit, now, self.policy).await?
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
            ledger::debit(&txn, &mut member, debit, now, self.policy).await?
        };
        txn.commit().await?;
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
                let txn = store::begin(&self.db).await?;
                let mut member = store::ledger::lock_member(&txn, member_id).await?;
                let (matured, expired) =
                    ledger::settle(&txn, &mut member, now, self.policy).await?;
                txn.commit().await?;
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
        for (member, expires_at, points) in
            store::notifications::expiring_lots(&self.db, now, until).await?
        {
            // Lots lapse at the start of a business day; the last day to use them is the one before.
            let last_day = (expires_at - TimeDelta::seconds(1))
                .with_timezone(&self.policy.timezone)
                .date_naive()
                .to_string();
            let notice = notification::expiring(points, &last_day);
            let key = format!("expiring:{last_day}");
            store::notifications::insert(&self.db, member, notice, None, Some(&key), now).await?;
        }
        Ok(())
    }
}
