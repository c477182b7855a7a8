//! Programme steps tests repeat — sign in, adjust points, invite, make a KOC — and the ledger
//! invariants, all through the API or the app's own database.

use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};

use crate::{Session, TestApp};

impl TestApp {
    /// (member id, value) rows of a board straight from the tables, sorted by the documented
    /// rule: more first, then the earlier arrival (none first), then the lower id; hidden and
    /// frozen members left out. `period` is the month or ISO week of a monthly or weekly board,
    /// `yesterday` the day a live streak signed last at the earliest.
    pub async fn board_from_tables(
        &self,
        board: &str,
        period: &str,
        yesterday: &str,
    ) -> Vec<(i64, i64)> {
        let visible = "m.hide_from_leaderboards = false AND m.frozen_at IS NULL";
        let from_months = |value: &str, arrival: &str| {
            format!(
                "SELECT m.id, {value}, {arrival} FROM members m
                 JOIN member_months mm ON mm.member_id = m.id
                 WHERE mm.month = '{period}' AND {value} > 0 AND {visible}"
            )
        };
        let sql = match board {
            "POINTS_MONTH" | "POINTS_WEEK" => {
                from_months("mm.earned - mm.refunded", "mm.earned_at")
            }
            "SIGN_INS_WEEK" => from_months("mm.sign_ins", "mm.sign_ins_at"),
            "KOC_MONTH" => from_months("mm.koc_score", "mm.koc_score_at"),
            "STREAK" => format!(
                "SELECT m.id, CAST(m.current_streak AS BIGINT), m.streak_at FROM members m
                 WHERE m.last_sign_in_day >= '{yesterday}' AND m.current_streak > 0 AND {visible}"
            ),
            _ => format!(
                "SELECT m.id, CAST(m.successful_invites AS BIGINT), m.invites_at FROM members m
                 WHERE m.successful_invites > 0 AND {visible}"
            ),
        };
        let rows = self
            .db
            .query_all_raw(Statement::from_string(self.db.get_database_backend(), sql))
            .await
            .expect("read the board's rows");
        let mut standings: Vec<(i64, i64, Option<chrono::DateTime<chrono::Utc>>)> = rows
            .iter()
            .map(|r| {
                (
                    r.try_get_by_index(0).expect("an id"),
                    r.try_get_by_index(1).expect("a value"),
                    r.try_get_by_index(2).expect("an arrival"),
                )
            })
            .collect();
        standings.sort_by(|a, b| b.1.cmp(&a.1).then(a.2.cmp(&b.2)).then(a.0.cmp(&b.0)));
        standings.into_iter().map(|(id, v, _)| (id, v)).collect()
    }

    /// Signs `member` in and returns the payload (asserting success).
    pub async fn sign_in(&self, member: &Session) -> Value {
        let res = self
            .gql(
                Some(member),
                "mutation { signIn { day basePoints multiplierPercent requestedPoints pointsGranted cutByCap capped streak totalSignIns freezeUsed birthdayPoints memberDayMultiplierPercent balance tomorrowPoints milestoneBonuses { kind threshold points cutByCap } } }",
                json!({}),
            )
            .await;
        res.expect_ok()["signIn"].clone()
    }

    /// The member's spendable balance, read over GraphQL.
    pub async fn balance(&self, member: &Session) -> i64 {
        let res = self
            .gql(Some(member), "{ me { points { balance } } }", json!({}))
            .await;
        res.expect_ok()["me"]["points"]["balance"]
            .as_i64()
            .expect("a balance")
    }

    /// The member's tier code, read over GraphQL.
    pub async fn tier_code(&self, member: &Session) -> String {
        let res = self
            .gql(Some(member), "{ me { tier { code } } }", json!({}))
            .await;
        res.expect_ok()["me"]["tier"]["code"]
            .as_str()
            .expect("a tier code")
            .to_owned()
    }

    /// The given fields of `me.points`.
    pub async fn points(&self, member: &Session, fields: &str) -> Value {
        let query = format!("{{ me {{ points {{ {fields} }} }} }}");
        let res = self.gql(Some(member), &query, json!({})).await;
        res.expect_ok()["me"]["points"].clone()
    }

    /// Sets the app's clock to an RFC 3339 instant.
    pub fn set_clock(&self, rfc3339: &str) {
        let at = chrono::DateTime::parse_from_rfc3339(rfc3339).expect("an RFC 3339 instant");
        self.clock
            .set(at.with_timezone(&chrono::Utc))
            .expect("the test clock moves");
    }

