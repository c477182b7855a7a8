//! Campaigns (营销自动化, SPEC §16): operators send points and notices to a segment; the
//! scheduled pass executes them exactly once per (campaign, member, occurrence), in batches it
//! can resume, never past the budget.
//!
//! Built so far: the `ONCE` trigger, `GRANT_POINTS` and `NOTIFY`, budgets, the holdout and
//! the states. The recurring and event triggers, the other actions, marketing pressure and the
//! attribution statistics are not.

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use sea_orm::DatabaseConnection;
use sea_orm::sea_query::Cond;

use crate::domain::campaign::{self, Action, Campaign, CampaignStatus, Outcome, TriggerKind};
use crate::domain::ids::{CampaignId, MemberId, SegmentId};
use crate::domain::notification::{Notice, NoticeKind};
use crate::domain::points::EntryKind;
use crate::domain::webhook::WebhookEvent;
use crate::error::AppError;
use crate::infra::clock::Clock;
use crate::service::ledger::Credit;
use crate::service::segments::SegmentService;
use crate::service::work::PointsEngine;
use crate::store;

/// The occurrence key of a `ONCE` campaign: it happens once.
const ONCE: &str = "once";
/// Members a batch reads; each is granted in its own short transaction.
const BATCH: u64 = 200;

/// A campaign to create.
pub struct NewCampaign {
    pub name: String,
    pub segment: Option<SegmentId>,
    pub trigger: TriggerKind,
    pub at: Option<DateTime<Utc>>,
    pub actions: Vec<Action>,
    pub budget_points: Option<i64>,
    pub holdout_percent: i32,
}

/// What a campaign did (效果分析, so far the costs).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CampaignOutcomes {
    pub reached: i64,
    pub held_out: i64,
    pub skipped: i64,
    pub cost_points: i64,
}

/// How one member's grant went.
enum Grant {
    Done,
    /// The budget has no room for this grant: the campaign stops.
    OverBudget,
}

pub struct CampaignService {
    db: DatabaseConnection,
    clock: Arc<Clock>,
    engine: PointsEngine,
}

impl CampaignService {
    pub fn new(db: DatabaseConnection, clock: Arc<Clock>, engine: PointsEngine) -> Self {
        Self { db, clock, engine }
    }

    /// Creates a `DRAFT` campaign.
    ///
    /// # Errors
    /// `VALIDATION` on `name`, `trigger.at`, `actions…`, `budgetPoints` or `holdoutPercent`;
    /// `NOT_FOUND` for an unknown segment.
    pub async fn create(
        &self,
        segments: &SegmentService,
        new: NewCampaign,
    ) -> Result<Campaign, AppError> {
        let name = new.name.trim();
        if name.is_empty() || name.chars().count() > 64 {
            return Err(AppError::validation("name", "must be 1 to 64 characters"));
        }
        if new.at.is_none() {
            return Err(AppError::validation(
                "trigger.at",
                "a ONCE campaign needs `at`",
            ));
        }
        campaign::check_actions(&new.actions)?;
        if new.budget_points.is_some_and(|points| points < 1) {
            return Err(AppError::validation("budgetPoints", "must be at least 1"));
        }
        if !(0..=50).contains(&new.holdout_percent) {
            return Err(AppError::validation("holdoutPercent", "must be 0 to 50"));
        }
        if let Some(segment) = new.segment {
            segments.find(segment).await?;
        }
        let now = self.clock.now();
        let draft = Campaign {
            id: 0,
            name: name.to_owned(),
            segment_id: new.segment.map(SegmentId::get),
            trigger: new.trigger,
            trigger_at: new.at,
            actions: new.actions,
            budget_points: new.budget_points,
            spent_points: 0,
            budget_exhausted: false,
            holdout_percent: new.holdout_percent,
            status: CampaignStatus::Draft,
            created_at: now,
            updated_at: now,
        };
        store::campaigns::insert(&self.db, &draft, now).await
    }

