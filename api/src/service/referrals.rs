//! Referrals (SPEC §8): binding an inviter, paying both sides at the invitee's first sign-in,
//! the inviter's milestones, the daily cap on paid invites, and voiding.

use std::sync::Arc;

use sea_orm::DatabaseConnection;

use crate::domain::ids::{MemberId, ReferralId};
use crate::domain::paging::PageSize;
use crate::domain::points::EntryKind;
use crate::domain::purchase;
use crate::domain::referral::{self, ReferralStatus};
use crate::domain::task::BuiltInEvent;
use crate::error::AppError;
use crate::infra::clock::Clock;
use crate::service::leaderboards::LeaderboardService;
use crate::service::ledger::{Credit, Debit, Ledger};
use crate::service::tasks;
use crate::service::work::PointsEngine;
use crate::store::ledger::LockedMember;
use crate::store::referrals::Completion;
pub use crate::store::referrals::Referral;
use crate::store::{self};

/// The inviter's summary for `myReferrals`.
#[derive(Debug, Clone)]
pub struct ReferralSummary {
    pub invite_code: String,
    pub successful_invites: i32,
    /// (invites, bonus points) of the next milestone.
    pub next_milestone: Option<(i32, i64)>,
    pub rewarded_today: u64,
}

pub struct ReferralService {
    db: DatabaseConnection,
    clock: Arc<Clock>,
    engine: PointsEngine,
    boards: Arc<LeaderboardService>,
}

impl ReferralService {
    pub fn new(
        db: DatabaseConnection,
        clock: Arc<Clock>,
        engine: PointsEngine,
        boards: Arc<LeaderboardService>,
    ) -> Self {
        Self {
            db,
            clock,
            engine,
            boards,
        }
    }

    /// Names the member's inviter by invite code: within 7 days of registering, once, never
    /// oneself, never closing a cycle. A member who already signed in completes the invite at
    /// once.
    ///
    /// # Errors
    /// `INVITE_INVALID` for each broken rule or an unknown code.
    pub async fn bind(&self, member: MemberId, code: &str) -> Result<Referral, AppError> {
        let code = code.trim().to_ascii_uppercase();
        let now = self.clock.now();
        let txn = store::begin(&self.db).await?;
        let inviter = store::referrals::member_by_invite_code(&txn, &code)
            .await?
            .ok_or(AppError::InviteInvalid("no member has this invite code"))?;
        if inviter == member {
            return Err(AppError::InviteInvalid("you cannot invite yourself"));
        }
        // Both rows locked, lower id first: two members naming each other at once are
        // serialized, so the second sees the first's invite and the cycle check refuses it.
        let (first, second) = if member < inviter {
            (member, inviter)
        } else {
            (inviter, member)
        };
        let locked_first = store::ledger::lock_member(&txn, first).await?;
        let locked_second = store::ledger::lock_member(&txn, second).await?;
        let mut invitee = if first == member {
            locked_first
        } else {
            locked_second
        };
        if store::referrals::of_invitee(&txn, member).await?.is_some() {
            return Err(AppError::InviteInvalid(
                "you have named your inviter already",
            ));
        }
        referral::check_bind_window(invitee.registered_at, now)?;
        // Walk up from the inviter: meeting the member would close a cycle.
        let mut cursor = inviter;
        for _ in 0..referral::MAX_CHAIN {
            match store::referrals::inviter_of(&txn, cursor).await? {
                Some(up) if up == member => {
                    return Err(AppError::InviteInvalid("this member was invited by you"));
                }
                Some(up) => cursor = up,
                None => break,
            }
        }
        let id = store::referrals::insert(&txn, inviter, member, now)
            .await
            .map_err(
                store::referrals::UQ_INVITEE
                    .map(|| AppError::InviteInvalid("you have named your inviter already")),
            )?;
        let completed = if invitee.total_sign_ins > 0 {
            let rules = self.engine.rules().await?;
            let ledger = Ledger {
                db: &txn,
                rules: &rules,
                policy: self.engine.policy(),
                now,
            };
            complete(&ledger, &mut invitee).await?
        } else {
            None
        };
        txn.commit().await?;
        if let Some(inviter) = completed {
            self.boards.touch(inviter).await;
            self.boards.touch(member).await;
        }
        store::referrals::find(&self.db, id)
            .await?
            .ok_or(AppError::NotFound("referral"))
    }

    /// Voids an invite: its rewards are taken back from both members like a refund (down to
    /// zero, never below), and it stops counting. Voiding twice changes nothing.
    ///
    /// # Errors
    /// `NOT_FOUND`.
    pub async fn void(&self, id: ReferralId) -> Result<Referral, AppError> {
        let id = id.get();
        let found = store::referrals::find(&self.db, id)
            .await?
            .ok_or(AppError::NotFound("referral"))?;
        if found.status == ReferralStatus::Void {
            return Ok(found);
        }
        // Invitee first, then inviter: the order a first sign-in locks them in.
        let mut work = self.engine.begin(found.invitee).await?;
        let mut inviter = work.lock_other(found.inviter).await?;
        let now = work.now;
        // Read again under the locks: a first sign-in may have completed it since.
        let found = store::referrals::find(work.txn(), id)
            .await?
            .ok_or(AppError::NotFound("referral"))?;
        if !store::referrals::void(work.txn(), id, now).await? {
            return store::referrals::find(&self.db, id)
                .await?
                .ok_or(AppError::NotFound("referral"));
        }
        if found.status == ReferralStatus::Completed {
            let reference = format!("referral:{id}");
            let (ledger, invitee) = work.split();
            ledger.settle(&mut inviter).await?;
            take_back(
                &ledger,
                invitee,
                found.invitee_points,
                &format!("{reference}:void:invitee"),
                &reference,
            )
            .await?;
            take_back(
                &ledger,
                &mut inviter,
                found.inviter_points,
                &format!("{reference}:void:inviter"),
                &reference,
            )
            .await?;
            let count = inviter.successful_invites.saturating_sub(1).max(0);
            store::referrals::set_successful_invites(ledger.db, inviter.id, count, now).await?;
        }
        work.commit_to_boards(&self.boards).await?;
        self.boards.touch(found.inviter).await;
        tracing::info!(referral.id = id, "referral voided");
        store::referrals::find(&self.db, id)
            .await?
            .ok_or(AppError::NotFound("referral"))
    }

