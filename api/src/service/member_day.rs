//! Member day: which windows apply when, their effects for a member, operators' events, and
//! the notice the day before.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Datelike, Days, NaiveDate, TimeDelta, TimeZone, Utc};
use sea_orm::DatabaseConnection;

use crate::domain::ids::{EventId, MemberId};
use crate::domain::member_day::{self, Effects, MemberDayEvent, ScheduledEvent};
use crate::domain::notification::{self, Notice, NoticeKind};
use crate::error::AppError;
use crate::infra::clock::Clock;
use crate::service::ledger::LedgerPolicy;
use crate::service::outbox::Reach;
use crate::service::rules::Rules;
use crate::service::work::PointsEngine;
use crate::store::{self, programme};

const MULTIPLIER: &str = "member_day_multiplier_pct";
const DISCOUNT: &str = "member_day_discount_pct";
const ANNOUNCED: &str = "member_day_announced";

/// The member-day calendar the rules and the policy make.
pub fn calendar(rules: &Rules, policy: LedgerPolicy) -> member_day::Calendar<'_> {
    let percent = |key: &str, default: i64| i32::try_from(rules.setting(key, default));
    member_day::Calendar {
        events: &rules.events,
        tiers: &rules.tiers,
        day_of_month: policy.member_day_of_month,
        timezone: policy.timezone,
        multiplier_pct: percent(MULTIPLIER, 200).unwrap_or(100),
        discount_pct: percent(DISCOUNT, 20).unwrap_or(0),
    }
}

/// The member day a member sees: the window in force now (with the combined effects of all
/// in force), or the next one.
#[derive(Debug, Clone)]
pub struct MemberDayView {
    pub window: MemberDayEvent,
    pub active: bool,
    pub effects: Effects,
}

/// The member day as one caller sees it.
#[derive(Debug, Clone)]
pub struct MemberDayForViewer {
    pub view: MemberDayView,
    /// Event discount plus the member's tier discount (at most 50); None for anonymous callers.
    pub your_discount_pct: Option<i32>,
}

/// An operator's new event.
pub struct NewEvent {
    pub title: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub multiplier_pct: i32,
    pub discount_pct: i32,
    pub min_tier: Option<String>,
}

pub struct MemberDayService {
    db: DatabaseConnection,
    clock: Arc<Clock>,
    policy: LedgerPolicy,
    engine: PointsEngine,
}

impl MemberDayService {
    pub fn new(db: DatabaseConnection, clock: Arc<Clock>, engine: PointsEngine) -> Self {
        Self {
            db,
            clock,
            policy: engine.policy(),
            engine,
        }
    }

    /// The window in force now for a member of tier rank `rank` (None for anyone), or the next.
    ///
    /// # Errors
    /// `INTERNAL` on database failure.
    pub async fn current_or_next(
        &self,
        rank: Option<i32>,
    ) -> Result<Option<MemberDayView>, AppError> {
        let rules = self.engine.rules().await?;
        Ok(self.current_or_next_with(&rules, rank))
    }

    fn current_or_next_with(&self, rules: &Rules, rank: Option<i32>) -> Option<MemberDayView> {
        let now = self.clock.now();
        // Look a year ahead: the monthly day comes round well within it.
        let horizon = now + TimeDelta::days(400);
        let windows: Vec<MemberDayEvent> = calendar(rules, self.policy)
            .windows(now, horizon)
            .into_iter()
            .filter(|w| w.is_for(rank))
            .collect();
        let effects = member_day::effects(&windows, now, rank);
        let active = windows
            .iter()
            .filter(|w| w.is_active(now))
            .max_by_key(|w| (w.multiplier_pct, w.discount_pct));
        if let Some(window) = active {
            return Some(MemberDayView {
                window: window.clone(),
                active: true,
                effects,
            });
        }
        windows
            .into_iter()
            .filter(|w| w.starts_at > now)
            .min_by_key(|w| w.starts_at)
            .map(|window| MemberDayView {
                effects: Effects {
                    multiplier_pct: window.multiplier_pct,
                    discount_pct: window.discount_pct,
                },
                window,
                active: false,
            })
    }

    /// The member day for a caller: a member sees tier-gated events and their own discount.
    ///
    /// # Errors
    /// `NOT_FOUND` for an unknown member.
    pub async fn for_viewer(
        &self,
        member: Option<MemberId>,
    ) -> Result<Option<MemberDayForViewer>, AppError> {
        let rules = self.engine.rules().await?;
        let tier = match member {
            Some(id) => {
                let member = store::ledger::read_member(&self.db, id).await?;
                Some(rules.tier(&member.tier_code)?.clone())
            }
            None => None,
        };
        let view = self.current_or_next_with(&rules, tier.as_ref().map(|t| t.rank));
        Ok(view.map(|view| MemberDayForViewer {
            your_discount_pct: tier.map(|t| {
                member_day::total_discount_pct(view.effects.discount_pct, t.member_day_discount_pct)
            }),
            view,
        }))
    }

