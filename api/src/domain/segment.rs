//! Operating the programme (SPEC §15): RFM groups, lifecycle stages and segment filters over
//! the facts kept on each member's row. The same rules run here for one member (`member.rfm`,
//! `member.lifecycleStage`) and as SQL in `store::segments` for a segment count; a test holds
//! the two to the same answers.

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// The classic eight RFM groups. R is high when the days since the last purchase are at most
/// the recency threshold; F and M when the trailing 12 months' purchases and spend reach
/// theirs.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    strum::VariantArray,
    strum::IntoStaticStr,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[strum(serialize_all = "SCREAMING_SNAKE_CASE")]
pub enum RfmGroup {
    ImportantValue,
    ImportantDevelop,
    ImportantKeep,
    ImportantRetain,
    GeneralValue,
    GeneralDevelop,
    GeneralKeep,
    GeneralRetain,
}

impl RfmGroup {
    pub const ALL: &'static [Self] = <Self as strum::VariantArray>::VARIANTS;

    /// The group of (R high, F high, M high).
    pub fn of(recent: bool, frequent: bool, monetary: bool) -> Self {
        match (recent, frequent, monetary) {
            (true, true, true) => Self::ImportantValue,
            (true, false, true) => Self::ImportantDevelop,
            (false, true, true) => Self::ImportantKeep,
            (false, false, true) => Self::ImportantRetain,
            (true, true, false) => Self::GeneralValue,
            (true, false, false) => Self::GeneralDevelop,
            (false, true, false) => Self::GeneralKeep,
            (false, false, false) => Self::GeneralRetain,
        }
    }

    /// (R high, F high, M high) of the group.
    pub fn levels(self) -> (bool, bool, bool) {
        match self {
            Self::ImportantValue => (true, true, true),
            Self::ImportantDevelop => (true, false, true),
            Self::ImportantKeep => (false, true, true),
            Self::ImportantRetain => (false, false, true),
            Self::GeneralValue => (true, true, false),
            Self::GeneralDevelop => (true, false, false),
            Self::GeneralKeep => (false, true, false),
            Self::GeneralRetain => (false, false, false),
        }
    }

    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// The lines between high and low.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RfmThresholds {
    /// R is high at most this many days after the last purchase.
    pub recency_days: i64,
    /// F is high from this many purchases in the trailing 12 months.
    pub frequency: i64,
    /// M is high from this spend (cents) in the trailing 12 months.
    pub monetary_cents: i64,
}

impl RfmThresholds {
    /// Before the first scheduled pass, and while no member has bought in the trailing 12
    /// months.
    pub const FALLBACK: Self = Self {
        recency_days: 30,
        frequency: 2,
        monetary_cents: 10_000,
    };
}

/// A member's RFM standing (`member.rfm`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rfm {
    pub recency_days: i64,
    pub frequency: i64,
    pub monetary_cents: i64,
    pub group: RfmGroup,
}

/// The lifecycle stages (召回体系), the first that applies.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    strum::VariantArray,
    strum::IntoStaticStr,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[strum(serialize_all = "SCREAMING_SNAKE_CASE")]
pub enum LifecycleStage {
    /// Inactive for the dormant threshold (沉睡).
    Dormant,
    /// Inactive for the at-risk threshold (预警流失).
    AtRisk,
    /// Registered within the new-member window, no purchase (准纯新).
    New,
    /// Past the window, no purchase (准新).
    Prospect,
    Active,
}

impl LifecycleStage {
    pub const ALL: &'static [Self] = <Self as strum::VariantArray>::VARIANTS;

    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// Where the stages begin, in whole business days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LifecycleThresholds {
    /// A member without a purchase is `NEW` while registered at most this many days.
    pub new_days: i64,
    pub at_risk_days: i64,
    pub dormant_days: i64,
}

impl Default for LifecycleThresholds {
    fn default() -> Self {
        Self {
            new_days: 7,
            at_risk_days: 30,
            dormant_days: 90,
        }
    }
}

/// What the rules read of a member: business days, and the trailing 12 months' purchases.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemberFacts {
    pub registered_on: NaiveDate,
    pub last_sign_in_on: Option<NaiveDate>,
    pub last_purchase_on: Option<NaiveDate>,
    pub purchases_12m: i64,
    pub spend_12m_cents: i64,
}

fn days_between(from: NaiveDate, to: NaiveDate) -> i64 {
    to.signed_duration_since(from).num_days()
}

impl MemberFacts {
    /// The RFM standing; none for a member who never bought.
    pub fn rfm(&self, today: NaiveDate, thresholds: RfmThresholds) -> Option<Rfm> {
        let last = self.last_purchase_on?;
        let recency_days = days_between(last, today).max(0);
        Some(Rfm {
            recency_days,
            frequency: self.purchases_12m,
            monetary_cents: self.spend_12m_cents,
            group: RfmGroup::of(
                recency_days <= thresholds.recency_days,
                self.purchases_12m >= thresholds.frequency,
                self.spend_12m_cents >= thresholds.monetary_cents,
            ),
        })
    }

