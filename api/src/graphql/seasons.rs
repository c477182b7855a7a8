//! Weekly stars and season rewards (每周之星 / 赛季奖励), archived standings (比赛战报) and each
//! member's month and year (个人战报 / 年度总结).

use async_graphql::{Context, Enum, ID, InputObject, Object, ResultExt, SimpleObject};

use crate::domain::auth::AdminAction;
use crate::domain::ids::RewardId;
use crate::domain::paging::PageSize;
use crate::domain::season::{self, Payout};
use crate::graphql::context::ContextExt;
use crate::graphql::leaderboards::LeaderboardKind;
use crate::graphql::scalars::Date;
use crate::service::seasons::{ArchiveEntry, Report};

/// What a range of ranks wins when a board's period is settled (赛季奖励).
#[derive(InputObject)]
pub struct BoardRewardInput {
    /// The first rank of the range, 1–1000.
    from_rank: i32,
    /// The last rank of the range, `fromRank`–1000; ranges must not overlap.
    to_rank: i32,
    /// `SEASON_REWARD` points each rank in the range is credited (榜单奖励积分), 0–1,000,000.
    #[graphql(default = 0)]
    points: i64,
    /// A reward each rank is granted for free (奖品); skipped when out of stock.
    reward_id: Option<ID>,
    /// A badge each rank is given (勋章), e.g. a 每周之星 badge.
    badge_code: Option<String>,
}

/// What a range of ranks wins (赛季奖励).
#[derive(SimpleObject)]
pub struct BoardReward {
    /// The first rank of the range.
    from_rank: i32,
    /// The last rank of the range.
    to_rank: i32,
    /// `SEASON_REWARD` points credited to each rank.
    points: i64,
    /// The reward granted to each rank, if any.
    reward_id: Option<ID>,
    /// The badge given to each rank, if any.
    badge_code: Option<String>,
}

impl From<season::BoardReward> for BoardReward {
    fn from(r: season::BoardReward) -> Self {
        Self {
            from_rank: i32::try_from(r.from_rank).unwrap_or(i32::MAX),
            to_rank: i32::try_from(r.to_rank).unwrap_or(i32::MAX),
            points: r.points,
            reward_id: r.reward_id.map(|id| ID(id.to_string())),
            badge_code: r.badge_code,
        }
    }
}

/// One rank of a settled board (比赛战报).
#[derive(SimpleObject)]
pub struct ArchivedRank {
    /// The place (名次), 1 = first, as settled.
    rank: i32,
    /// The nickname (昵称), or a masked stand-in.
    display_name: String,
    /// The member's avatar (头像), if set.
    avatar_url: Option<String>,
    /// What the board ranked by (points or sign-in days), as settled.
    score: i64,
    /// `SEASON_REWARD` points won.
    points: i64,
    /// The reward won, if any.
    reward_id: Option<ID>,
    /// The badge won, if any.
    badge_code: Option<String>,
    /// True once what this rank won was paid (发放); false for ranks that won nothing, and for a
    /// winner frozen (风控) when it was to be paid, whose prize is withheld.
    paid: bool,
    /// True on the caller's own row.
    is_me: bool,
}

/// A settled period of a board: its archived standings (往期榜单).
#[derive(SimpleObject)]
pub struct BoardArchive {
    /// Which board.
    board: LeaderboardKind,
    /// The period: an ISO week ("2026-W10") or a month ("2026-03").
    period: String,
    /// The top ranks as settled, first place first.
    entries: Vec<ArchivedRank>,
}

/// The period a personal report covers.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "crate::domain::season::ReportPeriod")]
pub enum ReportPeriod {
    /// A business month (个人月度战报).
    Month,
    /// A calendar year in business time (年度总结).
    Year,
}

