//! The unit of work every points movement goes through.
//!
//! `PointsEngine::begin` opens a transaction, locks the member and reads — in that one
//! statement — the rules' version, this month's counters, the trailing growth and whether
//! anything is due for settling; then it settles what is due. The `MemberWork` it returns owns
//! the transaction and the locked member; services compose its steps (credit, debit, growth,
//! notices…) and `commit` writes the member's held-back columns and month counters once.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use sea_orm::{DatabaseConnection, DatabaseTransaction};

use crate::domain::ids::MemberId;
use crate::domain::leaderboard;
use crate::domain::points::MonthKey;
use crate::error::AppError;
use crate::infra::clock::Clock;
use crate::service::leaderboards::LeaderboardService;
use crate::service::ledger::{Credit, Debit, Ledger, LedgerPolicy, Posting};
use crate::service::rules::{Rules, RulesCache};
use crate::service::tiers::growth_window;
use crate::store;
use crate::store::ledger::{LockedMember, WorkReads};

/// Opens units of work; clones share the database pool and the rules cache.
#[derive(Clone)]
pub struct PointsEngine {
    db: DatabaseConnection,
    clock: Arc<Clock>,
    policy: LedgerPolicy,
    rules: RulesCache,
}

impl PointsEngine {
    pub fn new(db: DatabaseConnection, clock: Arc<Clock>, policy: LedgerPolicy) -> Self {
        Self {
            db,
            clock,
            policy,
            rules: RulesCache::default(),
        }
    }

    pub fn policy(&self) -> LedgerPolicy {
        self.policy
    }

    pub fn rules_cache(&self) -> &RulesCache {
        &self.rules
    }

    /// The rules now, for requests that lock no member (one statement for the version).
    ///
    /// # Errors
    /// `INTERNAL` on database failure.
    pub async fn rules(&self) -> Result<Arc<Rules>, AppError> {
        self.rules.latest(&self.db).await
    }

    /// Opens a unit of work on `member`: its points settled up to now, the rules current.
    ///
    /// # Errors
    /// `NOT_FOUND` for an unknown member; `UNAVAILABLE`/`INTERNAL` on database failure.
    pub async fn begin(&self, member: MemberId) -> Result<MemberWork, AppError> {
        let now = self.clock.now();
        let month = MonthKey::of(now, self.policy.timezone);
        let week = leaderboard::week_of(now, self.policy.timezone);
        let (first, last) = growth_window(now, self.policy);
        let txn = store::begin(&self.db).await?;
        let locked = store::ledger::lock_member_for_work(
            &txn,
            member,
            WorkReads {
                month: month.as_str(),
                week: &week,
                growth_months: (&first, &last),
                now,
            },
        )
        .await?;
        let rules = self.rules.at(&txn, locked.rules_version).await?;
        let mut work = MemberWork {
            txn,
            member: locked,
            rules,
            policy: self.policy,
            now,
            settled: (0, 0),
        };
        if work.member.settle_due {
            work.settled = work.settle().await?;
        }
        Ok(work)
    }
}

/// One member's points transaction. Dropping it without `commit` rolls everything back.
pub struct MemberWork {
    txn: DatabaseTransaction,
    pub member: LockedMember,
    pub rules: Arc<Rules>,
    pub policy: LedgerPolicy,
    /// The time of the action: every entry, lot and notice of the work carries it.
    pub now: DateTime<Utc>,
    /// What opening the work settled: (purchase points made available, points expired).
    pub settled: (i64, i64),
}

impl MemberWork {
    /// The transaction, for the service's own reads and writes beside the ledger.
    pub fn txn(&self) -> &DatabaseTransaction {
        &self.txn
    }

    /// The ledger of this work, and its member: for steps that post for the member.
    pub fn split(&mut self) -> (Ledger<'_>, &mut LockedMember) {
        (
            Ledger {
                db: &self.txn,
                rules: &self.rules,
                policy: self.policy,
                now: self.now,
            },
            &mut self.member,
        )
    }

    /// The ledger of this work, for posting to another member it locked with `lock_other`.
    pub fn ledger(&self) -> Ledger<'_> {
        Ledger {
            db: &self.txn,
            rules: &self.rules,
            policy: self.policy,
            now: self.now,
        }
    }

    /// Locks another member in this transaction (an inviter, say); their writes go through at
    /// once.
    ///
    /// # Errors
    /// `NOT_FOUND` for an unknown member.
    pub async fn lock_other(&self, member: MemberId) -> Result<LockedMember, AppError> {
        store::ledger::lock_member(&self.txn, member).await
    }

    /// Credits the member (see `Ledger::credit`).
    ///
    /// # Errors
    /// As `Ledger::credit`.
    pub async fn credit(&mut self, credit: Credit<'_>) -> Result<Posting, AppError> {
        let (ledger, member) = self.split();
        ledger.credit(member, credit).await
    }

    /// Debits the member (see `Ledger::debit`).
    ///
    /// # Errors
    /// As `Ledger::debit`.
    pub async fn debit(&mut self, debit: Debit<'_>) -> Result<Posting, AppError> {
        let (ledger, member) = self.split();
        ledger.debit(member, debit).await
    }

    /// Settles matured purchases and lapsed lots (see `Ledger::settle`).
    ///
    /// # Errors
    /// As `Ledger::settle`.
    pub async fn settle(&mut self) -> Result<(i64, i64), AppError> {
        let (ledger, member) = self.split();
        ledger.settle(member).await
    }

    /// Commits, then puts the member's new standings on the boards (from what the work read
    /// and wrote: no query after the commit).
    ///
    /// # Errors
    /// As `commit`.
    pub async fn commit_to_boards(self, boards: &LeaderboardService) -> Result<(), AppError> {
        let month = MonthKey::of(self.now, self.policy.timezone);
        let week = leaderboard::week_of(self.now, self.policy.timezone);
        let standings = self
            .member
            .board_standings(month.as_str(), &week, boards.streak_cutoff());
        let member = self.member.id;
        self.commit().await?;
        match standings {
            Some(standings) => boards.record(member, standings).await,
            None => boards.touch(member).await,
        }
        Ok(())
    }

    /// Writes the member's held-back columns and counters, then commits.
    ///
    /// # Errors
    /// `INTERNAL`/`UNAVAILABLE` on database failure (nothing is then kept).
    pub async fn commit(mut self) -> Result<(), AppError> {
        store::ledger::flush(&self.txn, &mut self.member).await?;
        self.txn.commit().await?;
        Ok(())
    }
}
