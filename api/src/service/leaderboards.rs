//! Leaderboards (SPEC §9): kept in Redis after every commit, rebuilt from the database when
//! missing, and answered from the database when Redis is not configured or not answering.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use chrono::{Days, NaiveDate};
use sea_orm::DatabaseConnection;

use crate::domain::ids::MemberId;
use crate::domain::leaderboard::{self, Board};
use crate::error::AppError;
use crate::infra::clock::Clock;
use crate::infra::leaderboard::{BoardCache, Place, RedisStanding};
use crate::store::leaderboards::{self as board_store, Appearance, Standing};
use crate::store::programme;

/// Rows read from the database per rebuild batch.
const REBUILD_BATCH: u64 = 1000;

/// Where an answer came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Redis,
    Database,
}

/// One row of a board as shown.
#[derive(Debug, Clone)]
pub struct Entry {
    pub rank: u64,
    pub member: MemberId,
    pub display_name: String,
    pub avatar_url: Option<String>,
    pub tier_code: String,
    /// The badge the member shows (勋章), while they hold it.
    pub badge: Option<String>,
    pub score: i64,
}

#[derive(Debug, Clone)]
pub struct BoardView {
    pub board: Board,
    /// The month ("2026-11"), day (STREAK) or "all" (REFERRALS) shown.
    pub edition: String,
    pub entries: Vec<Entry>,
    /// The caller's own row, even outside the top; `None` when they are not on the board.
    pub me: Option<Entry>,
    pub source: Source,
}

/// The database's note that some instance could not write a board: the boards are stale until
/// a rebuild, even if that instance is gone.
const STALE_SETTING: &str = "leaderboards_stale";

pub struct LeaderboardService {
    db: DatabaseConnection,
    clock: Arc<Clock>,
    cache: Option<BoardCache>,
    /// A write of this instance missed Redis since the last rebuild.
    stale: AtomicBool,
}

impl LeaderboardService {
    pub fn new(db: DatabaseConnection, clock: Arc<Clock>, cache: Option<BoardCache>) -> Self {
        Self {
            db,
            clock,
            cache,
            stale: AtomicBool::new(false),
        }
    }

    fn today(&self) -> NaiveDate {
        self.clock.today()
    }

    fn yesterday(today: NaiveDate) -> NaiveDate {
        today.checked_sub_days(Days::new(1)).unwrap_or(today)
    }

    /// Seconds the edition lives from now (0 = kept for good); `None` when already past.
    fn ttl(&self, board: Board, today: NaiveDate) -> Option<u64> {
        match board.expires_at(today, self.clock.timezone()) {
            None => Some(0),
            Some(at) => u64::try_from((at - self.clock.now()).num_seconds())
                .ok()
                .filter(|s| *s > 0),
        }
    }

    /// Brings the member's place on every board up to date after a commit. Redis trouble is
    /// logged, never returned: the database already holds the truth, and a rebuild restores
    /// the board.
    pub async fn touch(&self, member: MemberId) {
        let Some(cache) = &self.cache else {
            return;
        };
        if let Err(error) = self.push_member(cache, member).await {
            tracing::debug!(%error, member.id = %member, "leaderboard update skipped");
            self.mark_stale().await;
        }
    }

    /// Remembers that a board missed a write, here and (once per outage) in the database.
    async fn mark_stale(&self) {
        if !self.stale.swap(true, Ordering::SeqCst) {
            tracing::warn!("a leaderboard missed a write: it is rebuilt once Redis answers");
            if let Err(error) = programme::set_setting(&self.db, STALE_SETTING, 1).await {
                tracing::warn!(%error, "the stale-board note was not stored");
            }
        }
    }

    /// Rebuilds every current board when one missed a write (here, or on an instance that
    /// noted it in the database) and Redis answers again; run by every instance now and then.
    /// Returns whether it rebuilt.
    ///
    /// # Errors
    /// When Redis still fails or the database does not answer; the boards stay stale and the
    /// next pass tries again.
    pub async fn heal(&self) -> Result<bool, AppError> {
        if self.cache.is_none() {
            return Ok(false);
        }
        let stale = self.stale.swap(false, Ordering::SeqCst)
            || programme::setting(&self.db, STALE_SETTING, 0).await? > 0;
        if !stale {
            return Ok(false);
        }
        match self.rebuild_all().await {
            Ok(rebuilt) => {
                programme::set_setting(&self.db, STALE_SETTING, 0).await?;
                tracing::info!(rebuilt, "stale leaderboards rebuilt");
                Ok(true)
            }
            Err(error) => {
                self.stale.store(true, Ordering::SeqCst);
                Err(error)
            }
        }
    }

