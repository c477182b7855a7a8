//! Tiers (会员等级). The full rules arrive with the tier engine; this is what a member card shows.

/// A tier's identity and the badge the UI shows for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TierSummary {
    pub code: String,
    pub name: String,
    /// 0 for the entry tier, rising with each tier.
    pub rank: i32,
    pub badge: String,
}
