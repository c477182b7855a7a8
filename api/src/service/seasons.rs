//! Weekly stars, season rewards and personal reports (SPEC §18).
//!
//! Settling: every instance's scheduled pass looks for (board, period)s whose return window
//! has closed and settles each one in a transaction that reads the standings from the database
//! (never from Redis), claims the period by inserting its unique row and archives the ranks
//! with what each wins. Paying is separate: each due rank is paid in the winner's unit of work,
//! which first marks the rank paid with a conditional update, so a rank is paid once however
//! many passes, retries or instances reach it — and a settlement interrupted between the two
//! is paid by a later pass.

use std::sync::Arc;

use chrono::{DateTime, Datelike, Months, NaiveDate, Utc};
use sea_orm::DatabaseConnection;

use crate::domain::ids::MemberId;
use crate::domain::leaderboard::{self, Board};
use crate::domain::notification::{Notice, NoticeKind};
use crate::domain::points::EntryKind;
use crate::domain::season::{self, ArchivedRank, BoardReward, Payout, ReportPeriod};
use crate::error::AppError;
use crate::infra::clock::Clock;
use crate::service::ledger::Credit;
use crate::service::rewards;
use crate::service::work::PointsEngine;
use crate::store;

/// Due payouts read per batch.
const PAYOUT_BATCH: u64 = 100;

/// What one settlement pass did.
#[derive(Debug, Clone, Copy, Default)]
pub struct SettleRun {
    /// (board, period)s this pass settled.
    pub settled: u64,
    /// Ranks this pass paid.
    pub paid: u64,
}

/// An archived rank as shown.
#[derive(Debug, Clone)]
pub struct ArchiveEntry {
    pub rank: ArchivedRank,
    pub display_name: String,
    pub avatar_url: Option<String>,
}

/// A member's month or year (个人战报 / 年度总结).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub period: ReportPeriod,
    /// "2026-03" or "2026".
    pub label: String,
    pub points_earned: i64,
    pub points_spent: i64,
    pub sign_ins: i64,
    pub best_streak: i64,
    pub redemptions: i64,
    pub tier_at_start: String,
    pub tier_at_end: String,
    pub badges: Vec<String>,
    /// On the points board (the month's, or the year's members who earned).
    pub percentile: Option<u8>,
    /// Members the percentile compares with, the member included.
    pub compared_with: u64,
    /// The member's place on each board with a month edition: POINTS_MONTH and KOC_MONTH.
    pub percentiles: Vec<BoardPercentile>,
}

/// A member's percentile on one board of the report's period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoardPercentile {
    pub board: Board,
    /// What the member scored: points earned, or KOC score.
    pub score: i64,
    pub percentile: Option<u8>,
    pub compared_with: u64,
}

pub struct SeasonService {
    db: DatabaseConnection,
    clock: Arc<Clock>,
    engine: PointsEngine,
}

impl SeasonService {
    pub fn new(db: DatabaseConnection, clock: Arc<Clock>, engine: PointsEngine) -> Self {
        Self { db, clock, engine }
    }

    /// Sets what a board's ranks win (`setBoardRewards`); an empty list stops paying. Periods
    /// ending after the board first got rewards are settled with the rewards set when they
    /// are settled.
    ///
    /// # Errors
    /// `VALIDATION` on `board` or `rewards` (ranks, points, an unknown reward or badge).
    pub async fn set_rewards(
        &self,
        board: Board,
        rewards: Vec<BoardReward>,
    ) -> Result<Vec<BoardReward>, AppError> {
        season::check_rewards(board, &rewards)?;
        for reward in &rewards {
            if let Some(id) = reward.reward_id
                && store::rewards::find_reward(&self.db, id.get())
                    .await?
                    .is_none()
            {
                return Err(AppError::validation("rewards", format!("no reward {id}")));
            }
            if let Some(code) = &reward.badge_code
                && store::tasks::find_badge(&self.db, code).await?.is_none()
            {
                return Err(AppError::validation("rewards", format!("no badge {code}")));
            }
        }
        let txn = store::begin(&self.db).await?;
        store::seasons::set_rewards(&txn, board, &rewards, self.clock.now()).await?;
        txn.commit().await?;
        self.rewards(board).await
    }

    /// # Errors
    /// `INTERNAL` on database failure.
    pub async fn rewards(&self, board: Board) -> Result<Vec<BoardReward>, AppError> {
        Ok(store::seasons::rewards(&self.db, board).await?)
    }

    /// Settles every (board, period) due and pays what is due (run by every instance's
    /// scheduled pass).
    ///
    /// # Errors
    /// `INTERNAL` on database failure; what was settled or paid stays so.
    pub async fn settle_due(&self) -> Result<SettleRun, AppError> {
        let now = self.clock.now();
        let policy = self.engine.policy();
        let mut run = SettleRun::default();
        for (board, since) in store::seasons::seasons(&self.db).await? {
            let settled = store::seasons::settled(&self.db, board).await?;
            let due = season::due_editions(
                board,
                since,
                now,
                policy.pending_days,
                policy.timezone,
                &settled,
            );
            for period in due {
                if self.settle(board, &period, now).await? {
                    run.settled = run.settled.saturating_add(1);
                }
            }
        }
        run.paid = self.pay_due().await?;
        Ok(run)
    }

