//! The outbox (`deliveries`): rows written in the transaction of the change that caused them,
//! claimed by the dispatchers of every instance without two taking the same row.

use chrono::{DateTime, Utc};
use entity::deliveries;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseBackend, DbErr, EntityTrait,
    FromQueryResult, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Statement,
};

use crate::domain::delivery::{Channel, Delivery, DeliveryStatus};
use crate::domain::ids::MemberId;
use crate::error::AppError;

/// A row to add.
pub struct NewDelivery {
    pub channel: Channel,
    pub member_id: Option<i64>,
    pub webhook_id: Option<i64>,
    pub event: String,
    pub payload: String,
}

/// Adds rows, due now (one statement).
///
/// # Errors
/// Database errors.
pub async fn insert(
    db: &impl ConnectionTrait,
    rows: Vec<NewDelivery>,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    insert_due(db, rows, now, now).await
}

/// Queues deliveries first due at `due`.
async fn insert_due(
    db: &impl ConnectionTrait,
    rows: Vec<NewDelivery>,
    due: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    if rows.is_empty() {
        return Ok(());
    }
    let rows = rows.into_iter().map(|row| deliveries::ActiveModel {
        channel: Set(row.channel.as_str().to_owned()),
        member_id: Set(row.member_id),
        webhook_id: Set(row.webhook_id),
        event: Set(row.event),
        payload: Set(row.payload),
        status: Set(DeliveryStatus::Pending.as_str().to_owned()),
        attempts: Set(0),
        next_attempt_at: Set(due),
        last_error: Set(None),
        last_errcode: Set(None),
        created_at: Set(now),
        sent_at: Set(None),
        ..Default::default()
    });
    deliveries::Entity::insert_many(rows)
        .exec_without_returning(db)
        .await
        .map(|_| ())
}

/// Uses one of the member's consents for `template_id` and queues the subscribe message, or
/// does nothing when the member allows none. One statement on PostgreSQL (the consent's update
/// feeds the insert); two on SQLite, which has no writes inside `WITH`.
///
/// # Errors
/// Database errors.
pub async fn queue_subscribe_message(
    db: &impl ConnectionTrait,
    member: MemberId,
    template_id: &str,
    event: &str,
    payload: String,
    send_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let backend = db.get_database_backend();
    if backend == DatabaseBackend::Postgres {
        let sql = "WITH used AS (UPDATE message_consents SET remaining = remaining - 1, \
                   updated_at = $1 WHERE member_id = $2 AND template_id = $3 AND remaining > 0 \
                   RETURNING member_id) \
                   INSERT INTO deliveries (channel, member_id, event, payload, status, attempts, \
                   next_attempt_at, created_at) \
                   SELECT $4, member_id, $5, $6, $7, 0, $8, $1 FROM used";
        let values: [sea_orm::Value; 8] = [
            now.into(),
            member.get().into(),
            template_id.into(),
            Channel::Wechat.as_str().into(),
            event.into(),
            payload.into(),
            DeliveryStatus::Pending.as_str().into(),
            send_at.into(),
        ];
        db.execute_raw(Statement::from_sql_and_values(backend, sql, values))
            .await?;
        return Ok(());
    }
    if crate::store::message_consents::use_one(db, member, template_id, now).await? {
        let row = NewDelivery {
            channel: Channel::Wechat,
            member_id: Some(member.get()),
            webhook_id: None,
            event: event.to_owned(),
            payload,
        };
        insert_due(db, vec![row], send_at, now).await?;
    }
    Ok(())
}

/// The member's subscribe messages of `event` due within `day` (a business day's instants):
/// what the marketing limit per day counts.
///
/// # Errors
/// Database errors.
pub async fn count_member_messages(
    db: &impl ConnectionTrait,
    member: MemberId,
    event: &str,
    day: (DateTime<Utc>, DateTime<Utc>),
) -> Result<i64, DbErr> {
    let count = deliveries::Entity::find()
        .filter(deliveries::Column::MemberId.eq(member.get()))
        .filter(deliveries::Column::Channel.eq(Channel::Wechat.as_str()))
        .filter(deliveries::Column::Event.eq(event))
        .filter(deliveries::Column::NextAttemptAt.gte(day.0))
        .filter(deliveries::Column::NextAttemptAt.lt(day.1))
        .count(db)
        .await?;
    Ok(i64::try_from(count).unwrap_or(i64::MAX))
}

fn delivery(row: deliveries::Model) -> Result<Delivery, AppError> {
    let parse_error =
        |what: &str| AppError::internal(anyhow::anyhow!("delivery {} has {what}", row.id));
    Ok(Delivery {
        id: row.id,
        channel: row
            .channel
            .parse()
            .map_err(|_unknown| parse_error("an unknown channel"))?,
        status: row
            .status
            .parse()
            .map_err(|_unknown| parse_error("an unknown status"))?,
        member_id: row.member_id,
        webhook_id: row.webhook_id,
        event: row.event,
        payload: row.payload,
        attempts: row.attempts,
        next_attempt_at: row.next_attempt_at,
        last_error: row.last_error,
        last_errcode: row.last_errcode,
        created_at: row.created_at,
        sent_at: row.sent_at,
    })
}

