//! Ledger entries (积分明细) and the lots (积分批次) credits open and debits consume.

use chrono::{DateTime, Utc};
use entity::{point_entries, point_lots};
use sea_orm::sea_query::{Alias, CommonTableExpression, Expr, ExprTrait, Func, Query, WithClause};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseBackend, DbErr, EntityTrait,
    IdenStatic, Order, QueryFilter, QueryOrder, QuerySelect, QueryTrait,
};

use crate::domain::ids::MemberId;
use crate::domain::points::{EntryKind, LedgerEntry, OpenLot};
use crate::error::AppError;

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
    Ok(point_entries::Entity::insert(new_entry_row(new))
        .exec(db)
        .await?
        .last_insert_id)
}

/// The lot a credit opens: the points it granted, spendable from `available_at` until
/// `expires_at` (never, when `None`).
#[derive(Debug, Clone, Copy)]
pub struct NewLot {
    pub amount: i64,
    pub available_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
}

/// Appends a credit's entry and, when it granted points, its lot; returns the entry's id.
///
/// On PostgreSQL the two rows go in one statement (the entry inserted in a `WITH` clause, the
/// lot selected from it): every credit is on a hot path whose statements are counted.
///
/// # Errors
/// Database errors; a reused key violates `uq_point_entries_member_key`.
pub async fn insert_credit(
    db: &impl ConnectionTrait,
    new: NewEntry<'_>,
    lot: Option<NewLot>,
) -> Result<i64, DbErr> {
    let member = new.member;
    match lot {
        None => insert_entry(db, new).await,
        Some(lot) if db.get_database_backend() == DatabaseBackend::Postgres => {
            insert_entry_and_lot(db, new, lot).await
        }
        Some(lot) => {
            let entry_id = insert_entry(db, new).await?;
            insert_lot(db, member, entry_id, lot).await?;
            Ok(entry_id)
        }
    }
}

/// `WITH entry AS (INSERT INTO point_entries … RETURNING id)
///  INSERT INTO point_lots … SELECT …, entry.id, … FROM entry RETURNING entry_id`
async fn insert_entry_and_lot(
    db: &impl ConnectionTrait,
    new: NewEntry<'_>,
    lot: NewLot,
) -> Result<i64, DbErr> {
    let entry_cte = Alias::new("entry");
    let member = new.member.get();
    let mut entry = point_entries::Entity::insert(new_entry_row(new)).into_query();
    entry.returning_col(point_entries::Column::Id);
    let from_entry = Query::select()
        .expr(Expr::val(member))
        .column((entry_cte.clone(), point_entries::Column::Id))
        .expr(Expr::val(lot.amount))
        .expr(Expr::val(lot.amount))
        .expr(Expr::val(lot.available_at))
        .expr(Expr::val(lot.expires_at))
        .from(entry_cte.clone())
        .to_owned();
    let mut lot_insert = Query::insert();
    lot_insert
        .into_table(point_lots::Entity)
        .columns([
            point_lots::Column::MemberId,
            point_lots::Column::EntryId,
            point_lots::Column::Amount,
            point_lots::Column::Remaining,
            point_lots::Column::AvailableAt,
            point_lots::Column::ExpiresAt,
        ])
        .select_from(from_entry)
        .map_err(|e| DbErr::Custom(format!("building the credit statement: {e}")))?
        .returning_col(point_lots::Column::EntryId);
    let statement = lot_insert.with(
        WithClause::new()
            .cte(
                CommonTableExpression::new()
                    .query(entry)
                    .table_name(entry_cte)
                    .to_owned(),
            )
            .to_owned(),
    );
    let row = db
        .query_one(&statement)
        .await?
        .ok_or_else(|| DbErr::RecordNotInserted)?;
    row.try_get("", point_lots::Column::EntryId.as_str())
}

fn new_entry_row(new: NewEntry<'_>) -> point_entries::ActiveModel {
    point_entries::ActiveModel {
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
    }
}

async fn insert_lot(
    db: &impl ConnectionTrait,
    member: MemberId,
    entry_id: i64,
    lot: NewLot,
) -> Result<(), DbErr> {
    let row = point_lots::ActiveModel {
        member_id: Set(member.get()),
        entry_id: Set(entry_id),
        amount: Set(lot.amount),
        remaining: Set(lot.amount),
        available_at: Set(lot.available_at),
        expires_at: Set(lot.expires_at),
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
