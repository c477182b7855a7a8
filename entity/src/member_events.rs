use sea_orm::entity::prelude::*;

/// An event recorded for a member (by an integration or the member).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "member_events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub member_id: i64,
    pub event_type: String,
    pub value: i64,
    pub occurred_at: DateTimeUtc,
    /// The business day of `occurred_at`.
    pub day: Date,
    pub idempotency_key: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
