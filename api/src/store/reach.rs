//! The operator's reach settings: which template each notice kind is sent with, and the
//! brand's webhooks. Both are read into the rules snapshot; every write bumps the rules
//! version (call them in a transaction).

use chrono::{DateTime, Utc};
use entity::{message_templates, webhooks};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ConnectionTrait, DbErr, EntityTrait, QueryOrder,
};

use crate::domain::notification::NoticeKind;
use crate::domain::subscribe_message::{MessageTemplate, TemplateField};
use crate::domain::webhook::{Webhook, WebhookEvent};
use crate::error::AppError;

/// Every mapped template, by kind.
///
/// # Errors
/// Database errors, or a stored row that does not parse.
pub async fn templates(db: &impl ConnectionTrait) -> Result<Vec<MessageTemplate>, AppError> {
    message_templates::Entity::find()
        .order_by_asc(message_templates::Column::Kind)
        .all(db)
        .await?
        .into_iter()
        .map(|row| {
            let kind = NoticeKind::parse(&row.kind).ok_or_else(|| {
                AppError::internal(anyhow::anyhow!("template of unknown kind {}", row.kind))
            })?;
            let fields: Vec<TemplateField> =
                serde_json::from_str(&row.fields).map_err(AppError::internal)?;
            Ok(MessageTemplate {
                kind,
                template_id: row.template_id,
                page: row.page,
                fields,
            })
        })
        .collect()
}

/// Replaces the whole mapping with `templates`.
///
/// # Errors
/// Database errors.
pub async fn replace_templates(
    db: &impl ConnectionTrait,
    templates: &[MessageTemplate],
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    message_templates::Entity::delete_many().exec(db).await?;
    for template in templates {
        message_templates::ActiveModel {
            kind: Set(template.kind.as_str().to_owned()),
            template_id: Set(template.template_id.clone()),
            page: Set(template.page.clone()),
            fields: Set(serde_json::to_string(&template.fields).map_err(AppError::internal)?),
            updated_at: Set(now),
        }
        .insert(db)
        .await?;
    }
    crate::store::programme::bump_rules_version(db).await?;
    Ok(())
}

fn webhook_from_row(row: webhooks::Model) -> Result<Webhook, AppError> {
    let events = row
        .events
        .split(',')
        .filter(|name| !name.is_empty())
        .map(|name| {
            WebhookEvent::parse(name).ok_or_else(|| {
                AppError::internal(anyhow::anyhow!("webhook {} has event {name}", row.id))
            })
        })
        .collect::<Result<_, _>>()?;
    Ok(Webhook {
        id: row.id,
        url: row.url,
        secret: row.secret,
        events,
        created_at: row.created_at,
    })
}

/// Every webhook, oldest first.
///
/// # Errors
/// Database errors, or a stored row that does not parse.
pub async fn webhooks(db: &impl ConnectionTrait) -> Result<Vec<Webhook>, AppError> {
    webhooks::Entity::find()
        .order_by_asc(webhooks::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(webhook_from_row)
        .collect()
}

/// One webhook, if it still exists.
///
/// # Errors
/// Database errors, or a stored row that does not parse.
pub async fn webhook(db: &impl ConnectionTrait, id: i64) -> Result<Option<Webhook>, AppError> {
    webhooks::Entity::find_by_id(id)
        .one(db)
        .await?
        .map(webhook_from_row)
        .transpose()
}

/// # Errors
/// Database errors.
pub async fn insert_webhook(
    db: &impl ConnectionTrait,
    url: &str,
    secret: &str,
    events: &[WebhookEvent],
    now: DateTime<Utc>,
) -> Result<Webhook, AppError> {
    let names: Vec<&str> = events.iter().map(|event| event.as_str()).collect();
    let row = webhooks::ActiveModel {
        url: Set(url.to_owned()),
        secret: Set(secret.to_owned()),
        events: Set(names.join(",")),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    crate::store::programme::bump_rules_version(db).await?;
    webhook_from_row(row)
}

/// Deletes a webhook; false when there was none. Its delivery log stays.
///
/// # Errors
/// Database errors.
pub async fn delete_webhook(db: &impl ConnectionTrait, id: i64) -> Result<bool, DbErr> {
    let deleted = webhooks::Entity::delete_by_id(id)
        .exec(db)
        .await?
        .rows_affected
        == 1;
    if deleted {
        crate::store::programme::bump_rules_version(db).await?;
    }
    Ok(deleted)
}
