//! Adapters to the outside world: the clock, Redis, password hashing, tokens, WeChat, metrics.

pub mod clock;
pub mod leaderboard;
pub mod metrics;
pub mod password;
pub mod random;
pub mod rate_limit;
pub mod redis;
pub mod token;
pub mod wechat;
