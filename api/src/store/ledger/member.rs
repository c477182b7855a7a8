//! The member a unit of work locks: its points state read in one statement with everything
//! the common path needs, and its column writes held back until the work commits.

use chrono::{DateTime, NaiveDate, Utc};
use entity::{member_months, members};
use sea_orm::sea_query::{Expr, ExprTrait, Func};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};

use crate::domain::ids::MemberId;
use crate::domain::leaderboard::Board;
use crate::error::AppError;
use crate::store::leaderboards::Standing;

use super::correlated::{
    PurchaseWindow, due_purchases, growth_subquery, lapsed_lots, month_subquery,
};
use super::months::{MonthTotals, upsert_months};

/// A member's points state, read with the member row locked for the transaction (PostgreSQL
/// `FOR UPDATE`; SQLite serializes writers anyway), so every movement of one member's points
/// happens one at a time.
#[derive(Debug, Clone)]
pub struct LockedMember {
    pub id: MemberId,
    pub tier_code: String,
    pub balance: i64,
    pub current_streak: i32,
    pub last_sign_in_day: Option<NaiveDate>,
    pub total_sign_ins: i32,
    pub streak_freezes: i32,
    pub growth_total: i64,
    pub koc_level: Option<i32>,
    pub koc_score_total: i64,
    pub successful_invites: i32,
    /// "MM-DD"
    pub birthday: Option<String>,
    pub registered_at: DateTime<Utc>,
    /// YYYYMM of the last demotion.
    pub tier_demoted_month: Option<i32>,
    /// The rules' version, read with the row by `lock_member_for_work`.
    pub rules_version: i64,
    /// Whether purchases matured or lots lapsed since the last write (read with the row by
    /// `lock_member_for_work`; true when not read, so settling never gets skipped).
    pub settle_due: bool,
    /// Left out of the boards: by the member's choice, or while frozen.
    pub hide_from_leaderboards: bool,
    /// Frozen by an operator (风控): earns and spends nothing.
    pub frozen: bool,
    /// Refuses personalised marketing: no campaign notice reaches them.
    pub marketing_opt_out: bool,
    /// When the streak and the invites last changed (the boards' tie-breaks).
    streak_at: Option<DateTime<Utc>>,
    invites_at: Option<DateTime<Utc>>,
    /// The month counters read with the row: (month, as stored).
    pub(super) month_read: Option<MonthRead>,
    /// This ISO week's counters read with the row (the weekly boards).
    pub(super) week_read: Option<MonthRead>,
    /// Growth stored for the months `first..=last`, read with the row: (first, last, growth).
    pub(super) growth_read: Option<(String, String, i64)>,
    /// Writes held back until the unit of work commits; `None` writes through at once.
    pub(super) pending: Option<Pending>,
}

/// Writes a unit of work holds back: a member's columns and month counters change several
/// times in one transaction (points, growth, streak) and are written once, by `flush`.
#[derive(Debug, Clone, Default)]
pub(super) struct Pending {
    balance: bool,
    growth_total: bool,
    /// The streak columns changed, at this time (the STREAK board's tie-break).
    streak_at: Option<DateTime<Utc>>,
    freezes: bool,
    pub(super) months: Vec<PendingMonth>,
}

/// A month's counters as read with the member's row, with the boards' arrival times.
#[derive(Debug, Clone)]
pub(super) struct MonthRead {
    pub(super) month: String,
    pub(super) totals: MonthTotals,
    earned_at: Option<DateTime<Utc>>,
    koc_score_at: Option<DateTime<Utc>>,
    sign_ins_at: Option<DateTime<Utc>>,
}

/// Counters a unit of work adds to a period (a month or a week), with the boards' arrival
/// times that moved.
#[derive(Debug, Clone)]
pub(super) struct PendingMonth {
    pub(super) month: String,
    pub(super) delta: MonthTotals,
    pub(super) earned_at: Option<DateTime<Utc>>,
    pub(super) koc_score_at: Option<DateTime<Utc>>,
    pub(super) sign_ins_at: Option<DateTime<Utc>>,
}

impl Pending {
    pub(super) fn month(&self, month: &str) -> MonthTotals {
        self.months
            .iter()
            .filter(|pending| pending.month == month)
            .fold(MonthTotals::default(), |sum, pending| {
                sum.plus(pending.delta)
            })
    }
}

