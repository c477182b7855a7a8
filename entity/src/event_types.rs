use sea_orm::entity::prelude::*;

/// A kind of member event (事件类型) tasks count.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "event_types")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub code: String,
    pub name: String,
    /// Members may report it themselves (`reportEvent`).
    pub member_reportable: bool,
    pub daily_limit_per_member: Option<i32>,
    /// Emitted by membercard itself; integrations do not record it.
    pub built_in: bool,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
