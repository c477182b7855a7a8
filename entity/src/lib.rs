//! sea-orm entities for membercard's tables. Plain data: no GraphQL, HTTP or Redis here.

pub mod admins;
pub mod coupons;
pub mod growth_entries;
pub mod koc_applications;
pub mod koc_submissions;
pub mod koc_tasks;
pub mod member_day_events;
pub mod member_months;
pub mod members;
pub mod message_consents;
pub mod notifications;
pub mod order_deductions;
pub mod point_entries;
pub mod point_lots;
pub mod programme_settings;
pub mod purchases;
pub mod redemptions;
pub mod referrals;
pub mod rewards;
pub mod sign_in_cycle_days;
pub mod sign_in_milestones;
pub mod sign_ins;
pub mod tiers;
pub mod wechat_access_tokens;
