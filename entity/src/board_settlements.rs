use sea_orm::entity::prelude::*;

/// A settled (board, period): the primary key makes each settlement happen once.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "board_settlements")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub board: String,
    /// "2026-W10" or "2026-03".
    #[sea_orm(primary_key, auto_increment = false)]
    pub period: String,
    /// Rows archived.
    pub ranked: i32,
    pub settled_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
