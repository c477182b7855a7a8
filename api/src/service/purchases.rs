//! Purchases reported by the mall or POS, refunds, and points as cash at checkout.

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use sea_orm::DatabaseConnection;

use crate::domain::ids::MemberId;
use crate::domain::instant;
use crate::domain::leaderboard;
use crate::domain::points::{self, EntryKind, MonthKey};
use crate::domain::purchase::{self, CheckoutRules, PurchaseStatus};
use crate::domain::referral::ReferralStatus;
use crate::domain::segment;
use crate::domain::task::BuiltInEvent;
use crate::domain::tier::GrowthSource;
use crate::error::AppError;
use crate::infra::clock::Clock;
use crate::service::leaderboards::LeaderboardService;
use crate::service::ledger::{Credit, Debit, LedgerPolicy};
use crate::service::member_day;
use crate::service::rules::Rules;
use crate::service::tasks;
use crate::service::work::{MemberWork, PointsEngine};
use crate::store::ledger::MonthTotals;
use crate::store::purchases::{Deduction, NewPurchase, Purchase, RefundColumns};
use crate::store::{self, programme};

/// How far in the future a reported purchase may claim to have happened (clock skew).
const MAX_FUTURE_SKEW_SECONDS: i64 = 300;

/// A recorded purchase as the integration sees it.
#[derive(Debug, Clone)]
pub struct PurchaseOutcome {
    pub purchase: Purchase,
    /// True when this call replayed an earlier one for the same order.
    pub replayed: bool,
}

/// What a refund did.
#[derive(Debug, Clone)]
pub struct RefundOutcome {
    pub order_id: String,
    /// Pending points cancelled (refund inside the return window).
    pub points_cancelled: i64,
    /// Points taken back from the balance (refund after the window).
    pub points_reversed: i64,
    /// Points that could not be taken back because the balance was short.
    pub shortfall: i64,
    /// Checkout points returned to the member.
    pub points_returned: i64,
    /// True when the order had already been refunded: nothing changed.
    pub already_refunded: bool,
}

/// How many points an order may use.
#[derive(Debug, Clone, Copy)]
pub struct CheckoutQuote {
    pub max_points: i64,
    pub max_deduction_cents: i64,
    pub balance: i64,
    pub rules: CheckoutRules,
}

/// Points applied to an order.
#[derive(Debug, Clone)]
pub struct DeductionOutcome {
    pub deduction: Deduction,
    pub balance_after: i64,
    pub replayed: bool,
}

pub struct PurchaseService {
    db: DatabaseConnection,
    clock: Arc<Clock>,
    policy: LedgerPolicy,
    engine: PointsEngine,
    boards: Arc<LeaderboardService>,
}

impl PurchaseService {
    pub fn new(
        db: DatabaseConnection,
        clock: Arc<Clock>,
        engine: PointsEngine,
        boards: Arc<LeaderboardService>,
    ) -> Self {
        Self {
            db,
            clock,
            policy: engine.policy(),
            engine,
            boards,
        }
    }

