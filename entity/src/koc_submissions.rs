use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "koc_submissions")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub task_id: i64,
    pub member_id: i64,
    pub period_key: String,
    /// PENDING, APPROVED or REJECTED.
    pub status: String,
    pub proof_url: Option<String>,
    pub proof_text: Option<String>,
    /// JSON array of image URLs.
    pub proof_images: String,
    pub note: Option<String>,
    pub attempts: i32,
    pub auto: bool,
    pub reviewed_by: Option<i64>,
    pub submitted_at: DateTimeUtc,
    pub reviewed_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
