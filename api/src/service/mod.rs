//! Use cases: each service method owns its transaction, calls the store and infra, and keeps
//! the business rules in `domain`.

pub mod auth;
pub mod clock;
pub mod health;
pub mod members;

use std::sync::Arc;

use sea_orm::DatabaseConnection;

use crate::infra::clock::Clock;
use crate::infra::redis::Redis;
use crate::infra::token::TokenService;
use crate::infra::wechat::WechatClient;

/// Everything a request handler may call, shared by all requests.
pub struct Services {
    pub auth: auth::AuthService,
    pub members: members::MemberService,
    pub clock: clock::ClockService,
    pub health: health::HealthService,
}

/// The shared parts services are built from.
pub struct Deps {
    pub db: DatabaseConnection,
    pub redis: Option<Redis>,
    pub clock: Arc<Clock>,
    pub tokens: TokenService,
    pub wechat: Option<WechatClient>,
    pub dev_login: bool,
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
        } = deps;
        Self {
            auth: auth::AuthService::new(db.clone(), Arc::clone(&clock), tokens, wechat, dev_login),
            members: members::MemberService::new(db.clone(), Arc::clone(&clock)),
            clock: clock::ClockService::new(Arc::clone(&clock)),
            health: health::HealthService::new(db, redis),
        }
    }
}
