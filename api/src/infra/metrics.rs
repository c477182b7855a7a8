//! Prometheus metrics, served as text on `GET /metrics`. Every label takes values from a
//! fixed set (routes, schema fields, error codes), so no client can grow the series.

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};

pub struct Metrics {
    registry: Registry,
    http_requests: IntCounterVec,
    http_seconds: HistogramVec,
    graphql_fields: IntCounterVec,
    graphql_errors: IntCounterVec,
    db_connections: IntGaugeVec,
    redis_circuit_open: IntGauge,
    redis_round_trips: IntCounter,
    websockets: IntGauge,
    outbox_deliveries: IntGaugeVec,
    delivery_attempts: IntCounterVec,
}

/// What the process holds right now, read when `/metrics` is scraped.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// Outbox rows by status (the depth is `PENDING`); `None` when the database did not answer
    /// in time.
    pub outbox: Option<Vec<(String, i64)>>,
    /// This instance's delivery attempts since start: (channel, outcome, count).
    pub delivery_attempts: Vec<(&'static str, &'static str, u64)>,
    pub db_open: u32,
    pub db_idle: usize,
    pub db_max: u32,
    /// `None` without Redis.
    pub redis_circuit_open: Option<bool>,
    /// Round trips to Redis since start; `None` without Redis.
    pub redis_round_trips: Option<u64>,
    pub websockets: i64,
}

/// The routes measured by name; anything else is `other`.
const ROUTES: [&str; 5] = ["/graphql", "/graphql/ws", "/healthz", "/readyz", "/metrics"];

impl Metrics {
    /// The metrics; the Redis breaker's gauge only when Redis is configured.
    ///
    /// # Errors
    /// When a metric is defined twice (a programming error).
    pub fn new(with_redis: bool) -> Result<Self, prometheus::Error> {
        let registry = Registry::new_custom(Some("membercard".to_owned()), None)?;
        let http_requests = IntCounterVec::new(
            Opts::new(
                "http_requests_total",
                "HTTP requests by route, method and status",
            ),
            &["route", "method", "status"],
        )?;
        let http_seconds = HistogramVec::new(
            HistogramOpts::new(
                "http_request_duration_seconds",
                "Time to answer an HTTP request, by route",
            )
            .buckets(vec![
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
            ]),
            &["route"],
        )?;
        let graphql_fields = IntCounterVec::new(
            Opts::new(
                "graphql_root_fields_total",
                "Executed GraphQL root fields (signIn, redeemReward, …) by operation type and outcome",
            ),
            &["operation", "field", "outcome"],
        )?;
        let graphql_errors = IntCounterVec::new(
            Opts::new("graphql_errors_total", "GraphQL errors by extensions.code"),
            &["code"],
        )?;
        let db_connections = IntGaugeVec::new(
            Opts::new(
                "db_pool_connections",
                "Database pool connections: open (busy or idle), idle, and the most allowed",
            ),
            &["state"],
        )?;
        let redis_circuit_open = IntGauge::new(
            "redis_circuit_open",
            "1 while Redis' circuit breaker skips Redis after a failure, 0 while Redis is used",
        )?;
        let redis_round_trips = IntCounter::new(
            "redis_round_trips_total",
            "Round trips to Redis: commands, pipelines and script calls",
        )?;
        let websockets = IntGauge::new("websocket_connections", "Open /graphql/ws connections")?;
        let outbox_deliveries = IntGaugeVec::new(
            Opts::new(
                "outbox_deliveries",
                "Outbox rows by status; PENDING is the depth still to send",
            ),
            &["status"],
        )?;
        let delivery_attempts = IntCounterVec::new(
            Opts::new(
                "outbox_delivery_attempts_total",
                "Delivery attempts by this instance, by channel (WECHAT, WEBHOOK) and outcome (sent, retried, dead)",
            ),
            &["channel", "outcome"],
        )?;
        let build_info = IntGaugeVec::new(
            Opts::new("build_info", "Always 1; the labels say which build runs"),
            &["version"],
        )?;
        build_info
            .with_label_values(&[env!("CARGO_PKG_VERSION")])
            .set(1);
        registry.register(Box::new(db_connections.clone()))?;
        if with_redis {
            registry.register(Box::new(redis_circuit_open.clone()))?;
            registry.register(Box::new(redis_round_trips.clone()))?;
        }
        registry.register(Box::new(websockets.clone()))?;
        registry.register(Box::new(outbox_deliveries.clone()))?;
        registry.register(Box::new(delivery_attempts.clone()))?;
        registry.register(Box::new(build_info))?;
        // Resident memory, CPU seconds, open and maximum file descriptors, start time.
        #[cfg(target_os = "linux")]
        registry.register(Box::new(
            prometheus::process_collector::ProcessCollector::for_self(),
        ))?;
        registry.register(Box::new(http_requests.clone()))?;
        registry.register(Box::new(http_seconds.clone()))?;
        registry.register(Box::new(graphql_fields.clone()))?;
        registry.register(Box::new(graphql_errors.clone()))?;
        Ok(Self {
            registry,
            http_requests,
            http_seconds,
            graphql_fields,
            graphql_errors,
            db_connections,
            redis_circuit_open,
            redis_round_trips,
            websockets,
            outbox_deliveries,
            delivery_attempts,
        })
    }