    /// Moves a campaign to `to` (activate, pause, end).
    ///
    /// # Errors
    /// `NOT_FOUND`; `CONFLICT` for a move its status does not allow.
    pub async fn set_status(
        &self,
        id: CampaignId,
        to: CampaignStatus,
    ) -> Result<Campaign, AppError> {
        let current = self.find(id).await?;
        let moved = current.status.may_become(to)
            && store::campaigns::set_status(
                &self.db,
                id.get(),
                current.status,
                to,
                self.clock.now(),
            )
            .await?;
        if !moved {
            return Err(AppError::Conflict(format!(
                "a {} campaign cannot become {}",
                current.status.as_str(),
                to.as_str()
            )));
        }
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

    /// # Errors
    /// `NOT_FOUND` for an unknown id.
    pub async fn outcomes(&self, id: CampaignId) -> Result<CampaignOutcomes, AppError> {
        self.find(id).await?;
        let mut outcomes = CampaignOutcomes::default();
        for (outcome, members, points) in store::campaigns::outcomes(&self.db, id.get()).await? {
            match outcome.as_str() {
                "GRANTED" => {
                    outcomes.reached = members;
                    outcomes.cost_points = points;
                }
                "HELD_OUT" => outcomes.held_out = members,
                _ => outcomes.skipped = members,
            }
        }
        Ok(outcomes)
    }

    /// The scheduled pass: runs every active campaign that is due to completion, and ends a
    /// `ONCE` campaign that has served its whole audience. Safe on every instance at once and
    /// after a restart: each member's grant is claimed under a unique key in the grant's own
    /// transaction, and a resumed run reads only the members not served yet. Returns the
    /// members granted by this pass.
    ///
    /// # Errors
    /// `INTERNAL` on database failure.
    pub async fn run_due(&self, segments: &SegmentService) -> Result<u64, AppError> {
        let now = self.clock.now();
        let mut granted = 0_u64;
        for campaign in self.all(Some(CampaignStatus::Active)).await? {
            let due = campaign.trigger_at.is_some_and(|at| at <= now);
            if !due || campaign.budget_exhausted {
                continue;
            }
            granted = granted.saturating_add(self.run_once(segments, &campaign).await?);
        }
        Ok(granted)
    }

    async fn run_once(&self, segments: &SegmentService, c: &Campaign) -> Result<u64, AppError> {
        let audience = match c.segment_id {
            Some(segment) => {
                let segment = segments.find(SegmentId::new(segment)).await?;
                segments.audience(&segment.filter).await?.into_condition()
            }
            None => Cond::all(),
        };
        let mut granted = 0_u64;
        let mut after = 0_i64;
        loop {
            let batch =
                store::campaigns::member_ids(&self.db, audience.clone(), c.id, ONCE, after, BATCH)
                    .await?;
            let Some(last) = batch.last() else {
                // Everyone was served: a ONCE campaign is over (a paused one stays paused).
                store::campaigns::set_status(
                    &self.db,
                    c.id,
                    CampaignStatus::Active,
                    CampaignStatus::Ended,
                    self.clock.now(),
                )
                .await?;
                return Ok(granted);
            };
            after = last.get();
            for member in batch {
                match self.grant(c, member).await? {
                    (Grant::Done, true) => granted = granted.saturating_add(1),
                    (Grant::Done, false) => {}
                    (Grant::OverBudget, _) => {
                        store::campaigns::mark_exhausted(&self.db, c.id).await?;
                        return Ok(granted);
                    }
                }
            }
        }
    }

    /// One member's grant, in its own unit of work: claimed first (a member already served is
    /// skipped), then the budget, then the credit, the notice and the webhook event. True when
    /// the member was granted by this call.
    async fn grant(&self, c: &Campaign, member: MemberId) -> Result<(Grant, bool), AppError> {
        let mut work = self.engine.begin(member).await?;
        let now = work.now;
        let points = campaign::grant_points(&c.actions);
        let outcome = if campaign::held_out(c.holdout_percent, c.id, member.get(), ONCE) {
            Outcome::HeldOut
        } else if work.member.frozen {
            Outcome::Skipped
        } else {
            Outcome::Granted
        };
        let given = if outcome == Outcome::Granted {
            points
        } else {
            0
        };
        if !store::campaigns::claim(work.txn(), c.id, member, ONCE, outcome, given, now).await? {
            return Ok((Grant::Done, false));
        }
        if outcome != Outcome::Granted {
            work.commit().await?;
            return Ok((Grant::Done, false));
        }
        if given > 0 && !store::campaigns::spend(work.txn(), c.id, given).await? {
            // Dropping the work rolls the claim back: the member was not served.
            return Ok((Grant::OverBudget, false));
        }
        let key = format!("campaign:{}:{ONCE}", c.id);
        let reference = format!("campaign:{}", c.id);
        for action in &c.actions {
            match action {
                Action::GrantPoints {
                    points,
                    expire_in_days,
                } => {
                    work.credit(Credit {
                        kind: EntryKind::Campaign,
                        requested: *points,
                        key: &key,
                        payload: &key,
                        reference: Some(&reference),
                        note: Some(&c.name),
                        expires_at: expire_in_days.map(|days| now + TimeDelta::days(days)),
                    })
                    .await?;
                }
                Action::Notify { title, body } if !work.member.marketing_opt_out => {
                    let notice = Notice {
                        kind: NoticeKind::Campaign,
                        points: (given > 0).then_some(given),
                        balance: Some(work.member.balance),
                        title: title.trim().to_owned(),
                        body: body.trim().to_owned(),
                    };
                    work.ledger()
                        .reach()
                        .notify(member, notice, Some(&reference), None)
                        .await?;
                }
                Action::Notify { .. } => {}
            }
        }
        work.ledger()
            .reach()
            .publish(
                WebhookEvent::CampaignGranted,
                serde_json::json!({
                    "campaignId": c.id.to_string(),
                    "memberId": member.get().to_string(),
                    "points": given,
                }),
            )
            .await?;
        work.commit().await?;
        Ok((Grant::Done, true))
    }
}
