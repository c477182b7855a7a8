//! Use cases: each service method owns its transaction, calls the store and infra, and keeps
//! the business rules in `domain`.

pub mod auth;
pub mod clock;
pub mod health;
pub mod inbox;
pub mod inbox_feed;
pub mod jobs;
pub mod koc;
pub mod leaderboards;
pub mod ledger;
pub mod member_day;
pub mod members;
pub mod messages;
pub mod points;
pub mod purchases;
pub mod referrals;
pub mod rewards;
pub mod rules;
pub mod signin;
pub mod stats;
pub mod tiers;
pub mod wechat;
pub mod work;

use std::sync::Arc;

use sea_orm::DatabaseConnection;

use crate::infra::clock::Clock;
use crate::infra::leaderboard::BoardCache;
use crate::infra::rate_limit::RateLimiter;
use crate::infra::redis::Redis;
use crate::infra::token::TokenService;
use crate::infra::wechat::{TokenCache, WechatClient};

/// Everything a request handler may call, shared by all requests.
pub struct Services {
    pub auth: auth::AuthService,
    pub members: members::MemberService,
    pub messages: messages::MessageService,
    pub clock: clock::ClockService,
    pub health: health::HealthService,
    pub signin: signin::SigninService,
    pub points: points::PointsService,
    pub purchases: purchases::PurchaseService,
    pub inbox: inbox::InboxService,
    pub inbox_feed: Arc<inbox_feed::InboxFeed>,
    pub tiers: tiers::TierService,
    pub member_day: member_day::MemberDayService,
    pub rewards: rewards::RewardService,
    pub koc: koc::KocService,
    pub referrals: referrals::ReferralService,
    pub leaderboards: Arc<leaderboards::LeaderboardService>,
    pub stats: stats::StatsService,
    pub limiter: Arc<RateLimiter>,
}

/// The shared parts services are built from.
pub struct Deps {
    pub db: DatabaseConnection,
    pub redis: Option<Redis>,
    pub clock: Arc<Clock>,
    pub tokens: TokenService,
    pub wechat: Option<WechatClient>,
    pub dev_login: bool,
    pub ledger: ledger::LedgerPolicy,
    pub limiter: Arc<RateLimiter>,
    /// The lowest tier that may apply to be a KOC.
    pub koc_min_tier: String,
    /// How long a readiness check may wait for a dependency.
    pub health_timeout: std::time::Duration,
}

impl Services {
    pub fn new(deps: Deps) -> Self {
        let Deps {
            db,
            redis,
            clock,
            tokens,
            wechat,
            dev_login,
            ledger,
            limiter,
            koc_min_tier,
            health_timeout,
        } = deps;
        let engine = work::PointsEngine::new(db.clone(), Arc::clone(&clock), ledger);
        let wechat_client = wechat.clone();
        let boards = Arc::new(leaderboards::LeaderboardService::new(
            db.clone(),
            Arc::clone(&clock),
            redis.clone().map(BoardCache::new),
        ));
        Self {
            auth: auth::AuthService::new(
                db.clone(),
                Arc::clone(&clock),
                tokens,
                wechat,
                dev_login,
                engine.clone(),
                Arc::clone(&limiter),
            ),
            members: members::MemberService::new(
                db.clone(),
                Arc::clone(&clock),
                Arc::clone(&boards),
                Arc::new(wechat::WechatApi::new(
                    db.clone(),
                    Arc::clone(&clock),
                    wechat_client,
                    redis.clone().map(TokenCache::new),
                )),
            ),
            messages: messages::MessageService::new(db.clone(), Arc::clone(&clock)),
            clock: clock::ClockService::new(Arc::clone(&clock)),
            signin: signin::SigninService::new(
                db.clone(),
                Arc::clone(&clock),
                engine.clone(),
                Arc::clone(&boards),
            ),
            points: points::PointsService::new(db.clone(), Arc::clone(&clock), engine.clone()),
            purchases: purchases::PurchaseService::new(
                db.clone(),
                Arc::clone(&clock),
                engine.clone(),
                Arc::clone(&boards),
            ),
            inbox: inbox::InboxService::new(db.clone(), Arc::clone(&clock)),
            inbox_feed: Arc::new(inbox_feed::InboxFeed::new(db.clone())),
            tiers: tiers::TierService::new(db.clone(), Arc::clone(&clock), engine.clone()),
            member_day: member_day::MemberDayService::new(
                db.clone(),
                Arc::clone(&clock),
                engine.clone(),
            ),
            rewards: rewards::RewardService::new(db.clone(), Arc::clone(&clock), engine.clone()),
            koc: koc::KocService::new(
                db.clone(),
                Arc::clone(&clock),
                engine.clone(),
                Arc::clone(&boards),
                koc_min_tier,
            ),
            referrals: referrals::ReferralService::new(
                db.clone(),
                Arc::clone(&clock),
                engine,
                Arc::clone(&boards),
            ),
            leaderboards: boards,
            stats: stats::StatsService::new(db.clone(), Arc::clone(&clock)),
            limiter,
            health: health::HealthService::new(db, redis, health_timeout),
        }
    }
}
