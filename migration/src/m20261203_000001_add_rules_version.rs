//! The programme rules' version: every rule change bumps it, and each instance's rules cache
//! compares it with what it holds (read in the statement that locks or reads the member).

use sea_orm_migration::prelude::*;

use crate::m20260201_000002_create_sign_ins::ProgrammeSettings;

#[derive(DeriveMigrationName)]
pub struct Migration;

const KEY: &str = "rules_version";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let insert = Query::insert()
            .into_table(ProgrammeSettings::Table)
            .columns([ProgrammeSettings::Key, ProgrammeSettings::Value])
            .values_panic([KEY.into(), 1_i64.into()])
            .to_owned();
        manager.exec_stmt(insert).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let delete = Query::delete()
            .from_table(ProgrammeSettings::Table)
            .and_where(Expr::col(ProgrammeSettings::Key).eq(KEY))
            .to_owned();
        manager.exec_stmt(delete).await
    }
}
