//! Schema migrations for membercard. Every table is created explicitly, with named unique
//! indexes and foreign keys, because the service maps those names to domain errors.

#![expect(
    elided_lifetimes_in_paths,
    reason = "MigrationTrait is declared with an elided SchemaManager lifetime; the impls must match it"
)]
pub use sea_orm_migration::prelude::*;

mod m20260101_000001_create_tiers;
mod m20260101_000002_create_members;
mod m20260101_000003_create_admins;
mod m20260101_000004_create_sign_in_rules;
mod m20260101_000005_seed_default_programme;
mod m20260201_000001_create_points_ledger;
mod m20260201_000002_create_sign_ins;
mod m20260202_000001_create_purchases;
mod m20260203_000001_create_notifications;
mod m20260204_000001_add_tier_tracking;
mod m20260205_000001_create_member_day;
mod m20260206_000001_create_rewards;
mod m20260207_000001_create_koc_and_referrals;
mod m20260208_000001_add_stats_indexes;
mod m20261201_000001_add_edges;
mod m20261203_000001_add_rules_version;
mod m20261203_000002_add_board_indexes;
mod m20261204_000001_add_wechat_reach;
mod m20261204_000002_add_message_consents;
mod m20261205_000001_add_outbox;
mod m20261206_000001_add_member_facts;
mod m20261206_000002_add_member_status;
mod m20261206_000003_add_lifecycle_transitions;
mod m20261206_000004_add_campaigns;
mod m20261207_000001_extend_campaigns;
mod m20261207_000002_add_sign_ins_30d;
mod m20261208_000001_add_events_and_tasks;
mod m20261208_000002_add_lottery;
mod m20261209_000001_add_seasons_and_reports;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20260101_000001_create_tiers::Migration),
            Box::new(m20260101_000002_create_members::Migration),
            Box::new(m20260101_000003_create_admins::Migration),
            Box::new(m20260101_000004_create_sign_in_rules::Migration),
            Box::new(m20260101_000005_seed_default_programme::Migration),
            Box::new(m20260201_000001_create_points_ledger::Migration),
            Box::new(m20260201_000002_create_sign_ins::Migration),
            Box::new(m20260202_000001_create_purchases::Migration),
            Box::new(m20260203_000001_create_notifications::Migration),
            Box::new(m20260204_000001_add_tier_tracking::Migration),
            Box::new(m20260205_000001_create_member_day::Migration),
            Box::new(m20260206_000001_create_rewards::Migration),
            Box::new(m20260207_000001_create_koc_and_referrals::Migration),
            Box::new(m20260208_000001_add_stats_indexes::Migration),
            Box::new(m20261201_000001_add_edges::Migration),
            Box::new(m20261203_000001_add_rules_version::Migration),
            Box::new(m20261203_000002_add_board_indexes::Migration),
            Box::new(m20261204_000001_add_wechat_reach::Migration),
            Box::new(m20261204_000002_add_message_consents::Migration),
            Box::new(m20261205_000001_add_outbox::Migration),
            Box::new(m20261206_000001_add_member_facts::Migration),
            Box::new(m20261206_000002_add_member_status::Migration),
            Box::new(m20261206_000003_add_lifecycle_transitions::Migration),
            Box::new(m20261206_000004_add_campaigns::Migration),
            Box::new(m20261207_000001_extend_campaigns::Migration),
            Box::new(m20261207_000002_add_sign_ins_30d::Migration),
            Box::new(m20261208_000001_add_events_and_tasks::Migration),
            Box::new(m20261208_000002_add_lottery::Migration),
            Box::new(m20261209_000001_add_seasons_and_reports::Migration),
        ]
    }
}
