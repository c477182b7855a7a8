//! A member's counters per business month (earned, redeemed, cut by the cap, growth, KOC
//! score) and the growth over a window of months.

use chrono::{DateTime, Utc};
use entity::member_months;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Func, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect,
};

use crate::domain::ids::MemberId;

use super::member::{LockedMember, PendingMonth};

/// A member's counters for one period: a business month, or an ISO week (week rows carry only
/// `earned`, `refunded` and `sign_ins`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MonthTotals {
    pub earned: i64,
    pub redeemed: i64,
    pub cut_by_cap: i64,
    pub growth: i64,
    pub koc_score: i64,
    /// Points of purchases recorded in the period and refunded since.
    pub refunded: i64,
    pub sign_ins: i64,
    /// The longest streak reached in the period (a maximum, not a sum).
    pub best_streak: i64,
    /// Rewards redeemed.
    pub redemptions: i64,
}

impl MonthTotals {
    pub(super) fn plus(self, other: Self) -> Self {
        Self {
            earned: self.earned.saturating_add(other.earned),
            redeemed: self.redeemed.saturating_add(other.redeemed),
            cut_by_cap: self.cut_by_cap.saturating_add(other.cut_by_cap),
            growth: self.growth.saturating_add(other.growth),
            koc_score: self.koc_score.saturating_add(other.koc_score),
            refunded: self.refunded.saturating_add(other.refunded),
            sign_ins: self.sign_ins.saturating_add(other.sign_ins),
            best_streak: Ord::max(self.best_streak, other.best_streak),
            redemptions: self.redemptions.saturating_add(other.redemptions),
        }
    }

    /// What the points boards count: earned, less refunded purchases.
    pub fn board_points(&self) -> i64 {
        self.earned.saturating_sub(self.refunded)
    }
}

/// A locked member's counters for `month`, with what the unit of work has not written yet.
pub async fn month_totals(
    db: &impl ConnectionTrait,
    member: &LockedMember,
    month: &str,
) -> Result<MonthTotals, DbErr> {
    let stored = match &member.month_read {
        Some(read) if read.month == month => read.totals,
        _ => stored_month_totals(db, member.id, month).await?,
    };
    let pending = member
        .pending
        .as_ref()
        .map(|pending| pending.month(month))
        .unwrap_or_default();
    Ok(stored.plus(pending))
}

/// A member's counters for one business month, as stored.
pub async fn stored_month_totals(
    db: &impl ConnectionTrait,
    member: MemberId,
    month: &str,
) -> Result<MonthTotals, DbErr> {
    let row = member_months::Entity::find_by_id((member.get(), month.to_owned()))
        .one(db)
        .await?;
    Ok(row.map_or_else(MonthTotals::default, |row| MonthTotals {
        earned: row.earned,
        redeemed: row.redeemed,
        cut_by_cap: row.cut_by_cap,
        growth: row.growth,
        koc_score: row.koc_score,
        refunded: row.refunded,
        sign_ins: row.sign_ins,
        best_streak: row.best_streak,
        redemptions: row.redemptions,
    }))
}

/// Adds to a member's counters for a period (a month or a week), creating its row on first use
/// (written at once, or when the unit of work commits). Earned points, KOC score and sign-ins
/// that grow also move their arrival time (the leaderboards' tie-break) to `now`.
pub async fn add_to_month(
    db: &impl ConnectionTrait,
    member: &mut LockedMember,
    month: &str,
    delta: MonthTotals,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let arrival = crate::domain::leaderboard::arrival(now);
    let earned_at = (delta.earned > 0).then_some(arrival);
    let koc_score_at = (delta.koc_score > 0).then_some(arrival);
    let sign_ins_at = (delta.sign_ins > 0).then_some(arrival);
    let row = PendingMonth {
        month: month.to_owned(),
        delta,
        earned_at,
        koc_score_at,
        sign_ins_at,
    };
    if let Some(pending) = &mut member.pending {
        pending.months.push(row);
        return Ok(());
    }
    upsert_months(db, member.id, vec![row]).await
}