    /// Adds an operator's event.
    ///
    /// # Errors
    /// `VALIDATION` for a bad window, multiplier, discount or unknown tier.
    pub async fn create_event(&self, new: NewEvent) -> Result<ScheduledEvent, AppError> {
        member_day::check_event(
            &new.title,
            new.starts_at,
            new.ends_at,
            new.multiplier_pct,
            new.discount_pct,
        )?;
        if let Some(code) = &new.min_tier
            && !programme::all_tiers(&self.db)
                .await?
                .iter()
                .any(|t| &t.code == code)
        {
            return Err(AppError::validation("minTier", "is not a tier code"));
        }
        let mut event = ScheduledEvent {
            id: 0,
            title: new.title.trim().to_owned(),
            starts_at: new.starts_at,
            ends_at: new.ends_at,
            multiplier_pct: new.multiplier_pct,
            discount_pct: new.discount_pct,
            min_tier: new.min_tier,
        };
        let txn = store::begin(&self.db).await?;
        event.id = store::member_days::insert(&txn, &event, self.clock.now()).await?;
        txn.commit().await?;
        Ok(event)
    }

    /// Removes an event.
    ///
    /// # Errors
    /// `NOT_FOUND` for an unknown event.
    pub async fn delete_event(&self, id: EventId) -> Result<(), AppError> {
        let id = id.get();
        let txn = store::begin(&self.db).await?;
        let deleted = store::member_days::delete(&txn, id).await?;
        txn.commit().await?;
        if deleted {
            Ok(())
        } else {
            Err(AppError::NotFound("member-day event"))
        }
    }

    /// Events not yet over, soonest first.
    ///
    /// # Errors
    /// `INTERNAL` on database failure.
    pub async fn events(&self) -> Result<Vec<ScheduledEvent>, AppError> {
        Ok(store::member_days::not_over(&self.db, self.clock.now()).await?)
    }

    /// Changes the monthly member day's multiplier and event discount.
    ///
    /// # Errors
    /// `VALIDATION` for values out of range.
    pub async fn update_monthly(
        &self,
        multiplier_pct: i32,
        discount_pct: i32,
    ) -> Result<(), AppError> {
        let now = self.clock.now();
        member_day::check_event(
            "monthly",
            now,
            now + TimeDelta::days(1),
            multiplier_pct,
            discount_pct,
        )?;
        programme::set_setting(&self.db, MULTIPLIER, i64::from(multiplier_pct)).await?;
        programme::set_setting(&self.db, DISCOUNT, i64::from(discount_pct)).await?;
        Ok(())
    }

    /// The day before a member day, tells every member it is for — once, on whichever instance
    /// claims the announcement. Returns the notices written.
    ///
    /// # Errors
    /// `INTERNAL` on database failure.
    pub async fn announce_tomorrow(&self) -> Result<u64, AppError> {
        let tz = self.policy.timezone;
        let tomorrow = self
            .clock
            .today()
            .checked_add_days(Days::new(1))
            .unwrap_or_else(|| self.clock.today());
        let (Some(start), Some(end)) = (
            local_midnight(tomorrow, tz),
            tomorrow
                .checked_add_days(Days::new(1))
                .and_then(|d| local_midnight(d, tz)),
        ) else {
            return Ok(0);
        };
        let rules = self.engine.rules().await?;
        let starting: Vec<MemberDayEvent> = calendar(&rules, self.policy)
            .windows(start, end)
            .into_iter()
            .filter(|w| w.starts_at >= start && w.starts_at < end)
            .collect();
        if starting.is_empty() {
            return Ok(0);
        }
        let key = i64::from(tomorrow.year())
            .saturating_mul(10_000)
            .saturating_add(i64::from(tomorrow.month()) * 100)
            .saturating_add(i64::from(tomorrow.day()));
        if !programme::claim_setting_above(&self.db, ANNOUNCED, key).await? {
            return Ok(0);
        }
        let ranks: HashMap<&str, i32> = rules
            .tiers
            .iter()
            .map(|tier| (tier.code.as_str(), tier.rank))
            .collect();
        let dedupe = format!("member-day:{tomorrow}");
        let now = self.clock.now();
        let mut written = 0_u64;
        let mut after = 0_i64;
        loop {
            let members = store::ledger::member_tiers_after(&self.db, after, 500).await?;
            let Some((last, _)) = members.last() else {
                return Ok(written);
            };
            after = last.get();
            // A batch's notices and their subscribe messages commit together.
            let txn = store::begin(&self.db).await?;
            let reach = Reach {
                db: &txn,
                rules: &rules,
                timezone: self.policy.timezone,
                now,
            };
            for (member, tier_code) in members {
                let rank = ranks.get(tier_code.as_str()).copied();
                let Some(window) = starting
                    .iter()
                    .filter(|w| w.is_for(rank))
                    .max_by_key(|w| (w.multiplier_pct, w.discount_pct))
                else {
                    continue;
                };
                let notice = Notice {
                    kind: NoticeKind::MemberDayTomorrow,
                    points: None,
                    balance: None,
                    title: "明天是会员日".to_owned(),
                    body: notification::member_day_body(
                        &window.title,
                        window.multiplier_pct,
                        window.discount_pct,
                    ),
                };
                reach.notify(member, notice, None, Some(&dedupe)).await?;
                written = written.saturating_add(1);
            }
            txn.commit().await?;
        }
    }
}

fn local_midnight(day: NaiveDate, tz: chrono_tz::Tz) -> Option<DateTime<Utc>> {
    tz.from_local_datetime(&day.and_hms_opt(0, 0, 0)?)
        .earliest()
        .map(|at| at.with_timezone(&Utc))
}
