//! Correlated subqueries over a member's own rows (month counters, growth, purchases, lots),
//! read in the same statement as the member's row.

use chrono::{DateTime, Utc};
use entity::{member_months, members, point_lots, purchases};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Func, Query};

/// `(SELECT column FROM member_months WHERE member_id = members.id AND month = ?)`.
pub(super) fn month_subquery(column: member_months::Column, month: &str) -> Expr {
    Expr::SubQuery(
        None,
        Box::new(
            Query::select()
                .column((member_months::Entity, column))
                .from(member_months::Entity)
                .and_where(
                    Expr::col((member_months::Entity, member_months::Column::MemberId))
                        .equals((members::Entity, members::Column::Id)),
                )
                .and_where(
                    Expr::col((member_months::Entity, member_months::Column::Month)).eq(month),
                )
                .to_owned()
                .into(),
        ),
    )
}

/// The member's growth stored for the months `first..=last`, as a correlated subquery.
pub(super) fn growth_subquery(first: &str, last: &str) -> Expr {
    let sum = Query::select()
        .expr(Func::coalesce([
            Expr::from(Func::sum(Expr::col((
                member_months::Entity,
                member_months::Column::Growth,
            )))),
            Expr::val(0_i64),
        ]))
        .from(member_months::Entity)
        .and_where(
            Expr::col((member_months::Entity, member_months::Column::MemberId))
                .equals((members::Entity, members::Column::Id)),
        )
        .and_where(Expr::col((member_months::Entity, member_months::Column::Month)).gte(first))
        .and_where(Expr::col((member_months::Entity, member_months::Column::Month)).lte(last))
        .to_owned();
    Expr::from(Func::cast_as(
        Expr::SubQuery(None, Box::new(sum.into())),
        Alias::new("BIGINT"),
    ))
}

/// Which of a member's pending purchases: those whose return window has closed, or not yet.
#[derive(Clone, Copy)]
pub(super) enum PurchaseWindow {
    Matured,
    Open,
}

/// The member's pending purchases in `window` at `now` (correlated with `members.id`).
pub(super) fn due_purchases(
    window: PurchaseWindow,
    now: DateTime<Utc>,
) -> sea_orm::sea_query::SelectStatement {
    let available_at = Expr::col((purchases::Entity, purchases::Column::AvailableAt));
    Query::select()
        .column((purchases::Entity, purchases::Column::PointsGranted))
        .from(purchases::Entity)
        .and_where(
            Expr::col((purchases::Entity, purchases::Column::MemberId))
                .equals((members::Entity, members::Column::Id)),
        )
        .and_where(
            Expr::col((purchases::Entity, purchases::Column::Status))
                .eq(crate::domain::purchase::PurchaseStatus::Pending.as_str()),
        )
        .and_where(match window {
            PurchaseWindow::Matured => available_at.lte(now),
            PurchaseWindow::Open => available_at.gt(now),
        })
        .to_owned()
}

/// The member's lots that lapsed by `now` with points left (correlated with `members.id`).
pub(super) fn lapsed_lots(now: DateTime<Utc>) -> sea_orm::sea_query::SelectStatement {
    Query::select()
        .column((point_lots::Entity, point_lots::Column::Remaining))
        .from(point_lots::Entity)
        .and_where(
            Expr::col((point_lots::Entity, point_lots::Column::MemberId))
                .equals((members::Entity, members::Column::Id)),
        )
        .and_where(Expr::col((point_lots::Entity, point_lots::Column::Remaining)).gt(0))
        .and_where(Expr::col((point_lots::Entity, point_lots::Column::ExpiresAt)).lte(now))
        .to_owned()
}

/// `CAST(COALESCE((SELECT SUM(column) FROM <select>), 0) AS BIGINT)`.
pub(super) fn sum_of(mut select: sea_orm::sea_query::SelectStatement, column: Expr) -> Expr {
    select.clear_selects();
    select.expr(Func::coalesce([
        Expr::from(Func::sum(column)),
        Expr::val(0_i64),
    ]));
    Expr::from(Func::cast_as(
        Expr::SubQuery(None, Box::new(select.into())),
        Alias::new("BIGINT"),
    ))
}
