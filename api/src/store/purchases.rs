//! The `purchases` and `order_deductions` tables.

use chrono::{DateTime, Utc};
use entity::{order_deductions, purchases};
use sea_orm::sea_query::{Alias, Expr, Func};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

use crate::domain::ids::MemberId;
use crate::domain::purchase::PurchaseStatus;
use crate::error::{AppError, UniqueIndex};

pub const UQ_ORDER_ID: UniqueIndex = UniqueIndex {
    name: "uq_purchases_order_id",
    sqlite_columns: "purchases.order_id",
};

pub const UQ_DEDUCTION_ORDER_ID: UniqueIndex = UniqueIndex {
    name: "uq_order_deductions_order_id",
    sqlite_columns: "order_deductions.order_id",
};

/// A recorded purchase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Purchase {
    pub id: i64,
    pub order_id: String,
    pub member_id: MemberId,
    pub amount_cents: i64,
    pub points_requested: i64,
    pub points_granted: i64,
    pub growth: i64,
    pub occurred_at: DateTime<Utc>,
    pub available_at: DateTime<Utc>,
    pub status: PurchaseStatus,
    pub refunded_after_window: bool,
    pub points_reversed: i64,
    pub shortfall: i64,
    /// When the purchase was recorded (when the points boards counted it).
    pub recorded_at: DateTime<Utc>,
}

fn purchase(row: purchases::Model) -> Result<Purchase, AppError> {
    let status = PurchaseStatus::parse(&row.status).ok_or_else(|| {
        AppError::internal(anyhow::anyhow!(
            "purchase {} has status {}",
            row.id,
            row.status
        ))
    })?;
    Ok(Purchase {
        id: row.id,
        order_id: row.order_id,
        member_id: MemberId::new(row.member_id),
        amount_cents: row.amount_cents,
        points_requested: row.points_requested,
        points_granted: row.points_granted,
        growth: row.growth,
        occurred_at: row.occurred_at,
        available_at: row.available_at,
        status,
        refunded_after_window: row.refunded_after_window,
        points_reversed: row.points_reversed,
        shortfall: row.shortfall,
        recorded_at: row.created_at,
    })
}

/// A purchase to record.
pub struct NewPurchase<'a> {
    pub order_id: &'a str,
    pub member: MemberId,
    pub amount_cents: i64,
    pub points_requested: i64,
    pub points_granted: i64,
    pub growth: i64,
    pub occurred_at: DateTime<Utc>,
    pub available_at: DateTime<Utc>,
    pub now: DateTime<Utc>,
}

/// # Errors
/// Database errors; a known order id violates `UQ_ORDER_ID`.
pub async fn insert(db: &impl ConnectionTrait, new: NewPurchase<'_>) -> Result<(), DbErr> {
    let row = purchases::ActiveModel {
        order_id: Set(new.order_id.to_owned()),
        member_id: Set(new.member.get()),
        amount_cents: Set(new.amount_cents),
        points_requested: Set(new.points_requested),
        points_granted: Set(new.points_granted),
        growth: Set(new.growth),
        occurred_at: Set(new.occurred_at),
        available_at: Set(new.available_at),
        status: Set(PurchaseStatus::Pending.as_str().to_owned()),
        refunded_after_window: Set(false),
        points_reversed: Set(0),
        shortfall: Set(0),
        refunded_at: Set(None),
        created_at: Set(new.now),
        ..Default::default()
    };
    purchases::Entity::insert(row).exec(db).await.map(|_| ())
}

pub async fn by_order(
    db: &impl ConnectionTrait,
    order_id: &str,
) -> Result<Option<Purchase>, AppError> {
    purchases::Entity::find()
        .filter(purchases::Column::OrderId.eq(order_id))
        .one(db)
        .await?
        .map(purchase)
        .transpose()
}

