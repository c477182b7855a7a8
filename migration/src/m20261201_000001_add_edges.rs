//! Edges: the business month of a member's last demotion (the monthly evaluation moves a member
//! down at most one level a month, however often it runs), and admin accounts that can be
//! disabled or have their tokens revoked (a password change ends every earlier token).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Alias::new("members"))
                    // YYYYMM of the last demotion; null = never demoted.
                    .add_column(integer_null(Alias::new("tier_demoted_month")))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Alias::new("admins"))
                    .add_column(timestamp_with_time_zone_null(Alias::new("disabled_at")))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Alias::new("admins"))
                    // Tokens issued before this instant are refused.
                    .add_column(timestamp_with_time_zone_null(Alias::new(
                        "tokens_valid_after",
                    )))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (table, column) in [
            ("admins", "tokens_valid_after"),
            ("admins", "disabled_at"),
            ("members", "tier_demoted_month"),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Alias::new(table))
                        .drop_column(Alias::new(column))
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
