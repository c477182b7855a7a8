use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "member_months")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub member_id: i64,
    /// "YYYY-MM" in the business time zone.
    #[sea_orm(primary_key, auto_increment = false)]
    pub month: String,
    pub earned: i64,
    pub redeemed: i64,
    pub cut_by_cap: i64,
    pub growth: i64,
    /// When `earned` last grew (whole seconds; the leaderboard tie-break).
    pub earned_at: Option<DateTimeUtc>,
    pub koc_score: i64,
    /// When `koc_score` last grew (whole seconds; the leaderboard tie-break).
    pub koc_score_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
