//! Member day (会员日): the monthly day and one-off events, and what they do to points and
//! prices. Overlapping events do not compound: the highest multiplier and the highest discount
//! win.
#![deny(clippy::arithmetic_side_effects)]

use chrono::{DateTime, Datelike, Days, Months, NaiveDate, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;

use crate::domain::instant;
use crate::domain::tier::Tier;
use crate::error::AppError;

/// A member-day window: the monthly day or an operator's event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberDayEvent {
    /// None for the monthly member day.
    pub id: Option<i64>,
    pub title: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub multiplier_pct: i32,
    pub discount_pct: i32,
    /// Rank of the lowest tier it is for; None = everyone.
    pub min_rank: Option<i32>,
}

impl MemberDayEvent {
    pub fn is_active(&self, at: DateTime<Utc>) -> bool {
        self.starts_at <= at && at < self.ends_at
    }

    pub fn is_for(&self, rank: Option<i32>) -> bool {
        match (self.min_rank, rank) {
            (None, _) => true,
            (Some(min), Some(rank)) => rank >= min,
            (Some(_), None) => false,
        }
    }
}

/// An operator's one-off event, as scheduled (the minimum tier by code).
#[derive(Debug, Clone)]
pub struct ScheduledEvent {
    pub id: i64,
    pub title: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub multiplier_pct: i32,
    pub discount_pct: i32,
    pub min_tier: Option<String>,
}

/// What member day does at one instant for one member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Effects {
    /// 100 when no event is active.
    pub multiplier_pct: i32,
    /// The event discount; 0 when no event is active.
    pub discount_pct: i32,
}

impl Effects {
    pub const NONE: Self = Self {
        multiplier_pct: 100,
        discount_pct: 0,
    };

    pub fn is_active(self) -> bool {
        self != Self::NONE
    }
}

/// The effects of the events active at `at` for a member of tier rank `rank`: the highest
/// multiplier and the highest discount, never their product.
pub fn effects(events: &[MemberDayEvent], at: DateTime<Utc>, rank: Option<i32>) -> Effects {
    events
        .iter()
        .filter(|event| event.is_active(at) && event.is_for(rank))
        .fold(Effects::NONE, |best, event| Effects {
            multiplier_pct: best.multiplier_pct.max(event.multiplier_pct),
            discount_pct: best.discount_pct.max(event.discount_pct),
        })
}

/// The total member-day discount for a tier: event discount plus the tier's, at most 50 %.
pub fn total_discount_pct(event_discount_pct: i32, tier_discount_pct: i32) -> i32 {
    event_discount_pct
        .saturating_add(tier_discount_pct)
        .clamp(0, 50)
}

/// A reward's price on a member day: ceil(cost × (100 − d) / 100).
pub fn discounted_price(cost: i64, discount_pct: i32) -> i64 {
    let keep = i64::from(100_i32.saturating_sub(discount_pct.clamp(0, 100)));
    cost.saturating_mul(keep)
        .saturating_add(99)
        .checked_div(100)
        .unwrap_or(cost)
}

/// The monthly member day on or after `from` (business dates), skipping months without that day.
pub fn next_monthly_day(day_of_month: u32, from: NaiveDate) -> Option<NaiveDate> {
    let first = from.with_day(1)?;
    (0..=12_u32)
        .filter_map(|ahead| first.checked_add_months(Months::new(ahead)))
        .filter_map(|month| month.with_day(day_of_month))
        .find(|day| *day >= from)
}

/// The monthly member day as an event window (its business day, midnight to midnight).
pub fn monthly_event(
    day: NaiveDate,
    timezone: Tz,
    multiplier_pct: i32,
    discount_pct: i32,
) -> Option<MemberDayEvent> {
    let start = timezone
        .from_local_datetime(&day.and_hms_opt(0, 0, 0)?)
        .earliest()?;
    let end = timezone
        .from_local_datetime(&day.checked_add_days(Days::new(1))?.and_hms_opt(0, 0, 0)?)
        .earliest()?;
    Some(MemberDayEvent {
        id: None,
        title: "会员日".to_owned(),
        starts_at: start.with_timezone(&Utc),
        ends_at: end.with_timezone(&Utc),
        multiplier_pct,
        discount_pct,
        min_rank: None,
    })
}

/// The member-day calendar (会员日日历): the monthly day, when the programme has one, and the
/// operators' one-off events.
#[derive(Debug, Clone, Copy)]
pub struct Calendar<'a> {
    /// Every operator event.
    pub events: &'a [ScheduledEvent],
    /// The tiers, to turn an event's minimum tier code into a rank.
    pub tiers: &'a [Tier],
    /// The monthly member day's day of the month; 0 = none.
    pub day_of_month: u32,
    /// The business time zone the monthly day runs in, midnight to midnight.
    pub timezone: Tz,
    /// The monthly day's points multiplier and price discount.
    pub multiplier_pct: i32,
    pub discount_pct: i32,
}

