//! What tiers are computed from: growth per business month (the trailing-12-month window is the
//! sum of 12 rows, never a scan of history), the member's KOC level (growth coefficient), and
//! the last month the tier evaluation ran.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20260101_000002_create_members::Members;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Alias::new("member_months"))
                    .add_column(big_integer(Alias::new("growth")).default(0))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Members::Table)
                    // 1-3 once the member is a KOC; null otherwise.
                    .add_column(integer_null(Alias::new("koc_level")))
                    .to_owned(),
            )
            .await?;
        manager
            .exec_stmt(
                Query::insert()
                    .into_table(Alias::new("programme_settings"))
                    .columns([Alias::new("key"), Alias::new("value")])
                    // YYYYMM of the last monthly tier evaluation; 0 = never.
                    .values_panic(["tiers_evaluated_month".into(), 0_i64.into()])
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Members::Table)
                    .drop_column(Alias::new("koc_level"))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Alias::new("member_months"))
                    .drop_column(Alias::new("growth"))
                    .to_owned(),
            )
            .await
    }
}
