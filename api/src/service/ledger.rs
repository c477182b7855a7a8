//! Posting to the points ledger inside a caller's transaction: one entry, its lot(s), the
//! cached balance and the month counters change together. Every posting has an idempotency
//! key; a replay returns the first posting, the same key with another payload is `CONFLICT`.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use sea_orm::ConnectionTrait;
use sha2::{Digest, Sha256};

use crate::domain::notification;
use crate::domain::points::{self, EntryKind, LedgerEntry, MonthKey};
use crate::error::AppError;
use crate::store;
use crate::store::ledger::{self, LockedMember, MonthTotals, NewEntry};

/// How credits are made: the business zone and how long points live.
#[derive(Debug, Clone, Copy)]
pub struct LedgerPolicy {
    pub timezone: Tz,
    /// 0 = points never expire.
    pub expiry_months: u32,
    /// Days purchase points stay pending (the return window).
    pub pending_days: u32,
    /// The monthly member day (day of the month); 0 = none.
    pub member_day_of_month: u32,
}

/// A credit to post.
pub struct Credit<'a> {
    pub kind: EntryKind,
    pub requested: i64,
    /// What to record as requested when the cap was applied earlier (a purchase is capped when
    /// it is recorded and credited when its return window closes).
    pub requested_before_cap: Option<i64>,
    /// The month's earn cap; `None` for kinds the cap does not apply to.
    pub earn_cap: Option<i64>,
    pub key: &'a str,
    /// The request this posting answers, to tell a replay from a conflicting reuse of the key.
    pub payload: &'a str,
    pub reference: Option<&'a str>,
    pub note: Option<&'a str>,
}

/// A debit to post (FIFO over the member's spendable lots).
pub struct Debit<'a> {
    pub kind: EntryKind,
    pub amount: i64,
    /// Counts toward the month's redemption counter.
    pub is_redemption: bool,
    pub key: &'a str,
    pub payload: &'a str,
    pub reference: Option<&'a str>,
    pub note: Option<&'a str>,
}

/// A posted (or replayed) entry.
#[derive(Debug, Clone)]
pub struct Posting {
    pub entry_id: i64,
    pub kind: EntryKind,
    /// Signed amount that moved.
    pub amount: i64,
    pub requested: i64,
    pub balance_after: i64,
    pub replayed: bool,
}

impl Posting {
    /// Points the monthly cap cut from a credit.
    pub fn cut(&self) -> i64 {
        self.requested.saturating_sub(self.amount).max(0)
    }

    fn from_entry(entry: LedgerEntry) -> Self {
        Self {
            entry_id: entry.id,
            kind: entry.kind,
            amount: entry.amount,
            requested: entry.requested,
            balance_after: entry.balance_after,
            replayed: true,
        }
    }
}

fn fingerprint(payload: &str) -> String {
    Sha256::digest(payload.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// The earlier posting under `key`, when this is a replay of it.
///
/// # Errors
/// `CONFLICT` when the key was used for a different request.
pub async fn replayed(
    db: &impl ConnectionTrait,
    member: &LockedMember,
    key: &str,
    payload: &str,
) -> Result<Option<Posting>, AppError> {
    match ledger::entry_by_key(db, member.id, key).await? {
        None => Ok(None),
        Some(entry) if entry.payload_hash == fingerprint(payload) => {
            Ok(Some(Posting::from_entry(entry)))
        }
        Some(_) => Err(AppError::Conflict(
            "this idempotency key was already used for a different request".into(),
        )),
    }
}

/// Credits points: cut at the month's earn cap when one applies, one lot expiring per policy.
///
/// # Errors
/// `CONFLICT` for a reused key with another payload; `INTERNAL` on database failure.
pub async fn credit(
    db: &impl ConnectionTrait,
    member: &mut LockedMember,
    credit: Credit<'_>,
    now: DateTime<Utc>,
    policy: LedgerPolicy,
) -> Result<Posting, AppError> {
    if let Some(posting) = replayed(db, member, credit.key, credit.payload).await? {
        return Ok(posting);
    }
    let month = MonthKey::of(now, policy.timezone);
    let outcome = match credit.earn_cap {
        Some(cap) => {
            let earned = ledger::month_totals(db, member, month.as_str())
                .await?
                .earned;
            points::apply_earn_cap(credit.requested, earned, cap)
        }
        None => points::CapOutcome {
            granted: credit.requested,
            cut: 0,
        },
    };
    let balance_after = member
        .balance
        .checked_add(outcome.granted)
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("balance overflow")))?;
    let entry_id = ledger::insert_entry(
        db,
        NewEntry {
            member: member.id,
            kind: credit.kind,
            amount: outcome.granted,
            balance_after,
            requested: credit.requested_before_cap.unwrap_or(credit.requested),
            reference: credit.reference,
            idempotency_key: credit.key,
            payload_hash: &fingerprint(credit.payload),
            note: credit.note,
            now,
        },
    )
    .await?;
    if outcome.granted > 0 {
        let expires_at = points::lot_expiry(now, policy.expiry_months, policy.timezone);
        ledger::insert_lot(db, member.id, entry_id, outcome.granted, now, expires_at).await?;
    }
    if credit.earn_cap.is_some() {
        let delta = MonthTotals {
            earned: outcome.granted,
            cut_by_cap: outcome.cut,
            ..MonthTotals::default()
        };
        ledger::add_to_month(db, member, month.as_str(), delta, now).await?;
    }
    ledger::set_balance(db, member, balance_after).await?;
    notify_movement(
        db,
        member,
        credit.kind,
        outcome.granted,
        credit.reference,
        now,
    )
    .await?;
    Ok(Posting {
        entry_id,
        kind: credit.kind,
        amount: outcome.granted,
        requested: credit.requested_before_cap.unwrap_or(credit.requested),
        balance_after,
        replayed: false,
    })
}

