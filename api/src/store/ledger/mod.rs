//! The points ledger tables: entries, lots, month counters, and the member's cached balance,
//! one module per job; callers use them through this one.

mod card;
mod correlated;
mod entries;
mod member;
mod months;

pub use card::{PointsGlance, member_card, points_glance};
pub use entries::{
    NewEntry, NewLot, consume_lot, entry_by_key, expired_lots, expiring_between, history,
    insert_credit, insert_entry, members_with_expired_lots, open_lots,
};
pub use member::{
    LockedMember, WorkReads, add_freezes, add_growth_total, flush, lock_member,
    lock_member_for_work, member_tiers_after, read_member, set_balance, set_streak, set_tier,
    set_tier_demoted,
};
pub use months::{
    MonthTotals, add_to_month, growth_between, month_totals, record_tier_change,
    stored_growth_between, stored_month_totals,
};
