//! Posting to the points ledger inside a unit of work's transaction: one entry, its lot(s),
//! the cached balance and the month counters change together. Every posting has an idempotency
//! key; a replay returns the first posting, the same key with another payload is `CONFLICT`.
//! Whether a credit counts toward the monthly earning cap follows from its kind.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use sea_orm::DatabaseTransaction;
use sha2::{Digest, Sha256};

use crate::domain::points::{self, EntryKind, LedgerEntry, MonthKey};
use crate::domain::task::BuiltInEvent;
use crate::domain::tier::GrowthSource;
use crate::domain::webhook::WebhookEvent;
use crate::domain::{leaderboard, notification};
use crate::error::AppError;
use crate::service::outbox::Reach;
use crate::service::rules::Rules;
use crate::store;
use crate::store::ledger::{self, LockedMember, MonthTotals, NewEntry, NewLot};

/// What postings in one transaction share: the transaction, the rules read with the member,
/// the ledger policy and the time of the action. A unit of work hands it out; it posts for the
/// work's member and for any other member the work locked.
#[derive(Clone, Copy)]
pub struct Ledger<'a> {
    pub db: &'a DatabaseTransaction,
    pub rules: &'a Rules,
    pub policy: LedgerPolicy,
    pub now: DateTime<Utc>,
}

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

/// A credit to post. The member's tier's monthly earning cap applies when the kind counts
/// toward it.
pub struct Credit<'a> {
    pub kind: EntryKind,
    pub requested: i64,
    pub key: &'a str,
    /// The request this posting answers, to tell a replay from a conflicting reuse of the key.
    pub payload: &'a str,
    pub reference: Option<&'a str>,
    pub note: Option<&'a str>,
    /// When the credit's points lapse; `None`: the programme's expiry.
    pub expires_at: Option<DateTime<Utc>>,
}

impl<'a> Credit<'a> {
    /// A credit whose key is its whole request (awards the system makes itself).
    pub fn keyed(
        kind: EntryKind,
        requested: i64,
        key: &'a str,
        reference: Option<&'a str>,
    ) -> Self {
        Self {
            kind,
            requested,
            key,
            payload: key,
            reference,
            note: None,
            expires_at: None,
        }
    }
}

/// How a credit meets the monthly earning cap.
#[derive(Clone, Copy)]
enum Cap {
    /// Cut at the member's tier's cap, counted in the month's counters.
    Apply,
    /// Already cut when the purchase was recorded: credit the granted points as they are and
    /// record what was requested then.
    AppliedEarlier { requested: i64 },
    /// The kind does not count toward the cap.
    None,
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

impl Ledger<'_> {
    /// The earlier posting under `key`, when this is a replay of it.
    ///
    /// # Errors
    /// `CONFLICT` when the key was used for a different request.
    pub async fn replayed(
        &self,
        member: &LockedMember,
        key: &str,
        payload: &str,
    ) -> Result<Option<Posting>, AppError> {
        match ledger::entry_by_key(self.db, member.id, key).await? {
            None => Ok(None),
            Some(entry) if entry.payload_hash == fingerprint(payload) => {
                Ok(Some(Posting::from_entry(entry)))
            }
            Some(_) => Err(AppError::Conflict(
                "this idempotency key was already used for a different request".into(),
            )),
        }
    }

    /// Credits points: cut at the month's earn cap when the kind counts toward it, one lot
    /// expiring per policy.
    ///
    /// # Errors
    /// `CONFLICT` for a reused key with another payload; `INTERNAL` on database failure.
    pub async fn credit(
        &self,
        member: &mut LockedMember,
        credit: Credit<'_>,
    ) -> Result<Posting, AppError> {
        if let Some(posting) = self.replayed(member, credit.key, credit.payload).await? {
            return Ok(posting);
        }
        self.credit_first(member, credit).await
    }

    /// Credits points under a key the caller knows is new (a unique row it just inserted
    /// guards it), skipping the replay lookup.
    ///
    /// # Errors
    /// `INTERNAL` on database failure (a reused key fails the ledger's unique index).
    pub async fn credit_first(
        &self,
        member: &mut LockedMember,
        credit: Credit<'_>,
    ) -> Result<Posting, AppError> {
        let cap = if credit.kind.counts_toward_earn_cap() {
            Cap::Apply
        } else {
            Cap::None
        };
        self.post_credit(member, credit, cap, self.now).await
    }

    /// What a credit of `kind` for `requested` points would grant now, after the cap.
    ///
    /// # Errors
    /// `INTERNAL` on database failure.
    pub async fn capped(
        &self,
        member: &LockedMember,
        kind: EntryKind,
        requested: i64,
    ) -> Result<points::CapOutcome, AppError> {
        if !kind.counts_toward_earn_cap() {
            return Ok(points::CapOutcome {
                granted: requested,
                cut: 0,
            });
        }
        let month = MonthKey::of(self.now, self.policy.timezone);
        let earn_cap = self.rules.tier(&member.tier_code)?.monthly_earn_cap;
        let earned = ledger::month_totals(self.db, member, month.as_str())
            .await?
            .earned;
        Ok(points::apply_earn_cap(requested, earned, earn_cap))
    }

