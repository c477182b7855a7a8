//! Subscribe messages (订阅消息): the consents a member gives in `wx.requestSubscribeMessage`,
//! and the template each notice kind is sent with.

use async_graphql::{Context, InputObject, Object, ResultExt, SimpleObject};

use crate::domain::auth::AdminAction;
use crate::domain::subscribe_message::{self, MessageTemplate as TemplateView};
use crate::graphql::context::ContextExt;
use crate::graphql::inbox::NotificationKind;
use crate::service::messages::Consent;

/// One field of a subscribe-message template (模板字段) and how its value is made.
#[derive(SimpleObject, InputObject)]
#[graphql(input_name = "TemplateFieldInput")]
pub struct TemplateField {
    /// The field's key in the template (关键词), e.g. `thing1`, `number2`, `date3`, `time4`,
    /// `phrase5`, `character_string6`: its type is the key without the digits.
    key: String,
    /// The value's pattern (取值模板): text with `{title}`, `{body}`, `{points}`, `{balance}`,
    /// `{date}`, `{time}`. The filled value is cut to WeChat's limit for the key's type (thing
    /// 20 characters, phrase 5, number/letter/character_string 32, symbol 5, name 10,
    /// phone_number 17, car_number 8, amount 13, date/time 40), ending in "…" when cut.
    value: String,
}

/// The subscribe-message template a notice kind is sent with (订阅消息模板映射).
#[derive(SimpleObject)]
pub struct MessageTemplate {
    /// The inbox notice kind it sends.
    kind: NotificationKind,
    /// The template id (模板ID) from the mini-program's admin console.
    template_id: String,
    /// The page the message opens (跳转页面), e.g. `pages/points/index`; empty: no jump.
    page: String,
    /// How each field of the template is filled.
    fields: Vec<TemplateField>,
}

impl From<TemplateView> for MessageTemplate {
    fn from(template: TemplateView) -> Self {
        Self {
            kind: template.kind.into(),
            template_id: template.template_id,
            page: template.page,
            fields: template
                .fields
                .into_iter()
                .map(|field| TemplateField {
                    key: field.key,
                    value: field.value,
                })
                .collect(),
        }
    }
}

/// A notice kind and the template it is sent with (模板映射).
#[derive(InputObject)]
pub struct MessageTemplateInput {
    /// The inbox notice kind to send.
    kind: NotificationKind,
    /// The template id (模板ID) the member subscribes to in `wx.requestSubscribeMessage`.
    template_id: String,
    /// The page the message opens, without a leading `/` (跳转页面); empty: no jump.
    #[graphql(default)]
    page: String,
    /// How each field of the template is filled: 1 to 10 fields, each key once.
    fields: Vec<TemplateField>,
}

#[derive(Default)]
pub struct MessageQuery;

#[Object]
impl MessageQuery {
    /// The template each notice kind is sent with (订阅消息模板; ADMIN). Kinds not listed are
    /// not sent as subscribe messages.
    async fn message_templates(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<MessageTemplate>> {
        ctx.viewer()?.admin_for(AdminAction::ManageRules).extend()?;
        let templates = ctx.services().messages.templates().await.extend()?;
        Ok(templates.into_iter().map(MessageTemplate::from).collect())
    }
}

/// A subscribe-message template the member allows messages of (订阅消息授权), and how many.
#[derive(SimpleObject)]
pub struct MessageConsent {
    /// The template id (模板ID) from the mini-program's admin console.
    template_id: String,
    /// Messages of this template the member still allows (剩余可发送次数): each accepted
    /// one-time template allows one.
    remaining: i32,
}

impl From<Consent> for MessageConsent {
    fn from(consent: Consent) -> Self {
        Self {
            template_id: consent.template_id,
            remaining: consent.remaining,
        }
    }
}

/// What the member answered for one template in `wx.requestSubscribeMessage` (订阅结果).
#[derive(InputObject)]
pub struct MessageSubscriptionInput {
    /// The template id (模板ID), as passed to `wx.requestSubscribeMessage`.
    template_id: String,
    /// True when the member accepted (`accept`); false for `reject`, `ban` or `filter`.
    accepted: bool,
}

#[derive(Default)]
pub struct MessageMutation;

#[Object]
impl MessageMutation {
    /// Replaces the template mapping (配置订阅消息模板; ADMIN): each listed notice kind is sent
    /// as a subscribe message with its template while the member allows one; kinds not listed
    /// are not sent. Applies from the next notice on. VALIDATION on `kind` (twice),
    /// `templateId`, `page`, `fields`, `fields.key` or `fields.value`.
    async fn update_message_templates(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The whole mapping, one entry per notice kind; [] sends none.")]
        input: Vec<MessageTemplateInput>,
    ) -> async_graphql::Result<Vec<MessageTemplate>> {
        ctx.viewer()?.admin_for(AdminAction::ManageRules).extend()?;
        let input = input
            .into_iter()
            .map(|entry| {
                let fields = entry
                    .fields
                    .into_iter()
                    .map(|field| subscribe_message::TemplateField {
                        key: field.key,
                        value: field.value,
                    })
                    .collect();
                (entry.kind.into(), entry.template_id, entry.page, fields)
            })
            .collect();
        let templates = ctx
            .services()
            .messages
            .replace_templates(input)
            .await
            .extend()?;
        Ok(templates.into_iter().map(MessageTemplate::from).collect())
    }

    /// Records the answers of `wx.requestSubscribeMessage` (记录订阅消息授权): each accepted
    /// template allows one more message of it; a declined one changes nothing. Returns the
    /// caller's consents after. VALIDATION on `input` (1 to 20 answers) or `templateId`.
    async fn record_message_subscriptions(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "One answer per template (订阅结果), 1 to 20.")] input: Vec<
            MessageSubscriptionInput,
        >,
    ) -> async_graphql::Result<Vec<MessageConsent>> {
        let member = ctx.viewer()?.member().extend()?;
        let answers: Vec<(String, bool)> = input
            .into_iter()
            .map(|answer| (answer.template_id, answer.accepted))
            .collect();
        let consents = ctx
            .services()
            .messages
            .record(member, &answers)
            .await
            .extend()?;
        Ok(consents.into_iter().map(MessageConsent::from).collect())
    }
}
