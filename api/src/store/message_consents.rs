//! Subscribe-message consents: how many messages of each template a member still allows.

use chrono::{DateTime, Utc};
use entity::message_consents;
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
};

use crate::domain::ids::MemberId;

/// One more allowed message of `template_id` (one statement: insert, or add one).
///
/// # Errors
/// Database errors.
pub async fn add_one(
    db: &impl ConnectionTrait,
    member: MemberId,
    template_id: &str,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let row = message_consents::ActiveModel {
        member_id: Set(member.get()),
        template_id: Set(template_id.to_owned()),
        remaining: Set(1),
        updated_at: Set(now),
    };
    let mut on_conflict = OnConflict::columns([
        message_consents::Column::MemberId,
        message_consents::Column::TemplateId,
    ]);
    on_conflict
        .value(
            message_consents::Column::Remaining,
            Expr::col((
                message_consents::Entity,
                message_consents::Column::Remaining,
            ))
            .add(1),
        )
        .value(message_consents::Column::UpdatedAt, Expr::value(now));
    message_consents::Entity::insert(row)
        .on_conflict(on_conflict)
        .exec_without_returning(db)
        .await
        .map(|_| ())
}

/// The templates the member allows messages of, with how many, by template id.
///
/// # Errors
/// Database errors.
pub async fn remaining(
    db: &impl ConnectionTrait,
    member: MemberId,
) -> Result<Vec<(String, i32)>, DbErr> {
    Ok(message_consents::Entity::find()
        .filter(message_consents::Column::MemberId.eq(member.get()))
        .filter(message_consents::Column::Remaining.gt(0))
        .order_by_asc(message_consents::Column::TemplateId)
        .all(db)
        .await?
        .into_iter()
        .map(|row| (row.template_id, row.remaining))
        .collect())
}

/// Uses one allowed message of `template_id`; false when the member allows none.
///
/// # Errors
/// Database errors.
pub async fn use_one(
    db: &impl ConnectionTrait,
    member: MemberId,
    template_id: &str,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let used = message_consents::Entity::update_many()
        .col_expr(
            message_consents::Column::Remaining,
            Expr::col(message_consents::Column::Remaining).sub(1),
        )
        .col_expr(message_consents::Column::UpdatedAt, Expr::value(now))
        .filter(message_consents::Column::MemberId.eq(member.get()))
        .filter(message_consents::Column::TemplateId.eq(template_id))
        .filter(message_consents::Column::Remaining.gt(0))
        .exec(db)
        .await?;
    Ok(used.rows_affected == 1)
}

/// Forgets every allowed message of `template_id` (the member withdrew it in WeChat).
///
/// # Errors
/// Database errors.
pub async fn zero(
    db: &impl ConnectionTrait,
    member: MemberId,
    template_id: &str,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    message_consents::Entity::update_many()
        .col_expr(message_consents::Column::Remaining, Expr::value(0))
        .col_expr(message_consents::Column::UpdatedAt, Expr::value(now))
        .filter(message_consents::Column::MemberId.eq(member.get()))
        .filter(message_consents::Column::TemplateId.eq(template_id))
        .exec(db)
        .await
        .map(|_| ())
}
