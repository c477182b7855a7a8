//! The rewards catalogue, redemption, coupons and fulfilment.

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection};

use crate::domain::ids::{MemberId, RedemptionId, RewardId};
use crate::domain::notification;
use crate::domain::paging::PageSize;
use crate::domain::points::{EntryKind, MonthKey};
use crate::domain::reward::{
    self, COUPON_VALID_DAYS, Coupon, RedeemContext, Redemption, RedemptionStatus, Reward,
    RewardKind,
};
use crate::domain::task::BuiltInEvent;
use crate::domain::webhook::WebhookEvent;
use crate::error::AppError;
use crate::infra::clock::Clock;
use crate::infra::random;
use crate::service::ledger::{Credit, Debit, Ledger, LedgerPolicy};
use crate::service::member_day;
use crate::service::outbox::Reach;
use crate::service::rules::Rules;
use crate::service::tasks;
use crate::service::work::PointsEngine;
use crate::store::ledger::LockedMember;
use crate::store::{self, programme};

/// How many days before a coupon lapses the member is reminded (SPEC §11).
const COUPON_EXPIRING_NOTICE_DAYS: i64 = 3;

/// A reward as one member sees it today.
#[derive(Debug, Clone)]
pub struct RewardOffer {
    pub reward: Reward,
    /// The price of one unit now (member-day discount applied).
    pub price: i64,
    /// The error code redeeming one unit would get now; None when it would succeed.
    pub unavailable_reason: Option<&'static str>,
}

/// The result of a redemption.
#[derive(Debug, Clone)]
pub struct RedeemOutcome {
    pub redemption: Redemption,
    pub coupons: Vec<Coupon>,
    pub balance_after: i64,
    pub replayed: bool,
}

/// The member-wide part of the redemption checks.
struct MemberContext {
    ranks: std::collections::HashMap<String, i32>,
    tier: crate::domain::tier::Tier,
    member_day_discount_pct: Option<i32>,
    month_redeemed_points: i64,
    now: DateTime<Utc>,
}

impl MemberContext {
    fn for_reward(&self, reward: &Reward, this_month: i64, lifetime: i64) -> RedeemContext {
        RedeemContext {
            at: self.now,
            member_rank: self.tier.rank,
            min_rank: reward
                .min_tier
                .as_ref()
                .and_then(|code| self.ranks.get(code).copied()),
            member_day_discount_pct: self.member_day_discount_pct,
            tier_member_day_discount_pct: self.tier.member_day_discount_pct,
            redeemed_this_month: this_month,
            redeemed_lifetime: lifetime,
            month_redeemed_points: self.month_redeemed_points,
            monthly_redeem_cap: self.tier.monthly_redeem_cap,
        }
    }
}

pub struct RewardService {
    db: DatabaseConnection,
    clock: Arc<Clock>,
    policy: LedgerPolicy,
    engine: PointsEngine,
}

impl RewardService {
    pub fn new(db: DatabaseConnection, clock: Arc<Clock>, engine: PointsEngine) -> Self {
        Self {
            db,
            clock,
            policy: engine.policy(),
            engine,
        }
    }

    /// Adds a reward to the catalogue.
    ///
    /// # Errors
    /// `VALIDATION` for bad fields or an unknown tier.
    pub async fn create(&self, mut new: Reward) -> Result<Reward, AppError> {
        self.check(&new).await?;
        new.id = store::rewards::insert_reward(&self.db, &new, self.clock.now()).await?;
        Ok(new)
    }

    /// Changes a reward; `edit` gets the current one.
    ///
    /// # Errors
    /// `NOT_FOUND`; `VALIDATION` for bad fields.
    pub async fn update(
        &self,
        id: RewardId,
        edit: impl FnOnce(&mut Reward),
    ) -> Result<Reward, AppError> {
        let id = id.get();
        let mut reward = store::rewards::find_reward(&self.db, id)
            .await?
            .ok_or(AppError::NotFound("reward"))?;
        edit(&mut reward);
        self.check(&reward).await?;
        store::rewards::update_reward(&self.db, &reward).await?;
        Ok(reward)
    }