/// The member's pending purchases whose window has closed by `now`, oldest first.
pub async fn due_for_member(
    db: &impl ConnectionTrait,
    member: MemberId,
    now: DateTime<Utc>,
) -> Result<Vec<Purchase>, AppError> {
    purchases::Entity::find()
        .filter(purchases::Column::MemberId.eq(member.get()))
        .filter(purchases::Column::Status.eq(PurchaseStatus::Pending.as_str()))
        .filter(purchases::Column::AvailableAt.lte(now))
        .order_by_asc(purchases::Column::AvailableAt)
        .order_by_asc(purchases::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(purchase)
        .collect()
}

/// Members with purchases whose window has closed (for the scheduled job).
pub async fn members_with_due(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<MemberId>, DbErr> {
    let ids: Vec<i64> = purchases::Entity::find()
        .select_only()
        .column(purchases::Column::MemberId)
        .distinct()
        .filter(purchases::Column::Status.eq(PurchaseStatus::Pending.as_str()))
        .filter(purchases::Column::AvailableAt.lte(now))
        .limit(limit)
        .into_tuple()
        .all(db)
        .await?;
    Ok(ids.into_iter().map(MemberId::new).collect())
}

/// Points still inside their return window.
pub async fn pending_points(
    db: &impl ConnectionTrait,
    member: MemberId,
    now: DateTime<Utc>,
) -> Result<i64, DbErr> {
    let total: Option<Option<i64>> = purchases::Entity::find()
        .select_only()
        .column_as(
            Expr::from(Func::cast_as(
                Func::sum(Expr::col(purchases::Column::PointsGranted)),
                Alias::new("BIGINT"),
            )),
            "total",
        )
        .filter(purchases::Column::MemberId.eq(member.get()))
        .filter(purchases::Column::Status.eq(PurchaseStatus::Pending.as_str()))
        .filter(purchases::Column::AvailableAt.gt(now))
        .into_tuple()
        .one(db)
        .await?;
    Ok(total.flatten().unwrap_or(0))
}

pub async fn mark_available(db: &impl ConnectionTrait, id: i64) -> Result<(), DbErr> {
    purchases::Entity::update_many()
        .col_expr(
            purchases::Column::Status,
            Expr::value(PurchaseStatus::Available.as_str()),
        )
        .filter(purchases::Column::Id.eq(id))
        .exec(db)
        .await
        .map(|_| ())
}

/// How a refund ended.
pub struct RefundColumns {
    pub after_window: bool,
    pub points_reversed: i64,
    pub shortfall: i64,
    pub now: DateTime<Utc>,
}

pub async fn mark_refunded(
    db: &impl ConnectionTrait,
    id: i64,
    refund: RefundColumns,
) -> Result<(), DbErr> {
    purchases::Entity::update_many()
        .col_expr(
            purchases::Column::Status,
            Expr::value(PurchaseStatus::Refunded.as_str()),
        )
        .col_expr(
            purchases::Column::RefundedAfterWindow,
            Expr::value(refund.after_window),
        )
        .col_expr(
            purchases::Column::PointsReversed,
            Expr::value(refund.points_reversed),
        )
        .col_expr(purchases::Column::Shortfall, Expr::value(refund.shortfall))
        .col_expr(purchases::Column::RefundedAt, Expr::value(Some(refund.now)))
        .filter(purchases::Column::Id.eq(id))
        .exec(db)
        .await
        .map(|_| ())
}

/// Points paid toward an order at checkout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deduction {
    pub order_id: String,
    pub member_id: MemberId,
    pub points: i64,
    pub amount_cents: i64,
    pub deduction_cents: i64,
    pub reversed: bool,
}

fn deduction(row: order_deductions::Model) -> Deduction {
    Deduction {
        order_id: row.order_id,
        member_id: MemberId::new(row.member_id),
        points: row.points,
        amount_cents: row.amount_cents,
        deduction_cents: row.deduction_cents,
        reversed: row.status == "REVERSED",
    }
}

/// # Errors
/// Database errors; a known order id violates `UQ_DEDUCTION_ORDER_ID`.
pub async fn insert_deduction(
    db: &impl ConnectionTrait,
    new: &Deduction,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let row = order_deductions::ActiveModel {
        order_id: Set(new.order_id.clone()),
        member_id: Set(new.member_id.get()),
        points: Set(new.points),
        amount_cents: Set(new.amount_cents),
        deduction_cents: Set(new.deduction_cents),
        status: Set("APPLIED".to_owned()),
        created_at: Set(now),
        ..Default::default()
    };
    order_deductions::Entity::insert(row)
        .exec(db)
        .await
        .map(|_| ())
}

pub async fn deduction_by_order(
    db: &impl ConnectionTrait,
    order_id: &str,
) -> Result<Option<Deduction>, DbErr> {
    Ok(order_deductions::Entity::find()
        .filter(order_deductions::Column::OrderId.eq(order_id))
        .one(db)
        .await?
        .map(deduction))
}

pub async fn mark_deduction_reversed(
    db: &impl ConnectionTrait,
    order_id: &str,
) -> Result<(), DbErr> {
    order_deductions::Entity::update_many()
        .col_expr(order_deductions::Column::Status, Expr::value("REVERSED"))
        .filter(order_deductions::Column::OrderId.eq(order_id))
        .exec(db)
        .await
        .map(|_| ())
}

/// Recomputes the purchase facts on member rows from their purchases not refunded: the last
/// purchase, and the purchases and spend since `window_start` (the trailing 12 months). One
/// statement: for one member after a purchase or a refund, or for every member who ever bought
/// (the scheduled pass rolling the window).
///
/// # Errors
/// Database errors.
pub async fn refresh_facts(
    db: &impl sea_orm::ConnectionTrait,
    member: Option<MemberId>,
    window_start: DateTime<Utc>,
) -> Result<(), DbErr> {
    let backend = db.get_database_backend();
    let p = |n: u8| match backend {
        sea_orm::DatabaseBackend::Postgres => format!("${n}"),
        _ => "?".to_owned(),
    };
    let scope = match member {
        Some(_) => format!("id = {}", p(3)),
        None => "last_purchase_at IS NOT NULL \
                 OR EXISTS (SELECT 1 FROM purchases p WHERE p.member_id = members.id)"
            .to_owned(),
    };
    let sql = format!(
        "UPDATE members SET \
         last_purchase_at = (SELECT MAX(occurred_at) FROM purchases p \
            WHERE p.member_id = members.id AND p.status <> 'REFUNDED'), \
         purchases_12m = (SELECT COUNT(*) FROM purchases p \
            WHERE p.member_id = members.id AND p.status <> 'REFUNDED' AND p.occurred_at >= {}), \
         spend_12m_cents = COALESCE((SELECT SUM(amount_cents) FROM purchases p \
            WHERE p.member_id = members.id AND p.status <> 'REFUNDED' AND p.occurred_at >= {}), 0) \
         WHERE {scope}",
        p(1),
        p(2),
    );
    let mut values: Vec<sea_orm::Value> = vec![window_start.into(), window_start.into()];
    if let Some(member) = member {
        values.push(member.get().into());
    }
    db.execute_raw(sea_orm::Statement::from_sql_and_values(
        backend, sql, values,
    ))
    .await
    .map(|_| ())
}