/// What `lock_member_for_work` reads along with the row, in the same statement.
pub struct WorkReads<'a> {
    /// The business month whose counters the work will check (caps).
    pub month: &'a str,
    /// This ISO week ("2026-W10"), whose counters the weekly boards show.
    pub week: &'a str,
    /// The trailing growth window, first and last month (the tier check).
    pub growth_months: (&'a str, &'a str),
    /// Now, to see whether anything is due for settling.
    pub now: DateTime<Utc>,
}

#[derive(sea_orm::FromQueryResult)]
struct WorkRow {
    #[sea_orm(nested)]
    member: members::Model,
    rules_version: i64,
    month_earned: i64,
    month_redeemed: i64,
    month_cut_by_cap: i64,
    month_growth: i64,
    month_koc_score: i64,
    month_earned_at: Option<DateTime<Utc>>,
    month_koc_score_at: Option<DateTime<Utc>>,
    month_refunded: i64,
    week_earned: i64,
    week_refunded: i64,
    week_sign_ins: i64,
    week_earned_at: Option<DateTime<Utc>>,
    week_sign_ins_at: Option<DateTime<Utc>>,
    window_growth: i64,
    settle_due: bool,
}

/// Locks the member for a unit of work and reads, in one statement after the lock, everything
/// its common path needs: the rules' version, this month's counters, the trailing growth and
/// whether purchases or lots are due. Writes to the member are then held back until `flush`.
///
/// # Errors
/// `NOT_FOUND` for an unknown member; `INTERNAL` on database failure.
pub async fn lock_member_for_work(
    db: &impl ConnectionTrait,
    id: MemberId,
    reads: WorkReads<'_>,
) -> Result<LockedMember, AppError> {
    let (first, last) = reads.growth_months;
    if db.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
        // The lock first, on its own: PostgreSQL evaluates a statement's subqueries in the
        // snapshot it took before waiting for a lock, so counters read in the locking statement
        // could miss what the transaction it waited for wrote. (SQLite's `BEGIN IMMEDIATE`
        // already serializes writers.)
        members::Entity::find_by_id(id.get())
            .select_only()
            .column(members::Column::Id)
            .lock_exclusive()
            .into_tuple::<i64>()
            .one(db)
            .await?
            .ok_or(AppError::NotFound("member"))?;
    }
    let month = |column: member_months::Column| month_subquery(column, reads.month);
    let week = |column: member_months::Column| month_subquery(column, reads.week);
    let zero_if_none = |expr: Expr| Expr::from(Func::coalesce([expr, Expr::val(0_i64)]));
    let row = members::Entity::find_by_id(id.get())
        .column_as(
            crate::store::programme::rules_version_column(),
            "rules_version",
        )
        .column_as(
            zero_if_none(month(member_months::Column::Earned)),
            "month_earned",
        )
        .column_as(
            zero_if_none(month(member_months::Column::Redeemed)),
            "month_redeemed",
        )
        .column_as(
            zero_if_none(month(member_months::Column::CutByCap)),
            "month_cut_by_cap",
        )
        .column_as(
            zero_if_none(month(member_months::Column::Growth)),
            "month_growth",
        )
        .column_as(
            zero_if_none(month(member_months::Column::KocScore)),
            "month_koc_score",
        )
        .column_as(month(member_months::Column::EarnedAt), "month_earned_at")
        .column_as(
            month(member_months::Column::KocScoreAt),
            "month_koc_score_at",
        )
        .column_as(
            zero_if_none(month(member_months::Column::Refunded)),
            "month_refunded",
        )
        .column_as(
            zero_if_none(week(member_months::Column::Earned)),
            "week_earned",
        )
        .column_as(
            zero_if_none(week(member_months::Column::Refunded)),
            "week_refunded",
        )
        .column_as(
            zero_if_none(week(member_months::Column::SignIns)),
            "week_sign_ins",
        )
        .column_as(week(member_months::Column::EarnedAt), "week_earned_at")
        .column_as(week(member_months::Column::SignInsAt), "week_sign_ins_at")
        .column_as(growth_subquery(first, last), "window_growth")
        .column_as(
            Expr::exists(due_purchases(PurchaseWindow::Matured, reads.now))
                .or(Expr::exists(lapsed_lots(reads.now))),
            "settle_due",
        )
        .into_model::<WorkRow>()
        .one(db)
        .await?
        .ok_or(AppError::NotFound("member"))?;
    let mut member = locked(id, row.member);
    member.rules_version = row.rules_version;
    member.settle_due = row.settle_due;
    member.month_read = Some(MonthRead {
        month: reads.month.to_owned(),
        totals: MonthTotals {
            earned: row.month_earned,
            redeemed: row.month_redeemed,
            cut_by_cap: row.month_cut_by_cap,
            growth: row.month_growth,
            koc_score: row.month_koc_score,
            refunded: row.month_refunded,
            ..MonthTotals::default()
        },
        earned_at: row.month_earned_at,
        koc_score_at: row.month_koc_score_at,
        sign_ins_at: None,
    });
    member.week_read = Some(MonthRead {
        month: reads.week.to_owned(),
        totals: MonthTotals {
            earned: row.week_earned,
            refunded: row.week_refunded,
            sign_ins: row.week_sign_ins,
            ..MonthTotals::default()
        },
        earned_at: row.week_earned_at,
        koc_score_at: None,
        sign_ins_at: row.week_sign_ins_at,
    });
    member.growth_read = Some((first.to_owned(), last.to_owned(), row.window_growth));
    member.pending = Some(Pending::default());
    Ok(member)
}

