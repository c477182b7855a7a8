//! The points lottery (积分抽奖, SPEC §14): lotteries and their prizes, each member's free
//! draws and misses in a row, and the audit record of every draw.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Lotteries {
    Table,
    Id,
    Title,
    StartsAt,
    EndsAt,
    CostPoints,
    DrawsPerDay,
    DrawsTotal,
    PityAfter,
    BudgetPoints,
    SpentPoints,
    MinTier,
    SegmentId,
    TierBoosts,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum LotteryPrizes {
    Table,
    Id,
    LotteryId,
    Kind,
    Points,
    RewardId,
    Quantity,
    Weight,
    Stock,
    Position,
}

#[derive(DeriveIden)]
enum LotteryMembers {
    Table,
    LotteryId,
    MemberId,
    FreeDraws,
    Misses,
}

#[derive(DeriveIden)]
enum LotteryDraws {
    Table,
    Id,
    LotteryId,
    MemberId,
    IdempotencyKey,
    Day,
    PrizeId,
    Kind,
    Points,
    RewardId,
    Quantity,
    Won,
    Free,
    CostPoints,
    Value,
    RandomValue,
    Weights,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Tasks {
    Table,
    DrawsLotteryId,
    RewardDraws,
}

#[derive(DeriveIden)]
enum SignInCycleDays {
    Table,
    DrawsLotteryId,
    Draws,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Lotteries::Table)
                    .col(big_pk_auto(Lotteries::Id))
                    .col(string_len(Lotteries::Title, 64))
                    .col(timestamp_with_time_zone(Lotteries::StartsAt))
                    .col(timestamp_with_time_zone(Lotteries::EndsAt))
                    .col(big_integer(Lotteries::CostPoints).default(0))
                    .col(integer_null(Lotteries::DrawsPerDay))
                    .col(integer_null(Lotteries::DrawsTotal))
                    .col(integer_null(Lotteries::PityAfter))
                    .col(big_integer_null(Lotteries::BudgetPoints))
                    .col(big_integer(Lotteries::SpentPoints).default(0))
                    .col(string_len_null(Lotteries::MinTier, 32))
                    .col(big_integer_null(Lotteries::SegmentId))
                    // JSON: [{ tierCode, percent }].
                    .col(text(Lotteries::TierBoosts))
                    .col(timestamp_with_time_zone(Lotteries::CreatedAt))
                    .col(timestamp_with_time_zone(Lotteries::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(LotteryPrizes::Table)
                    .col(big_pk_auto(LotteryPrizes::Id))
                    .col(big_integer(LotteryPrizes::LotteryId))
                    .col(string_len(LotteryPrizes::Kind, 8))
                    .col(big_integer(LotteryPrizes::Points).default(0))
                    .col(big_integer_null(LotteryPrizes::RewardId))
                    .col(integer(LotteryPrizes::Quantity).default(1))
                    .col(integer(LotteryPrizes::Weight))
                    // Null: unlimited.
                    .col(big_integer_null(LotteryPrizes::Stock))
                    .col(integer(LotteryPrizes::Position))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_lottery_prizes_lottery")
                            .from(LotteryPrizes::Table, LotteryPrizes::LotteryId)
                            .to(Lotteries::Table, Lotteries::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(LotteryMembers::Table)
                    .col(big_integer(LotteryMembers::LotteryId))
                    .col(big_integer(LotteryMembers::MemberId))
                    .col(integer(LotteryMembers::FreeDraws).default(0))
                    // Draws in a row without a prize (保底 counts them).
                    .col(integer(LotteryMembers::Misses).default(0))
                    .primary_key(
                        Index::create()
                            .col(LotteryMembers::LotteryId)
                            .col(LotteryMembers::MemberId),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(LotteryDraws::Table)
                    .col(big_pk_auto(LotteryDraws::Id))
                    .col(big_integer(LotteryDraws::LotteryId))
                    .col(big_integer(LotteryDraws::MemberId))
                    .col(string_len(LotteryDraws::IdempotencyKey, 64))
                    .col(date(LotteryDraws::Day))
                    .col(big_integer_null(LotteryDraws::PrizeId))
                    .col(string_len(LotteryDraws::Kind, 8))
                    .col(big_integer(LotteryDraws::Points).default(0))
                    .col(big_integer_null(LotteryDraws::RewardId))
                    .col(integer(LotteryDraws::Quantity).default(0))
                    .col(boolean(LotteryDraws::Won))
                    .col(boolean(LotteryDraws::Free))
                    .col(big_integer(LotteryDraws::CostPoints))
                    // The prize's points-equivalent, taken from the lottery's budget.
                    .col(big_integer(LotteryDraws::Value).default(0))
                    .col(big_integer(LotteryDraws::RandomValue))
                    // JSON: the weights in force, by prize id (the audit).
                    .col(text(LotteryDraws::Weights))
                    .col(timestamp_with_time_zone(LotteryDraws::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_lottery_draws_key")
                    .table(LotteryDraws::Table)
                    .col(LotteryDraws::MemberId)
                    .col(LotteryDraws::IdempotencyKey)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_lottery_draws_member_day")
                    .table(LotteryDraws::Table)
                    .col(LotteryDraws::LotteryId)
                    .col(LotteryDraws::MemberId)
                    .col(LotteryDraws::Day)
                    .to_owned(),
            )
            .await?;
        for mut column in [
            big_integer_null(Tasks::DrawsLotteryId),
            integer(Tasks::RewardDraws).default(0).to_owned(),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Tasks::Table)
                        .add_column(&mut column)
                        .to_owned(),
                )
                .await?;
        }
        // Sign-in cycle days may give free draws too.
        for mut column in [
            big_integer_null(SignInCycleDays::DrawsLotteryId),
            integer(SignInCycleDays::Draws).default(0).to_owned(),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(SignInCycleDays::Table)
                        .add_column(&mut column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [SignInCycleDays::DrawsLotteryId, SignInCycleDays::Draws] {
            manager
                .alter_table(
                    Table::alter()
                        .table(SignInCycleDays::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        for column in [Tasks::DrawsLotteryId, Tasks::RewardDraws] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Tasks::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        for table in [
            LotteryDraws::Table.into_iden(),
            LotteryMembers::Table.into_iden(),
            LotteryPrizes::Table.into_iden(),
            Lotteries::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
