//! Who is calling and what they may do. A member reaches only their own data; admin operations
//! need an admin role that grants them.

use crate::domain::ids::{AdminId, MemberId};
use crate::error::AppError;

/// An operator account's role: ADMIN may do everything; OPERATOR handles reviews, fulfilment
/// and reads, but changes no rules and adjusts no points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Admin,
    Operator,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "ADMIN",
            Self::Operator => "OPERATOR",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, AppError> {
        match raw.trim().to_ascii_uppercase().as_str() {
            "ADMIN" => Ok(Self::Admin),
            "OPERATOR" => Ok(Self::Operator),
            _ => Err(AppError::validation("role", "must be ADMIN or OPERATOR")),
        }
    }

    /// Whether this role may perform `action`.
    pub fn can(self, action: AdminAction) -> bool {
        match action {
            AdminAction::ReadMembers | AdminAction::Fulfil | AdminAction::Review => true,
            AdminAction::ControlTestClock
            | AdminAction::ManageRules
            | AdminAction::AdjustPoints
            | AdminAction::RunJobs
            | AdminAction::Integrations => self == Self::Admin,
        }
    }
}

/// The admin operations that are guarded by role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminAction {
    /// Look up members, their data and programme statistics.
    ReadMembers,
    /// Move the test clock (outside production only).
    ControlTestClock,
    /// Change programme rules (sign-in cycle, milestones, costs).
    ManageRules,
    /// Add or remove a member's points, or give streak freezes.
    AdjustPoints,
    /// Run scheduled jobs by hand (points expiry).
    RunJobs,
    /// The mall/POS integration: purchases, refunds, checkout deductions.
    Integrations,
    /// Write coupons off, fulfil or cancel redemptions.
    Fulfil,
    /// Review KOC applications and submissions; void referrals.
    Review,
}

/// The authenticated caller of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Viewer {
    Member(MemberId),
    Admin { id: AdminId, role: Role },
}

impl Viewer {
    /// The member behind the request; admins are not members.
    pub fn member(self) -> Result<MemberId, AppError> {
        match self {
            Self::Member(id) => Ok(id),
            Self::Admin { .. } => Err(AppError::Forbidden("this operation is for members")),
        }
    }

    /// The admin behind the request, if their role allows `action`.
    pub fn admin_for(self, action: AdminAction) -> Result<(AdminId, Role), AppError> {
        match self {
            Self::Admin { id, role } if role.can(action) => Ok((id, role)),
            Self::Admin { .. } => Err(AppError::Forbidden("your role does not allow this")),
            Self::Member(_) => Err(AppError::Forbidden("this operation is for admins")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_never_pass_an_admin_guard() {
        let member = Viewer::Member(MemberId::new(1));
        for action in [AdminAction::ReadMembers, AdminAction::ControlTestClock] {
            assert_eq!(member.admin_for(action).unwrap_err().code(), "FORBIDDEN");
        }
    }

    #[test]
    fn operators_read_but_do_not_move_the_clock() {
        let operator = Viewer::Admin {
            id: AdminId::new(1),
            role: Role::Operator,
        };
        assert!(operator.admin_for(AdminAction::ReadMembers).is_ok());
        assert!(operator.admin_for(AdminAction::ControlTestClock).is_err());
        assert!(operator.member().is_err());
    }

    #[test]
    fn roles_parse_case_insensitively() {
        assert_eq!(Role::parse("operator").unwrap(), Role::Operator);
        assert!(Role::parse("root").is_err());
    }
}
