use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "referrals")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub inviter_id: i64,
    pub invitee_id: i64,
    /// BOUND, COMPLETED or VOID.
    pub status: String,
    /// Whether the completion was paid (false past the inviter's daily cap).
    pub rewarded: bool,
    pub inviter_points: i64,
    pub invitee_points: i64,
    pub bound_at: DateTimeUtc,
    pub completed_at: Option<DateTimeUtc>,
    pub completed_day: Option<Date>,
    pub voided_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