    /// Checks the ledger invariants for every member, after expiring what has lapsed:
    /// balance ≥ 0, balance = sum of entries = sum of spendable lots.
    pub async fn assert_ledger_invariants(&self) {
        self.services
            .points
            .run_expiry()
            .await
            .expect("expiry runs");
        let now = self.clock.now();
        let backend = self.db.get_database_backend();
        let rows = self
            .db
            .query_all_raw(Statement::from_string(
                backend,
                "SELECT id, points_balance FROM members ORDER BY id",
            ))
            .await
            .expect("members");
        for row in rows {
            let id: i64 = row.try_get("", "id").unwrap();
            let balance: i64 = row.try_get("", "points_balance").unwrap();
            assert!(balance >= 0, "member {id} has a negative balance {balance}");
            let entries = self
                .sum(&format!("SELECT CAST(SUM(amount) AS BIGINT) AS n FROM point_entries WHERE member_id = {id}"), vec![])
                .await;
            assert_eq!(balance, entries, "member {id}: balance vs sum of entries");
            let lots = self
                .sum(
                    &format!(
                        "SELECT CAST(SUM(remaining) AS BIGINT) AS n FROM point_lots WHERE member_id = {id} \
                         AND available_at <= $1 AND (expires_at IS NULL OR expires_at > $1)"
                    ),
                    vec![now.into()],
                )
                .await;
            assert_eq!(balance, lots, "member {id}: balance vs spendable lots");
            let negative_lots = self
                .sum(
                    &format!("SELECT COUNT(*) AS n FROM point_lots WHERE member_id = {id} AND remaining < 0"),
                    vec![],
                )
                .await;
            assert_eq!(negative_lots, 0, "member {id} has a lot below zero");
        }
    }

    async fn sum(&self, sql: &str, values: Vec<sea_orm::Value>) -> i64 {
        let backend = self.db.get_database_backend();
        let sql = if backend == sea_orm::DatabaseBackend::Sqlite {
            sql.replace("$1", "?")
        } else {
            sql.to_owned()
        };
        let values = if backend == sea_orm::DatabaseBackend::Sqlite {
            // SQLite binds each `?` separately.
            let count = sql.matches('?').count();
            values.into_iter().cycle().take(count).collect()
        } else {
            values
        };
        let row = self
            .db
            .query_one_raw(Statement::from_sql_and_values(backend, sql, values))
            .await
            .expect("sum query")
            .expect("a row");
        row.try_get::<Option<i64>>("", "n")
            .expect("a number")
            .unwrap_or(0)
    }

    /// An operator's points adjustment for `member` (asserting success); `key` makes it once.
    pub async fn adjust_points(&self, admin: &Session, member: &Session, amount: i64, key: &str) {
        self.gql(
            Some(admin),
            "mutation($m: ID!, $a: Int!, $k: String!) { adjustPoints(memberId: $m, amount: $a, reason: \"test\", idempotencyKey: $k) { balanceAfter } }",
            json!({ "m": member.id, "a": amount, "k": key }),
        )
        .await
        .expect_ok();
    }

    /// Creates a COUPON reward costing `points` and returns its id.
    pub async fn coupon_reward(&self, admin: &Session, title: &str, points: i64) -> Value {
        let res = self
            .gql(
                Some(admin),
                "mutation($i: RewardInput!) { createReward(input: $i) { id } }",
                json!({ "i": { "title": title, "kind": "COUPON", "pointsCost": points } }),
            )
            .await;
        res.expect_ok()["createReward"]["id"].clone()
    }

    /// The member's invite code, read over GraphQL.
    pub async fn invite_code(&self, member: &Session) -> String {
        let res = self
            .gql(Some(member), "{ me { inviteCode } }", json!({}))
            .await;
        res.expect_ok()["me"]["inviteCode"]
            .as_str()
            .expect("an invite code")
            .to_owned()
    }

    /// Names `inviter` as `invitee`'s inviter (asserting success).
    pub async fn bind(&self, invitee: &Session, inviter: &Session) {
        let code = self.invite_code(inviter).await;
        self.gql(
            Some(invitee),
            "mutation($c: String!) { bindInviter(inviteCode: $c) { status } }",
            json!({ "c": code }),
        )
        .await
        .expect_ok();
    }

    /// Moves a member to a tier directly (scenario set-up: earning a tier takes months).
    pub async fn set_tier(&self, member: &Session, code: &str) {
        self.execute(&format!(
            "UPDATE members SET tier_code = '{code}' WHERE id = {}",
            member.id
        ))
        .await;
    }

    /// Makes `member` a KOC the way a member does: applies, and an operator approves.
    pub async fn make_koc(&self, member: &Session, operator: &Session) {
        self.set_tier(member, "REGULAR").await;
        let applied = self
            .gql(
                Some(member),
                r#"mutation { applyKoc(platforms: [{platform: "小红书", handle: "me", followers: 1200}], reason: "我喜欢这个品牌") { id } }"#,
                json!({}),
            )
            .await;
        let id = applied.expect_ok()["applyKoc"]["id"].clone();
        self.gql(
            Some(operator),
            "mutation($id: ID!) { reviewKocApplication(id: $id, approve: true) { status } }",
            json!({ "id": id }),
        )
        .await
        .expect_ok();
    }
}
