use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Tiers::Table)
                    .col(string_len(Tiers::Code, 32).primary_key())
                    .col(string_len(Tiers::Name, 64))
                    .col(integer(Tiers::Rank))
                    .col(big_integer(Tiers::GrowthThreshold))
                    // Multipliers are kept in percent so that point arithmetic stays integral.
                    .col(integer(Tiers::PointsMultiplierPct))
                    .col(big_integer(Tiers::MonthlyEarnCap))
                    .col(big_integer(Tiers::MonthlyRedeemCap))
                    .col(big_integer(Tiers::BirthdayPoints))
                    .col(integer(Tiers::MakeUpsPerMonth))
                    .col(integer(Tiers::MemberDayDiscountPct))
                    .col(big_integer(Tiers::UpgradeGiftPoints))
                    .col(string_len(Tiers::Badge, 64))
                    .col(boolean(Tiers::PrioritySupport))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_tiers_rank")
                    .table(Tiers::Table)
                    .col(Tiers::Rank)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Tiers::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
pub enum Tiers {
    Table,
    Code,
    Name,
    Rank,
    GrowthThreshold,
    PointsMultiplierPct,
    MonthlyEarnCap,
    MonthlyRedeemCap,
    BirthdayPoints,
    MakeUpsPerMonth,
    MemberDayDiscountPct,
    UpgradeGiftPoints,
    Badge,
    PrioritySupport,
}
