//! `serverTime` and the admin test clock (SPEC §0).

use async_graphql::{Context, Object, ResultExt, SimpleObject};
use chrono::{DateTime, Utc};

use crate::graphql::context::ContextExt;
use crate::graphql::scalars::Date;
use crate::service::clock::ServerTime as ServerTimeView;

/// What the server believes the time is (服务器时间).
#[derive(SimpleObject)]
pub struct ServerTime {
    /// The server's "now" (the test clock's, when it is moved).
    now: DateTime<Utc>,
    /// Today in the programme's time zone: the day sign-ins count for.
    business_date: Date,
    /// The programme's time zone, e.g. Asia/Shanghai.
    time_zone: String,
    /// Whether the test clock can be moved (never in production).
    test_clock_enabled: bool,
    /// How far the test clock is from the wall clock, in seconds.
    test_clock_offset_seconds: i64,
}

impl From<ServerTimeView> for ServerTime {
    fn from(view: ServerTimeView) -> Self {
        Self {
            now: view.now,
            business_date: view.business_date.into(),
            time_zone: view.time_zone,
            test_clock_enabled: view.test_clock_enabled,
            test_clock_offset_seconds: view.offset_seconds,
        }
    }
}

/// The result of a test-clock (测试时钟) mutation.
#[derive(SimpleObject)]
pub struct TestClockPayload {
    /// The server time after the change.
    server_time: ServerTime,
}

impl From<ServerTimeView> for TestClockPayload {
    fn from(view: ServerTimeView) -> Self {
        Self {
            server_time: view.into(),
        }
    }
}

#[derive(Default)]
pub struct ClockQuery;

#[Object]
impl ClockQuery {
    /// The server's time, business date and zone (服务器时间). Public.
    async fn server_time(&self, ctx: &Context<'_>) -> ServerTime {
        ctx.services().clock.server_time().into()
    }
}

#[derive(Default)]
pub struct ClockMutation;

#[Object]
#[expect(
    clippy::unused_async,
    reason = "async-graphql requires mutation resolvers to be async; moving the clock does no I/O"
)]
impl ClockMutation {
    /// Sets the test clock to `now` (ADMIN (设置测试时钟); FORBIDDEN in production).
    async fn set_test_clock(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "The instant the test clock (测试时钟) should read, RFC 3339 with an offset; years 2000–2199."
        )]
        now: DateTime<Utc>,
    ) -> async_graphql::Result<TestClockPayload> {
        let viewer = ctx.viewer()?;
        Ok(ctx.services().clock.set(viewer, now).extend()?.into())
    }

    /// Moves the test clock forward (ADMIN (拨快测试时钟); FORBIDDEN in production).
    async fn advance_test_clock(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Seconds to move the test clock forward, at most 10 years.")] seconds: i64,
    ) -> async_graphql::Result<TestClockPayload> {
        let viewer = ctx.viewer()?;
        Ok(ctx
            .services()
            .clock
            .advance(viewer, seconds)
            .extend()?
            .into())
    }

    /// Returns the test clock to the wall clock (ADMIN (重置测试时钟); FORBIDDEN in production).
    async fn reset_test_clock(&self, ctx: &Context<'_>) -> async_graphql::Result<TestClockPayload> {
        let viewer = ctx.viewer()?;
        Ok(ctx.services().clock.reset(viewer).extend()?.into())
    }
}
