//! Campaigns (营销自动化, SPEC §16): operators reach a segment with points, rewards, tags and
//! notices, at a time, every day / week / month, or on a member's event; the scheduled pass
//! executes them exactly once per (campaign, member, occurrence), in batches it can resume,
//! never past the campaign's budgets or the programme's.

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use sea_orm::DatabaseConnection;
use sea_orm::sea_query::Cond;

use crate::domain::campaign::{
    self, Action, Campaign, CampaignStatus, Eligible, Occurrence, Outcome, PerMember, Trigger,
    TriggerKind,
};
use crate::domain::ids::{CampaignId, MemberId, RewardId, SegmentId};
use crate::domain::notification::{Notice, NoticeKind};
use crate::domain::points::{EntryKind, MonthKey};
use crate::domain::webhook::WebhookEvent;
use crate::error::AppError;
use crate::infra::clock::Clock;
use crate::service::ledger::Credit;
use crate::service::segments::SegmentService;
use crate::service::work::PointsEngine;
use crate::service::{lottery, purchases, rewards, stats};
use crate::store;
use crate::store::campaigns::{Claim, GroupActivity};

/// Members a batch reads; each is reached in its own short transaction.
const BATCH: u64 = 200;

/// A campaign's settings, to create it or (DRAFT or PAUSED) to change it.
pub struct CampaignSettings {
    pub name: String,
    pub segment: Option<SegmentId>,
    pub trigger: Trigger,
    pub actions: Vec<Action>,
    pub per_member: PerMember,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    pub budget_points: Option<i64>,
    pub budget_units: Option<i64>,
    pub holdout_percent: i32,
}

/// What one group (treated or control) did after it was reached.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct GroupResult {
    /// Reaches (member and occurrence).
    pub reaches: i64,
    pub signed_in: i64,
    pub purchased: i64,
    pub purchase_cents: i64,
    pub redeemed: i64,
    /// Signed in or bought.
    pub returned: i64,
}

impl From<&GroupActivity> for GroupResult {
    fn from(a: &GroupActivity) -> Self {
        Self {
            reaches: a.reaches,
            signed_in: a.signed_in,
            purchased: a.purchased,
            purchase_cents: a.purchase_cents,
            redeemed: a.redeemed,
            returned: a.returned,
        }
    }
}

/// What a campaign did (效果分析).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CampaignOutcomes {
    pub treated: GroupResult,
    pub control: GroupResult,
    pub skipped: i64,
    pub cost_points: i64,
    pub cost_units: i64,
    /// What the granted rewards cost the brand.
    pub reward_cost_cents: i64,
    /// Points at the checkout rate plus the rewards' cost.
    pub cost_cents: i64,
    /// Of the treated, the share who came back (signed in or bought); recall triggers only.
    pub recall_rate: Option<f64>,
    /// Treated purchase rate − control purchase rate; none without a control group.
    pub uplift: Option<f64>,
    pub roi: Option<f64>,
}

/// What reaching everyone in the audience now would cost (`previewCampaign`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CampaignPreview {
    pub audience: i64,
    pub cost_points: i64,
    pub cost_units: i64,
}

/// How one member's reach went.
enum Reach {
    /// Reached by this call (true) or not (served before, held out, skipped).
    Done(bool),
    /// The grant does not fit what is left of a budget: the campaign stops.
    OverBudget,
}

/// The programme budget a run's grants take from (read once per run).
struct ProgrammeRoom {
    month: MonthKey,
    budget: i64,
    earned: i64,
}

pub struct CampaignService {
    db: DatabaseConnection,
    clock: Arc<Clock>,
    engine: PointsEngine,
    /// Campaign subscribe messages a member may get per business day.
    messages_per_day: u32,
}

impl CampaignService {
    pub fn new(
        db: DatabaseConnection,
        clock: Arc<Clock>,
        engine: PointsEngine,
        messages_per_day: u32,
    ) -> Self {
        Self {
            db,
            clock,
            engine,
            messages_per_day,
        }
    }

