//! Operating the programme (SPEC §15): tags, segments, RFM and lifecycle. Segment counts are
//! one query over the member rows; the thresholds are rules (held in the rules cache).

use std::sync::Arc;

use chrono::{DateTime, Datelike, Utc};
use sea_orm::DatabaseConnection;
use sea_orm::sea_query::Cond;

use crate::domain::ids::{MemberId, SegmentId, TagId};
use crate::domain::member::{MemberFilter, MemberSummary};
use crate::domain::paging::PageSize;
use crate::domain::segment::{
    self, LifecycleStage, LifecycleThresholds, MemberFacts, Rfm, RfmThresholds, SavedSegment,
    SegmentFilter, Tag,
};
use crate::error::AppError;
use crate::infra::clock::Clock;
use crate::service::members::MemberService;
use crate::service::rules::Rules;
use crate::service::work::PointsEngine;
use crate::store;
use crate::store::segments::SegmentContext;

/// Settings keys of the thresholds (programme settings, so rules).
const RFM_RECENCY_DAYS: &str = "rfm_recency_days";
const RFM_FREQUENCY: &str = "rfm_frequency";
const RFM_MONETARY_CENTS: &str = "rfm_monetary_cents";
/// 1 while the operator's thresholds hold; 0 (default) while the scheduled pass sets medians.
const RFM_MANUAL: &str = "rfm_manual";
/// The business day (days from the Common Era) the member facts were last rolled.
const FACTS_ROLLED_DAY: &str = "facts_rolled_day";
const LIFECYCLE_NEW_DAYS: &str = "lifecycle_new_days";
const LIFECYCLE_AT_RISK_DAYS: &str = "lifecycle_at_risk_days";
const LIFECYCLE_DORMANT_DAYS: &str = "lifecycle_dormant_days";

/// The RFM thresholds in force, and whether the operator set them.
pub fn rfm_thresholds(rules: &Rules) -> (RfmThresholds, bool) {
    let fallback = RfmThresholds::FALLBACK;
    (
        RfmThresholds {
            recency_days: rules.setting(RFM_RECENCY_DAYS, fallback.recency_days),
            frequency: rules.setting(RFM_FREQUENCY, fallback.frequency),
            monetary_cents: rules.setting(RFM_MONETARY_CENTS, fallback.monetary_cents),
        },
        rules.setting(RFM_MANUAL, 0) == 1,
    )
}

pub fn lifecycle_thresholds(rules: &Rules) -> LifecycleThresholds {
    let defaults = LifecycleThresholds::default();
    LifecycleThresholds {
        new_days: rules.setting(LIFECYCLE_NEW_DAYS, defaults.new_days),
        at_risk_days: rules.setting(LIFECYCLE_AT_RISK_DAYS, defaults.at_risk_days),
        dormant_days: rules.setting(LIFECYCLE_DORMANT_DAYS, defaults.dormant_days),
    }
}

/// Which members a list keeps: a segment's condition, ready for the member search.
pub struct Audience(Cond);

impl Audience {
    pub fn into_condition(self) -> Cond {
        self.0
    }
}

/// A member's RFM standing and lifecycle stage.
#[derive(Debug, Clone, Copy)]
pub struct Standing {
    pub rfm: Option<Rfm>,
    pub stage: LifecycleStage,
}

pub struct SegmentService {
    db: DatabaseConnection,
    clock: Arc<Clock>,
    engine: PointsEngine,
}

impl SegmentService {
    pub fn new(db: DatabaseConnection, clock: Arc<Clock>, engine: PointsEngine) -> Self {
        Self { db, clock, engine }
    }

    async fn context(&self) -> Result<SegmentContext, AppError> {
        let rules = self.engine.rules().await?;
        Ok(SegmentContext {
            today: self.clock.today(),
            timezone: self.clock.timezone(),
            rfm: rfm_thresholds(&rules).0,
            lifecycle: lifecycle_thresholds(&rules),
        })
    }

    /// The members a filter keeps, for the member list.
    ///
    /// # Errors
    /// `VALIDATION` on the filter.
    pub async fn audience(&self, filter: &SegmentFilter) -> Result<Audience, AppError> {
        filter.check()?;
        Ok(Audience(self.context().await?.condition(filter)))
    }

