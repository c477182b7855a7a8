//! Weekly boards, season rewards and personal reports (SPEC §18).
//!
//! - `member_months` rows are keyed by period: a business month ("2026-03") as before, or an
//!   ISO week ("2026-W10") for the weekly boards. New counters: points of purchases refunded
//!   (counted against the period the purchase was recorded in), sign-ins and when they last
//!   grew, the best streak reached, rewards redeemed, and the tier before and after the
//!   period's tier changes. Sign-ins, best streaks and redemptions are backfilled for past
//!   months from the history.
//! - `board_seasons`: since when a board pays rewards; `board_rewards`: what each rank wins.
//! - `board_settlements`: one row per settled (board, period), the unique key that makes a
//!   settlement happen once; `board_archive`: its standings and payouts.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, Statement};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum MemberMonths {
    Table,
    Month,
    Refunded,
    SignIns,
    SignInsAt,
    BestStreak,
    Redemptions,
    TierBefore,
    TierAfter,
}

#[derive(DeriveIden)]
enum BoardSeasons {
    Table,
    Board,
    RewardsSince,
}

#[derive(DeriveIden)]
enum BoardRewards {
    Table,
    Board,
    FromRank,
    ToRank,
    Points,
    RewardId,
    BadgeCode,
}

#[derive(DeriveIden)]
enum BoardSettlements {
    Table,
    Board,
    Period,
    Ranked,
    SettledAt,
}

