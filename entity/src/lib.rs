//! sea-orm entities for membercard's tables. Plain data: no GraphQL, HTTP or Redis here.

pub mod admins;
pub mod members;
pub mod sign_in_cycle_days;
pub mod sign_in_milestones;
pub mod tiers;
