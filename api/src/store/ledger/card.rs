//! Lock-free reads of a member's points: the member card and the points glance.

use chrono::{DateTime, Utc};
use entity::{members, point_lots, purchases};
use sea_orm::sea_query::Expr;
use sea_orm::{ConnectionTrait, DbErr, EntityTrait, QuerySelect};

use crate::domain::ids::MemberId;
use crate::error::AppError;

use super::correlated::{PurchaseWindow, due_purchases, lapsed_lots, sum_of};

/// A member's points as a read sees them, without a lock or a write, in one statement: the
/// stored balance, plus purchase points whose return window has closed, less lot points that
/// have lapsed (both are settled by the next write or the expiry job); and the purchase points
/// still pending.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, sea_orm::FromQueryResult)]
pub struct PointsGlance {
    pub balance: i64,
    pub pending: i64,
}

/// The sums a points glance adds to the stored balance, read with the member's row.
#[derive(sea_orm::FromQueryResult)]
struct GlanceSums {
    points_balance: i64,
    matured: i64,
    pending: i64,
    lapsed: i64,
}

impl GlanceSums {
    fn glance(&self) -> PointsGlance {
        PointsGlance {
            balance: self
                .points_balance
                .saturating_add(self.matured)
                .saturating_sub(self.lapsed)
                .clamp(0, i64::MAX),
            pending: self.pending,
        }
    }
}

#[derive(sea_orm::FromQueryResult)]
struct CardRow {
    #[sea_orm(nested)]
    member: members::Model,
    matured: i64,
    pending: i64,
    lapsed: i64,
    rules_version: i64,
}

/// Adds the glance's sums at `now` to a select of the member's row: `matured`, `pending`,
/// `lapsed` (`points_balance` comes with the row).
fn with_glance_sums(
    select: sea_orm::Select<members::Entity>,
    now: DateTime<Utc>,
) -> sea_orm::Select<members::Entity> {
    let granted = Expr::col((purchases::Entity, purchases::Column::PointsGranted));
    let remaining = Expr::col((point_lots::Entity, point_lots::Column::Remaining));
    select
        .column_as(
            sum_of(due_purchases(PurchaseWindow::Matured, now), granted.clone()),
            "matured",
        )
        .column_as(
            sum_of(due_purchases(PurchaseWindow::Open, now), granted),
            "pending",
        )
        .column_as(sum_of(lapsed_lots(now), remaining), "lapsed")
}

/// The member card in one statement, without a lock: the profile, the points as
/// `points_glance` computes them, and the rules' version (for the tier from the cache).
///
/// # Errors
/// `INTERNAL` on database failure.
pub async fn member_card(
    db: &impl ConnectionTrait,
    member: MemberId,
    now: DateTime<Utc>,
) -> Result<Option<(crate::domain::member::MemberProfile, PointsGlance, i64)>, DbErr> {
    let row = with_glance_sums(members::Entity::find_by_id(member.get()), now)
        .column_as(
            crate::store::programme::rules_version_column(),
            "rules_version",
        )
        .into_model::<CardRow>()
        .one(db)
        .await?;
    Ok(row.map(|row| {
        let glance = GlanceSums {
            points_balance: row.member.points_balance,
            matured: row.matured,
            pending: row.pending,
            lapsed: row.lapsed,
        }
        .glance();
        (
            crate::store::members::profile(row.member),
            glance,
            row.rules_version,
        )
    }))
}

/// # Errors
/// `NOT_FOUND` for an unknown member; `INTERNAL` on database failure.
pub async fn points_glance(
    db: &impl ConnectionTrait,
    member: MemberId,
    now: DateTime<Utc>,
) -> Result<PointsGlance, AppError> {
    let select = members::Entity::find_by_id(member.get())
        .select_only()
        .column(members::Column::PointsBalance);
    let sums = with_glance_sums(select, now)
        .into_model::<GlanceSums>()
        .one(db)
        .await?
        .ok_or(AppError::NotFound("member"))?;
    Ok(sums.glance())
}
