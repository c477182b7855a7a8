//! Season rewards and personal reports (SPEC §18): what each rank of a settled board wins,
//! when a period may be settled, and where a member stands in a period.
#![deny(clippy::arithmetic_side_effects)]

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use chrono_tz::Tz;

use crate::domain::ids::{MemberId, RewardId};
use crate::domain::leaderboard::{self, Board};
use crate::error::AppError;

/// Ranks a settlement archives (and the lowest rank a reward may pay).
pub const ARCHIVE_TOP: u32 = 1000;

/// Points a rank may win at most.
pub const MAX_POINTS: i64 = 1_000_000;

/// Editions one pass settles per board at most (the oldest first; the next pass goes on).
pub const MAX_PERIODS_PER_PASS: usize = 12;

/// What ranks `from_rank..=to_rank` win (赛季奖励).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoardReward {
    pub from_rank: u32,
    pub to_rank: u32,
    /// `SEASON_REWARD` points credited.
    pub points: i64,
    /// A reward granted for free (out of stock: skipped).
    pub reward_id: Option<RewardId>,
    /// A badge given.
    pub badge_code: Option<String>,
}

impl BoardReward {
    pub fn covers(&self, rank: u32) -> bool {
        (self.from_rank..=self.to_rank).contains(&rank)
    }
}

/// Checks a board's rewards: seasonal boards only; ranks 1–1000, each range in order and apart
/// from the others; every range wins something; points 0–1,000,000.
///
/// # Errors
/// `VALIDATION` on `board` or `rewards`.
pub fn check_rewards(board: Board, rewards: &[BoardReward]) -> Result<(), AppError> {
    if !board.is_seasonal() {
        return Err(AppError::validation(
            "board",
            "only weekly and monthly boards are settled",
        ));
    }
    for (index, reward) in rewards.iter().enumerate() {
        if reward.from_rank < 1 || reward.from_rank > reward.to_rank || reward.to_rank > ARCHIVE_TOP
        {
            return Err(AppError::validation(
                "rewards",
                format!("ranks must satisfy 1 ≤ fromRank ≤ toRank ≤ {ARCHIVE_TOP}"),
            ));
        }
        if !(0..=MAX_POINTS).contains(&reward.points) {
            return Err(AppError::validation(
                "rewards",
                format!("points must be 0 to {MAX_POINTS}"),
            ));
        }
        if reward.points == 0 && reward.reward_id.is_none() && reward.badge_code.is_none() {
            return Err(AppError::validation(
                "rewards",
                "each rank range must win points, a reward or a badge",
            ));
        }
        let overlaps = rewards
            .iter()
            .skip(index.saturating_add(1))
            .any(|other| other.from_rank <= reward.to_rank && reward.from_rank <= other.to_rank);
        if overlaps {
            return Err(AppError::validation(
                "rewards",
                "rank ranges must not overlap",
            ));
        }
    }
    Ok(())
}

/// The prize for `rank`, if any.
pub fn prize_for(rewards: &[BoardReward], rank: u32) -> Option<&BoardReward> {
    rewards.iter().find(|r| r.covers(rank))
}

/// How many ranks a settlement archives: the top 1,000 and every paid rank.
pub fn archived_ranks(rewards: &[BoardReward]) -> u32 {
    rewards
        .iter()
        .map(|r| r.to_rank)
        .fold(ARCHIVE_TOP, u32::max)
}

/// When an edition may be settled: once the return window of its last day has closed, so a
/// purchase refunded in time no longer counts.
pub fn settles_at(
    board: Board,
    edition: &str,
    return_window_days: u32,
    timezone: Tz,
) -> Option<DateTime<Utc>> {
    let (_, last) = board.period_days(edition)?;
    let end = leaderboard::start_of_day(last.succ_opt()?, timezone)?;
    end.checked_add_signed(TimeDelta::days(i64::from(return_window_days)))
}

