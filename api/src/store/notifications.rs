//! The `notifications` table (the member inbox).

use chrono::{DateTime, Utc};
use entity::{notifications, point_lots};
use sea_orm::sea_query::{Alias, Expr, Func};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect,
};

use crate::domain::ids::MemberId;
use crate::domain::notification::{InboxNotice, Notice, NoticeKind};
use crate::error::AppError;

/// Adds a notice; with a `dedupe_key`, only the first notice under that key is kept. True when
/// the notice was added.
pub async fn insert(
    db: &impl ConnectionTrait,
    member: MemberId,
    notice: Notice,
    reference: Option<&str>,
    dedupe_key: Option<&str>,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let row = notifications::ActiveModel {
        member_id: Set(member.get()),
        kind: Set(notice.kind.as_str().to_owned()),
        title: Set(notice.title),
        body: Set(notice.body),
        reference: Set(reference.map(str::to_owned)),
        dedupe_key: Set(dedupe_key.map(str::to_owned)),
        read_at: Set(None),
        created_at: Set(now),
        ..Default::default()
    };
    notifications::Entity::insert(row)
        .on_conflict_do_nothing_on([
            notifications::Column::MemberId,
            notifications::Column::DedupeKey,
        ])
        .exec_without_returning(db)
        .await
        .map(|added| matches!(added, sea_orm::TryInsertResult::Inserted(1)))
}

/// One page of the inbox, newest first, older than `before` when given.
pub async fn page(
    db: &impl ConnectionTrait,
    member: MemberId,
    unread_only: bool,
    before: Option<i64>,
    limit: u64,
) -> Result<Vec<InboxNotice>, AppError> {
    let mut query =
        notifications::Entity::find().filter(notifications::Column::MemberId.eq(member.get()));
    if unread_only {
        query = query.filter(notifications::Column::ReadAt.is_null());
    }
    if let Some(before) = before {
        query = query.filter(notifications::Column::Id.lt(before));
    }
    query
        .order_by_desc(notifications::Column::Id)
        .limit(limit)
        .all(db)
        .await?
        .into_iter()
        .map(notice)
        .collect()
}

fn notice(row: notifications::Model) -> Result<InboxNotice, AppError> {
    Ok(InboxNotice {
        id: row.id,
        kind: NoticeKind::parse(&row.kind).ok_or_else(|| {
            AppError::internal(anyhow::anyhow!("notice {} has kind {}", row.id, row.kind))
        })?,
        title: row.title,
        body: row.body,
        reference: row.reference,
        read_at: row.read_at,
        created_at: row.created_at,
    })
}

/// Notices with ids above `after`, oldest first: every member's (the live feed's read) or
/// one member's (a subscription's replay).
pub async fn after(
    db: &impl ConnectionTrait,
    member: Option<MemberId>,
    after: i64,
    limit: u64,
) -> Result<Vec<(MemberId, InboxNotice)>, AppError> {
    let mut query = notifications::Entity::find().filter(notifications::Column::Id.gt(after));
    if let Some(member) = member {
        query = query.filter(notifications::Column::MemberId.eq(member.get()));
    }
    query
        .order_by_asc(notifications::Column::Id)
        .limit(limit)
        .all(db)
        .await?
        .into_iter()
        .map(|row| Ok((MemberId::new(row.member_id), notice(row)?)))
        .collect()
}

/// The highest notice id so far (0 for none).
pub async fn last_id(db: &impl ConnectionTrait) -> Result<i64, DbErr> {
    let last = notifications::Entity::find()
        .order_by_desc(notifications::Column::Id)
        .one(db)
        .await?;
    Ok(last.map_or(0, |row| row.id))
}

pub async fn unread_count(db: &impl ConnectionTrait, member: MemberId) -> Result<u64, DbErr> {
    notifications::Entity::find()
        .filter(notifications::Column::MemberId.eq(member.get()))
        .filter(notifications::Column::ReadAt.is_null())
        .count(db)
        .await
}

/// Marks the member's notices `ids` (all of them when `None`) read; returns how many changed.
pub async fn mark_read(
    db: &impl ConnectionTrait,
    member: MemberId,
    ids: Option<&[i64]>,
    now: DateTime<Utc>,
) -> Result<u64, DbErr> {
    let mut update = notifications::Entity::update_many()
        .col_expr(notifications::Column::ReadAt, Expr::value(Some(now)))
        .filter(notifications::Column::MemberId.eq(member.get()))
        .filter(notifications::Column::ReadAt.is_null());
    if let Some(ids) = ids {
        update = update.filter(notifications::Column::Id.is_in(ids.iter().copied()));
    }
    Ok(update.exec(db).await?.rows_affected)
}

/// Points per member and expiry instant lapsing in (`now`, `until`].
pub async fn expiring_lots(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<Vec<(MemberId, DateTime<Utc>, i64)>, DbErr> {
    let rows: Vec<(i64, DateTime<Utc>, i64)> = point_lots::Entity::find()
        .select_only()
        .column(point_lots::Column::MemberId)
        .column(point_lots::Column::ExpiresAt)
        .column_as(
            Expr::from(Func::cast_as(
                Func::sum(Expr::col(point_lots::Column::Remaining)),
                Alias::new("BIGINT"),
            )),
            "total",
        )
        .filter(point_lots::Column::Remaining.gt(0))
        .filter(point_lots::Column::ExpiresAt.gt(now))
        .filter(point_lots::Column::ExpiresAt.lte(until))
        .group_by(point_lots::Column::MemberId)
        .group_by(point_lots::Column::ExpiresAt)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(member, at, total)| (MemberId::new(member), at, total))
        .collect())
}
