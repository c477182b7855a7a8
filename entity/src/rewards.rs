use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "rewards")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub title: String,
    pub description: String,
    pub image_url: Option<String>,
    pub kind: String,
    pub points_cost: i64,
    pub stock: Option<i64>,
    pub monthly_limit: Option<i32>,
    pub lifetime_limit: Option<i32>,
    pub min_tier: Option<String>,
    pub available_from: Option<DateTimeUtc>,
    pub available_until: Option<DateTimeUtc>,
    pub member_day_only: bool,
    pub active: bool,
    pub created_at: DateTimeUtc,
    /// What a unit costs the brand, in cents (for ROI and prize-value rules).
    pub cost_cents: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