/// # Errors
/// `NOT_FOUND` for an unknown member; `INTERNAL` on database failure.
pub async fn lock_member(
    db: &impl ConnectionTrait,
    id: MemberId,
) -> Result<LockedMember, AppError> {
    let row = members::Entity::find_by_id(id.get())
        .lock_exclusive()
        .one(db)
        .await?
        .ok_or(AppError::NotFound("member"))?;
    Ok(locked(id, row))
}

/// The same state without a lock, for reads.
///
/// # Errors
/// `NOT_FOUND` for an unknown member; `INTERNAL` on database failure.
pub async fn read_member(
    db: &impl ConnectionTrait,
    id: MemberId,
) -> Result<LockedMember, AppError> {
    let row = members::Entity::find_by_id(id.get())
        .one(db)
        .await?
        .ok_or(AppError::NotFound("member"))?;
    Ok(locked(id, row))
}

fn locked(id: MemberId, row: members::Model) -> LockedMember {
    LockedMember {
        id,
        tier_code: row.tier_code,
        balance: row.points_balance,
        current_streak: row.current_streak,
        last_sign_in_day: row.last_sign_in_day,
        total_sign_ins: row.total_sign_ins,
        streak_freezes: row.streak_freezes,
        growth_total: row.growth_total,
        koc_level: row.koc_level,
        tier_demoted_month: row.tier_demoted_month,
        koc_score_total: row.koc_score_total,
        successful_invites: row.successful_invites,
        birthday: row.birthday,
        registered_at: row.created_at,
        hide_from_leaderboards: row.hide_from_leaderboards || row.frozen_at.is_some(),
        frozen: row.frozen_at.is_some(),
        marketing_opt_out: row.marketing_opt_out,
        streak_at: row.streak_at,
        invites_at: row.invites_at,
        rules_version: 0,
        settle_due: true,
        month_read: None,
        week_read: None,
        growth_read: None,
        pending: None,
    }
}