    /// Deletes a reward nobody has redeemed and no sign-in cycle day grants; a reward with
    /// history is retired with `active: false` instead.
    ///
    /// # Errors
    /// `NOT_FOUND`; `CONFLICT` when it has redemptions or a cycle day grants it.
    pub async fn delete(&self, id: RewardId) -> Result<(), AppError> {
        let id = id.get();
        let txn = store::begin(&self.db).await?;
        if store::rewards::has_redemptions(&txn, id).await? {
            return Err(AppError::Conflict(
                "this reward has redemptions; set active: false to retire it".into(),
            ));
        }
        if programme::cycle_rewards(&txn)
            .await?
            .iter()
            .any(|day| day.reward.is_some_and(|reward| reward.get() == id))
        {
            return Err(AppError::Conflict(
                "a sign-in cycle day grants this reward".into(),
            ));
        }
        if !store::rewards::delete_reward(&txn, id).await? {
            return Err(AppError::NotFound("reward"));
        }
        txn.commit().await?;
        Ok(())
    }

    async fn check(&self, reward: &Reward) -> Result<(), AppError> {
        reward::check_reward(reward)?;
        if let Some(code) = &reward.min_tier
            && !programme::all_tiers(&self.db)
                .await?
                .iter()
                .any(|t| &t.code == code)
        {
            return Err(AppError::validation("minTier", "is not a tier code"));
        }
        Ok(())
    }

    /// The catalogue page, newest first. For a member, each reward carries today's price and
    /// whether one unit could be redeemed now (with the code it would fail with).
    ///
    /// # Errors
    /// `INTERNAL` on database failure.
    pub async fn catalogue(
        &self,
        member: Option<MemberId>,
        include_inactive: bool,
        first: PageSize,
        after: Option<i64>,
    ) -> Result<(Vec<RewardOffer>, bool), AppError> {
        let rows =
            store::rewards::list_rewards(&self.db, include_inactive, after, first.fetch_limit())
                .await?;
        let (rewards, has_next) = first.finish(rows);
        let now = self.clock.now();
        let Some(member_id) = member else {
            let offers = rewards
                .into_iter()
                .map(|reward| RewardOffer {
                    price: reward.points_cost,
                    unavailable_reason: None,
                    reward,
                })
                .collect();
            return Ok((offers, has_next));
        };
        let member = store::ledger::read_member(&self.db, member_id).await?;
        let rules = self.engine.rules().await?;
        let month = MonthKey::of(now, self.policy.timezone);
        let used =
            store::rewards::redeemed_units_by_reward(&self.db, member_id, month.as_str()).await?;
        let member_ctx = self.member_context(&self.db, &rules, &member, now).await?;
        let mut offers = Vec::with_capacity(rewards.len());
        for reward in rewards {
            let (this_month, lifetime) = used.get(&reward.id).copied().unwrap_or((0, 0));
            let ctx = member_ctx.for_reward(&reward, this_month, lifetime);
            let verdict = reward::check_redemption(&reward, 1, &ctx).and_then(|price| {
                if reward.stock.is_some_and(|stock| stock < 1) {
                    Err(AppError::OutOfStock)
                } else if price > member.balance {
                    Err(AppError::InsufficientPoints {
                        needed: price,
                        available: member.balance,
                    })
                } else {
                    Ok(())
                }
            });
            offers.push(RewardOffer {
                price: reward::unit_price(&reward, &ctx),
                unavailable_reason: verdict.err().map(|e| e.code()),
                reward,
            });
        }
        Ok((offers, has_next))
    }

    /// What the checks need about the member now, read once per request.
    async fn member_context(
        &self,
        db: &impl ConnectionTrait,
        rules: &Rules,
        member: &LockedMember,
        now: DateTime<Utc>,
    ) -> Result<MemberContext, AppError> {
        let tier = rules.tier(&member.tier_code)?.clone();
        let effects = member_day::calendar(rules, self.policy).effects_at(now, Some(tier.rank));
        let month = MonthKey::of(now, self.policy.timezone);
        let redeemed = store::ledger::month_totals(db, member, month.as_str())
            .await?
            .redeemed;
        Ok(MemberContext {
            ranks: rules
                .tiers
                .iter()
                .map(|t| (t.code.clone(), t.rank))
                .collect(),
            tier,
            member_day_discount_pct: effects.is_active().then_some(effects.discount_pct),
            month_redeemed_points: redeemed,
            now,
        })
    }

