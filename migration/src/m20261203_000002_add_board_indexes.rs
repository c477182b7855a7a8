//! Indexes in board order, so a board answered by the database (no Redis, or Redis down) reads
//! its top rows from an index instead of sorting every row of the month.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// (name, table, columns in board order). Arrival ascends with NULLs first on both databases
/// (SQLite sorts NULLs first by itself). The STREAK board has none: every sign-in moves the
/// streak, and an index on it would cost each sign-in more than it saves the fallback.
const INDEXES: [(&str, &str, &str); 3] = [
    (
        "ix_member_months_points_board",
        "member_months",
        "month, earned DESC, earned_at{nulls}, member_id",
    ),
    (
        "ix_member_months_koc_board",
        "member_months",
        "month, koc_score DESC, koc_score_at{nulls}, member_id",
    ),
    (
        "ix_members_referrals_board",
        "members",
        "successful_invites DESC, invites_at{nulls}, id",
    ),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let nulls = match manager.get_database_backend() {
            DatabaseBackend::Postgres => " NULLS FIRST",
            _ => "",
        };
        for (name, table, columns) in INDEXES {
            let columns = columns.replace("{nulls}", nulls);
            manager
                .get_connection()
                .execute_unprepared(&format!("CREATE INDEX {name} ON {table} ({columns})"))
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (name, _, _) in INDEXES {
            manager
                .get_connection()
                .execute_unprepared(&format!("DROP INDEX {name}"))
                .await?;
        }
        Ok(())
    }
}