impl LockedMember {
    /// The member's standing on every board as this unit of work leaves it, from what it read
    /// and wrote — no query. `None` when `month` and `week` are not the ones read with the row.
    pub fn board_standings(
        &self,
        month: &str,
        week: &str,
        streak_cutoff: NaiveDate,
    ) -> Option<Vec<(Board, Option<Standing>)>> {
        let month = self.period_now(self.month_read.as_ref(), month)?;
        let week = self.period_now(self.week_read.as_ref(), week)?;
        let streak_at = self
            .pending
            .as_ref()
            .and_then(|p| p.streak_at)
            .map(crate::domain::leaderboard::arrival)
            .or(self.streak_at);
        let on_board = |value: i64, arrival: Option<DateTime<Utc>>| {
            (value > 0 && !self.hide_from_leaderboards).then_some(Standing {
                member: self.id,
                value,
                arrival,
            })
        };
        let streak_alive = self
            .last_sign_in_day
            .is_some_and(|day| day >= streak_cutoff);
        let streak = if streak_alive {
            i64::from(self.current_streak)
        } else {
            0
        };
        Some(vec![
            (
                Board::PointsMonth,
                on_board(month.totals.board_points(), month.earned_at),
            ),
            (
                Board::KocMonth,
                on_board(month.totals.koc_score, month.koc_score_at),
            ),
            (Board::Streak, on_board(streak, streak_at)),
            (
                Board::Referrals,
                on_board(i64::from(self.successful_invites), self.invites_at),
            ),
            (
                Board::PointsWeek,
                on_board(week.totals.board_points(), week.earned_at),
            ),
            (
                Board::SignInsWeek,
                on_board(week.totals.sign_ins, week.sign_ins_at),
            ),
        ])
    }

    /// A period's counters as read with the row plus what this work added, with the latest
    /// arrival times; `None` when `period` is not the one read.
    fn period_now(&self, read: Option<&MonthRead>, period: &str) -> Option<MonthRead> {
        let read = read.filter(|read| read.month == period)?;
        let added: Vec<&PendingMonth> = self
            .pending
            .iter()
            .flat_map(|p| &p.months)
            .filter(|m| m.month == period)
            .collect();
        let latest = |pick: fn(&PendingMonth) -> Option<DateTime<Utc>>| {
            added.iter().copied().filter_map(pick).next_back()
        };
        Some(MonthRead {
            month: read.month.clone(),
            totals: added.iter().fold(read.totals, |sum, m| sum.plus(m.delta)),
            earned_at: latest(|m| m.earned_at).or(read.earned_at),
            koc_score_at: latest(|m| m.koc_score_at).or(read.koc_score_at),
            sign_ins_at: latest(|m| m.sign_ins_at).or(read.sign_ins_at),
        })
    }
}

/// Writes what a unit of work held back: the member's changed columns in one statement, and
/// each touched month's counters in one upsert.
///
/// # Errors
/// `INTERNAL` on database failure.
pub async fn flush(db: &impl ConnectionTrait, member: &mut LockedMember) -> Result<(), DbErr> {
    let Some(pending) = member.pending.replace(Pending::default()) else {
        return Ok(());
    };
    let mut update = members::Entity::update_many().filter(members::Column::Id.eq(member.id.get()));
    let mut changed = false;
    if pending.balance {
        update = update.col_expr(members::Column::PointsBalance, Expr::value(member.balance));
        changed = true;
    }
    if pending.growth_total {
        update = update.col_expr(
            members::Column::GrowthTotal,
            Expr::value(member.growth_total),
        );
        changed = true;
    }
    if let Some(changed_at) = pending.streak_at {
        let columns = crate::store::signins::StreakColumns {
            current_streak: member.current_streak,
            last_sign_in_day: member.last_sign_in_day,
            total_sign_ins: member.total_sign_ins,
            streak_freezes: member.streak_freezes,
            changed_at,
        };
        update = crate::store::signins::streak_columns(update, &columns);
        changed = true;
    } else if pending.freezes {
        update = update.col_expr(
            members::Column::StreakFreezes,
            Expr::value(member.streak_freezes),
        );
        changed = true;
    }
    if changed {
        update.exec(db).await?;
    }
    let mut months: Vec<PendingMonth> = Vec::new();
    for next in pending.months {
        match months.iter_mut().find(|m| m.month == next.month) {
            Some(month) => {
                month.delta = month.delta.plus(next.delta);
                month.earned_at = next.earned_at.or(month.earned_at);
                month.koc_score_at = next.koc_score_at.or(month.koc_score_at);
                month.sign_ins_at = next.sign_ins_at.or(month.sign_ins_at);
            }
            None => months.push(next),
        }
    }
    // Every touched period (this month, this week, a refunded purchase's) in one statement.
    upsert_months(db, member.id, months).await
}