    /// Members per RFM group and per lifecycle stage now: one count each.
    ///
    /// # Errors
    /// `INTERNAL` on database failure.
    pub async fn distributions(
        &self,
    ) -> Result<(Vec<(segment::RfmGroup, u64)>, Vec<(LifecycleStage, u64)>), AppError> {
        let mut groups = Vec::new();
        for &group in segment::RfmGroup::ALL {
            let filter = SegmentFilter {
                rfm_groups: Some(vec![group]),
                ..SegmentFilter::default()
            };
            groups.push((group, self.count(&filter).await?));
        }
        let mut stages = Vec::new();
        for &stage in LifecycleStage::ALL {
            let filter = SegmentFilter {
                lifecycle_stages: Some(vec![stage]),
                ..SegmentFilter::default()
            };
            stages.push((stage, self.count(&filter).await?));
        }
        Ok((groups, stages))
    }

    /// The members of a saved segment, of a tag, or of both; none for neither.
    ///
    /// # Errors
    /// `NOT_FOUND` for an unknown segment or tag.
    pub async fn audience_of(
        &self,
        segment: Option<SegmentId>,
        tag: Option<TagId>,
    ) -> Result<Option<Audience>, AppError> {
        if segment.is_none() && tag.is_none() {
            return Ok(None);
        }
        let mut condition = Cond::all();
        if let Some(segment) = segment {
            let segment = self.find(segment).await?;
            condition = condition.add(self.audience(&segment.filter).await?.into_condition());
        }
        if let Some(tag) = tag {
            store::tags::find(&self.db, tag.get())
                .await?
                .ok_or(AppError::NotFound("tag"))?;
            let only_tag = SegmentFilter {
                tag_ids: Some(vec![tag.get()]),
                ..SegmentFilter::default()
            };
            condition = condition.add(self.audience(&only_tag).await?.into_condition());
        }
        Ok(Some(Audience(condition)))
    }

    /// How many members a filter keeps (one query).
    ///
    /// # Errors
    /// `VALIDATION` on the filter.
    pub async fn count(&self, filter: &SegmentFilter) -> Result<u64, AppError> {
        let audience = self.audience(filter).await?;
        Ok(store::segments::count(&self.db, audience.into_condition()).await?)
    }

    /// The newest members a filter keeps, a page at a time.
    ///
    /// # Errors
    /// `VALIDATION` on the filter.
    pub async fn members(
        &self,
        members: &MemberService,
        filter: &SegmentFilter,
        first: PageSize,
        after: Option<i64>,
    ) -> Result<(Vec<MemberSummary>, bool), AppError> {
        let audience = self.audience(filter).await?;
        members
            .search(&MemberFilter::default(), Some(audience), first, after)
            .await
    }

    /// # Errors
    /// `VALIDATION` on `name` or the filter.
    pub async fn create(
        &self,
        name: &str,
        filter: &SegmentFilter,
    ) -> Result<SavedSegment, AppError> {
        let name = check_name(name)?;
        filter.check()?;
        store::segments::insert(&self.db, name, filter, self.clock.now()).await
    }

    /// # Errors
    /// `NOT_FOUND`; `VALIDATION` on `name` or the filter.
    pub async fn update(
        &self,
        id: SegmentId,
        name: &str,
        filter: &SegmentFilter,
    ) -> Result<SavedSegment, AppError> {
        let name = check_name(name)?;
        filter.check()?;
        if !store::segments::update(&self.db, id.get(), name, filter, self.clock.now()).await? {
            return Err(AppError::NotFound("segment"));
        }
        self.find(id).await
    }

    /// # Errors
    /// `NOT_FOUND` for an unknown id.
    pub async fn find(&self, id: SegmentId) -> Result<SavedSegment, AppError> {
        store::segments::find(&self.db, id.get())
            .await?
            .ok_or(AppError::NotFound("segment"))
    }

    /// # Errors
    /// `INTERNAL` on database failure.
    pub async fn all(&self) -> Result<Vec<SavedSegment>, AppError> {
        store::segments::all(&self.db).await
    }