    /// The member's invite code and progress to the next milestone.
    ///
    /// # Errors
    /// `INTERNAL` on database failure.
    pub async fn summary(&self, member: MemberId) -> Result<ReferralSummary, AppError> {
        let row = store::ledger::read_member(&self.db, member).await?;
        let profile = store::members::find(&self.db, member)
            .await?
            .ok_or(AppError::NotFound("member"))?;
        Ok(ReferralSummary {
            invite_code: profile.invite_code,
            successful_invites: row.successful_invites,
            next_milestone: referral::next_milestone(row.successful_invites),
            rewarded_today: store::referrals::rewarded_on(&self.db, member, self.clock.today())
                .await?,
        })
    }

    /// A page of the member's invites, newest first, and whether more follow.
    ///
    /// # Errors
    /// `INTERNAL` on database failure.
    pub async fn invites(
        &self,
        member: MemberId,
        first: PageSize,
        after: Option<i64>,
    ) -> Result<(Vec<Referral>, bool), AppError> {
        let rows = store::referrals::list_for_inviter(&self.db, member, after, first.fetch_limit())
            .await?;
        Ok(first.finish(rows))
    }

    /// The invite the member bound, if any.
    ///
    /// # Errors
    /// `INTERNAL` on database failure.
    pub async fn of_invitee(&self, member: MemberId) -> Result<Option<Referral>, AppError> {
        store::referrals::of_invitee(&self.db, member).await
    }
}

/// Takes back up to `amount` of a reversed reward, never below zero.
async fn take_back(
    ledger: &Ledger<'_>,
    member: &mut LockedMember,
    amount: i64,
    key: &str,
    reference: &str,
) -> Result<(), AppError> {
    let (take, shortfall) = purchase::clawback(amount, member.balance);
    if take <= 0 {
        return Ok(());
    }
    ledger
        .debit(
            member,
            Debit {
                kind: EntryKind::Referral,
                amount: take,
                is_redemption: false,
                key,
                payload: key,
                reference: Some(reference),
                note: Some(&if shortfall > 0 {
                    format!("referral voided, shortfall {shortfall}")
                } else {
                    "referral voided".to_owned()
                }),
            },
        )
        .await?;
    Ok(())
}

/// Completes the invitee's bound invite at their first sign-in, inside the sign-in's
/// transaction (the invitee's row is locked; the inviter's is locked here, always in that
/// order). Pays the invitee and — within the inviter's daily cap — the inviter, counts the
/// invite, pays milestones, and completes the inviter's AUTO REFERRAL tasks. Returns the
/// inviter, whose boards changed.
///
/// # Errors
/// `INTERNAL` on database failure.
pub async fn complete(
    ledger: &Ledger<'_>,
    invitee: &mut LockedMember,
) -> Result<Option<MemberId>, AppError> {
    let (db, now, policy) = (ledger.db, ledger.now, ledger.policy);
    let Some(found) = store::referrals::of_invitee(db, invitee.id).await? else {
        return Ok(None);
    };
    if found.status != ReferralStatus::Bound {
        return Ok(None);
    }
    let mut inviter = store::ledger::lock_member(db, found.inviter).await?;
    ledger.settle(&mut inviter).await?;
    let today = now.with_timezone(&policy.timezone).date_naive();
    let paid_today = store::referrals::rewarded_on(db, inviter.id, today).await?;
    let rewarded = paid_today < referral::DAILY_REWARDED_INVITES;
    let reference = format!("referral:{}", found.id);
    let invitee_points = pay(
        ledger,
        invitee,
        referral::INVITEE_POINTS,
        &format!("{reference}:invitee"),
        &reference,
    )
    .await?;
    let inviter_points = if rewarded {
        pay(
            ledger,
            &mut inviter,
            referral::INVITER_POINTS,
            &format!("{reference}:inviter"),
            &reference,
        )
        .await?
    } else {
        0
    };
    let before = inviter.successful_invites;
    let after = before.saturating_add(1);
    store::referrals::set_successful_invites(db, inviter.id, after, now).await?;
    inviter.successful_invites = after;
    for (threshold, points) in referral::milestones_crossed(before, after) {
        let key = format!("referral-milestone:{threshold}");
        pay(ledger, &mut inviter, points, &key, &key).await?;
    }
    store::referrals::complete(
        db,
        found.id,
        Completion {
            rewarded,
            inviter_points,
            invitee_points,
            day: today,
            now,
        },
    )
    .await?;
    // The inviter's KOC REFERRAL tasks and task-centre tasks count this event.
    tasks::emit(
        ledger,
        &mut inviter,
        BuiltInEvent::ReferralCompleted,
        1,
        now,
    )
    .await?;
    Ok(Some(inviter.id))
}

/// Credits a referral reward, cut at the member's monthly cap. Returns what was granted.
async fn pay(
    ledger: &Ledger<'_>,
    member: &mut LockedMember,
    points: i64,
    key: &str,
    reference: &str,
) -> Result<i64, AppError> {
    let credit = Credit::keyed(EntryKind::Referral, points, key, Some(reference));
    Ok(ledger.credit(member, credit).await?.amount)
}
