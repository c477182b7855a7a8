use sea_orm::entity::prelude::*;

/// A member's free draws and misses in a row on a lottery.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "lottery_members")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub lottery_id: i64,
    #[sea_orm(primary_key, auto_increment = false)]
    pub member_id: i64,
    pub free_draws: i32,
    pub misses: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
