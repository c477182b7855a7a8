//! Inbox notices (消息模板) about points: what they say.

use crate::domain::points::EntryKind;

/// What a notice is about. Names are derived (`POINTS_EARNED` …), and so is the list of kinds.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, strum::VariantArray, strum::EnumString, strum::IntoStaticStr,
)]
#[strum(serialize_all = "SCREAMING_SNAKE_CASE")]
pub enum NoticeKind {
    PointsEarned,
    PointsRedeemed,
    PointsExpiring,
    PointsExpired,
    TierChanged,
    MemberDayTomorrow,
    KocApplicationReviewed,
    KocSubmissionReviewed,
    ReferralRewarded,
    BirthdayGreeting,
    CouponArrived,
    CouponExpiring,
    /// An operator's campaign (营销活动) notice.
    Campaign,
    /// A leaderboard season reward won (每周之星 / 榜单奖励).
    SeasonReward,
}

impl NoticeKind {
    pub const ALL: &'static [Self] = <Self as strum::VariantArray>::VARIANTS;

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// A stored name back to its kind.
    pub fn parse(raw: &str) -> Option<Self> {
        raw.parse().ok()
    }
}

/// A notice ready to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub kind: NoticeKind,
    /// The points the notice is about (how many moved, unsigned), for a subscribe message's
    /// `{points}`.
    pub points: Option<i64>,
    /// The balance after the movement, for `{balance}`.
    pub balance: Option<i64>,
    pub title: String,
    pub body: String,
}

/// How a ledger entry kind reads to a member.
pub fn entry_label(kind: EntryKind) -> &'static str {
    match kind {
        EntryKind::SignIn => "每日签到",
        EntryKind::SignInMilestone => "签到里程碑奖励",
        EntryKind::MakeUpSignIn => "补签",
        EntryKind::Purchase => "消费积分",
        EntryKind::PurchaseRefund => "订单退款扣回",
        EntryKind::KocTask => "KOC任务奖励",
        EntryKind::Task => "任务奖励",
        EntryKind::Lottery => "积分抽奖",
        EntryKind::LotteryPrize => "抽奖奖励",
        EntryKind::Referral => "邀请奖励",
        EntryKind::Birthday => "生日礼",
        EntryKind::TierUpgradeGift => "升级礼",
        EntryKind::AdminAdjust => "积分调整",
        EntryKind::Redemption => "积分兑换",
        EntryKind::RedemptionRefund => "兑换退回",
        EntryKind::Expiry => "积分过期",
        EntryKind::Campaign => "活动奖励",
        EntryKind::SeasonReward => "榜单奖励",
    }
}

/// The notice for a ledger movement of `amount` (signed), or none for a movement of zero.
pub fn for_movement(kind: EntryKind, amount: i64, balance_after: i64) -> Option<Notice> {
    let label = entry_label(kind);
    match amount {
        0 => None,
        _ if kind == EntryKind::Expiry => Some(Notice {
            kind: NoticeKind::PointsExpired,
            points: Some(amount.saturating_abs()),
            balance: Some(balance_after),
            title: "积分已过期".to_owned(),
            body: format!(
                "{} 积分已过期，当前余额 {balance_after} 积分",
                amount.saturating_neg()
            ),
        }),
        credit if credit > 0 && kind == EntryKind::Referral => Some(Notice {
            kind: NoticeKind::ReferralRewarded,
            points: Some(amount.saturating_abs()),
            balance: Some(balance_after),
            title: "邀请奖励到账".to_owned(),
            body: format!("{label} +{credit} 积分，当前余额 {balance_after} 积分"),
        }),
        credit if credit > 0 && kind == EntryKind::Birthday => Some(Notice {
            kind: NoticeKind::BirthdayGreeting,
            points: Some(amount.saturating_abs()),
            balance: Some(balance_after),
            title: "生日快乐".to_owned(),
            body: format!("祝您生日快乐！{label} +{credit} 积分，当前余额 {balance_after} 积分"),
        }),
        credit if credit > 0 => Some(Notice {
            kind: NoticeKind::PointsEarned,
            points: Some(amount.saturating_abs()),
            balance: Some(balance_after),
            title: "积分到账".to_owned(),
            body: format!("{label} +{credit} 积分，当前余额 {balance_after} 积分"),
        }),
        debit => Some(Notice {
            kind: NoticeKind::PointsRedeemed,
            points: Some(amount.saturating_abs()),
            balance: Some(balance_after),
            title: "积分已使用".to_owned(),
            body: format!("{label} {debit} 积分，当前余额 {balance_after} 积分"),
        }),
    }
}

