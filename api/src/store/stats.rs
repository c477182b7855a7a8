//! Aggregates for programme statistics: a handful of grouped queries over indexed ranges,
//! never one query per member.

use chrono::{DateTime, NaiveDate, Utc};
use entity::{koc_applications, koc_submissions, member_months, members, point_entries, sign_ins};
use sea_orm::sea_query::{Alias, Cond, Expr, ExprTrait, Func, Query, SelectStatement, SimpleExpr};
use sea_orm::{ConnectionTrait, DbErr, QueryResult};

use crate::domain::koc::ReviewStatus;

/// Points moved by one entry kind in a period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KindTotals {
    pub kind: String,
    /// Sum of positive entries.
    pub credited: i64,
    /// Sum of negative entries, as a positive number.
    pub debited: i64,
    /// Requested minus granted on credits cut by a cap.
    pub cut_by_cap: i64,
}

/// Sign-in activity: counts over the period and active members in windows ending on its last day.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Activity {
    pub sign_ins: i64,
    pub active: i64,
    pub daily: i64,
    pub weekly: i64,
    pub monthly: i64,
}

/// Where KOC applications and submissions stand.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KocCounts {
    pub applied: i64,
    pub approved: i64,
    pub rejected: i64,
    pub pending_now: i64,
    pub kocs_now: i64,
    pub submitted: i64,
    pub submissions_approved: i64,
}

/// `CAST(COALESCE(SUM(expr), 0) AS BIGINT)`: PostgreSQL sums BIGINT into NUMERIC.
fn total(expr: impl Into<SimpleExpr>) -> SimpleExpr {
    Func::cast_as(
        Func::coalesce([SimpleExpr::from(Func::sum(expr.into())), Expr::val(0)]),
        Alias::new("BIGINT"),
    )
    .into()
}

/// `CAST(COUNT(expr) AS BIGINT)`, the same type on both databases.
fn count(expr: impl Into<SimpleExpr>) -> SimpleExpr {
    Func::cast_as(Func::count(expr.into()), Alias::new("BIGINT")).into()
}

fn count_distinct(expr: impl Into<SimpleExpr>) -> SimpleExpr {
    Func::cast_as(Func::count_distinct(expr.into()), Alias::new("BIGINT")).into()
}

async fn one_row(db: &impl ConnectionTrait, query: &SelectStatement) -> Result<QueryResult, DbErr> {
    db.query_one(query)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound("aggregate row".to_owned()))
}

