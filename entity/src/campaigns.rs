use sea_orm::entity::prelude::*;

/// A campaign (营销活动).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "campaigns")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub name: String,
    /// Null: every member.
    pub segment_id: Option<i64>,
    pub trigger_kind: String,
    pub trigger_at: Option<DateTimeUtc>,
    /// JSON: the actions.
    pub actions: String,
    /// DAILY / WEEKLY / MONTHLY: the business time of day, "HH:MM".
    pub trigger_time: Option<String>,
    /// REGISTERED_NO_PURCHASE: days after registration.
    pub trigger_days: Option<i32>,
    /// ONCE or EVERY_OCCURRENCE.
    pub per_member: String,
    pub starts_at: Option<DateTimeUtc>,
    pub ends_at: Option<DateTimeUtc>,
    pub budget_points: Option<i64>,
    /// The most reward units it may grant.
    pub budget_units: Option<i64>,
    pub spent_units: i64,
    /// When it was first activated: recurring and event triggers count from here.
    pub activated_at: Option<DateTimeUtc>,
    pub spent_points: i64,
    pub budget_exhausted: bool,
    pub holdout_percent: i32,
    /// DRAFT, ACTIVE, PAUSED or ENDED.
    pub status: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