    /// Records a purchase: 1 point and 1 growth per whole yuan, points times the tier multiplier,
    /// cut at the monthly earning cap now, and pending until the return window closes.
    /// Idempotent by order id.
    ///
    /// # Errors
    /// `VALIDATION` for a bad order id, amount or a time in the future; `CONFLICT` when the order
    /// was recorded with other details; `NOT_FOUND` for an unknown member.
    #[tracing::instrument(skip_all, fields(member.id = %member_id, order.id = order_id))]
    pub async fn record(
        &self,
        member_id: MemberId,
        order_id: &str,
        amount_cents: i64,
        occurred_at: DateTime<Utc>,
    ) -> Result<PurchaseOutcome, AppError> {
        purchase::check_order_id(order_id)?;
        purchase::check_amount(amount_cents)?;
        let occurred_at = instant::accept("occurredAt", occurred_at)?;
        let now = self.clock.now();
        if occurred_at > now + TimeDelta::seconds(MAX_FUTURE_SKEW_SECONDS) {
            return Err(AppError::validation(
                "occurredAt",
                "must not be in the future",
            ));
        }
        let mut work = self.engine.begin(member_id).await?;
        if let Some(existing) = store::purchases::by_order(work.txn(), order_id).await? {
            let same = existing.member_id == member_id
                && existing.amount_cents == amount_cents
                && existing.occurred_at == occurred_at;
            if !same {
                return Err(AppError::Conflict(
                    "this order was already recorded with other details".into(),
                ));
            }
            return Ok(PurchaseOutcome {
                purchase: existing,
                replayed: true,
            });
        }
        let tier = work.rules.tier(&work.member.tier_code)?.clone();
        // Member day counts when the purchase happened.
        let day =
            member_day::calendar(&work.rules, self.policy).effects_at(occurred_at, Some(tier.rank));
        let (requested, growth) = purchase::purchase_rewards(
            amount_cents,
            &[tier.points_multiplier_pct, day.multiplier_pct],
        );
        let month = MonthKey::of(now, self.policy.timezone);
        let (ledger, member) = work.split();
        let earned = store::ledger::month_totals(ledger.db, member, month.as_str())
            .await?
            .earned;
        let cap = if member.frozen {
            // A frozen member earns nothing from the purchase (SPEC §15); it still counts as a
            // purchase for their facts.
            points::CapOutcome { granted: 0, cut: 0 }
        } else {
            points::apply_earn_cap(requested, earned, tier.monthly_earn_cap)
        };
        store::ledger::add_to_month(
            ledger.db,
            member,
            month.as_str(),
            MonthTotals {
                earned: cap.granted,
                cut_by_cap: cap.cut,
                ..MonthTotals::default()
            },
            now,
        )
        .await?;
        if cap.granted > 0 {
            // POINTS_WEEK counts the purchase's points now, like POINTS_MONTH (SPEC §18).
            let week = leaderboard::week_of(now, self.policy.timezone);
            let earned = MonthTotals {
                earned: cap.granted,
                ..MonthTotals::default()
            };
            store::ledger::add_to_month(ledger.db, member, &week, earned, now).await?;
        }
        let available_at = occurred_at + TimeDelta::days(i64::from(self.policy.pending_days));
        store::purchases::insert(
            work.txn(),
            NewPurchase {
                order_id,
                member: member_id,
                amount_cents,
                points_requested: requested,
                points_granted: cap.granted,
                growth,
                occurred_at,
                available_at,
                now,
            },
        )
        .await
        .map_err(store::purchases::UQ_ORDER_ID.map(|| {
            AppError::Conflict("this order was already recorded with other details".into())
        }))?;
        // The purchase facts segments read (last purchase, trailing 12 months).
        store::purchases::refresh_facts(
            work.txn(),
            Some(member_id),
            segment::trailing_year_start(self.clock.today(), self.policy.timezone),
        )
        .await?;
        // A purchase reported after its window has closed is available at once.
        if available_at <= now {
            work.settle().await?;
        }
        let recorded = store::purchases::by_order(work.txn(), order_id)
            .await?
            .ok_or_else(|| AppError::internal(anyhow::anyhow!("purchase vanished after insert")))?;
        // A purchase by an invitee is an INVITEE_PURCHASE event for the inviter: progress
        // toward their KOC SALES tasks and any task counting it. The inviter is locked after
        // the purchaser (the order a first sign-in locks invitee and inviter in), and only
        // when someone listens: a KOC, or a task on the event.
        let mut koc_inviter = None;
        let event = BuiltInEvent::InviteePurchase;
        if let Some(invite) = store::referrals::of_invitee(work.txn(), member_id).await?
            && invite.status != ReferralStatus::Void
            && (tasks::listened(&work.rules, event.as_str())
                || store::ledger::read_member(work.txn(), invite.inviter)
                    .await?
                    .koc_level
                    .is_some())
        {
            let mut inviter = work.lock_other(invite.inviter).await?;
            let counted = tasks::emit(&work.ledger(), &mut inviter, event, 1, now).await?;
            if counted.koc_paid > 0 || !counted.completed.is_empty() {
                koc_inviter = Some(inviter.id);
            }
        }
        work.commit_to_boards(&self.boards).await?;
        if let Some(inviter) = koc_inviter {
            self.boards.touch(inviter).await;
        }
        tracing::info!(
            points.granted = cap.granted,
            points.cut = cap.cut,
            "purchase recorded"
        );
        Ok(PurchaseOutcome {
            purchase: recorded,
            replayed: false,
        })
    }

