//! The rewards catalogue, redemptions, coupons, and rewards granted by sign-in cycle days.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20260101_000002_create_members::Members;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Rewards::Table)
                    .col(big_pk_auto(Rewards::Id))
                    .col(string_len(Rewards::Title, 64))
                    .col(string_len(Rewards::Description, 1000))
                    .col(string_len_null(Rewards::ImageUrl, 512))
                    // COUPON, PHYSICAL, VIRTUAL or STREAK_FREEZE.
                    .col(string_len(Rewards::Kind, 16))
                    .col(big_integer(Rewards::PointsCost))
                    // Null: unlimited.
                    .col(big_integer_null(Rewards::Stock))
                    .col(integer_null(Rewards::MonthlyLimit))
                    .col(integer_null(Rewards::LifetimeLimit))
                    .col(string_len_null(Rewards::MinTier, 32))
                    .col(timestamp_with_time_zone_null(Rewards::AvailableFrom))
                    .col(timestamp_with_time_zone_null(Rewards::AvailableUntil))
                    .col(boolean(Rewards::MemberDayOnly).default(false))
                    .col(boolean(Rewards::Active).default(true))
                    .col(timestamp_with_time_zone(Rewards::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Redemptions::Table)
                    .col(big_pk_auto(Redemptions::Id))
                    .col(big_integer(Redemptions::MemberId))
                    .col(big_integer(Redemptions::RewardId))
                    .col(integer(Redemptions::Quantity))
                    .col(big_integer(Redemptions::UnitPrice))
                    .col(big_integer(Redemptions::PointsTotal))
                    // PENDING, FULFILLED or CANCELLED.
                    .col(string_len(Redemptions::Status, 16))
                    .col(string_len(Redemptions::IdempotencyKey, 191))
                    // Business month, for the per-member monthly limit.
                    .col(string_len(Redemptions::Month, 7))
                    .col(string_len_null(Redemptions::TrackingNumber, 64))
                    .col(timestamp_with_time_zone(Redemptions::CreatedAt))
                    .col(timestamp_with_time_zone(Redemptions::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_redemptions_member")
                            .from(Redemptions::Table, Redemptions::MemberId)
                            .to(Members::Table, Members::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_redemptions_reward")
                            .from(Redemptions::Table, Redemptions::RewardId)
                            .to(Rewards::Table, Rewards::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_redemptions_member_key")
                    .table(Redemptions::Table)
                    .col(Redemptions::MemberId)
                    .col(Redemptions::IdempotencyKey)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_redemptions_member_reward")
                    .table(Redemptions::Table)
                    .col(Redemptions::MemberId)
                    .col(Redemptions::RewardId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Coupons::Table)
                    .col(big_pk_auto(Coupons::Id))
                    .col(string_len(Coupons::Code, 32))
                    .col(big_integer(Coupons::RedemptionId))
                    .col(big_integer(Coupons::MemberId))
                    .col(big_integer(Coupons::RewardId))
                    .col(timestamp_with_time_zone(Coupons::ExpiresAt))
                    .col(timestamp_with_time_zone_null(Coupons::UsedAt))
                    .col(timestamp_with_time_zone(Coupons::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_coupons_redemption")
                            .from(Coupons::Table, Coupons::RedemptionId)
                            .to(Redemptions::Table, Redemptions::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_coupons_code")
                    .table(Coupons::Table)
                    .col(Coupons::Code)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_coupons_member")
                    .table(Coupons::Table)
                    .col(Coupons::MemberId)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Alias::new("sign_in_cycle_days"))
                    // A reward granted with this day's points ("coupon after check-in").
                    .add_column(big_integer_null(Alias::new("reward_id")))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            Coupons::Table.into_iden(),
            Redemptions::Table.into_iden(),
            Rewards::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Rewards {
    Table,
    Id,
    Title,
    Description,
    ImageUrl,
    Kind,
    PointsCost,
    Stock,
    MonthlyLimit,
    LifetimeLimit,
    MinTier,
    AvailableFrom,
    AvailableUntil,
    MemberDayOnly,
    Active,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Redemptions {
    Table,
    Id,
    MemberId,
    RewardId,
    Quantity,
    UnitPrice,
    PointsTotal,
    Status,
    IdempotencyKey,
    Month,
    TrackingNumber,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Coupons {
    Table,
    Id,
    Code,
    RedemptionId,
    MemberId,
    RewardId,
    ExpiresAt,
    UsedAt,
    CreatedAt,
}
