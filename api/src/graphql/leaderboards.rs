//! Leaderboards.

use async_graphql::{Context, Enum, Object, ResultExt, SimpleObject};

use crate::domain::auth::AdminAction;
use crate::domain::paging::PageSize;
use crate::graphql::context::ContextExt;
use crate::service::leaderboards::{BoardView, Entry, Source};

/// A leaderboard (排行榜).
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "crate::domain::leaderboard::Board")]
pub enum LeaderboardKind {
    /// Points earned this business month (月度积分榜), less purchases refunded.
    PointsMonth,
    /// Current sign-in streak (连续签到榜).
    Streak,
    /// KOC score this business month (达人月榜).
    KocMonth,
    /// Successful invites, all time (邀请榜).
    Referrals,
    /// Points earned this ISO week, Monday to Sunday business time (每周积分榜 / 每周之星),
    /// counted like POINTS_MONTH.
    PointsWeek,
    /// Days signed this ISO week, business time (每周签到榜).
    SignInsWeek,
}

/// Where a board was answered from; both give the same ranking.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum LeaderboardSource {
    /// Redis sorted sets (the fast path).
    Redis,
    /// No Redis configured, or Redis not answering.
    Database,
}

/// A row of a leaderboard (排行榜).
#[derive(SimpleObject)]
pub struct LeaderboardEntry {
    /// The place (名次), 1 = first.
    rank: u64,
    /// The nickname (昵称), or a masked stand-in for members without one.
    display_name: String,
    /// The member's avatar (头像), if set.
    avatar_url: Option<String>,
    /// The member's tier code (会员等级).
    tier: String,
    /// The badge code the member chose to show beside their name (佩戴勋章), while they hold
    /// it; null: none.
    badge: Option<String>,
    /// What the board ranks by: points, streak days, KOC score or invites.
    score: i64,
    /// True on the caller's own row.
    is_me: bool,
}

/// A leaderboard (排行榜): its top entries and the caller's own place.
#[derive(SimpleObject)]
pub struct Leaderboard {
    /// Which board it is.
    board: LeaderboardKind,
    /// The month ("2026-11"), ISO week ("2026-W10"), day (STREAK) or "all" (REFERRALS) shown.
    edition: String,
    /// The top entries, first place first.
    entries: Vec<LeaderboardEntry>,
    /// The caller's row, even outside the top; null for anonymous callers and members not on
    /// the board (hidden, or nothing to rank yet).
    me: Option<LeaderboardEntry>,
    /// Where it was answered from.
    source: LeaderboardSource,
}

fn entry(e: Entry, me: Option<crate::domain::ids::MemberId>) -> LeaderboardEntry {
    LeaderboardEntry {
        rank: e.rank,
        display_name: e.display_name,
        avatar_url: e.avatar_url,
        tier: e.tier_code,
        badge: e.badge,
        score: e.score,
        is_me: Some(e.member) == me,
    }
}

#[derive(Default)]
pub struct LeaderboardQuery;

#[Object]
impl LeaderboardQuery {
    /// The top `first` (1-100) of a board (排行榜); earlier arrival wins a tie. Public; a signed-in
    /// member also gets `me`.
    #[graphql(complexity = "crate::graphql::connection::list_cost(first, child_complexity)")]
    async fn leaderboard(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Which board (排行榜).")] board: LeaderboardKind,
        #[graphql(default = 10, desc = "How many items to return, 1–100 (每页条数).")] first: i32,
    ) -> async_graphql::Result<Leaderboard> {
        let first = PageSize::parse(first).extend()?;
        let me = ctx.member_if_any();
        let limit = first.fetch_limit().saturating_sub(1);
        let BoardView {
            entries,
            me: mine,
            edition,
            source,
            ..
        } = ctx
            .services()
            .leaderboards
            .board(board.into(), limit, me)
            .await
            .extend()?;
        Ok(Leaderboard {
            board,
            edition,
            entries: entries.into_iter().map(|e| entry(e, me)).collect(),
            me: mine.map(|e| entry(e, me)),
            source: match source {
                Source::Redis => LeaderboardSource::Redis,
                Source::Database => LeaderboardSource::Database,
            },
        })
    }
}

#[derive(Default)]
pub struct LeaderboardMutation;

#[Object]
impl LeaderboardMutation {
    /// Rebuilds every current board in Redis from the database (重建排行榜; ADMIN). Returns the boards
    /// rebuilt; 0 without Redis, where boards are read from the database directly.
    async fn rebuild_leaderboards(&self, ctx: &Context<'_>) -> async_graphql::Result<i32> {
        ctx.viewer()?.admin_for(AdminAction::RunJobs).extend()?;
        let rebuilt = ctx.services().leaderboards.rebuild_all().await.extend()?;
        Ok(i32::try_from(rebuilt).unwrap_or(i32::MAX))
    }
}
