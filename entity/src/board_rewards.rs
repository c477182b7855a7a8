use sea_orm::entity::prelude::*;

/// What ranks `from_rank..=to_rank` of a board win when its period is settled.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "board_rewards")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub board: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub from_rank: i32,
    pub to_rank: i32,
    pub points: i64,
    pub reward_id: Option<i64>,
    pub badge_code: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
