//! The member inbox (消息模板): one row per notice, read or not.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20260101_000002_create_members::Members;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Notifications::Table)
                    .col(big_pk_auto(Notifications::Id))
                    .col(big_integer(Notifications::MemberId))
                    .col(string_len(Notifications::Kind, 32))
                    .col(string_len(Notifications::Title, 128))
                    .col(string_len(Notifications::Body, 512))
                    .col(string_len_null(Notifications::Reference, 128))
                    // Set for notices that must be sent once (e.g. one "expiring" notice per lot
                    // expiry date); null otherwise.
                    .col(string_len_null(Notifications::DedupeKey, 191))
                    .col(timestamp_with_time_zone_null(Notifications::ReadAt))
                    .col(timestamp_with_time_zone(Notifications::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_notifications_member")
                            .from(Notifications::Table, Notifications::MemberId)
                            .to(Members::Table, Members::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_notifications_member_dedupe")
                    .table(Notifications::Table)
                    .col(Notifications::MemberId)
                    .col(Notifications::DedupeKey)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_notifications_member_read")
                    .table(Notifications::Table)
                    .col(Notifications::MemberId)
                    .col(Notifications::ReadAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Notifications::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Notifications {
    Table,
    Id,
    MemberId,
    Kind,
    Title,
    Body,
    Reference,
    DedupeKey,
    ReadAt,
    CreatedAt,
}
