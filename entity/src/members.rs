use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "members")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub openid: String,
    pub unionid: Option<String>,
    pub nickname: Option<String>,
    pub avatar_url: Option<String>,
    pub phone: Option<String>,
    /// Whether WeChat verified `phone` (`getPhoneNumber`); false when the member typed it.
    pub phone_verified: bool,
    /// "MM-DD"
    pub birthday: Option<String>,
    pub hide_from_leaderboards: bool,
    pub invite_code: String,
    pub tier_code: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// Cached: always the sum of the member's ledger entries.
    pub points_balance: i64,
    /// Length of the run of signed days ending at `last_sign_in_day`.
    pub current_streak: i32,
    pub last_sign_in_day: Option<Date>,
    pub total_sign_ins: i32,
    pub streak_freezes: i32,
    pub growth_total: i64,
    /// 1-3 for a KOC; null otherwise.
    pub koc_level: Option<i32>,
    /// KOC score ever earned; the level follows it.
    pub koc_score_total: i64,
    /// Invitees who completed a first sign-in (void referrals taken off).
    pub successful_invites: i32,
    /// When `successful_invites` last changed (whole seconds; the leaderboard tie-break).
    pub invites_at: Option<DateTimeUtc>,
    /// When `current_streak` last changed (whole seconds; the leaderboard tie-break).
    pub streak_at: Option<DateTimeUtc>,
    /// YYYYMM of the last demotion: the evaluation moves a member down once a month at most.
    pub tier_demoted_month: Option<i32>,
    /// When the latest purchase not refunded happened.
    pub last_purchase_at: Option<DateTimeUtc>,
    /// Purchases not refunded in the trailing 12 months (rolled by the scheduled pass).
    #[sea_orm(column_name = "purchases_12m")]
    pub purchases_12m: i32,
    /// Their amount, in cents.
    #[sea_orm(column_name = "spend_12m_cents")]
    pub spend_12m_cents: i64,
    /// Sign-ins in the trailing 30 business days (rolled by the daily facts pass).
    #[sea_orm(column_name = "sign_ins_30d")]
    pub sign_ins_30d: i32,
    /// The badge shown beside the member on boards (挂件).
    pub displayed_badge: Option<String>,
    /// Set while an operator has frozen the member (风控): they earn and spend nothing.
    pub frozen_at: Option<DateTimeUtc>,
    pub frozen_reason: Option<String>,
    /// The member refuses personalised marketing: no campaign reaches them.
    pub marketing_opt_out: bool,
    /// The stage (AT_RISK, DORMANT) the scheduled pass last noticed the member entering; null
    /// once they are active again.
    pub noticed_stage: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
