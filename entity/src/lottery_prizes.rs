use sea_orm::entity::prelude::*;

/// A prize of a lottery.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "lottery_prizes")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub lottery_id: i64,
    /// POINTS, REWARD or NONE.
    pub kind: String,
    pub points: i64,
    pub reward_id: Option<i64>,
    pub quantity: i32,
    pub weight: i32,
    /// Null: unlimited.
    pub stock: Option<i64>,
    pub position: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
