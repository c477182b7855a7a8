//! Growth and tiers: recording growth (with the KOC coefficient), immediate upgrades with their
//! gifts, the monthly evaluation that moves members down one level at most, birthday points,
//! and the tier table operators edit.

use std::sync::Arc;

use chrono::{DateTime, Datelike, Utc};
use sea_orm::DatabaseConnection;

use crate::domain::campaign;
use crate::domain::ids::MemberId;
use crate::domain::notification;
use crate::domain::points::{EntryKind, MonthKey};
use crate::domain::tier::{self, GrowthSource, Tier};
use crate::domain::webhook::WebhookEvent;
use crate::error::AppError;
use crate::infra::clock::Clock;
use crate::service::ledger::{Credit, Ledger, LedgerPolicy};
use crate::service::work::PointsEngine;
use crate::store::ledger::{LockedMember, MonthTotals};
use crate::store::{self, programme};

/// Where a member stands: their tier and the next one.
#[derive(Debug, Clone)]
pub struct TierStanding {
    pub current: Tier,
    pub next: Option<Tier>,
}

/// What an evaluation pass did.
#[derive(Debug, Clone, Copy, Default)]
pub struct Evaluation {
    pub evaluated: u64,
    pub upgraded: u64,
    pub downgraded: u64,
}

