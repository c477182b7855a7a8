//! The KOC programme (SPEC §7): applications and their review here; tasks and submissions in
//! `tasks`, what a completed task pays (and AUTO tasks) in `award`.

mod award;
mod tasks;

pub use award::{Award, award, complete_auto_tasks};
pub use tasks::TaskStatus;

use std::sync::Arc;

use sea_orm::DatabaseConnection;

use crate::domain::ids::{AdminId, KocApplicationId, MemberId};
use crate::domain::koc::{self, Platform, ReviewStatus};
use crate::domain::notification;
use crate::domain::paging::PageSize;
use crate::domain::points::MonthKey;
use crate::error::AppError;
use crate::infra::clock::Clock;
use crate::service::leaderboards::LeaderboardService;
use crate::service::ledger::LedgerPolicy;
use crate::service::outbox::Reach;
use crate::service::work::PointsEngine;
pub use crate::store::koc::{Application, Submission};
use crate::store::{self, programme};
/// A member's KOC standing.
#[derive(Debug, Clone)]
pub struct KocProfile {
    pub level: Option<i32>,
    pub score_total: i64,
    pub score_this_month: i64,
    pub application: Option<Application>,
}

pub struct KocService {
    db: DatabaseConnection,
    clock: Arc<Clock>,
    policy: LedgerPolicy,
    engine: PointsEngine,
    boards: Arc<LeaderboardService>,
    min_tier: String,
}

impl KocService {
    pub fn new(
        db: DatabaseConnection,
        clock: Arc<Clock>,
        engine: PointsEngine,
        boards: Arc<LeaderboardService>,
        min_tier: String,
    ) -> Self {
        Self {
            db,
            clock,
            policy: engine.policy(),
            engine,
            boards,
            min_tier,
        }
    }

    /// The member's KOC level, score and latest application.
    ///
    /// # Errors
    /// `NOT_FOUND`; `INTERNAL` on database failure.
    pub async fn profile(&self, member: MemberId) -> Result<KocProfile, AppError> {
        let row = store::ledger::read_member(&self.db, member).await?;
        let month = MonthKey::of(self.clock.now(), self.policy.timezone);
        let this_month =
            store::ledger::stored_month_totals(&self.db, member, month.as_str()).await?;
        Ok(KocProfile {
            level: row.koc_level,
            score_total: row.koc_score_total,
            score_this_month: this_month.koc_score,
            application: store::koc::latest_application(&self.db, member).await?,
        })
    }

    /// Applies to be a KOC.
    ///
    /// # Errors
    /// `KOC_NOT_ELIGIBLE` below the configured tier; `CONFLICT` for a KOC or an open
    /// application; `VALIDATION`.
    pub async fn apply(
        &self,
        member: MemberId,
        platforms: Vec<Platform>,
        reason: &str,
    ) -> Result<Application, AppError> {
        koc::check_application(&platforms, reason)?;
        let platforms: Vec<Platform> = platforms
            .into_iter()
            .map(|p| Platform {
                platform: p.platform.trim().to_owned(),
                handle: p.handle.trim().to_owned(),
                followers: p.followers,
            })
            .collect();
        let now = self.clock.now();
        let txn = store::begin(&self.db).await?;
        let locked = store::ledger::lock_member(&txn, member).await?;
        if locked.koc_level.is_some() {
            return Err(AppError::Conflict("you are a KOC already".into()));
        }
        let tier = programme::tier_rules(&txn, &locked.tier_code).await?;
        let required = programme::tier_rules(&txn, &self.min_tier).await?;
        if tier.rank < required.rank {
            return Err(AppError::KocNotEligible {
                required: required.code,
            });
        }
        if store::koc::latest_application(&txn, member)
            .await?
            .is_some_and(|a| a.status == ReviewStatus::Pending)
        {
            return Err(AppError::Conflict(
                "your application is still being reviewed".into(),
            ));
        }
        let application =
            store::koc::insert_application(&txn, member, &platforms, reason.trim(), now).await?;
        txn.commit().await?;
        tracing::info!(member.id = %member, application.id = application.id, "KOC application");
        Ok(application)
    }

    /// Decides a pending application. Approval makes the member a KOC at the level their
    /// score reaches (level 1 for a newcomer).
    ///
    /// # Errors
    /// `NOT_FOUND`; `CONFLICT` when already decided; `VALIDATION` for a rejection without a note.
    pub async fn review_application(
        &self,
        reviewer: AdminId,
        id: KocApplicationId,
        approve: bool,
        note: Option<&str>,
    ) -> Result<Application, AppError> {
        let id = id.get();
        let note = clean_note(note, approve)?;
        let now = self.clock.now();
        let txn = store::begin(&self.db).await?;
        let application = store::koc::find_application(&txn, id)
            .await?
            .ok_or(AppError::NotFound("application"))?;
        let member = store::ledger::lock_member(&txn, application.member).await?;
        let status = if approve {
            ReviewStatus::Approved
        } else {
            ReviewStatus::Rejected
        };
        if !store::koc::decide_application(&txn, id, status, note.as_deref(), reviewer.get(), now)
            .await?
        {
            return Err(AppError::Conflict(
                "this application was already reviewed".into(),
            ));
        }
        if approve {
            let level = koc::level_for_score(member.koc_score_total);
            store::koc::set_member_koc(&txn, member.id, level, member.koc_score_total).await?;
        }
        let notice = notification::koc_application_reviewed(approve, note.as_deref());
        // On the transaction: SQLite's one connection is held by it.
        let rules = self.engine.rules_cache().latest(&txn).await?;
        Reach {
            db: &txn,
            rules: &rules,
            timezone: self.policy.timezone,
            now,
        }
        .notify(member.id, notice, Some(&id.to_string()), None)
        .await?;
        txn.commit().await?;
        store::koc::find_application(&self.db, id)
            .await?
            .ok_or(AppError::NotFound("application"))
    }

    /// Applications, oldest first.
    ///
    /// # Errors
    /// `INTERNAL` on database failure.
    pub async fn applications(
        &self,
        status: Option<ReviewStatus>,
        first: PageSize,
        after: Option<i64>,
    ) -> Result<(Vec<Application>, bool), AppError> {
        let rows =
            store::koc::list_applications(&self.db, status, after, first.fetch_limit()).await?;
        Ok(first.finish(rows))
    }
}

/// A rejection must say why (the member sees it); notes are trimmed, empty means none.
pub(super) fn clean_note(note: Option<&str>, approve: bool) -> Result<Option<String>, AppError> {
    let note = note.map(str::trim).filter(|n| !n.is_empty());
    if note.is_some_and(|n| n.chars().count() > 500) {
        return Err(AppError::validation(
            "note",
            "must be at most 500 characters",
        ));
    }
    if !approve && note.is_none() {
        return Err(AppError::validation("note", "say why the work is rejected"));
    }
    Ok(note.map(str::to_owned))
}