    /// Redeems `quantity` units. Checks, in order: available, tier, member day, limits, monthly
    /// cap, stock, balance. The same key replays the first result; with another reward or
    /// quantity it is `CONFLICT`. Holds under any number of concurrent requests: the member row
    /// is locked, stock is taken by one conditional statement, and the balance by the ledger.
    ///
    /// # Errors
    /// The codes above, `VALIDATION` for a bad quantity or key, `CONFLICT`.
    #[tracing::instrument(skip_all, fields(member.id = %member_id, reward.id = %reward_id))]
    pub async fn redeem(
        &self,
        member_id: MemberId,
        reward_id: RewardId,
        quantity: i32,
        idempotency_key: &str,
    ) -> Result<RedeemOutcome, AppError> {
        let reward_id = reward_id.get();
        if !(1..=10).contains(&quantity) {
            return Err(AppError::validation("quantity", "must be 1 to 10"));
        }
        let key = idempotency_key.trim();
        if key.is_empty() || key.len() > 100 {
            return Err(AppError::validation(
                "idempotencyKey",
                "must be 1 to 100 characters",
            ));
        }
        let key = format!("redeem:{key}");
        let mut work = self.engine.begin(member_id).await?;
        let now = work.now;
        let txn = work.txn();
        if let Some(existing) = store::rewards::redemption_by_key(txn, member_id, &key).await? {
            if existing.reward_id != reward_id || existing.quantity != quantity {
                return Err(AppError::Conflict(
                    "this idempotency key was already used for a different redemption".into(),
                ));
            }
            let coupons = store::rewards::coupons_of_redemption(txn, existing.id).await?;
            return Ok(RedeemOutcome {
                redemption: existing,
                coupons,
                balance_after: work.member.balance,
                replayed: true,
            });
        }
        let reward = store::rewards::find_reward(txn, reward_id)
            .await?
            .ok_or(AppError::RewardUnavailable)?;
        let month = MonthKey::of(now, self.policy.timezone);
        let (this_month, lifetime) =
            store::rewards::redeemed_units(txn, member_id, reward_id, month.as_str()).await?;
        let ctx = self
            .member_context(txn, &work.rules, &work.member, now)
            .await?
            .for_reward(&reward, this_month, lifetime);
        let units = i64::from(quantity);
        let total = reward::check_redemption(&reward, units, &ctx)?;
        // Unlimited stock needs no write; a limited one is taken by one conditional statement.
        if reward.stock.is_some()
            && !store::rewards::take_stock(work.txn(), reward_id, units).await?
        {
            return Err(AppError::OutOfStock);
        }
        if total > 0 {
            // The redemption's key was looked up under the lock above: this debit is new.
            let (ledger, member) = work.split();
            ledger
                .debit_first(
                    member,
                    Debit {
                        kind: EntryKind::Redemption,
                        amount: total,
                        is_redemption: true,
                        key: &key,
                        payload: &format!("{reward_id}|{quantity}"),
                        reference: Some(&format!("reward:{reward_id}")),
                        note: Some(&reward.title),
                    },
                )
                .await?;
        }
        let unit_price = reward::unit_price(&reward, &ctx);
        let (ledger, member) = work.split();
        let (redemption, coupons) = deliver(
            &ledger,
            member,
            Delivery {
                reward: &reward,
                quantity,
                unit_price,
                key: &key,
            },
        )
        .await?;
        let event = BuiltInEvent::Redemption.as_str();
        tasks::count_event(&ledger, member, event, i64::from(quantity), now).await?;
        let balance_after = work.member.balance;
        work.commit().await?;
        tracing::info!(
            redemption.id = redemption.id,
            points.spent = total,
            "reward redeemed"
        );
        Ok(RedeemOutcome {
            redemption,
            coupons,
            balance_after,
            replayed: false,
        })
    }

