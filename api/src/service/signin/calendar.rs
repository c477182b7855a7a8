//! The sign-in calendar (签到日历): what each day of a month gave, or would give.

use chrono::{NaiveDate, TimeZone};

use crate::domain::ids::MemberId;
use crate::domain::member_day as member_day_rules;
use crate::domain::{points, signin};
use crate::error::AppError;
use crate::service::member_day;
use crate::store;
use crate::store::signins::DayKind;

use super::{SigninService, streak_state};

/// How a calendar day stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DayStatus {
    SignedIn,
    MadeUp,
    Frozen,
    Missed,
    /// Today, not yet signed.
    Open,
    Upcoming,
}

#[derive(Debug, Clone, Copy)]
pub struct CalendarEntry {
    pub day: NaiveDate,
    pub status: DayStatus,
    /// Points the day gave, or would give if the member signs in every day from today.
    pub points: i64,
}

impl SigninService {
    /// The member's calendar for a business month: what each day gave, or would give if the
    /// member signs in every day from today on.
    ///
    /// # Errors
    /// `NOT_FOUND` for an unknown member.
    pub async fn calendar(
        &self,
        member_id: MemberId,
        month_start: NaiveDate,
    ) -> Result<Vec<CalendarEntry>, AppError> {
        let today = self.clock.today();
        let member = store::ledger::read_member(&self.db, member_id).await?;
        let rules = self.engine.rules().await?;
        let cycle = &rules.cycle;
        let tier = rules.tier(&member.tier_code)?;
        let month_end = signin::last_of_month(month_start);
        let rows = store::signins::between(&self.db, member_id, month_start, month_end).await?;
        let tz = self.policy.timezone;
        let at_noon = |day: NaiveDate| {
            day.and_hms_opt(12, 0, 0)
                .and_then(|noon| tz.from_local_datetime(&noon).earliest())
                .map(|at| at.with_timezone(&chrono::Utc))
        };
        let (Some(from), Some(to)) = (at_noon(month_start), at_noon(month_end)) else {
            return Ok(Vec::new());
        };
        let windows = member_day::calendar(&rules, self.policy)
            .windows(from, to + chrono::TimeDelta::hours(1));
        let state = streak_state(&member);
        let signed_today = member.last_sign_in_day == Some(today);
        // The streak today's sign-in makes (or made).
        let today_streak = if signed_today {
            member.current_streak
        } else {
            signin::next_streak(state, today).map_or(1, |step| step.streak)
        };
        let entries = month_start
            .iter_days()
            .take_while(|day| *day <= month_end)
            .map(|day| {
                if let Some(row) = rows.iter().find(|row| row.day == day) {
                    let status = match row.kind {
                        DayKind::SignIn => DayStatus::SignedIn,
                        DayKind::MakeUp => DayStatus::MadeUp,
                        DayKind::Freeze => DayStatus::Frozen,
                    };
                    return CalendarEntry {
                        day,
                        status,
                        points: row.points,
                    };
                }
                if day < today {
                    return CalendarEntry {
                        day,
                        status: DayStatus::Missed,
                        points: 0,
                    };
                }
                let ahead = i32::try_from(day.signed_duration_since(today).num_days()).unwrap_or(0);
                CalendarEntry {
                    day,
                    status: if day == today {
                        DayStatus::Open
                    } else {
                        DayStatus::Upcoming
                    },
                    points: points::multiply_all(
                        cycle.points_for(today_streak.saturating_add(ahead)),
                        &[
                            tier.points_multiplier_pct,
                            at_noon(day).map_or(100, |at| {
                                member_day_rules::effects(&windows, at, Some(tier.rank))
                                    .multiplier_pct
                            }),
                        ],
                    ),
                }
            })
            .collect();
        Ok(entries)
    }
}
