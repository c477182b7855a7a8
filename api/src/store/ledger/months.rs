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

/// A member's counters for one business month.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MonthTotals {
    pub earned: i64,
    pub redeemed: i64,
    pub cut_by_cap: i64,
    pub growth: i64,
    pub koc_score: i64,
}

impl MonthTotals {
    pub(super) fn plus(self, other: Self) -> Self {
        Self {
            earned: self.earned.saturating_add(other.earned),
            redeemed: self.redeemed.saturating_add(other.redeemed),
            cut_by_cap: self.cut_by_cap.saturating_add(other.cut_by_cap),
            growth: self.growth.saturating_add(other.growth),
            koc_score: self.koc_score.saturating_add(other.koc_score),
        }
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
    }))
}

/// Adds to a member's month counters, creating the month's row on first use (written at once,
/// or when the unit of work commits). Earned points and KOC score that grow also move their
/// arrival time (the leaderboards' tie-break) to `now`.
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
    if let Some(pending) = &mut member.pending {
        pending.months.push(PendingMonth {
            month: month.to_owned(),
            delta,
            earned_at,
            koc_score_at,
        });
        return Ok(());
    }
    upsert_month(db, member.id, month, delta, earned_at, koc_score_at).await
}

pub(super) async fn upsert_month(
    db: &impl ConnectionTrait,
    member: MemberId,
    month: &str,
    delta: MonthTotals,
    earned_at: Option<DateTime<Utc>>,
    koc_score_at: Option<DateTime<Utc>>,
) -> Result<(), DbErr> {
    let row = member_months::ActiveModel {
        member_id: Set(member.get()),
        month: Set(month.to_owned()),
        earned: Set(delta.earned),
        redeemed: Set(delta.redeemed),
        cut_by_cap: Set(delta.cut_by_cap),
        growth: Set(delta.growth),
        earned_at: Set(earned_at),
        koc_score: Set(delta.koc_score),
        koc_score_at: Set(koc_score_at),
    };
    let added = |column: member_months::Column, by: i64| {
        (column, Expr::col((member_months::Entity, column)).add(by))
    };
    let mut on_conflict = OnConflict::columns([
        member_months::Column::MemberId,
        member_months::Column::Month,
    ]);
    for (column, value) in [
        added(member_months::Column::Earned, delta.earned),
        added(member_months::Column::Redeemed, delta.redeemed),
        added(member_months::Column::CutByCap, delta.cut_by_cap),
        added(member_months::Column::Growth, delta.growth),
        added(member_months::Column::KocScore, delta.koc_score),
    ] {
        on_conflict.value(column, value);
    }
    if let Some(at) = earned_at {
        on_conflict.value(member_months::Column::EarnedAt, Expr::value(at));
    }
    if let Some(at) = koc_score_at {
        on_conflict.value(member_months::Column::KocScoreAt, Expr::value(at));
    }
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