    /// Refunds an order. Inside the return window the pending points and growth are simply
    /// cancelled; after it the points are taken back down to zero (the shortfall is recorded)
    /// and the growth is reversed. Checkout points paid toward the order are returned. Refunding
    /// twice changes nothing.
    ///
    /// # Errors
    /// `NOT_FOUND` when the order is unknown; `VALIDATION` for a bad order id.
    #[tracing::instrument(skip_all, fields(order.id = order_id))]
    pub async fn refund(&self, order_id: &str) -> Result<RefundOutcome, AppError> {
        purchase::check_order_id(order_id)?;
        let now = self.clock.now();
        let found = store::purchases::by_order(&self.db, order_id).await?;
        let deduction = store::purchases::deduction_by_order(&self.db, order_id).await?;
        let member_id = found
            .as_ref()
            .map(|p| p.member_id)
            .or(deduction.as_ref().map(|d| d.member_id))
            .ok_or(AppError::NotFound("order"))?;

        let mut work = self.engine.begin(member_id).await?;
        let mut outcome = RefundOutcome {
            order_id: order_id.to_owned(),
            points_cancelled: 0,
            points_reversed: 0,
            shortfall: 0,
            points_returned: 0,
            already_refunded: true,
        };
        // Re-read under the lock: settling may have just made it available.
        if let Some(purchase) = store::purchases::by_order(work.txn(), order_id).await? {
            if purchase.status != PurchaseStatus::Refunded && purchase.points_granted > 0 {
                // Off the points boards of the month and week it was counted in (SPEC §18).
                let refunded = MonthTotals {
                    refunded: purchase.points_granted,
                    ..MonthTotals::default()
                };
                let tz = self.policy.timezone;
                let (ledger, member) = work.split();
                for period in [
                    MonthKey::of(purchase.recorded_at, tz).as_str().to_owned(),
                    leaderboard::week_of(purchase.recorded_at, tz),
                ] {
                    store::ledger::add_to_month(ledger.db, member, &period, refunded, now).await?;
                }
            }
            match purchase.status {
                PurchaseStatus::Refunded => {
                    outcome.points_reversed = purchase.points_reversed;
                    outcome.shortfall = purchase.shortfall;
                    if !purchase.refunded_after_window {
                        outcome.points_cancelled = purchase.points_granted;
                    }
                }
                PurchaseStatus::Pending => {
                    outcome.already_refunded = false;
                    outcome.points_cancelled = purchase.points_granted;
                    store::purchases::mark_refunded(
                        work.txn(),
                        purchase.id,
                        RefundColumns {
                            after_window: false,
                            points_reversed: 0,
                            shortfall: 0,
                            now,
                        },
                    )
                    .await?;
                }
                PurchaseStatus::Available => {
                    outcome.already_refunded = false;
                    let (take, shortfall) =
                        purchase::clawback(purchase.points_granted, work.member.balance);
                    if take > 0 {
                        let key = format!("refund:{order_id}");
                        work.debit(Debit {
                            kind: EntryKind::PurchaseRefund,
                            amount: take,
                            is_redemption: false,
                            key: &key,
                            payload: &key,
                            reference: Some(order_id),
                            note: (shortfall > 0)
                                .then(|| format!("shortfall {shortfall}"))
                                .as_deref(),
                        })
                        .await?;
                    }
                    let (ledger, member) = work.split();
                    ledger
                        .record_growth(
                            member,
                            purchase.growth.saturating_neg(),
                            GrowthSource::PurchaseRefund,
                            Some(order_id),
                        )
                        .await?;
                    store::purchases::mark_refunded(
                        work.txn(),
                        purchase.id,
                        RefundColumns {
                            after_window: true,
                            points_reversed: take,
                            shortfall,
                            now,
                        },
                    )
                    .await?;
                    outcome.points_reversed = take;
                    outcome.shortfall = shortfall;
                }
            }
        }
        if !outcome.already_refunded {
            store::purchases::refresh_facts(
                work.txn(),
                Some(member_id),
                segment::trailing_year_start(self.clock.today(), self.policy.timezone),
            )
            .await?;
        }
        if let Some(deduction) = store::purchases::deduction_by_order(work.txn(), order_id).await? {
            if deduction.reversed {
                outcome.points_returned = deduction.points;
            } else {
                outcome.already_refunded = false;
                let key = format!("checkout-refund:{order_id}");
                work.credit(Credit {
                    kind: EntryKind::RedemptionRefund,
                    requested: deduction.points,
                    key: &key,
                    payload: &key,
                    reference: Some(order_id),
                    note: None,
                    expires_at: None,
                })
                .await?;
                store::purchases::mark_deduction_reversed(work.txn(), order_id).await?;
                outcome.points_returned = deduction.points;
            }
        }
        work.commit_to_boards(&self.boards).await?;
        Ok(outcome)
    }

