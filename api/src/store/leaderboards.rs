//! Leaderboards computed from the database: the source of truth Redis boards are rebuilt
//! from, and the answer when no Redis is configured. Ordered exactly as `domain::leaderboard`
//! says: value descending, earlier arrival, lower member id.

use chrono::{DateTime, NaiveDate, Utc};
use entity::{member_badges, member_months, members};
use sea_orm::sea_query::{
    Alias, Cond, Expr, ExprTrait, IntoCondition, NullOrdering, Order, Query, SelectStatement,
    SimpleExpr,
};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect};

use crate::domain::ids::MemberId;
use crate::domain::leaderboard::Board;

/// A member's place on a board, from the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Standing {
    pub member: MemberId,
    pub value: i64,
    pub arrival: Option<DateTime<Utc>>,
}

/// How a member shows on a board.
#[derive(Debug, Clone)]
pub struct Appearance {
    pub member: MemberId,
    pub nickname: Option<String>,
    pub avatar_url: Option<String>,
    pub tier_code: String,
    pub invite_code: String,
    pub hidden: bool,
    /// The badge the member shows beside their name (while they hold it).
    pub badge: Option<String>,
}

struct Source {
    value: SimpleExpr,
    arrival: SimpleExpr,
    query: SelectStatement,
}

fn member_col(column: members::Column) -> SimpleExpr {
    Expr::col((members::Entity, column))
}

fn month_col(column: member_months::Column) -> SimpleExpr {
    Expr::col((member_months::Entity, column))
}

/// The rows of `board`'s `edition` (a month for monthly boards; `yesterday` bounds STREAK).
fn source(board: Board, edition: &str, yesterday: NaiveDate) -> Source {
    let mut query = Query::select();
    query
        .from(members::Entity)
        .and_where(member_col(members::Column::HideFromLeaderboards).eq(false))
        .and_where(member_col(members::Column::FrozenAt).is_null());
    let (value, arrival) = match board {
        Board::PointsMonth | Board::KocMonth | Board::PointsWeek | Board::SignInsWeek => {
            use member_months::Column as C;
            let (value, arrival) = match board {
                // Earned, less purchases refunded (SPEC §18).
                Board::PointsMonth | Board::PointsWeek => (
                    month_col(C::Earned).sub(month_col(C::Refunded)),
                    C::EarnedAt,
                ),
                Board::KocMonth => (month_col(C::KocScore), C::KocScoreAt),
                _ => (month_col(C::SignIns), C::SignInsAt),
            };
            query
                .inner_join(
                    member_months::Entity,
                    month_col(C::MemberId).equals((members::Entity, members::Column::Id)),
                )
                .and_where(month_col(C::Month).eq(edition))
                .and_where(value.clone().gt(0));
            (value, month_col(arrival))
        }
        Board::Streak => {
            query
                .and_where(member_col(members::Column::LastSignInDay).gte(yesterday))
                .and_where(member_col(members::Column::CurrentStreak).gt(0));
            (
                member_col(members::Column::CurrentStreak),
                member_col(members::Column::StreakAt),
            )
        }
        Board::Referrals => {
            query.and_where(member_col(members::Column::SuccessfulInvites).gt(0));
            (
                member_col(members::Column::SuccessfulInvites),
                member_col(members::Column::InvitesAt),
            )
        }
    };
    Source {
        value,
        arrival,
        query,
    }
}

fn select_standings(mut source: Source) -> SelectStatement {
    source
        .query
        .expr(member_col(members::Column::Id))
        .expr(source.value.clone().cast_as(Alias::new("BIGINT")))
        .expr(source.arrival.clone());
    source.query
}

async fn standings_of(
    db: &impl ConnectionTrait,
    statement: SelectStatement,
) -> Result<Vec<Standing>, DbErr> {
    db.query_all(&statement)
        .await?
        .into_iter()
        .map(|row| {
            Ok(Standing {
                member: MemberId::new(row.try_get_by_index(0)?),
                value: row.try_get_by_index(1)?,
                arrival: row.try_get_by_index(2)?,
            })
        })
        .collect()
}

/// The top `limit` of a board, in board order.
pub async fn top(
    db: &impl ConnectionTrait,
    board: Board,
    edition: &str,
    yesterday: NaiveDate,
    limit: u64,
) -> Result<Vec<Standing>, DbErr> {
    let source = source(board, edition, yesterday);
    let (value, arrival) = (source.value.clone(), source.arrival.clone());
    let mut statement = select_standings(source);
    statement
        .order_by_expr(value, Order::Desc)
        .order_by_expr_with_nulls(arrival, Order::Asc, NullOrdering::First)
        .order_by_expr(member_col(members::Column::Id), Order::Asc)
        .limit(limit);
    standings_of(db, statement).await
}

/// Every row of a board, in member-id pages (for rebuilding a Redis board).
pub async fn page_after(
    db: &impl ConnectionTrait,
    board: Board,
    edition: &str,
    yesterday: NaiveDate,
    after: i64,
    limit: u64,
) -> Result<Vec<Standing>, DbErr> {
    let mut statement = select_standings(source(board, edition, yesterday));
    statement
        .and_where(member_col(members::Column::Id).gt(after))
        .order_by_expr(member_col(members::Column::Id), Order::Asc)
        .limit(limit);
    standings_of(db, statement).await
}

/// The member's own row on a board, if they are on it.
pub async fn standing_of(
    db: &impl ConnectionTrait,
    board: Board,
    edition: &str,
    yesterday: NaiveDate,
    member: MemberId,
) -> Result<Option<Standing>, DbErr> {
    let mut statement = select_standings(source(board, edition, yesterday));
    statement.and_where(member_col(members::Column::Id).eq(member.get()));
    Ok(standings_of(db, statement).await?.into_iter().next())
}