    /// A member's RFM standing and lifecycle stage today.
    ///
    /// # Errors
    /// `NOT_FOUND` for an unknown member.
    pub async fn standing(&self, member: MemberId) -> Result<Standing, AppError> {
        let (registered_at, last_sign_in_on, last_purchase_at, purchases, spend) =
            store::members::facts(&self.db, member)
                .await?
                .ok_or(AppError::NotFound("member"))?;
        let tz = self.clock.timezone();
        let day = |at: DateTime<Utc>| at.with_timezone(&tz).date_naive();
        let facts = MemberFacts {
            registered_on: day(registered_at),
            last_sign_in_on,
            last_purchase_on: last_purchase_at.map(day),
            purchases_12m: i64::from(purchases),
            spend_12m_cents: spend,
        };
        let context = self.context().await?;
        Ok(Standing {
            rfm: facts.rfm(context.today, context.rfm),
            stage: facts.lifecycle(context.today, context.lifecycle),
        })
    }

    /// The RFM thresholds in force, and whether the operator set them.
    ///
    /// # Errors
    /// `INTERNAL` on database failure.
    pub async fn rfm_thresholds(&self) -> Result<(RfmThresholds, bool), AppError> {
        Ok(rfm_thresholds(&*self.engine.rules().await?))
    }

    /// Sets the operator's thresholds, or with `None` hands them back to the scheduled pass's
    /// medians (measured now).
    ///
    /// # Errors
    /// `VALIDATION` on `recencyDays`, `frequency` or `monetaryCents`.
    pub async fn set_rfm_thresholds(
        &self,
        thresholds: Option<RfmThresholds>,
    ) -> Result<(RfmThresholds, bool), AppError> {
        if let Some(t) = thresholds {
            if !(1..=3660).contains(&t.recency_days) {
                return Err(AppError::validation("recencyDays", "must be 1 to 3660"));
            }
            if !(1..=100_000).contains(&t.frequency) {
                return Err(AppError::validation("frequency", "must be 1 to 100000"));
            }
            if !(1..=i64::from(i32::MAX)).contains(&t.monetary_cents) {
                return Err(AppError::validation("monetaryCents", "must be positive"));
            }
        }
        let txn = store::begin(&self.db).await?;
        match thresholds {
            Some(t) => {
                store::programme::set_setting(&txn, RFM_RECENCY_DAYS, t.recency_days).await?;
                store::programme::set_setting(&txn, RFM_FREQUENCY, t.frequency).await?;
                store::programme::set_setting(&txn, RFM_MONETARY_CENTS, t.monetary_cents).await?;
                store::programme::set_setting(&txn, RFM_MANUAL, 1).await?;
            }
            None => store::programme::set_setting(&txn, RFM_MANUAL, 0).await?,
        }
        txn.commit().await?;
        if thresholds.is_none() {
            self.measure_rfm().await?;
        }
        self.rfm_thresholds().await
    }

    /// The lifecycle thresholds in force.
    ///
    /// # Errors
    /// `INTERNAL` on database failure.
    pub async fn lifecycle_thresholds(&self) -> Result<LifecycleThresholds, AppError> {
        Ok(lifecycle_thresholds(&*self.engine.rules().await?))
    }

    /// # Errors
    /// `VALIDATION` on `newDays`, `atRiskDays` or `dormantDays` (each 1–3660, at-risk before
    /// dormant).
    pub async fn set_lifecycle_thresholds(
        &self,
        thresholds: LifecycleThresholds,
    ) -> Result<LifecycleThresholds, AppError> {
        for (value, field) in [
            (thresholds.new_days, "newDays"),
            (thresholds.at_risk_days, "atRiskDays"),
            (thresholds.dormant_days, "dormantDays"),
        ] {
            if !(1..=3660).contains(&value) {
                return Err(AppError::validation(field, "must be 1 to 3660 days"));
            }
        }
        if thresholds.at_risk_days >= thresholds.dormant_days {
            return Err(AppError::validation(
                "dormantDays",
                "must be more than atRiskDays",
            ));
        }
        let txn = store::begin(&self.db).await?;
        store::programme::set_setting(&txn, LIFECYCLE_NEW_DAYS, thresholds.new_days).await?;
        store::programme::set_setting(&txn, LIFECYCLE_AT_RISK_DAYS, thresholds.at_risk_days)
            .await?;
        store::programme::set_setting(&txn, LIFECYCLE_DORMANT_DAYS, thresholds.dormant_days)
            .await?;
        txn.commit().await?;
        self.lifecycle_thresholds().await
    }