/// The editions of `board` that end after `since` and may be settled at `now`, oldest first,
/// at most `MAX_PERIODS_PER_PASS` of those not in `settled`.
pub fn due_editions(
    board: Board,
    since: DateTime<Utc>,
    now: DateTime<Utc>,
    return_window_days: u32,
    timezone: Tz,
    settled: &[String],
) -> Vec<String> {
    let mut due = Vec::new();
    let first_day = since.with_timezone(&timezone).date_naive();
    let mut edition = board.edition(first_day);
    // An edition that ended at `since` exactly did not end after it.
    if board
        .period_days(&edition)
        .and_then(|(_, last)| leaderboard::start_of_day(last.succ_opt()?, timezone))
        .is_some_and(|end| end <= since)
    {
        edition = board.next_edition(&edition).unwrap_or_default();
    }
    while due.len() < MAX_PERIODS_PER_PASS {
        match settles_at(board, &edition, return_window_days, timezone) {
            Some(at) if at <= now => {}
            _ => break,
        }
        if !settled.contains(&edition) {
            due.push(edition.clone());
        }
        match board.next_edition(&edition) {
            Some(next) => edition = next,
            None => break,
        }
    }
    due
}

/// What an archived rank won, and whether it was paid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::EnumString, strum::IntoStaticStr)]
#[strum(serialize_all = "SCREAMING_SNAKE_CASE")]
pub enum Payout {
    /// Nothing won.
    None,
    /// Won, not paid yet.
    Due,
    Paid,
    /// Won, but the member was frozen (风控) when it was to be paid: never paid.
    Withheld,
}

/// One archived rank.
#[derive(Debug, Clone)]
pub struct ArchivedRank {
    pub board: Board,
    pub period: String,
    pub rank: u32,
    pub member: MemberId,
    pub score: i64,
    pub points: i64,
    pub reward_id: Option<RewardId>,
    pub badge_code: Option<String>,
    pub payout: Payout,
}

/// The period a report covers (个人战报 / 年度总结).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportPeriod {
    Month,
    Year,
}

/// The business months ("YYYY-MM", first and last) of the report period holding `at`.
pub fn report_months(period: ReportPeriod, at: NaiveDate) -> (String, String) {
    use chrono::Datelike;
    match period {
        ReportPeriod::Month => {
            let month = format!("{:04}-{:02}", at.year(), at.month());
            (month.clone(), month)
        }
        ReportPeriod::Year => (
            format!("{:04}-01", at.year()),
            format!("{:04}-12", at.year()),
        ),
    }
}

/// The tier a member held at the end of `month` ("YYYY-MM"), from their tier changes
/// (month, before, after; oldest first) and their tier now: after the last change up to that
/// month; else before the first change after it; else the tier now (no change since).
pub fn tier_at_end_of(month: &str, changes: &[(String, String, String)], now: &str) -> String {
    changes
        .iter()
        .rev()
        .find(|(changed, _, _)| changed.as_str() <= month)
        .map(|(_, _, after)| after)
        .or_else(|| {
            changes
                .iter()
                .find(|(changed, _, _)| changed.as_str() > month)
                .map(|(_, before, _)| before)
        })
        .map_or_else(|| now.to_owned(), Clone::clone)
}

