//! Wires the service together: database (migrated), Redis, clock, services, schema, HTTP.
//! `main` and the integration tests build the application the same way.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use migration::{Migrator, MigratorTrait};
use poem::listener::{Acceptor, Listener, TcpAcceptor, TcpListener};
use poem::{EndpointExt, Server};
use sea_orm::DatabaseConnection;

use crate::config::Settings;
use crate::domain::delivery::RetryPolicy;
use crate::graphql::build_schema;
use crate::http::client_ip::TrustedProxies;
use crate::http::lifecycle::Lifecycle;
use crate::http::{self, HttpState};
use crate::infra::clock::Clock;
use crate::infra::metrics::Metrics;
use crate::infra::random;
use crate::infra::rate_limit::RateLimiter;
use crate::infra::redis::Redis;
use crate::infra::token::TokenService;
use crate::infra::wechat::WechatClient;
use crate::service::dispatcher::DispatchPolicy;
use crate::service::ledger::LedgerPolicy;
use crate::service::{Deps, Services, jobs};
use crate::store;

/// A built, bound, not yet serving application.
pub struct Application {
    acceptor: TcpAcceptor,
    address: SocketAddr,
    endpoint: poem::endpoint::BoxEndpoint<'static>,
    clock: Arc<Clock>,
    services: Arc<Services>,
    lifecycle: Arc<Lifecycle>,
    drain: Duration,
    /// The outbox dispatcher's stop signal and task, when this instance runs one.
    dispatcher: Option<(
        tokio::sync::watch::Sender<bool>,
        tokio::task::JoinHandle<()>,
    )>,
}

impl Application {
    /// Connects and migrates the database, connects Redis when configured, and binds the
    /// listen address (port 0 picks a free port).
    ///
    /// # Errors
    /// When a dependency cannot be reached or the address cannot be bound.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let (db, redis) = connect(&settings).await?;
        let clock = Arc::new(Clock::new(
            settings.business.timezone,
            settings.business.test_clock,
        ));
        let services = Arc::new(services(&settings, db, redis, Arc::clone(&clock))?);
        // Boards lost with Redis come back from the database before the first request.
        match services.leaderboards.rebuild_missing().await {
            Ok(0) => {}
            Ok(rebuilt) => tracing::info!(rebuilt, "missing leaderboards rebuilt"),
            Err(e) => tracing::warn!(error = ?e, "leaderboards not rebuilt at start-up"),
        }
        if settings.business.jobs_interval_seconds > 0 {
            tokio::spawn(run_jobs(
                Arc::clone(&services),
                Duration::from_secs(settings.business.jobs_interval_seconds),
            ));
        }
        tokio::spawn(Arc::clone(&services.inbox_feed).run(settings.server.subscription_poll));
        let dispatcher = settings.outbox.poll.map(|poll| {
            let (stop, stopped) = tokio::sync::watch::channel(false);
            let running = tokio::spawn(Arc::clone(&services.dispatcher).run(poll, stopped));
            (stop, running)
        });
        if settings.redis.url.is_some() {
            tokio::spawn(heal_boards(
                Arc::clone(&services),
                settings.redis.heal_interval,
            ));
        }
        let schemas = build_schema(Arc::clone(&services), &settings.server);
        let lifecycle = Arc::new(Lifecycle::default());
        let endpoint = http::routes(HttpState {
            schemas,
            services: Arc::clone(&services),
            playground: settings.server.playground,
            max_body_bytes: settings.server.max_body_bytes,
            metrics: Arc::new(
                Metrics::new(settings.redis.url.is_some()).context("defining metrics")?,
            ),
            serve_metrics: settings.server.metrics,
            trusted_proxies: TrustedProxies::new(settings.server.trusted_proxies.clone()),
            lifecycle: Arc::clone(&lifecycle),
        })
        .boxed();

        let acceptor = TcpListener::bind(settings.server.listen.clone())
            .into_acceptor()
            .await
            .with_context(|| format!("binding {}", settings.server.listen))?;
        let address = acceptor
            .local_addr()
            .first()
            .and_then(|addr| addr.as_socket_addr().copied())
            .context("the listener has no socket address")?;
        Ok(Self {
            acceptor,
            address,
            endpoint,
            clock,
            services,
            lifecycle,
            drain: settings.server.shutdown_drain,
            dispatcher,
        })
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The application's clock (tests move it directly).
    pub fn clock(&self) -> Arc<Clock> {
        Arc::clone(&self.clock)
    }

    pub fn services(&self) -> Arc<Services> {
        Arc::clone(&self.services)
    }