#[derive(DeriveIden)]
enum BoardArchive {
    Table,
    Board,
    Period,
    Rank,
    MemberId,
    Score,
    Arrival,
    Points,
    RewardId,
    BadgeCode,
    Payout,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Week keys ("2026-W10") are a character longer than months. SQLite does not enforce
        // the length (and cannot alter a column's type).
        if manager.get_database_backend() == sea_orm_migration::sea_orm::DatabaseBackend::Postgres {
            manager
                .alter_table(
                    Table::alter()
                        .table(MemberMonths::Table)
                        .modify_column(string_len(MemberMonths::Month, 16))
                        .to_owned(),
                )
                .await?;
        }
        // One column per statement: SQLite alters one column at a time.
        let columns = [
            big_integer(MemberMonths::Refunded).default(0).to_owned(),
            big_integer(MemberMonths::SignIns).default(0).to_owned(),
            timestamp_with_time_zone_null(MemberMonths::SignInsAt),
            big_integer(MemberMonths::BestStreak).default(0).to_owned(),
            big_integer(MemberMonths::Redemptions).default(0).to_owned(),
            string_len_null(MemberMonths::TierBefore, 32),
            string_len_null(MemberMonths::TierAfter, 32),
        ];
        for mut column in columns {
            manager
                .alter_table(
                    Table::alter()
                        .table(MemberMonths::Table)
                        .add_column(&mut column)
                        .to_owned(),
                )
                .await?;
        }
        backfill(manager).await?;
        manager
            .create_table(
                Table::create()
                    .table(BoardSeasons::Table)
                    .col(string_len(BoardSeasons::Board, 32).primary_key())
                    .col(timestamp_with_time_zone(BoardSeasons::RewardsSince))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(BoardRewards::Table)
                    .col(string_len(BoardRewards::Board, 32))
                    .col(integer(BoardRewards::FromRank))
                    .col(integer(BoardRewards::ToRank))
                    .col(big_integer(BoardRewards::Points).default(0))
                    .col(big_integer_null(BoardRewards::RewardId))
                    .col(string_len_null(BoardRewards::BadgeCode, 32))
                    .primary_key(
                        Index::create()
                            .col(BoardRewards::Board)
                            .col(BoardRewards::FromRank),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(BoardSettlements::Table)
                    .col(string_len(BoardSettlements::Board, 32))
                    .col(string_len(BoardSettlements::Period, 16))
                    .col(integer(BoardSettlements::Ranked))
                    .col(timestamp_with_time_zone(BoardSettlements::SettledAt))
                    .primary_key(
                        Index::create()
                            .col(BoardSettlements::Board)
                            .col(BoardSettlements::Period),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(BoardArchive::Table)
                    .col(string_len(BoardArchive::Board, 32))
                    .col(string_len(BoardArchive::Period, 16))
                    .col(integer(BoardArchive::Rank))
                    .col(big_integer(BoardArchive::MemberId))
                    .col(big_integer(BoardArchive::Score))
                    .col(timestamp_with_time_zone_null(BoardArchive::Arrival))
                    .col(big_integer(BoardArchive::Points).default(0))
                    .col(big_integer_null(BoardArchive::RewardId))
                    .col(string_len_null(BoardArchive::BadgeCode, 32))
                    // NONE (nothing won), DUE (won, not yet paid) or PAID.
                    .col(string_len(BoardArchive::Payout, 8))
                    .primary_key(
                        Index::create()
                            .col(BoardArchive::Board)
                            .col(BoardArchive::Period)
                            .col(BoardArchive::Rank),
                    )
                    .to_owned(),
            )
            .await?;
        // The settlement pass looks for payouts still due.
        manager
            .create_index(
                Index::create()
                    .name("idx_board_archive_payout")
                    .table(BoardArchive::Table)
                    .col(BoardArchive::Payout)
                    .to_owned(),
            )
            .await?;
        board_indexes(manager, BOARD_INDEXES).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        board_indexes(manager, EARLIER_BOARD_INDEXES).await?;
        for table in [
            BoardArchive::Table.into_iden(),
            BoardSettlements::Table.into_iden(),
            BoardRewards::Table.into_iden(),
            BoardSeasons::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        for column in [
            MemberMonths::TierAfter,
            MemberMonths::TierBefore,
            MemberMonths::Redemptions,
            MemberMonths::BestStreak,
            MemberMonths::SignInsAt,
            MemberMonths::SignIns,
            MemberMonths::Refunded,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(MemberMonths::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}

/// An index in board order for the points boards (earned less refunded, by expression), so a
/// points board answered by the database reads its top rows from an index. SIGN_INS_WEEK has
/// none, like STREAK: every sign-in moves it, and an index would cost each sign-in more than
/// it saves the fallback. (name, definition; arrival ascends with NULLs first on both.)
const BOARD_INDEXES: [(&str, &str); 1] = [(
    "ix_member_months_points_board",
    "month, (earned - refunded) DESC, earned_at{nulls}, member_id",
)];

/// What `down` puts back.
const EARLIER_BOARD_INDEXES: [(&str, &str); 1] = [(
    "ix_member_months_points_board",
    "month, earned DESC, earned_at{nulls}, member_id",
)];

async fn board_indexes(
    manager: &SchemaManager<'_>,
    indexes: [(&str, &str); 1],
) -> Result<(), DbErr> {
    let nulls = match manager.get_database_backend() {
        sea_orm_migration::sea_orm::DatabaseBackend::Postgres => " NULLS FIRST",
        _ => "",
    };
    let db = manager.get_connection();
    for (name, columns) in indexes {
        db.execute_unprepared(&format!("DROP INDEX IF EXISTS {name}"))
            .await?;
        let columns = columns.replace("{nulls}", nulls);
        db.execute_unprepared(&format!("CREATE INDEX {name} ON member_months ({columns})"))
            .await?;
    }
    Ok(())
}

/// Past months' sign-ins, best streaks and redemptions, from the history (both databases
/// read a date's text as YYYY-MM-DD, and redemptions carry their business month).
async fn backfill(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    let db = manager.get_connection();
    let backend = db.get_database_backend();
    for (select, set) in [
        (
            "SELECT member_id AS m, SUBSTR(CAST(day AS TEXT), 1, 7) AS mo, COUNT(*) AS s, \
             MAX(streak) AS st, 0 AS r FROM sign_ins \
             GROUP BY member_id, SUBSTR(CAST(day AS TEXT), 1, 7)",
            "sign_ins = excluded.sign_ins, best_streak = excluded.best_streak",
        ),
        (
            "SELECT member_id AS m, month AS mo, 0 AS s, 0 AS st, COUNT(*) AS r \
             FROM redemptions GROUP BY member_id, month",
            "redemptions = excluded.redemptions",
        ),
    ] {
        // SQLite needs a WHERE before ON CONFLICT in an INSERT … SELECT.
        db.execute_raw(Statement::from_string(
            backend,
            format!(
                "INSERT INTO member_months (member_id, month, earned, redeemed, cut_by_cap, \
                 growth, koc_score, sign_ins, best_streak, redemptions) \
                 SELECT b.m, b.mo, 0, 0, 0, 0, 0, b.s, b.st, b.r FROM ({select}) AS b \
                 WHERE TRUE ON CONFLICT (member_id, month) DO UPDATE SET {set}"
            ),
        ))
        .await?;
    }
    Ok(())
}
