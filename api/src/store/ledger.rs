//! The points ledger tables: entries, lots, month counters, and the member's cached balance.

use chrono::{DateTime, NaiveDate, Utc};
use entity::{member_months, members, point_entries, point_lots, purchases};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Func, OnConflict, Query};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, Order, QueryFilter,
    QueryOrder, QuerySelect,
};

use crate::domain::ids::MemberId;
use crate::domain::leaderboard::Board;
use crate::domain::points::{EntryKind, LedgerEntry, OpenLot};
use crate::error::AppError;
use crate::store::leaderboards::Standing;

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
    pub hide_from_leaderboards: bool,
    /// When the streak and the invites last changed (the boards' tie-breaks).
    streak_at: Option<DateTime<Utc>>,
    invites_at: Option<DateTime<Utc>>,
    /// The month counters read with the row: (month, as stored).
    month_read: Option<MonthRead>,
    /// Growth stored for the months `first..=last`, read with the row: (first, last, growth).
    growth_read: Option<(String, String, i64)>,
    /// Writes held back until the unit of work commits; `None` writes through at once.
    pending: Option<Pending>,
}

/// Writes a unit of work holds back: a member's columns and month counters change several
/// times in one transaction (points, growth, streak) and are written once, by `flush`.
#[derive(Debug, Clone, Default)]
struct Pending {
    balance: bool,
    growth_total: bool,
    /// The streak columns changed, at this time (the STREAK board's tie-break).
    streak_at: Option<DateTime<Utc>>,
    freezes: bool,
    months: Vec<PendingMonth>,
}

