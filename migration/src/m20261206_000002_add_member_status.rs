//! Member status (风控, SPEC §15): an operator may freeze a member (with a reason), and a member
//! may refuse personalised marketing.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Members {
    Table,
    FrozenAt,
    FrozenReason,
    MarketingOptOut,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters a table one change at a time.
        for mut column in [
            timestamp_with_time_zone_null(Members::FrozenAt),
            string_len_null(Members::FrozenReason, 200),
            boolean(Members::MarketingOptOut).default(false).to_owned(),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Members::Table)
                        .add_column(&mut column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [
            Members::FrozenAt,
            Members::FrozenReason,
            Members::MarketingOptOut,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Members::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