    async fn post_credit(
        &self,
        member: &mut LockedMember,
        credit: Credit<'_>,
        cap: Cap,
        at: DateTime<Utc>,
    ) -> Result<Posting, AppError> {
        let month = MonthKey::of(at, self.policy.timezone);
        let (outcome, requested) = match cap {
            Cap::Apply => {
                let earn_cap = self.rules.tier(&member.tier_code)?.monthly_earn_cap;
                let earned = ledger::month_totals(self.db, member, month.as_str())
                    .await?
                    .earned;
                (
                    points::apply_earn_cap(credit.requested, earned, earn_cap),
                    credit.requested,
                )
            }
            Cap::AppliedEarlier { requested } => (
                points::CapOutcome {
                    granted: credit.requested,
                    cut: 0,
                },
                requested,
            ),
            Cap::None => (
                points::CapOutcome {
                    granted: credit.requested,
                    cut: 0,
                },
                credit.requested,
            ),
        };
        // A frozen member earns nothing (SPEC §15); operators' adjustments and refunds of
        // what they spent still go through.
        let outcome = if member.frozen && credit.kind.counts_toward_earn_cap() {
            points::CapOutcome { granted: 0, cut: 0 }
        } else {
            outcome
        };
        let balance_after = member
            .balance
            .checked_add(outcome.granted)
            .ok_or_else(|| AppError::internal(anyhow::anyhow!("balance overflow")))?;
        let lot = (outcome.granted > 0).then(|| NewLot {
            amount: outcome.granted,
            available_at: at,
            expires_at: credit.expires_at.or_else(|| {
                points::lot_expiry(at, self.policy.expiry_months, self.policy.timezone)
            }),
        });
        let entry_id = ledger::insert_credit(
            self.db,
            NewEntry {
                member: member.id,
                kind: credit.kind,
                amount: outcome.granted,
                balance_after,
                requested,
                reference: credit.reference,
                idempotency_key: credit.key,
                payload_hash: &fingerprint(credit.payload),
                note: credit.note,
                now: at,
            },
            lot,
        )
        .await?;
        if matches!(cap, Cap::Apply) {
            let delta = MonthTotals {
                earned: outcome.granted,
                cut_by_cap: outcome.cut,
                ..MonthTotals::default()
            };
            ledger::add_to_month(self.db, member, month.as_str(), delta, at).await?;
            if outcome.granted > 0 {
                let week = leaderboard::week_of(at, self.policy.timezone);
                let earned = MonthTotals {
                    earned: outcome.granted,
                    ..MonthTotals::default()
                };
                ledger::add_to_month(self.db, member, &week, earned, at).await?;
            }
        }
        ledger::set_balance(self.db, member, balance_after).await?;
        self.notify_movement(member, credit.kind, outcome.granted, credit.reference)
            .await?;
        self.publish_entry(member, entry_id, credit.kind, outcome.granted)
            .await?;
        Ok(Posting {
            entry_id,
            kind: credit.kind,
            amount: outcome.granted,
            requested,
            balance_after,
            replayed: false,
        })
    }

    /// Debits points from the member's spendable lots, soonest-expiring first.
    ///
    /// # Errors
    /// `INSUFFICIENT_POINTS` when the lots hold too little; `CONFLICT` for a reused key with
    /// another payload; `INTERNAL` on database failure.
    pub async fn debit(
        &self,
        member: &mut LockedMember,
        debit: Debit<'_>,
    ) -> Result<Posting, AppError> {
        if let Some(posting) = self.replayed(member, debit.key, debit.payload).await? {
            return Ok(posting);
        }
        self.debit_first(member, debit).await
    }