/// A month's counters as read with the member's row, with the boards' arrival times.
#[derive(Debug, Clone)]
struct MonthRead {
    month: String,
    totals: MonthTotals,
    earned_at: Option<DateTime<Utc>>,
    koc_score_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
struct PendingMonth {
    month: String,
    delta: MonthTotals,
    earned_at: Option<DateTime<Utc>>,
    koc_score_at: Option<DateTime<Utc>>,
}

impl Pending {
    fn month(&self, month: &str) -> MonthTotals {
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
    window_growth: i64,
    settle_due: bool,
}

/// `(SELECT column FROM member_months WHERE member_id = members.id AND month = ?)`.
fn month_subquery(column: member_months::Column, month: &str) -> Expr {
    Expr::SubQuery(
        None,
        Box::new(
            Query::select()
                .column((member_months::Entity, column))
                .from(member_months::Entity)
                .and_where(
                    Expr::col((member_months::Entity, member_months::Column::MemberId))
                        .equals((members::Entity, members::Column::Id)),
                )
                .and_where(
                    Expr::col((member_months::Entity, member_months::Column::Month)).eq(month),
                )
                .to_owned()
                .into(),
        ),
    )
}

/// The member's growth stored for the months `first..=last`, as a correlated subquery.
fn growth_subquery(first: &str, last: &str) -> Expr {
    let sum = Query::select()
        .expr(Func::coalesce([
            Expr::from(Func::sum(Expr::col((
                member_months::Entity,
                member_months::Column::Growth,
            )))),
            Expr::val(0_i64),
        ]))
        .from(member_months::Entity)
        .and_where(
            Expr::col((member_months::Entity, member_months::Column::MemberId))
                .equals((members::Entity, members::Column::Id)),
        )
        .and_where(Expr::col((member_months::Entity, member_months::Column::Month)).gte(first))
        .and_where(Expr::col((member_months::Entity, member_months::Column::Month)).lte(last))
        .to_owned();
    Expr::from(Func::cast_as(
        Expr::SubQuery(None, Box::new(sum.into())),
        Alias::new("BIGINT"),
    ))
}

/// Which of a member's pending purchases: those whose return window has closed, or not yet.
#[derive(Clone, Copy)]
enum PurchaseWindow {
    Matured,
    Open,
}

/// The member's pending purchases in `window` at `now` (correlated with `members.id`).
fn due_purchases(
    window: PurchaseWindow,
    now: DateTime<Utc>,
) -> sea_orm::sea_query::SelectStatement {
    let available_at = Expr::col((purchases::Entity, purchases::Column::AvailableAt));
    Query::select()
        .column((purchases::Entity, purchases::Column::PointsGranted))
        .from(purchases::Entity)
        .and_where(
            Expr::col((purchases::Entity, purchases::Column::MemberId))
                .equals((members::Entity, members::Column::Id)),
        )
        .and_where(
            Expr::col((purchases::Entity, purchases::Column::Status))
                .eq(crate::domain::purchase::PurchaseStatus::Pending.as_str()),
        )
        .and_where(match window {
            PurchaseWindow::Matured => available_at.lte(now),
            PurchaseWindow::Open => available_at.gt(now),
        })
        .to_owned()
}

/// The member's lots that lapsed by `now` with points left (correlated with `members.id`).
fn lapsed_lots(now: DateTime<Utc>) -> sea_orm::sea_query::SelectStatement {
    Query::select()
        .column((point_lots::Entity, point_lots::Column::Remaining))
        .from(point_lots::Entity)
        .and_where(
            Expr::col((point_lots::Entity, point_lots::Column::MemberId))
                .equals((members::Entity, members::Column::Id)),
        )
        .and_where(Expr::col((point_lots::Entity, point_lots::Column::Remaining)).gt(0))
        .and_where(Expr::col((point_lots::Entity, point_lots::Column::ExpiresAt)).lte(now))
        .to_owned()
}

/// `CAST(COALESCE((SELECT SUM(column) FROM <select>), 0) AS BIGINT)`.
fn sum_of(mut select: sea_orm::sea_query::SelectStatement, column: Expr) -> Expr {
    select.clear_selects();
    select.expr(Func::coalesce([
        Expr::from(Func::sum(column)),
        Expr::val(0_i64),
    ]));
    Expr::from(Func::cast_as(
        Expr::SubQuery(None, Box::new(select.into())),
        Alias::new("BIGINT"),
    ))
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
        },
        earned_at: row.month_earned_at,
        koc_score_at: row.month_koc_score_at,
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
        hide_from_leaderboards: row.hide_from_leaderboards,
        streak_at: row.streak_at,
        invites_at: row.invites_at,
        rules_version: 0,
        settle_due: true,
        month_read: None,
        growth_read: None,
        pending: None,
    }
}

impl LockedMember {
    /// The member's standing on every board as this unit of work leaves it, from what it read
    /// and wrote — no query. `None` when `month` is not the month read with the row.
    pub fn board_standings(
        &self,
        month: &str,
        streak_cutoff: NaiveDate,
    ) -> Option<Vec<(Board, Option<Standing>)>> {
        let read = self
            .month_read
            .as_ref()
            .filter(|read| read.month == month)?;
        let pending = self.pending.as_ref();
        let totals = read
            .totals
            .plus(pending.map(|p| p.month(month)).unwrap_or_default());
        let latest = |pick: fn(&PendingMonth) -> Option<DateTime<Utc>>| {
            pending.and_then(|p| {
                p.months
                    .iter()
                    .filter(|m| m.month == month)
                    .filter_map(pick)
                    .next_back()
            })
        };
        let earned_at = latest(|m| m.earned_at).or(read.earned_at);
        let koc_score_at = latest(|m| m.koc_score_at).or(read.koc_score_at);
        let streak_at = pending
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
            (Board::PointsMonth, on_board(totals.earned, earned_at)),
            (Board::KocMonth, on_board(totals.koc_score, koc_score_at)),
            (Board::Streak, on_board(streak, streak_at)),
            (
                Board::Referrals,
                on_board(i64::from(self.successful_invites), self.invites_at),
            ),
        ])
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
            }
            None => months.push(next),
        }
    }
    for month in months {
        upsert_month(
            db,
            member.id,
            &month.month,
            month.delta,
            month.earned_at,
            month.koc_score_at,
        )
        .await?;
    }
    Ok(())
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

