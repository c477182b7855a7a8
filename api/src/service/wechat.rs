//! Calls to WeChat's server APIs with the shared access token (SPEC §17).
//!
//! The token lives in the database, one row per appid, so every instance uses the same one;
//! Redis caches it for instances that do not hold it yet, and each instance keeps it in memory
//! until shortly before it expires, so a call costs no token request and, usually, no query. A refresh takes the row's lock on PostgreSQL: one
//! refresh is in flight across instances, and the others then read its token. When WeChat
//! refuses a token (40001, 42001) the call refreshes once with `force_refresh` — unless
//! another caller already replaced that token — and is retried once.
//!
//! Expiry is read on the service's clock, which tests move to age a token.

use std::future::Future;
use std::sync::{Arc, RwLock};

use chrono::TimeDelta;
use sea_orm::{ConnectionTrait, DatabaseBackend, DatabaseConnection};

use crate::error::AppError;
use crate::infra::clock::Clock;
use crate::infra::wechat::{TokenCache, WechatCallError, WechatClient};
use crate::store;
use crate::store::wechat::StoredToken;

/// A token is refreshed this long before WeChat says it expires, so a call never carries a
/// token that lapses on the way.
const REFRESH_MARGIN: TimeDelta = TimeDelta::minutes(5);

pub struct WechatApi {
    db: DatabaseConnection,
    clock: Arc<Clock>,
    client: Option<WechatClient>,
    /// Redis, when configured: the token for instances that do not hold it in memory.
    shared_cache: Option<TokenCache>,
    cached: RwLock<Option<StoredToken>>,
    /// One refresh in flight in this instance (the row lock covers the others).
    refreshing: tokio::sync::Mutex<()>,
}

impl WechatApi {
    pub fn new(
        db: DatabaseConnection,
        clock: Arc<Clock>,
        client: Option<WechatClient>,
        shared_cache: Option<TokenCache>,
    ) -> Self {
        Self {
            db,
            clock,
            client,
            shared_cache,
            cached: RwLock::new(None),
            refreshing: tokio::sync::Mutex::new(()),
        }
    }

    /// Runs `call` with the access token; when WeChat refuses the token, refreshes it once and
    /// runs `call` once more.
    ///
    /// # Errors
    /// `WECHAT_API_FAILED` (with WeChat's errcode when it answered one), also when WeChat is
    /// not configured.
    pub async fn call<T, F, Fut>(&self, call: F) -> Result<T, AppError>
    where
        F: Fn(WechatClient, String) -> Fut,
        Fut: Future<Output = Result<T, WechatCallError>>,
    {
        let client = self
            .client
            .clone()
            .ok_or_else(|| AppError::WechatApiFailed {
                errcode: None,
                message: "WeChat is not configured on this server".into(),
            })?;
        let token = self.token(&client).await?;
        match call(client.clone(), token.clone()).await {
            Err(refused) if refused.token_refused() => {
                tracing::info!("WeChat refused the access token; refreshing it once");
                let fresh = self.refresh(&client, Some(&token)).await?;
                Ok(call(client, fresh).await?)
            }
            answer => Ok(answer?),
        }
    }

    /// The token to use now: the instance's copy, else Redis's, else the database's, else a
    /// new one.
    async fn token(&self, client: &WechatClient) -> Result<String, AppError> {
        if let Some(token) = self.usable(self.cached_token()) {
            return Ok(token);
        }
        if let Some(cache) = &self.shared_cache
            && let Some((token, left)) = cache.get(client.appid()).await
            && let Ok(left) = TimeDelta::from_std(left)
        {
            // Redis keeps it until the margin before the token expires.
            self.remember(Some(StoredToken {
                token: token.clone(),
                expires_at: self.clock.now() + left + REFRESH_MARGIN,
            }));
            return Ok(token);
        }
        let stored = store::wechat::token(&self.db, client.appid(), false).await?;
        if let Some(token) = self.usable(stored.clone()) {
            self.share(client, stored).await;
            return Ok(token);
        }
        self.refresh(client, None).await
    }

    /// A new token, unless the shared one already replaced `refused` (or, without `refused`,
    /// is still good). Asks WeChat with `force_refresh` only after a refusal.
    async fn refresh(
        &self,
        client: &WechatClient,
        refused: Option<&str>,
    ) -> Result<String, AppError> {
        let _one_at_a_time = self.refreshing.lock().await;
        let fresh = if self.db.get_database_backend() == DatabaseBackend::Postgres {
            let txn = store::begin(&self.db).await?;
            let fresh = self.refresh_on(&txn, client, refused, true).await?;
            txn.commit().await?;
            fresh
        } else {
            // One instance: no lock to take, and the single connection must not wait on WeChat.
            self.refresh_on(&self.db, client, refused, false).await?
        };
        let token = fresh.token.clone();
        self.share(client, Some(fresh)).await;
        Ok(token)
    }

    /// Keeps the token in this instance and in Redis, until the margin before it expires.
    async fn share(&self, client: &WechatClient, token: Option<StoredToken>) {
        if let (Some(cache), Some(token)) = (&self.shared_cache, &token) {
            let usable_for = token.expires_at - REFRESH_MARGIN - self.clock.now();
            if let Ok(ttl) = usable_for.to_std() {
                cache.put(client.appid(), &token.token, ttl).await;
            }
        }
        self.remember(token);
    }

    async fn refresh_on(
        &self,
        db: &impl ConnectionTrait,
        client: &WechatClient,
        refused: Option<&str>,
        lock: bool,
    ) -> Result<StoredToken, AppError> {
        let now = self.clock.now();
        if lock {
            store::wechat::ensure_row(db, client.appid(), now).await?;
        }
        let stored = store::wechat::token(db, client.appid(), lock).await?;
        if let Some(current) = stored.filter(|s| Some(s.token.as_str()) != refused)
            && self.usable(Some(current.clone())).is_some()
        {
            return Ok(current);
        }
        let answer = client.stable_token(refused.is_some()).await?;
        let fresh = StoredToken {
            token: answer.token,
            expires_at: now
                .checked_add_signed(TimeDelta::seconds(answer.expires_in_secs))
                .unwrap_or(now),
        };
        store::wechat::save(db, client.appid(), &fresh, now).await?;
        Ok(fresh)
    }

    /// The token, when it is good for longer than the margin.
    fn usable(&self, token: Option<StoredToken>) -> Option<String> {
        let now = self.clock.now();
        token
            .filter(|t| !t.token.is_empty() && t.expires_at - REFRESH_MARGIN > now)
            .map(|t| t.token)
    }

    fn cached_token(&self) -> Option<StoredToken> {
        self.cached.read().ok().and_then(|cached| cached.clone())
    }

    fn remember(&self, token: Option<StoredToken>) {
        if let Ok(mut cached) = self.cached.write() {
            *cached = token;
        }
    }
}
