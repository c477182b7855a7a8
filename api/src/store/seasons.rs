//! Season rewards, settlements and the archive of settled boards (SPEC §18), and the reads of
//! the personal report.

use chrono::{DateTime, Utc};
use entity::{
    board_archive, board_rewards, board_seasons, board_settlements, member_badges, member_months,
    members,
};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Func, Query};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, TryInsertResult,
};

use crate::domain::ids::{MemberId, RewardId};
use crate::domain::leaderboard::Board;
use crate::domain::season::{ArchivedRank, BoardReward, Payout};
use crate::store::leaderboards::Standing;

fn archived(row: board_archive::Model) -> Option<ArchivedRank> {
    Some(ArchivedRank {
        board: Board::parse(&row.board)?,
        period: row.period,
        rank: u32::try_from(row.rank).ok()?,
        member: MemberId::new(row.member_id),
        score: row.score,
        points: row.points,
        reward_id: row.reward_id.map(RewardId::new),
        badge_code: row.badge_code,
        payout: row.payout.parse().ok()?,
    })
}

/// Replaces a board's rewards. A board that starts paying remembers since when; one whose
/// rewards are emptied stops.
pub async fn set_rewards(
    db: &impl ConnectionTrait,
    board: Board,
    rewards: &[BoardReward],
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    board_rewards::Entity::delete_many()
        .filter(board_rewards::Column::Board.eq(board.name()))
        .exec(db)
        .await?;
    if rewards.is_empty() {
        board_seasons::Entity::delete_by_id(board.name().to_owned())
            .exec(db)
            .await?;
        return Ok(());
    }
    let rows = rewards.iter().map(|r| board_rewards::ActiveModel {
        board: Set(board.name().to_owned()),
        from_rank: Set(i32::try_from(r.from_rank).unwrap_or(i32::MAX)),
        to_rank: Set(i32::try_from(r.to_rank).unwrap_or(i32::MAX)),
        points: Set(r.points),
        reward_id: Set(r.reward_id.map(RewardId::get)),
        badge_code: Set(r.badge_code.clone()),
    });
    board_rewards::Entity::insert_many(rows)
        .exec_without_returning(db)
        .await?;
    board_seasons::Entity::insert(board_seasons::ActiveModel {
        board: Set(board.name().to_owned()),
        rewards_since: Set(now),
    })
    .on_conflict_do_nothing_on([board_seasons::Column::Board])
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// A board's rewards, best ranks first.
pub async fn rewards(db: &impl ConnectionTrait, board: Board) -> Result<Vec<BoardReward>, DbErr> {
    let rows = board_rewards::Entity::find()
        .filter(board_rewards::Column::Board.eq(board.name()))
        .order_by_asc(board_rewards::Column::FromRank)
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| BoardReward {
            from_rank: u32::try_from(r.from_rank).unwrap_or(0),
            to_rank: u32::try_from(r.to_rank).unwrap_or(0),
            points: r.points,
            reward_id: r.reward_id.map(RewardId::new),
            badge_code: r.badge_code,
        })
        .collect())
}

/// The boards that pay rewards, with since when.
pub async fn seasons(db: &impl ConnectionTrait) -> Result<Vec<(Board, DateTime<Utc>)>, DbErr> {
    let rows = board_seasons::Entity::find().all(db).await?;
    Ok(rows
        .into_iter()
        .filter_map(|row| Some((Board::parse(&row.board)?, row.rewards_since)))
        .collect())
}

/// The board's settled periods.
pub async fn settled(db: &impl ConnectionTrait, board: Board) -> Result<Vec<String>, DbErr> {
    board_settlements::Entity::find()
        .select_only()
        .column(board_settlements::Column::Period)
        .filter(board_settlements::Column::Board.eq(board.name()))
        .into_tuple()
        .all(db)
        .await
}

/// Claims the settlement of (board, period): true for the one transaction that inserts its
/// row; every other (a second pass, another instance) finds it and settles nothing.
pub async fn claim_settlement(
    db: &impl ConnectionTrait,
    board: Board,
    period: &str,
    ranked: usize,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let inserted = board_settlements::Entity::insert(board_settlements::ActiveModel {
        board: Set(board.name().to_owned()),
        period: Set(period.to_owned()),
        ranked: Set(i32::try_from(ranked).unwrap_or(i32::MAX)),
        settled_at: Set(now),
    })
    .on_conflict_do_nothing_on([
        board_settlements::Column::Board,
        board_settlements::Column::Period,
    ])
    .exec_without_returning(db)
    .await?;
    Ok(matches!(inserted, TryInsertResult::Inserted(1)))
}

