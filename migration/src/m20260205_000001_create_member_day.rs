//! Member day (会员日): the monthly day's effects as settings, and one-off events.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(MemberDayEvents::Table)
                    .col(big_pk_auto(MemberDayEvents::Id))
                    .col(string_len(MemberDayEvents::Title, 64))
                    .col(timestamp_with_time_zone(MemberDayEvents::StartsAt))
                    .col(timestamp_with_time_zone(MemberDayEvents::EndsAt))
                    .col(integer(MemberDayEvents::MultiplierPct))
                    .col(integer(MemberDayEvents::DiscountPct))
                    // Lowest tier the event is for; null = everyone.
                    .col(string_len_null(MemberDayEvents::MinTier, 32))
                    .col(timestamp_with_time_zone(MemberDayEvents::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_member_day_events_window")
                    .table(MemberDayEvents::Table)
                    .col(MemberDayEvents::StartsAt)
                    .col(MemberDayEvents::EndsAt)
                    .to_owned(),
            )
            .await?;
        let mut settings = Query::insert()
            .into_table(Alias::new("programme_settings"))
            .columns([Alias::new("key"), Alias::new("value")])
            .to_owned();
        for (key, value) in [
            ("member_day_multiplier_pct", 200_i64),
            ("member_day_discount_pct", 20),
            // YYYYMMDD of the last member day announced the day before; 0 = none.
            ("member_day_announced", 0),
        ] {
            settings.values_panic([key.into(), value.into()]);
        }
        manager.exec_stmt(settings).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(MemberDayEvents::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum MemberDayEvents {
    Table,
    Id,
    Title,
    StartsAt,
    EndsAt,
    MultiplierPct,
    DiscountPct,
    MinTier,
    CreatedAt,
}