    /// The scheduled pass: rolls every buyer's trailing-12-month facts to today, then (unless
    /// the operator set them) measures the RFM medians.
    ///
    /// # Errors
    /// `INTERNAL` on database failure.
    pub async fn roll_facts(&self) -> Result<(), AppError> {
        let today = self.clock.today();
        // Once per business day, on one instance: the windows move by days.
        let day = i64::from(today.num_days_from_ce());
        if !store::programme::claim_setting_change(&self.db, FACTS_ROLLED_DAY, day).await? {
            return Ok(());
        }
        let window = segment::trailing_year_start(today, self.clock.timezone());
        store::purchases::refresh_facts(&self.db, None, window).await?;
        store::segments::roll_sign_ins(&self.db, today).await?;
        if !self.rfm_thresholds().await?.1 {
            self.measure_rfm().await?;
        }
        Ok(())
    }

    /// Notices the members who entered `AT_RISK` and `DORMANT` since the last pass (once per
    /// entry); campaign triggers read what it records. Returns (at risk, dormant).
    ///
    /// # Errors
    /// `INTERNAL` on database failure.
    pub async fn notice_transitions(&self) -> Result<(u64, u64), AppError> {
        let context = self.context().await?;
        let txn = store::begin(&self.db).await?;
        let entered = store::segments::notice_transitions(&txn, &context, self.clock.now()).await?;
        txn.commit().await?;
        Ok(entered)
    }

    /// Sets the thresholds to the medians over members with a purchase in the trailing 12
    /// months, or to the fallback when there is none. Writes only what changed (a write is a
    /// rules change every instance reloads).
    async fn measure_rfm(&self) -> Result<(), AppError> {
        let measured = match store::segments::purchase_medians(&self.db).await? {
            Some((recency_at, frequency, spend)) => {
                let today = self.clock.today();
                let recency_day = recency_at
                    .with_timezone(&self.clock.timezone())
                    .date_naive();
                RfmThresholds {
                    recency_days: today.signed_duration_since(recency_day).num_days().max(1),
                    frequency: frequency.max(1),
                    monetary_cents: spend.max(1),
                }
            }
            None => RfmThresholds::FALLBACK,
        };
        let (current, manual) = self.rfm_thresholds().await?;
        if manual || current == measured {
            return Ok(());
        }
        let txn = store::begin(&self.db).await?;
        store::programme::set_setting(&txn, RFM_RECENCY_DAYS, measured.recency_days).await?;
        store::programme::set_setting(&txn, RFM_FREQUENCY, measured.frequency).await?;
        store::programme::set_setting(&txn, RFM_MONETARY_CENTS, measured.monetary_cents).await?;
        txn.commit().await?;
        Ok(())
    }
}

fn check_name(raw: &str) -> Result<&str, AppError> {
    let name = raw.trim();
    if name.is_empty() || name.chars().count() > 32 || name.chars().any(char::is_control) {
        return Err(AppError::validation(
            "name",
            "must be 1 to 32 characters without control characters",
        ));
    }
    Ok(name)
}

/// Operators' tags (标签).
pub struct TagService {
    db: DatabaseConnection,
    clock: Arc<Clock>,
}

/// Most members one `tagMembers` / `untagMembers` call names.
const MAX_TAGGED_AT_ONCE: usize = 500;

impl TagService {
    pub fn new(db: DatabaseConnection, clock: Arc<Clock>) -> Self {
        Self { db, clock }
    }