/// Adds each row's counters to the member's stored ones, in one statement: conflicting rows
/// add what was inserted (`excluded`), keep the larger best streak, and move an arrival time
/// only when one was given.
pub(super) async fn upsert_months(
    db: &impl ConnectionTrait,
    member: MemberId,
    rows: Vec<PendingMonth>,
) -> Result<(), DbErr> {
    use member_months::Column as C;
    if rows.is_empty() {
        return Ok(());
    }
    let stored = |column: C| Expr::col((member_months::Entity, column));
    let inserted = |column: C| Expr::col((Alias::new("excluded"), column));
    let mut on_conflict = OnConflict::columns([C::MemberId, C::Month]);
    for column in [
        C::Earned,
        C::Redeemed,
        C::CutByCap,
        C::Growth,
        C::KocScore,
        C::Refunded,
        C::SignIns,
        C::Redemptions,
    ] {
        on_conflict.value(column, stored(column).add(inserted(column)));
    }
    on_conflict.value(
        C::BestStreak,
        Expr::case(
            inserted(C::BestStreak).gt(stored(C::BestStreak)),
            inserted(C::BestStreak),
        )
        .finally(stored(C::BestStreak)),
    );
    for column in [C::EarnedAt, C::KocScoreAt, C::SignInsAt] {
        on_conflict.value(
            column,
            Expr::from(Func::coalesce([inserted(column), stored(column)])),
        );
    }
    let models = rows.into_iter().map(|row| member_months::ActiveModel {
        member_id: Set(member.get()),
        month: Set(row.month),
        earned: Set(row.delta.earned),
        redeemed: Set(row.delta.redeemed),
        cut_by_cap: Set(row.delta.cut_by_cap),
        growth: Set(row.delta.growth),
        earned_at: Set(row.earned_at),
        koc_score: Set(row.delta.koc_score),
        koc_score_at: Set(row.koc_score_at),
        refunded: Set(row.delta.refunded),
        sign_ins: Set(row.delta.sign_ins),
        sign_ins_at: Set(row.sign_ins_at),
        best_streak: Set(row.delta.best_streak),
        redemptions: Set(row.delta.redemptions),
        tier_before: Set(None),
        tier_after: Set(None),
    });
    member_months::Entity::insert_many(models)
        .on_conflict(on_conflict)
        .exec_without_returning(db)
        .await
        .map(|_| ())
}

/// Records a tier change in the month's row: the tier before the month's first change is
/// kept, the tier after is the latest (the personal report's tier at start and end).
pub async fn record_tier_change(
    db: &impl ConnectionTrait,
    member: MemberId,
    month: &str,
    from: &str,
    to: &str,
) -> Result<(), DbErr> {
    use member_months::Column as C;
    let row = member_months::ActiveModel {
        member_id: Set(member.get()),
        month: Set(month.to_owned()),
        earned: Set(0),
        redeemed: Set(0),
        cut_by_cap: Set(0),
        growth: Set(0),
        earned_at: Set(None),
        koc_score: Set(0),
        koc_score_at: Set(None),
        refunded: Set(0),
        sign_ins: Set(0),
        sign_ins_at: Set(None),
        best_streak: Set(0),
        redemptions: Set(0),
        tier_before: Set(Some(from.to_owned())),
        tier_after: Set(Some(to.to_owned())),
    };
    let mut on_conflict = OnConflict::columns([C::MemberId, C::Month]);
    on_conflict
        .value(
            C::TierBefore,
            Expr::from(Func::coalesce([
                Expr::col((member_months::Entity, C::TierBefore)),
                Expr::val(from),
            ])),
        )
        .value(C::TierAfter, Expr::val(to));
    member_months::Entity::insert(row)
        .on_conflict(on_conflict)
        .exec_without_returning(db)
        .await
        .map(|_| ())
}

/// A member's growth in the business months `first..=last`, as stored.
pub async fn stored_growth_between(
    db: &impl ConnectionTrait,
    member: MemberId,
    first: &str,
    last: &str,
) -> Result<i64, DbErr> {
    let total: Option<Option<i64>> = member_months::Entity::find()
        .select_only()
        .column_as(
            Expr::from(Func::cast_as(
                Func::sum(Expr::col(member_months::Column::Growth)),
                Alias::new("BIGINT"),
            )),
            "total",
        )
        .filter(member_months::Column::MemberId.eq(member.get()))
        .filter(member_months::Column::Month.gte(first))
        .filter(member_months::Column::Month.lte(last))
        .into_tuple()
        .one(db)
        .await?;
    Ok(total.flatten().unwrap_or(0))
}

/// A locked member's growth in the business months `first..=last`, with what the unit of work
/// has not written yet.
pub async fn growth_between(
    db: &impl ConnectionTrait,
    member: &LockedMember,
    first: &str,
    last: &str,
) -> Result<i64, DbErr> {
    let stored = match &member.growth_read {
        Some((read_first, read_last, growth)) if read_first == first && read_last == last => {
            *growth
        }
        _ => stored_growth_between(db, member.id, first, last).await?,
    };
    let pending: i64 = member
        .pending
        .iter()
        .flat_map(|pending| &pending.months)
        .filter(|m| m.month.as_str() >= first && m.month.as_str() <= last)
        .map(|m| m.delta.growth)
        .sum();
    Ok(stored.saturating_add(pending))
}