fn entry_row(row: point_entries::Model) -> Result<LedgerEntry, AppError> {
    let kind = EntryKind::parse(&row.kind).ok_or_else(|| {
        AppError::internal(anyhow::anyhow!(
            "ledger entry {} has kind {}",
            row.id,
            row.kind
        ))
    })?;
    Ok(LedgerEntry {
        id: row.id,
        member_id: MemberId::new(row.member_id),
        kind,
        amount: row.amount,
        balance_after: row.balance_after,
        requested: row.requested,
        reference: row.reference,
        idempotency_key: row.idempotency_key,
        payload_hash: row.payload_hash,
        note: row.note,
        created_at: row.created_at,
    })
}

/// The entry a member already has under `key`, if any.
pub async fn entry_by_key(
    db: &impl ConnectionTrait,
    member: MemberId,
    key: &str,
) -> Result<Option<LedgerEntry>, AppError> {
    point_entries::Entity::find()
        .filter(point_entries::Column::MemberId.eq(member.get()))
        .filter(point_entries::Column::IdempotencyKey.eq(key))
        .one(db)
        .await?
        .map(entry_row)
        .transpose()
}

/// An entry to append.
pub struct NewEntry<'a> {
    pub member: MemberId,
    pub kind: EntryKind,
    pub amount: i64,
    pub balance_after: i64,
    pub requested: i64,
    pub reference: Option<&'a str>,
    pub idempotency_key: &'a str,
    pub payload_hash: &'a str,
    pub note: Option<&'a str>,
    pub now: DateTime<Utc>,
}

/// Appends an entry and returns its id.
///
/// # Errors
/// Database errors; a reused key violates `uq_point_entries_member_key`.
pub async fn insert_entry(db: &impl ConnectionTrait, new: NewEntry<'_>) -> Result<i64, DbErr> {
    let row = point_entries::ActiveModel {
        member_id: Set(new.member.get()),
        kind: Set(new.kind.as_str().to_owned()),
        amount: Set(new.amount),
        balance_after: Set(new.balance_after),
        requested: Set(new.requested),
        reference: Set(new.reference.map(str::to_owned)),
        idempotency_key: Set(new.idempotency_key.to_owned()),
        payload_hash: Set(new.payload_hash.to_owned()),
        note: Set(new.note.map(str::to_owned)),
        created_at: Set(new.now),
        ..Default::default()
    };
    Ok(point_entries::Entity::insert(row)
        .exec(db)
        .await?
        .last_insert_id)
}

/// A credit's lot.
pub async fn insert_lot(
    db: &impl ConnectionTrait,
    member: MemberId,
    entry_id: i64,
    amount: i64,
    available_at: DateTime<Utc>,
    expires_at: Option<DateTime<Utc>>,
) -> Result<(), DbErr> {
    let row = point_lots::ActiveModel {
        member_id: Set(member.get()),
        entry_id: Set(entry_id),
        amount: Set(amount),
        remaining: Set(amount),
        available_at: Set(available_at),
        expires_at: Set(expires_at),
        ..Default::default()
    };
    point_lots::Entity::insert(row).exec(db).await.map(|_| ())
}

/// The member's spendable lots at `now`, FIFO: soonest expiry first (never-expiring last),
/// then oldest.
pub async fn open_lots(
    db: &impl ConnectionTrait,
    member: MemberId,
    now: DateTime<Utc>,
) -> Result<Vec<OpenLot>, DbErr> {
    let rows = point_lots::Entity::find()
        .filter(point_lots::Column::MemberId.eq(member.get()))
        .filter(point_lots::Column::Remaining.gt(0))
        .filter(point_lots::Column::AvailableAt.lte(now))
        .filter(
            point_lots::Column::ExpiresAt
                .is_null()
                .or(point_lots::Column::ExpiresAt.gt(now)),
        )
        .order_by(
            Expr::col(point_lots::Column::ExpiresAt).is_null(),
            Order::Asc,
        )
        .order_by_asc(point_lots::Column::ExpiresAt)
        .order_by_asc(point_lots::Column::Id)
        .all(db)
        .await?;
    Ok(rows.into_iter().map(open_lot).collect())
}