impl Ledger<'_> {
    /// Records growth for the member (positive growth times the KOC coefficient), counted in
    /// the business month of now, and upgrades the member at once when it reaches a higher
    /// tier.
    ///
    /// # Errors
    /// `INTERNAL` on database failure.
    pub async fn record_growth(
        &self,
        member: &mut LockedMember,
        amount: i64,
        source: GrowthSource,
        reference: Option<&str>,
    ) -> Result<(), AppError> {
        let growth = if member.frozen && amount > 0 {
            // A frozen member earns no growth either.
            0
        } else if amount > 0 {
            tier::apply_growth_coefficient(amount, member.koc_level)
        } else {
            amount
        };
        if growth == 0 {
            return Ok(());
        }
        store::signins::insert_growth(
            self.db,
            member.id,
            growth,
            source.as_str(),
            reference,
            self.now,
        )
        .await?;
        store::ledger::add_growth_total(self.db, member, growth).await?;
        let month = MonthKey::of(self.now, self.policy.timezone);
        let delta = MonthTotals {
            growth,
            ..MonthTotals::default()
        };
        store::ledger::add_to_month(self.db, member, month.as_str(), delta, self.now).await?;
        if growth > 0 {
            self.move_to_earned_tier(member, false).await?;
        }
        Ok(())
    }

    /// Moves the member to the tier their trailing growth earns: up at once; down (one level)
    /// only when `evaluating`. Upgrade gifts are paid once ever per tier, for every tier
    /// passed. Returns -1, 0 or 1 for down, unchanged, up.
    ///
    /// # Errors
    /// `INTERNAL` on database failure.
    pub async fn move_to_earned_tier(
        &self,
        member: &mut LockedMember,
        evaluating: bool,
    ) -> Result<i8, AppError> {
        let tiers = &self.rules.tiers;
        let (first, last) = growth_window(self.now, self.policy);
        let growth = store::ledger::growth_between(self.db, member, &first, &last).await?;
        let (Some(current), Some(earned)) = (
            tiers.iter().find(|t| t.code == member.tier_code),
            tier::tier_for_growth(tiers, growth),
        ) else {
            return Ok(0);
        };
        let this_month =
            tier::month_number(self.now.with_timezone(&self.policy.timezone).date_naive());
        let rank = if evaluating {
            let demoted_this_month = member.tier_demoted_month == Some(this_month);
            tier::evaluated_rank(current.rank, earned.rank, demoted_this_month)
        } else {
            current.rank.max(earned.rank)
        };
        if rank == current.rank {
            return Ok(0);
        }
        let Some(target) = tiers.iter().find(|t| t.rank == rank) else {
            return Ok(0);
        };
        let upgraded = rank > current.rank;
        if upgraded {
            store::ledger::set_tier(self.db, member.id, &target.code).await?;
            // Campaigns triggered by upgrades (SPEC §16) read it from here.
            let today = self.now.with_timezone(&self.policy.timezone).date_naive();
            store::segments::record_transition(
                self.db,
                member.id,
                campaign::TIER_UPGRADED,
                today,
                self.now,
            )
            .await?;
        } else {
            store::ledger::set_tier_demoted(self.db, member.id, &target.code, this_month).await?;
            member.tier_demoted_month = Some(this_month);
        }
        // The personal report's tier at the start and end of each month.
        let month = MonthKey::of(self.now, self.policy.timezone);
        store::ledger::record_tier_change(
            self.db,
            member.id,
            month.as_str(),
            &current.code,
            &target.code,
        )
        .await?;
        let notice = notification::tier_changed(&current.name, &target.name, upgraded);
        let reach = self.reach();
        reach
            .notify(member.id, notice, Some(&target.code), None)
            .await?;
        reach
            .publish(
                WebhookEvent::TierChanged,
                serde_json::json!({
                    "memberId": member.id.get().to_string(),
                    "from": current.code,
                    "to": target.code,
                    "upgraded": upgraded,
                }),
            )
            .await?;
        let from = current.rank;
        member.tier_code.clone_from(&target.code);
        if upgraded {
            for passed in tiers.iter().filter(|t| t.rank > from && t.rank <= rank) {
                if passed.upgrade_gift_points <= 0 {
                    continue;
                }
                let key = format!("tier-gift:{}", passed.code);
                let gift = Credit::keyed(
                    EntryKind::TierUpgradeGift,
                    passed.upgrade_gift_points,
                    &key,
                    Some(&passed.code),
                );
                self.credit(member, gift).await?;
            }
        }
        tracing::info!(member.id = %member.id, tier.from = %current.code, tier.to = %target.code, "tier changed");
        Ok(if upgraded { 1 } else { -1 })
    }

    /// Pays the tier's birthday points when today is the member's birthday, once per year.
    ///
    /// # Errors
    /// `INTERNAL` on database failure.
    pub async fn grant_birthday_if_due(&self, member: &mut LockedMember) -> Result<i64, AppError> {
        let today = self.now.with_timezone(&self.policy.timezone).date_naive();
        let due = member
            .birthday
            .as_deref()
            .is_some_and(|birthday| tier::is_birthday(birthday, today));
        if !due {
            return Ok(0);
        }
        let birthday_points = self.rules.tier(&member.tier_code)?.birthday_points;
        if birthday_points <= 0 {
            return Ok(0);
        }
        let key = format!("birthday:{}", today.year());
        if self.replayed(member, &key, &key).await?.is_some() {
            return Ok(0);
        }
        let reference = today.to_string();
        let credit = Credit::keyed(EntryKind::Birthday, birthday_points, &key, Some(&reference));
        Ok(self.credit(member, credit).await?.amount)
    }
}

/// The trailing 12 business months ending with `now`'s: (first, last), as `YYYY-MM`.
pub fn growth_window(now: DateTime<Utc>, policy: LedgerPolicy) -> (String, String) {
    let today = now.with_timezone(&policy.timezone).date_naive();
    let months = tier::trailing_months(today);
    let last = months.first().cloned().unwrap_or_default();
    let first = months.last().cloned().unwrap_or_default();
    (first, last)
}

pub struct TierService {
    db: DatabaseConnection,
    clock: Arc<Clock>,
    policy: LedgerPolicy,
    engine: PointsEngine,
}

impl TierService {
    pub fn new(db: DatabaseConnection, clock: Arc<Clock>, engine: PointsEngine) -> Self {
        Self {
            db,
            clock,
            policy: engine.policy(),
            engine,
        }
    }

    /// Every tier, entry tier first.
    ///
    /// # Errors
    /// `INTERNAL` on database failure.
    pub async fn tiers(&self) -> Result<Vec<Tier>, AppError> {
        Ok(self.engine.rules().await?.tiers.clone())
    }

