use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sign_in_milestones")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// "STREAK" or "TOTAL"
    pub kind: String,
    pub threshold: i32,
    pub points: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
