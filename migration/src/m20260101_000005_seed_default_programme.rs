//! The default programme of SPEC §4 and §2, written once as data. Operators edit it afterwards;
//! this migration never runs again, so their edits are never overwritten.

use sea_orm_migration::prelude::*;

use crate::m20260101_000001_create_tiers::Tiers;
use crate::m20260101_000004_create_sign_in_rules::{SignInCycleDays, SignInMilestones};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// code, name, rank, growth, multiplier %, earn cap, redeem cap, birthday, make-ups,
/// member-day discount %, upgrade gift, badge, priority support
type TierRow = (
    &'static str,
    &'static str,
    i32,
    i64,
    i32,
    i64,
    i64,
    i64,
    i32,
    i32,
    i64,
    &'static str,
    bool,
);

const DEFAULT_TIERS: [TierRow; 4] = [
    (
        "NEW",
        "新会员",
        0,
        0,
        100,
        1000,
        2000,
        50,
        1,
        0,
        0,
        "新会员",
        false,
    ),
    (
        "REGULAR",
        "普通会员",
        1,
        500,
        100,
        2000,
        5000,
        100,
        2,
        5,
        50,
        "普通会员",
        false,
    ),
    (
        "CORE",
        "核心会员",
        2,
        2000,
        120,
        4000,
        10000,
        200,
        3,
        10,
        200,
        "核心会员",
        true,
    ),
    (
        "SEED",
        "种子会员",
        3,
        10000,
        150,
        8000,
        20000,
        500,
        5,
        15,
        500,
        "种子会员",
        true,
    ),
];

const DEFAULT_CYCLE: [i64; 7] = [5, 5, 10, 10, 15, 15, 30];

const DEFAULT_MILESTONES: [(&str, i32, i64); 2] = [("STREAK", 30, 100), ("TOTAL", 100, 200)];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let mut tiers = Query::insert()
            .into_table(Tiers::Table)
            .columns([
                Tiers::Code,
                Tiers::Name,
                Tiers::Rank,
                Tiers::GrowthThreshold,
                Tiers::PointsMultiplierPct,
                Tiers::MonthlyEarnCap,
                Tiers::MonthlyRedeemCap,
                Tiers::BirthdayPoints,
                Tiers::MakeUpsPerMonth,
                Tiers::MemberDayDiscountPct,
                Tiers::UpgradeGiftPoints,
                Tiers::Badge,
                Tiers::PrioritySupport,
            ])
            .to_owned();
        for (
            code,
            name,
            rank,
            growth,
            mult,
            earn,
            redeem,
            bday,
            makeups,
            disc,
            gift,
            badge,
            prio,
        ) in DEFAULT_TIERS
        {
            tiers.values_panic([
                code.into(),
                name.into(),
                rank.into(),
                growth.into(),
                mult.into(),
                earn.into(),
                redeem.into(),
                bday.into(),
                makeups.into(),
                disc.into(),
                gift.into(),
                badge.into(),
                prio.into(),
            ]);
        }
        manager.exec_stmt(tiers).await?;

        let mut cycle = Query::insert()
            .into_table(SignInCycleDays::Table)
            .columns([SignInCycleDays::Day, SignInCycleDays::Points])
            .to_owned();
        for (day, points) in (1_i32..).zip(DEFAULT_CYCLE) {
            cycle.values_panic([day.into(), points.into()]);
        }
        manager.exec_stmt(cycle).await?;

        let mut milestones = Query::insert()
            .into_table(SignInMilestones::Table)
            .columns([
                SignInMilestones::Kind,
                SignInMilestones::Threshold,
                SignInMilestones::Points,
            ])
            .to_owned();
        for (kind, threshold, points) in DEFAULT_MILESTONES {
            milestones.values_panic([kind.into(), threshold.into(), points.into()]);
        }
        manager.exec_stmt(milestones).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            SignInMilestones::Table.into_iden(),
            SignInCycleDays::Table.into_iden(),
            Tiers::Table.into_iden(),
        ] {
            manager
                .exec_stmt(Query::delete().from_table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