/// Debits points from the member's spendable lots, soonest-expiring first.
///
/// # Errors
/// `INSUFFICIENT_POINTS` when the lots hold too little; `CONFLICT` for a reused key with another
/// payload; `INTERNAL` on database failure.
pub async fn debit(
    db: &impl ConnectionTrait,
    member: &mut LockedMember,
    debit: Debit<'_>,
    now: DateTime<Utc>,
    policy: LedgerPolicy,
) -> Result<Posting, AppError> {
    if let Some(posting) = replayed(db, member, debit.key, debit.payload).await? {
        return Ok(posting);
    }
    let lots = ledger::open_lots(db, member.id, now).await?;
    let takes = points::take_fifo(&lots, debit.amount)?;
    for (lot_id, take) in takes {
        ledger::consume_lot(db, lot_id, take).await?;
    }
    let balance_after = member
        .balance
        .checked_sub(debit.amount)
        .filter(|b| *b >= 0)
        .ok_or(AppError::InsufficientPoints {
            needed: debit.amount,
            available: member.balance,
        })?;
    let amount = debit
        .amount
        .checked_neg()
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("debit overflow")))?;
    let entry_id = ledger::insert_entry(
        db,
        NewEntry {
            member: member.id,
            kind: debit.kind,
            amount,
            balance_after,
            requested: amount,
            reference: debit.reference,
            idempotency_key: debit.key,
            payload_hash: &fingerprint(debit.payload),
            note: debit.note,
            now,
        },
    )
    .await?;
    if debit.is_redemption {
        let month = MonthKey::of(now, policy.timezone);
        let delta = MonthTotals {
            redeemed: debit.amount,
            ..MonthTotals::default()
        };
        ledger::add_to_month(db, member, month.as_str(), delta, now).await?;
    }
    ledger::set_balance(db, member, balance_after).await?;
    notify_movement(db, member, debit.kind, amount, debit.reference, now).await?;
    Ok(Posting {
        entry_id,
        kind: debit.kind,
        amount,
        requested: amount,
        balance_after,
        replayed: false,
    })
}

/// Brings a member's points up to `now`: credits purchases whose return window has closed,
/// then expires lapsed lots. Every points transaction starts with it, so a balance is always
/// what the member can spend. Returns (points made available, points expired).
///
/// # Errors
/// `INTERNAL` on database failure.
pub async fn settle(
    db: &impl ConnectionTrait,
    member: &mut LockedMember,
    now: DateTime<Utc>,
    policy: LedgerPolicy,
) -> Result<(i64, i64), AppError> {
    let mut matured = 0_i64;
    for purchase in store::purchases::due_for_member(db, member.id, now).await? {
        let key = format!("purchase:{}", purchase.order_id);
        let posting = credit(
            db,
            member,
            Credit {
                kind: EntryKind::Purchase,
                requested: purchase.points_granted,
                requested_before_cap: Some(purchase.points_requested),
                // The cap was applied when the purchase was recorded.
                earn_cap: None,
                key: &key,
                payload: &key,
                reference: Some(&purchase.order_id),
                note: None,
            },
            purchase.available_at,
            policy,
        )
        .await?;
        crate::service::tiers::record_growth(
            db,
            member,
            purchase.growth,
            "PURCHASE",
            Some(&purchase.order_id),
            purchase.available_at,
            policy,
        )
        .await?;
        store::purchases::mark_available(db, purchase.id).await?;
        matured = matured.saturating_add(posting.amount);
    }
    let expired = expire_due(db, member, now).await?;
    Ok((matured, expired))
}

/// Writes an `EXPIRY` entry for each of the member's lots that lapsed by `now` with points
/// left, and empties them. Returns the points expired. Safe to repeat: an emptied lot is not
/// found again, and each lot's entry has its own key.
///
/// # Errors
/// `INTERNAL` on database failure.
pub async fn expire_due(
    db: &impl ConnectionTrait,
    member: &mut LockedMember,
    now: DateTime<Utc>,
) -> Result<i64, AppError> {
    let mut expired = 0_i64;
    for lot in ledger::expired_lots(db, member.id, now).await? {
        ledger::consume_lot(db, lot.id, lot.remaining).await?;
        let balance_after = member.balance.saturating_sub(lot.remaining).max(0);
        let key = format!("expiry:lot:{}", lot.id);
        let amount = lot.remaining.saturating_neg();
        ledger::insert_entry(
            db,
            NewEntry {
                member: member.id,
                kind: EntryKind::Expiry,
                amount,
                balance_after,
                requested: amount,
                reference: Some(&format!("lot:{}", lot.id)),
                idempotency_key: &key,
                payload_hash: &fingerprint(&key),
                note: None,
                now,
            },
        )
        .await?;
        member.balance = balance_after;
        expired = expired.saturating_add(lot.remaining);
    }
    if expired > 0 {
        let balance = member.balance;
        ledger::set_balance(db, member, balance).await?;
        let lapsed = expired.saturating_neg();
        notify_movement(db, member, EntryKind::Expiry, lapsed, None, now).await?;
    }
    Ok(expired)
}

/// Puts the notice for a ledger movement in the member's inbox, in the same transaction.
async fn notify_movement(
    db: &impl ConnectionTrait,
    member: &LockedMember,
    kind: EntryKind,
    amount: i64,
    reference: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    if let Some(notice) = notification::for_movement(kind, amount, member.balance) {
        store::notifications::insert(db, member.id, notice, reference, None, now).await?;
    }
    Ok(())
}
