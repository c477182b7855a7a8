//! Referral rules (SPEC §8): who may bind whom, what a completed invite pays, milestones.
#![deny(clippy::arithmetic_side_effects)]

use chrono::{DateTime, TimeDelta, Utc};

use crate::error::AppError;

/// Days after registering in which a member may name their inviter.
pub const BIND_WINDOW_DAYS: i64 = 7;
/// Paid to the inviter when an invitee completes a first sign-in.
pub const INVITER_POINTS: i64 = 50;
/// Paid to the invitee at that first sign-in.
pub const INVITEE_POINTS: i64 = 20;
/// Rewarded invites per inviter per business day; more still count, unpaid.
pub const DAILY_REWARDED_INVITES: u64 = 5;
/// (successful invites, bonus points) for the inviter, each paid once ever.
pub const MILESTONES: [(i32, i64); 3] = [(10, 100), (20, 200), (30, 300)];
/// How far up an inviter chain the cycle check walks; chains are far shorter in practice.
pub const MAX_CHAIN: usize = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReferralStatus {
    /// Bound; the invitee has not signed in yet.
    Bound,
    /// The invitee completed a first sign-in.
    Completed,
    /// Voided by an operator; its rewards were reversed.
    Void,
}

impl ReferralStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Bound => "BOUND",
            Self::Completed => "COMPLETED",
            Self::Void => "VOID",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [Self::Bound, Self::Completed, Self::Void]
            .into_iter()
            .find(|s| s.as_str() == raw)
    }
}

/// Whether a member registered at `registered_at` may still bind an inviter at `now`.
///
/// # Errors
/// `INVITE_INVALID` once the window has passed.
pub fn check_bind_window(registered_at: DateTime<Utc>, now: DateTime<Utc>) -> Result<(), AppError> {
    let closes = registered_at
        .checked_add_signed(TimeDelta::days(BIND_WINDOW_DAYS))
        .unwrap_or(registered_at);
    if now > closes {
        return Err(AppError::InviteInvalid(
            "an inviter can only be named in the first 7 days",
        ));
    }
    Ok(())
}

/// Milestones crossed when successful invites go from `before` to `after`.
pub fn milestones_crossed(before: i32, after: i32) -> Vec<(i32, i64)> {
    MILESTONES
        .into_iter()
        .filter(|(threshold, _)| before < *threshold && after >= *threshold)
        .collect()
}

/// The next milestone above `count`, if any.
pub fn next_milestone(count: i32) -> Option<(i32, i64)> {
    MILESTONES
        .into_iter()
        .find(|(threshold, _)| *threshold > count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binding_closes_seven_days_after_registering() {
        let registered = DateTime::from_timestamp(1_795_000_000, 0).unwrap_or_default();
        let inside = registered + TimeDelta::days(7);
        let outside = inside + TimeDelta::seconds(1);
        assert!(check_bind_window(registered, inside).is_ok());
        assert_eq!(
            check_bind_window(registered, outside).map_err(|e| e.code()),
            Err("INVITE_INVALID")
        );
    }

    #[test]
    fn milestones_are_crossed_once() {
        assert_eq!(milestones_crossed(9, 10), vec![(10, 100)]);
        assert!(milestones_crossed(10, 11).is_empty());
        assert_eq!(milestones_crossed(19, 30), vec![(20, 200), (30, 300)]);
        assert_eq!(next_milestone(0), Some((10, 100)));
        assert_eq!(next_milestone(30), None);
    }
}
