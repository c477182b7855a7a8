//! The points ledger tables: entries, lots, month counters, and the member's cached balance.

use chrono::{DateTime, NaiveDate, Utc};
use entity::{member_months, members, point_entries, point_lots};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Func, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, Order, QueryFilter,
    QueryOrder, QuerySelect,
};

use crate::domain::ids::MemberId;
use crate::domain::points::{EntryKind, LedgerEntry, OpenLot};
use crate::error::AppError;

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
    /// The month counters read with the row: (month, as stored).
    month_read: Option<(String, MonthTotals)>,
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
    streak: Option<crate::store::signins::StreakColumns>,
    months: Vec<PendingMonth>,
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
            .fold(MonthTotals::default(), |sum, pending| sum.plus(pending.delta))
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
    window_growth: i64,
    settle_due: i32,
}

/// Locks the member for a unit of work and reads, in the same statement, everything its common
/// path needs besides: the rules' version, this month's counters, the trailing growth and
/// whether purchases or lots are due. Writes to the member are then held back until `flush`.
///
/// # Errors
/// `NOT_FOUND` for an unknown member; `INTERNAL` on database failure.
pub async fn lock_member_for_work(
    db: &impl ConnectionTrait,
    id: MemberId,
    reads: WorkReads<'_>,
) -> Result<LockedMember, AppError> {
    let month_column = |column: &str| {
        Expr::cust_with_values(
            format!(
                "COALESCE((SELECT mm.{column} FROM member_months mm \
                 WHERE mm.member_id = members.id AND mm.month = ?), 0)"
            ),
            [reads.month],
        )
    };
    let (first, last) = reads.growth_months;
    let row = members::Entity::find_by_id(id.get())
        .column_as(crate::store::programme::rules_version_column(), "rules_version")
        .column_as(month_column("earned"), "month_earned")
        .column_as(month_column("redeemed"), "month_redeemed")
        .column_as(month_column("cut_by_cap"), "month_cut_by_cap")
        .column_as(month_column("growth"), "month_growth")
        .column_as(month_column("koc_score"), "month_koc_score")
        .column_as(
            Expr::cust_with_values(
                "CAST(COALESCE((SELECT SUM(mm.growth) FROM member_months mm \
                 WHERE mm.member_id = members.id AND mm.month >= ? AND mm.month <= ?), 0) \
                 AS BIGINT)",
                [first, last],
            ),
            "window_growth",
        )
        .column_as(
            Expr::cust_with_values(
                "CASE WHEN EXISTS (SELECT 1 FROM purchases p WHERE p.member_id = members.id \
                 AND p.status = ? AND p.available_at <= ?) OR EXISTS (SELECT 1 FROM point_lots l \
                 WHERE l.member_id = members.id AND l.remaining > 0 AND l.expires_at <= ?) \
                 THEN 1 ELSE 0 END",
                [
                    sea_orm::Value::from(crate::domain::purchase::PurchaseStatus::Pending.as_str()),
                    sea_orm::Value::from(reads.now),
                    sea_orm::Value::from(reads.now),
                ],
            ),
            "settle_due",
        )
        .lock_exclusive()
        .into_model::<WorkRow>()
        .one(db)
        .await?
        .ok_or(AppError::NotFound("member"))?;
    let mut member = locked(id, row.member);
    member.rules_version = row.rules_version;
    member.settle_due = row.settle_due != 0;
    member.month_read = Some((
        reads.month.to_owned(),
        MonthTotals {
            earned: row.month_earned,
            redeemed: row.month_redeemed,
            cut_by_cap: row.month_cut_by_cap,
            growth: row.month_growth,
            koc_score: row.month_koc_score,
        },
    ));
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
        rules_version: 0,
        settle_due: true,
        month_read: None,
        growth_read: None,
        pending: None,
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
        update = update.col_expr(members::Column::GrowthTotal, Expr::value(member.growth_total));
        changed = true;
    }
    if let Some(streak) = pending.streak {
        update = crate::store::signins::streak_columns(update, &streak);
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
        upsert_month(db, member.id, &month.month, month.delta, month.earned_at, month.koc_score_at)
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
    members::Entity::update_many()
        .col_expr(members::Column::PointsBalance, Expr::value(balance))
        .filter(members::Column::Id.eq(member.id.get()))
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
    members::Entity::update_many()
        .col_expr(
            members::Column::GrowthTotal,
            Expr::col(members::Column::GrowthTotal).add(amount),
        )
        .filter(members::Column::Id.eq(member.id.get()))
        .exec(db)
        .await
        .map(|_| ())
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
        pending.streak = Some(columns);
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
        Some((read, totals)) if read == month => *totals,
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
        _ => {
            member_months::Entity::find()
                .filter(member_months::Column::MemberId.eq(member.id.get()))
                .filter(member_months::Column::Month.gte(first))
                .filter(member_months::Column::Month.lte(last))
                .all(db)
                .await?
                .iter()
                .map(|row| row.growth)
                .sum()
        }
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
