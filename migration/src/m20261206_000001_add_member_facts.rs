//! Operating the programme (SPEC §15): the purchase facts segments filter on, kept on the
//! member's row (the last purchase, purchases and spend in the trailing 12 months), operator
//! tags, and saved segments. Existing members' facts are backfilled from their purchases.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DatabaseBackend, Statement};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Members {
    Table,
    Id,
    LastPurchaseAt,
    #[sea_orm(iden = "purchases_12m")]
    Purchases12m,
    #[sea_orm(iden = "spend_12m_cents")]
    Spend12mCents,
}

#[derive(DeriveIden)]
enum Tags {
    Table,
    Id,
    Name,
    Color,
    CreatedAt,
}

#[derive(DeriveIden)]
enum MemberTags {
    Table,
    MemberId,
    TagId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Segments {
    Table,
    Id,
    Name,
    Filter,
    CreatedAt,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters a table one change at a time.
        for mut column in [
            timestamp_with_time_zone_null(Members::LastPurchaseAt),
            integer(Members::Purchases12m).default(0).to_owned(),
            big_integer(Members::Spend12mCents).default(0).to_owned(),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Members::Table)
                        .add_column(&mut column)
                        .to_owned(),
                )
                .await?;
        }
        // Sign-in days and registration instants have their indexes already.
        manager
            .create_index(
                Index::create()
                    .name("ix_members_last_purchase_at")
                    .table(Members::Table)
                    .col(Members::LastPurchaseAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Tags::Table)
                    .col(big_pk_auto(Tags::Id))
                    .col(string_len(Tags::Name, 32))
                    .col(string_len(Tags::Color, 7))
                    .col(timestamp_with_time_zone(Tags::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_tags_name")
                    .table(Tags::Table)
                    .col(Tags::Name)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(MemberTags::Table)
                    .col(big_integer(MemberTags::MemberId))
                    .col(big_integer(MemberTags::TagId))
                    .col(timestamp_with_time_zone(MemberTags::CreatedAt))
                    .primary_key(
                        Index::create()
                            .col(MemberTags::MemberId)
                            .col(MemberTags::TagId),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_member_tags_member")
                            .from(MemberTags::Table, MemberTags::MemberId)
                            .to(Members::Table, Members::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_member_tags_tag")
                            .from(MemberTags::Table, MemberTags::TagId)
                            .to(Tags::Table, Tags::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // Segments filter by tag: the members holding a tag, by tag.
        manager
            .create_index(
                Index::create()
                    .name("ix_member_tags_tag")
                    .table(MemberTags::Table)
                    .col(MemberTags::TagId)
                    .col(MemberTags::MemberId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Segments::Table)
                    .col(big_pk_auto(Segments::Id))
                    .col(string_len(Segments::Name, 64))
                    // JSON: the segment's filter.
                    .col(text(Segments::Filter))
                    .col(timestamp_with_time_zone(Segments::CreatedAt))
                    .col(timestamp_with_time_zone(Segments::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        backfill(manager).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            Segments::Table.into_iden(),
            MemberTags::Table.into_iden(),
            Tags::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        manager
            .drop_index(
                Index::drop()
                    .name("ix_members_last_purchase_at")
                    .table(Members::Table)
                    .to_owned(),
            )
            .await?;
        for column in [
            Members::LastPurchaseAt,
            Members::Purchases12m,
            Members::Spend12mCents,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Members::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}

/// Existing members' purchase facts, from their purchases (the scheduled pass keeps the
/// trailing window rolling from here on).
async fn backfill(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    let db = manager.get_connection();
    let backend = db.get_database_backend();
    let cutoff = chrono::Utc::now() - chrono::TimeDelta::days(365);
    let p = |n: u8| match backend {
        DatabaseBackend::Postgres => format!("${n}"),
        _ => "?".to_owned(),
    };
    let sql = format!(
        "UPDATE members SET \
         last_purchase_at = (SELECT MAX(occurred_at) FROM purchases p \
            WHERE p.member_id = members.id AND p.status <> 'REFUNDED'), \
         purchases_12m = (SELECT COUNT(*) FROM purchases p \
            WHERE p.member_id = members.id AND p.status <> 'REFUNDED' AND p.occurred_at >= {}), \
         spend_12m_cents = COALESCE((SELECT SUM(amount_cents) FROM purchases p \
            WHERE p.member_id = members.id AND p.status <> 'REFUNDED' AND p.occurred_at >= {}), 0) \
         WHERE EXISTS (SELECT 1 FROM purchases p WHERE p.member_id = members.id)",
        p(1),
        p(2)
    );
    db.execute_raw(Statement::from_sql_and_values(
        backend,
        sql,
        [cutoff.into(), cutoff.into()],
    ))
    .await?;
    Ok(())
}
