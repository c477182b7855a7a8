//! Purchases reported by the mall or POS (points pending through the return window), and
//! points deducted as cash at checkout.

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
                    .table(Purchases::Table)
                    .col(big_pk_auto(Purchases::Id))
                    .col(string_len(Purchases::OrderId, 64))
                    .col(big_integer(Purchases::MemberId))
                    .col(big_integer(Purchases::AmountCents))
                    // After multipliers, before the monthly cap.
                    .col(big_integer(Purchases::PointsRequested))
                    // After the monthly cap (applied when the purchase is recorded).
                    .col(big_integer(Purchases::PointsGranted))
                    .col(big_integer(Purchases::Growth))
                    .col(timestamp_with_time_zone(Purchases::OccurredAt))
                    .col(timestamp_with_time_zone(Purchases::AvailableAt))
                    // PENDING, AVAILABLE or REFUNDED.
                    .col(string_len(Purchases::Status, 16))
                    // Whether the points had become available before a refund.
                    .col(boolean(Purchases::RefundedAfterWindow).default(false))
                    .col(big_integer(Purchases::PointsReversed).default(0))
                    .col(big_integer(Purchases::Shortfall).default(0))
                    .col(timestamp_with_time_zone_null(Purchases::RefundedAt))
                    .col(timestamp_with_time_zone(Purchases::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_purchases_member")
                            .from(Purchases::Table, Purchases::MemberId)
                            .to(Members::Table, Members::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_purchases_order_id")
                    .table(Purchases::Table)
                    .col(Purchases::OrderId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_purchases_status_available_at")
                    .table(Purchases::Table)
                    .col(Purchases::Status)
                    .col(Purchases::AvailableAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_purchases_member")
                    .table(Purchases::Table)
                    .col(Purchases::MemberId)
                    .col(Purchases::Status)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(OrderDeductions::Table)
                    .col(big_pk_auto(OrderDeductions::Id))
                    .col(string_len(OrderDeductions::OrderId, 64))
                    .col(big_integer(OrderDeductions::MemberId))
                    .col(big_integer(OrderDeductions::Points))
                    .col(big_integer(OrderDeductions::AmountCents))
                    .col(big_integer(OrderDeductions::DeductionCents))
                    // APPLIED or REVERSED.
                    .col(string_len(OrderDeductions::Status, 16))
                    .col(timestamp_with_time_zone(OrderDeductions::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_order_deductions_member")
                            .from(OrderDeductions::Table, OrderDeductions::MemberId)
                            .to(Members::Table, Members::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_order_deductions_order_id")
                    .table(OrderDeductions::Table)
                    .col(OrderDeductions::OrderId)
                    .unique()
                    .to_owned(),
            )
            .await?;

        let mut settings = Query::insert()
            .into_table(Alias::new("programme_settings"))
            .columns([Alias::new("key"), Alias::new("value")])
            .to_owned();
        for (key, value) in [
            ("checkout_points_per_yuan", 100_i64),
            ("checkout_points_unit", 100),
            ("checkout_max_percent", 50),
        ] {
            settings.values_panic([key.into(), value.into()]);
        }
        manager.exec_stmt(settings).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            OrderDeductions::Table.into_iden(),
            Purchases::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Purchases {
    Table,
    Id,
    OrderId,
    MemberId,
    AmountCents,
    PointsRequested,
    PointsGranted,
    Growth,
    OccurredAt,
    AvailableAt,
    Status,
    RefundedAfterWindow,
    PointsReversed,
    Shortfall,
    RefundedAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum OrderDeductions {
    Table,
    Id,
    OrderId,
    MemberId,
    Points,
    AmountCents,
    DeductionCents,
    Status,
    CreatedAt,
}