    /// Whole business days since the later of the last sign-in and the last purchase, or since
    /// registering when there is neither.
    pub fn inactive_days(&self, today: NaiveDate) -> i64 {
        let last_active = match (self.last_sign_in_on, self.last_purchase_on) {
            (None, None) => self.registered_on,
            (a, b) => a.max(b).unwrap_or(self.registered_on),
        };
        days_between(last_active, today)
    }

    pub fn lifecycle(&self, today: NaiveDate, thresholds: LifecycleThresholds) -> LifecycleStage {
        let inactive = self.inactive_days(today);
        if inactive >= thresholds.dormant_days {
            LifecycleStage::Dormant
        } else if inactive >= thresholds.at_risk_days {
            LifecycleStage::AtRisk
        } else if self.last_purchase_on.is_none() {
            if days_between(self.registered_on, today) <= thresholds.new_days {
                LifecycleStage::New
            } else {
                LifecycleStage::Prospect
            }
        } else {
            LifecycleStage::Active
        }
    }
}

/// The first instant of business day `day`.
pub fn day_start(day: NaiveDate, timezone: Tz) -> DateTime<Utc> {
    day.and_hms_opt(0, 0, 0)
        .and_then(|midnight| midnight.and_local_timezone(timezone).earliest())
        .map_or_else(
            || {
                DateTime::<Utc>::from_naive_utc_and_offset(
                    day.and_time(chrono::NaiveTime::MIN),
                    Utc,
                )
            },
            |start| start.with_timezone(&Utc),
        )
}

/// Where the trailing 12 months begin: the business day after today's date a year ago.
pub fn trailing_year_start(today: NaiveDate, timezone: Tz) -> DateTime<Utc> {
    let year_ago = today
        .checked_sub_months(chrono::Months::new(12))
        .and_then(|day| day.succ_opt())
        .unwrap_or(NaiveDate::MIN);
    day_start(year_ago, timezone)
}

/// `today` minus `days` (saturating at the calendar's ends).
pub fn days_before(today: NaiveDate, days: i64) -> NaiveDate {
    today
        .checked_sub_signed(TimeDelta::days(days))
        .unwrap_or(NaiveDate::MIN)
}

/// An operator's tag (标签).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag {
    pub id: i64,
    pub name: String,
    /// `#RRGGBB`.
    pub color: String,
    pub created_at: DateTime<Utc>,
}

/// A saved segment (人群).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedSegment {
    pub id: i64,
    pub name: String,
    pub filter: SegmentFilter,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A segment's filter (人群条件): set fields are ANDed; `any_of` (any one of its filters) is
/// ANDed with them. Lists match any of their values.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SegmentFilter {
    pub tiers: Option<Vec<String>>,
    pub tag_ids: Option<Vec<i64>>,
    pub rfm_groups: Option<Vec<RfmGroup>>,
    pub lifecycle_stages: Option<Vec<LifecycleStage>>,
    pub koc_only: Option<bool>,
    pub registered_within_days: Option<i64>,
    pub registered_before_days: Option<i64>,
    pub signed_in_within_days: Option<i64>,
    pub inactive_for_days: Option<i64>,
    pub min_balance: Option<i64>,
    pub max_balance: Option<i64>,
    pub min_purchases_12m: Option<i64>,
    pub min_spend_12m_cents: Option<i64>,
    pub birthday_month: Option<u32>,
    pub has_phone: Option<bool>,
    pub any_of: Option<Vec<SegmentFilter>>,
}

/// Most filters an `anyOf` holds, and how deep they nest.
const MAX_ANY_OF: usize = 20;
const MAX_DEPTH: usize = 3;

impl SegmentFilter {
    /// A filter whose values make sense: day counts 0–3660, list sizes 1–50, a month 1–12,
    /// `minBalance` ≤ `maxBalance`, `anyOf` with 1–20 filters nested at most 3 deep.
    ///
    /// # Errors
    /// `VALIDATION` on `filter.<field>`.
    pub fn check(&self) -> Result<(), AppError> {
        self.check_at(1)
    }

