//! The WeChat access token every instance shares: one row per appid.

use chrono::{DateTime, Utc};
use entity::wechat_access_tokens;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, ConnectionTrait, DbErr, EntityTrait, QuerySelect};

/// A stored token and when it stops working.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredToken {
    pub token: String,
    pub expires_at: DateTime<Utc>,
}

/// The appid's token; with `lock`, the row stays locked until the transaction ends (PostgreSQL
/// `FOR UPDATE`), so one instance refreshes while the others wait and then read its token.
///
/// # Errors
/// Database errors.
pub async fn token(
    db: &impl ConnectionTrait,
    appid: &str,
    lock: bool,
) -> Result<Option<StoredToken>, DbErr> {
    let mut find = wechat_access_tokens::Entity::find_by_id(appid.to_owned());
    if lock {
        find = find.lock_exclusive();
    }
    Ok(find.one(db).await?.map(|row| StoredToken {
        token: row.token,
        expires_at: row.expires_at,
    }))
}

/// Creates the appid's row (already expired) unless it exists, so there is a row to lock.
///
/// # Errors
/// Database errors.
pub async fn ensure_row(
    db: &impl ConnectionTrait,
    appid: &str,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let row = wechat_access_tokens::ActiveModel {
        appid: Set(appid.to_owned()),
        token: Set(String::new()),
        expires_at: Set(now),
        refreshed_at: Set(now),
    };
    wechat_access_tokens::Entity::insert(row)
        .on_conflict_do_nothing_on([wechat_access_tokens::Column::Appid])
        .exec_without_returning(db)
        .await
        .map(|_| ())
}

/// Stores a fresh token.
///
/// # Errors
/// Database errors.
pub async fn save(
    db: &impl ConnectionTrait,
    appid: &str,
    fresh: &StoredToken,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let row = wechat_access_tokens::ActiveModel {
        appid: Set(appid.to_owned()),
        token: Set(fresh.token.clone()),
        expires_at: Set(fresh.expires_at),
        refreshed_at: Set(now),
    };
    wechat_access_tokens::Entity::insert(row)
        .on_conflict(
            OnConflict::column(wechat_access_tokens::Column::Appid)
                .update_columns([
                    wechat_access_tokens::Column::Token,
                    wechat_access_tokens::Column::ExpiresAt,
                    wechat_access_tokens::Column::RefreshedAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(db)
        .await
        .map(|_| ())
}
