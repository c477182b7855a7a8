//! Campaigns (营销自动化, SPEC §16): what a campaign does, when, and how its state moves.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// Where a campaign stands: `DRAFT` → `ACTIVE` ⇄ `PAUSED` → `ENDED`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::EnumString, strum::IntoStaticStr)]
#[strum(serialize_all = "SCREAMING_SNAKE_CASE")]
pub enum CampaignStatus {
    Draft,
    Active,
    Paused,
    Ended,
}

impl CampaignStatus {
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// Whether an operator may move a campaign from this status to `to`.
    pub fn may_become(self, to: Self) -> bool {
        matches!(
            (self, to),
            (Self::Draft | Self::Paused, Self::Active)
                | (Self::Active, Self::Paused)
                | (Self::Draft | Self::Active | Self::Paused, Self::Ended)
        )
    }
}

/// When a campaign reaches its members. `ONCE` is built; the recurring and event triggers of
/// SPEC §16 are not yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::EnumString, strum::IntoStaticStr)]
#[strum(serialize_all = "SCREAMING_SNAKE_CASE")]
pub enum TriggerKind {
    /// At `at`, every member of the segment once.
    Once,
}

impl TriggerKind {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// What a campaign does for a member it reaches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Action {
    /// 积分红包: a `CAMPAIGN` credit, expiring after `expire_in_days` (the programme's normal
    /// expiry when none).
    GrantPoints {
        points: i64,
        expire_in_days: Option<i64>,
    },
    /// An inbox `CAMPAIGN` notice, and a subscribe message where the member consented.
    Notify { title: String, body: String },
}

/// Checks a campaign's actions: 1–5 of them, at most one grant of 1–100000 points expiring
/// in 1–3660 days, notices with a 1–20 character title and a 1–200 character body.
///
/// # Errors
/// `VALIDATION` on `actions`, `actions.points`, `actions.pointsExpireInDays`,
/// `actions.title` or `actions.body`.
pub fn check_actions(actions: &[Action]) -> Result<(), AppError> {
    if actions.is_empty() || actions.len() > 5 {
        return Err(AppError::validation("actions", "name 1 to 5 actions"));
    }
    let grants = actions
        .iter()
        .filter(|a| matches!(a, Action::GrantPoints { .. }))
        .count();
    if grants > 1 {
        return Err(AppError::validation("actions", "grant points at most once"));
    }
    for action in actions {
        match action {
            Action::GrantPoints {
                points,
                expire_in_days,
            } => {
                if !(1..=100_000).contains(points) {
                    return Err(AppError::validation(
                        "actions.points",
                        "must be 1 to 100000",
                    ));
                }
                if expire_in_days.is_some_and(|days| !(1..=3660).contains(&days)) {
                    return Err(AppError::validation(
                        "actions.pointsExpireInDays",
                        "must be 1 to 3660 days",
                    ));
                }
            }
            Action::Notify { title, body } => {
                let chars = |s: &str| s.trim().chars().count();
                if !(1..=20).contains(&chars(title)) {
                    return Err(AppError::validation(
                        "actions.title",
                        "must be 1 to 20 characters",
                    ));
                }
                if !(1..=200).contains(&chars(body)) {
                    return Err(AppError::validation(
                        "actions.body",
                        "must be 1 to 200 characters",
                    ));
                }
            }
        }
    }
    Ok(())
}

/// The points one member's grant costs.
pub fn grant_points(actions: &[Action]) -> i64 {
    actions
        .iter()
        .map(|action| match action {
            Action::GrantPoints { points, .. } => *points,
            Action::Notify { .. } => 0,
        })
        .sum()
}

/// A campaign as operators see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Campaign {
    pub id: i64,
    pub name: String,
    pub segment_id: Option<i64>,
    pub trigger: TriggerKind,
    pub trigger_at: Option<DateTime<Utc>>,
    pub actions: Vec<Action>,
    pub budget_points: Option<i64>,
    pub spent_points: i64,
    pub budget_exhausted: bool,
    pub holdout_percent: i32,
    pub status: CampaignStatus,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What happened for one member at one occurrence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::IntoStaticStr)]
#[strum(serialize_all = "SCREAMING_SNAKE_CASE")]
pub enum Outcome {
    Granted,
    /// In the holdout group (对照组): nothing given, recorded as control.
    HeldOut,
    /// Frozen, or nothing to give within the budget.
    Skipped,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// Whether a member falls in the holdout for an occurrence: a stable draw per member and
/// occurrence (the same member is in or out whichever instance asks, and on a replay).
pub fn held_out(holdout_percent: i32, campaign: i64, member: i64, occurrence: &str) -> bool {
    if holdout_percent <= 0 {
        return false;
    }
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("{campaign}:{member}:{occurrence}").as_bytes());
    let bytes: [u8; 32] = digest.into();
    let [first, second, ..] = bytes;
    let draw = u16::from_be_bytes([first, second]) % 100;
    i32::from(draw) < holdout_percent
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_move_as_the_spec_says() {
        use CampaignStatus::*;
        assert!(Draft.may_become(Active));
        assert!(Active.may_become(Paused));
        assert!(Paused.may_become(Active));
        assert!(Active.may_become(Ended));
        assert!(!Ended.may_become(Active));
        assert!(!Draft.may_become(Paused));
    }

    #[test]
    fn the_holdout_is_stable_and_about_its_share() {
        let held = (0..10_000)
            .filter(|member| held_out(20, 1, *member, "once"))
            .count();
        assert!((1_700..2_300).contains(&held), "{held}");
        assert_eq!(held_out(20, 1, 42, "once"), held_out(20, 1, 42, "once"));
        assert!(!held_out(0, 1, 42, "once"));
    }
}