    /// Creates a `DRAFT` campaign.
    ///
    /// # Errors
    /// `VALIDATION` on `name`, `trigger…`, `actions…`, `endsAt`, `budgetPoints`,
    /// `budgetUnits` or `holdoutPercent`; `NOT_FOUND` for an unknown segment, reward or tag.
    pub async fn create(
        &self,
        segments: &SegmentService,
        settings: CampaignSettings,
    ) -> Result<Campaign, AppError> {
        let now = self.clock.now();
        let draft = self.checked(segments, 0, settings, now).await?;
        store::campaigns::insert(&self.db, &draft, now).await
    }

    /// Changes a `DRAFT` or `PAUSED` campaign's settings; what it already did stays.
    ///
    /// # Errors
    /// As [`Self::create`]; `NOT_FOUND`; `CONFLICT` when it is `ACTIVE` or `ENDED`.
    pub async fn update(
        &self,
        segments: &SegmentService,
        id: CampaignId,
        settings: CampaignSettings,
    ) -> Result<Campaign, AppError> {
        let current = self.find(id).await?;
        let editable = matches!(
            current.status,
            CampaignStatus::Draft | CampaignStatus::Paused
        );
        let now = self.clock.now();
        let changed = self.checked(segments, id.get(), settings, now).await?;
        if !editable
            || !store::campaigns::update_settings(&self.db, &changed, current.status, now).await?
        {
            return Err(AppError::Conflict(format!(
                "a {} campaign cannot be changed; pause it first",
                current.status.as_str()
            )));
        }
        self.find(id).await
    }

    async fn checked(
        &self,
        segments: &SegmentService,
        id: i64,
        s: CampaignSettings,
        now: DateTime<Utc>,
    ) -> Result<Campaign, AppError> {
        let name = s.name.trim();
        if name.is_empty() || name.chars().count() > 64 {
            return Err(AppError::validation("name", "must be 1 to 64 characters"));
        }
        s.trigger.check()?;
        campaign::check_actions(&s.actions)?;
        if let (Some(starts), Some(ends)) = (s.starts_at, s.ends_at)
            && ends <= starts
        {
            return Err(AppError::validation("endsAt", "must be after startsAt"));
        }
        if s.budget_points.is_some_and(|points| points < 1) {
            return Err(AppError::validation("budgetPoints", "must be at least 1"));
        }
        if s.budget_units.is_some_and(|units| units < 1) {
            return Err(AppError::validation("budgetUnits", "must be at least 1"));
        }
        if !(0..=50).contains(&s.holdout_percent) {
            return Err(AppError::validation("holdoutPercent", "must be 0 to 50"));
        }
        if s.trigger.kind == TriggerKind::SegmentEntered && s.segment.is_none() {
            return Err(AppError::validation(
                "segmentId",
                "a SEGMENT_ENTERED campaign needs a segment",
            ));
        }
        if let Some(segment) = s.segment {
            segments.find(segment).await?;
        }
        for action in &s.actions {
            match action {
                Action::GrantReward { reward_id, .. } => {
                    store::rewards::find_reward(&self.db, *reward_id)
                        .await?
                        .ok_or(AppError::NotFound("reward"))?;
                }
                Action::AddTag { tag_id } | Action::RemoveTag { tag_id } => {
                    store::tags::find(&self.db, *tag_id)
                        .await?
                        .ok_or(AppError::NotFound("tag"))?;
                }
                Action::GrantDraws { lottery_id, .. } => {
                    if store::lottery::load(&self.db, Some(*lottery_id))
                        .await?
                        .is_empty()
                    {
                        return Err(AppError::NotFound("lottery"));
                    }
                }
                Action::GrantPoints { .. } | Action::Notify { .. } => {}
            }
        }
        Ok(Campaign {
            id,
            name: name.to_owned(),
            segment_id: s.segment.map(SegmentId::get),
            trigger: s.trigger,
            actions: s.actions,
            per_member: s.per_member,
            starts_at: s.starts_at,
            ends_at: s.ends_at,
            budget_points: s.budget_points,
            spent_points: 0,
            budget_units: s.budget_units,
            spent_units: 0,
            activated_at: None,
            budget_exhausted: false,
            holdout_percent: s.holdout_percent,
            status: CampaignStatus::Draft,
            created_at: now,
            updated_at: now,
        })
    }

