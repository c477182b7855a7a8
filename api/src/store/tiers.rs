//! The `tiers` table.

use entity::tiers;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder};

use crate::domain::tier::TierSummary;

/// The code of the entry tier (lowest rank), which new members start in.
///
/// # Errors
/// Database errors, or `RecordNotFound` when no tier exists.
pub async fn entry_tier_code(db: &impl ConnectionTrait) -> Result<String, DbErr> {
    tiers::Entity::find()
        .order_by_asc(tiers::Column::Rank)
        .one(db)
        .await?
        .map(|tier| tier.code)
        .ok_or_else(|| DbErr::RecordNotFound("no tiers are configured".into()))
}

/// The tiers with the given codes, in one query.
pub async fn by_codes(
    db: &impl ConnectionTrait,
    codes: impl IntoIterator<Item = String>,
) -> Result<Vec<TierSummary>, DbErr> {
    let rows = tiers::Entity::find()
        .filter(tiers::Column::Code.is_in(codes))
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|row| TierSummary {
            code: row.code,
            name: row.name,
            rank: row.rank,
            badge: row.badge,
        })
        .collect())
}
