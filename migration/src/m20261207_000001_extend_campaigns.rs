//! Campaigns, second part (SPEC §16): recurring and event triggers, per-member frequency,
//! windows, reward grants with a unit budget, the presence each `SEGMENT_ENTERED` campaign
//! keeps, the programme's budget-checked grants per month, what a reward costs the brand
//! (for ROI), and the four example campaigns an operator can switch on.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::Statement;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Campaigns {
    Table,
    Name,
    TriggerKind,
    TriggerTime,
    TriggerDays,
    PerMember,
    StartsAt,
    EndsAt,
    BudgetUnits,
    SpentUnits,
    ActivatedAt,
    Actions,
    Status,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum CampaignMembers {
    Table,
    Units,
    CostCents,
    AttributedUntil,
}

#[derive(DeriveIden)]
enum CampaignAudience {
    Table,
    CampaignId,
    MemberId,
}

#[derive(DeriveIden)]
enum ProgrammeMonths {
    Table,
    Month,
    Granted,
}

#[derive(DeriveIden)]
enum Rewards {
    Table,
    CostCents,
}

/// The example campaigns (示例活动), as DRAFT: (name, trigger, days, per member, actions).
const EXAMPLES: [(&str, &str, Option<i32>, &str, &str); 4] = [
    (
        "生日礼",
        "BIRTHDAY",
        None,
        "EVERY_OCCURRENCE",
        r#"[{"kind":"NOTIFY","title":"生日快乐","body":"祝你生日快乐！今天签到可领取生日积分。"}]"#,
    ),
    (
        "一周年祝福",
        "ANNIVERSARY",
        None,
        "EVERY_OCCURRENCE",
        r#"[{"kind":"GRANT_POINTS","points":100,"expire_in_days":null},{"kind":"NOTIFY","title":"入会周年快乐","body":"感谢一路相伴，送你 100 积分。"}]"#,
    ),
    (
        "新客激活",
        "REGISTERED_NO_PURCHASE",
        Some(7),
        "ONCE",
        r#"[{"kind":"NOTIFY","title":"新人专享","body":"首单有礼，快来看看为你准备的好物吧。"}]"#,
    ),
    (
        "流失召回",
        "BECAME_AT_RISK",
        None,
        "EVERY_OCCURRENCE",
        r#"[{"kind":"GRANT_POINTS","points":50,"expire_in_days":14},{"kind":"NOTIFY","title":"好久不见","body":"送你 50 积分，14 天内有效，回来看看吧。"}]"#,
    ),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters a table one change at a time.
        for mut column in [
            string_len_null(Campaigns::TriggerTime, 5),
            integer_null(Campaigns::TriggerDays),
            string_len(Campaigns::PerMember, 20)
                .default("ONCE")
                .to_owned(),
            timestamp_with_time_zone_null(Campaigns::StartsAt),
            timestamp_with_time_zone_null(Campaigns::EndsAt),
            big_integer_null(Campaigns::BudgetUnits),
            big_integer(Campaigns::SpentUnits).default(0).to_owned(),
            timestamp_with_time_zone_null(Campaigns::ActivatedAt),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Campaigns::Table)
                        .add_column(&mut column)
                        .to_owned(),
                )
                .await?;
        }
        for mut column in [
            big_integer(CampaignMembers::Units).default(0).to_owned(),
            big_integer(CampaignMembers::CostCents)
                .default(0)
                .to_owned(),
            // The end of the attribution window (归因窗口) of this reach.
            timestamp_with_time_zone_null(CampaignMembers::AttributedUntil),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(CampaignMembers::Table)
                        .add_column(&mut column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(Rewards::Table)
                    .add_column(big_integer_null(Rewards::CostCents))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(CampaignAudience::Table)
                    .col(big_integer(CampaignAudience::CampaignId))
                    .col(big_integer(CampaignAudience::MemberId))
                    .primary_key(
                        Index::create()
                            .col(CampaignAudience::CampaignId)
                            .col(CampaignAudience::MemberId),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_campaign_audience_campaign")
                            .from(CampaignAudience::Table, CampaignAudience::CampaignId)
                            .to(Campaigns::Table, Alias::new("id"))
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ProgrammeMonths::Table)
                    .col(string_len(ProgrammeMonths::Month, 7).primary_key())
                    .col(big_integer(ProgrammeMonths::Granted).default(0))
                    .to_owned(),
            )
            .await?;
        // BIRTHDAY campaigns find the day's birthdays; transition triggers a stage's day.
        for (name, table, columns) in [
            ("ix_members_birthday", "members", ["birthday", "id"]),
            (
                "ix_lifecycle_transitions_stage_day",
                "lifecycle_transitions",
                ["stage", "day"],
            ),
        ] {
            let mut index = Index::create()
                .name(name)
                .table(Alias::new(table))
                .to_owned();
            for column in columns {
                index.col(Alias::new(column));
            }
            manager.create_index(index).await?;
        }
        // The marketing limit counts a member's campaign messages of a day.
        manager
            .create_index(
                Index::create()
                    .name("ix_deliveries_member_event_due")
                    .table(Alias::new("deliveries"))
                    .col(Alias::new("member_id"))
                    .col(Alias::new("event"))
                    .col(Alias::new("next_attempt_at"))
                    .to_owned(),
            )
            .await?;
        let now = chrono::Utc::now();
        let mut examples = Query::insert()
            .into_table(Campaigns::Table)
            .columns([
                Campaigns::Name,
                Campaigns::TriggerKind,
                Campaigns::TriggerDays,
                Campaigns::PerMember,
                Campaigns::Actions,
                Campaigns::Status,
                Campaigns::CreatedAt,
                Campaigns::UpdatedAt,
            ])
            .to_owned();
        // 新客激活 grants the first coupon on the shelf when there is one.
        let coupon = manager
            .get_connection()
            .query_one_raw(Statement::from_string(
                manager.get_database_backend(),
                "SELECT id FROM rewards WHERE kind = 'COUPON' AND active ORDER BY id LIMIT 1",
            ))
            .await?
            .map(|row| row.try_get::<i64>("", "id"))
            .transpose()?;
        for (name, trigger, days, per_member, actions) in EXAMPLES {
            let actions = match coupon {
                Some(reward) if trigger == "REGISTERED_NO_PURCHASE" => actions.replacen(
                    '[',
                    &format!(r#"[{{"kind":"GRANT_REWARD","reward_id":{reward},"quantity":1}},"#),
                    1,
                ),
                _ => actions.to_owned(),
            };
            examples.values_panic([
                name.into(),
                trigger.into(),
                days.into(),
                per_member.into(),
                actions.into(),
                "DRAFT".into(),
                now.into(),
                now.into(),
            ]);
        }
        manager.exec_stmt(examples).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (name, table) in [
            ("ix_deliveries_member_event_due", "deliveries"),
            ("ix_members_birthday", "members"),
            (
                "ix_lifecycle_transitions_stage_day",
                "lifecycle_transitions",
            ),
        ] {
            manager
                .drop_index(Index::drop().name(name).table(Alias::new(table)).to_owned())
                .await?;
        }
        manager
            .exec_stmt(
                Query::delete()
                    .from_table(Campaigns::Table)
                    .and_where(Expr::col(Campaigns::Name).is_in(EXAMPLES.map(|e| e.0)))
                    .and_where(Expr::col(Campaigns::Status).eq("DRAFT"))
                    .to_owned(),
            )
            .await?;
        for table in [
            CampaignAudience::Table.into_iden(),
            ProgrammeMonths::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(Rewards::Table)
                    .drop_column(Rewards::CostCents)
                    .to_owned(),
            )
            .await?;
        for column in [
            CampaignMembers::Units,
            CampaignMembers::CostCents,
            CampaignMembers::AttributedUntil,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(CampaignMembers::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        for column in [
            Campaigns::TriggerTime,
            Campaigns::TriggerDays,
            Campaigns::PerMember,
            Campaigns::StartsAt,
            Campaigns::EndsAt,
            Campaigns::BudgetUnits,
            Campaigns::SpentUnits,
            Campaigns::ActivatedAt,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Campaigns::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
