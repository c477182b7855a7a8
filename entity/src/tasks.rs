use sea_orm::entity::prelude::*;

/// A task in the task centre (任务).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "tasks")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub title: String,
    pub description: String,
    pub icon_url: Option<String>,
    /// NEWBIE, DAILY, WEEKLY, MONTHLY or ACHIEVEMENT.
    pub category: String,
    pub event_type: String,
    /// COUNT or SUM.
    pub goal: String,
    pub target: i64,
    pub consecutive_days: Option<i32>,
    pub repeating: bool,
    pub min_tier: Option<String>,
    pub min_koc_level: Option<i32>,
    pub segment_id: Option<i64>,
    pub starts_at: Option<DateTimeUtc>,
    pub ends_at: Option<DateTimeUtc>,
    pub reward_points: i64,
    pub reward_growth: i64,
    pub reward_id: Option<i64>,
    pub badge_code: Option<String>,
    /// Free draws of this lottery given on completion.
    pub draws_lottery_id: Option<i64>,
    pub reward_draws: i32,
    /// AUTO or CLAIM.
    pub claim_mode: String,
    pub active: bool,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
