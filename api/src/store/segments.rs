//! Segments (人群) as SQL: a filter becomes one condition over the member row (and the tag
//! index), so a count is one query. The rules are `domain::segment`'s, written as predicates
//! on stored instants and business days.

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use entity::{lifecycle_transitions, member_tags, members, segments};
use sea_orm::sea_query::{Cond, Expr, OnConflict, Query, SimpleExpr};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};

use crate::domain::ids::MemberId;
use crate::domain::segment::{
    LifecycleStage, LifecycleThresholds, RfmGroup, RfmThresholds, SavedSegment, SegmentFilter,
    day_start, days_before,
};
use crate::error::AppError;

/// What a filter is read against: the business day, its zone, and the thresholds in force.
#[derive(Debug, Clone, Copy)]
pub struct SegmentContext {
    pub today: NaiveDate,
    pub timezone: Tz,
    pub rfm: RfmThresholds,
    pub lifecycle: LifecycleThresholds,
}

impl SegmentContext {
    /// The first instant of the business day `days` before today.
    fn start_of_days_ago(&self, days: i64) -> DateTime<Utc> {
        day_start(days_before(self.today, days), self.timezone)
    }

    /// The first instant after the business day `days` before today.
    fn end_of_days_ago(&self, days: i64) -> DateTime<Utc> {
        self.start_of_days_ago(days.saturating_sub(1))
    }

    /// Inactive for at least `days`: the later of the last sign-in and the last purchase (or
    /// the registration, when neither) lies `days` or more business days back.
    fn inactive_for(&self, days: i64) -> Cond {
        let last_day = days_before(self.today, days);
        let after_it = self.end_of_days_ago(days);
        Cond::all()
            .add(
                Cond::any()
                    .add(members::Column::LastSignInDay.is_null())
                    .add(members::Column::LastSignInDay.lte(last_day)),
            )
            .add(
                Cond::any()
                    .add(members::Column::LastPurchaseAt.is_null())
                    .add(members::Column::LastPurchaseAt.lt(after_it)),
            )
            .add(
                Cond::any()
                    .add(members::Column::LastSignInDay.is_not_null())
                    .add(members::Column::LastPurchaseAt.is_not_null())
                    .add(members::Column::CreatedAt.lt(after_it)),
            )
    }

    fn rfm_group(&self, group: RfmGroup) -> Cond {
        let (recent, frequent, monetary) = group.levels();
        let since = self.start_of_days_ago(self.rfm.recency_days);
        let recency: SimpleExpr = if recent {
            members::Column::LastPurchaseAt.gte(since)
        } else {
            members::Column::LastPurchaseAt.lt(since)
        };
        let frequency = if frequent {
            members::Column::Purchases12m.gte(self.rfm.frequency)
        } else {
            members::Column::Purchases12m.lt(self.rfm.frequency)
        };
        let spend = if monetary {
            members::Column::Spend12mCents.gte(self.rfm.monetary_cents)
        } else {
            members::Column::Spend12mCents.lt(self.rfm.monetary_cents)
        };
        Cond::all()
            .add(members::Column::LastPurchaseAt.is_not_null())
            .add(recency)
            .add(frequency)
            .add(spend)
    }

    fn stage(&self, stage: LifecycleStage) -> Cond {
        let dormant = self.inactive_for(self.lifecycle.dormant_days);
        let at_risk = self.inactive_for(self.lifecycle.at_risk_days);
        let new_since = self.start_of_days_ago(self.lifecycle.new_days);
        match stage {
            LifecycleStage::Dormant => dormant,
            LifecycleStage::AtRisk => at_risk.add(dormant.not()),
            LifecycleStage::New => Cond::all()
                .add(at_risk.not())
                .add(members::Column::LastPurchaseAt.is_null())
                .add(members::Column::CreatedAt.gte(new_since)),
            LifecycleStage::Prospect => Cond::all()
                .add(at_risk.not())
                .add(members::Column::LastPurchaseAt.is_null())
                .add(members::Column::CreatedAt.lt(new_since)),
            LifecycleStage::Active => Cond::all()
                .add(at_risk.not())
                .add(members::Column::LastPurchaseAt.is_not_null()),
        }
    }

