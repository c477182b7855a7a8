//! The `referrals` table and the members' invite counters.

use chrono::{DateTime, NaiveDate, Utc};
use entity::{members, purchases, referrals};
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect,
};

use crate::domain::ids::MemberId;
use crate::domain::leaderboard;
use crate::domain::referral::ReferralStatus;
use crate::error::{AppError, UniqueIndex};

pub const UQ_INVITEE: UniqueIndex = UniqueIndex {
    name: "uq_referrals_invitee",
    sqlite_columns: "referrals.invitee_id",
};

/// An invite, bound by the invitee.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Referral {
    pub id: i64,
    pub inviter: MemberId,
    pub invitee: MemberId,
    pub status: ReferralStatus,
    pub rewarded: bool,
    pub inviter_points: i64,
    pub invitee_points: i64,
    pub bound_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
    pub voided_at: Option<DateTime<Utc>>,
}

fn referral(row: referrals::Model) -> Result<Referral, AppError> {
    let status = ReferralStatus::parse(&row.status).ok_or_else(|| {
        AppError::internal(anyhow::anyhow!(
            "referral {} has status {}",
            row.id,
            row.status
        ))
    })?;
    Ok(Referral {
        id: row.id,
        inviter: MemberId::new(row.inviter_id),
        invitee: MemberId::new(row.invitee_id),
        status,
        rewarded: row.rewarded,
        inviter_points: row.inviter_points,
        invitee_points: row.invitee_points,
        bound_at: row.bound_at,
        completed_at: row.completed_at,
        voided_at: row.voided_at,
    })
}

/// # Errors
/// Database errors; a member binding twice violates `UQ_INVITEE`.
pub async fn insert(
    db: &impl ConnectionTrait,
    inviter: MemberId,
    invitee: MemberId,
    now: DateTime<Utc>,
) -> Result<i64, DbErr> {
    let row = referrals::ActiveModel {
        inviter_id: Set(inviter.get()),
        invitee_id: Set(invitee.get()),
        status: Set(ReferralStatus::Bound.as_str().to_owned()),
        rewarded: Set(false),
        inviter_points: Set(0),
        invitee_points: Set(0),
        bound_at: Set(now),
        ..Default::default()
    };
    Ok(referrals::Entity::insert(row)
        .exec(db)
        .await?
        .last_insert_id)
}

pub async fn find(db: &impl ConnectionTrait, id: i64) -> Result<Option<Referral>, AppError> {
    referrals::Entity::find_by_id(id)
        .one(db)
        .await?
        .map(referral)
        .transpose()
}

pub async fn of_invitee(
    db: &impl ConnectionTrait,
    invitee: MemberId,
) -> Result<Option<Referral>, AppError> {
    referrals::Entity::find()
        .filter(referrals::Column::InviteeId.eq(invitee.get()))
        .one(db)
        .await?
        .map(referral)
        .transpose()
}

/// The member who invited `member`, if any (void invites included: they still happened).
pub async fn inviter_of(
    db: &impl ConnectionTrait,
    member: MemberId,
) -> Result<Option<MemberId>, DbErr> {
    let inviter: Option<i64> = referrals::Entity::find()
        .select_only()
        .column(referrals::Column::InviterId)
        .filter(referrals::Column::InviteeId.eq(member.get()))
        .into_tuple()
        .one(db)
        .await?;
    Ok(inviter.map(MemberId::new))
}

/// What completing an invite recorded.
pub struct Completion {
    pub rewarded: bool,
    pub inviter_points: i64,
    pub invitee_points: i64,
    pub day: NaiveDate,
    pub now: DateTime<Utc>,
}