/// Moves the member to another tier.
pub async fn set_tier(db: &impl ConnectionTrait, id: MemberId, code: &str) -> Result<(), DbErr> {
    members::Entity::update_many()
        .col_expr(members::Column::TierCode, Expr::value(code))
        .filter(members::Column::Id.eq(id.get()))
        .exec(db)
        .await
        .map(|_| ())
}

/// Moves a member down to `code`, remembering the month (YYYYMM) it happened in.
pub async fn set_tier_demoted(
    db: &impl ConnectionTrait,
    id: MemberId,
    code: &str,
    month: i32,
) -> Result<(), DbErr> {
    members::Entity::update_many()
        .col_expr(members::Column::TierCode, Expr::value(code))
        .col_expr(members::Column::TierDemotedMonth, Expr::value(month))
        .filter(members::Column::Id.eq(id.get()))
        .exec(db)
        .await
        .map(|_| ())
}

/// Member ids and tier codes after `after`, in order, `limit` at a time (for passes over
/// every member).
pub async fn member_tiers_after(
    db: &impl ConnectionTrait,
    after: i64,
    limit: u64,
) -> Result<Vec<(MemberId, String)>, DbErr> {
    let rows: Vec<(i64, String)> = members::Entity::find()
        .select_only()
        .column(members::Column::Id)
        .column(members::Column::TierCode)
        .filter(members::Column::Id.gt(after))
        .order_by_asc(members::Column::Id)
        .limit(limit)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(id, tier)| (MemberId::new(id), tier))
        .collect())
}

/// Sets the member's cached balance (written at once, or when the unit of work commits).
pub async fn set_balance(
    db: &impl ConnectionTrait,
    member: &mut LockedMember,
    balance: i64,
) -> Result<(), DbErr> {
    member.balance = balance;
    if let Some(pending) = &mut member.pending {
        pending.balance = true;
        return Ok(());
    }
    write_column(
        db,
        member.id,
        members::Column::PointsBalance,
        Expr::value(balance),
    )
    .await
}

/// Writes one member column at once (a member locked without a unit of work).
async fn write_column(
    db: &impl ConnectionTrait,
    id: MemberId,
    column: members::Column,
    value: Expr,
) -> Result<(), DbErr> {
    members::Entity::update_many()
        .col_expr(column, value)
        .filter(members::Column::Id.eq(id.get()))
        .exec(db)
        .await
        .map(|_| ())
}

/// Adds to the member's lifetime growth (written at once, or when the unit of work commits).
pub async fn add_growth_total(
    db: &impl ConnectionTrait,
    member: &mut LockedMember,
    amount: i64,
) -> Result<(), DbErr> {
    member.growth_total = member.growth_total.saturating_add(amount);
    if let Some(pending) = &mut member.pending {
        pending.growth_total = true;
        return Ok(());
    }
    let added = Expr::col(members::Column::GrowthTotal).add(amount);
    write_column(db, member.id, members::Column::GrowthTotal, added).await
}

/// Adds streak freezes to the member's stock (written at once, or when the unit of work
/// commits).
pub async fn add_freezes(
    db: &impl ConnectionTrait,
    member: &mut LockedMember,
    count: i32,
) -> Result<(), DbErr> {
    member.streak_freezes = member.streak_freezes.saturating_add(count);
    if let Some(pending) = &mut member.pending {
        pending.freezes = true;
        return Ok(());
    }
    let added = Expr::col(members::Column::StreakFreezes).add(count);
    write_column(db, member.id, members::Column::StreakFreezes, added).await
}

/// Sets the member's streak columns (written at once, or when the unit of work commits).
pub async fn set_streak(
    db: &impl ConnectionTrait,
    member: &mut LockedMember,
    columns: crate::store::signins::StreakColumns,
) -> Result<(), DbErr> {
    member.current_streak = columns.current_streak;
    member.last_sign_in_day = columns.last_sign_in_day;
    member.total_sign_ins = columns.total_sign_ins;
    member.streak_freezes = columns.streak_freezes;
    if let Some(pending) = &mut member.pending {
        pending.streak_at = Some(columns.changed_at);
        return Ok(());
    }
    crate::store::signins::streak_columns(
        members::Entity::update_many().filter(members::Column::Id.eq(member.id.get())),
        &columns,
    )
    .exec(db)
    .await
    .map(|_| ())
}