/// Claims up to `limit` due rows for this dispatcher: each one's next attempt moves to
/// `lease_until` and its attempt count goes up, so no other dispatcher takes it while this one
/// sends; if this one dies, the row is due again when the lease ends. On PostgreSQL the rows
/// are picked `FOR UPDATE SKIP LOCKED`, so dispatchers claiming at the same moment take
/// different rows; SQLite has a single writer.
///
/// # Errors
/// Database errors.
pub async fn claim(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<Delivery>, AppError> {
    let backend = db.get_database_backend();
    let sql = match backend {
        DatabaseBackend::Postgres => {
            "UPDATE deliveries SET next_attempt_at = $1, attempts = attempts + 1 \
             WHERE id IN (SELECT id FROM deliveries WHERE status = 'PENDING' \
             AND next_attempt_at <= $2 ORDER BY next_attempt_at, id LIMIT $3 \
             FOR UPDATE SKIP LOCKED) RETURNING *"
        }
        _ => {
            "UPDATE deliveries SET next_attempt_at = ?, attempts = attempts + 1 \
             WHERE id IN (SELECT id FROM deliveries WHERE status = 'PENDING' \
             AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?) RETURNING *"
        }
    };
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let statement = Statement::from_sql_and_values(
        backend,
        sql,
        [lease_until.into(), now.into(), limit.into()],
    );
    let mut rows: Vec<Delivery> = deliveries::Model::find_by_statement(statement)
        .all(db)
        .await?
        .into_iter()
        .map(delivery)
        .collect::<Result<_, _>>()?;
    rows.sort_by_key(|row| row.id);
    Ok(rows)
}

/// Records a claimed row's attempt: `status` with its next attempt, error and errcode. Only a
/// pending row changes (an operator may not race the dispatcher into an impossible state).
///
/// # Errors
/// Database errors.
pub async fn record(
    db: &impl ConnectionTrait,
    id: i64,
    status: DeliveryStatus,
    next_attempt_at: DateTime<Utc>,
    error: Option<(String, Option<i64>)>,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let (message, errcode) = error.map_or((None, None), |(m, c)| (Some(m), c));
    deliveries::Entity::update_many()
        .col_expr(deliveries::Column::Status, Expr::value(status.as_str()))
        .col_expr(
            deliveries::Column::NextAttemptAt,
            Expr::value(next_attempt_at),
        )
        .col_expr(deliveries::Column::LastError, Expr::value(message))
        .col_expr(deliveries::Column::LastErrcode, Expr::value(errcode))
        .col_expr(
            deliveries::Column::SentAt,
            Expr::value((status == DeliveryStatus::Sent).then_some(now)),
        )
        .filter(deliveries::Column::Id.eq(id))
        .filter(deliveries::Column::Status.eq(DeliveryStatus::Pending.as_str()))
        .exec(db)
        .await
        .map(|_| ())
}

/// Rows newest first, of one status or all, older than the `before` cursor.
///
/// # Errors
/// Database errors.
pub async fn page(
    db: &impl ConnectionTrait,
    status: Option<DeliveryStatus>,
    before: Option<i64>,
    limit: u64,
) -> Result<Vec<Delivery>, AppError> {
    let mut query = deliveries::Entity::find();
    if let Some(status) = status {
        query = query.filter(deliveries::Column::Status.eq(status.as_str()));
    }
    if let Some(before) = before {
        query = query.filter(deliveries::Column::Id.lt(before));
    }
    query
        .order_by_desc(deliveries::Column::Id)
        .limit(limit)
        .all(db)
        .await?
        .into_iter()
        .map(delivery)
        .collect()
}

/// # Errors
/// Database errors.
pub async fn find(db: &impl ConnectionTrait, id: i64) -> Result<Option<Delivery>, AppError> {
    deliveries::Entity::find_by_id(id)
        .one(db)
        .await?
        .map(delivery)
        .transpose()
}

/// Makes a dead row due again with a fresh set of attempts; false when it is not dead.
///
/// # Errors
/// Database errors.
pub async fn revive(db: &impl ConnectionTrait, id: i64, now: DateTime<Utc>) -> Result<bool, DbErr> {
    let revived = deliveries::Entity::update_many()
        .col_expr(
            deliveries::Column::Status,
            Expr::value(DeliveryStatus::Pending.as_str()),
        )
        .col_expr(deliveries::Column::Attempts, Expr::value(0))
        .col_expr(deliveries::Column::NextAttemptAt, Expr::value(now))
        .filter(deliveries::Column::Id.eq(id))
        .filter(deliveries::Column::Status.eq(DeliveryStatus::Dead.as_str()))
        .exec(db)
        .await?;
    Ok(revived.rows_affected == 1)
}

/// How many rows stand in each status.
///
/// # Errors
/// Database errors.
pub async fn counts(db: &impl ConnectionTrait) -> Result<Vec<(String, i64)>, DbErr> {
    deliveries::Entity::find()
        .select_only()
        .column(deliveries::Column::Status)
        .column_as(deliveries::Column::Id.count(), "count")
        .group_by(deliveries::Column::Status)
        .into_tuple()
        .all(db)
        .await
}
