//! The `admins` table.

use chrono::{DateTime, Utc};
use entity::admins;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};

use crate::domain::auth::Role;
use crate::domain::ids::AdminId;
use crate::error::{AppError, UniqueIndex};

pub const UQ_USERNAME: UniqueIndex = UniqueIndex {
    name: "uq_admins_username",
    sqlite_columns: "admins.username",
};

/// An operator account as the service sees it.
#[derive(Debug, Clone)]
pub struct AdminAccount {
    pub id: AdminId,
    pub username: String,
    pub role: Role,
    pub password_hash: String,
    pub disabled: bool,
}

/// What decides whether an admin's token still works.
#[derive(Debug, Clone, Copy)]
pub struct AdminAccess {
    pub disabled: bool,
    pub tokens_valid_after: Option<DateTime<Utc>>,
}

/// Creates an account and returns its id.
///
/// # Errors
/// Database errors; a taken username violates `UQ_USERNAME`.
pub async fn insert(
    db: &impl ConnectionTrait,
    username: &str,
    password_hash: &str,
    role: Role,
    now: DateTime<Utc>,
) -> Result<AdminId, DbErr> {
    let row = admins::ActiveModel {
        username: Set(username.to_owned()),
        password_hash: Set(password_hash.to_owned()),
        role: Set(role.as_str().to_owned()),
        created_at: Set(now),
        ..Default::default()
    };
    let inserted = admins::Entity::insert(row).exec(db).await?;
    Ok(AdminId::new(inserted.last_insert_id))
}

/// # Errors
/// Database errors, or `INTERNAL` for a stored role that is not a role.
pub async fn find_by_username(
    db: &impl ConnectionTrait,
    username: &str,
) -> Result<Option<AdminAccount>, AppError> {
    let row = admins::Entity::find()
        .filter(admins::Column::Username.eq(username))
        .one(db)
        .await?;
    row.map(|row| {
        Ok(AdminAccount {
            id: AdminId::new(row.id),
            role: Role::parse(&row.role).map_err(|e| {
                AppError::internal(anyhow::anyhow!("admin {} has a bad role: {e}", row.id))
            })?,
            username: row.username,
            password_hash: row.password_hash,
            disabled: row.disabled_at.is_some(),
        })
    })
    .transpose()
}

/// The access state of admin `id`; `None` when the account no longer exists. One primary-key
/// read: cheap enough for every admin request.
///
/// # Errors
/// Database errors.
pub async fn access(db: &impl ConnectionTrait, id: AdminId) -> Result<Option<AdminAccess>, DbErr> {
    let row = admins::Entity::find_by_id(id.get()).one(db).await?;
    Ok(row.map(|row| AdminAccess {
        disabled: row.disabled_at.is_some(),
        tokens_valid_after: row.tokens_valid_after,
    }))
}

/// Disables (`Some(now)`) or enables (`None`) an account; whether the username exists.
///
/// # Errors
/// Database errors.
pub async fn set_disabled(
    db: &impl ConnectionTrait,
    username: &str,
    disabled_at: Option<DateTime<Utc>>,
) -> Result<bool, DbErr> {
    let updated = admins::Entity::update_many()
        .col_expr(admins::Column::DisabledAt, Expr::value(disabled_at))
        .filter(admins::Column::Username.eq(username))
        .exec(db)
        .await?;
    Ok(updated.rows_affected > 0)
}

/// Replaces the password hash and revokes every token issued before `now`; whether the
/// username exists.
///
/// # Errors
/// Database errors.
pub async fn set_password(
    db: &impl ConnectionTrait,
    username: &str,
    password_hash: &str,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let updated = admins::Entity::update_many()
        .col_expr(admins::Column::PasswordHash, Expr::value(password_hash))
        .col_expr(admins::Column::TokensValidAfter, Expr::value(now))
        .filter(admins::Column::Username.eq(username))
        .exec(db)
        .await?;
    Ok(updated.rows_affected > 0)
}
