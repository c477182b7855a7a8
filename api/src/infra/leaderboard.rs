//! Leaderboards as Redis sorted sets (derived state: the database is the source of truth).
//!
//! Each board edition is one sorted set whose score is `domain::leaderboard::sort_key`, so an
//! ascending range is the board in order. A missing set means "not built": readers rebuild it
//! from the database. While a board is missing or being rebuilt, writes also land in a
//! pending set that the rebuild applies last, so no write that commits during a rebuild is
//! lost. Both steps are Lua scripts, atomic on the Redis side.

use crate::infra::redis::Redis;

/// For each board (KEYS in threes: board, pending, building; ARGV: the member, then a score
/// and a TTL per board): ZADD into the board when it exists, and into the pending set while it
/// is missing or being rebuilt. An empty score removes the member (+inf in the pending set).
const PUSH: &str = r"
local member = ARGV[1]
for i = 0, #KEYS / 3 - 1 do
  local board, pending, building = KEYS[i * 3 + 1], KEYS[i * 3 + 2], KEYS[i * 3 + 3]
  local score, ttl = ARGV[i * 2 + 2], tonumber(ARGV[i * 2 + 3])
  local present = redis.call('EXISTS', board) == 1
  if present then
    if score == '' then
      redis.call('ZREM', board, member)
    else
      redis.call('ZADD', board, score, member)
      if ttl > 0 then redis.call('EXPIRE', board, ttl) end
    end
  end
  if (not present) or redis.call('EXISTS', building) == 1 then
    if score == '' then score = '+inf' end
    redis.call('ZADD', pending, score, member)
    redis.call('EXPIRE', pending, 3600)
  end
end
return 1
";

/// Swaps the freshly built set in, then replays the writes that arrived meanwhile.
const FINISH: &str = r"
local built, board, pending, building = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local ttl = tonumber(ARGV[1])
if redis.call('EXISTS', built) == 1 then
  redis.call('RENAME', built, board)
else
  redis.call('DEL', board)
end
local writes = redis.call('ZRANGE', pending, 0, -1, 'WITHSCORES')
for i = 1, #writes, 2 do
  if writes[i + 1] == 'inf' then
    redis.call('ZREM', board, writes[i])
  else
    redis.call('ZADD', board, writes[i + 1], writes[i])
  end
end
redis.call('DEL', pending, building)
if ttl > 0 and redis.call('EXISTS', board) == 1 then redis.call('EXPIRE', board, ttl) end
return redis.call('ZCARD', board)
";

/// Where a member goes on one board edition.
pub struct Place<'a> {
    pub board: &'a str,
    pub edition: &'a str,
    /// `None` takes the member off the board.
    pub sort_key: Option<i64>,
    /// Seconds the edition lives; 0 = for good.
    pub ttl_secs: u64,
}

/// The top of a board and one member's place.
pub struct RedisStanding {
    /// (member id, sort key), in board order.
    pub top: Vec<(i64, i64)>,
    /// The member's 0-based rank and sort key.
    pub me: Option<(u64, i64)>,
}

pub struct BoardCache {
    redis: Redis,
    push: redis::Script,
    finish: redis::Script,
}

/// One board edition's keys.
struct Keys {
    board: String,
    pending: String,
    building: String,
    built: String,
}

fn parse_member(raw: &str) -> Option<i64> {
    raw.parse().ok()
}

fn parse_score(raw: &str) -> Option<i64> {
    raw.parse().ok()
}

impl BoardCache {
    pub fn new(redis: Redis) -> Self {
        Self {
            redis,
            push: redis::Script::new(PUSH),
            finish: redis::Script::new(FINISH),
        }
    }

    fn keys(&self, board: &str, edition: &str) -> Keys {
        // One hash tag for every board key: a script touches several, and on Redis Cluster
        // keys used together must share a slot.
        Keys {
            board: self.redis.key(&["{lb}", "board", board, edition]),
            pending: self.redis.key(&["{lb}", "pending", board, edition]),
            building: self.redis.key(&["{lb}", "building", board, edition]),
            built: self.redis.key(&["{lb}", "built", board, edition]),
        }
    }