    /// Puts the member's standings, as a unit of work left them, on every board after its
    /// commit: one Redis round trip and no database read. Redis trouble is handled as in
    /// `touch`.
    pub async fn record(&self, member: MemberId, standings: Vec<(Board, Option<Standing>)>) {
        let Some(cache) = &self.cache else {
            return;
        };
        if let Err(error) = self.push_standings(cache, member, standings).await {
            tracing::debug!(%error, member.id = %member, "leaderboard update skipped");
            self.mark_stale().await;
        }
    }

    /// Yesterday in the business calendar: a streak whose last day is before it is over.
    pub fn streak_cutoff(&self) -> NaiveDate {
        Self::yesterday(self.today())
    }

    async fn push_member(&self, cache: &BoardCache, member: MemberId) -> Result<(), AppError> {
        let today = self.today();
        let month = Board::PointsMonth.edition(today);
        let week = Board::PointsWeek.edition(today);
        let standings =
            board_store::member_standings(&self.db, member, &month, &week, Self::yesterday(today))
                .await?;
        self.push_standings(cache, member, standings).await
    }

    async fn push_standings(
        &self,
        cache: &BoardCache,
        member: MemberId,
        standings: Vec<(Board, Option<Standing>)>,
    ) -> Result<(), AppError> {
        let today = self.today();
        let editions: Vec<(Board, String, Option<i64>, u64)> = standings
            .into_iter()
            .filter_map(|(board, standing)| {
                let ttl = self.ttl(board, today)?;
                Some((
                    board,
                    board.edition(today),
                    standing.map(|s| sort_key(&s)),
                    ttl,
                ))
            })
            .collect();
        let places: Vec<Place<'_>> = editions
            .iter()
            .map(|(board, edition, key, ttl)| Place {
                board: board.name(),
                edition,
                sort_key: *key,
                ttl_secs: *ttl,
            })
            .collect();
        cache
            .push(&leaderboard::set_member(member.get()), &places)
            .await?;
        Ok(())
    }

    /// The top `first` of a board and the caller's own place.
    ///
    /// # Errors
    /// `INTERNAL` on database failure.
    pub async fn board(
        &self,
        board: Board,
        first: u64,
        viewer: Option<MemberId>,
    ) -> Result<BoardView, AppError> {
        let today = self.today();
        let edition = board.edition(today);
        if let Some(cache) = &self.cache {
            match self
                .read_redis(cache, board, &edition, today, first, viewer)
                .await
            {
                Ok(Some(view)) => return Ok(view),
                Ok(None) => {}
                Err(error) => {
                    tracing::warn!(%error, board = board.name(), "leaderboard read from the database");
                }
            }
        }
        self.read_database(board, &edition, today, first, viewer)
            .await
    }

    async fn read_redis(
        &self,
        cache: &BoardCache,
        board: Board,
        edition: &str,
        today: NaiveDate,
        first: u64,
        viewer: Option<MemberId>,
    ) -> Result<Option<BoardView>, AppError> {
        let me_key = viewer.map(|m| leaderboard::set_member(m.get()));
        let read = match cache
            .read(board.name(), edition, first, me_key.as_deref())
            .await?
        {
            Some(read) => read,
            // Missing: rebuild it, unless another rebuild is under way (then the database
            // answers this once), and read again.
            None => {
                if !self.rebuild(cache, board, today).await? {
                    return Ok(None);
                }
                // An empty board has no key even after its rebuild.
                cache
                    .read(board.name(), edition, first, me_key.as_deref())
                    .await?
                    .unwrap_or(RedisStanding {
                        top: Vec::new(),
                        me: None,
                    })
            }
        };
        let ranked: Vec<(u64, MemberId, i64)> = read
            .top
            .iter()
            .zip(1_u64..)
            .map(|((member, key), rank)| {
                (rank, MemberId::new(*member), leaderboard::value_of(*key))
            })
            .collect();
        let me = match (viewer, read.me) {
            (Some(member), Some((rank, key))) => {
                Some((rank.saturating_add(1), member, leaderboard::value_of(key)))
            }
            _ => None,
        };
        let view = self
            .dress(board, edition, ranked, me, Source::Redis)
            .await?;
        Ok(Some(view))
    }

