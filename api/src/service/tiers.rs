//! Growth and tiers: recording growth (with the KOC coefficient), immediate upgrades with their
//! gifts, the monthly evaluation that moves members down one level at most, birthday points,
//! and the tier table operators edit.

use std::sync::Arc;

use chrono::{DateTime, Datelike, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection};

use crate::domain::ids::MemberId;
use crate::domain::notification;
use crate::domain::points::{EntryKind, MonthKey};
use crate::domain::tier::{self, Tier};
use crate::error::AppError;
use crate::infra::clock::Clock;
use crate::service::ledger::{self, Credit, LedgerPolicy};
use crate::store::ledger::{LockedMember, MonthTotals};
use crate::store::{self, programme};

/// Where a member stands: their tier, the next one, and growth in the trailing 12 months.
#[derive(Debug, Clone)]
pub struct TierStanding {
    pub current: Tier,
    pub next: Option<Tier>,
    pub growth: i64,
}

/// What an evaluation pass did.
#[derive(Debug, Clone, Copy, Default)]
pub struct Evaluation {
    pub evaluated: u64,
    pub upgraded: u64,
    pub downgraded: u64,
}

/// Records growth for the member (positive growth times the KOC coefficient), counted in the
/// business month of `now`, and upgrades the member at once when it reaches a higher tier.
///
/// # Errors
/// `INTERNAL` on database failure.
pub async fn record_growth(
    db: &impl ConnectionTrait,
    member: &mut LockedMember,
    amount: i64,
    source: &str,
    reference: Option<&str>,
    now: DateTime<Utc>,
    policy: LedgerPolicy,
) -> Result<(), AppError> {
    let growth = if amount > 0 {
        tier::apply_growth_coefficient(amount, member.koc_level)
    } else {
        amount
    };
    if growth == 0 {
        return Ok(());
    }
    store::signins::insert_growth(db, member.id, growth, source, reference, now).await?;
    store::ledger::add_growth_total(db, member, growth).await?;
    let month = MonthKey::of(now, policy.timezone);
    let delta = MonthTotals {
        growth,
        ..MonthTotals::default()
    };
    store::ledger::add_to_month(db, member, month.as_str(), delta, now).await?;
    if growth > 0 {
        move_to_earned_tier(db, member, now, policy, false).await?;
    }
    Ok(())
}

/// The trailing 12 business months ending with `now`'s: (first, last), as `YYYY-MM`.
pub fn growth_window(now: DateTime<Utc>, policy: LedgerPolicy) -> (String, String) {
    let today = now.with_timezone(&policy.timezone).date_naive();
    let months = tier::trailing_months(today);
    let last = months.first().cloned().unwrap_or_default();
    let first = months.last().cloned().unwrap_or_default();
    (first, last)
}

/// A locked member's growth over the trailing 12 business months.
async fn trailing_growth(
    db: &impl ConnectionTrait,
    member: &LockedMember,
    now: DateTime<Utc>,
    policy: LedgerPolicy,
) -> Result<i64, AppError> {
    let (first, last) = growth_window(now, policy);
    Ok(store::ledger::growth_between(db, member, &first, &last).await?)
}

/// Moves the member to the tier their trailing growth earns: up at once; down (one level) only
/// when `evaluating`. Upgrade gifts are paid once ever per tier, for every tier passed.
/// Returns -1, 0 or 1 for down, unchanged, up.
async fn move_to_earned_tier(
    db: &impl ConnectionTrait,
    member: &mut LockedMember,
    now: DateTime<Utc>,
    policy: LedgerPolicy,
    evaluating: bool,
) -> Result<i8, AppError> {
    let tiers = programme::all_tiers(db).await?;
    let growth = trailing_growth(db, member, now, policy).await?;
    let (Some(current), Some(earned)) = (
        tiers.iter().find(|t| t.code == member.tier_code),
        tier::tier_for_growth(&tiers, growth),
    ) else {
        return Ok(0);
    };
    let this_month = tier::month_number(now.with_timezone(&policy.timezone).date_naive());
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
        store::ledger::set_tier(db, member.id, &target.code).await?;
    } else {
        store::ledger::set_tier_demoted(db, member.id, &target.code, this_month).await?;
        member.tier_demoted_month = Some(this_month);
    }
    let notice = notification::tier_changed(&current.name, &target.name, upgraded);
    store::notifications::insert(db, member.id, notice, Some(&target.code), None, now).await?;
    let from = current.rank;
    member.tier_code.clone_from(&target.code);
    if upgraded {
        for passed in tiers.iter().filter(|t| t.rank > from && t.rank <= rank) {
            if passed.upgrade_gift_points <= 0 {
                continue;
            }
            let key = format!("tier-gift:{}", passed.code);
            ledger::credit(
                db,
                member,
                Credit {
                    kind: EntryKind::TierUpgradeGift,
                    requested: passed.upgrade_gift_points,
                    requested_before_cap: None,
                    earn_cap: Some(target.monthly_earn_cap),
                    key: &key,
                    payload: &key,
                    reference: Some(&passed.code),
                    note: None,
                },
                now,
                policy,
            )
            .await?;
        }
    }
    tracing::info!(member.id = %member.id, tier.from = %current.code, tier.to = %target.code, "tier changed");
    Ok(if upgraded { 1 } else { -1 })
}

