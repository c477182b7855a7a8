//! Rate limits count root fields, not HTTP requests (SPEC §10): every root mutation without a
//! limit of its own takes one from the caller's general mutation limit as it runs, so 100
//! aliases of `updateProfile` in one request cost 100 and the ones past the limit answer
//! `RATE_LIMITED` (mutations run one after another, so the order is the document's).

use std::sync::Arc;

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextResolve, ResolveInfo,
};
use async_graphql::{ErrorExtensions, ServerResult, Value};

use crate::domain::rate_limit::RateLimitedAction;
use crate::graphql::context::{ClientIp, RequestAuth, rate_subject};
use crate::service::Services;

/// Mutations whose services count their own limits (SPEC §10); every other mutation counts
/// toward the general mutation limit.
pub const OWN_LIMITS: [&str; 7] = [
    "memberLogin",
    "adminLogin",
    "signIn",
    "makeUpSignIn",
    "redeemReward",
    "submitKocTask",
    "resubmitKocTask",
];

/// Counts each root mutation field against the caller's mutation limit.
pub struct RootFieldLimits;

impl ExtensionFactory for RootFieldLimits {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(Self)
    }
}

#[async_graphql::async_trait::async_trait]
impl Extension for RootFieldLimits {
    async fn resolve(
        &self,
        ctx: &ExtensionContext<'_>,
        info: ResolveInfo<'_>,
        next: NextResolve<'_>,
    ) -> ServerResult<Option<Value>> {
        let counted = info.path_node.parent.is_none()
            && info.parent_type == "Mutation"
            && !OWN_LIMITS.contains(&info.name);
        if counted && let Some(services) = ctx.data_opt::<Arc<Services>>() {
            let auth = ctx
                .data_opt::<RequestAuth>()
                .copied()
                .unwrap_or(RequestAuth::Anonymous);
            let ip = ctx
                .data_opt::<ClientIp>()
                .map_or("unknown", |ip| ip.0.as_str());
            let subject = rate_subject(auth, ip);
            if let Err(error) = services
                .limiter
                .check(RateLimitedAction::Mutation, &subject)
                .await
            {
                let mut refused = error.extend().into_server_error(info.field.name.pos);
                refused.path = vec![async_graphql::PathSegment::Field(
                    info.alias.unwrap_or(info.name).to_owned(),
                )];
                return Err(refused);
            }
        }
        next.run(ctx, info).await
    }
}
