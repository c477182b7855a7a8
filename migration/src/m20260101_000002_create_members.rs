use sea_orm_migration::{prelude::*, schema::*};

use crate::m20260101_000001_create_tiers::Tiers;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Members::Table)
                    .col(big_pk_auto(Members::Id))
                    .col(string_len(Members::Openid, 128))
                    .col(string_len_null(Members::Unionid, 128))
                    .col(string_len_null(Members::Nickname, 128))
                    .col(string_len_null(Members::AvatarUrl, 512))
                    .col(string_len_null(Members::Phone, 20))
                    // "MM-DD": a birthday is a day of the year, never a year.
                    .col(string_len_null(Members::Birthday, 5))
                    .col(boolean(Members::HideFromLeaderboards).default(false))
                    .col(string_len(Members::InviteCode, 16))
                    .col(string_len(Members::TierCode, 32))
                    .col(timestamp_with_time_zone(Members::CreatedAt))
                    .col(timestamp_with_time_zone(Members::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_members_tier")
                            .from(Members::Table, Members::TierCode)
                            .to(Tiers::Table, Tiers::Code)
                            .on_update(ForeignKeyAction::Cascade)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, column) in [
            ("uq_members_openid", Members::Openid),
            ("uq_members_phone", Members::Phone),
            ("uq_members_invite_code", Members::InviteCode),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(Members::Table)
                        .col(column)
                        .unique()
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_index(
                Index::create()
                    .name("ix_members_tier_code")
                    .table(Members::Table)
                    .col(Members::TierCode)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Members::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
pub enum Members {
    Table,
    Id,
    Openid,
    Unionid,
    Nickname,
    AvatarUrl,
    Phone,
    Birthday,
    HideFromLeaderboards,
    InviteCode,
    TierCode,
    CreatedAt,
    UpdatedAt,
}