/// Points credited, debited and cut by caps per entry kind, for entries made in `[start, end)`.
pub async fn points_by_kind(
    db: &impl ConnectionTrait,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Result<Vec<KindTotals>, DbErr> {
    let col = |c: point_entries::Column| Expr::col((point_entries::Entity, c));
    let amount = || col(point_entries::Column::Amount);
    let requested = || col(point_entries::Column::Requested);
    let credited = Expr::case(amount().gt(0), amount()).finally(0);
    let debited = Expr::case(amount().lt(0), Expr::val(0).sub(amount())).finally(0);
    let cut = Expr::case(
        Cond::all()
            .add(amount().gte(0))
            .add(requested().gt(amount())),
        requested().sub(amount()),
    )
    .finally(0);
    let mut query = Query::select();
    query
        .expr(col(point_entries::Column::Kind))
        .expr(total(credited))
        .expr(total(debited))
        .expr(total(cut))
        .from(point_entries::Entity)
        .and_where(col(point_entries::Column::CreatedAt).gte(start))
        .and_where(col(point_entries::Column::CreatedAt).lt(end))
        .group_by_col((point_entries::Entity, point_entries::Column::Kind));
    db.query_all(&query)
        .await?
        .into_iter()
        .map(|row| {
            Ok(KindTotals {
                kind: row.try_get_by_index(0)?,
                credited: row.try_get_by_index(1)?,
                debited: row.try_get_by_index(2)?,
                cut_by_cap: row.try_get_by_index(3)?,
            })
        })
        .collect()
}

/// Points issued in business month `month` (`YYYY-MM`), summed from the members' monthly
/// counters: no shared hot counter.
pub async fn issued_in_month(db: &impl ConnectionTrait, month: &str) -> Result<i64, DbErr> {
    let mut query = Query::select();
    query
        .expr(total(Expr::col((
            member_months::Entity,
            member_months::Column::Earned,
        ))))
        .from(member_months::Entity)
        .and_where(Expr::col((member_months::Entity, member_months::Column::Month)).eq(month));
    one_row(db, &query).await?.try_get_by_index(0)
}

/// Points every member holds now.
pub async fn outstanding_points(db: &impl ConnectionTrait) -> Result<i64, DbErr> {
    let mut query = Query::select();
    query
        .expr(total(Expr::col((
            members::Entity,
            members::Column::PointsBalance,
        ))))
        .from(members::Entity);
    one_row(db, &query).await?.try_get_by_index(0)
}

/// Daily sign-ins (make-ups left out: they fill past days) from `from` to `to`, and distinct
/// signers on `to`, since `week_start` and since `month_start`. One pass over the days needed.
pub async fn activity(
    db: &impl ConnectionTrait,
    from: NaiveDate,
    to: NaiveDate,
    week_start: NaiveDate,
    month_start: NaiveDate,
) -> Result<Activity, DbErr> {
    let col = |c: sign_ins::Column| Expr::col((sign_ins::Entity, c));
    let day = || col(sign_ins::Column::Day);
    let member = || col(sign_ins::Column::MemberId);
    let signers_since = |first: NaiveDate| count_distinct(Expr::case(day().gte(first), member()));
    let mut query = Query::select();
    query
        .expr(count(Expr::case(day().gte(from), member())))
        .expr(signers_since(from))
        .expr(count_distinct(Expr::case(day().eq(to), member())))
        .expr(signers_since(week_start))
        .expr(signers_since(month_start))
        .from(sign_ins::Entity)
        .and_where(col(sign_ins::Column::Kind).eq("SIGN_IN"))
        .and_where(day().gte(Ord::min(from, month_start)))
        .and_where(day().lte(to));
    let row = one_row(db, &query).await?;
    Ok(Activity {
        sign_ins: row.try_get_by_index(0)?,
        active: row.try_get_by_index(1)?,
        daily: row.try_get_by_index(2)?,
        weekly: row.try_get_by_index(3)?,
        monthly: row.try_get_by_index(4)?,
    })
}

/// Members who joined in `[start, end)`.
pub async fn new_members(
    db: &impl ConnectionTrait,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Result<i64, DbErr> {
    let created = || Expr::col((members::Entity, members::Column::CreatedAt));
    let mut query = Query::select();
    query
        .expr(count(Expr::col((members::Entity, members::Column::Id))))
        .from(members::Entity)
        .and_where(created().gte(start))
        .and_where(created().lt(end));
    one_row(db, &query).await?.try_get_by_index(0)
}

/// Members who bought in `[start, end)`, and of those, members who bought at least twice
/// (refunded purchases left out): the repurchase rate's parts.
pub async fn purchasers(
    db: &impl ConnectionTrait,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Result<(i64, i64), DbErr> {
    let backend = db.get_database_backend();
    let (p1, p2) = match backend {
        sea_orm::DatabaseBackend::Postgres => ("$1", "$2"),
        _ => ("?", "?"),
    };
    let sql = format!(
        "SELECT COUNT(*), COALESCE(SUM(CASE WHEN n >= 2 THEN 1 ELSE 0 END), 0) FROM \
         (SELECT member_id, COUNT(*) AS n FROM purchases WHERE status <> 'REFUNDED' \
         AND occurred_at >= {p1} AND occurred_at < {p2} GROUP BY member_id) buyers"
    );
    let row = db
        .query_one_raw(sea_orm::Statement::from_sql_and_values(
            backend,
            sql,
            [start.into(), end.into()],
        ))
        .await?
        .ok_or_else(|| DbErr::RecordNotFound("no aggregate row".into()))?;
    Ok((row.try_get_by_index(0)?, row.try_get_by_index(1)?))
}

/// Members per tier code now.
pub async fn members_by_tier(db: &impl ConnectionTrait) -> Result<Vec<(String, i64)>, DbErr> {
    let mut query = Query::select();
    query
        .expr(Expr::col((members::Entity, members::Column::TierCode)))
        .expr(count(Expr::col((members::Entity, members::Column::Id))))
        .from(members::Entity)
        .group_by_col((members::Entity, members::Column::TierCode));
    db.query_all(&query)
        .await?
        .into_iter()
        .map(|row| Ok((row.try_get_by_index(0)?, row.try_get_by_index(1)?)))
        .collect()
}

/// The KOC funnel: applications made and decided in `[start, end)`, applications waiting
/// now, KOCs now, and manual submissions made and approved in the period.
pub async fn koc_counts(
    db: &impl ConnectionTrait,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Result<KocCounts, DbErr> {
    let within = |at: SimpleExpr| Cond::all().add(at.clone().gte(start)).add(at.lt(end));
    let count_if = |condition: Cond| count(Expr::case(condition, Expr::val(1)));

    let app = |c: koc_applications::Column| Expr::col((koc_applications::Entity, c));
    let app_status =
        |wanted: ReviewStatus| app(koc_applications::Column::Status).eq(wanted.as_str());
    let app_decided = |wanted: ReviewStatus| {
        within(app(koc_applications::Column::ReviewedAt)).add(app_status(wanted))
    };
    let mut applications = Query::select();
    applications
        .expr(count_if(within(app(koc_applications::Column::CreatedAt))))
        .expr(count_if(app_decided(ReviewStatus::Approved)))
        .expr(count_if(app_decided(ReviewStatus::Rejected)))
        .expr(count_if(Cond::all().add(app_status(ReviewStatus::Pending))))
        .from(koc_applications::Entity);
    let applications = one_row(db, &applications).await?;

    let sub = |c: koc_submissions::Column| Expr::col((koc_submissions::Entity, c));
    let mut submissions = Query::select();
    submissions
        .expr(count_if(within(sub(koc_submissions::Column::SubmittedAt))))
        .expr(count_if(
            within(sub(koc_submissions::Column::ReviewedAt))
                .add(sub(koc_submissions::Column::Status).eq(ReviewStatus::Approved.as_str())),
        ))
        .from(koc_submissions::Entity)
        .and_where(sub(koc_submissions::Column::Auto).eq(false));
    let submissions = one_row(db, &submissions).await?;

    let mut kocs = Query::select();
    kocs.expr(count(Expr::col((members::Entity, members::Column::Id))))
        .from(members::Entity)
        .and_where(Expr::col((members::Entity, members::Column::KocLevel)).is_not_null());
    let kocs_now = one_row(db, &kocs).await?.try_get_by_index(0)?;

    Ok(KocCounts {
        applied: applications.try_get_by_index(0)?,
        approved: applications.try_get_by_index(1)?,
        rejected: applications.try_get_by_index(2)?,
        pending_now: applications.try_get_by_index(3)?,
        kocs_now,
        submitted: submissions.try_get_by_index(0)?,
        submissions_approved: submissions.try_get_by_index(1)?,
    })
}
