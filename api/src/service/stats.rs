//! Programme statistics for operators (SPEC §11): points, activity, members and the KOC
//! funnel over a period of business days.

use std::sync::Arc;

use sea_orm::DatabaseConnection;

use crate::domain::points::{EntryKind, MonthKey};
use crate::domain::stats::{self, StatsPeriod};
use crate::error::AppError;
use crate::infra::clock::Clock;
pub use crate::store::stats::{Activity, KindTotals, KocCounts};
use crate::store::{self, programme};

/// Points figures of a period.
#[derive(Debug, Clone, Default)]
pub struct PointsStats {
    /// Every credit but returned redemptions.
    pub issued: i64,
    /// Spent on rewards and orders, less what cancelled redemptions and refunds gave back.
    pub redeemed: i64,
    pub expired: i64,
    /// Points members hold now.
    pub outstanding: i64,
    pub cut_by_caps: i64,
    pub redemption_rate: Option<f64>,
    pub by_kind: Vec<KindTotals>,
}

#[derive(Debug, Clone)]
pub struct ProgrammeStats {
    pub period: StatsPeriod,
    pub points: PointsStats,
    pub activity: Activity,
    pub new_members: i64,
    /// (tier code, tier name, members now), entry tier first.
    pub tiers: Vec<(String, String, i64)>,
    pub koc: KocCounts,
    /// Members who bought in the period, and of those who bought at least twice.
    pub purchasers: (i64, i64),
}

impl PointsStats {
    fn from_kinds(by_kind: Vec<KindTotals>, outstanding: i64) -> Self {
        let of = |kind: EntryKind| by_kind.iter().find(|t| t.kind == kind.as_str());
        let credited = |kind| of(kind).map_or(0, |t| t.credited);
        let debited = |kind| of(kind).map_or(0, |t| t.debited);
        let issued = by_kind
            .iter()
            .filter(|t| t.kind != EntryKind::RedemptionRefund.as_str())
            .map(|t| t.credited)
            .fold(0_i64, i64::saturating_add);
        let redeemed = debited(EntryKind::Redemption)
            .saturating_sub(credited(EntryKind::RedemptionRefund))
            .max(0);
        let cut_by_caps = by_kind
            .iter()
            .map(|t| t.cut_by_cap)
            .fold(0_i64, i64::saturating_add);
        Self {
            issued,
            redeemed,
            expired: debited(EntryKind::Expiry),
            outstanding,
            cut_by_caps,
            redemption_rate: stats::redemption_rate(issued, redeemed),
            by_kind,
        }
    }
}

/// The programme's monthly points budget (最大可发放积分数) and this month's issue against it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProgrammeBudget {
    /// `None`: no budget.
    pub monthly_points: Option<i64>,
    /// Points issued this business month: what members earned (their monthly counters)
    /// plus what the budget-checked grants (campaigns, lottery prizes) gave.
    pub issued_this_month: i64,
    /// Of which the members' monthly earned counters.
    pub earned_this_month: i64,
}

/// The programme budget for `month` and what was issued in it. Campaign grants read it once
/// per run and then take their points with `store::campaigns::take_programme_budget`.
///
/// # Errors
/// `INTERNAL` on database failure.
pub(crate) async fn programme_budget(
    db: &impl sea_orm::ConnectionTrait,
    month: &MonthKey,
) -> Result<ProgrammeBudget, AppError> {
    let budget = programme::setting(db, MONTHLY_POINTS_BUDGET, 0).await?;
    let earned = store::stats::issued_in_month(db, month.as_str()).await?;
    let granted = store::campaigns::programme_granted(db, month.as_str()).await?;
    Ok(ProgrammeBudget {
        monthly_points: (budget > 0).then_some(budget),
        issued_this_month: earned.saturating_add(granted),
        earned_this_month: earned,
    })
}

/// The budget's settings key (a rule: campaign grants and lottery prizes read it).
pub(crate) const MONTHLY_POINTS_BUDGET: &str = "programme_monthly_points_budget";

pub struct StatsService {
    db: DatabaseConnection,
    clock: Arc<Clock>,
}

impl StatsService {
    pub fn new(db: DatabaseConnection, clock: Arc<Clock>) -> Self {
        Self { db, clock }
    }

    /// The budget and this month's issue against it.
    ///
    /// # Errors
    /// `INTERNAL` on database failure.
    pub async fn budget(&self) -> Result<ProgrammeBudget, AppError> {
        let month = MonthKey::of(self.clock.now(), self.clock.timezone());
        programme_budget(&self.db, &month).await
    }

    /// Sets the monthly points budget, or with `None` removes it.
    ///
    /// # Errors
    /// `VALIDATION` on `monthlyPoints` (at least 1).
    pub async fn set_budget(
        &self,
        monthly_points: Option<i64>,
    ) -> Result<ProgrammeBudget, AppError> {
        if monthly_points.is_some_and(|points| points < 1) {
            return Err(AppError::validation("monthlyPoints", "must be at least 1"));
        }
        let txn = store::begin(&self.db).await?;
        programme::set_setting(&txn, MONTHLY_POINTS_BUDGET, monthly_points.unwrap_or(0)).await?;
        txn.commit().await?;
        self.budget().await
    }

    /// The programme's figures for `period`. Flows (points, sign-ins, new members, KOC
    /// reviews) count what happened within the period; stocks (outstanding points, tiers,
    /// KOCs, waiting applications) are as of now.
    ///
    /// # Errors
    /// `INTERNAL` on database failure.
    pub async fn programme(&self, period: StatsPeriod) -> Result<ProgrammeStats, AppError> {
        let (start, end) = period.instants(self.clock.timezone());
        let by_kind = store::stats::points_by_kind(&self.db, start, end).await?;
        let outstanding = store::stats::outstanding_points(&self.db).await?;
        let activity = store::stats::activity(
            &self.db,
            period.from,
            period.to,
            period.window_start(7),
            period.window_start(30),
        )
        .await?;
        let counts: Vec<(String, i64)> = store::stats::members_by_tier(&self.db).await?;
        let tiers = programme::all_tiers(&self.db)
            .await?
            .into_iter()
            .map(|tier| {
                let members = counts
                    .iter()
                    .find(|(code, _)| *code == tier.code)
                    .map_or(0, |(_, n)| *n);
                (tier.code, tier.name, members)
            })
            .collect();
        Ok(ProgrammeStats {
            period,
            points: PointsStats::from_kinds(by_kind, outstanding),
            activity,
            new_members: store::stats::new_members(&self.db, start, end).await?,
            tiers,
            koc: store::stats::koc_counts(&self.db, start, end).await?,
            purchasers: store::stats::purchasers(&self.db, start, end).await?,
        })
    }
}