    /// How many points an order of `amount_cents` may use now.
    ///
    /// # Errors
    /// `VALIDATION` for a bad amount; `NOT_FOUND` for an unknown member.
    pub async fn quote(
        &self,
        member_id: MemberId,
        amount_cents: i64,
    ) -> Result<CheckoutQuote, AppError> {
        purchase::check_amount(amount_cents)?;
        // Opening the work settles what matured or lapsed, so the quote is what `deduct` sees.
        let work = self.engine.begin(member_id).await?;
        let rules = checkout_rules(&work.rules)?;
        let room = self.redeem_room(&work).await?;
        let balance = work.member.balance;
        work.commit().await?;
        let max_points = rules.max_points(amount_cents, balance, room);
        Ok(CheckoutQuote {
            max_points,
            max_deduction_cents: rules.cents_for(max_points),
            balance,
            rules,
        })
    }

    /// Pays `points` toward an order. Idempotent by order id; reversed by `refund`.
    ///
    /// # Errors
    /// `VALIDATION` for points that are not a positive multiple of the unit or exceed the share of
    /// the order points may pay; `MONTHLY_REDEEM_CAP_REACHED`; `INSUFFICIENT_POINTS`; `CONFLICT`
    /// when the order was already paid with other details.
    #[tracing::instrument(skip_all, fields(member.id = %member_id, order.id = order_id))]
    pub async fn deduct(
        &self,
        member_id: MemberId,
        order_id: &str,
        amount_cents: i64,
        points: i64,
    ) -> Result<DeductionOutcome, AppError> {
        purchase::check_order_id(order_id)?;
        purchase::check_amount(amount_cents)?;
        let now = self.clock.now();
        let mut work = self.engine.begin(member_id).await?;
        if let Some(existing) = store::purchases::deduction_by_order(work.txn(), order_id).await? {
            let same = existing.member_id == member_id
                && existing.points == points
                && existing.amount_cents == amount_cents;
            if !same {
                return Err(AppError::Conflict(
                    "points were already applied to this order with other details".into(),
                ));
            }
            return Ok(DeductionOutcome {
                deduction: existing,
                balance_after: work.member.balance,
                replayed: true,
            });
        }
        let rules = checkout_rules(&work.rules)?;
        if points <= 0 || points % rules.unit != 0 {
            return Err(AppError::validation(
                "points",
                format!("must be a positive multiple of {}", rules.unit),
            ));
        }
        if points > rules.max_points(amount_cents, i64::MAX, i64::MAX) {
            return Err(AppError::validation(
                "points",
                format!("may pay at most {}% of the order", rules.max_percent),
            ));
        }
        let room = self.redeem_room(&work).await?;
        if points > room {
            return Err(AppError::MonthlyRedeemCapReached { remaining: room });
        }
        let key = format!("checkout:{order_id}");
        // The order's deduction was looked up under the lock above: this debit is new.
        let (ledger, member) = work.split();
        let posting = ledger
            .debit_first(
                member,
                Debit {
                    kind: EntryKind::Redemption,
                    amount: points,
                    is_redemption: true,
                    key: &key,
                    payload: &key,
                    reference: Some(order_id),
                    note: Some("points paid at checkout"),
                },
            )
            .await?;
        let deduction = Deduction {
            order_id: order_id.to_owned(),
            member_id,
            points,
            amount_cents,
            deduction_cents: rules.cents_for(points),
            reversed: false,
        };
        store::purchases::insert_deduction(work.txn(), &deduction, now)
            .await
            .map_err(
                store::purchases::UQ_DEDUCTION_ORDER_ID
                    .map(|| AppError::Conflict("points were already applied to this order".into())),
            )?;
        work.commit().await?;
        Ok(DeductionOutcome {
            deduction,
            balance_after: posting.balance_after,
            replayed: false,
        })
    }