/// The notice that the member moved from one tier to another.
pub fn tier_changed(from: &str, to: &str, upgraded: bool) -> Notice {
    Notice {
        kind: NoticeKind::TierChanged,
        points: None,
        balance: None,
        title: if upgraded {
            "会员升级"
        } else {
            "会员等级调整"
        }
        .to_owned(),
        body: format!("您的会员等级已由{from}调整为{to}"),
    }
}

/// The notice that an operator decided a KOC application.
pub fn koc_application_reviewed(approved: bool, note: Option<&str>) -> Notice {
    let body = if approved {
        "恭喜！您的KOC申请已通过，快去看看KOC任务吧".to_owned()
    } else {
        format!("您的KOC申请未通过{}", reason_suffix(note))
    };
    Notice {
        kind: NoticeKind::KocApplicationReviewed,
        points: None,
        balance: None,
        title: if approved {
            "KOC申请已通过"
        } else {
            "KOC申请未通过"
        }
        .to_owned(),
        body,
    }
}

/// The notice that an operator decided a KOC task submission.
pub fn koc_submission_reviewed(task: &str, approved: bool, note: Option<&str>) -> Notice {
    let body = if approved {
        format!("任务「{task}」已通过审核，奖励已发放")
    } else {
        format!(
            "任务「{task}」未通过审核{}，可修改后重新提交",
            reason_suffix(note)
        )
    };
    Notice {
        kind: NoticeKind::KocSubmissionReviewed,
        points: None,
        balance: None,
        title: if approved {
            "任务审核通过"
        } else {
            "任务审核未通过"
        }
        .to_owned(),
        body,
    }
}

fn reason_suffix(note: Option<&str>) -> String {
    note.map(str::trim)
        .filter(|n| !n.is_empty())
        .map_or_else(String::new, |n| format!("：{n}"))
}

/// What tomorrow's member day brings.
pub fn member_day_body(title: &str, multiplier_pct: i32, discount_pct: i32) -> String {
    format!(
        "明天是{title}：签到和消费积分 {}.{}0 倍，兑换立减 {discount_pct}%",
        multiplier_pct / 100,
        (multiplier_pct % 100) / 10
    )
}

/// The notice that `points` lapse on `day` (a business date, written YYYY-MM-DD).
pub fn expiring(points: i64, day: &str) -> Notice {
    Notice {
        kind: NoticeKind::PointsExpiring,
        points: Some(points),
        balance: None,
        title: "积分即将过期".to_owned(),
        body: format!("{points} 积分将于 {day} 过期，记得使用哦"),
    }
}

/// The last business day (YYYY-MM-DD) before `lapses_at`: points and coupons lapse at the
/// start of a business day, so the day before is the last one to use them.
pub fn last_day(lapses_at: chrono::DateTime<chrono::Utc>, timezone: chrono_tz::Tz) -> String {
    (lapses_at - chrono::TimeDelta::seconds(1))
        .with_timezone(&timezone)
        .date_naive()
        .to_string()
}

/// The notice that `count` coupons of a reward arrived, usable until `last_day`.
pub fn coupon_arrived(reward: &str, count: i32, last_day: &str) -> Notice {
    Notice {
        kind: NoticeKind::CouponArrived,
        points: None,
        balance: None,
        title: "优惠券已到账".to_owned(),
        body: format!("{count} 张「{reward}」已放入您的券包，{last_day} 前有效"),
    }
}

/// The notice that a coupon lapses after `last_day`.
pub fn coupon_expiring(reward: &str, last_day: &str) -> Notice {
    Notice {
        kind: NoticeKind::CouponExpiring,
        points: None,
        balance: None,
        title: "优惠券即将过期".to_owned(),
        body: format!("您的「{reward}」将于 {last_day} 过期，记得使用哦"),
    }
}

/// A notice in a member's inbox.
#[derive(Debug, Clone)]
pub struct InboxNotice {
    pub id: i64,
    pub kind: NoticeKind,
    pub title: String,
    pub body: String,
    pub reference: Option<String>,
    pub read_at: Option<chrono::DateTime<chrono::Utc>>,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn movements_read_as_earned_redeemed_or_expired() {
        let earned = for_movement(EntryKind::SignIn, 5, 15).unwrap();
        assert_eq!(earned.kind, NoticeKind::PointsEarned);
        assert_eq!(earned.body, "每日签到 +5 积分，当前余额 15 积分");
        let spent = for_movement(EntryKind::MakeUpSignIn, -20, 0).unwrap();
        assert_eq!(spent.kind, NoticeKind::PointsRedeemed);
        let expired = for_movement(EntryKind::Expiry, -30, 0).unwrap();
        assert_eq!(expired.kind, NoticeKind::PointsExpired);
        assert!(for_movement(EntryKind::SignIn, 0, 0).is_none());
        for &kind in NoticeKind::ALL {
            assert_eq!(NoticeKind::parse(kind.as_str()), Some(kind));
        }
    }
}
