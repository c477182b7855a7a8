//! Indexes for programme statistics: each figure reads a time range, never the whole history.

use sea_orm_migration::prelude::*;

use crate::m20260101_000002_create_members::Members;
use crate::m20260201_000001_create_points_ledger::PointEntries;
use crate::m20260201_000002_create_sign_ins::SignIns;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// (index, table, column).
fn indexes() -> [(&'static str, DynIden, DynIden); 3] {
    [
        (
            "ix_point_entries_created_at",
            PointEntries::Table.into_iden(),
            PointEntries::CreatedAt.into_iden(),
        ),
        (
            "ix_sign_ins_day",
            SignIns::Table.into_iden(),
            SignIns::Day.into_iden(),
        ),
        (
            "ix_members_created_at",
            Members::Table.into_iden(),
            Members::CreatedAt.into_iden(),
        ),
    ]
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (name, table, column) in indexes() {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(table)
                        .col(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (name, table, _) in indexes() {
            manager
                .drop_index(Index::drop().name(name).table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