/// Rows per archive insert (well inside both databases' parameter limits).
const ARCHIVE_BATCH: usize = 250;

/// Archives a settled board: each standing in rank order with what it won.
pub async fn archive(
    db: &impl ConnectionTrait,
    board: Board,
    period: &str,
    standings: &[Standing],
    rewards: &[BoardReward],
) -> Result<(), DbErr> {
    let rows: Vec<board_archive::ActiveModel> = standings
        .iter()
        .zip(1_u32..)
        .map(|(standing, rank)| {
            let prize = crate::domain::season::prize_for(rewards, rank);
            let payout = if prize.is_some() {
                Payout::Due
            } else {
                Payout::None
            };
            board_archive::ActiveModel {
                board: Set(board.name().to_owned()),
                period: Set(period.to_owned()),
                rank: Set(i32::try_from(rank).unwrap_or(i32::MAX)),
                member_id: Set(standing.member.get()),
                score: Set(standing.value),
                arrival: Set(standing.arrival),
                points: Set(prize.map_or(0, |p| p.points)),
                reward_id: Set(prize.and_then(|p| p.reward_id.map(RewardId::get))),
                badge_code: Set(prize.and_then(|p| p.badge_code.clone())),
                payout: Set(<&str>::from(payout).to_owned()),
            }
        })
        .collect();
    for chunk in rows.chunks(ARCHIVE_BATCH) {
        board_archive::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}

/// Archived ranks still to pay (from any settlement: one interrupted is finished later).
pub async fn due_payouts(
    db: &impl ConnectionTrait,
    limit: u64,
) -> Result<Vec<ArchivedRank>, DbErr> {
    let rows = board_archive::Entity::find()
        .filter(board_archive::Column::Payout.eq(<&str>::from(Payout::Due)))
        .order_by_asc(board_archive::Column::Period)
        .order_by_asc(board_archive::Column::Rank)
        .limit(limit)
        .all(db)
        .await?;
    Ok(rows.into_iter().filter_map(archived).collect())
}

/// Moves a due rank to `to` (paid or withheld): true for the one transaction that does (the
/// payout's guard).
pub async fn settle_payout(
    db: &impl ConnectionTrait,
    board: Board,
    period: &str,
    rank: u32,
    to: Payout,
) -> Result<bool, DbErr> {
    let updated = board_archive::Entity::update_many()
        .col_expr(board_archive::Column::Payout, Expr::value(<&str>::from(to)))
        .filter(board_archive::Column::Board.eq(board.name()))
        .filter(board_archive::Column::Period.eq(period))
        .filter(board_archive::Column::Rank.eq(i32::try_from(rank).unwrap_or(i32::MAX)))
        .filter(board_archive::Column::Payout.eq(<&str>::from(Payout::Due)))
        .exec(db)
        .await?;
    Ok(updated.rows_affected == 1)
}

/// The first `limit` archived ranks of a settled period; `None` when it was not settled.
pub async fn archive_page(
    db: &impl ConnectionTrait,
    board: Board,
    period: &str,
    limit: u64,
) -> Result<Option<Vec<ArchivedRank>>, DbErr> {
    let settled =
        board_settlements::Entity::find_by_id((board.name().to_owned(), period.to_owned()))
            .one(db)
            .await?;
    if settled.is_none() {
        return Ok(None);
    }
    let rows = board_archive::Entity::find()
        .filter(board_archive::Column::Board.eq(board.name()))
        .filter(board_archive::Column::Period.eq(period))
        .order_by_asc(board_archive::Column::Rank)
        .limit(limit)
        .all(db)
        .await?;
    Ok(Some(rows.into_iter().filter_map(archived).collect()))
}

/// A member's month rows `first..=last` (months only, not weeks).
pub async fn member_months_between(
    db: &impl ConnectionTrait,
    member: MemberId,
    first: &str,
    last: &str,
) -> Result<Vec<member_months::Model>, DbErr> {
    let rows = member_months::Entity::find()
        .filter(member_months::Column::MemberId.eq(member.get()))
        .filter(member_months::Column::Month.gte(first))
        .filter(member_months::Column::Month.lte(last))
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .filter(|row| row.month.len() == 7)
        .collect())
}

