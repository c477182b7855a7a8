//! Campaigns and the exactly-once record of what each did for each member.

use chrono::{DateTime, Utc};
use entity::{
    campaign_audience, campaign_members, campaigns, lifecycle_transitions, members,
    programme_months,
};
use sea_orm::sea_query::{Cond, Expr, ExprTrait, Func, OnConflict, Query, SelectStatement};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait,
    FromQueryResult, QueryFilter, QueryOrder, QuerySelect, TryInsertResult,
};

use crate::domain::campaign::{
    Action, Campaign, CampaignStatus, Eligible, Outcome, Trigger, parse_time,
};
use crate::domain::ids::MemberId;
use crate::error::AppError;

fn campaign(row: campaigns::Model) -> Result<Campaign, AppError> {
    let bad = |what: &str| AppError::internal(anyhow::anyhow!("campaign {} has {what}", row.id));
    Ok(Campaign {
        id: row.id,
        trigger: Trigger {
            kind: row
                .trigger_kind
                .parse()
                .map_err(|_unknown| bad("an unknown trigger"))?,
            at: row.trigger_at,
            time: row
                .trigger_time
                .as_deref()
                .map(parse_time)
                .transpose()
                .map_err(|_invalid| bad("an invalid time"))?,
            days: row.trigger_days,
        },
        per_member: row
            .per_member
            .parse()
            .map_err(|_unknown| bad("an unknown frequency"))?,
        status: row
            .status
            .parse()
            .map_err(|_unknown| bad("an unknown status"))?,
        actions: serde_json::from_str::<Vec<Action>>(&row.actions).map_err(AppError::internal)?,
        name: row.name,
        segment_id: row.segment_id,
        starts_at: row.starts_at,
        ends_at: row.ends_at,
        budget_points: row.budget_points,
        spent_points: row.spent_points,
        budget_units: row.budget_units,
        spent_units: row.spent_units,
        activated_at: row.activated_at,
        budget_exhausted: row.budget_exhausted,
        holdout_percent: row.holdout_percent,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}

/// The settings an operator writes (everything but the id, the counters and the status).
fn settings(c: &Campaign, now: DateTime<Utc>) -> Result<campaigns::ActiveModel, AppError> {
    Ok(campaigns::ActiveModel {
        name: Set(c.name.clone()),
        segment_id: Set(c.segment_id),
        trigger_kind: Set(c.trigger.kind.as_str().to_owned()),
        trigger_at: Set(c.trigger.at),
        trigger_time: Set(c.trigger.time.map(|t| t.format("%H:%M").to_string())),
        trigger_days: Set(c.trigger.days),
        per_member: Set(c.per_member.as_str().to_owned()),
        starts_at: Set(c.starts_at),
        ends_at: Set(c.ends_at),
        actions: Set(serde_json::to_string(&c.actions).map_err(AppError::internal)?),
        budget_points: Set(c.budget_points),
        budget_units: Set(c.budget_units),
        holdout_percent: Set(c.holdout_percent),
        updated_at: Set(now),
        ..Default::default()
    })
}

/// # Errors
/// Database errors.
pub async fn insert(
    db: &impl ConnectionTrait,
    new: &Campaign,
    now: DateTime<Utc>,
) -> Result<Campaign, AppError> {
    let mut row = settings(new, now)?;
    row.spent_points = Set(0);
    row.spent_units = Set(0);
    row.budget_exhausted = Set(false);
    row.status = Set(CampaignStatus::Draft.as_str().to_owned());
    row.created_at = Set(now);
    campaign(row.insert(db).await?)
}

/// Rewrites an operator's settings while the campaign is in `from` (DRAFT or PAUSED); false
/// when it is not (a concurrent move). A larger budget lifts `budgetExhausted`.
///
/// # Errors
/// Database errors.
pub async fn update_settings(
    db: &impl ConnectionTrait,
    c: &Campaign,
    from: CampaignStatus,
    now: DateTime<Utc>,
) -> Result<bool, AppError> {
    let mut row = settings(c, now)?;
    row.budget_exhausted = Set(false);
    let updated = campaigns::Entity::update_many()
        .set(row)
        .filter(campaigns::Column::Id.eq(c.id))
        .filter(campaigns::Column::Status.eq(from.as_str()))
        .exec(db)
        .await?;
    Ok(updated.rows_affected == 1)
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
    let mut update = campaigns::Entity::update_many()
        .col_expr(campaigns::Column::Status, Expr::value(to.as_str()))
        .col_expr(campaigns::Column::UpdatedAt, Expr::value(now));
    if to == CampaignStatus::Active {
        // The first activation: a paused campaign goes on where it stopped.
        update = update.col_expr(
            campaigns::Column::ActivatedAt,
            Func::coalesce([Expr::col(campaigns::Column::ActivatedAt), Expr::value(now)]).into(),
        );
    }
    let moved = update
        .filter(campaigns::Column::Id.eq(id))
        .filter(campaigns::Column::Status.eq(from.as_str()))
        .exec(db)
        .await?;
    Ok(moved.rows_affected == 1)
}

/// A member's reach at an occurrence, as first recorded.
pub struct Claim<'a> {
    pub campaign: i64,
    pub member: MemberId,
    pub occurrence: &'a str,
    pub outcome: Outcome,
    pub attributed_until: DateTime<Utc>,
}

/// Records what the campaign did for a member at an occurrence; false when it was recorded
/// before (the exactly-once key). What was given is added with [`record_cost`].
///
/// # Errors
/// Database errors.
pub async fn claim(
    db: &impl ConnectionTrait,
    claim: &Claim<'_>,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let row = campaign_members::ActiveModel {
        campaign_id: Set(claim.campaign),
        member_id: Set(claim.member.get()),
        occurrence: Set(claim.occurrence.to_owned()),
        outcome: Set(claim.outcome.as_str().to_owned()),
        points: Set(0),
        units: Set(0),
        cost_cents: Set(0),
        attributed_until: Set(Some(claim.attributed_until)),
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

/// Writes what a claimed reach cost: points, reward units and their cost to the brand.
///
/// # Errors
/// Database errors.
pub async fn record_cost(
    db: &impl ConnectionTrait,
    campaign: i64,
    member: MemberId,
    occurrence: &str,
    cost: (i64, i64, i64),
) -> Result<(), DbErr> {
    let (points, units, cents) = cost;
    campaign_members::Entity::update_many()
        .col_expr(campaign_members::Column::Points, Expr::value(points))
        .col_expr(campaign_members::Column::Units, Expr::value(units))
        .col_expr(campaign_members::Column::CostCents, Expr::value(cents))
        .filter(campaign_members::Column::CampaignId.eq(campaign))
        .filter(campaign_members::Column::MemberId.eq(member.get()))
        .filter(campaign_members::Column::Occurrence.eq(occurrence))
        .exec(db)
        .await
        .map(|_| ())
}

/// Takes `units` reward units from the campaign's unit budget; false when they do not fit.
///
/// # Errors
/// Database errors.
pub async fn spend_units(db: &impl ConnectionTrait, id: i64, units: i64) -> Result<bool, DbErr> {
    let spent = Expr::col(campaigns::Column::SpentUnits);
    let taken = campaigns::Entity::update_many()
        .col_expr(campaigns::Column::SpentUnits, spent.clone().add(units))
        .filter(campaigns::Column::Id.eq(id))
        .filter(
            Cond::any()
                .add(campaigns::Column::BudgetUnits.is_null())
                .add(
                    spent
                        .add(units)
                        .lte(Expr::col(campaigns::Column::BudgetUnits)),
                ),
        )
        .exec(db)
        .await?;
    Ok(taken.rows_affected == 1)
}

/// Takes `points` from the programme's monthly budget for budget-checked grants: fits when
/// what members earned this month (`earned`, read once per run) plus what such grants took
/// stays within `budget`. One conditional statement on the month's row, so concurrent grants
/// on any instance never pass the budget together.
///
/// # Errors
/// Database errors.
pub async fn take_programme_budget(
    db: &impl ConnectionTrait,
    month: &str,
    points: i64,
    earned: i64,
    budget: i64,
) -> Result<bool, DbErr> {
    programme_months::Entity::insert(programme_months::ActiveModel {
        month: Set(month.to_owned()),
        granted: Set(0),
    })
    .on_conflict_do_nothing_on([programme_months::Column::Month])
    .exec_without_returning(db)
    .await?;
    let granted = Expr::col(programme_months::Column::Granted);
    let taken = programme_months::Entity::update_many()
        .col_expr(
            programme_months::Column::Granted,
            granted.clone().add(points),
        )
        .filter(programme_months::Column::Month.eq(month))
        .filter(granted.add(points).add(earned).lte(budget))
        .exec(db)
        .await?;
    Ok(taken.rows_affected == 1)
}

/// Points the budget-checked grants took in `month`.
///
/// # Errors
/// Database errors.
pub async fn programme_granted(db: &impl ConnectionTrait, month: &str) -> Result<i64, DbErr> {
    Ok(programme_months::Entity::find_by_id(month.to_owned())
        .one(db)
        .await?
        .map_or(0, |row| row.granted))
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

/// The members an occurrence may reach beyond the segment, as a condition on `members`.
pub fn eligible(campaign: i64, eligible: &Eligible) -> Cond {
    match eligible {
        Eligible::Everyone => Cond::all(),
        Eligible::BirthdayOn(days) => {
            Cond::all().add(members::Column::Birthday.is_in(days.clone()))
        }
        Eligible::RegisteredIn(ranges) => ranges.iter().fold(Cond::any(), |any, (from, until)| {
            any.add(
                Cond::all()
                    .add(members::Column::CreatedAt.gte(*from))
                    .add(members::Column::CreatedAt.lt(*until)),
            )
        }),
        Eligible::RegisteredWithoutPurchase(from, until) => Cond::all()
            .add(members::Column::CreatedAt.gte(*from))
            .add(members::Column::CreatedAt.lt(*until))
            .add(members::Column::LastPurchaseAt.is_null()),
        Eligible::Transitioned { stage, day, since } => {
            let moved = Query::select()
                .column(lifecycle_transitions::Column::MemberId)
                .from(lifecycle_transitions::Entity)
                .and_where(lifecycle_transitions::Column::Stage.eq(*stage))
                .and_where(lifecycle_transitions::Column::Day.eq(*day))
                .and_where(lifecycle_transitions::Column::CreatedAt.gte(*since))
                .to_owned();
            Cond::all().add(members::Column::Id.in_subquery(moved))
        }
        Eligible::EnteredSegment => {
            Cond::all().add(members::Column::Id.not_in_subquery(present(campaign)))
        }
    }
}

/// The members a `SEGMENT_ENTERED` campaign saw in its segment at its last run.
fn present(campaign: i64) -> SelectStatement {
    Query::select()
        .column(campaign_audience::Column::MemberId)
        .from(campaign_audience::Entity)
        .and_where(campaign_audience::Column::CampaignId.eq(campaign))
        .to_owned()
}

/// Starts a `SEGMENT_ENTERED` campaign's presence afresh from the members in its segment now
/// (`audience`): they have not entered it.
///
/// # Errors
/// Database errors.
pub async fn take_presence(
    db: &impl ConnectionTrait,
    campaign: i64,
    audience: Cond,
) -> Result<(), DbErr> {
    campaign_audience::Entity::delete_many()
        .filter(campaign_audience::Column::CampaignId.eq(campaign))
        .exec(db)
        .await?;
    let select = Query::select()
        .expr(Expr::value(campaign))
        .column(members::Column::Id)
        .from(members::Entity)
        .cond_where(audience)
        .to_owned();
    let insert = Query::insert()
        .into_table(campaign_audience::Entity)
        .columns([
            campaign_audience::Column::CampaignId,
            campaign_audience::Column::MemberId,
        ])
        .select_from(select)
        .map_err(|e| DbErr::Custom(e.to_string()))?
        .to_owned();
    db.execute(&insert).await.map(|_| ())
}

/// Forgets the members who left the segment (`audience`), so that coming back is entering.
///
/// # Errors
/// Database errors.
pub async fn forget_departed(
    db: &impl ConnectionTrait,
    campaign: i64,
    audience: Cond,
) -> Result<(), DbErr> {
    let still_in = Query::select()
        .column(members::Column::Id)
        .from(members::Entity)
        .cond_where(audience)
        .to_owned();
    campaign_audience::Entity::delete_many()
        .filter(campaign_audience::Column::CampaignId.eq(campaign))
        .filter(campaign_audience::Column::MemberId.not_in_subquery(still_in))
        .exec(db)
        .await
        .map(|_| ())
}

/// Notes that the member is in the campaign's segment now.
///
/// # Errors
/// Database errors.
pub async fn mark_present(
    db: &impl ConnectionTrait,
    campaign: i64,
    member: MemberId,
) -> Result<(), DbErr> {
    campaign_audience::Entity::insert(campaign_audience::ActiveModel {
        campaign_id: Set(campaign),
        member_id: Set(member.get()),
    })
    .on_conflict(
        OnConflict::columns([
            campaign_audience::Column::CampaignId,
            campaign_audience::Column::MemberId,
        ])
        .do_nothing()
        .to_owned(),
    )
    .exec_without_returning(db)
    .await
    .map(|_| ())
}

/// Members matching `condition`: the audience a preview counts.
///
/// # Errors
/// Database errors.
pub async fn count_members(db: &impl ConnectionTrait, condition: Cond) -> Result<i64, DbErr> {
    use sea_orm::PaginatorTrait;
    let count = members::Entity::find().filter(condition).count(db).await?;
    Ok(i64::try_from(count).unwrap_or(i64::MAX))
}

/// What one group (treated or control) of a campaign did within its attribution windows.
#[derive(Debug, Clone, Default, PartialEq, Eq, FromQueryResult)]
pub struct GroupActivity {
    pub outcome: String,
    pub reaches: i64,
    pub points: i64,
    pub units: i64,
    pub cost_cents: i64,
    pub signed_in: i64,
    pub purchased: i64,
    pub purchase_cents: i64,
    pub redeemed: i64,
    /// Signed in or bought: came back (召回).
    pub returned: i64,
}

/// Per outcome, the reaches of a campaign and what their members did before each reach's
/// attribution window closed: signed in, bought (not refunded) and redeemed points. One
/// statement over the campaign's rows, each reach looked up by the members' own indexes.
///
/// # Errors
/// Database errors.
pub async fn activity(db: &impl ConnectionTrait, id: i64) -> Result<Vec<GroupActivity>, DbErr> {
    let within = |table: &str, at: &str| {
        format!(
            "{table}.member_id = cm.member_id AND {table}.{at} >= cm.created_at \
             AND {table}.{at} < cm.attributed_until"
        )
    };
    let signed_in = within("s", "created_at");
    let bought = format!("{} AND p.status <> 'REFUNDED'", within("p", "occurred_at"));
    let redeemed = format!("{} AND r.points_total > 0", within("r", "created_at"));
    let (si, pu, re) = ("sign_ins", "purchases", "redemptions");
    let sql = format!(
        "SELECT cm.outcome AS outcome, COUNT(*) AS reaches, \
         CAST(COALESCE(SUM(cm.points), 0) AS BIGINT) AS points, \
         CAST(COALESCE(SUM(cm.units), 0) AS BIGINT) AS units, \
         CAST(COALESCE(SUM(cm.cost_cents), 0) AS BIGINT) AS cost_cents, \
         CAST(COALESCE(SUM(CASE WHEN EXISTS (SELECT 1 FROM {si} s WHERE {signed_in}) \
           THEN 1 ELSE 0 END), 0) AS BIGINT) AS signed_in, \
         CAST(COALESCE(SUM(CASE WHEN EXISTS (SELECT 1 FROM {pu} p WHERE {bought}) \
           THEN 1 ELSE 0 END), 0) AS BIGINT) AS purchased, \
         CAST(COALESCE(SUM((SELECT COALESCE(SUM(p.amount_cents), 0) FROM {pu} p \
           WHERE {bought})), 0) AS BIGINT) AS purchase_cents, \
         CAST(COALESCE(SUM(CASE WHEN EXISTS (SELECT 1 FROM {re} r WHERE {redeemed}) \
           THEN 1 ELSE 0 END), 0) AS BIGINT) AS redeemed, \
         CAST(COALESCE(SUM(CASE WHEN EXISTS (SELECT 1 FROM {si} s WHERE {signed_in}) \
           OR EXISTS (SELECT 1 FROM {pu} p WHERE {bought}) \
           THEN 1 ELSE 0 END), 0) AS BIGINT) AS returned \
         FROM campaign_members cm WHERE cm.campaign_id = {id} GROUP BY cm.outcome"
    );
    let backend = db.get_database_backend();
    GroupActivity::find_by_statement(sea_orm::Statement::from_string(backend, sql))
        .all(db)
        .await
}
