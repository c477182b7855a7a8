//! Tiers and their privileges; a member's standing; operators' tier edits and evaluation.

use async_graphql::{Context, InputObject, Object, ResultExt, SimpleObject};

use crate::domain::auth::AdminAction;
use crate::domain::ids::MemberId;
use crate::domain::tier::Tier as TierView;
use crate::graphql::context::ContextExt;
use crate::service::tiers::{Evaluation, TierStanding};

/// What a tier grants (等级特权).
#[derive(SimpleObject, Clone)]
pub struct TierPrivileges {
    /// Points multiplier (积分倍率) on sign-in and purchase points, in percent (120 = 1.2×).
    points_multiplier_percent: i32,
    /// Points a member may earn per business month (每月积分上限).
    monthly_earn_cap: i64,
    /// Points a member may spend on redemptions per business month (每月兑换上限).
    monthly_redeem_cap: i64,
    /// Birthday points (生日积分), granted once a year on the member's birthday.
    birthday_points: i64,
    /// Make-up sign-ins (补签) allowed per business month.
    make_ups_per_month: i32,
    /// Extra member-day discount (会员日折扣) on rewards, in percent.
    member_day_discount_percent: i32,
    /// Upgrade gift (升级礼) in points, paid once when a member first reaches the tier.
    upgrade_gift_points: i64,
    /// The badge or title (徽章/称号) shown in the UI.
    badge: String,
    /// Priority customer support (专属客服).
    priority_support: bool,
}

/// A membership tier (会员等级).
#[derive(SimpleObject, Clone)]
pub struct Tier {
    /// Stable code (等级代码): NEW, REGULAR, CORE, SEED.
    code: String,
    /// The display name (等级名称), e.g. 核心会员.
    name: String,
    /// 0 for the entry tier, rising with each tier.
    rank: i32,
    /// Growth (成长值) over the trailing 12 months that reaches this tier.
    growth_threshold: i64,
    /// What the tier grants.
    privileges: TierPrivileges,
}

impl From<TierView> for Tier {
    fn from(tier: TierView) -> Self {
        Self {
            privileges: TierPrivileges {
                points_multiplier_percent: tier.points_multiplier_pct,
                monthly_earn_cap: tier.monthly_earn_cap,
                monthly_redeem_cap: tier.monthly_redeem_cap,
                birthday_points: tier.birthday_points,
                make_ups_per_month: tier.make_ups_per_month,
                member_day_discount_percent: tier.member_day_discount_pct,
                upgrade_gift_points: tier.upgrade_gift_points,
                badge: tier.badge,
                priority_support: tier.priority_support,
            },
            code: tier.code,
            name: tier.name,
            rank: tier.rank,
            growth_threshold: tier.growth_threshold,
        }
    }
}

/// How far the member is from the next tier (升级进度).
#[derive(SimpleObject)]
pub struct TierProgress {
    /// Growth (成长值) over the trailing 12 business months.
    growth: i64,
    /// The next tier's threshold; null at the top tier.
    next_threshold: Option<i64>,
    /// Growth still needed for the next tier; 0 at the top tier.
    growth_needed: i64,
}

/// A member's tier standing, for the GraphQL `MemberTier` type: the tiers come from the rules
/// cache; growth is read only when `progress` is asked for.
pub struct MemberTier {
    member: MemberId,
    current: Tier,
    next: Option<Tier>,
}

impl MemberTier {
    pub fn new(member: MemberId, standing: TierStanding) -> Self {
        Self {
            member,
            current: standing.current.into(),
            next: standing.next.map(Tier::from),
        }
    }
}

/// A member's tier standing (会员等级).
#[Object]
impl MemberTier {
    /// The current tier's code.
    async fn code(&self) -> &str {
        &self.current.code
    }

    /// The current tier's name (等级名称).
    async fn name(&self) -> &str {
        &self.current.name
    }

    /// The current tier's rank, 0 for the entry tier.
    async fn rank(&self) -> i32 {
        self.current.rank
    }

    /// The badge or title the UI shows.
    async fn badge(&self) -> &str {
        &self.current.privileges.badge
    }

    /// The current tier in full.
    async fn current(&self) -> &Tier {
        &self.current
    }

    /// The next tier up; null at the top.
    async fn next(&self) -> Option<&Tier> {
        self.next.as_ref()
    }

    /// How far the member is from the next tier.
    async fn progress(&self, ctx: &Context<'_>) -> async_graphql::Result<TierProgress> {
        let growth = ctx
            .services()
            .tiers
            .trailing_growth(self.member)
            .await
            .extend()?;
        let next_threshold = self.next.as_ref().map(|t| t.growth_threshold);
        Ok(TierProgress {
            growth,
            next_threshold,
            growth_needed: next_threshold
                .map_or(0, |threshold| threshold.saturating_sub(growth).max(0)),
        })
    }

    /// What the current tier grants.
    async fn privileges(&self) -> &TierPrivileges {
        &self.current.privileges
    }
}