    /// Writes a coupon off (核销), once.
    ///
    /// # Errors
    /// `COUPON_INVALID` for an unknown, used or expired code.
    pub async fn use_coupon(&self, code: &str) -> Result<Coupon, AppError> {
        let code = code.trim().to_ascii_uppercase();
        let now = self.clock.now();
        let txn = store::begin(&self.db).await?;
        if !store::rewards::use_coupon(&txn, &code, now).await? {
            return Err(AppError::CouponInvalid);
        }
        let coupon = store::rewards::coupon_by_code(&txn, &code)
            .await?
            .ok_or(AppError::CouponInvalid)?;
        self.publish(
            &txn,
            WebhookEvent::CouponWrittenOff,
            serde_json::json!({
                "memberId": coupon.member_id.get().to_string(),
                "code": coupon.code,
                "rewardId": coupon.reward_id.to_string(),
                "redemptionId": coupon.redemption_id.to_string(),
            }),
        )
        .await?;
        txn.commit().await?;
        Ok(coupon)
    }

    /// Tells members, once per coupon, that an unused coupon lapses within 3 days
    /// (`COUPON_EXPIRING`). Returns how many notices this pass wrote: a coupon already
    /// announced is not announced again.
    ///
    /// # Errors
    /// `INTERNAL` on database failure.
    pub async fn announce_expiring_coupons(&self) -> Result<u64, AppError> {
        let now = self.clock.now();
        let until = now + TimeDelta::days(COUPON_EXPIRING_NOTICE_DAYS);
        let mut titles: std::collections::HashMap<i64, String> = std::collections::HashMap::new();
        let mut announced = 0_u64;
        let mut after = 0_i64;
        loop {
            let batch = store::rewards::coupons_expiring(&self.db, now, until, after, 200).await?;
            let Some((last, _)) = batch.last() else {
                return Ok(announced);
            };
            after = *last;
            let txn = store::begin(&self.db).await?;
            let rules = self.engine.rules_cache().latest(&txn).await?;
            let reach = Reach {
                db: &txn,
                rules: &rules,
                timezone: self.policy.timezone,
                now,
            };
            for (_, coupon) in batch {
                if let std::collections::hash_map::Entry::Vacant(slot) =
                    titles.entry(coupon.reward_id)
                {
                    let title = store::rewards::find_reward(&txn, coupon.reward_id)
                        .await?
                        .map_or_else(|| "优惠券".to_owned(), |reward| reward.title);
                    slot.insert(title);
                }
                let title = titles
                    .get(&coupon.reward_id)
                    .map_or("优惠券", String::as_str);
                let last_day = notification::last_day(coupon.expires_at, self.policy.timezone);
                let notice = notification::coupon_expiring(title, &last_day);
                let key = format!("coupon-expiring:{}", coupon.code);
                if reach
                    .notify(coupon.member_id, notice, Some(&coupon.code), Some(&key))
                    .await?
                {
                    announced = announced.saturating_add(1);
                }
            }
            txn.commit().await?;
        }
    }

    /// Queues a webhook event in `txn`, for changes made outside a unit of work.
    async fn publish(
        &self,
        txn: &sea_orm::DatabaseTransaction,
        event: WebhookEvent,
        data: serde_json::Value,
    ) -> Result<(), AppError> {
        // On the transaction: SQLite's one connection is held by it.
        let rules = self.engine.rules_cache().latest(txn).await?;
        Reach {
            db: txn,
            rules: &rules,
            timezone: self.policy.timezone,
            now: self.clock.now(),
        }
        .publish(event, data)
        .await
    }

