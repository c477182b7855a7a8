//! `programmeStats`: the operators' dashboard figures.

use async_graphql::{Context, Object, ResultExt, SimpleObject};

use crate::domain::auth::AdminAction;
use crate::domain::points::EntryKind;
use crate::domain::stats::{self, StatsPeriod};
use crate::graphql::context::ContextExt;
use crate::graphql::points::PointsEntryKind;
use crate::graphql::scalars::Date;
use crate::graphql::segments::{LifecycleStage, RfmGroup};
use crate::service::stats::{
    Activity, KindTotals, KocCounts, PointsStats, ProgrammeBudget, ProgrammeStats as Stats,
};

/// Programme figures (运营数据) for a period of business days. Flows count what happened
/// within the period; stocks (outstanding points, tier distribution, KOCs, waiting
/// applications) are as of now.
#[derive(SimpleObject)]
pub struct ProgrammeStats {
    /// The period's first business day.
    from: Date,
    /// The period's last business day (included).
    to: Date,
    /// Points issued, spent and expired (积分数据).
    points: PointsFigures,
    /// Sign-ins and active members (活跃数据).
    activity: ActivityFigures,
    /// Members who joined in the period.
    new_members: i64,
    /// Members per tier now, entry tier first.
    tiers: Vec<TierCount>,
    /// The KOC funnel (达人漏斗).
    koc: KocFunnel,
    /// Who bought in the period, and who came back (复购).
    purchases: PurchaseFigures,
    /// Members per RFM group now (RFM 分布); members who never bought are in none.
    rfm: Vec<RfmGroupCount>,
    /// Members per lifecycle stage now (生命周期分布).
    lifecycle: Vec<LifecycleStageCount>,
    /// The monthly points budget and this month's issue against it; null without a budget.
    budget: Option<BudgetFigures>,
}

/// The programme's monthly points budget (最大可发放积分数) this business month.
#[derive(SimpleObject)]
pub struct BudgetFigures {
    /// The budget.
    monthly_points: i64,
    /// Points issued this month: what members earned (their monthly counters) plus what the
    /// budget-checked grants (campaigns) gave.
    issued_this_month: i64,
    /// What is left: monthlyPoints − issuedThisMonth, at least 0. Campaign grants and lottery
    /// prizes stop at it.
    remaining: i64,
}

impl BudgetFigures {
    fn of(budget: ProgrammeBudget) -> Option<Self> {
        budget.monthly_points.map(|monthly_points| Self {
            monthly_points,
            issued_this_month: budget.issued_this_month,
            remaining: monthly_points
                .saturating_sub(budget.issued_this_month)
                .max(0),
        })
    }
}

/// Buyers of a period (消费人数 / 复购率). Refunded purchases are left out.
#[derive(SimpleObject)]
pub struct PurchaseFigures {
    /// Members who bought at least once in the period.
    purchasers: i64,
    /// Of those, members who bought at least twice.
    repeat_purchasers: i64,
    /// repeatPurchasers / purchasers (复购率), to 4 decimals; null when nobody bought.
    repurchase_rate: Option<f64>,
}

/// How many members an RFM group has now.
#[derive(SimpleObject)]
pub struct RfmGroupCount {
    /// The group.
    group: RfmGroup,
    /// Members in it now.
    members: u64,
}

/// How many members a lifecycle stage has now.
#[derive(SimpleObject)]
pub struct LifecycleStageCount {
    /// The stage.
    stage: LifecycleStage,
    /// Members in it now.
    members: u64,
}

/// Points figures (积分数据) of a period.
#[derive(SimpleObject)]
pub struct PointsFigures {
    /// Points credited in the period (every credit but returned redemptions).
    issued: i64,
    /// Points spent on rewards and orders, less what cancellations and refunds returned.
    redeemed: i64,
    /// Points that expired.
    expired: i64,
    /// Points all members hold now.
    outstanding: i64,
    /// Points requested but cut by the monthly earning cap.
    cut_by_caps: i64,
    /// redeemed / issued, to 4 decimals; null when nothing was issued.
    redemption_rate: Option<f64>,
    /// The same movements per ledger entry kind.
    by_kind: Vec<PointsKindFigures>,
}

/// Points moved by one kind of entry (积分明细类型) in the period.
#[derive(SimpleObject)]
pub struct PointsKindFigures {
    /// The kind of entry.
    kind: PointsEntryKind,
    /// Points credited by entries of this kind.
    credited: i64,
    /// Points debited by entries of this kind (a positive number).
    debited: i64,
    /// Points of this kind the monthly earning cap cut.
    cut_by_caps: i64,
}

/// Activity figures (活跃数据). Active members count distinct members with a daily sign-in
/// (make-ups left out).
#[derive(SimpleObject)]
pub struct ActivityFigures {
    /// Daily sign-ins in the period.
    sign_ins: i64,
    /// Distinct members who signed in during the period.
    active_members: i64,
    /// Distinct signers on `to`.
    dau: i64,
    /// Distinct signers in the 7 days ending on `to`.
    wau: i64,
    /// Distinct signers in the 30 days ending on `to`.
    mau: i64,
}

