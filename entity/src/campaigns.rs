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
    pub budget_points: Option<i64>,
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