    /// Marks a pending (physical) redemption shipped.
    ///
    /// # Errors
    /// `NOT_FOUND`; `CONFLICT` when it is not pending.
    pub async fn fulfil(
        &self,
        id: RedemptionId,
        tracking_number: &str,
    ) -> Result<Redemption, AppError> {
        let id = id.get();
        let tracking = tracking_number.trim();
        if tracking.is_empty() || tracking.len() > 64 {
            return Err(AppError::validation(
                "trackingNumber",
                "must be 1 to 64 characters",
            ));
        }
        store::rewards::redemption(&self.db, id)
            .await?
            .ok_or(AppError::NotFound("redemption"))?;
        let txn = store::begin(&self.db).await?;
        let moved = store::rewards::transition(
            &txn,
            id,
            RedemptionStatus::Pending,
            RedemptionStatus::Fulfilled,
            Some(tracking),
            self.clock.now(),
        )
        .await?;
        if !moved {
            return Err(AppError::Conflict(
                "only a pending redemption can be fulfilled".into(),
            ));
        }
        let redemption = store::rewards::redemption(&txn, id)
            .await?
            .ok_or(AppError::NotFound("redemption"))?;
        self.publish(&txn, WebhookEvent::RedemptionUpdated, updated(&redemption))
            .await?;
        txn.commit().await?;
        Ok(redemption)
    }

    /// Cancels a pending (physical) redemption: the points come back as `REDEMPTION_REFUND`
    /// and the stock is restored, exactly once.
    ///
    /// # Errors
    /// `NOT_FOUND`; `CONFLICT` when it is not pending.
    pub async fn cancel(&self, id: RedemptionId) -> Result<Redemption, AppError> {
        let id = id.get();
        let found = store::rewards::redemption(&self.db, id)
            .await?
            .ok_or(AppError::NotFound("redemption"))?;
        let mut work = self.engine.begin(found.member_id).await?;
        let now = work.now;
        let moved = store::rewards::transition(
            work.txn(),
            id,
            RedemptionStatus::Pending,
            RedemptionStatus::Cancelled,
            None,
            now,
        )
        .await?;
        if !moved {
            return Err(AppError::Conflict(
                "only a pending redemption can be cancelled".into(),
            ));
        }
        if found.points_total > 0 {
            let key = format!("redemption-refund:{id}");
            let reference = format!("redemption:{id}");
            work.credit(Credit::keyed(
                EntryKind::RedemptionRefund,
                found.points_total,
                &key,
                Some(&reference),
            ))
            .await?;
        }
        store::rewards::return_stock(work.txn(), found.reward_id, i64::from(found.quantity))
            .await?;
        let redemption = store::rewards::redemption(work.txn(), id)
            .await?
            .ok_or(AppError::NotFound("redemption"))?;
        work.ledger()
            .reach()
            .publish(WebhookEvent::RedemptionUpdated, updated(&redemption))
            .await?;
        work.commit().await?;
        Ok(redemption)
    }

    /// Redemptions newest first: one member's, or everyone's with an optional status.
    ///
    /// # Errors
    /// `INTERNAL` on database failure.
    pub async fn redemptions(
        &self,
        member: Option<MemberId>,
        status: Option<RedemptionStatus>,
        first: PageSize,
        after: Option<i64>,
    ) -> Result<(Vec<Redemption>, bool), AppError> {
        let rows =
            store::rewards::list_redemptions(&self.db, member, status, after, first.fetch_limit())
                .await?;
        Ok(first.finish(rows))
    }

    /// The member's coupons, newest first.
    ///
    /// # Errors
    /// `INTERNAL` on database failure.
    pub async fn coupons(&self, member: MemberId) -> Result<Vec<Coupon>, AppError> {
        Ok(store::rewards::member_coupons(&self.db, member).await?)
    }
}

/// One delivery: what, how many, at what unit price, under which idempotency key.
pub struct Delivery<'a> {
    pub reward: &'a Reward,
    pub quantity: i32,
    pub unit_price: i64,
    pub key: &'a str,
}

/// `REDEMPTION_UPDATED`'s data: the redemption as it stands now.
fn updated(redemption: &Redemption) -> serde_json::Value {
    serde_json::json!({
        "memberId": redemption.member_id.get().to_string(),
        "redemptionId": redemption.id.to_string(),
        "rewardId": redemption.reward_id.to_string(),
        "status": redemption.status.as_str(),
        "trackingNumber": redemption.tracking_number,
    })
}