/// A member's tier changes: (month, tier before, tier after), oldest first.
pub async fn tier_changes(
    db: &impl ConnectionTrait,
    member: MemberId,
) -> Result<Vec<(String, String, String)>, DbErr> {
    let rows: Vec<(String, Option<String>, Option<String>)> = member_months::Entity::find()
        .select_only()
        .columns([
            member_months::Column::Month,
            member_months::Column::TierBefore,
            member_months::Column::TierAfter,
        ])
        .filter(member_months::Column::MemberId.eq(member.get()))
        .filter(member_months::Column::TierAfter.is_not_null())
        .order_by_asc(member_months::Column::Month)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(month, before, after)| Some((month, before?, after?)))
        .collect())
}

/// Where a member stands among the others on the points and KOC boards of the months
/// `first..=last`, in one statement over the month rows (summed per member; hidden and frozen
/// members, and the member, left out): for points earned less refunds, then for KOC score,
/// how many others have more than 0, and how many have more than the member's `mine`.
pub async fn standing_among(
    db: &impl ConnectionTrait,
    member: MemberId,
    first: &str,
    last: &str,
    mine: [i64; 2],
) -> Result<[(u64, u64); 2], DbErr> {
    use member_months::Column as C;
    let month = |column: C| Expr::col((member_months::Entity, column));
    let measures = [
        Func::sum(month(C::Earned).sub(month(C::Refunded))),
        Func::sum(month(C::KocScore)),
    ];
    let names = ["points", "koc"].map(Alias::new);
    let mut per_member = Query::select();
    per_member
        .column((member_months::Entity, C::MemberId))
        .from(member_months::Entity)
        .inner_join(
            members::Entity,
            Expr::col((members::Entity, members::Column::Id))
                .equals((member_months::Entity, C::MemberId)),
        )
        .and_where(month(C::Month).gte(first))
        .and_where(month(C::Month).lte(last))
        // Month keys only: week keys ("2026-W10") are 8 characters.
        .and_where(Expr::cust("LENGTH(member_months.month) = 7"))
        .and_where(Expr::col((members::Entity, members::Column::HideFromLeaderboards)).eq(false))
        .and_where(Expr::col((members::Entity, members::Column::FrozenAt)).is_null())
        .and_where(month(C::MemberId).ne(member.get()))
        .group_by_col((member_months::Entity, C::MemberId));
    for (measure, name) in measures.iter().zip(&names) {
        per_member.expr_as(measure.clone(), name.clone());
    }
    let [points, koc] = measures;
    per_member.cond_having(
        sea_orm::sea_query::Cond::any()
            .add(Expr::expr(points).gt(0))
            .add(Expr::expr(koc).gt(0)),
    );
    let count_where = |condition: Expr| {
        Func::coalesce([
            Func::sum(Expr::case(condition, 1).finally(0)).into(),
            Expr::val(0),
        ])
        .cast_as(Alias::new("BIGINT"))
    };
    let mut statement = Query::select();
    for (name, mine) in names.iter().zip(mine) {
        let value = Expr::col((Alias::new("t"), name.clone()));
        statement
            .expr(count_where(value.clone().gt(0)))
            .expr(count_where(value.gt(mine)));
    }
    statement.from_subquery(per_member, Alias::new("t"));
    let Some(row) = db.query_one(&statement).await? else {
        return Ok([(0, 0); 2]);
    };
    let count = |index: usize| -> Result<u64, DbErr> {
        Ok(u64::try_from(row.try_get_by_index::<i64>(index)?).unwrap_or(0))
    };
    Ok([(count(0)?, count(1)?), (count(2)?, count(3)?)])
}

/// Codes of the badges a member was given in `[from, to)`.
pub async fn badges_granted_between(
    db: &impl ConnectionTrait,
    member: MemberId,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<String>, DbErr> {
    member_badges::Entity::find()
        .select_only()
        .column(member_badges::Column::BadgeCode)
        .filter(member_badges::Column::MemberId.eq(member.get()))
        .filter(member_badges::Column::GrantedAt.gte(from))
        .filter(member_badges::Column::GrantedAt.lt(to))
        .order_by_asc(member_badges::Column::GrantedAt)
        .into_tuple()
        .all(db)
        .await
}
