//! Use cases: each service method owns its transaction, calls the store and infra, and keeps
//! the business rules in `domain`.

pub mod auth;
pub mod campaigns;
pub mod clock;
pub mod dispatcher;
pub mod health;
pub mod inbox;
pub mod inbox_feed;
pub mod jobs;
pub mod koc;
pub mod leaderboards;
pub mod ledger;
pub mod lottery;
pub mod member_day;
pub mod members;
pub mod messages;
pub mod outbox;
pub mod points;
pub mod purchases;
pub mod referrals;
pub mod rewards;
pub mod rules;
pub mod seasons;
pub mod segments;
pub mod signin;
pub mod stats;
pub mod tasks;
pub mod tiers;
pub mod webhooks;
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
    pub outbox: outbox::OutboxService,
    pub segments: segments::SegmentService,
    pub campaigns: campaigns::CampaignService,
    pub tasks: tasks::TaskService,
    pub lottery: lottery::LotteryService,
    pub seasons: seasons::SeasonService,
    pub tags: segments::TagService,
    pub webhooks: webhooks::WebhookService,
    pub dispatcher: Arc<dispatcher::Dispatcher>,
    pub delivery_counters: Arc<dispatcher::DeliveryCounters>,
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
    pub dispatch: dispatcher::DispatchPolicy,
    /// Webhooks may call loopback and private addresses (never in production).
    pub allow_private_webhooks: bool,
    /// Campaign subscribe messages a member may get per business day.
    pub marketing_messages_per_day: u32,
}

impl Services {
    /// # Errors
    /// When the dispatcher's HTTP client cannot be built.
    pub fn new(deps: Deps) -> anyhow::Result<Self> {
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
            dispatch,
            allow_private_webhooks,
            marketing_messages_per_day,
        } = deps;
        let engine = work::PointsEngine::new(db.clone(), Arc::clone(&clock), ledger);
        let wechat_api = Arc::new(wechat::WechatApi::new(
            db.clone(),
            Arc::clone(&clock),
            wechat.clone(),
            redis.clone().map(TokenCache::new),
        ));
        let wake = Arc::new(tokio::sync::Notify::new());
        let delivery_counters = Arc::new(dispatcher::DeliveryCounters::default());
        let dispatcher = Arc::new(dispatcher::Dispatcher::new(
            db.clone(),
            Arc::clone(&clock),
            wechat_api.clone(),
            dispatch,
            Arc::clone(&delivery_counters),
            Arc::clone(&wake),
        )?);
        let boards = Arc::new(leaderboards::LeaderboardService::new(
            db.clone(),
            Arc::clone(&clock),
            redis.clone().map(BoardCache::new),
        ));
        Ok(Self {
            outbox: outbox::OutboxService::new(db.clone(), Arc::clone(&clock), wake),
            segments: segments::SegmentService::new(db.clone(), Arc::clone(&clock), engine.clone()),
            campaigns: campaigns::CampaignService::new(
                db.clone(),
                Arc::clone(&clock),
                engine.clone(),
                marketing_messages_per_day,
            ),
            tags: segments::TagService::new(db.clone(), Arc::clone(&clock)),
            tasks: tasks::TaskService::new(db.clone(), Arc::clone(&clock), engine.clone()),
            lottery: lottery::LotteryService::new(db.clone(), Arc::clone(&clock), engine.clone()),
            seasons: seasons::SeasonService::new(db.clone(), Arc::clone(&clock), engine.clone()),
            webhooks: webhooks::WebhookService::new(
                db.clone(),
                Arc::clone(&clock),
                allow_private_webhooks,
            ),
            dispatcher,
            delivery_counters,
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
                Arc::clone(&wechat_api),
                engine.clone(),
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
        })
    }
}