/// Marks a bound invite completed; false when it was not bound any more.
pub async fn complete(
    db: &impl ConnectionTrait,
    id: i64,
    completion: Completion,
) -> Result<bool, DbErr> {
    let result = referrals::Entity::update_many()
        .col_expr(
            referrals::Column::Status,
            Expr::value(ReferralStatus::Completed.as_str()),
        )
        .col_expr(
            referrals::Column::Rewarded,
            Expr::value(completion.rewarded),
        )
        .col_expr(
            referrals::Column::InviterPoints,
            Expr::value(completion.inviter_points),
        )
        .col_expr(
            referrals::Column::InviteePoints,
            Expr::value(completion.invitee_points),
        )
        .col_expr(referrals::Column::CompletedAt, Expr::value(completion.now))
        .col_expr(referrals::Column::CompletedDay, Expr::value(completion.day))
        .filter(referrals::Column::Id.eq(id))
        .filter(referrals::Column::Status.eq(ReferralStatus::Bound.as_str()))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Voids an invite; false when it was void already.
pub async fn void(db: &impl ConnectionTrait, id: i64, now: DateTime<Utc>) -> Result<bool, DbErr> {
    let result = referrals::Entity::update_many()
        .col_expr(
            referrals::Column::Status,
            Expr::value(ReferralStatus::Void.as_str()),
        )
        .col_expr(referrals::Column::VoidedAt, Expr::value(now))
        .filter(referrals::Column::Id.eq(id))
        .filter(referrals::Column::Status.ne(ReferralStatus::Void.as_str()))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Invites of `inviter` paid on business day `day` (voided ones included: the slot was used).
pub async fn rewarded_on(
    db: &impl ConnectionTrait,
    inviter: MemberId,
    day: NaiveDate,
) -> Result<u64, DbErr> {
    referrals::Entity::find()
        .filter(referrals::Column::InviterId.eq(inviter.get()))
        .filter(referrals::Column::CompletedDay.eq(day))
        .filter(referrals::Column::Rewarded.eq(true))
        .count(db)
        .await
}

/// Invites of `inviter` completed (and not void) in [start, end).
pub async fn completed_between(
    db: &impl ConnectionTrait,
    inviter: MemberId,
    (start, end): (Option<DateTime<Utc>>, Option<DateTime<Utc>>),
) -> Result<i64, DbErr> {
    let mut query = referrals::Entity::find()
        .filter(referrals::Column::InviterId.eq(inviter.get()))
        .filter(referrals::Column::Status.eq(ReferralStatus::Completed.as_str()));
    if let Some(start) = start {
        query = query.filter(referrals::Column::CompletedAt.gte(start));
    }
    if let Some(end) = end {
        query = query.filter(referrals::Column::CompletedAt.lt(end));
    }
    Ok(i64::try_from(query.count(db).await?).unwrap_or(i64::MAX))
}

/// Purchases (not refunded) made in [start, end) by members `inviter` invited (not void).
pub async fn invitee_purchases_between(
    db: &impl ConnectionTrait,
    inviter: MemberId,
    (start, end): (Option<DateTime<Utc>>, Option<DateTime<Utc>>),
) -> Result<i64, DbErr> {
    let invitees = Query::select()
        .column(referrals::Column::InviteeId)
        .from(referrals::Entity)
        .and_where(referrals::Column::InviterId.eq(inviter.get()))
        .and_where(referrals::Column::Status.ne(ReferralStatus::Void.as_str()))
        .to_owned();
    let mut query = purchases::Entity::find()
        .filter(purchases::Column::MemberId.in_subquery(invitees))
        .filter(purchases::Column::Status.ne("REFUNDED"));
    if let Some(start) = start {
        query = query.filter(purchases::Column::OccurredAt.gte(start));
    }
    if let Some(end) = end {
        query = query.filter(purchases::Column::OccurredAt.lt(end));
    }
    Ok(i64::try_from(query.count(db).await?).unwrap_or(i64::MAX))
}

/// The inviter's invites, newest first.
pub async fn list_for_inviter(
    db: &impl ConnectionTrait,
    inviter: MemberId,
    before: Option<i64>,
    limit: u64,
) -> Result<Vec<Referral>, AppError> {
    let mut query =
        referrals::Entity::find().filter(referrals::Column::InviterId.eq(inviter.get()));
    if let Some(before) = before {
        query = query.filter(referrals::Column::Id.lt(before));
    }
    query
        .order_by_desc(referrals::Column::Id)
        .limit(limit)
        .all(db)
        .await?
        .into_iter()
        .map(referral)
        .collect()
}

/// Sets the member's successful-invite count, stamping when it changed.
pub async fn set_successful_invites(
    db: &impl ConnectionTrait,
    member: MemberId,
    count: i32,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    members::Entity::update_many()
        .col_expr(members::Column::SuccessfulInvites, Expr::value(count))
        .col_expr(
            members::Column::InvitesAt,
            Expr::value(leaderboard::arrival(now)),
        )
        .filter(members::Column::Id.eq(member.get()))
        .exec(db)
        .await
        .map(|_| ())
}

/// The member an invite code belongs to.
pub async fn member_by_invite_code(
    db: &impl ConnectionTrait,
    code: &str,
) -> Result<Option<MemberId>, DbErr> {
    let id: Option<i64> = members::Entity::find()
        .select_only()
        .column(members::Column::Id)
        .filter(members::Column::InviteCode.eq(code))
        .into_tuple()
        .one(db)
        .await?;
    Ok(id.map(MemberId::new))
}
