//! Pure rules and value types: no I/O, no database, no GraphQL. Time is always a parameter.

pub mod auth;
pub mod campaign;
pub mod delivery;
pub mod feed;
pub mod ids;
pub mod instant;
pub mod koc;
pub mod leaderboard;
pub mod lottery;
pub mod member;
pub mod member_day;
pub mod notification;
pub mod paging;
pub mod points;
pub mod purchase;
pub mod rate_limit;
pub mod referral;
pub mod reward;
pub mod season;
pub mod segment;
pub mod signin;
pub mod stats;
pub mod subscribe_message;
pub mod task;
pub mod tier;
pub mod webhook;
