use sea_orm::entity::prelude::*;

/// One outbox row: a subscribe message or a webhook call, and how its delivery went.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "deliveries")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// `WECHAT` or `WEBHOOK`.
    pub channel: String,
    pub member_id: Option<i64>,
    pub webhook_id: Option<i64>,
    /// The notice kind (WeChat) or the webhook event.
    pub event: String,
    /// JSON: what is sent, fixed when the change committed.
    pub payload: String,
    /// `PENDING`, `SENT` or `DEAD`.
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: DateTimeUtc,
    pub last_error: Option<String>,
    pub last_errcode: Option<i64>,
    pub created_at: DateTimeUtc,
    pub sent_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
