use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "koc_tasks")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub title: String,
    pub description: String,
    pub kind: String,
    pub difficulty: i32,
    pub min_koc_level: i32,
    pub reward_points: i64,
    pub reward_growth: i64,
    pub reward_score: i64,
    /// ONCE, DAILY, WEEKLY or MONTHLY.
    pub period: String,
    pub max_completions: i32,
    pub starts_at: Option<DateTimeUtc>,
    pub ends_at: Option<DateTimeUtc>,
    /// MANUAL or AUTO.
    pub verification: String,
    pub target: Option<i32>,
    pub active: bool,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
