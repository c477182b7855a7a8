use sea_orm::entity::prelude::*;

/// A member's progress on a task in one period.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "task_progress")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub member_id: i64,
    #[sea_orm(primary_key, auto_increment = false)]
    pub task_id: i64,
    #[sea_orm(primary_key, auto_increment = false)]
    pub period_key: String,
    /// Count or sum so far; for a consecutive-days goal, the days in a row.
    pub progress: i64,
    /// Consecutive days on which the day's target was met.
    pub streak: i32,
    /// The last business day with progress.
    pub last_day: Option<Date>,
    /// Progress on `last_day`.
    pub day_progress: i64,
    /// IN_PROGRESS, CLAIMABLE or DONE.
    pub status: String,
    pub period_ends_at: Option<DateTimeUtc>,
    pub completed_at: Option<DateTimeUtc>,
    pub claimed_at: Option<DateTimeUtc>,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