    /// Debits under a key the caller knows is new (it looked up its own record of the request
    /// under the member's lock), skipping the replay lookup.
    ///
    /// # Errors
    /// `INSUFFICIENT_POINTS` when the lots hold too little; `INTERNAL` on database failure.
    pub async fn debit_first(
        &self,
        member: &mut LockedMember,
        debit: Debit<'_>,
    ) -> Result<Posting, AppError> {
        // A frozen member spends nothing; claw-backs, expiry and operators' adjustments still
        // take points.
        let spending = matches!(
            debit.kind,
            EntryKind::Redemption | EntryKind::MakeUpSignIn | EntryKind::Lottery
        );
        if member.frozen && spending {
            return Err(AppError::Forbidden(
                "this member is frozen: points cannot be spent",
            ));
        }
        let balance_after = member
            .balance
            .checked_sub(debit.amount)
            .filter(|b| *b >= 0)
            .ok_or(AppError::InsufficientPoints {
                needed: debit.amount,
                available: member.balance,
            })?;
        let lots = ledger::open_lots(self.db, member.id, self.now).await?;
        let takes = points::take_fifo(&lots, debit.amount)?;
        for (lot_id, take) in takes {
            ledger::consume_lot(self.db, lot_id, take).await?;
        }
        let amount = debit
            .amount
            .checked_neg()
            .ok_or_else(|| AppError::internal(anyhow::anyhow!("debit overflow")))?;
        let entry_id = ledger::insert_entry(
            self.db,
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
                now: self.now,
            },
        )
        .await?;
        if debit.is_redemption {
            let month = MonthKey::of(self.now, self.policy.timezone);
            let delta = MonthTotals {
                redeemed: debit.amount,
                ..MonthTotals::default()
            };
            ledger::add_to_month(self.db, member, month.as_str(), delta, self.now).await?;
        }
        ledger::set_balance(self.db, member, balance_after).await?;
        self.notify_movement(member, debit.kind, amount, debit.reference)
            .await?;
        self.publish_entry(member, entry_id, debit.kind, amount)
            .await?;
        Ok(Posting {
            entry_id,
            kind: debit.kind,
            amount,
            requested: amount,
            balance_after,
            replayed: false,
        })
    }

    /// Brings a member's points up to now: credits purchases whose return window has closed,
    /// then expires lapsed lots, so a balance is always what the member can spend. Returns
    /// (points made available, points expired).
    ///
    /// # Errors
    /// `INTERNAL` on database failure.
    pub async fn settle(&self, member: &mut LockedMember) -> Result<(i64, i64), AppError> {
        let mut matured = 0_i64;
        for purchase in store::purchases::due_for_member(self.db, member.id, self.now).await? {
            let key = format!("purchase:{}", purchase.order_id);
            let credit = Credit::keyed(
                EntryKind::Purchase,
                purchase.points_granted,
                &key,
                Some(&purchase.order_id),
            );
            let cap = Cap::AppliedEarlier {
                requested: purchase.points_requested,
            };
            let posting = match self.replayed(member, &key, &key).await? {
                Some(posting) => posting,
                None => {
                    self.post_credit(member, credit, cap, purchase.available_at)
                        .await?
                }
            };
            let at_maturity = Self {
                now: purchase.available_at,
                ..*self
            };
            at_maturity
                .record_growth(
                    member,
                    purchase.growth,
                    GrowthSource::Purchase,
                    Some(&purchase.order_id),
                )
                .await?;
            store::purchases::mark_available(self.db, purchase.id).await?;
            // Tasks count a purchase when its points become available, in whole yuan.
            let yuan = purchase.amount_cents / 100;
            crate::service::tasks::count_event(
                &at_maturity,
                member,
                BuiltInEvent::Purchase.as_str(),
                yuan,
                purchase.available_at,
            )
            .await?;
            matured = matured.saturating_add(posting.amount);
        }
        let expired = self.expire_due(member).await?;
        Ok((matured, expired))
    }

    /// Writes an `EXPIRY` entry for each of the member's lots that lapsed by now with points
    /// left, and empties them. Returns the points expired. Safe to repeat: an emptied lot is
    /// not found again, and each lot's entry has its own key.
    ///
    /// # Errors
    /// `INTERNAL` on database failure.
    pub async fn expire_due(&self, member: &mut LockedMember) -> Result<i64, AppError> {
        let mut expired = 0_i64;
        for lot in ledger::expired_lots(self.db, member.id, self.now).await? {
            ledger::consume_lot(self.db, lot.id, lot.remaining).await?;
            let balance_after = member.balance.saturating_sub(lot.remaining).max(0);
            let key = format!("expiry:lot:{}", lot.id);
            let amount = lot.remaining.saturating_neg();
            let entry_id = ledger::insert_entry(
                self.db,
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
                    now: self.now,
                },
            )
            .await?;
            ledger::set_balance(self.db, member, balance_after).await?;
            self.publish_entry(member, entry_id, EntryKind::Expiry, amount)
                .await?;
            expired = expired.saturating_add(lot.remaining);
        }
        if expired > 0 {
            let lapsed = expired.saturating_neg();
            self.notify_movement(member, EntryKind::Expiry, lapsed, None)
                .await?;
        }
        Ok(expired)
    }

    /// What this transaction sends out: notices (and their subscribe messages) and webhook
    /// events.
    pub fn reach(&self) -> Reach<'_, DatabaseTransaction> {
        Reach {
            db: self.db,
            rules: self.rules,
            timezone: self.policy.timezone,
            now: self.now,
        }
    }

    /// Puts the notice for a ledger movement in the member's inbox, in the same transaction.
    async fn notify_movement(
        &self,
        member: &LockedMember,
        kind: EntryKind,
        amount: i64,
        reference: Option<&str>,
    ) -> Result<(), AppError> {
        if let Some(notice) = notification::for_movement(kind, amount, member.balance) {
            self.reach()
                .notify(member.id, notice, reference, None)
                .await?;
        }
        Ok(())
    }

    /// `POINTS_CHANGED` for the brand's systems: one per ledger entry.
    async fn publish_entry(
        &self,
        member: &LockedMember,
        entry_id: i64,
        kind: EntryKind,
        amount: i64,
    ) -> Result<(), AppError> {
        self.reach()
            .publish(
                WebhookEvent::PointsChanged,
                serde_json::json!({
                    "memberId": member.id.get().to_string(),
                    "entryId": entry_id.to_string(),
                    "kind": kind.as_str(),
                    "amount": amount,
                    "balanceAfter": member.balance,
                }),
            )
            .await
    }
}
