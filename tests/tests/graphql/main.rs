//! The GraphQL-over-HTTP suite: one binary, one module per capability.

mod admin;
mod budgets;
mod clock;
mod http;
mod identity;
mod inbox;
mod koc;
mod leaderboards;
mod member_day;
mod messages;
mod operations;
mod outages;
mod outbox;
mod phone;
mod points;
mod profile;
mod purchases;
mod rate_limits;
mod referrals;
mod rewards;
mod segments;
mod signin;
mod subscriptions;
mod tiers;
mod validation;
mod webhooks;
