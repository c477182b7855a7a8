//! Subscribe messages (订阅消息): the consents a member gives in `wx.requestSubscribeMessage`.

use async_graphql::{Context, InputObject, Object, ResultExt, SimpleObject};

use crate::graphql::context::ContextExt;
use crate::service::messages::Consent;

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