    /// Moves a campaign to `to` (activate, pause, end). Activating a `SEGMENT_ENTERED`
    /// campaign first notes who is in its segment: they have not entered it.
    ///
    /// # Errors
    /// `NOT_FOUND`; `CONFLICT` for a move its status does not allow.
    pub async fn set_status(
        &self,
        segments: &SegmentService,
        id: CampaignId,
        to: CampaignStatus,
    ) -> Result<Campaign, AppError> {
        let current = self.find(id).await?;
        let conflict = || {
            AppError::Conflict(format!(
                "a {} campaign cannot become {}",
                current.status.as_str(),
                to.as_str()
            ))
        };
        if !current.status.may_become(to) {
            return Err(conflict());
        }
        let presence = if to == CampaignStatus::Active
            && current.trigger.kind == TriggerKind::SegmentEntered
        {
            Some(self.audience(segments, &current).await?)
        } else {
            None
        };
        let txn = store::begin(&self.db).await?;
        if let Some(audience) = presence {
            store::campaigns::take_presence(&txn, id.get(), audience).await?;
        }
        let now = self.clock.now();
        if !store::campaigns::set_status(&txn, id.get(), current.status, to, now).await? {
            return Err(conflict());
        }
        txn.commit().await?;
        self.find(id).await
    }

    /// # Errors
    /// `NOT_FOUND` for an unknown id.
    pub async fn find(&self, id: CampaignId) -> Result<Campaign, AppError> {
        store::campaigns::find(&self.db, id.get())
            .await?
            .ok_or(AppError::NotFound("campaign"))
    }

    /// # Errors
    /// `INTERNAL` on database failure.
    pub async fn all(&self, status: Option<CampaignStatus>) -> Result<Vec<Campaign>, AppError> {
        store::campaigns::all(&self.db, status).await
    }

    /// The campaign's audience now (its segment, or everyone) and what reaching all of them
    /// would cost: one count.
    ///
    /// # Errors
    /// `NOT_FOUND` for an unknown id.
    pub async fn preview(
        &self,
        segments: &SegmentService,
        id: CampaignId,
    ) -> Result<CampaignPreview, AppError> {
        let c = self.find(id).await?;
        let audience =
            store::campaigns::count_members(&self.db, self.audience(segments, &c).await?).await?;
        Ok(CampaignPreview {
            audience,
            cost_points: audience.saturating_mul(campaign::grant_points(&c.actions)),
            cost_units: audience.saturating_mul(campaign::grant_units(&c.actions)),
        })
    }

    /// What the campaign did, with attribution: one statement over its reaches.
    ///
    /// # Errors
    /// `NOT_FOUND` for an unknown id.
    pub async fn outcomes(&self, id: CampaignId) -> Result<CampaignOutcomes, AppError> {
        let c = self.find(id).await?;
        let groups = store::campaigns::activity(&self.db, id.get()).await?;
        let group = |outcome: Outcome| groups.iter().find(|g| g.outcome == outcome.as_str());
        let treated = group(Outcome::Granted);
        let control = group(Outcome::HeldOut);
        let checkout = purchases::checkout_rules(&*self.engine.rules().await?)?;
        let cost_points = treated.map_or(0, |g| g.points);
        let reward_cost_cents = treated.map_or(0, |g| g.cost_cents);
        let cost_cents =
            campaign::cost_cents(cost_points, checkout.points_per_yuan, reward_cost_cents);
        let treated = treated.map(GroupResult::from).unwrap_or_default();
        let control = control.map(GroupResult::from).unwrap_or_default();
        Ok(CampaignOutcomes {
            treated,
            control,
            skipped: group(Outcome::Skipped).map_or(0, |g| g.reaches),
            cost_points,
            cost_units: group(Outcome::Granted).map_or(0, |g| g.units),
            reward_cost_cents,
            cost_cents,
            recall_rate: c
                .trigger
                .kind
                .recalls()
                .then(|| campaign::rate(treated.returned, treated.reaches))
                .flatten(),
            uplift: campaign::rate_difference(
                (treated.purchased, treated.reaches),
                (control.purchased, control.reaches),
            ),
            roi: campaign::roi(treated.purchase_cents, cost_cents),
        })
    }