    async fn read_database(
        &self,
        board: Board,
        edition: &str,
        today: NaiveDate,
        first: u64,
        viewer: Option<MemberId>,
    ) -> Result<BoardView, AppError> {
        let yesterday = Self::yesterday(today);
        let top = board_store::top(&self.db, board, edition, yesterday, first).await?;
        let ranked = top
            .iter()
            .zip(1_u64..)
            .map(|(s, rank)| (rank, s.member, s.value))
            .collect();
        let me = match viewer {
            Some(member) => {
                match board_store::standing_of(&self.db, board, edition, yesterday, member).await? {
                    Some(standing) => {
                        let ahead =
                            board_store::ahead_of(&self.db, board, edition, yesterday, standing)
                                .await?;
                        Some((ahead.saturating_add(1), member, standing.value))
                    }
                    None => None,
                }
            }
            None => None,
        };
        self.dress(board, edition, ranked, me, Source::Database)
            .await
    }

    /// Adds names, avatars and tiers (one query for the whole page).
    async fn dress(
        &self,
        board: Board,
        edition: &str,
        ranked: Vec<(u64, MemberId, i64)>,
        me: Option<(u64, MemberId, i64)>,
        source: Source,
    ) -> Result<BoardView, AppError> {
        let mut ids: Vec<MemberId> = ranked.iter().map(|(_, m, _)| *m).collect();
        ids.extend(me.iter().map(|(_, m, _)| *m));
        let appearances = board_store::appearances(&self.db, &ids, self.clock.now()).await?;
        let entry = |(rank, member, score): (u64, MemberId, i64)| {
            let look: Option<&Appearance> = appearances.iter().find(|a| a.member == member);
            Entry {
                rank,
                member,
                display_name: leaderboard::display_name(
                    look.and_then(|a| a.nickname.as_deref()),
                    look.map_or("", |a| a.invite_code.as_str()),
                ),
                avatar_url: look.and_then(|a| a.avatar_url.clone()),
                tier_code: look.map(|a| a.tier_code.clone()).unwrap_or_default(),
                badge: look.and_then(|a| a.badge.clone()),
                score,
            }
        };
        Ok(BoardView {
            board,
            edition: edition.to_owned(),
            entries: ranked.into_iter().map(entry).collect(),
            me: me.map(entry),
            source,
        })
    }

    /// Rebuilds one board edition from the database; false when another rebuild holds it.
    async fn rebuild(
        &self,
        cache: &BoardCache,
        board: Board,
        today: NaiveDate,
    ) -> Result<bool, AppError> {
        let edition = board.edition(today);
        let Some(ttl) = self.ttl(board, today) else {
            return Ok(false);
        };
        if !cache.start_rebuild(board.name(), &edition).await? {
            return Ok(false);
        }
        let yesterday = Self::yesterday(today);
        let mut after = 0_i64;
        loop {
            let rows =
                board_store::page_after(&self.db, board, &edition, yesterday, after, REBUILD_BATCH)
                    .await?;
            let Some(last) = rows.last() else {
                break;
            };
            after = last.member.get();
            let scored: Vec<(String, i64)> = rows
                .iter()
                .map(|s| (leaderboard::set_member(s.member.get()), sort_key(s)))
                .collect();
            cache.add_built(board.name(), &edition, &scored).await?;
        }
        let size = cache.finish_rebuild(board.name(), &edition, ttl).await?;
        tracing::info!(board = board.name(), edition, size, "leaderboard rebuilt");
        Ok(true)
    }

    /// Rebuilds every current board from the database (`rebuildLeaderboards`). Returns the
    /// boards rebuilt; 0 without Redis, where the database answers directly.
    ///
    /// # Errors
    /// `INTERNAL` when Redis or the database fails.
    pub async fn rebuild_all(&self) -> Result<u32, AppError> {
        let Some(cache) = &self.cache else {
            return Ok(0);
        };
        let today = self.today();
        let mut rebuilt = 0_u32;
        for &board in Board::ALL {
            if self.rebuild(cache, board, today).await? {
                rebuilt = rebuilt.saturating_add(1);
            }
        }
        Ok(rebuilt)
    }

    /// Rebuilds the current boards that are missing from Redis (at start-up).
    ///
    /// # Errors
    /// `INTERNAL` when Redis or the database fails.
    pub async fn rebuild_missing(&self) -> Result<u32, AppError> {
        let Some(cache) = &self.cache else {
            return Ok(0);
        };
        let today = self.today();
        let mut rebuilt = 0_u32;
        for &board in Board::ALL {
            if !cache.exists(board.name(), &board.edition(today)).await?
                && self.rebuild(cache, board, today).await?
            {
                rebuilt = rebuilt.saturating_add(1);
            }
        }
        Ok(rebuilt)
    }
}

fn sort_key(standing: &Standing) -> i64 {
    leaderboard::sort_key(
        standing.value,
        standing.arrival.unwrap_or(chrono::DateTime::UNIX_EPOCH),
    )
}