/// A member's month or year in figures (个人战报 / 年度总结), from their month counters.
#[derive(SimpleObject)]
pub struct MemberReport {
    /// Which kind of period.
    period: ReportPeriod,
    /// The month ("2026-03") or year ("2026") covered.
    label: String,
    /// Points earned (获得积分): what counts toward the monthly earning cap and the points
    /// boards — purchase points when the purchase is recorded, sign-ins, tasks… — less
    /// purchases refunded; campaign gifts, lottery prizes and season rewards are not earned.
    points_earned: i64,
    /// Points spent (消耗积分): on rewards, lottery draws and checkout deductions (what counts
    /// toward the monthly redemption cap).
    points_spent: i64,
    /// Days signed in (签到天数), make-ups included.
    sign_ins: i64,
    /// The longest streak reached (最长连签).
    best_streak: i64,
    /// Rewards redeemed or granted (兑换次数).
    redemptions: i64,
    /// The tier (会员等级) at the start of the period.
    tier_at_start: String,
    /// The tier at the end of the period (now, for the current one).
    tier_at_end: String,
    /// Codes of the badges given in the period (获得勋章).
    badges: Vec<String>,
    /// The share of members (0–100) the member earned as much as or more than (超过了X%的会员):
    /// on the month's points board, or for a year among members who earned that year. Hidden
    /// and frozen members are not compared with. Null when the member earned nothing.
    percentile: Option<i32>,
    /// How many members the percentile compares, the member included.
    compared_with: i32,
    /// The member's place on each board with a month edition (POINTS_MONTH and KOC_MONTH), for
    /// the month or summed over the year, compared the same way as `percentile`.
    percentiles: Vec<BoardPercentile>,
}

/// Where a member stands on one board over a report's period (榜单百分位).
#[derive(SimpleObject)]
pub struct BoardPercentile {
    /// The board: POINTS_MONTH (points earned) or KOC_MONTH (KOC score).
    board: LeaderboardKind,
    /// What the member scored on it over the period.
    score: i64,
    /// The share of members (0–100) the member scored as much as or more than; null when the
    /// member scored nothing.
    percentile: Option<i32>,
    /// How many members that compares, the member included; 0 when not on the board.
    compared_with: i32,
}

impl From<Report> for MemberReport {
    fn from(r: Report) -> Self {
        Self {
            period: r.period.into(),
            label: r.label,
            points_earned: r.points_earned,
            points_spent: r.points_spent,
            sign_ins: r.sign_ins,
            best_streak: r.best_streak,
            redemptions: r.redemptions,
            tier_at_start: r.tier_at_start,
            tier_at_end: r.tier_at_end,
            badges: r.badges,
            percentile: r.percentile.map(i32::from),
            compared_with: i32::try_from(r.compared_with).unwrap_or(i32::MAX),
            percentiles: r
                .percentiles
                .into_iter()
                .map(|p| BoardPercentile {
                    board: p.board.into(),
                    score: p.score,
                    percentile: p.percentile.map(i32::from),
                    compared_with: i32::try_from(p.compared_with).unwrap_or(i32::MAX),
                })
                .collect(),
        }
    }
}

fn archived(e: ArchiveEntry, me: Option<crate::domain::ids::MemberId>) -> ArchivedRank {
    ArchivedRank {
        rank: i32::try_from(e.rank.rank).unwrap_or(i32::MAX),
        display_name: e.display_name,
        avatar_url: e.avatar_url,
        score: e.rank.score,
        points: e.rank.points,
        reward_id: e.rank.reward_id.map(|id| ID(id.to_string())),
        badge_code: e.rank.badge_code,
        paid: e.rank.payout == Payout::Paid,
        is_me: Some(e.rank.member) == me,
    }
}

#[derive(Default)]
pub struct SeasonQuery;

#[Object]
impl SeasonQuery {
    /// What each range of a board's ranks wins when a period is settled (榜单奖励). Public.
    async fn board_rewards(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Which board.")] board: LeaderboardKind,
    ) -> async_graphql::Result<Vec<BoardReward>> {
        let rewards = ctx
            .services()
            .seasons
            .rewards(board.into())
            .await
            .extend()?;
        Ok(rewards.into_iter().map(Into::into).collect())
    }