    /// The scheduled pass: runs every active campaign's due occurrences to completion, ends
    /// the campaigns past their `endsAt` and the `ONCE` ones that served their audience. Safe
    /// on every instance at once and after a restart: each reach is claimed under a unique
    /// key in its own transaction, and a resumed run reads only the members not served yet.
    /// Returns the members reached by this pass.
    ///
    /// # Errors
    /// `INTERNAL` on database failure.
    pub async fn run_due(&self, segments: &SegmentService) -> Result<u64, AppError> {
        let now = self.clock.now();
        let mut reached = 0_u64;
        for c in self.all(Some(CampaignStatus::Active)).await? {
            if c.ends_at.is_some_and(|ends| ends <= now) {
                self.end(&c).await?;
                continue;
            }
            if c.starts_at.is_some_and(|starts| now < starts) || c.budget_exhausted {
                continue;
            }
            reached = reached.saturating_add(self.run(segments, &c, now).await?);
        }
        Ok(reached)
    }

    async fn end(&self, c: &Campaign) -> Result<(), AppError> {
        store::campaigns::set_status(
            &self.db,
            c.id,
            CampaignStatus::Active,
            CampaignStatus::Ended,
            self.clock.now(),
        )
        .await?;
        Ok(())
    }

    async fn audience(&self, segments: &SegmentService, c: &Campaign) -> Result<Cond, AppError> {
        Ok(match c.segment_id {
            Some(segment) => {
                let segment = segments.find(SegmentId::new(segment)).await?;
                segments.audience(&segment.filter).await?.into_condition()
            }
            None => Cond::all(),
        })
    }

    async fn run(
        &self,
        segments: &SegmentService,
        c: &Campaign,
        now: DateTime<Utc>,
    ) -> Result<u64, AppError> {
        let timezone = self.clock.timezone();
        // Nothing before the first activation, or before the window opens, is owed.
        let activated = c.activated_at.unwrap_or(c.created_at);
        let since = c
            .starts_at
            .map_or(activated, |starts| starts.max(activated));
        let occurrences = campaign::due_occurrences(&c.trigger, since, now, timezone);
        if occurrences.is_empty() {
            return Ok(0);
        }
        let audience = self.audience(segments, c).await?;
        if c.trigger.kind == TriggerKind::SegmentEntered {
            store::campaigns::forget_departed(&self.db, c.id, audience.clone()).await?;
        }
        let room = if campaign::grant_points(&c.actions) > 0 {
            let month = MonthKey::of(now, timezone);
            let budget = stats::programme_budget(&self.db, &month).await?;
            budget.monthly_points.map(|budget_points| ProgrammeRoom {
                month,
                budget: budget_points,
                earned: budget.earned_this_month,
            })
        } else {
            None
        };
        let mut reached = 0_u64;
        for occurrence in &occurrences {
            let key = campaign::claim_key(c.per_member, &occurrence.key);
            let condition = audience
                .clone()
                .add(store::campaigns::eligible(c.id, &occurrence.eligible));
            let mut after = 0_i64;
            loop {
                let batch = store::campaigns::member_ids(
                    &self.db,
                    condition.clone(),
                    c.id,
                    &key,
                    after,
                    BATCH,
                )
                .await?;
                let Some(last) = batch.last() else {
                    break;
                };
                after = last.get();
                for member in batch {
                    match self
                        .reach(c, member, occurrence, &key, room.as_ref())
                        .await?
                    {
                        Reach::Done(true) => reached = reached.saturating_add(1),
                        Reach::Done(false) => {}
                        Reach::OverBudget => {
                            store::campaigns::mark_exhausted(&self.db, c.id).await?;
                            return Ok(reached);
                        }
                    }
                }
            }
        }
        if c.trigger.kind == TriggerKind::Once {
            // Everyone was served: a ONCE campaign is over (a paused one stays paused).
            self.end(c).await?;
        }
        Ok(reached)
    }