    /// The filter as one condition on `members`.
    pub fn condition(&self, filter: &SegmentFilter) -> Cond {
        let mut all = Cond::all();
        if let Some(tiers) = &filter.tiers {
            all = all.add(members::Column::TierCode.is_in(tiers.iter().cloned()));
        }
        if let Some(tags) = &filter.tag_ids {
            all = all.add(
                members::Column::Id.in_subquery(
                    Query::select()
                        .column(member_tags::Column::MemberId)
                        .from(member_tags::Entity)
                        .and_where(member_tags::Column::TagId.is_in(tags.iter().copied()))
                        .to_owned(),
                ),
            );
        }
        if let Some(groups) = &filter.rfm_groups {
            all = all.add(
                groups
                    .iter()
                    .fold(Cond::any(), |any, group| any.add(self.rfm_group(*group))),
            );
        }
        if let Some(stages) = &filter.lifecycle_stages {
            all = all.add(
                stages
                    .iter()
                    .fold(Cond::any(), |any, stage| any.add(self.stage(*stage))),
            );
        }
        if filter.koc_only == Some(true) {
            all = all.add(members::Column::KocLevel.is_not_null());
        }
        if let Some(days) = filter.registered_within_days {
            all = all.add(members::Column::CreatedAt.gte(self.start_of_days_ago(days)));
        }
        if let Some(days) = filter.registered_before_days {
            all = all.add(members::Column::CreatedAt.lt(self.end_of_days_ago(days)));
        }
        if let Some(days) = filter.signed_in_within_days {
            all = all.add(members::Column::LastSignInDay.gte(days_before(self.today, days)));
        }
        if let Some(days) = filter.inactive_for_days {
            all = all.add(self.inactive_for(days));
        }
        if let Some(min) = filter.min_balance {
            all = all.add(members::Column::PointsBalance.gte(min));
        }
        if let Some(max) = filter.max_balance {
            all = all.add(members::Column::PointsBalance.lte(max));
        }
        if let Some(min) = filter.min_purchases_12m {
            all = all.add(members::Column::Purchases12m.gte(min));
        }
        if let Some(min) = filter.min_spend_12m_cents {
            all = all.add(members::Column::Spend12mCents.gte(min));
        }
        if let Some(month) = filter.birthday_month {
            all = all.add(members::Column::Birthday.like(format!("{month:02}-%")));
        }
        if let Some(verified) = filter.has_phone {
            all = all.add(members::Column::PhoneVerified.eq(verified));
        }
        if let Some(any_of) = &filter.any_of {
            all = all.add(
                any_of
                    .iter()
                    .fold(Cond::any(), |any, filter| any.add(self.condition(filter))),
            );
        }
        all
    }
}

/// Notices members who entered `AT_RISK` or `DORMANT` since the last pass: records the entry
/// (once per member, stage and day) and marks the member noticed, so the next pass does not
/// notice them again. Members active again are unmarked first, so a later entry counts anew.
/// Returns how many entered each stage. Run it in a transaction.
///
/// # Errors
/// Database errors.
pub async fn notice_transitions(
    db: &impl ConnectionTrait,
    context: &SegmentContext,
    now: DateTime<Utc>,
) -> Result<(u64, u64), DbErr> {
    members::Entity::update_many()
        .col_expr(
            members::Column::NoticedStage,
            Expr::value(Option::<String>::None),
        )
        .filter(members::Column::NoticedStage.is_not_null())
        .filter(context.inactive_for(context.lifecycle.at_risk_days).not())
        .exec(db)
        .await?;
    let mut entered = [0_u64; 2];
    for (slot, stage) in entered
        .iter_mut()
        .zip([LifecycleStage::AtRisk, LifecycleStage::Dormant])
    {
        let newly = Cond::all().add(context.stage(stage)).add(
            Cond::any()
                .add(members::Column::NoticedStage.is_null())
                .add(members::Column::NoticedStage.ne(stage.as_str())),
        );
        let select = Query::select()
            .column(members::Column::Id)
            .expr(Expr::value(stage.as_str()))
            .expr(Expr::value(context.today))
            .expr(Expr::value(now))
            .from(members::Entity)
            .cond_where(newly.clone())
            .to_owned();
        let insert = Query::insert()
            .into_table(lifecycle_transitions::Entity)
            .columns([
                lifecycle_transitions::Column::MemberId,
                lifecycle_transitions::Column::Stage,
                lifecycle_transitions::Column::Day,
                lifecycle_transitions::Column::CreatedAt,
            ])
            .select_from(select)
            .map_err(|e| DbErr::Custom(e.to_string()))?
            .on_conflict(
                OnConflict::columns([
                    lifecycle_transitions::Column::MemberId,
                    lifecycle_transitions::Column::Stage,
                    lifecycle_transitions::Column::Day,
                ])
                .do_nothing()
                .to_owned(),
            )
            .to_owned();
        db.execute(&insert).await?;
        *slot = members::Entity::update_many()
            .col_expr(members::Column::NoticedStage, Expr::value(stage.as_str()))
            .filter(newly)
            .exec(db)
            .await?
            .rows_affected;
    }
    let [at_risk, dormant] = entered;
    Ok((at_risk, dormant))
}

