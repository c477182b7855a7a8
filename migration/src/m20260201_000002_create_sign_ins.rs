//! Signed days (sign-ins, make-ups and freeze-covered days), growth entries, and the
//! programme's scalar settings (make-up cost).

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
                    .table(SignIns::Table)
                    .col(big_pk_auto(SignIns::Id))
                    .col(big_integer(SignIns::MemberId))
                    .col(date(SignIns::Day))
                    // SIGN_IN, MAKE_UP or FREEZE.
                    .col(string_len(SignIns::Kind, 16))
                    .col(integer(SignIns::Streak))
                    .col(big_integer(SignIns::Points))
                    .col(timestamp_with_time_zone(SignIns::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_sign_ins_member")
                            .from(SignIns::Table, SignIns::MemberId)
                            .to(Members::Table, Members::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_sign_ins_member_day")
                    .table(SignIns::Table)
                    .col(SignIns::MemberId)
                    .col(SignIns::Day)
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(GrowthEntries::Table)
                    .col(big_pk_auto(GrowthEntries::Id))
                    .col(big_integer(GrowthEntries::MemberId))
                    .col(big_integer(GrowthEntries::Amount))
                    .col(string_len(GrowthEntries::Source, 32))
                    .col(string_len_null(GrowthEntries::Reference, 128))
                    .col(timestamp_with_time_zone(GrowthEntries::OccurredAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_growth_entries_member")
                            .from(GrowthEntries::Table, GrowthEntries::MemberId)
                            .to(Members::Table, Members::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_growth_entries_member_time")
                    .table(GrowthEntries::Table)
                    .col(GrowthEntries::MemberId)
                    .col(GrowthEntries::OccurredAt)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ProgrammeSettings::Table)
                    .col(string_len(ProgrammeSettings::Key, 64).primary_key())
                    .col(big_integer(ProgrammeSettings::Value))
                    .to_owned(),
            )
            .await?;
        manager
            .exec_stmt(
                Query::insert()
                    .into_table(ProgrammeSettings::Table)
                    .columns([ProgrammeSettings::Key, ProgrammeSettings::Value])
                    .values_panic(["make_up_cost".into(), 20_i64.into()])
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            ProgrammeSettings::Table.into_iden(),
            GrowthEntries::Table.into_iden(),
            SignIns::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
pub enum SignIns {
    Table,
    Id,
    MemberId,
    Day,
    Kind,
    Streak,
    Points,
    CreatedAt,
}

#[derive(DeriveIden)]
enum GrowthEntries {
    Table,
    Id,
    MemberId,
    Amount,
    Source,
    Reference,
    OccurredAt,
}

#[derive(DeriveIden)]
pub enum ProgrammeSettings {
    Table,
    Key,
    Value,
}