/// Tier fields to change (会员等级); omitted ones stay. Codes and ranks are fixed.
#[derive(InputObject)]
pub struct UpdateTierInput {
    /// The display name (等级名称), 1–32 characters.
    name: Option<String>,
    /// Growth (成长值) over 12 months that reaches the tier: 0 for the entry tier, and above
    /// the tier below.
    growth_threshold: Option<i64>,
    /// Points multiplier (积分倍率) in percent, 100–1000.
    points_multiplier_percent: Option<i32>,
    /// Points a member may earn per business month (每月积分上限), 0–10,000,000.
    monthly_earn_cap: Option<i64>,
    /// Points a member may spend per business month (每月兑换上限), 0–10,000,000.
    monthly_redeem_cap: Option<i64>,
    /// Birthday points (生日积分), 0–10,000,000.
    birthday_points: Option<i64>,
    /// Make-up sign-ins (补签) per business month, 0–10,000,000.
    make_ups_per_month: Option<i32>,
    /// Extra member-day discount (会员日折扣) on rewards, in percent, 0–50.
    member_day_discount_percent: Option<i32>,
    /// Upgrade gift (升级礼) in points, 0–10,000,000.
    upgrade_gift_points: Option<i64>,
    /// The badge or title (徽章/称号), at most 64 characters.
    #[graphql(validator(chars_max_length = 64))]
    badge: Option<String>,
    /// Priority customer support (专属客服).
    priority_support: Option<bool>,
}

/// What a tier evaluation pass (等级评定) did.
#[derive(SimpleObject)]
pub struct EvaluateTiersPayload {
    /// Members looked at.
    evaluated: u64,
    /// Members moved up (升级).
    upgraded: u64,
    /// Members moved down one level (降级); at most once per member per business month.
    downgraded: u64,
}

impl From<Evaluation> for EvaluateTiersPayload {
    fn from(e: Evaluation) -> Self {
        Self {
            evaluated: e.evaluated,
            upgraded: e.upgraded,
            downgraded: e.downgraded,
        }
    }
}

#[derive(Default)]
pub struct TierQuery;

#[Object]
impl TierQuery {
    /// Every tier with its privileges, entry tier first (会员等级). Public.
    async fn tiers(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Tier>> {
        let tiers = ctx.services().tiers.tiers().await.extend()?;
        Ok(tiers.into_iter().map(Into::into).collect())
    }
}

#[derive(Default)]
pub struct TierMutation;

#[Object]
impl TierMutation {
    /// Edits a tier (修改会员等级; ADMIN). The table must still rise: the entry tier at 0, each threshold
    /// above the one below. Applies from the next action on.
    async fn update_tier(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The tier to change (会员等级代码): NEW, REGULAR, CORE or SEED.")]
        code: String,
        #[graphql(
            desc = "The tier's fields and privileges (等级特权) to change; omitted fields stay."
        )]
        input: UpdateTierInput,
    ) -> async_graphql::Result<Tier> {
        ctx.viewer()?.admin_for(AdminAction::ManageRules).extend()?;
        let tier = ctx
            .services()
            .tiers
            .update(&code, |t| {
                let UpdateTierInput {
                    name,
                    growth_threshold,
                    points_multiplier_percent,
                    monthly_earn_cap,
                    monthly_redeem_cap,
                    birthday_points,
                    make_ups_per_month,
                    member_day_discount_percent,
                    upgrade_gift_points,
                    badge,
                    priority_support,
                } = input;
                t.name = name.unwrap_or_else(|| t.name.clone());
                t.growth_threshold = growth_threshold.unwrap_or(t.growth_threshold);
                t.points_multiplier_pct =
                    points_multiplier_percent.unwrap_or(t.points_multiplier_pct);
                t.monthly_earn_cap = monthly_earn_cap.unwrap_or(t.monthly_earn_cap);
                t.monthly_redeem_cap = monthly_redeem_cap.unwrap_or(t.monthly_redeem_cap);
                t.birthday_points = birthday_points.unwrap_or(t.birthday_points);
                t.make_ups_per_month = make_ups_per_month.unwrap_or(t.make_ups_per_month);
                t.member_day_discount_pct =
                    member_day_discount_percent.unwrap_or(t.member_day_discount_pct);
                t.upgrade_gift_points = upgrade_gift_points.unwrap_or(t.upgrade_gift_points);
                t.badge = badge.unwrap_or_else(|| t.badge.clone());
                t.priority_support = priority_support.unwrap_or(t.priority_support);
            })
            .await
            .extend()?;
        Ok(tier.into())
    }

    /// Runs the tier evaluation now (等级评定; ADMIN): members move to the tier their trailing 12-month
    /// growth earns, down one level at most. The server also runs it once a month.
    async fn evaluate_tiers(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<EvaluateTiersPayload> {
        ctx.viewer()?.admin_for(AdminAction::RunJobs).extend()?;
        Ok(ctx.services().tiers.evaluate().await.extend()?.into())
    }
}
