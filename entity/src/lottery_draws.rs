use sea_orm::entity::prelude::*;

/// One draw, with its random value and the weights in force (the audit record).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "lottery_draws")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub lottery_id: i64,
    pub member_id: i64,
    pub idempotency_key: String,
    /// The business day of the draw.
    pub day: Date,
    pub prize_id: Option<i64>,
    /// POINTS, REWARD or NONE: what was paid.
    pub kind: String,
    pub points: i64,
    pub reward_id: Option<i64>,
    pub quantity: i32,
    pub won: bool,
    /// Paid with a free draw.
    pub free: bool,
    pub cost_points: i64,
    /// The prize's points-equivalent.
    pub value: i64,
    pub random_value: i64,
    /// JSON: the weights in force.
    pub weights: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
