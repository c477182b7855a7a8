use sea_orm::entity::prelude::*;

/// One rank of a settled board, as it stood at settlement, and what it won.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "board_archive")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub board: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub period: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub rank: i32,
    pub member_id: i64,
    pub score: i64,
    pub arrival: Option<DateTimeUtc>,
    pub points: i64,
    pub reward_id: Option<i64>,
    pub badge_code: Option<String>,
    /// NONE (nothing won), DUE (won, not paid yet) or PAID.
    pub payout: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