fn open_lot(row: point_lots::Model) -> OpenLot {
    OpenLot {
        id: row.id,
        remaining: row.remaining,
    }
}

/// Lots of the member that have expired by `now` with points left.
pub async fn expired_lots(
    db: &impl ConnectionTrait,
    member: MemberId,
    now: DateTime<Utc>,
) -> Result<Vec<OpenLot>, DbErr> {
    let rows = point_lots::Entity::find()
        .filter(point_lots::Column::MemberId.eq(member.get()))
        .filter(point_lots::Column::Remaining.gt(0))
        .filter(point_lots::Column::ExpiresAt.lte(now))
        .order_by_asc(point_lots::Column::Id)
        .all(db)
        .await?;
    Ok(rows.into_iter().map(open_lot).collect())
}

/// Members with expired lots that still hold points (for the expiry job).
pub async fn members_with_expired_lots(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<MemberId>, DbErr> {
    let ids: Vec<i64> = point_lots::Entity::find()
        .select_only()
        .column(point_lots::Column::MemberId)
        .distinct()
        .filter(point_lots::Column::Remaining.gt(0))
        .filter(point_lots::Column::ExpiresAt.lte(now))
        .limit(limit)
        .into_tuple()
        .all(db)
        .await?;
    Ok(ids.into_iter().map(MemberId::new).collect())
}

/// Takes `take` points from a lot; fails unless the lot still held them.
///
/// # Errors
/// `INTERNAL` when the lot changed underneath (it cannot while the member is locked).
pub async fn consume_lot(
    db: &impl ConnectionTrait,
    lot_id: i64,
    take: i64,
) -> Result<(), AppError> {
    let result = point_lots::Entity::update_many()
        .col_expr(
            point_lots::Column::Remaining,
            Expr::col(point_lots::Column::Remaining).sub(take),
        )
        .filter(point_lots::Column::Id.eq(lot_id))
        .filter(point_lots::Column::Remaining.gte(take))
        .exec(db)
        .await?;
    if result.rows_affected == 1 {
        Ok(())
    } else {
        Err(AppError::internal(anyhow::anyhow!(
            "lot {lot_id} no longer holds {take} points"
        )))
    }
}

/// Points that lapse before `until` (what `expiringSoon` shows).
pub async fn expiring_between(
    db: &impl ConnectionTrait,
    member: MemberId,
    now: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<i64, DbErr> {
    let total: Option<Option<i64>> = point_lots::Entity::find()
        .select_only()
        // SUM(bigint) is numeric on PostgreSQL; cast it back.
        .column_as(
            Expr::from(Func::cast_as(
                Func::sum(Expr::col(point_lots::Column::Remaining)),
                Alias::new("BIGINT"),
            )),
            "total",
        )
        .filter(point_lots::Column::MemberId.eq(member.get()))
        .filter(point_lots::Column::Remaining.gt(0))
        .filter(point_lots::Column::ExpiresAt.gt(now))
        .filter(point_lots::Column::ExpiresAt.lte(until))
        .into_tuple()
        .one(db)
        .await?;
    Ok(total.flatten().unwrap_or(0))
}

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
    fn plus(self, other: Self) -> Self {
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

async fn upsert_month(
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

/// A member's points as a read sees them, without a lock or a write, in one statement: the
/// stored balance, plus purchase points whose return window has closed, less lot points that
/// have lapsed (both are settled by the next write or the expiry job); and the purchase points
/// still pending.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, sea_orm::FromQueryResult)]
pub struct PointsGlance {
    pub balance: i64,
    pub pending: i64,
}

/// The sums a points glance adds to the stored balance, read with the member's row.
#[derive(sea_orm::FromQueryResult)]
struct GlanceSums {
    points_balance: i64,
    matured: i64,
    pending: i64,
    lapsed: i64,
}

impl GlanceSums {
    fn glance(&self) -> PointsGlance {
        PointsGlance {
            balance: self
                .points_balance
                .saturating_add(self.matured)
                .saturating_sub(self.lapsed)
                .clamp(0, i64::MAX),
            pending: self.pending,
        }
    }
}

#[derive(sea_orm::FromQueryResult)]
struct CardRow {
    #[sea_orm(nested)]
    member: members::Model,
    matured: i64,
    pending: i64,
    lapsed: i64,
    rules_version: i64,
}

/// Adds the glance's sums at `now` to a select of the member's row: `matured`, `pending`,
/// `lapsed` (`points_balance` comes with the row).
fn with_glance_sums(
    select: sea_orm::Select<members::Entity>,
    now: DateTime<Utc>,
) -> sea_orm::Select<members::Entity> {
    let granted = Expr::col((purchases::Entity, purchases::Column::PointsGranted));
    let remaining = Expr::col((point_lots::Entity, point_lots::Column::Remaining));
    select
        .column_as(
            sum_of(due_purchases(PurchaseWindow::Matured, now), granted.clone()),
            "matured",
        )
        .column_as(
            sum_of(due_purchases(PurchaseWindow::Open, now), granted),
            "pending",
        )
        .column_as(sum_of(lapsed_lots(now), remaining), "lapsed")
}

/// The member card in one statement, without a lock: the profile, the points as
/// `points_glance` computes them, and the rules' version (for the tier from the cache).
///
/// # Errors
/// `INTERNAL` on database failure.
pub async fn member_card(
    db: &impl ConnectionTrait,
    member: MemberId,
    now: DateTime<Utc>,
) -> Result<Option<(crate::domain::member::MemberProfile, PointsGlance, i64)>, DbErr> {
    let row = with_glance_sums(members::Entity::find_by_id(member.get()), now)
        .column_as(
            crate::store::programme::rules_version_column(),
            "rules_version",
        )
        .into_model::<CardRow>()
        .one(db)
        .await?;
    Ok(row.map(|row| {
        let glance = GlanceSums {
            points_balance: row.member.points_balance,
            matured: row.matured,
            pending: row.pending,
            lapsed: row.lapsed,
        }
        .glance();
        (
            crate::store::members::profile(row.member),
            glance,
            row.rules_version,
        )
    }))
}

/// # Errors
/// `NOT_FOUND` for an unknown member; `INTERNAL` on database failure.
pub async fn points_glance(
    db: &impl ConnectionTrait,
    member: MemberId,
    now: DateTime<Utc>,
) -> Result<PointsGlance, AppError> {
    let select = members::Entity::find_by_id(member.get())
        .select_only()
        .column(members::Column::PointsBalance);
    let sums = with_glance_sums(select, now)
        .into_model::<GlanceSums>()
        .one(db)
        .await?
        .ok_or(AppError::NotFound("member"))?;
    Ok(sums.glance())
}

/// One page of a member's entries, newest first, strictly older than `before` when given.
pub async fn history(
    db: &impl ConnectionTrait,
    member: MemberId,
    kinds: &[EntryKind],
    before: Option<i64>,
    limit: u64,
) -> Result<Vec<LedgerEntry>, AppError> {
    let mut query =
        point_entries::Entity::find().filter(point_entries::Column::MemberId.eq(member.get()));
    if !kinds.is_empty() {
        query = query.filter(point_entries::Column::Kind.is_in(kinds.iter().map(|k| k.as_str())));
    }
    if let Some(before) = before {
        query = query.filter(point_entries::Column::Id.lt(before));
    }
    query
        .order_by_desc(point_entries::Column::Id)
        .limit(limit)
        .all(db)
        .await?
        .into_iter()
        .map(entry_row)
        .collect()
}
