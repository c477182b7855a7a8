use sea_orm::entity::prelude::*;

/// A points lottery (积分抽奖).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "lotteries")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub title: String,
    pub starts_at: DateTimeUtc,
    pub ends_at: DateTimeUtc,
    pub cost_points: i64,
    pub draws_per_day: Option<i32>,
    pub draws_total: Option<i32>,
    pub pity_after: Option<i32>,
    pub budget_points: Option<i64>,
    pub spent_points: i64,
    pub min_tier: Option<String>,
    pub segment_id: Option<i64>,
    /// JSON: the tier boosts.
    pub tier_boosts: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
