use sea_orm::entity::prelude::*;

/// A board that pays season rewards (赛季奖励), and since when.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "board_seasons")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub board: String,
    /// Periods ending after this are settled.
    pub rewards_since: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
