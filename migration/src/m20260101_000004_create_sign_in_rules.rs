use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One row per day of the sign-in cycle: day N of a streak pays entry (N-1) mod length.
        manager
            .create_table(
                Table::create()
                    .table(SignInCycleDays::Table)
                    .col(integer(SignInCycleDays::Day).primary_key())
                    .col(big_integer(SignInCycleDays::Points))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(SignInMilestones::Table)
                    .col(big_pk_auto(SignInMilestones::Id))
                    // STREAK: the current streak reaches the threshold (again on every new run).
                    // TOTAL: all-time sign-ins reach the threshold (once ever).
                    .col(string_len(SignInMilestones::Kind, 16))
                    .col(integer(SignInMilestones::Threshold))
                    .col(big_integer(SignInMilestones::Points))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_sign_in_milestones_kind_threshold")
                    .table(SignInMilestones::Table)
                    .col(SignInMilestones::Kind)
                    .col(SignInMilestones::Threshold)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(SignInMilestones::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(SignInCycleDays::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
pub enum SignInCycleDays {
    Table,
    Day,
    Points,
}

#[derive(DeriveIden)]
pub enum SignInMilestones {
    Table,
    Id,
    Kind,
    Threshold,
    Points,
}