impl Calendar<'_> {
    /// Every window overlapping [`from`, `to`): the operators' events, then the monthly days.
    pub fn windows(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<MemberDayEvent> {
        let rank_of = |code: &str| {
            self.tiers
                .iter()
                .find(|tier| tier.code == code)
                .map(|tier| tier.rank)
        };
        let overlaps = |window: &MemberDayEvent| window.starts_at < to && window.ends_at > from;
        let events = self.events.iter().map(|event| MemberDayEvent {
            id: Some(event.id),
            title: event.title.clone(),
            starts_at: event.starts_at,
            ends_at: event.ends_at,
            multiplier_pct: event.multiplier_pct,
            discount_pct: event.discount_pct,
            min_rank: event.min_tier.as_deref().and_then(rank_of),
        });
        let monthly = self.monthly_days(from, to).filter_map(|day| {
            monthly_event(day, self.timezone, self.multiplier_pct, self.discount_pct)
        });
        events.chain(monthly).filter(overlaps).collect()
    }

    /// The effects at `at` for a member of tier rank `rank` (None for a visitor).
    pub fn effects_at(&self, at: DateTime<Utc>, rank: Option<i32>) -> Effects {
        let instant_end = at.checked_add_signed(TimeDelta::seconds(1)).unwrap_or(at);
        effects(&self.windows(at, instant_end), at, rank)
    }

    /// The monthly days whose business dates `from` … `to` touch.
    fn monthly_days(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> impl Iterator<Item = NaiveDate> + use<'_> {
        let first = from.with_timezone(&self.timezone).date_naive();
        let last = to.with_timezone(&self.timezone).date_naive();
        let day_of_month = self.day_of_month;
        let start = (day_of_month > 0)
            .then(|| next_monthly_day(day_of_month, first))
            .flatten();
        std::iter::successors(start, move |day| {
            day.checked_add_days(Days::new(1))
                .and_then(|next| next_monthly_day(day_of_month, next))
        })
        .take_while(move |day| *day <= last)
    }
}

