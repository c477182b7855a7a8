//! Lifecycle transitions (SPEC §15): the scheduled pass notices members entering `AT_RISK` and
//! `DORMANT` — once per entry — and records the day, for campaign triggers (`BECAME_AT_RISK`,
//! `BECAME_DORMANT`) to read.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Members {
    Table,
    Id,
    /// The stage the pass last noticed the member entering (AT_RISK, DORMANT), or null.
    NoticedStage,
}

#[derive(DeriveIden)]
enum LifecycleTransitions {
    Table,
    MemberId,
    Stage,
    Day,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Members::Table)
                    .add_column(string_len_null(Members::NoticedStage, 16))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(LifecycleTransitions::Table)
                    .col(big_integer(LifecycleTransitions::MemberId))
                    .col(string_len(LifecycleTransitions::Stage, 16))
                    .col(date(LifecycleTransitions::Day))
                    .col(timestamp_with_time_zone(LifecycleTransitions::CreatedAt))
                    // One entry per member, stage and day: a pass run twice notices once.
                    .primary_key(
                        Index::create()
                            .col(LifecycleTransitions::MemberId)
                            .col(LifecycleTransitions::Stage)
                            .col(LifecycleTransitions::Day),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_lifecycle_transitions_member")
                            .from(LifecycleTransitions::Table, LifecycleTransitions::MemberId)
                            .to(Members::Table, Members::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(LifecycleTransitions::Table).to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Members::Table)
                    .drop_column(Members::NoticedStage)
                    .to_owned(),
            )
            .await
    }
}
