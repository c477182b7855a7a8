//! The points ledger: append-only entries, one lot per credit (spent FIFO by expiry), the
//! member's cached balance, and per-month earn/redeem counters for the caps.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20260101_000002_create_members::Members;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per ALTER TABLE.
        for column in [
            big_integer(MemberPoints::PointsBalance)
                .default(0)
                .to_owned(),
            integer(MemberPoints::CurrentStreak).default(0).to_owned(),
            date_null(MemberPoints::LastSignInDay),
            integer(MemberPoints::TotalSignIns).default(0).to_owned(),
            integer(MemberPoints::StreakFreezes).default(0).to_owned(),
            big_integer(MemberPoints::GrowthTotal).default(0).to_owned(),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Members::Table)
                        .add_column(column)
                        .to_owned(),
                )
                .await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(PointEntries::Table)
                    .col(big_pk_auto(PointEntries::Id))
                    .col(big_integer(PointEntries::MemberId))
                    .col(string_len(PointEntries::Kind, 32))
                    // Signed: credits positive, debits negative, a fully capped award zero.
                    .col(big_integer(PointEntries::Amount))
                    .col(big_integer(PointEntries::BalanceAfter))
                    // What an award asked for before the monthly cap cut it.
                    .col(big_integer(PointEntries::Requested))
                    .col(string_len_null(PointEntries::Reference, 128))
                    .col(string_len(PointEntries::IdempotencyKey, 191))
                    // Fingerprint of the request, to tell a replay from a conflicting reuse.
                    .col(string_len(PointEntries::PayloadHash, 64))
                    .col(string_len_null(PointEntries::Note, 255))
                    .col(timestamp_with_time_zone(PointEntries::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_point_entries_member")
                            .from(PointEntries::Table, PointEntries::MemberId)
                            .to(Members::Table, Members::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_point_entries_member_key")
                    .table(PointEntries::Table)
                    .col(PointEntries::MemberId)
                    .col(PointEntries::IdempotencyKey)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_point_entries_member_id")
                    .table(PointEntries::Table)
                    .col(PointEntries::MemberId)
                    .col(PointEntries::Id)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(PointLots::Table)
                    .col(big_pk_auto(PointLots::Id))
                    .col(big_integer(PointLots::MemberId))
                    .col(big_integer(PointLots::EntryId))
                    .col(big_integer(PointLots::Amount))
                    .col(big_integer(PointLots::Remaining))
                    .col(timestamp_with_time_zone(PointLots::AvailableAt))
                    // Null: never expires (MEMBERCARD_POINTS_EXPIRY_MONTHS=0).
                    .col(timestamp_with_time_zone_null(PointLots::ExpiresAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_point_lots_member")
                            .from(PointLots::Table, PointLots::MemberId)
                            .to(Members::Table, Members::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_point_lots_entry")
                            .from(PointLots::Table, PointLots::EntryId)
                            .to(PointEntries::Table, PointEntries::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_point_lots_member_expiry")
                    .table(PointLots::Table)
                    .col(PointLots::MemberId)
                    .col(PointLots::ExpiresAt)
                    .col(PointLots::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_point_lots_expires_at")
                    .table(PointLots::Table)
                    .col(PointLots::ExpiresAt)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(MemberMonths::Table)
                    .col(big_integer(MemberMonths::MemberId))
                    // Business month, "YYYY-MM".
                    .col(string_len(MemberMonths::Month, 7))
                    .col(big_integer(MemberMonths::Earned).default(0))
                    .col(big_integer(MemberMonths::Redeemed).default(0))
                    .col(big_integer(MemberMonths::CutByCap).default(0))
                    .primary_key(
                        Index::create()
                            .name("pk_member_months")
                            .col(MemberMonths::MemberId)
                            .col(MemberMonths::Month),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_member_months_member")
                            .from(MemberMonths::Table, MemberMonths::MemberId)
                            .to(Members::Table, Members::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            MemberMonths::Table.into_iden(),
            PointLots::Table.into_iden(),
            PointEntries::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum MemberPoints {
    PointsBalance,
    CurrentStreak,
    LastSignInDay,
    TotalSignIns,
    StreakFreezes,
    GrowthTotal,
}

#[derive(DeriveIden)]
pub enum PointEntries {
    Table,
    Id,
    MemberId,
    Kind,
    Amount,
    BalanceAfter,
    Requested,
    Reference,
    IdempotencyKey,
    PayloadHash,
    Note,
    CreatedAt,
}

#[derive(DeriveIden)]
enum PointLots {
    Table,
    Id,
    MemberId,
    EntryId,
    Amount,
    Remaining,
    AvailableAt,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum MemberMonths {
    Table,
    MemberId,
    Month,
    Earned,
    Redeemed,
    CutByCap,
}
