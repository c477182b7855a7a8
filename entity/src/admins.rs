use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "admins")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub username: String,
    pub password_hash: String,
    /// "ADMIN" or "OPERATOR"
    pub role: String,
    pub created_at: DateTimeUtc,
    /// Set while the account is disabled: no login, every token refused.
    pub disabled_at: Option<DateTimeUtc>,
    /// Tokens issued before this instant are refused (set by a password change).
    pub tokens_valid_after: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