    /// Puts a member on several board editions at once (one round trip): each at its sort key,
    /// or off the board (`None`).
    ///
    /// # Errors
    /// Redis errors.
    pub async fn push(&self, member: &str, places: &[Place<'_>]) -> Result<(), redis::RedisError> {
        if places.is_empty() {
            return Ok(());
        }
        let mut invocation = self.push.prepare_invoke();
        invocation.arg(member);
        for place in places {
            let keys = self.keys(place.board, place.edition);
            invocation
                .key(keys.board)
                .key(keys.pending)
                .key(keys.building)
                .arg(place.sort_key.map_or_else(String::new, |k| k.to_string()))
                .arg(place.ttl_secs);
        }
        let mut connection = self.redis.connection().await?;
        let _: i64 = self
            .redis
            .observe(invocation.invoke_async(&mut connection).await)?;
        Ok(())
    }

    /// Whether the board edition is built.
    ///
    /// # Errors
    /// Redis errors.
    pub async fn exists(&self, board: &str, edition: &str) -> Result<bool, redis::RedisError> {
        let mut connection = self.redis.connection().await?;
        self.redis.observe(
            redis::cmd("EXISTS")
                .arg(self.keys(board, edition).board)
                .query_async(&mut connection)
                .await,
        )
    }

    /// Claims the rebuild of a board edition; false when another rebuild is under way.
    ///
    /// # Errors
    /// Redis errors.
    pub async fn start_rebuild(
        &self,
        board: &str,
        edition: &str,
    ) -> Result<bool, redis::RedisError> {
        let keys = self.keys(board, edition);
        let mut connection = self.redis.connection().await?;
        let claimed: Option<String> = self.redis.observe(
            redis::cmd("SET")
                .arg(&keys.building)
                .arg("1")
                .arg("NX")
                .arg("EX")
                .arg(300)
                .query_async(&mut connection)
                .await,
        )?;
        if claimed.is_some() {
            let _: i64 = self.redis.observe(
                redis::cmd("DEL")
                    .arg(&keys.built)
                    .query_async(&mut connection)
                    .await,
            )?;
        }
        Ok(claimed.is_some())
    }

    /// Adds rows to the set being built.
    ///
    /// # Errors
    /// Redis errors.
    pub async fn add_built(
        &self,
        board: &str,
        edition: &str,
        rows: &[(String, i64)],
    ) -> Result<(), redis::RedisError> {
        if rows.is_empty() {
            return Ok(());
        }
        let mut command = redis::cmd("ZADD");
        command.arg(self.keys(board, edition).built);
        for (member, score) in rows {
            command.arg(*score).arg(member);
        }
        let mut connection = self.redis.connection().await?;
        let _: i64 = self
            .redis
            .observe(command.query_async(&mut connection).await)?;
        Ok(())
    }

    /// Swaps the built set in and applies the writes made meanwhile. Returns the board's size.
    ///
    /// # Errors
    /// Redis errors.
    pub async fn finish_rebuild(
        &self,
        board: &str,
        edition: &str,
        ttl_secs: u64,
    ) -> Result<u64, redis::RedisError> {
        let keys = self.keys(board, edition);
        let mut connection = self.redis.connection().await?;
        self.redis.observe(
            self.finish
                .key(keys.built)
                .key(keys.board)
                .key(keys.pending)
                .key(keys.building)
                .arg(ttl_secs)
                .invoke_async(&mut connection)
                .await,
        )
    }

    /// The first `first` entries and `member`'s place, read in one round trip; `None` when the
    /// board edition is not built.
    ///
    /// # Errors
    /// Redis errors.
    pub async fn read(
        &self,
        board: &str,
        edition: &str,
        first: u64,
        member: Option<&str>,
    ) -> Result<Option<RedisStanding>, redis::RedisError> {
        let key = self.keys(board, edition).board;
        let stop = i64::try_from(first).unwrap_or(i64::MAX).saturating_sub(1);
        let mut pipe = redis::pipe();
        pipe.cmd("EXISTS").arg(&key);
        pipe.cmd("ZRANGE")
            .arg(&key)
            .arg(0)
            .arg(stop)
            .arg("WITHSCORES");
        pipe.cmd("ZRANK").arg(&key).arg(member.unwrap_or(""));
        pipe.cmd("ZSCORE").arg(&key).arg(member.unwrap_or(""));
        let mut connection = self.redis.connection().await?;
        type Read = (bool, Vec<(String, String)>, Option<u64>, Option<String>);
        let (exists, range, rank, score): Read = self
            .redis
            .observe(pipe.query_async(&mut connection).await)?;
        if !exists {
            return Ok(None);
        }
        let top = range
            .iter()
            .filter_map(|(m, s)| Some((parse_member(m)?, parse_score(s)?)))
            .collect();
        let me = match (member, rank, score.as_deref().and_then(parse_score)) {
            (Some(_), Some(rank), Some(score)) => Some((rank, score)),
            _ => None,
        };
        Ok(Some(RedisStanding { top, me }))
    }
}
