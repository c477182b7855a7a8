//! Member events, the task centre and badges (SPEC §13): event types (seeded, with the
//! built-in ones membercard emits itself), the events integrations and members record, tasks
//! with each member's progress per period, badges and who holds them.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum EventTypes {
    Table,
    Code,
    Name,
    MemberReportable,
    DailyLimitPerMember,
    BuiltIn,
    CreatedAt,
}

#[derive(DeriveIden)]
enum MemberEvents {
    Table,
    Id,
    MemberId,
    EventType,
    Value,
    OccurredAt,
    Day,
    IdempotencyKey,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Tasks {
    Table,
    Id,
    Title,
    Description,
    IconUrl,
    Category,
    EventType,
    Goal,
    Target,
    ConsecutiveDays,
    Repeating,
    MinTier,
    MinKocLevel,
    SegmentId,
    StartsAt,
    EndsAt,
    RewardPoints,
    RewardGrowth,
    RewardId,
    BadgeCode,
    ClaimMode,
    Active,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum TaskProgress {
    Table,
    MemberId,
    TaskId,
    PeriodKey,
    Progress,
    Streak,
    LastDay,
    DayProgress,
    Status,
    PeriodEndsAt,
    CompletedAt,
    ClaimedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Badges {
    Table,
    Code,
    Name,
    IconUrl,
    ValidDays,
    CreatedAt,
}

#[derive(DeriveIden)]
enum MemberBadges {
    Table,
    MemberId,
    BadgeCode,
    GrantedAt,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum Members {
    Table,
    DisplayedBadge,
}

/// (code, name, member-reportable, daily limit, built in).
const EVENT_TYPES: [(&str, &str, bool, Option<i32>, bool); 13] = [
    ("FOLLOW_OFFICIAL_ACCOUNT", "关注公众号", false, None, false),
    ("APP_DOWNLOADED", "下载APP", false, None, false),
    ("WATCH_MINUTES", "观看时长（分钟）", false, None, false),
    ("ARTICLE_READ", "阅读文章", false, None, false),
    ("SHARE", "分享", true, Some(1), false),
    ("SIGN_IN", "签到", false, None, true),
    ("PURCHASE", "购物（元）", false, None, true),
    ("PROFILE_COMPLETED", "完善资料", false, None, true),
    ("PHONE_BOUND", "绑定手机", false, None, true),
    ("REFERRAL_COMPLETED", "邀请成功", false, None, true),
    ("INVITEE_PURCHASE", "好友消费", false, None, true),
    ("REDEMPTION", "积分兑换", false, None, true),
    ("KOC_TASK_APPROVED", "KOC任务通过", false, None, true),
];

/// (title, description, category, event type, target, consecutive days, points, badge).
type SeededTask = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    i64,
    Option<i32>,
    i64,
    Option<&'static str>,
);
const TASKS: [SeededTask; 6] = [
    (
        "完善资料",
        "填写昵称、头像和生日",
        "NEWBIE",
        "PROFILE_COMPLETED",
        1,
        None,
        20,
        None,
    ),
    (
        "绑定手机",
        "用微信绑定手机号",
        "NEWBIE",
        "PHONE_BOUND",
        1,
        None,
        30,
        None,
    ),
    (
        "首次购物",
        "完成第一笔订单",
        "NEWBIE",
        "PURCHASE",
        1,
        None,
        50,
        None,
    ),
    (
        "关注公众号",
        "关注品牌公众号",
        "NEWBIE",
        "FOLLOW_OFFICIAL_ACCOUNT",
        1,
        None,
        20,
        None,
    ),
    (
        "分享一次",
        "每天分享一次",
        "DAILY",
        "SHARE",
        1,
        None,
        5,
        None,
    ),
    (
        "坚持不懈",
        "连续签到 7 天",
        "ACHIEVEMENT",
        "SIGN_IN",
        1,
        Some(7),
        0,
        Some("PERSEVERANCE"),
    ),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(EventTypes::Table)
                    .col(string_len(EventTypes::Code, 32).primary_key())
                    .col(string_len(EventTypes::Name, 32))
                    .col(boolean(EventTypes::MemberReportable).default(false))
                    .col(integer_null(EventTypes::DailyLimitPerMember))
                    .col(boolean(EventTypes::BuiltIn).default(false))
                    .col(timestamp_with_time_zone(EventTypes::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(MemberEvents::Table)
                    .col(big_pk_auto(MemberEvents::Id))
                    .col(big_integer(MemberEvents::MemberId))
                    .col(string_len(MemberEvents::EventType, 32))
                    .col(big_integer(MemberEvents::Value))
                    .col(timestamp_with_time_zone(MemberEvents::OccurredAt))
                    // The business day of `occurred_at`: daily limits count by it.
                    .col(date(MemberEvents::Day))
                    .col(string_len(MemberEvents::IdempotencyKey, 64))
                    .col(timestamp_with_time_zone(MemberEvents::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_member_events_member")
                            .from(MemberEvents::Table, MemberEvents::MemberId)
                            .to(Alias::new("members"), Alias::new("id"))
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_member_events_key")
                    .table(MemberEvents::Table)
                    .col(MemberEvents::MemberId)
                    .col(MemberEvents::IdempotencyKey)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_member_events_member_type_day")
                    .table(MemberEvents::Table)
                    .col(MemberEvents::MemberId)
                    .col(MemberEvents::EventType)
                    .col(MemberEvents::Day)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Tasks::Table)
                    .col(big_pk_auto(Tasks::Id))
                    .col(string_len(Tasks::Title, 64))
                    .col(string_len(Tasks::Description, 500).default(""))
                    .col(string_len_null(Tasks::IconUrl, 512))
                    .col(string_len(Tasks::Category, 16))
                    .col(string_len(Tasks::EventType, 32))
                    .col(string_len(Tasks::Goal, 8))
                    .col(big_integer(Tasks::Target))
                    .col(integer_null(Tasks::ConsecutiveDays))
                    .col(boolean(Tasks::Repeating).default(false))
                    .col(string_len_null(Tasks::MinTier, 32))
                    .col(integer_null(Tasks::MinKocLevel))
                    .col(big_integer_null(Tasks::SegmentId))
                    .col(timestamp_with_time_zone_null(Tasks::StartsAt))
                    .col(timestamp_with_time_zone_null(Tasks::EndsAt))
                    .col(big_integer(Tasks::RewardPoints).default(0))
                    .col(big_integer(Tasks::RewardGrowth).default(0))
                    .col(big_integer_null(Tasks::RewardId))
                    .col(string_len_null(Tasks::BadgeCode, 32))
                    .col(string_len(Tasks::ClaimMode, 8))
                    .col(boolean(Tasks::Active).default(true))
                    .col(timestamp_with_time_zone(Tasks::CreatedAt))
                    .col(timestamp_with_time_zone(Tasks::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(TaskProgress::Table)
                    .col(big_integer(TaskProgress::MemberId))
                    .col(big_integer(TaskProgress::TaskId))
                    .col(string_len(TaskProgress::PeriodKey, 16))
                    // Count or sum so far; for a consecutive-days goal, the days in a row.
                    .col(big_integer(TaskProgress::Progress))
                    .col(integer(TaskProgress::Streak).default(0))
                    .col(date_null(TaskProgress::LastDay))
                    .col(big_integer(TaskProgress::DayProgress).default(0))
                    .col(string_len(TaskProgress::Status, 16))
                    .col(timestamp_with_time_zone_null(TaskProgress::PeriodEndsAt))
                    .col(timestamp_with_time_zone_null(TaskProgress::CompletedAt))
                    .col(timestamp_with_time_zone_null(TaskProgress::ClaimedAt))
                    .col(timestamp_with_time_zone(TaskProgress::UpdatedAt))
                    .primary_key(
                        Index::create()
                            .col(TaskProgress::MemberId)
                            .col(TaskProgress::TaskId)
                            .col(TaskProgress::PeriodKey),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_task_progress_task")
                            .from(TaskProgress::Table, TaskProgress::TaskId)
                            .to(Tasks::Table, Tasks::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Badges::Table)
                    .col(string_len(Badges::Code, 32).primary_key())
                    .col(string_len(Badges::Name, 32))
                    .col(string_len_null(Badges::IconUrl, 512))
                    .col(integer_null(Badges::ValidDays))
                    .col(timestamp_with_time_zone(Badges::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(MemberBadges::Table)
                    .col(big_integer(MemberBadges::MemberId))
                    .col(string_len(MemberBadges::BadgeCode, 32))
                    .col(timestamp_with_time_zone(MemberBadges::GrantedAt))
                    .col(timestamp_with_time_zone_null(MemberBadges::ExpiresAt))
                    .primary_key(
                        Index::create()
                            .col(MemberBadges::MemberId)
                            .col(MemberBadges::BadgeCode),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Members::Table)
                    .add_column(string_len_null(Members::DisplayedBadge, 32))
                    .to_owned(),
            )
            .await?;
        seed(manager).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Members::Table)
                    .drop_column(Members::DisplayedBadge)
                    .to_owned(),
            )
            .await?;
        for table in [
            MemberBadges::Table.into_iden(),
            Badges::Table.into_iden(),
            TaskProgress::Table.into_iden(),
            Tasks::Table.into_iden(),
            MemberEvents::Table.into_iden(),
            EventTypes::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

async fn seed(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    let now = chrono::Utc::now();
    let mut types = Query::insert()
        .into_table(EventTypes::Table)
        .columns([
            EventTypes::Code,
            EventTypes::Name,
            EventTypes::MemberReportable,
            EventTypes::DailyLimitPerMember,
            EventTypes::BuiltIn,
            EventTypes::CreatedAt,
        ])
        .to_owned();
    for (code, name, reportable, limit, built_in) in EVENT_TYPES {
        types.values_panic([
            code.into(),
            name.into(),
            reportable.into(),
            limit.into(),
            built_in.into(),
            now.into(),
        ]);
    }
    manager.exec_stmt(types).await?;
    manager
        .exec_stmt(
            Query::insert()
                .into_table(Badges::Table)
                .columns([Badges::Code, Badges::Name, Badges::CreatedAt])
                .values_panic(["PERSEVERANCE".into(), "坚持不懈".into(), now.into()])
                .to_owned(),
        )
        .await?;
    let mut tasks = Query::insert()
        .into_table(Tasks::Table)
        .columns([
            Tasks::Title,
            Tasks::Description,
            Tasks::Category,
            Tasks::EventType,
            Tasks::Goal,
            Tasks::Target,
            Tasks::ConsecutiveDays,
            Tasks::RewardPoints,
            Tasks::BadgeCode,
            Tasks::ClaimMode,
            Tasks::CreatedAt,
            Tasks::UpdatedAt,
        ])
        .to_owned();
    for (title, description, category, event, target, days, points, badge) in TASKS {
        tasks.values_panic([
            title.into(),
            description.into(),
            category.into(),
            event.into(),
            "COUNT".into(),
            target.into(),
            days.into(),
            points.into(),
            badge.into(),
            "AUTO".into(),
            now.into(),
            now.into(),
        ]);
    }
    manager.exec_stmt(tasks).await
}
