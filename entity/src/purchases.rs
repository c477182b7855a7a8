use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "purchases")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub order_id: String,
    pub member_id: i64,
    pub amount_cents: i64,
    pub points_requested: i64,
    pub points_granted: i64,
    pub growth: i64,
    pub occurred_at: DateTimeUtc,
    pub available_at: DateTimeUtc,
    /// PENDING, AVAILABLE or REFUNDED
    pub status: String,
    pub refunded_after_window: bool,
    pub points_reversed: i64,
    pub shortfall: i64,
    pub refunded_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
