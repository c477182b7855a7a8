//! The `tiers` table.

use entity::tiers;
use sea_orm::{ConnectionTrait, DbErr, EntityTrait, QueryOrder};

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
