//! Reaching members through WeChat: the access token every instance shares (one row per
//! appid, refreshed under its row lock so one refresh is in flight at a time), and whether a
//! member's phone number was verified by WeChat (`getPhoneNumber`) or only typed; members are
//! found by `unionid` at login.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum WechatAccessTokens {
    Table,
    Appid,
    Token,
    ExpiresAt,
    RefreshedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Alias::new("members"))
                    .add_column(boolean(Alias::new("phone_verified")).default(false))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_members_unionid")
                    .table(Alias::new("members"))
                    .col(Alias::new("unionid"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(WechatAccessTokens::Table)
                    .col(string(WechatAccessTokens::Appid).primary_key())
                    .col(text(WechatAccessTokens::Token))
                    .col(timestamp_with_time_zone(WechatAccessTokens::ExpiresAt))
                    .col(timestamp_with_time_zone(WechatAccessTokens::RefreshedAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(WechatAccessTokens::Table).to_owned())
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name("ix_members_unionid")
                    .table(Alias::new("members"))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Alias::new("members"))
                    .drop_column(Alias::new("phone_verified"))
                    .to_owned(),
            )
            .await
    }
}
