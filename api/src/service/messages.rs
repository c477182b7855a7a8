//! Subscribe messages (订阅消息, SPEC §17): what each member allows, and which template each
//! notice kind is sent with. Sending goes through the outbox (`service::outbox`).

use std::sync::Arc;

use sea_orm::DatabaseConnection;

use crate::domain::ids::MemberId;
use crate::domain::notification::NoticeKind;
use crate::domain::subscribe_message::{self, MAX_REPORTED, MessageTemplate, TemplateField};
use crate::error::AppError;
use crate::infra::clock::Clock;
use crate::store;

/// A template the member allows messages of, and how many are left.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consent {
    pub template_id: String,
    pub remaining: i32,
}

pub struct MessageService {
    db: DatabaseConnection,
    clock: Arc<Clock>,
}

impl MessageService {
    pub fn new(db: DatabaseConnection, clock: Arc<Clock>) -> Self {
        Self { db, clock }
    }

    /// Records what the member answered in `wx.requestSubscribeMessage`: each accepted
    /// template allows one more message; a declined one changes nothing (what the member
    /// allowed before stays). One transaction. Returns the consents after.
    ///
    /// # Errors
    /// `VALIDATION` on `input` (none, or more than 20) or `templateId`.
    pub async fn record(
        &self,
        member: MemberId,
        answers: &[(String, bool)],
    ) -> Result<Vec<Consent>, AppError> {
        if answers.is_empty() || answers.len() > MAX_REPORTED {
            return Err(AppError::validation(
                "input",
                format!("report 1 to {MAX_REPORTED} templates"),
            ));
        }
        let mut accepted = Vec::new();
        for (template_id, yes) in answers {
            let template_id = subscribe_message::check_template_id(template_id)?;
            if *yes {
                accepted.push(template_id);
            }
        }
        let now = self.clock.now();
        let txn = store::begin(&self.db).await?;
        for template_id in accepted {
            store::message_consents::add_one(&txn, member, template_id, now).await?;
        }
        txn.commit().await?;
        self.consents(member).await
    }

    /// The templates the member allows messages of, with how many are left.
    ///
    /// # Errors
    /// `INTERNAL` on database failure.
    pub async fn consents(&self, member: MemberId) -> Result<Vec<Consent>, AppError> {
        Ok(store::message_consents::remaining(&self.db, member)
            .await?
            .into_iter()
            .map(|(template_id, remaining)| Consent {
                template_id,
                remaining,
            })
            .collect())
    }

    /// Replaces the whole template mapping: each listed kind is sent with its template, kinds
    /// not listed are not sent. Applies from the next notice on, on every instance.
    ///
    /// # Errors
    /// `VALIDATION` on a field of a mapping (see `MessageTemplate::new`), or `kind` mapped
    /// twice.
    pub async fn replace_templates(
        &self,
        input: Vec<(NoticeKind, String, String, Vec<TemplateField>)>,
    ) -> Result<Vec<MessageTemplate>, AppError> {
        let mut templates: Vec<MessageTemplate> = Vec::with_capacity(input.len());
        for (kind, template_id, page, fields) in input {
            if templates.iter().any(|t| t.kind == kind) {
                return Err(AppError::validation(
                    "kind",
                    format!("{} is mapped twice", kind.as_str()),
                ));
            }
            templates.push(MessageTemplate::new(kind, &template_id, &page, fields)?);
        }
        let txn = store::begin(&self.db).await?;
        store::reach::replace_templates(&txn, &templates, self.clock.now()).await?;
        txn.commit().await?;
        Ok(templates)
    }

    /// The template mapping, by kind.
    ///
    /// # Errors
    /// `INTERNAL` on database failure.
    pub async fn templates(&self) -> Result<Vec<MessageTemplate>, AppError> {
        store::reach::templates(&self.db).await
    }
}