/// Checks an operator's event.
///
/// # Errors
/// `VALIDATION` naming the field.
pub fn check_event(
    title: &str,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    multiplier_pct: i32,
    discount_pct: i32,
) -> Result<(), AppError> {
    if title.trim().is_empty() || title.chars().count() > 64 {
        return Err(AppError::validation("title", "must be 1 to 64 characters"));
    }
    instant::accept("startsAt", starts_at)?;
    instant::accept("endsAt", ends_at)?;
    if ends_at <= starts_at {
        return Err(AppError::validation("endsAt", "must be after startsAt"));
    }
    if !(100..=1000).contains(&multiplier_pct) {
        return Err(AppError::validation(
            "multiplierPercent",
            "must be 100 to 1000",
        ));
    }
    if !(0..=50).contains(&discount_pct) {
        return Err(AppError::validation("discountPercent", "must be 0 to 50"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(
        start_h: u32,
        end_h: u32,
        mult: i32,
        disc: i32,
        min_rank: Option<i32>,
    ) -> MemberDayEvent {
        MemberDayEvent {
            id: Some(1),
            title: "e".into(),
            starts_at: Utc.with_ymd_and_hms(2026, 3, 8, start_h, 0, 0).unwrap(),
            ends_at: Utc.with_ymd_and_hms(2026, 3, 8, end_h, 0, 0).unwrap(),
            multiplier_pct: mult,
            discount_pct: disc,
            min_rank,
        }
    }

    #[test]
    fn overlapping_events_take_the_highest_not_the_product() {
        let events = [event(0, 10, 200, 10, None), event(5, 12, 300, 5, None)];
        let at = Utc.with_ymd_and_hms(2026, 3, 8, 6, 0, 0).unwrap();
        assert_eq!(
            effects(&events, at, Some(0)),
            Effects {
                multiplier_pct: 300,
                discount_pct: 10
            }
        );
        let later = Utc.with_ymd_and_hms(2026, 3, 8, 11, 0, 0).unwrap();
        assert_eq!(
            effects(&events, later, Some(0)),
            Effects {
                multiplier_pct: 300,
                discount_pct: 5
            }
        );
        let after = Utc.with_ymd_and_hms(2026, 3, 8, 12, 0, 0).unwrap();
        assert_eq!(effects(&events, after, Some(0)), Effects::NONE);
    }

    #[test]
    fn tier_gated_events_skip_lower_tiers() {
        let events = [event(0, 10, 200, 10, Some(2))];
        let at = Utc.with_ymd_and_hms(2026, 3, 8, 6, 0, 0).unwrap();
        assert_eq!(effects(&events, at, Some(1)), Effects::NONE);
        assert!(effects(&events, at, Some(2)).is_active());
    }

    #[test]
    fn prices_round_up_and_discounts_stop_at_fifty() {
        assert_eq!(discounted_price(100, 20), 80);
        assert_eq!(discounted_price(99, 15), 85);
        assert_eq!(total_discount_pct(20, 15), 35);
        assert_eq!(total_discount_pct(45, 15), 50);
    }

    #[test]
    fn the_monthly_day_skips_short_months() {
        let from = NaiveDate::from_ymd_opt(2026, 2, 1).unwrap();
        assert_eq!(
            next_monthly_day(31, from),
            NaiveDate::from_ymd_opt(2026, 3, 31)
        );
        let ninth = NaiveDate::from_ymd_opt(2026, 3, 9).unwrap();
        assert_eq!(
            next_monthly_day(8, ninth),
            NaiveDate::from_ymd_opt(2026, 4, 8)
        );
        let eighth = NaiveDate::from_ymd_opt(2026, 3, 8).unwrap();
        assert_eq!(next_monthly_day(8, eighth), Some(eighth));
    }

    #[test]
    fn the_monthly_window_is_the_business_day() {
        let day = NaiveDate::from_ymd_opt(2026, 3, 8).unwrap();
        let event = monthly_event(day, chrono_tz::Asia::Shanghai, 200, 20).unwrap();
        assert_eq!(
            event.starts_at,
            Utc.with_ymd_and_hms(2026, 3, 7, 16, 0, 0).unwrap()
        );
        assert_eq!(
            event.ends_at,
            Utc.with_ymd_and_hms(2026, 3, 8, 16, 0, 0).unwrap()
        );
    }

    #[test]
    fn the_calendar_lists_events_and_every_monthly_day_in_range() {
        let events = [ScheduledEvent {
            id: 7,
            title: "双十一".into(),
            starts_at: Utc.with_ymd_and_hms(2026, 11, 10, 16, 0, 0).unwrap(),
            ends_at: Utc.with_ymd_and_hms(2026, 11, 11, 16, 0, 0).unwrap(),
            multiplier_pct: 300,
            discount_pct: 0,
            min_tier: Some("GOLD".into()),
        }];
        let gold = Tier {
            code: "GOLD".into(),
            name: "黄金".into(),
            rank: 2,
            growth_threshold: 1_000,
            points_multiplier_pct: 150,
            monthly_earn_cap: 5_000,
            monthly_redeem_cap: 5_000,
            birthday_points: 0,
            make_ups_per_month: 0,
            member_day_discount_pct: 0,
            upgrade_gift_points: 0,
            badge: String::new(),
            priority_support: false,
        };
        let calendar = Calendar {
            events: &events,
            tiers: std::slice::from_ref(&gold),
            day_of_month: 31,
            timezone: chrono_tz::Asia::Shanghai,
            multiplier_pct: 200,
            discount_pct: 20,
        };
        let from = Utc.with_ymd_and_hms(2026, 10, 1, 0, 0, 0).unwrap();
        let to = Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap();
        let starts: Vec<_> = calendar
            .windows(from, to)
            .iter()
            .map(|w| (w.id, w.starts_at))
            .collect();
        // The event first, then the 31st of October and December (November has none); the 31st
        // of December starts at 16:00 UTC, before `to`.
        assert_eq!(
            starts,
            [
                (
                    Some(7),
                    Utc.with_ymd_and_hms(2026, 11, 10, 16, 0, 0).unwrap()
                ),
                (None, Utc.with_ymd_and_hms(2026, 10, 30, 16, 0, 0).unwrap()),
                (None, Utc.with_ymd_and_hms(2026, 12, 30, 16, 0, 0).unwrap()),
            ]
        );
        // The event is for GOLD and above.
        let at = Utc.with_ymd_and_hms(2026, 11, 11, 0, 0, 0).unwrap();
        assert_eq!(calendar.effects_at(at, Some(1)), Effects::NONE);
        assert_eq!(calendar.effects_at(at, Some(2)).multiplier_pct, 300);
        let monthly = Utc.with_ymd_and_hms(2026, 10, 31, 0, 0, 0).unwrap();
        assert_eq!(calendar.effects_at(monthly, None).multiplier_pct, 200);
    }
}
