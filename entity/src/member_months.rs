use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "member_months")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub member_id: i64,
    /// The period: a business month "YYYY-MM", or an ISO week "YYYY-Www" (business time) for
    /// the weekly boards. Week rows carry only `earned`, `refunded` and `sign_ins`.
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
    /// Points of purchases recorded in this period and refunded since (off the points boards).
    pub refunded: i64,
    /// Days signed in this period (make-ups count in the period of the day made up).
    pub sign_ins: i64,
    /// When `sign_ins` last grew (whole seconds; the SIGN_INS_WEEK tie-break).
    pub sign_ins_at: Option<DateTimeUtc>,
    /// The longest streak reached by a sign-in in this period.
    pub best_streak: i64,
    /// Rewards redeemed in this period.
    pub redemptions: i64,
    /// The tier before the period's first tier change (none: no change this period).
    pub tier_before: Option<String>,
    /// The tier after the period's last tier change.
    pub tier_after: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