/// How many members match (one query).
///
/// # Errors
/// Database errors.
pub async fn count(db: &impl ConnectionTrait, condition: Cond) -> Result<u64, DbErr> {
    let counted: Option<i64> = members::Entity::find()
        .select_only()
        .column_as(members::Column::Id.count(), "n")
        .filter(condition)
        .into_tuple()
        .one(db)
        .await?;
    Ok(counted.map_or(0, |n| u64::try_from(n).unwrap_or(0)))
}

fn stored(row: segments::Model) -> Result<SavedSegment, AppError> {
    Ok(SavedSegment {
        id: row.id,
        filter: serde_json::from_str(&row.filter).map_err(AppError::internal)?,
        name: row.name,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}

/// # Errors
/// Database errors.
pub async fn insert(
    db: &impl ConnectionTrait,
    name: &str,
    filter: &SegmentFilter,
    now: DateTime<Utc>,
) -> Result<SavedSegment, AppError> {
    let row = segments::ActiveModel {
        name: Set(name.to_owned()),
        filter: Set(serde_json::to_string(filter).map_err(AppError::internal)?),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    stored(row)
}

/// Replaces a segment's name and filter; false for an unknown id.
///
/// # Errors
/// Database errors.
pub async fn update(
    db: &impl ConnectionTrait,
    id: i64,
    name: &str,
    filter: &SegmentFilter,
    now: DateTime<Utc>,
) -> Result<bool, AppError> {
    let changed = segments::Entity::update_many()
        .col_expr(segments::Column::Name, Expr::value(name))
        .col_expr(
            segments::Column::Filter,
            Expr::value(serde_json::to_string(filter).map_err(AppError::internal)?),
        )
        .col_expr(segments::Column::UpdatedAt, Expr::value(now))
        .filter(segments::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(changed.rows_affected == 1)
}

/// # Errors
/// Database errors.
pub async fn find(db: &impl ConnectionTrait, id: i64) -> Result<Option<SavedSegment>, AppError> {
    segments::Entity::find_by_id(id)
        .one(db)
        .await?
        .map(stored)
        .transpose()
}

/// Every segment, oldest first.
///
/// # Errors
/// Database errors.
pub async fn all(db: &impl ConnectionTrait) -> Result<Vec<SavedSegment>, AppError> {
    segments::Entity::find()
        .order_by_asc(segments::Column::Id)
        .limit(500)
        .all(db)
        .await?
        .into_iter()
        .map(stored)
        .collect()
}

/// Members with a purchase in the trailing window: (how many, the median recency instant, the
/// median purchase count, the median spend). Medians by sorting, so both backends agree.
///
/// # Errors
/// Database errors.
pub async fn purchase_medians(
    db: &impl ConnectionTrait,
) -> Result<Option<(DateTime<Utc>, i64, i64)>, DbErr> {
    let buyers = || members::Entity::find().filter(members::Column::Purchases12m.gt(0));
    let count = buyers().count(db).await?;
    if count == 0 {
        return Ok(None);
    }
    let middle = count / 2;
    let recency: Option<Option<DateTime<Utc>>> = buyers()
        .select_only()
        .column(members::Column::LastPurchaseAt)
        .order_by_desc(members::Column::LastPurchaseAt)
        .offset(middle)
        .limit(1)
        .into_tuple()
        .one(db)
        .await?;
    let frequency: Option<i32> = buyers()
        .select_only()
        .column(members::Column::Purchases12m)
        .order_by_asc(members::Column::Purchases12m)
        .offset(middle)
        .limit(1)
        .into_tuple()
        .one(db)
        .await?;
    let spend: Option<i64> = buyers()
        .select_only()
        .column(members::Column::Spend12mCents)
        .order_by_asc(members::Column::Spend12mCents)
        .offset(middle)
        .limit(1)
        .into_tuple()
        .one(db)
        .await?;
    Ok(match (recency.flatten(), frequency, spend) {
        (Some(recency), Some(frequency), Some(spend)) => {
            Some((recency, i64::from(frequency), spend))
        }
        _ => None,
    })
}

/// Records a member's transition (a stage such as `TIER_UPGRADED`) on a business day; once
/// per (member, stage, day).
///
/// # Errors
/// Database errors.
pub async fn record_transition(
    db: &impl ConnectionTrait,
    member: MemberId,
    stage: &str,
    day: NaiveDate,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    lifecycle_transitions::Entity::insert(lifecycle_transitions::ActiveModel {
        member_id: Set(member.get()),
        stage: Set(stage.to_owned()),
        day: Set(day),
        created_at: Set(now),
    })
    .on_conflict_do_nothing_on([
        lifecycle_transitions::Column::MemberId,
        lifecycle_transitions::Column::Stage,
        lifecycle_transitions::Column::Day,
    ])
    .exec_without_returning(db)
    .await
    .map(|_| ())
}

/// Recounts the sign-ins of the trailing 30 business days (today and the 29 before) of every
/// member who signed in within the last 62 days: everyone whose count may be above zero,
/// also after a few days without a pass. One statement over the last-sign-in index.
///
/// # Errors
/// Database errors.
pub async fn roll_sign_ins(db: &impl ConnectionTrait, today: NaiveDate) -> Result<(), DbErr> {
    let backend = db.get_database_backend();
    let p = |n: u8| match backend {
        sea_orm::DatabaseBackend::Postgres => format!("${n}"),
        _ => "?".to_owned(),
    };
    let sql = format!(
        "UPDATE members SET sign_ins_30d = (SELECT COUNT(*) FROM sign_ins s \
         WHERE s.member_id = members.id AND s.day > {}) WHERE last_sign_in_day >= {}",
        p(1),
        p(2)
    );
    db.execute_raw(sea_orm::Statement::from_sql_and_values(
        backend,
        sql,
        [days_before(today, 30).into(), days_before(today, 62).into()],
    ))
    .await
    .map(|_| ())
}

/// The saved segments with these ids.
///
/// # Errors
/// Database errors.
pub async fn find_many(
    db: &impl ConnectionTrait,
    ids: &[i64],
) -> Result<Vec<SavedSegment>, AppError> {
    segments::Entity::find()
        .filter(segments::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await?
        .into_iter()
        .map(stored)
        .collect()
}

/// Which of `audiences` (an id with its condition) the member is in: one statement over the
/// member's row, however many there are.
///
/// # Errors
/// Database errors.
pub async fn member_in(
    db: &impl ConnectionTrait,
    member: MemberId,
    audiences: Vec<(i64, Cond)>,
) -> Result<Vec<i64>, DbErr> {
    if audiences.is_empty() {
        return Ok(Vec::new());
    }
    let mut query = Query::select();
    query
        .from(members::Entity)
        .and_where(members::Column::Id.eq(member.get()));
    let ids: Vec<i64> = audiences.iter().map(|(id, _)| *id).collect();
    for (n, (_, condition)) in audiences.into_iter().enumerate() {
        query.expr_as(
            Expr::case(condition, 1).finally(0),
            sea_orm::sea_query::Alias::new(format!("in_{n}")),
        );
    }
    let Some(row) = db.query_one(&query).await? else {
        return Ok(Vec::new());
    };
    let mut inside = Vec::new();
    for (n, id) in ids.into_iter().enumerate() {
        if row.try_get::<i32>("", &format!("in_{n}"))? == 1 {
            inside.push(id);
        }
    }
    Ok(inside)
}