/// How many rows rank ahead of `standing`.
pub async fn ahead_of(
    db: &impl ConnectionTrait,
    board: Board,
    edition: &str,
    yesterday: NaiveDate,
    standing: Standing,
) -> Result<u64, DbErr> {
    let mut source = source(board, edition, yesterday);
    let id = member_col(members::Column::Id);
    // Arrival order with NULL first, spelled out so both databases agree.
    let (earlier, same) = match standing.arrival {
        None => (
            Expr::value(false).into_condition(),
            source.arrival.clone().is_null().into_condition(),
        ),
        Some(at) => (
            Cond::any()
                .add(source.arrival.clone().is_null())
                .add(source.arrival.clone().lt(at)),
            source.arrival.clone().eq(at).into_condition(),
        ),
    };
    let ahead = Cond::any()
        .add(source.value.clone().gt(standing.value))
        .add(
            Cond::all()
                .add(source.value.clone().eq(standing.value))
                .add(
                    Cond::any()
                        .add(earlier)
                        .add(Cond::all().add(same).add(id.lt(standing.member.get()))),
                ),
        );
    source.query.expr(Expr::cust("COUNT(*)")).cond_where(ahead);
    let count: Option<i64> = match db.query_one(&source.query).await? {
        Some(row) => Some(row.try_get_by_index(0)?),
        None => None,
    };
    Ok(count.and_then(|c| u64::try_from(c).ok()).unwrap_or(0))
}

/// How the given members show on a board.
pub async fn appearances(
    db: &impl ConnectionTrait,
    ids: &[MemberId],
    now: DateTime<Utc>,
) -> Result<Vec<Appearance>, DbErr> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    // Only what a board row shows: a page of 100 reads six narrow columns, not whole members.
    type Row = (
        i64,
        Option<String>,
        Option<String>,
        String,
        String,
        bool,
        Option<DateTime<Utc>>,
        Option<String>,
    );
    // The badge the member shows, while they hold it, in the same statement.
    let shown = Query::select()
        .column((member_badges::Entity, member_badges::Column::BadgeCode))
        .from(member_badges::Entity)
        .and_where(
            Expr::col((member_badges::Entity, member_badges::Column::MemberId))
                .equals((members::Entity, members::Column::Id)),
        )
        .and_where(
            Expr::col((member_badges::Entity, member_badges::Column::BadgeCode))
                .equals((members::Entity, members::Column::DisplayedBadge)),
        )
        .cond_where(
            Cond::any()
                .add(Expr::col((member_badges::Entity, member_badges::Column::ExpiresAt)).is_null())
                .add(Expr::col((member_badges::Entity, member_badges::Column::ExpiresAt)).gt(now)),
        )
        .to_owned();
    let rows: Vec<Row> = members::Entity::find()
        .select_only()
        .columns([
            members::Column::Id,
            members::Column::Nickname,
            members::Column::AvatarUrl,
            members::Column::TierCode,
            members::Column::InviteCode,
            members::Column::HideFromLeaderboards,
            members::Column::FrozenAt,
        ])
        .column_as(Expr::SubQuery(None, Box::new(shown.into())), "badge")
        .filter(members::Column::Id.is_in(ids.iter().map(|id| id.get())))
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(
            |(id, nickname, avatar_url, tier_code, invite_code, hidden, frozen_at, badge)| {
                Appearance {
                    member: MemberId::new(id),
                    nickname,
                    avatar_url,
                    tier_code,
                    invite_code,
                    hidden: hidden || frozen_at.is_some(),
                    badge,
                }
            },
        )
        .collect())
}

/// A member's row on every board (`None` where they are not on it), in two reads.
pub async fn member_standings(
    db: &impl ConnectionTrait,
    member: MemberId,
    month: &str,
    week: &str,
    yesterday: NaiveDate,
) -> Result<Vec<(Board, Option<Standing>)>, DbErr> {
    let Some(row) = members::Entity::find_by_id(member.get()).one(db).await? else {
        return Ok(Vec::new());
    };
    let periods = member_months::Entity::find()
        .filter(member_months::Column::MemberId.eq(member.get()))
        .filter(member_months::Column::Month.is_in([month, week]))
        .all(db)
        .await?;
    let month_row = periods.iter().find(|p| p.month == month);
    let week_row = periods.iter().find(|p| p.month == week);
    let on_board = |value: i64, arrival: Option<DateTime<Utc>>| {
        (value > 0 && !row.hide_from_leaderboards && row.frozen_at.is_none()).then_some(Standing {
            member,
            value,
            arrival,
        })
    };
    let streak_alive = row.last_sign_in_day.is_some_and(|day| day >= yesterday);
    Ok(vec![
        (
            Board::PointsMonth,
            month_row.and_then(|m| on_board(m.earned.saturating_sub(m.refunded), m.earned_at)),
        ),
        (
            Board::KocMonth,
            month_row.and_then(|m| on_board(m.koc_score, m.koc_score_at)),
        ),
        (
            Board::PointsWeek,
            week_row.and_then(|w| on_board(w.earned.saturating_sub(w.refunded), w.earned_at)),
        ),
        (
            Board::SignInsWeek,
            week_row.and_then(|w| on_board(w.sign_ins, w.sign_ins_at)),
        ),
        (
            Board::Streak,
            on_board(
                if streak_alive {
                    i64::from(row.current_streak)
                } else {
                    0
                },
                row.streak_at,
            ),
        ),
        (
            Board::Referrals,
            on_board(i64::from(row.successful_invites), row.invites_at),
        ),
    ])
}
