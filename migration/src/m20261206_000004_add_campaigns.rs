//! Campaigns (营销自动化, SPEC §16): what an operator sends to a segment, and one row per
//! (campaign, member, occurrence) — the key that makes execution exactly once across
//! instances, restarts and replays.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Campaigns {
    Table,
    Id,
    Name,
    SegmentId,
    TriggerKind,
    TriggerAt,
    Actions,
    BudgetPoints,
    SpentPoints,
    BudgetExhausted,
    HoldoutPercent,
    Status,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum CampaignMembers {
    Table,
    CampaignId,
    MemberId,
    Occurrence,
    Outcome,
    Points,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Campaigns::Table)
                    .col(big_pk_auto(Campaigns::Id))
                    .col(string_len(Campaigns::Name, 64))
                    .col(big_integer_null(Campaigns::SegmentId))
                    .col(string_len(Campaigns::TriggerKind, 32))
                    .col(timestamp_with_time_zone_null(Campaigns::TriggerAt))
                    // JSON: the actions.
                    .col(text(Campaigns::Actions))
                    .col(big_integer_null(Campaigns::BudgetPoints))
                    .col(big_integer(Campaigns::SpentPoints).default(0))
                    .col(boolean(Campaigns::BudgetExhausted).default(false))
                    .col(integer(Campaigns::HoldoutPercent).default(0))
                    .col(string_len(Campaigns::Status, 16))
                    .col(timestamp_with_time_zone(Campaigns::CreatedAt))
                    .col(timestamp_with_time_zone(Campaigns::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(CampaignMembers::Table)
                    .col(big_integer(CampaignMembers::CampaignId))
                    .col(big_integer(CampaignMembers::MemberId))
                    .col(string_len(CampaignMembers::Occurrence, 32))
                    .col(string_len(CampaignMembers::Outcome, 16))
                    .col(big_integer(CampaignMembers::Points))
                    .col(timestamp_with_time_zone(CampaignMembers::CreatedAt))
                    .primary_key(
                        Index::create()
                            .col(CampaignMembers::CampaignId)
                            .col(CampaignMembers::MemberId)
                            .col(CampaignMembers::Occurrence),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_campaign_members_campaign")
                            .from(CampaignMembers::Table, CampaignMembers::CampaignId)
                            .to(Campaigns::Table, Campaigns::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_campaign_members_member")
                            .from(CampaignMembers::Table, CampaignMembers::MemberId)
                            .to(Alias::new("members"), Alias::new("id"))
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            CampaignMembers::Table.into_iden(),
            Campaigns::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
