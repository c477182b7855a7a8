//! The test clock of SPEC §0: admins move "now" outside production.

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};

use crate::domain::auth::{AdminAction, Viewer};
use crate::error::AppError;
use crate::infra::clock::Clock;

/// What the server believes the time is.
#[derive(Debug, Clone)]
pub struct ServerTime {
    pub now: DateTime<Utc>,
    pub business_date: NaiveDate,
    pub time_zone: String,
    pub test_clock_enabled: bool,
    pub offset_seconds: i64,
}

/// The longest single jump of the test clock: ten years.
const MAX_ADVANCE_SECONDS: i64 = 10 * 366 * 24 * 3600;

pub struct ClockService {
    clock: Arc<Clock>,
}

impl ClockService {
    pub fn new(clock: Arc<Clock>) -> Self {
        Self { clock }
    }

    pub fn server_time(&self) -> ServerTime {
        let now = self.clock.now();
        ServerTime {
            now,
            business_date: now.with_timezone(&self.clock.timezone()).date_naive(),
            time_zone: self.clock.timezone().name().to_owned(),
            test_clock_enabled: self.clock.is_adjustable(),
            offset_seconds: self.clock.offset().num_seconds(),
        }
    }

    /// Sets the test clock to `at`.
    ///
    /// # Errors
    /// `FORBIDDEN` for non-admins and in production.
    pub fn set(&self, viewer: Viewer, at: DateTime<Utc>) -> Result<ServerTime, AppError> {
        viewer.admin_for(AdminAction::ControlTestClock)?;
        self.clock.set(at)?;
        tracing::info!(clock.now = %at, "test clock set");
        Ok(self.server_time())
    }

    /// Moves the test clock forward by `seconds` (1 second to 10 years).
    ///
    /// # Errors
    /// `FORBIDDEN` for non-admins and in production; `VALIDATION` for a bad amount.
    pub fn advance(&self, viewer: Viewer, seconds: i64) -> Result<ServerTime, AppError> {
        viewer.admin_for(AdminAction::ControlTestClock)?;
        if !(1..=MAX_ADVANCE_SECONDS).contains(&seconds) {
            return Err(AppError::validation(
                "seconds",
                "must be between 1 and 10 years of seconds; use setTestClock to go back",
            ));
        }
        self.clock.advance(TimeDelta::seconds(seconds))?;
        tracing::info!(clock.advanced_seconds = seconds, "test clock advanced");
        Ok(self.server_time())
    }

    /// Returns the test clock to the wall clock.
    ///
    /// # Errors
    /// `FORBIDDEN` for non-admins and in production.
    pub fn reset(&self, viewer: Viewer) -> Result<ServerTime, AppError> {
        viewer.admin_for(AdminAction::ControlTestClock)?;
        self.clock.reset()?;
        tracing::info!("test clock reset");
        Ok(self.server_time())
    }
}
