//! Edges: the business month of a member's last demotion (the monthly evaluation moves a member
//! down at most one level a month, however often it runs), and admin accounts that can be
//! disabled or have their tokens revoked (a password change ends every earlier token).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters a table one change at a time.
        for (table, column) in [
            // YYYYMM of the last demotion; null = never demoted.
            ("members", integer_null(Alias::new("tier_demoted_month"))),
            (
                "admins",
                timestamp_with_time_zone_null(Alias::new("disabled_at")),
            ),
            // Tokens issued before this instant are refused.
            (
                "admins",
                timestamp_with_time_zone_null(Alias::new("tokens_valid_after")),
            ),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Alias::new(table))
                        .add_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
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
