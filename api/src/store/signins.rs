//! The `sign_ins` calendar, the member's streak columns, and growth entries.

use chrono::{DateTime, NaiveDate, Utc};
use entity::{growth_entries, members, sign_ins};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
};

use crate::domain::ids::MemberId;
use crate::domain::signin::SignedDay;
use crate::error::UniqueIndex;

pub const UQ_MEMBER_DAY: UniqueIndex = UniqueIndex {
    name: "uq_sign_ins_member_day",
    sqlite_columns: "sign_ins.member_id, sign_ins.day",
};

/// How a day came to be signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DayKind {
    SignIn,
    MakeUp,
    /// Covered by a streak freeze.
    Freeze,
}

impl DayKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SignIn => "SIGN_IN",
            Self::MakeUp => "MAKE_UP",
            Self::Freeze => "FREEZE",
        }
    }

    pub fn parse(raw: &str) -> Self {
        match raw {
            "MAKE_UP" => Self::MakeUp,
            "FREEZE" => Self::Freeze,
            _ => Self::SignIn,
        }
    }
}

/// A day on a member's calendar.
#[derive(Debug, Clone, Copy)]
pub struct CalendarDay {
    pub day: NaiveDate,
    pub kind: DayKind,
    pub streak: i32,
    pub points: i64,
}

/// Records a signed day.
///
/// # Errors
/// Database errors; a day already on the calendar violates `UQ_MEMBER_DAY`.
pub async fn insert(
    db: &impl ConnectionTrait,
    member: MemberId,
    day: CalendarDay,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let row = sign_ins::ActiveModel {
        member_id: Set(member.get()),
        day: Set(day.day),
        kind: Set(day.kind.as_str().to_owned()),
        streak: Set(day.streak),
        points: Set(day.points),
        created_at: Set(now),
        ..Default::default()
    };
    sign_ins::Entity::insert(row).exec(db).await.map(|_| ())
}

/// The member's calendar between two days (inclusive), oldest first.
pub async fn between(
    db: &impl ConnectionTrait,
    member: MemberId,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<CalendarDay>, DbErr> {
    let rows = sign_ins::Entity::find()
        .filter(sign_ins::Column::MemberId.eq(member.get()))
        .filter(sign_ins::Column::Day.gte(from))
        .filter(sign_ins::Column::Day.lte(to))
        .order_by_asc(sign_ins::Column::Day)
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|row| CalendarDay {
            day: row.day,
            kind: DayKind::parse(&row.kind),
            streak: row.streak,
            points: row.points,
        })
        .collect())
}

/// Every signed day of the member up to `until`, newest first (make-ups recompute runs from it).
pub async fn days_until(
    db: &impl ConnectionTrait,
    member: MemberId,
    until: NaiveDate,
) -> Result<Vec<SignedDay>, DbErr> {
    let rows = sign_ins::Entity::find()
        .filter(sign_ins::Column::MemberId.eq(member.get()))
        .filter(sign_ins::Column::Day.lte(until))
        .order_by_desc(sign_ins::Column::Day)
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|row| SignedDay {
            day: row.day,
            counts: DayKind::parse(&row.kind) != DayKind::Freeze,
        })
        .collect())
}

/// The member's streak columns after a sign-in or make-up.
#[derive(Debug, Clone)]
pub struct StreakColumns {
    pub current_streak: i32,
    pub last_sign_in_day: Option<NaiveDate>,
    pub total_sign_ins: i32,
    pub streak_freezes: i32,
    /// When the streak changed (the STREAK board's tie-break).
    pub changed_at: DateTime<Utc>,
}

/// Sets the streak columns on a member update.
pub fn streak_columns(
    update: sea_orm::UpdateMany<members::Entity>,
    columns: &StreakColumns,
) -> sea_orm::UpdateMany<members::Entity> {
    update
        .col_expr(
            members::Column::CurrentStreak,
            Expr::value(columns.current_streak),
        )
        .col_expr(
            members::Column::LastSignInDay,
            Expr::value(columns.last_sign_in_day),
        )
        .col_expr(
            members::Column::TotalSignIns,
            Expr::value(columns.total_sign_ins),
        )
        .col_expr(
            members::Column::StreakFreezes,
            Expr::value(columns.streak_freezes),
        )
        // A sign-in or make-up is a recent day; the daily facts pass drops the old ones.
        .col_expr(
            members::Column::SignIns30d,
            Expr::col(members::Column::SignIns30d).add(1),
        )
        .col_expr(
            members::Column::StreakAt,
            Expr::value(crate::domain::leaderboard::arrival(columns.changed_at)),
        )
}

/// Records a growth entry (the member's lifetime total moves with `ledger::add_growth_total`).
pub async fn insert_growth(
    db: &impl ConnectionTrait,
    member: MemberId,
    amount: i64,
    source: &str,
    reference: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let row = growth_entries::ActiveModel {
        member_id: Set(member.get()),
        amount: Set(amount),
        source: Set(source.to_owned()),
        reference: Set(reference.map(str::to_owned)),
        occurred_at: Set(now),
        ..Default::default()
    };
    growth_entries::Entity::insert(row)
        .exec_without_returning(db)
        .await
        .map(|_| ())
}
