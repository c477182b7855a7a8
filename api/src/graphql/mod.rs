//! The GraphQL API: thin resolvers over the services. No database, Redis or HTTP here.

pub mod auth;
pub mod campaigns;
pub mod clock;
pub mod connection;
pub mod context;
pub mod error;
pub mod guards;
pub mod inbox;
pub mod koc;
pub mod leaderboards;
pub mod lottery;
pub mod member_day;
pub mod members;
pub mod messages;
pub mod outbox;
pub mod points;
pub mod purchases;
pub mod referrals;
pub mod rewards;
pub mod scalars;
pub mod schema;
pub mod seasons;
pub mod segments;
pub mod signin;
pub mod stats;
pub mod tasks;
pub mod tiers;

pub use context::{ClientIp, RequestAuth};
pub use schema::{AppSchema, Schemas, build_schema, sdl};