/// How many members a tier has now (等级分布).
#[derive(SimpleObject)]
pub struct TierCount {
    /// The tier's code.
    code: String,
    /// The tier's name (等级名称).
    name: String,
    /// Members in it now.
    members: i64,
}

/// The KOC funnel (达人漏斗): from application to approved work.
#[derive(SimpleObject)]
pub struct KocFunnel {
    /// Applications made in the period.
    applied: i64,
    /// Applications approved in the period.
    approved: i64,
    /// Applications rejected in the period.
    rejected: i64,
    /// Applications waiting for review now.
    pending_now: i64,
    /// KOCs now.
    kocs_now: i64,
    /// MANUAL task submissions made in the period.
    submissions: i64,
    /// MANUAL task submissions approved in the period.
    submissions_approved: i64,
}

impl From<Stats> for ProgrammeStats {
    fn from(stats: Stats) -> Self {
        Self {
            from: stats.period.from.into(),
            to: stats.period.to.into(),
            points: stats.points.into(),
            activity: stats.activity.into(),
            new_members: stats.new_members,
            tiers: stats
                .tiers
                .into_iter()
                .map(|(code, name, members)| TierCount {
                    code,
                    name,
                    members,
                })
                .collect(),
            koc: stats.koc.into(),
            purchases: PurchaseFigures {
                purchasers: stats.purchasers.0,
                repeat_purchasers: stats.purchasers.1,
                repurchase_rate: stats::repurchase_rate(stats.purchasers.0, stats.purchasers.1),
            },
            rfm: Vec::new(),
            lifecycle: Vec::new(),
            budget: None,
        }
    }
}

impl From<PointsStats> for PointsFigures {
    fn from(points: PointsStats) -> Self {
        Self {
            issued: points.issued,
            redeemed: points.redeemed,
            expired: points.expired,
            outstanding: points.outstanding,
            cut_by_caps: points.cut_by_caps,
            redemption_rate: points.redemption_rate,
            by_kind: points
                .by_kind
                .into_iter()
                // Every stored kind parses; the ledger writes only these.
                .filter_map(|k: KindTotals| {
                    Some(PointsKindFigures {
                        kind: EntryKind::parse(&k.kind)?.into(),
                        credited: k.credited,
                        debited: k.debited,
                        cut_by_caps: k.cut_by_cap,
                    })
                })
                .collect(),
        }
    }
}

impl From<Activity> for ActivityFigures {
    fn from(activity: Activity) -> Self {
        Self {
            sign_ins: activity.sign_ins,
            active_members: activity.active,
            dau: activity.daily,
            wau: activity.weekly,
            mau: activity.monthly,
        }
    }
}

impl From<KocCounts> for KocFunnel {
    fn from(koc: KocCounts) -> Self {
        Self {
            applied: koc.applied,
            approved: koc.approved,
            rejected: koc.rejected,
            pending_now: koc.pending_now,
            kocs_now: koc.kocs_now,
            submissions: koc.submitted,
            submissions_approved: koc.submissions_approved,
        }
    }
}

#[derive(Default)]
pub struct StatsQuery;

#[Object]
impl StatsQuery {
    /// Programme statistics (运营数据) for the business days `from` to `to` (both included, at
    /// most 366 days; admins and operators). VALIDATION (field `to`) for a reversed or longer
    /// period.
    async fn programme_stats(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The first business day of the period (统计开始日期), `YYYY-MM-DD`.")]
        from: Date,
        #[graphql(
            desc = "The last business day of the period (统计结束日期), at most 366 days after `from`."
        )]
        to: Date,
    ) -> async_graphql::Result<ProgrammeStats> {
        ctx.viewer()?.admin_for(AdminAction::ReadMembers).extend()?;
        let period = StatsPeriod::new(from.0, to.0).extend()?;
        let services = ctx.services();
        let stats = services.stats.programme(period).await.extend()?;
        let (groups, stages) = services.segments.distributions().await.extend()?;
        let budget = services.stats.budget().await.extend()?;
        let mut figures: ProgrammeStats = stats.into();
        figures.rfm = groups
            .into_iter()
            .map(|(group, members)| RfmGroupCount {
                group: group.into(),
                members,
            })
            .collect();
        figures.lifecycle = stages
            .into_iter()
            .map(|(stage, members)| LifecycleStageCount {
                stage: stage.into(),
                members,
            })
            .collect();
        figures.budget = BudgetFigures::of(budget);
        Ok(figures)
    }
}

#[derive(Default)]
pub struct StatsMutation;

#[Object]
impl StatsMutation {
    /// Sets the programme's monthly points budget (最大可发放积分数; ADMIN), or with null removes
    /// it. Campaign grants and lottery prizes stop at it; other earning does not. VALIDATION
    /// on `monthlyPoints` (at least 1).
    async fn update_programme_budget(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Points the programme may issue per business month; null: no budget.")]
        monthly_points: Option<i32>,
    ) -> async_graphql::Result<Option<BudgetFigures>> {
        ctx.viewer()?.admin_for(AdminAction::ManageRules).extend()?;
        let budget = ctx
            .services()
            .stats
            .set_budget(monthly_points.map(i64::from))
            .await
            .extend()?;
        Ok(BudgetFigures::of(budget))
    }
}