    /// Points the member may still spend this business month under their tier's cap.
    async fn redeem_room(&self, work: &MemberWork) -> Result<i64, AppError> {
        let tier = work.rules.tier(&work.member.tier_code)?;
        let month = MonthKey::of(work.now, self.policy.timezone);
        let redeemed = store::ledger::month_totals(work.txn(), &work.member, month.as_str())
            .await?
            .redeemed;
        Ok(tier.monthly_redeem_cap.saturating_sub(redeemed).max(0))
    }

    /// The checkout rules.
    ///
    /// # Errors
    /// `INTERNAL` on database failure.
    pub async fn rules(&self) -> Result<CheckoutRules, AppError> {
        checkout_rules(&*self.engine.rules().await?)
    }

    /// Changes the checkout rules; omitted values stay.
    ///
    /// # Errors
    /// `VALIDATION` for values out of range.
    pub async fn update_rules(
        &self,
        points_per_yuan: Option<i64>,
        unit: Option<i64>,
        max_percent: Option<i64>,
    ) -> Result<CheckoutRules, AppError> {
        let current = checkout_rules(&*self.engine.rules().await?)?;
        let rules = CheckoutRules::parse(
            points_per_yuan.unwrap_or(current.points_per_yuan),
            unit.unwrap_or(current.unit),
            max_percent.unwrap_or(current.max_percent),
        )?;
        let txn = store::begin(&self.db).await?;
        programme::set_setting(&txn, CHECKOUT_POINTS_PER_YUAN, rules.points_per_yuan).await?;
        programme::set_setting(&txn, CHECKOUT_UNIT, rules.unit).await?;
        programme::set_setting(&txn, CHECKOUT_MAX_PERCENT, rules.max_percent).await?;
        txn.commit().await?;
        Ok(rules)
    }
}

const CHECKOUT_POINTS_PER_YUAN: &str = "checkout_points_per_yuan";
const CHECKOUT_UNIT: &str = "checkout_points_unit";
const CHECKOUT_MAX_PERCENT: &str = "checkout_max_percent";

/// The checkout rules in `rules` (campaign ROI values points at this rate).
pub(crate) fn checkout_rules(rules: &Rules) -> Result<CheckoutRules, AppError> {
    CheckoutRules::parse(
        rules.setting(CHECKOUT_POINTS_PER_YUAN, 100),
        rules.setting(CHECKOUT_UNIT, 100),
        rules.setting(CHECKOUT_MAX_PERCENT, 50),
    )
    .map_err(|e| AppError::internal(anyhow::anyhow!("stored checkout rules are invalid: {e}")))
}
