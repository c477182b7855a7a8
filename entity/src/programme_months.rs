use sea_orm::entity::prelude::*;

/// Points granted in a business month by the grants that check the programme budget
/// (campaigns, lottery prizes).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "programme_months")]
pub struct Model {
    /// `YYYY-MM`, business time.
    #[sea_orm(primary_key, auto_increment = false)]
    pub month: String,
    pub granted: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