/// The share of a board's members (0–100, floored) the member ranks level with or ahead of:
/// `ahead` members have more, `total` counts everyone on the board with the member. Members
/// level with each other share a percentile. `None` when the member is not on the board.
pub fn percentile(ahead: u64, total: u64) -> Option<u8> {
    if total == 0 || ahead >= total {
        return None;
    }
    let level_or_behind = total.checked_sub(ahead)?;
    let share = level_or_behind.checked_mul(100)?.checked_div(total)?;
    u8::try_from(share).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reward(from_rank: u32, to_rank: u32, points: i64) -> BoardReward {
        BoardReward {
            from_rank,
            to_rank,
            points,
            reward_id: None,
            badge_code: None,
        }
    }

    #[test]
    fn rewards_are_checked() {
        let ok = [reward(1, 1, 500), reward(2, 3, 200)];
        assert!(check_rewards(Board::PointsWeek, &ok).is_ok());
        assert!(check_rewards(Board::Streak, &ok).is_err());
        assert!(check_rewards(Board::PointsWeek, &[reward(2, 1, 5)]).is_err());
        assert!(check_rewards(Board::PointsWeek, &[reward(0, 1, 5)]).is_err());
        assert!(check_rewards(Board::PointsWeek, &[reward(1, 1001, 5)]).is_err());
        assert!(check_rewards(Board::PointsWeek, &[reward(1, 3, 5), reward(3, 4, 5)]).is_err());
        assert!(check_rewards(Board::PointsWeek, &[reward(1, 1, 0)]).is_err());
        assert_eq!(prize_for(&ok, 3).map(|r| r.points), Some(200));
        assert_eq!(prize_for(&ok, 4), None);
        assert_eq!(archived_ranks(&ok), 1000);
    }

    #[test]
    fn weeks_settle_after_the_return_window_of_their_last_day() {
        let tz = chrono_tz::Asia::Shanghai;
        let at = |s: &str| {
            DateTime::parse_from_rfc3339(s)
                .map(|t| t.with_timezone(&Utc))
                .unwrap_or_default()
        };
        // 2026-W10 ends Sunday 2026-03-08 24:00 Shanghai = 16:00 UTC; +7 days.
        assert_eq!(
            settles_at(Board::PointsWeek, "2026-W10", 7, tz),
            Some(at("2026-03-15T16:00:00Z"))
        );
        let since = at("2026-03-03T00:00:00Z");
        let due = |now: &str, settled: &[String]| {
            due_editions(Board::PointsWeek, since, at(now), 7, tz, settled)
        };
        assert!(due("2026-03-15T15:59:59Z", &[]).is_empty());
        assert_eq!(due("2026-03-15T16:00:00Z", &[]), vec!["2026-W10"]);
        assert_eq!(due("2026-03-29T16:00:00Z", &[]).len(), 3);
        assert_eq!(
            due("2026-03-29T16:00:00Z", &["2026-W10".to_owned()]),
            vec!["2026-W11", "2026-W12"]
        );
        // Rewards set at the very end of a week start with the next one.
        let sunday_end = at("2026-03-08T16:00:00Z");
        assert_eq!(
            due_editions(
                Board::PointsWeek,
                sunday_end,
                at("2026-03-22T16:00:00Z"),
                7,
                tz,
                &[]
            ),
            vec!["2026-W11"]
        );
    }

    #[test]
    fn percentiles_count_members_level_or_behind() {
        assert_eq!(percentile(0, 1), Some(100));
        assert_eq!(percentile(0, 4), Some(100));
        assert_eq!(percentile(3, 4), Some(25));
        assert_eq!(percentile(2, 3), Some(33));
        assert_eq!(percentile(0, 0), None);
        assert_eq!(percentile(4, 4), None);
    }

    #[test]
    fn tiers_at_the_end_of_a_month_follow_the_changes() {
        let changes = vec![
            (
                "2026-03".to_owned(),
                "NORMAL".to_owned(),
                "SILVER".to_owned(),
            ),
            ("2026-06".to_owned(), "SILVER".to_owned(), "GOLD".to_owned()),
        ];
        assert_eq!(tier_at_end_of("2026-02", &changes, "GOLD"), "NORMAL");
        assert_eq!(tier_at_end_of("2026-03", &changes, "GOLD"), "SILVER");
        assert_eq!(tier_at_end_of("2026-05", &changes, "GOLD"), "SILVER");
        assert_eq!(tier_at_end_of("2026-09", &changes, "GOLD"), "GOLD");
        assert_eq!(tier_at_end_of("2026-09", &[], "SILVER"), "SILVER");
    }

    #[test]
    fn report_months_cover_the_month_or_the_year() {
        let day = NaiveDate::from_ymd_opt(2026, 3, 9).unwrap_or_default();
        assert_eq!(
            report_months(ReportPeriod::Month, day),
            ("2026-03".to_owned(), "2026-03".to_owned())
        );
        assert_eq!(
            report_months(ReportPeriod::Year, day),
            ("2026-01".to_owned(), "2026-12".to_owned())
        );
    }
}
