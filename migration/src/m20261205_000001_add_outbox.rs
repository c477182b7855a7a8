//! Reaching out (SPEC §17): which subscribe-message template each notice kind uses, the
//! brand's webhooks, and the outbox of deliveries written in the transaction of the change
//! that caused them.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum MessageTemplates {
    Table,
    Kind,
    TemplateId,
    Page,
    Fields,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Webhooks {
    Table,
    Id,
    Url,
    Secret,
    Events,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Deliveries {
    Table,
    Id,
    Channel,
    MemberId,
    WebhookId,
    Event,
    Payload,
    Status,
    Attempts,
    NextAttemptAt,
    LastError,
    LastErrcode,
    CreatedAt,
    SentAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(MessageTemplates::Table)
                    .col(string_len(MessageTemplates::Kind, 40).primary_key())
                    .col(string_len(MessageTemplates::TemplateId, 64))
                    .col(string_len(MessageTemplates::Page, 512))
                    // JSON: [{ "key": "thing1", "value": "{title}" }, …]
                    .col(text(MessageTemplates::Fields))
                    .col(timestamp_with_time_zone(MessageTemplates::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Webhooks::Table)
                    .col(big_pk_auto(Webhooks::Id))
                    .col(string_len(Webhooks::Url, 2048))
                    .col(string_len(Webhooks::Secret, 256))
                    // Comma-separated event names.
                    .col(string_len(Webhooks::Events, 512))
                    .col(timestamp_with_time_zone(Webhooks::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Deliveries::Table)
                    .col(big_pk_auto(Deliveries::Id))
                    .col(string_len(Deliveries::Channel, 16))
                    .col(big_integer_null(Deliveries::MemberId))
                    // No foreign key: deleting a webhook keeps its delivery log.
                    .col(big_integer_null(Deliveries::WebhookId))
                    .col(string_len(Deliveries::Event, 40))
                    .col(text(Deliveries::Payload))
                    .col(string_len(Deliveries::Status, 16))
                    .col(integer(Deliveries::Attempts))
                    .col(timestamp_with_time_zone(Deliveries::NextAttemptAt))
                    .col(text_null(Deliveries::LastError))
                    .col(big_integer_null(Deliveries::LastErrcode))
                    .col(timestamp_with_time_zone(Deliveries::CreatedAt))
                    .col(timestamp_with_time_zone_null(Deliveries::SentAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_deliveries_member")
                            .from(Deliveries::Table, Deliveries::MemberId)
                            .to(Alias::new("members"), Alias::new("id"))
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // The dispatcher's claim: due rows of one status, oldest first.
        manager
            .create_index(
                Index::create()
                    .name("ix_deliveries_due")
                    .table(Deliveries::Table)
                    .col(Deliveries::Status)
                    .col(Deliveries::NextAttemptAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            Deliveries::Table.into_iden(),
            Webhooks::Table.into_iden(),
            MessageTemplates::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
