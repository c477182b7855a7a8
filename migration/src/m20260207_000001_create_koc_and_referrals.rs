//! The KOC programme (applications, tasks, submissions), referrals, and the columns the
//! leaderboards rank by. Every board value has an "arrival" time next to it (whole seconds):
//! on a tie the earlier arrival ranks first, on Redis and on the database alike.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20260101_000002_create_members::Members;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per ALTER TABLE.
        let member_columns = [
            big_integer(Alias::new("koc_score_total"))
                .default(0)
                .to_owned(),
            integer(Alias::new("successful_invites"))
                .default(0)
                .to_owned(),
            timestamp_with_time_zone_null(Alias::new("invites_at")),
            timestamp_with_time_zone_null(Alias::new("streak_at")),
        ];
        for column in member_columns {
            manager
                .alter_table(
                    Table::alter()
                        .table(Members::Table)
                        .add_column(column)
                        .to_owned(),
                )
                .await?;
        }
        let month_columns = [
            timestamp_with_time_zone_null(Alias::new("earned_at")),
            big_integer(Alias::new("koc_score")).default(0).to_owned(),
            timestamp_with_time_zone_null(Alias::new("koc_score_at")),
        ];
        for column in month_columns {
            manager
                .alter_table(
                    Table::alter()
                        .table(Alias::new("member_months"))
                        .add_column(column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_index(
                Index::create()
                    .name("ix_members_last_sign_in_day")
                    .table(Members::Table)
                    .col(Alias::new("last_sign_in_day"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_members_successful_invites")
                    .table(Members::Table)
                    .col(Alias::new("successful_invites"))
                    .to_owned(),
            )
            .await?;
        for (name, column) in [
            ("ix_member_months_month_earned", "earned"),
            ("ix_member_months_month_koc_score", "koc_score"),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(Alias::new("member_months"))
                        .col(Alias::new("month"))
                        .col(Alias::new(column))
                        .to_owned(),
                )
                .await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(Referrals::Table)
                    .col(big_pk_auto(Referrals::Id))
                    .col(big_integer(Referrals::InviterId))
                    .col(big_integer(Referrals::InviteeId))
                    // BOUND, COMPLETED (first sign-in done) or VOID.
                    .col(string_len(Referrals::Status, 16))
                    // Whether the completion was paid (false past the inviter's daily cap).
                    .col(boolean(Referrals::Rewarded).default(false))
                    .col(big_integer(Referrals::InviterPoints).default(0))
                    .col(big_integer(Referrals::InviteePoints).default(0))
                    .col(timestamp_with_time_zone(Referrals::BoundAt))
                    .col(timestamp_with_time_zone_null(Referrals::CompletedAt))
                    .col(date_null(Referrals::CompletedDay))
                    .col(timestamp_with_time_zone_null(Referrals::VoidedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_referrals_inviter")
                            .from(Referrals::Table, Referrals::InviterId)
                            .to(Members::Table, Members::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_referrals_invitee")
                            .from(Referrals::Table, Referrals::InviteeId)
                            .to(Members::Table, Members::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_referrals_invitee")
                    .table(Referrals::Table)
                    .col(Referrals::InviteeId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_referrals_inviter")
                    .table(Referrals::Table)
                    .col(Referrals::InviterId)
                    .col(Referrals::Status)
                    .col(Referrals::CompletedAt)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(KocApplications::Table)
                    .col(big_pk_auto(KocApplications::Id))
                    .col(big_integer(KocApplications::MemberId))
                    // JSON: [{platform, handle, followers}].
                    .col(text(KocApplications::Platforms))
                    .col(text(KocApplications::Reason))
                    // PENDING, APPROVED or REJECTED.
                    .col(string_len(KocApplications::Status, 16))
                    .col(text_null(KocApplications::Note))
                    .col(big_integer_null(KocApplications::ReviewedBy))
                    .col(timestamp_with_time_zone(KocApplications::CreatedAt))
                    .col(timestamp_with_time_zone_null(KocApplications::ReviewedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_koc_applications_member")
                            .from(KocApplications::Table, KocApplications::MemberId)
                            .to(Members::Table, Members::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_koc_applications_member")
                    .table(KocApplications::Table)
                    .col(KocApplications::MemberId)
                    .col(KocApplications::Status)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_koc_applications_status")
                    .table(KocApplications::Table)
                    .col(KocApplications::Status)
                    .col(KocApplications::Id)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(KocTasks::Table)
                    .col(big_pk_auto(KocTasks::Id))
                    .col(string_len(KocTasks::Title, 128))
                    .col(text(KocTasks::Description))
                    // SHARE, REVIEW, COMMUNITY, REFERRAL, CONTENT or SALES.
                    .col(string_len(KocTasks::Kind, 16))
                    .col(integer(KocTasks::Difficulty))
                    .col(integer(KocTasks::MinKocLevel))
                    .col(big_integer(KocTasks::RewardPoints))
                    .col(big_integer(KocTasks::RewardGrowth))
                    .col(big_integer(KocTasks::RewardScore))
                    // ONCE, DAILY, WEEKLY or MONTHLY.
                    .col(string_len(KocTasks::Period, 16))
                    .col(integer(KocTasks::MaxCompletions))
                    .col(timestamp_with_time_zone_null(KocTasks::StartsAt))
                    .col(timestamp_with_time_zone_null(KocTasks::EndsAt))
                    // MANUAL or AUTO.
                    .col(string_len(KocTasks::Verification, 16))
                    .col(integer_null(KocTasks::Target))
                    .col(boolean(KocTasks::Active).default(true))
                    .col(timestamp_with_time_zone(KocTasks::CreatedAt))
                    .col(timestamp_with_time_zone(KocTasks::UpdatedAt))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(KocSubmissions::Table)
                    .col(big_pk_auto(KocSubmissions::Id))
                    .col(big_integer(KocSubmissions::TaskId))
                    .col(big_integer(KocSubmissions::MemberId))
                    // The task period the work counts for: "once", "2026-11-22", "2026-W47", "2026-11".
                    .col(string_len(KocSubmissions::PeriodKey, 16))
                    // PENDING, APPROVED or REJECTED.
                    .col(string_len(KocSubmissions::Status, 16))
                    .col(string_len_null(KocSubmissions::ProofUrl, 512))
                    .col(text_null(KocSubmissions::ProofText))
                    // JSON array of image URLs.
                    .col(text(KocSubmissions::ProofImages))
                    .col(text_null(KocSubmissions::Note))
                    .col(integer(KocSubmissions::Attempts).default(1))
                    // Completed by AUTO verification rather than reviewed.
                    .col(boolean(KocSubmissions::Auto).default(false))
                    .col(big_integer_null(KocSubmissions::ReviewedBy))
                    .col(timestamp_with_time_zone(KocSubmissions::SubmittedAt))
                    .col(timestamp_with_time_zone_null(KocSubmissions::ReviewedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_koc_submissions_task")
                            .from(KocSubmissions::Table, KocSubmissions::TaskId)
                            .to(KocTasks::Table, KocTasks::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_koc_submissions_member")
                            .from(KocSubmissions::Table, KocSubmissions::MemberId)
                            .to(Members::Table, Members::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_koc_submissions_member_task")
                    .table(KocSubmissions::Table)
                    .col(KocSubmissions::MemberId)
                    .col(KocSubmissions::TaskId)
                    .col(KocSubmissions::PeriodKey)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_koc_submissions_status")
                    .table(KocSubmissions::Table)
                    .col(KocSubmissions::Status)
                    .col(KocSubmissions::Id)
                    .to_owned(),
            )
            .await?;

        let mut tasks = Query::insert()
            .into_table(KocTasks::Table)
            .columns([
                KocTasks::Title,
                KocTasks::Description,
                KocTasks::Kind,
                KocTasks::Difficulty,
                KocTasks::MinKocLevel,
                KocTasks::RewardPoints,
                KocTasks::RewardGrowth,
                KocTasks::RewardScore,
                KocTasks::Period,
                KocTasks::MaxCompletions,
                KocTasks::Verification,
                KocTasks::Target,
                KocTasks::Active,
                KocTasks::CreatedAt,
                KocTasks::UpdatedAt,
            ])
            .to_owned();
        // Seeded rows carry a fixed instant, so every database is migrated to the same rows.
        let seeded_at = sea_orm_migration::sea_orm::prelude::ChronoDateTimeUtc::UNIX_EPOCH;
        for task in DEFAULT_TASKS {
            tasks.values_panic([
                task.title.into(),
                task.description.into(),
                task.kind.into(),
                task.difficulty.into(),
                task.min_level.into(),
                task.points.into(),
                task.growth.into(),
                task.score.into(),
                task.period.into(),
                task.max_completions.into(),
                task.verification.into(),
                task.target.into(),
                true.into(),
                seeded_at.into(),
                seeded_at.into(),
            ]);
        }
        manager.exec_stmt(tasks).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            KocSubmissions::Table.into_iden(),
            KocTasks::Table.into_iden(),
            KocApplications::Table.into_iden(),
            Referrals::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        for column in [
            "koc_score_total",
            "successful_invites",
            "invites_at",
            "streak_at",
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Members::Table)
                        .drop_column(Alias::new(column))
                        .to_owned(),
                )
                .await?;
        }
        for column in ["earned_at", "koc_score", "koc_score_at"] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Alias::new("member_months"))
                        .drop_column(Alias::new(column))
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}

struct SeedTask {
    title: &'static str,
    description: &'static str,
    kind: &'static str,
    difficulty: i32,
    min_level: i32,
    points: i64,
    growth: i64,
    score: i64,
    period: &'static str,
    max_completions: i32,
    verification: &'static str,
    target: Option<i32>,
}

/// The default task list, in rising difficulty (SPEC §7). Operators edit or retire them.
const DEFAULT_TASKS: [SeedTask; 6] = [
    SeedTask {
        title: "转发品牌内容",
        description: "转发品牌动态到朋友圈或社群，提交截图或链接",
        kind: "SHARE",
        difficulty: 1,
        min_level: 1,
        points: 10,
        growth: 2,
        score: 5,
        period: "DAILY",
        max_completions: 1,
        verification: "MANUAL",
        target: None,
    },
    SeedTask {
        title: "产品测评/笔记",
        description: "发布一篇真实的产品测评或笔记，提交链接",
        kind: "REVIEW",
        difficulty: 2,
        min_level: 1,
        points: 100,
        growth: 20,
        score: 30,
        period: "WEEKLY",
        max_completions: 2,
        verification: "MANUAL",
        target: None,
    },
    SeedTask {
        title: "协助运营社群",
        description: "在品牌社群答疑、组织活动，提交记录",
        kind: "COMMUNITY",
        difficulty: 3,
        min_level: 2,
        points: 150,
        growth: 30,
        score: 50,
        period: "MONTHLY",
        max_completions: 2,
        verification: "MANUAL",
        target: None,
    },
    SeedTask {
        title: "推荐身边人",
        description: "邀请 3 位好友注册并完成首次签到",
        kind: "REFERRAL",
        difficulty: 3,
        min_level: 1,
        points: 200,
        growth: 30,
        score: 60,
        period: "MONTHLY",
        max_completions: 1,
        verification: "AUTO",
        target: Some(3),
    },
    SeedTask {
        title: "优质内容生产",
        description: "产出原创优质内容（视频/图文），经审核收录",
        kind: "CONTENT",
        difficulty: 4,
        min_level: 2,
        points: 300,
        growth: 60,
        score: 120,
        period: "MONTHLY",
        max_completions: 2,
        verification: "MANUAL",
        target: None,
    },
    SeedTask {
        title: "带货数量",
        description: "你邀请的会员本月累计下单 5 笔",
        kind: "SALES",
        difficulty: 5,
        min_level: 3,
        points: 500,
        growth: 100,
        score: 200,
        period: "MONTHLY",
        max_completions: 1,
        verification: "AUTO",
        target: Some(5),
    },
];

#[derive(DeriveIden)]
enum Referrals {
    Table,
    Id,
    InviterId,
    InviteeId,
    Status,
    Rewarded,
    InviterPoints,
    InviteePoints,
    BoundAt,
    CompletedAt,
    CompletedDay,
    VoidedAt,
}

#[derive(DeriveIden)]
enum KocApplications {
    Table,
    Id,
    MemberId,
    Platforms,
    Reason,
    Status,
    Note,
    ReviewedBy,
    CreatedAt,
    ReviewedAt,
}

#[derive(DeriveIden)]
enum KocTasks {
    Table,
    Id,
    Title,
    Description,
    Kind,
    Difficulty,
    MinKocLevel,
    RewardPoints,
    RewardGrowth,
    RewardScore,
    Period,
    MaxCompletions,
    StartsAt,
    EndsAt,
    Verification,
    Target,
    Active,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum KocSubmissions {
    Table,
    Id,
    TaskId,
    MemberId,
    PeriodKey,
    Status,
    ProofUrl,
    ProofText,
    ProofImages,
    Note,
    Attempts,
    Auto,
    ReviewedBy,
    SubmittedAt,
    ReviewedAt,
}