    fn check_at(&self, depth: usize) -> Result<(), AppError> {
        let days = |value: Option<i64>, field: &'static str| match value {
            Some(days) if !(0..=3660).contains(&days) => {
                Err(AppError::validation(field, "must be 0 to 3660 days"))
            }
            _ => Ok(()),
        };
        days(self.registered_within_days, "filter.registeredWithinDays")?;
        days(self.registered_before_days, "filter.registeredBeforeDays")?;
        days(self.signed_in_within_days, "filter.signedInWithinDays")?;
        days(self.inactive_for_days, "filter.inactiveForDays")?;
        let list = |len: Option<usize>, field: &'static str| match len {
            Some(len) if !(1..=50).contains(&len) => {
                Err(AppError::validation(field, "must list 1 to 50 values"))
            }
            _ => Ok(()),
        };
        list(self.tiers.as_ref().map(Vec::len), "filter.tiers")?;
        list(self.tag_ids.as_ref().map(Vec::len), "filter.tagIds")?;
        list(self.rfm_groups.as_ref().map(Vec::len), "filter.rfmGroups")?;
        list(
            self.lifecycle_stages.as_ref().map(Vec::len),
            "filter.lifecycleStages",
        )?;
        for (value, field) in [
            (self.min_purchases_12m, "filter.minPurchases12m"),
            (self.min_spend_12m_cents, "filter.minSpend12mCents"),
        ] {
            if value.is_some_and(|v| v < 0) {
                return Err(AppError::validation(field, "must not be negative"));
            }
        }
        if let (Some(min), Some(max)) = (self.min_balance, self.max_balance)
            && min > max
        {
            return Err(AppError::validation(
                "filter.maxBalance",
                "must not be below minBalance",
            ));
        }
        if self.birthday_month.is_some_and(|m| !(1..=12).contains(&m)) {
            return Err(AppError::validation(
                "filter.birthdayMonth",
                "must be a month, 1 to 12",
            ));
        }
        if let Some(any_of) = &self.any_of {
            if any_of.is_empty() || any_of.len() > MAX_ANY_OF || depth >= MAX_DEPTH {
                return Err(AppError::validation(
                    "filter.anyOf",
                    format!("holds 1 to {MAX_ANY_OF} filters, nested at most {MAX_DEPTH} deep"),
                ));
            }
            for filter in any_of {
                filter.check_at(depth.saturating_add(1))?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(raw: &str) -> NaiveDate {
        raw.parse().unwrap()
    }

    fn facts() -> MemberFacts {
        MemberFacts {
            registered_on: day("2026-01-01"),
            last_sign_in_on: None,
            last_purchase_on: None,
            purchases_12m: 0,
            spend_12m_cents: 0,
        }
    }

    #[test]
    fn the_eight_groups_round_trip() {
        for &group in RfmGroup::ALL {
            let (r, f, m) = group.levels();
            assert_eq!(RfmGroup::of(r, f, m), group);
        }
    }

    #[test]
    fn rfm_reads_the_thresholds_inclusively() {
        let today = day("2026-03-01");
        let thresholds = RfmThresholds {
            recency_days: 30,
            frequency: 2,
            monetary_cents: 5_000,
        };
        assert_eq!(facts().rfm(today, thresholds), None, "never bought");
        let bought = MemberFacts {
            last_purchase_on: Some(day("2026-01-30")),
            purchases_12m: 2,
            spend_12m_cents: 4_999,
            ..facts()
        };
        let rfm = bought.rfm(today, thresholds).unwrap();
        assert_eq!(rfm.recency_days, 30);
        assert_eq!(rfm.group, RfmGroup::GeneralValue);
    }

    #[test]
    fn lifecycle_takes_the_first_stage_that_applies() {
        let thresholds = LifecycleThresholds::default();
        let registered = facts();
        assert_eq!(
            registered.lifecycle(day("2026-01-08"), thresholds),
            LifecycleStage::New
        );
        assert_eq!(
            registered.lifecycle(day("2026-01-09"), thresholds),
            LifecycleStage::Prospect
        );
        assert_eq!(
            registered.lifecycle(day("2026-01-31"), thresholds),
            LifecycleStage::AtRisk
        );
        assert_eq!(
            registered.lifecycle(day("2026-04-01"), thresholds),
            LifecycleStage::Dormant
        );
        let buyer = MemberFacts {
            last_purchase_on: Some(day("2026-03-01")),
            last_sign_in_on: Some(day("2026-03-20")),
            ..facts()
        };
        assert_eq!(
            buyer.lifecycle(day("2026-04-18"), thresholds),
            LifecycleStage::Active
        );
        assert_eq!(
            buyer.lifecycle(day("2026-04-19"), thresholds),
            LifecycleStage::AtRisk
        );
    }

    #[test]
    fn filters_are_checked_by_field() {
        let field = |filter: SegmentFilter| match filter.check() {
            Err(AppError::Validation { field, .. }) => Some(field),
            _ => None,
        };
        assert_eq!(field(SegmentFilter::default()), None);
        assert_eq!(
            field(SegmentFilter {
                inactive_for_days: Some(-1),
                ..SegmentFilter::default()
            }),
            Some("filter.inactiveForDays")
        );
        assert_eq!(
            field(SegmentFilter {
                birthday_month: Some(13),
                ..SegmentFilter::default()
            }),
            Some("filter.birthdayMonth")
        );
        assert_eq!(
            field(SegmentFilter {
                any_of: Some(vec![]),
                ..SegmentFilter::default()
            }),
            Some("filter.anyOf")
        );
        assert_eq!(
            field(SegmentFilter {
                min_balance: Some(10),
                max_balance: Some(5),
                ..SegmentFilter::default()
            }),
            Some("filter.maxBalance")
        );
    }
}