    /// The standings of a settled period (往期榜单 / 比赛战报): the top `first` (1–100) of the top
    /// 1,000 and every paid rank, as settled. Null while the period is not settled (it is once
    /// the return window after its last day closes, and only for boards with rewards).
    /// VALIDATION on `period` when it is not one of the board's. Public; a signed-in member
    /// sees their own row marked.
    #[graphql(complexity = "crate::graphql::connection::list_cost(first, child_complexity)")]
    async fn board_archive(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Which board: POINTS_WEEK, SIGN_INS_WEEK, POINTS_MONTH or KOC_MONTH.")]
        board: LeaderboardKind,
        #[graphql(
            desc = "The period: an ISO week (\"2026-W10\") of a weekly board, a month (\"2026-03\") of a monthly one."
        )]
        period: String,
        #[graphql(default = 10, desc = "How many items to return, 1–100 (每页条数).")] first: i32,
    ) -> async_graphql::Result<Option<BoardArchive>> {
        let first = PageSize::parse(first).extend()?;
        let limit = first.fetch_limit().saturating_sub(1);
        let me = ctx.member_if_any();
        let period = period.trim().to_owned();
        let entries = ctx
            .services()
            .seasons
            .archive(board.into(), &period, limit)
            .await
            .extend()?;
        Ok(entries.map(|entries| BoardArchive {
            board,
            period,
            entries: entries.into_iter().map(|e| archived(e, me)).collect(),
        }))
    }

    /// The caller's month or year in figures (个人战报 / 年度总结), for sharing. MEMBER.
    async fn my_report(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "MONTH or YEAR.")] period: ReportPeriod,
        #[graphql(desc = "Any business day in the month or year wanted.")] at: Date,
    ) -> async_graphql::Result<MemberReport> {
        let member = ctx.viewer()?.member().extend()?;
        let report = ctx
            .services()
            .seasons
            .report(member, period.into(), at.0)
            .await
            .extend()?;
        Ok(report.into())
    }
}

#[derive(Default)]
pub struct SeasonMutation;

#[Object]
impl SeasonMutation {
    /// Sets what a weekly or monthly board's ranks win when each period is settled (设置榜单奖励;
    /// ADMIN), replacing what was set; an empty list stops paying. Periods ending after the
    /// board first got rewards are settled once each, after the return window of their last
    /// day, with the rewards set then. VALIDATION on `board` (STREAK and REFERRALS never end)
    /// or `rewards` (ranks, points, an unknown reward or badge).
    async fn set_board_rewards(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Which board: POINTS_WEEK, SIGN_INS_WEEK, POINTS_MONTH or KOC_MONTH.")]
        board: LeaderboardKind,
        #[graphql(desc = "What each range of ranks wins, at most 20 ranges.")] rewards: Vec<
            BoardRewardInput,
        >,
    ) -> async_graphql::Result<Vec<BoardReward>> {
        ctx.viewer()?.admin_for(AdminAction::ManageRules).extend()?;
        if rewards.len() > 20 {
            return Err(crate::error::AppError::validation(
                "rewards",
                "at most 20 ranges",
            ))
            .extend();
        }
        let mut parsed = Vec::with_capacity(rewards.len());
        for r in rewards {
            let rank = |n: i32| u32::try_from(n).unwrap_or(0);
            parsed.push(season::BoardReward {
                from_rank: rank(r.from_rank),
                to_rank: rank(r.to_rank),
                points: r.points,
                reward_id: r
                    .reward_id
                    .map(|id| RewardId::parse_as(&id, "rewards"))
                    .transpose()
                    .extend()?,
                badge_code: r
                    .badge_code
                    .map(|c| c.trim().to_owned())
                    .filter(|c| !c.is_empty()),
            });
        }
        let saved = ctx
            .services()
            .seasons
            .set_rewards(board.into(), parsed)
            .await
            .extend()?;
        Ok(saved.into_iter().map(Into::into).collect())
    }
}
