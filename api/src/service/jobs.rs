//! Scheduled work, run by every instance each interval and by admins on demand: points expiry
//! and pending purchases, the monthly tier evaluation, the member-day notice the day before,
//! coupon reminders 3 days before a coupon lapses, the members' trailing purchase facts and RFM
//! medians, members entering AT_RISK or DORMANT, and settling and paying boards' seasons.
//! Each step is safe to run on several instances at once.

use crate::error::AppError;
use crate::service::Services;
use crate::service::points::ExpiryRun;
use crate::service::seasons::SettleRun;
use crate::service::tiers::Evaluation;

/// What one pass did.
#[derive(Debug, Clone, Copy, Default)]
pub struct JobsRun {
    pub expiry: ExpiryRun,
    /// Set when this pass ran the month's tier evaluation.
    pub tiers: Option<Evaluation>,
    pub member_day_notices: u64,
    pub coupon_notices: u64,
    /// Members campaigns granted in this pass.
    pub campaign_grants: u64,
    /// Members this pass noticed entering AT_RISK and DORMANT.
    pub became_at_risk: u64,
    pub became_dormant: u64,
    /// Board periods settled and ranks paid in this pass.
    pub seasons: SettleRun,
}

/// Runs every scheduled step once.
///
/// # Errors
/// The first step that fails; later steps run on the next pass.
pub async fn run_all(services: &Services) -> Result<JobsRun, AppError> {
    let expiry = services.points.run_expiry().await?;
    let tiers = services.tiers.evaluate_monthly().await?;
    let member_day_notices = services.member_day.announce_tomorrow().await?;
    let coupon_notices = services.rewards.announce_expiring_coupons().await?;
    services.segments.roll_facts().await?;
    let (became_at_risk, became_dormant) = services.segments.notice_transitions().await?;
    let campaign_grants = services.campaigns.run_due(&services.segments).await?;
    let seasons = services.seasons.settle_due().await?;
    Ok(JobsRun {
        seasons,
        campaign_grants,
        became_at_risk,
        became_dormant,
        expiry,
        tiers,
        member_day_notices,
        coupon_notices,
    })
}