    /// Settles one period: reads its standings from the database, claims it and archives
    /// it, all in one transaction. False when another pass already had it.
    async fn settle(
        &self,
        board: Board,
        period: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, AppError> {
        let txn = store::begin(&self.db).await?;
        let rewards = store::seasons::rewards(&txn, board).await?;
        let limit = u64::from(season::archived_ranks(&rewards));
        // Hidden and frozen members are left out by the board's own query; STREAK's cut-off
        // day does not apply to seasonal boards.
        let standings =
            store::leaderboards::top(&txn, board, period, NaiveDate::MIN, limit).await?;
        if !store::seasons::claim_settlement(&txn, board, period, standings.len(), now).await? {
            return Ok(false);
        }
        store::seasons::archive(&txn, board, period, &standings, &rewards).await?;
        txn.commit().await?;
        tracing::info!(
            board = board.name(),
            period,
            ranked = standings.len(),
            "board settled"
        );
        Ok(true)
    }

    /// Pays every archived rank still due; returns how many this pass paid.
    async fn pay_due(&self) -> Result<u64, AppError> {
        let mut paid = 0_u64;
        let mut failed = 0_usize;
        loop {
            let due = store::seasons::due_payouts(&self.db, PAYOUT_BATCH).await?;
            // Ranks that failed stay due; stop rather than read them again this pass.
            let Some(batch) = due.get(failed..).filter(|b| !b.is_empty()) else {
                break;
            };
            for rank in batch {
                match self.pay(rank).await {
                    Ok(true) => paid = paid.saturating_add(1),
                    Ok(false) => {}
                    Err(error) => {
                        failed = failed.saturating_add(1);
                        tracing::warn!(%error, board = rank.board.name(), period = rank.period, rank = rank.rank, "season reward not paid yet");
                    }
                }
            }
        }
        Ok(paid)
    }

    /// Pays one rank in the winner's unit of work; false when another pass paid it first, or
    /// when the winner is frozen and the prize is withheld. Each part is keyed, so a rank that
    /// was somehow due again replays what it already gave instead of giving it twice.
    async fn pay(&self, rank: &ArchivedRank) -> Result<bool, AppError> {
        let mut work = self.engine.begin(rank.member).await?;
        // Frozen since the settlement (风控): the prize is withheld, never paid.
        let outcome = if work.member.frozen {
            Payout::Withheld
        } else {
            Payout::Paid
        };
        let (board, period) = (rank.board, rank.period.as_str());
        if !store::seasons::settle_payout(work.txn(), board, period, rank.rank, outcome).await? {
            return Ok(false);
        }
        if outcome == Payout::Withheld {
            work.commit().await?;
            return Ok(false);
        }
        let now = work.now;
        let key = format!("season:{}:{}", rank.board.name(), rank.period);
        if rank.points > 0 {
            work.credit(Credit::keyed(
                EntryKind::SeasonReward,
                rank.points,
                &key,
                Some(&key),
            ))
            .await?;
        }
        let mut prize = Vec::new();
        if let Some(reward_id) = rank.reward_id {
            let reward_key = format!("{key}:reward");
            let given = store::rewards::redemption_by_key(work.txn(), rank.member, &reward_key)
                .await?
                .is_some();
            let (ledger, member) = work.split();
            let granted = if given {
                store::rewards::find_reward(ledger.db, reward_id.get()).await?
            } else {
                rewards::grant_free(&ledger, member, reward_id, &reward_key)
                    .await?
                    .map(|(reward, _)| reward)
            };
            if let Some(reward) = granted {
                prize.push(reward.title);
            }
        }
        if let Some(code) = &rank.badge_code
            && let Some(badge) = store::tasks::find_badge(work.txn(), code).await?
        {
            store::tasks::grant_badge(work.txn(), rank.member, code, now, badge.expires(now))
                .await?;
            prize.push(format!("「{}」勋章", badge.name));
        }
        if rank.points > 0 {
            prize.push(format!("{} 积分", rank.points));
        }
        let notice = Notice {
            kind: NoticeKind::SeasonReward,
            points: (rank.points > 0).then_some(rank.points),
            balance: Some(work.member.balance),
            title: format!(
                "恭喜上榜：{} 第 {} 名",
                board_title(rank.board, &rank.period),
                rank.rank
            ),
            body: format!("你的榜单奖励已发放：{}。", prize.join("、")),
        };
        work.ledger()
            .reach()
            .notify(rank.member, notice, Some(&key), Some(&key))
            .await?;
        work.commit().await?;
        Ok(true)
    }

    /// The archived standings of a settled period (`boardArchive`); `None` when it was not
    /// settled.
    ///
    /// # Errors
    /// `VALIDATION` on `period` when it is not one of the board's periods.
    pub async fn archive(
        &self,
        board: Board,
        period: &str,
        first: u64,
    ) -> Result<Option<Vec<ArchiveEntry>>, AppError> {
        if board.period_days(period).is_none() {
            return Err(AppError::validation(
                "period",
                "must be a week (2026-W10) of a weekly board or a month (2026-03) of a monthly one",
            ));
        }
        let Some(ranks) = store::seasons::archive_page(&self.db, board, period, first).await?
        else {
            return Ok(None);
        };
        let ids: Vec<MemberId> = ranks.iter().map(|r| r.member).collect();
        let looks = store::leaderboards::appearances(&self.db, &ids, self.clock.now()).await?;
        Ok(Some(
            ranks
                .into_iter()
                .map(|rank| {
                    let look = looks.iter().find(|a| a.member == rank.member);
                    ArchiveEntry {
                        display_name: leaderboard::display_name(
                            look.and_then(|a| a.nickname.as_deref()),
                            look.map_or("", |a| a.invite_code.as_str()),
                        ),
                        avatar_url: look.and_then(|a| a.avatar_url.clone()),
                        rank,
                    }
                })
                .collect(),
        ))
    }

    /// The member's month or year (`myReport`), from the month counters.
    ///
    /// # Errors
    /// `NOT_FOUND` for an unknown member.
    pub async fn report(
        &self,
        member: MemberId,
        period: ReportPeriod,
        at: NaiveDate,
    ) -> Result<Report, AppError> {
        let (first, last) = season::report_months(period, at);
        let me = store::ledger::read_member(&self.db, member).await?;
        let rows = store::seasons::member_months_between(&self.db, member, &first, &last).await?;
        let points_earned = rows
            .iter()
            .map(|r| r.earned.saturating_sub(r.refunded))
            .sum::<i64>();
        let changes = store::seasons::tier_changes(&self.db, member).await?;
        let before_first = month_before(&first);
        let tier_at_start = season::tier_at_end_of(&before_first, &changes, &me.tier_code);
        let tier_at_end = season::tier_at_end_of(&last, &changes, &me.tier_code);
        let tz = self.engine.policy().timezone;
        let start = month_start(&first, 0, tz);
        let end = month_start(&last, 1, tz);
        let badges = match (start, end) {
            (Some(start), Some(end)) => {
                store::seasons::badges_granted_between(&self.db, member, start, end).await?
            }
            _ => Vec::new(),
        };
        let koc_score = rows.iter().map(|r| r.koc_score).sum::<i64>();
        let mine = [points_earned, koc_score];
        let standing = if mine.iter().any(|m| *m > 0) {
            store::seasons::standing_among(&self.db, member, &first, &last, mine).await?
        } else {
            [(0, 0); 2]
        };
        let percentiles: Vec<BoardPercentile> = [Board::PointsMonth, Board::KocMonth]
            .into_iter()
            .zip(mine)
            .zip(standing)
            .map(|((board, score), (others, ahead))| {
                let on_board = score > 0;
                let total = if on_board {
                    others.saturating_add(1)
                } else {
                    0
                };
                BoardPercentile {
                    board,
                    score,
                    percentile: season::percentile(ahead, total).filter(|_| on_board),
                    compared_with: total,
                }
            })
            .collect();
        let (percentile, compared_with) = percentiles
            .first()
            .map_or((None, 0), |p| (p.percentile, p.compared_with));
        Ok(Report {
            period,
            label: match period {
                ReportPeriod::Month => first.clone(),
                ReportPeriod::Year => format!("{:04}", at.year()),
            },
            points_earned,
            points_spent: rows.iter().map(|r| r.redeemed).sum(),
            sign_ins: rows.iter().map(|r| r.sign_ins).sum(),
            best_streak: rows.iter().map(|r| r.best_streak).max().unwrap_or(0),
            redemptions: rows.iter().map(|r| r.redemptions).sum(),
            tier_at_start,
            tier_at_end,
            badges,
            percentile,
            compared_with,
            percentiles,
        })
    }
}

/// The month before "YYYY-MM".
fn month_before(month: &str) -> String {
    crate::domain::points::MonthKey::parse(month)
        .ok()
        .and_then(|first| first.checked_sub_months(Months::new(1)))
        .map(|day| {
            crate::domain::points::MonthKey::of_day(day)
                .as_str()
                .to_owned()
        })
        .unwrap_or_default()
}

/// The first instant of the month `after` months after "YYYY-MM", business time.
fn month_start(month: &str, after: u32, tz: chrono_tz::Tz) -> Option<DateTime<Utc>> {
    let first = crate::domain::points::MonthKey::parse(month).ok()?;
    leaderboard::start_of_day(first.checked_add_months(Months::new(after))?, tz)
}

/// How a settled board reads in a notice: "2026-W10 每周积分榜".
fn board_title(board: Board, period: &str) -> String {
    let name = match board {
        Board::PointsWeek => "每周积分榜",
        Board::SignInsWeek => "每周签到榜",
        Board::PointsMonth => "月度积分榜",
        Board::KocMonth => "达人月榜",
        Board::Streak => "连续签到榜",
        Board::Referrals => "邀请榜",
    };
    format!("{period} {name}")
}