    /// The route label for a request path: the route itself, or `other`.
    pub fn route_label(path: &str) -> &'static str {
        ROUTES
            .into_iter()
            .find(|route| *route == path)
            .unwrap_or("other")
    }

    /// The method label: the methods the routes answer, or `other`.
    pub fn method_label(method: &str) -> &'static str {
        ["GET", "POST", "HEAD", "OPTIONS"]
            .into_iter()
            .find(|known| *known == method)
            .unwrap_or("other")
    }

    /// Counts an answered HTTP request (labels from `route_label` and `method_label`).
    pub fn observe_http(&self, route: &str, method: &str, status: u16, seconds: f64) {
        self.http_requests
            .with_label_values(&[route, method, &status.to_string()])
            .inc();
        self.http_seconds
            .with_label_values(&[route])
            .observe(seconds);
    }

    /// Counts an executed operation's root fields (names the schema validated) and its errors.
    pub fn observe_graphql<'a>(
        &self,
        operation: &str,
        fields: &[String],
        error_codes: impl Iterator<Item = &'a str>,
    ) {
        let mut failed = false;
        for code in error_codes {
            failed = true;
            self.graphql_errors.with_label_values(&[code]).inc();
        }
        let outcome = if failed { "error" } else { "ok" };
        for field in fields {
            self.graphql_fields
                .with_label_values(&[operation, field, outcome])
                .inc();
        }
    }

    /// Counts errors of a request refused before execution (rate limits).
    pub fn observe_refusal(&self, code: &str) {
        self.graphql_errors.with_label_values(&[code]).inc();
    }

    /// Every metric in the Prometheus text format, with the gauges set from `now`.
    ///
    /// # Errors
    /// When encoding fails.
    pub fn render(&self, now: Snapshot) -> Result<String, prometheus::Error> {
        let gauge = |value: usize| i64::try_from(value).unwrap_or(i64::MAX);
        self.db_connections
            .with_label_values(&["open"])
            .set(i64::from(now.db_open));
        self.db_connections
            .with_label_values(&["idle"])
            .set(gauge(now.db_idle));
        self.db_connections
            .with_label_values(&["max"])
            .set(i64::from(now.db_max));
        self.websockets.set(now.websockets);
        if let Some(outbox) = &now.outbox {
            for &status in crate::domain::delivery::DeliveryStatus::ALL {
                let count = outbox
                    .iter()
                    .find(|(name, _)| name == status.as_str())
                    .map_or(0, |(_, count)| *count);
                self.outbox_deliveries
                    .with_label_values(&[status.as_str()])
                    .set(count);
            }
        }
        for (channel, outcome, total) in &now.delivery_attempts {
            // The dispatcher counts; the counter catches up with it at each scrape.
            let counter = self
                .delivery_attempts
                .with_label_values(&[*channel, *outcome]);
            counter.inc_by(total.saturating_sub(counter.get()));
        }
        if let Some(open) = now.redis_circuit_open {
            self.redis_circuit_open.set(i64::from(open));
        }
        if let Some(total) = now.redis_round_trips {
            // The client counts; the counter catches up with it at each scrape.
            let seen = self.redis_round_trips.get();
            self.redis_round_trips.inc_by(total.saturating_sub(seen));
        }
        let mut buffer = Vec::new();
        TextEncoder::new().encode(&self.registry.gather(), &mut buffer)?;
        String::from_utf8(buffer).map_err(|e| prometheus::Error::Msg(e.to_string()))
    }
}
