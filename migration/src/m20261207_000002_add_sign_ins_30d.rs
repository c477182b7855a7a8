//! The member fact "sign-ins in the trailing 30 days" (SPEC §15), kept by each sign-in and
//! rolled by the daily facts pass, which one instance claims per business day.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DatabaseBackend, Statement};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Members {
    Table,
    #[sea_orm(iden = "sign_ins_30d")]
    SignIns30d,
}

#[derive(DeriveIden)]
enum ProgrammeSettings {
    Table,
    Key,
    Value,
}

/// The business day (days from the Common Era) the facts were last rolled.
const FACTS_ROLLED_DAY: &str = "facts_rolled_day";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Members::Table)
                    .add_column(integer(Members::SignIns30d).default(0))
                    .to_owned(),
            )
            .await?;
        // Existing members, from their sign-ins (the daily pass recounts in business days).
        let db = manager.get_connection();
        let backend = db.get_database_backend();
        let since = (chrono::Utc::now() - chrono::TimeDelta::days(30)).date_naive();
        let p = match backend {
            DatabaseBackend::Postgres => "$1",
            _ => "?",
        };
        db.execute_raw(Statement::from_sql_and_values(
            backend,
            format!(
                "UPDATE members SET sign_ins_30d = (SELECT COUNT(*) FROM sign_ins s \
                 WHERE s.member_id = members.id AND s.day > {p}) \
                 WHERE last_sign_in_day IS NOT NULL"
            ),
            [since.into()],
        ))
        .await?;
        manager
            .exec_stmt(
                Query::insert()
                    .into_table(ProgrammeSettings::Table)
                    .columns([ProgrammeSettings::Key, ProgrammeSettings::Value])
                    .values_panic([FACTS_ROLLED_DAY.into(), 0_i64.into()])
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .exec_stmt(
                Query::delete()
                    .from_table(ProgrammeSettings::Table)
                    .and_where(Expr::col(ProgrammeSettings::Key).eq(FACTS_ROLLED_DAY))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Members::Table)
                    .drop_column(Members::SignIns30d)
                    .to_owned(),
            )
            .await
    }
}