/// Records a redemption and delivers it: coupons with fresh codes, streak freezes into stock,
/// physical rewards pending, virtual ones at once.
///
/// # Errors
/// `CONFLICT` for a used idempotency key; `INTERNAL` on database failure.
pub async fn deliver(
    ledger: &Ledger<'_>,
    member: &mut LockedMember,
    delivery: Delivery<'_>,
) -> Result<(Redemption, Vec<Coupon>), AppError> {
    let Delivery {
        reward,
        quantity,
        unit_price,
        key,
    } = delivery;
    let (db, now) = (ledger.db, ledger.now);
    let month = MonthKey::of(now, ledger.policy.timezone);
    let status = if reward.kind.starts_pending() {
        RedemptionStatus::Pending
    } else {
        RedemptionStatus::Fulfilled
    };
    let id = store::rewards::insert_redemption(
        db,
        store::rewards::NewRedemption {
            member: member.id,
            reward_id: reward.id,
            quantity,
            unit_price,
            points_total: unit_price.saturating_mul(i64::from(quantity)),
            status,
            idempotency_key: key,
            month: month.as_str(),
            now,
        },
    )
    .await
    .map_err(
        store::rewards::UQ_REDEMPTION_KEY
            .map(|| AppError::Conflict("this idempotency key was already used".into())),
    )?;
    // The personal report's "rewards redeemed" (bought or given), kept per month.
    let counted = store::ledger::MonthTotals {
        redemptions: 1,
        ..store::ledger::MonthTotals::default()
    };
    store::ledger::add_to_month(db, member, month.as_str(), counted, now).await?;
    let mut coupons = Vec::new();
    match reward.kind {
        RewardKind::Coupon => {
            for _ in 0..quantity {
                let coupon = Coupon {
                    code: random::coupon_code(),
                    redemption_id: id,
                    member_id: member.id,
                    reward_id: reward.id,
                    expires_at: now + TimeDelta::days(COUPON_VALID_DAYS),
                    used_at: None,
                };
                store::rewards::insert_coupon(db, &coupon, now).await?;
                coupons.push(coupon);
            }
        }
        RewardKind::StreakFreeze => {
            store::ledger::add_freezes(db, member, quantity).await?;
        }
        RewardKind::Physical | RewardKind::Virtual => {}
    }
    let reach = ledger.reach();
    if let Some(first) = coupons.first() {
        let last_day = notification::last_day(first.expires_at, ledger.policy.timezone);
        let notice = notification::coupon_arrived(&reward.title, quantity, &last_day);
        reach
            .notify(member.id, notice, Some(&format!("redemption:{id}")), None)
            .await?;
    }
    reach
        .publish(
            WebhookEvent::RedemptionCreated,
            serde_json::json!({
                "memberId": member.id.get().to_string(),
                "redemptionId": id.to_string(),
                "rewardId": reward.id.to_string(),
                "quantity": quantity,
                "pointsTotal": unit_price.saturating_mul(i64::from(quantity)),
                "status": status.as_str(),
            }),
        )
        .await?;
    let redemption = Redemption {
        id,
        member_id: member.id,
        reward_id: reward.id,
        quantity,
        unit_price,
        points_total: unit_price.saturating_mul(i64::from(quantity)),
        status,
        idempotency_key: key.to_owned(),
        tracking_number: None,
        created_at: now,
    };
    Ok((redemption, coupons))
}

/// Grants one unit of a reward for free (a sign-in cycle day's reward): only while it is
/// available and in stock; otherwise nothing is granted.
///
/// # Errors
/// `INTERNAL` on database failure.
pub async fn grant_free(
    ledger: &Ledger<'_>,
    member: &mut LockedMember,
    reward_id: RewardId,
    key: &str,
) -> Result<Option<(Reward, Vec<Coupon>)>, AppError> {
    let reward_id = reward_id.get();
    let Some(reward) = store::rewards::find_reward(ledger.db, reward_id).await? else {
        return Ok(None);
    };
    let in_stock =
        reward.stock.is_none() || store::rewards::take_stock(ledger.db, reward_id, 1).await?;
    if !reward.is_available(ledger.now) || !in_stock {
        return Ok(None);
    }
    let delivery = Delivery {
        reward: &reward,
        quantity: 1,
        unit_price: 0,
        key,
    };
    let (_, coupons) = deliver(ledger, member, delivery).await?;
    Ok(Some((reward, coupons)))
}