    /// The tier `code` and the one above it, from the rules cache (one statement for the
    /// version, no member read: the caller has the member's tier code).
    ///
    /// # Errors
    /// `INTERNAL` for an unknown code or on database failure.
    pub async fn standing(&self, code: &str) -> Result<TierStanding, AppError> {
        let rules = self.engine.rules().await?;
        let current = rules.tier(code)?.clone();
        let next = tier::next_tier(&rules.tiers, current.rank).cloned();
        Ok(TierStanding { current, next })
    }

    /// As `standing`, with the rules' version the caller read with the member (no statement
    /// while the cache holds that version).
    ///
    /// # Errors
    /// `INTERNAL` for an unknown code or on database failure.
    pub async fn standing_at(&self, code: &str, version: i64) -> Result<TierStanding, AppError> {
        let rules = self.engine.rules_cache().at(&self.db, version).await?;
        let current = rules.tier(code)?.clone();
        let next = tier::next_tier(&rules.tiers, current.rank).cloned();
        Ok(TierStanding { current, next })
    }

    /// The member's growth over the trailing 12 business months.
    ///
    /// # Errors
    /// `INTERNAL` on database failure.
    pub async fn trailing_growth(&self, member_id: MemberId) -> Result<i64, AppError> {
        let (first, last) = growth_window(self.clock.now(), self.policy);
        Ok(store::ledger::stored_growth_between(&self.db, member_id, &first, &last).await?)
    }

    /// The monthly evaluation: every member moves to the tier their trailing growth earns, down
    /// one level at most. Safe to repeat: a second pass only moves members further down if
    /// their growth still says so.
    ///
    /// # Errors
    /// `INTERNAL` on database failure.
    pub async fn evaluate(&self) -> Result<Evaluation, AppError> {
        let mut evaluation = Evaluation::default();
        let mut after = 0_i64;
        loop {
            let members = store::ledger::member_tiers_after(&self.db, after, 500).await?;
            let Some((last, _)) = members.last() else {
                return Ok(evaluation);
            };
            after = last.get();
            for (member_id, _) in members {
                let mut work = self.engine.begin(member_id).await?;
                let (ledger, member) = work.split();
                let moved = ledger.move_to_earned_tier(member, true).await?;
                work.commit().await?;
                evaluation.evaluated = evaluation.evaluated.saturating_add(1);
                match moved {
                    1 => evaluation.upgraded = evaluation.upgraded.saturating_add(1),
                    -1 => evaluation.downgraded = evaluation.downgraded.saturating_add(1),
                    _ => {}
                }
            }
        }
    }

    /// Runs the evaluation once per business month, on whichever instance claims it first.
    ///
    /// # Errors
    /// `INTERNAL` on database failure.
    pub async fn evaluate_monthly(&self) -> Result<Option<Evaluation>, AppError> {
        let month = i64::from(tier::month_number(self.clock.today()));
        if programme::claim_setting_above(&self.db, "tiers_evaluated_month", month).await? {
            return self.evaluate().await.map(Some);
        }
        Ok(None)
    }

    /// Replaces a tier's editable fields; the whole table must still rise.
    ///
    /// # Errors
    /// `NOT_FOUND` for an unknown code; `VALIDATION` for a table that would not rise or values
    /// out of range.
    pub async fn update(&self, code: &str, edit: impl FnOnce(&mut Tier)) -> Result<Tier, AppError> {
        let txn = store::begin(&self.db).await?;
        let mut tiers = programme::all_tiers(&txn).await?;
        let tier = tiers
            .iter_mut()
            .find(|t| t.code == code)
            .ok_or(AppError::NotFound("tier"))?;
        edit(tier);
        let updated = tier.clone();
        tier::check_tiers(&tiers)?;
        programme::update_tier(&txn, &updated).await?;
        txn.commit().await?;
        Ok(updated)
    }
}