    /// One member's reach, in its own unit of work: claimed first (a member already served is
    /// skipped), then the budgets, then the credit, rewards, tags, notice and webhook event.
    async fn reach(
        &self,
        c: &Campaign,
        member: MemberId,
        occurrence: &Occurrence,
        key: &str,
        room: Option<&ProgrammeRoom>,
    ) -> Result<Reach, AppError> {
        let mut work = self.engine.begin(member).await?;
        let now = work.now;
        if occurrence.eligible == Eligible::EnteredSegment {
            store::campaigns::mark_present(work.txn(), c.id, member).await?;
        }
        let only_notices = c.actions.iter().all(|a| matches!(a, Action::Notify { .. }));
        let outcome = if campaign::held_out(c.holdout_percent, c.id, member.get(), key) {
            Outcome::HeldOut
        } else if work.member.frozen || (only_notices && work.member.marketing_opt_out) {
            // Nothing to give: frozen, or a notice to a member who refuses marketing.
            Outcome::Skipped
        } else {
            Outcome::Granted
        };
        let claim = Claim {
            campaign: c.id,
            member,
            occurrence: key,
            outcome,
            attributed_until: now + TimeDelta::days(campaign::ATTRIBUTION_DAYS),
        };
        if !store::campaigns::claim(work.txn(), &claim, now).await? || outcome != Outcome::Granted {
            work.commit().await?;
            return Ok(Reach::Done(false));
        }
        // Dropping the work on an over-budget grant rolls the claim back: not served.
        let points = campaign::grant_points(&c.actions);
        if points > 0 {
            if !store::campaigns::spend(work.txn(), c.id, points).await? {
                return Ok(Reach::OverBudget);
            }
            if let Some(room) = room
                && !store::campaigns::take_programme_budget(
                    work.txn(),
                    room.month.as_str(),
                    points,
                    room.earned,
                    room.budget,
                )
                .await?
            {
                return Ok(Reach::OverBudget);
            }
        }
        let units = campaign::grant_units(&c.actions);
        if units > 0 && !store::campaigns::spend_units(work.txn(), c.id, units).await? {
            return Ok(Reach::OverBudget);
        }
        let entry_key = format!("campaign:{}:{key}", c.id);
        let reference = format!("campaign:{}", c.id);
        let (mut units_given, mut reward_cents) = (0_i64, 0_i64);
        for action in &c.actions {
            match action {
                Action::GrantPoints {
                    points,
                    expire_in_days,
                } => {
                    work.credit(Credit {
                        kind: EntryKind::Campaign,
                        requested: *points,
                        key: &entry_key,
                        payload: &entry_key,
                        reference: Some(&reference),
                        note: Some(&c.name),
                        expires_at: expire_in_days.map(|days| now + TimeDelta::days(days)),
                    })
                    .await?;
                }
                Action::GrantReward {
                    reward_id,
                    quantity,
                } => {
                    for unit in 0..*quantity {
                        let unit_key = format!("{entry_key}:{reward_id}:{unit}");
                        let (ledger, locked) = work.split();
                        let granted = rewards::grant_free(
                            &ledger,
                            locked,
                            RewardId::new(*reward_id),
                            &unit_key,
                        )
                        .await?;
                        // Out of stock: this unit is skipped, and recorded by its absence.
                        if let Some((reward, _coupons)) = granted {
                            units_given = units_given.saturating_add(1);
                            reward_cents =
                                reward_cents.saturating_add(reward.cost_cents.unwrap_or(0));
                        }
                    }
                }
                Action::GrantDraws { lottery_id, draws } => {
                    let ledger = work.ledger();
                    lottery::grant_draws(&ledger, member, *lottery_id, *draws).await?;
                }
                Action::AddTag { tag_id } => {
                    store::tags::add(work.txn(), *tag_id, &[member], now).await?;
                }
                Action::RemoveTag { tag_id } => {
                    store::tags::remove(work.txn(), *tag_id, &[member]).await?;
                }
                Action::Notify { title, body } if !work.member.marketing_opt_out => {
                    let notice = Notice {
                        kind: NoticeKind::Campaign,
                        points: (points > 0).then_some(points),
                        balance: Some(work.member.balance),
                        title: title.trim().to_owned(),
                        body: body.trim().to_owned(),
                    };
                    work.ledger()
                        .reach()
                        .notify_marketing(member, notice, Some(&reference), self.messages_per_day)
                        .await?;
                }
                Action::Notify { .. } => {}
            }
        }
        store::campaigns::record_cost(
            work.txn(),
            c.id,
            member,
            key,
            (points, units_given, reward_cents),
        )
        .await?;
        work.ledger()
            .reach()
            .publish(
                WebhookEvent::CampaignGranted,
                serde_json::json!({
                    "campaignId": c.id.to_string(),
                    "memberId": member.get().to_string(),
                    "occurrence": key,
                    "points": points,
                    "rewardUnits": units_given,
                }),
            )
            .await?;
        work.commit().await?;
        Ok(Reach::Done(true))
    }
}
