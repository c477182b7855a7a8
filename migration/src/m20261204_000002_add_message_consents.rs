//! Subscribe-message consents (订阅消息授权): how many messages of each template a member has
//! allowed. Each one-time template the member accepts in `wx.requestSubscribeMessage` allows
//! one message; sending one uses it up.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum MessageConsents {
    Table,
    MemberId,
    TemplateId,
    Remaining,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(MessageConsents::Table)
                    .col(big_integer(MessageConsents::MemberId))
                    .col(string_len(MessageConsents::TemplateId, 64))
                    .col(integer(MessageConsents::Remaining))
                    .col(timestamp_with_time_zone(MessageConsents::UpdatedAt))
                    .primary_key(
                        Index::create()
                            .col(MessageConsents::MemberId)
                            .col(MessageConsents::TemplateId),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_message_consents_member")
                            .from(MessageConsents::Table, MessageConsents::MemberId)
                            .to(Alias::new("members"), Alias::new("id"))
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(MessageConsents::Table).to_owned())
            .await
    }
}
