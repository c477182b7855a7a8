//! Campaigns and the exactly-once record of what each did for each member.

use chrono::{DateTime, Utc};
use entity::{campaign_members, campaigns, members};
use sea_orm::sea_query::{Cond, Expr, ExprTrait, Query};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, TryInsertResult,
};

use crate::domain::campaign::{Action, Campaign, CampaignStatus, Outcome};
use crate::domain::ids::MemberId;
use crate::error::AppError;

fn campaign(row: campaigns::Model) -> Result<Campaign, AppError> {
    let bad = |what: &str| AppError::internal(anyhow::anyhow!("campaign {} has {what}", row.id));
    Ok(Campaign {
        id: row.id,
        trigger: row
            .trigger_kind
            .parse()
            .map_err(|_unknown| bad("an unknown trigger"))?,
        status: row
            .status
            .parse()
            .map_err(|_unknown| bad("an unknown status"))?,
        actions: serde_json::from_str::<Vec<Action>>(&row.actions).map_err(AppError::internal)?,
        name: row.name,
        segment_id: row.segment_id,
        trigger_at: row.trigger_at,
        budget_points: row.budget_points,
        spent_points: row.spent_points,
        budget_exhausted: row.budget_exhausted,
        holdout_percent: row.holdout_percent,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}

/// # Errors
/// Database errors.
pub async fn insert(
    db: &impl ConnectionTrait,
    new: &Campaign,
    now: DateTime<Utc>,
) -> Result<Campaign, AppError> {
    let row = campaigns::ActiveModel {
        name: Set(new.name.clone()),
        segment_id: Set(new.segment_id),
        trigger_kind: Set(new.trigger.as_str().to_owned()),
        trigger_at: Set(new.trigger_at),
        actions: Set(serde_json::to_string(&new.actions).map_err(AppError::internal)?),
        budget_points: Set(new.budget_points),
        spent_points: Set(0),
        budget_exhausted: Set(false),
        holdout_percent: Set(new.holdout_percent),
        status: Set(CampaignStatus::Draft.as_str().to_owned()),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    campaign(row)
}

/// # Errors
/// Database errors.
pub async fn find(db: &impl ConnectionTrait, id: i64) -> Result<Option<Campaign>, AppError> {
    campaigns::Entity::find_by_id(id)
        .one(db)
        .await?
        .map(campaign)
        .transpose()
}

/// Every campaign, newest first; only `status` when given.
///
/// # Errors
/// Database errors.
pub async fn all(
    db: &impl ConnectionTrait,
    status: Option<CampaignStatus>,
) -> Result<Vec<Campaign>, AppError> {
    let mut query = campaigns::Entity::find();
    if let Some(status) = status {
        query = query.filter(campaigns::Column::Status.eq(status.as_str()));
    }
    query
        .order_by_desc(campaigns::Column::Id)
        .limit(500)
        .all(db)
        .await?
        .into_iter()
        .map(campaign)
        .collect()
}

/// Moves a campaign from `from` to `to`; false when it was not in `from` (a concurrent move).
///
/// # Errors
/// Database errors.
pub async fn set_status(
    db: &impl ConnectionTrait,
    id: i64,
    from: CampaignStatus,
    to: CampaignStatus,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let moved = campaigns::Entity::update_many()
        .col_expr(campaigns::Column::Status, Expr::value(to.as_str()))
        .col_expr(campaigns::Column::UpdatedAt, Expr::value(now))
        .filter(campaigns::Column::Id.eq(id))
        .filter(campaigns::Column::Status.eq(from.as_str()))
        .exec(db)
        .await?;
    Ok(moved.rows_affected == 1)
}

/// Records what the campaign did for a member at an occurrence; false when it was recorded
/// before (the exactly-once key).
///
/// # Errors
/// Database errors.
pub async fn claim(
    db: &impl ConnectionTrait,
    campaign: i64,
    member: MemberId,
    occurrence: &str,
    outcome: Outcome,
    points: i64,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let row = campaign_members::ActiveModel {
        campaign_id: Set(campaign),
        member_id: Set(member.get()),
        occurrence: Set(occurrence.to_owned()),
        outcome: Set(outcome.as_str().to_owned()),
        points: Set(points),
        created_at: Set(now),
    };
    let inserted = campaign_members::Entity::insert(row)
        .on_conflict_do_nothing_on([
            campaign_members::Column::CampaignId,
            campaign_members::Column::MemberId,
            campaign_members::Column::Occurrence,
        ])
        .exec_without_returning(db)
        .await?;
    Ok(matches!(inserted, TryInsertResult::Inserted(1)))
}

/// Takes `points` from the campaign's budget in one conditional statement; false when they do
/// not fit (the budget is never exceeded, however many grants run at once).
///
/// # Errors
/// Database errors.
pub async fn spend(db: &impl ConnectionTrait, id: i64, points: i64) -> Result<bool, DbErr> {
    let spent = Expr::col(campaigns::Column::SpentPoints);
    let taken = campaigns::Entity::update_many()
        .col_expr(campaigns::Column::SpentPoints, spent.clone().add(points))
        .filter(campaigns::Column::Id.eq(id))
        .filter(
            Cond::any()
                .add(campaigns::Column::BudgetPoints.is_null())
                .add(
                    spent
                        .add(points)
                        .lte(Expr::col(campaigns::Column::BudgetPoints)),
                ),
        )
        .exec(db)
        .await?;
    Ok(taken.rows_affected == 1)
}

/// # Errors
/// Database errors.
pub async fn mark_exhausted(db: &impl ConnectionTrait, id: i64) -> Result<(), DbErr> {
    campaigns::Entity::update_many()
        .col_expr(campaigns::Column::BudgetExhausted, Expr::value(true))
        .filter(campaigns::Column::Id.eq(id))
        .exec(db)
        .await
        .map(|_| ())
}

/// Member ids matching `condition` above `after`, ascending, that the campaign has not served
/// at `occurrence`: the campaign's batches (a resumed run skips who it reached).
///
/// # Errors
/// Database errors.
pub async fn member_ids(
    db: &impl ConnectionTrait,
    condition: Cond,
    campaign: i64,
    occurrence: &str,
    after: i64,
    limit: u64,
) -> Result<Vec<MemberId>, DbErr> {
    let served = Query::select()
        .column(campaign_members::Column::MemberId)
        .from(campaign_members::Entity)
        .and_where(campaign_members::Column::CampaignId.eq(campaign))
        .and_where(campaign_members::Column::Occurrence.eq(occurrence))
        .to_owned();
    let ids: Vec<i64> = members::Entity::find()
        .select_only()
        .column(members::Column::Id)
        .filter(condition)
        .filter(members::Column::Id.not_in_subquery(served))
        .filter(members::Column::Id.gt(after))
        .order_by_asc(members::Column::Id)
        .limit(limit)
        .into_tuple()
        .all(db)
        .await?;
    Ok(ids.into_iter().map(MemberId::new).collect())
}

/// (outcome, members, points) of a campaign.
///
/// # Errors
/// Database errors.
pub async fn outcomes(
    db: &impl ConnectionTrait,
    id: i64,
) -> Result<Vec<(String, i64, i64)>, DbErr> {
    campaign_members::Entity::find()
        .select_only()
        .column(campaign_members::Column::Outcome)
        .column_as(
            Expr::col(campaign_members::Column::MemberId).count(),
            "members",
        )
        .column_as(
            Expr::cust("CAST(COALESCE(SUM(points), 0) AS BIGINT)"),
            "points",
        )
        .filter(campaign_members::Column::CampaignId.eq(id))
        .group_by(campaign_members::Column::Outcome)
        .into_tuple()
        .all(db)
        .await
}
