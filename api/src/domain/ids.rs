//! Identifier newtypes, so a member id can never be passed where an admin id is expected.

use std::fmt;

use crate::error::AppError;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $field:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(i64);

        impl $name {
            pub fn new(raw: i64) -> Self {
                Self(raw)
            }

            pub fn get(self) -> i64 {
                self.0
            }

            /// Parses a client-supplied id (a GraphQL `ID`).
            pub fn parse(raw: &str) -> Result<Self, AppError> {
                Self::parse_as(raw, $field)
            }

            /// Parses a client-supplied id given as the argument `field`.
            pub fn parse_as(raw: &str, field: &'static str) -> Result<Self, AppError> {
                raw.trim()
                    .parse::<i64>()
                    .ok()
                    .filter(|id| *id > 0)
                    .map(Self)
                    .ok_or_else(|| AppError::validation(field, "is not a valid id"))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }
    };
}

id_type!(
    /// A member of the programme.
    MemberId,
    "id"
);
id_type!(
    /// An operator account (role ADMIN or OPERATOR).
    AdminId,
    "id"
);
id_type!(
    /// A notice in a member's inbox.
    NotificationId,
    "id"
);
id_type!(
    /// A one-off member-day event.
    EventId,
    "id"
);
id_type!(
    /// A reward in the catalogue.
    RewardId,
    "id"
);
id_type!(
    /// A member's redemption of a reward.
    RedemptionId,
    "id"
);
id_type!(
    /// An application to become a KOC.
    KocApplicationId,
    "id"
);
id_type!(
    /// A KOC task operators define.
    KocTaskId,
    "id"
);
id_type!(
    /// A KOC's submitted (or automatically completed) task work.
    KocSubmissionId,
    "id"
);
id_type!(
    /// An invite bound by the invitee.
    ReferralId,
    "id"
);
id_type!(
    /// An operator's tag (标签).
    TagId,
    "id"
);
id_type!(
    /// A saved segment (人群).
    SegmentId,
    "id"
);
id_type!(
    /// An operator's campaign (营销活动).
    CampaignId,
    "id"
);
id_type!(
    /// A points lottery (积分抽奖).
    LotteryId,
    "lotteryId"
);
id_type!(
    /// A task in the task centre (任务).
    TaskId,
    "taskId"
);
id_type!(
    /// A receiver of webhook events.
    WebhookId,
    "id"
);
id_type!(
    /// An outbox row: one subscribe message or one webhook call.
    DeliveryId,
    "id"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_parse_positive_integers_only() {
        assert_eq!(MemberId::parse(" 42 ").unwrap(), MemberId::new(42));
        for bad in ["", "0", "-1", "abc", "1.5", "99999999999999999999"] {
            assert!(MemberId::parse(bad).is_err(), "accepted {bad:?}");
        }
    }
}