    /// # Errors
    /// `VALIDATION` on `name` or `color` (`#RRGGBB`); `CONFLICT` for a taken name.
    pub async fn create(&self, name: &str, color: &str) -> Result<Tag, AppError> {
        let name = check_name(name)?;
        let color = color.trim();
        let valid = color.len() == 7
            && color.starts_with('#')
            && color.bytes().skip(1).all(|b| b.is_ascii_hexdigit());
        if !valid {
            return Err(AppError::validation("color", "must be #RRGGBB"));
        }
        store::tags::insert(
            &self.db,
            name,
            &color.to_ascii_uppercase(),
            self.clock.now(),
        )
        .await
        .map_err(store::tags::UQ_TAG_NAME.map(|| AppError::Conflict("a tag has this name".into())))
    }

    /// # Errors
    /// `INTERNAL` on database failure.
    pub async fn all(&self) -> Result<Vec<Tag>, AppError> {
        Ok(store::tags::all(&self.db).await?)
    }

    async fn existing(&self, id: TagId) -> Result<Tag, AppError> {
        store::tags::find(&self.db, id.get())
            .await?
            .ok_or(AppError::NotFound("tag"))
    }

    fn check_members(members: &[MemberId]) -> Result<(), AppError> {
        if members.is_empty() || members.len() > MAX_TAGGED_AT_ONCE {
            return Err(AppError::validation(
                "memberIds",
                format!("name 1 to {MAX_TAGGED_AT_ONCE} members"),
            ));
        }
        Ok(())
    }

    /// Tags the members (unknown ids are skipped); returns how many newly hold it.
    ///
    /// # Errors
    /// `NOT_FOUND` for an unknown tag; `VALIDATION` on `memberIds`.
    pub async fn tag(&self, tag: TagId, members: &[MemberId]) -> Result<u64, AppError> {
        Self::check_members(members)?;
        let tag = self.existing(tag).await?;
        Ok(store::tags::add(&self.db, tag.id, members, self.clock.now()).await?)
    }

    /// # Errors
    /// `NOT_FOUND` for an unknown tag; `VALIDATION` on `memberIds`.
    pub async fn untag(&self, tag: TagId, members: &[MemberId]) -> Result<u64, AppError> {
        Self::check_members(members)?;
        let tag = self.existing(tag).await?;
        Ok(store::tags::remove(&self.db, tag.id, members).await?)
    }

    /// Tags every member of a segment now, in one statement; returns how many newly hold it.
    ///
    /// # Errors
    /// `NOT_FOUND` for an unknown tag or segment.
    pub async fn tag_segment(
        &self,
        segments: &SegmentService,
        tag: TagId,
        segment: SegmentId,
    ) -> Result<u64, AppError> {
        let tag = self.existing(tag).await?;
        let segment = segments.find(segment).await?;
        let audience = segments.audience(&segment.filter).await?;
        Ok(store::tags::add_where(
            &self.db,
            tag.id,
            audience.into_condition(),
            self.clock.now(),
        )
        .await?)
    }

    /// The tags of each of `members`.
    ///
    /// # Errors
    /// `INTERNAL` on database failure.
    pub async fn of_members(&self, members: &[MemberId]) -> Result<Vec<(MemberId, Tag)>, AppError> {
        Ok(store::tags::of_members(&self.db, members).await?)
    }
}

/// Whether `member` is in each of `segment_ids` on `today`, under `rules`' thresholds: two
/// statements (the segments, and the member's row against all of them), none without
/// segments. For steps inside a member's unit of work (tasks, lotteries).
///
/// # Errors
/// `INTERNAL` on database failure.
pub(crate) async fn member_segments(
    db: &impl sea_orm::ConnectionTrait,
    rules: &Rules,
    member: MemberId,
    segment_ids: &[i64],
    today: chrono::NaiveDate,
    timezone: chrono_tz::Tz,
) -> Result<Vec<i64>, AppError> {
    if segment_ids.is_empty() {
        return Ok(Vec::new());
    }
    let context = SegmentContext {
        today,
        timezone,
        rfm: rfm_thresholds(rules).0,
        lifecycle: lifecycle_thresholds(rules),
    };
    let audiences = store::segments::find_many(db, segment_ids)
        .await?
        .into_iter()
        .map(|segment| (segment.id, context.condition(&segment.filter)))
        .collect();
    Ok(store::segments::member_in(db, member, audiences).await?)
}