/// Pays the tier's birthday points when today is the member's birthday, once per year.
///
/// # Errors
/// `INTERNAL` on database failure.
pub async fn grant_birthday_if_due(
    db: &impl ConnectionTrait,
    member: &mut LockedMember,
    now: DateTime<Utc>,
    policy: LedgerPolicy,
) -> Result<i64, AppError> {
    let today = now.with_timezone(&policy.timezone).date_naive();
    let due = member
        .birthday
        .as_deref()
        .is_some_and(|birthday| tier::is_birthday(birthday, today));
    if !due {
        return Ok(0);
    }
    let current = programme::tier_rules(db, &member.tier_code).await?;
    if current.birthday_points <= 0 {
        return Ok(0);
    }
    let key = format!("birthday:{}", today.year());
    if ledger::replayed(db, member, &key, &key).await?.is_some() {
        return Ok(0);
    }
    let posting = ledger::credit(
        db,
        member,
        Credit {
            kind: EntryKind::Birthday,
            requested: current.birthday_points,
            requested_before_cap: None,
            earn_cap: Some(current.monthly_earn_cap),
            key: &key,
            payload: &key,
            reference: Some(&today.to_string()),
            note: None,
        },
        now,
        policy,
    )
    .await?;
    Ok(posting.amount)
}

pub struct TierService {
    db: DatabaseConnection,
    clock: Arc<Clock>,
    policy: LedgerPolicy,
}

impl TierService {
    pub fn new(db: DatabaseConnection, clock: Arc<Clock>, policy: LedgerPolicy) -> Self {
        Self { db, clock, policy }
    }

    /// Every tier, entry tier first.
    ///
    /// # Errors
    /// `INTERNAL` on database failure.
    pub async fn tiers(&self) -> Result<Vec<Tier>, AppError> {
        Ok(programme::all_tiers(&self.db).await?)
    }

    /// The member's tier, the next one and their trailing growth.
    ///
    /// # Errors
    /// `NOT_FOUND` for an unknown member.
    pub async fn standing(&self, member_id: MemberId) -> Result<TierStanding, AppError> {
        let member = store::ledger::read_member(&self.db, member_id).await?;
        let tiers = programme::all_tiers(&self.db).await?;
        let current = tiers
            .iter()
            .find(|t| t.code == member.tier_code)
            .cloned()
            .ok_or_else(|| {
                AppError::internal(anyhow::anyhow!("tier {} is missing", member.tier_code))
            })?;
        let next = tier::next_tier(&tiers, current.rank).cloned();
        let growth = trailing_growth(&self.db, &member, self.clock.now(), self.policy).await?;
        Ok(TierStanding {
            current,
            next,
            growth,
        })
    }

    /// The monthly evaluation: every member moves to the tier their trailing growth earns, down
    /// one level at most. Safe to repeat: a second pass only moves members further down if
    /// their growth still says so.
    ///
    /// # Errors
    /// `INTERNAL` on database failure.
    pub async fn evaluate(&self) -> Result<Evaluation, AppError> {
        let now = self.clock.now();
        let mut evaluation = Evaluation::default();
        let mut after = 0_i64;
        loop {
            let members = store::ledger::member_tiers_after(&self.db, after, 500).await?;
            let Some((last, _)) = members.last() else {
                return Ok(evaluation);
            };
            after = last.get();
            for (member_id, _) in members {
                let txn = store::begin(&self.db).await?;
                let mut member = store::ledger::lock_member(&txn, member_id).await?;
                let moved = move_to_earned_tier(&txn, &mut member, now, self.policy, true).await?;
                txn.commit().await?;
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
