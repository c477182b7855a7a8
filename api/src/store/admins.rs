//! The `admins` table.

use chrono::{DateTime, Utc};
use entity::admins;
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
        })
    })
    .transpose()
}