    /// Serves until Ctrl-C or SIGTERM. Then `/readyz` answers 503 at once while requests are
    /// still served for the drain period (so the load balancer moves traffic away first), open
    /// WebSockets get a close frame (1001), and in-flight requests get up to 10 seconds more.
    ///
    /// # Errors
    /// When the server fails.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let lifecycle = Arc::clone(&self.lifecycle);
        let drain = self.drain;
        let dispatcher = self.dispatcher;
        let stopped = async move {
            shutdown_signal().await;
            lifecycle.start_draining();
            tracing::info!(
                drain_ms = drain.as_millis(),
                "draining: /readyz answers 503"
            );
            tokio::time::sleep(drain).await;
            lifecycle.close_sockets();
            tracing::info!("drained: closing sockets and stopping");
            // Give the sockets a moment to send their close frames before connections end.
            let deadline = tokio::time::Instant::now() + Duration::from_secs(1);
            while lifecycle.open_sockets() > 0 && tokio::time::Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        };
        let served = Server::new_with_acceptor(self.acceptor)
            .run_with_graceful_shutdown(self.endpoint, stopped, Some(Duration::from_secs(10)))
            .await;
        if let Some((stop, running)) = dispatcher {
            // The batch in flight is sent and recorded; nothing is claimed after this.
            let _ = stop.send(true);
            if tokio::time::timeout(Duration::from_secs(30), running)
                .await
                .is_err()
            {
                tracing::warn!(
                    "the outbox dispatcher did not stop in time; its leased rows are sent again later"
                );
            }
        }
        served
    }
}

/// Opens (and migrates) the database, and Redis when configured.
///
/// # Errors
/// When either cannot be reached or a migration fails.
pub async fn connect(settings: &Settings) -> anyhow::Result<(DatabaseConnection, Option<Redis>)> {
    let migrations = store::connect_for_migrations(&settings.database)
        .await
        .context("connecting to the database")?;
    Migrator::up(&migrations, None)
        .await
        .context("running database migrations")?;
    migrations
        .close()
        .await
        .context("closing the migration connection")?;
    let db = store::connect(&settings.database)
        .await
        .context("connecting to the database")?;
    // Connected lazily: a Redis that is down now is used as soon as it answers.
    let redis = settings
        .redis
        .url
        .as_deref()
        .map(|url| Redis::connect(url, &settings.redis.key_prefix, settings.redis.timeout))
        .transpose()
        .context("REDIS_URL")?;
    Ok((db, redis))
}

/// The services over an open database.
///
/// # Errors
/// When the WeChat client cannot be built.
pub fn services(
    settings: &Settings,
    db: DatabaseConnection,
    redis: Option<Redis>,
    clock: Arc<Clock>,
) -> anyhow::Result<Services> {
    let secret = match &settings.auth.jwt_secret {
        Some(secret) => secret.expose().as_bytes().to_vec(),
        None => {
            tracing::warn!(
                "MEMBERCARD_JWT_SECRET is not set: using a random secret, so tokens end with this process"
            );
            random::hex(32).into_bytes()
        }
    };
    let tokens = TokenService::new(
        &secret,
        settings.auth.member_token_ttl_seconds,
        settings.auth.admin_token_ttl_seconds,
    );
    let wechat = settings
        .wechat
        .credentials()
        .map(|(appid, secret)| {
            WechatClient::new(
                &settings.wechat.base_url,
                appid,
                secret.clone(),
                settings.wechat.timeout,
            )
        })
        .transpose()?;
    let limiter = Arc::new(RateLimiter::new(
        Arc::clone(&clock),
        settings.rate_limits.clone(),
        redis.clone(),
    ));
    Services::new(Deps {
        limiter,
        db,
        redis,
        clock,
        tokens,
        wechat,
        dev_login: settings.auth.dev_login,
        koc_min_tier: settings.business.koc_min_tier.clone(),
        health_timeout: settings.database.acquire_timeout,
        ledger: LedgerPolicy {
            timezone: settings.business.timezone,
            expiry_months: settings.business.points_expiry_months,
            pending_days: settings.business.purchase_pending_days,
            member_day_of_month: settings.business.member_day,
        },
        dispatch: DispatchPolicy {
            retry: RetryPolicy {
                base: settings.outbox.retry_base,
                max_attempts: settings.outbox.max_attempts,
            },
            webhook_timeout: settings.outbox.webhook_timeout,
            miniprogram_state: settings.outbox.miniprogram_state.clone(),
        },
        allow_private_webhooks: settings.outbox.allow_private_webhooks,
        marketing_messages_per_day: settings.business.marketing_messages_per_day,
    })
}

/// Scheduled work, every `interval`: points expiry and pending purchases, and the monthly tier
/// evaluation on the first run of each business month. Safe on every instance at once (see
/// `PointsService::run_expiry`, `TierService::evaluate_monthly`); a failed run is logged and
/// tried again next time.
async fn run_jobs(services: Arc<Services>, interval: Duration) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        match jobs::run_all(&services).await {
            Ok(run) => tracing::debug!(
                points.expired = run.expiry.points,
                points.matured = run.expiry.matured,
                tiers.evaluated = run.tiers.map_or(0, |t| t.evaluated),
                member_day.notices = run.member_day_notices,
                "scheduled jobs ran"
            ),
            Err(e) => tracing::error!(error = ?e, "scheduled jobs failed"),
        }
    }
}

/// Rebuilds boards that missed writes during a Redis outage, once Redis answers again.
async fn heal_boards(services: Arc<Services>, interval: Duration) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        if let Err(error) = services.leaderboards.heal().await {
            tracing::debug!(error = ?error, "stale leaderboards not rebuilt yet");
        }
    }
}

async fn shutdown_signal() {
    let interrupt = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
