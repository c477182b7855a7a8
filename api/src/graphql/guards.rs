//! Schema extensions that guard the edge.
//!
//! - `RootFieldLimits`: rate limits count root fields, not HTTP requests (SPEC §10). Every
//!   root mutation is charged its limit (its own, or the caller's general mutation limit), so
//!   100 aliases of `updateProfile` in one request cost 100 and the ones past the limit answer
//!   `RATE_LIMITED` (mutations run one after another, in document order). The HTTP layer
//!   counts the root fields it can see together with the request's own limit, in one Redis
//!   round trip, and leaves the verdicts here.
//! - `InputErrors`: every malformed value is `VALIDATION` with the field it came in (SPEC §12):
//!   a value the schema's types cannot take (an impossible date, a timestamp without a zone,
//!   a string over its length) is named by its argument; and before anything runs, a request
//!   is refused for a NUL character anywhere (no text holds one, and PostgreSQL cannot store
//!   it), a number beyond the 32 bits of GraphQL's `Int` (every number this API takes is an
//!   `Int`), or a string beyond any text it keeps.

use std::sync::Arc;

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextParseQuery, NextResolve, ResolveInfo,
};
use async_graphql::parser::Positioned;
use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::{ErrorExtensions, Name, Pos, ServerError, ServerResult, Value, Variables};
use async_graphql_value::Value as AstValue;

use crate::domain::auth::Viewer;
use crate::domain::rate_limit::RateLimitedAction;
use crate::graphql::context::{ClientIp, RequestAuth, rate_subject};
use crate::service::Services;

/// The limit a root mutation field is charged, and for whom (SPEC §10): `signIn` and
/// `makeUpSignIn`, `redeemReward`, the KOC submissions per member; `memberLogin` per IP;
/// `adminLogin` none here (its lockout counts failures); every other mutation the caller's
/// general mutation limit. Member-only fields called by a non-member are not charged: they
/// answer `UNAUTHENTICATED`.
pub fn field_limit(
    field: &str,
    auth: RequestAuth,
    ip: &str,
) -> Option<(RateLimitedAction, String)> {
    let member = matches!(auth, RequestAuth::Authenticated(Viewer::Member(_)));
    let per_member = |action| member.then(|| (action, rate_subject(auth, ip)));
    match field {
        "signIn" | "makeUpSignIn" => per_member(RateLimitedAction::SignIn),
        "redeemReward" => per_member(RateLimitedAction::Redeem),
        "submitKocTask" | "resubmitKocTask" => per_member(RateLimitedAction::KocSubmission),
        "memberLogin" => Some((RateLimitedAction::MemberLogin, format!("ip:{ip}"))),
        "adminLogin" => None,
        _ => Some((RateLimitedAction::Mutation, rate_subject(auth, ip))),
    }
}

/// Root mutation fields whose limits the HTTP layer already counted with the request's own,
/// in the same round trip: response key → seconds to wait (0 when allowed).
#[derive(Debug, Default, Clone)]
pub struct PrecheckedLimits(pub Vec<(String, u64)>);

/// Charges each root mutation field its limit as it runs (or enforces the verdict counted
/// beforehand), so 100 aliases of `updateProfile` in one request cost 100.
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
        let root_mutation = info.path_node.parent.is_none() && info.parent_type == "Mutation";
        if root_mutation && let Some(services) = ctx.data_opt::<Arc<Services>>() {
            let key = info.alias.unwrap_or(info.name);
            let counted = ctx
                .data_opt::<PrecheckedLimits>()
                .and_then(|checked| checked.0.iter().find(|(k, _)| k == key))
                .map(|(_, wait)| *wait);
            let verdict = match counted {
                Some(wait) => crate::domain::rate_limit::verdict(wait),
                None => {
                    let auth = ctx
                        .data_opt::<RequestAuth>()
                        .copied()
                        .unwrap_or(RequestAuth::Anonymous);
                    let ip = ctx
                        .data_opt::<ClientIp>()
                        .map_or("unknown", |ip| ip.0.as_str());
                    match field_limit(info.name, auth, ip) {
                        Some((action, subject)) => services.limiter.check(action, &subject).await,
                        None => Ok(()),
                    }
                }
            };
            if let Err(error) = verdict {
                let mut refused = error.extend().into_server_error(info.field.name.pos);
                refused.path = vec![async_graphql::PathSegment::Field(key.to_owned())];
                return Err(refused);
            }
        }
        next.run(ctx, info).await
    }
}

/// Gives malformed input its code and field, and refuses NUL characters.
pub struct InputErrors;

impl ExtensionFactory for InputErrors {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(Self)
    }
}

#[async_graphql::async_trait::async_trait]
impl Extension for InputErrors {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let document = next.run(ctx, query, variables).await?;
        for (name, value) in variables.iter() {
            if let Some(reason) = refusal(value) {
                // Named after the argument the variable feeds, as a literal would be.
                let field = find_argument(&document, |argument, value| {
                    uses_variable(&value.node, name).then(|| argument.to_string())
                })
                .unwrap_or_else(|| name.to_string());
                return Err(refused(&field, reason, None));
            }
        }
        let literal = find_argument(&document, |argument, value| {
            let reason = refusal(&value.node.clone().into_const()?)?;
            Some((argument.to_string(), reason, value.pos))
        });
        if let Some((name, reason, pos)) = literal {
            return Err(refused(&name, reason, Some(pos)));
        }
        Ok(document)
    }

    async fn resolve(
        &self,
        ctx: &ExtensionContext<'_>,
        info: ResolveInfo<'_>,
        next: NextResolve<'_>,
    ) -> ServerResult<Option<Value>> {
        let field = info.field;
        next.run(ctx, info).await.map_err(|mut error| {
            let uncoded = error
                .extensions
                .as_ref()
                .is_none_or(|extensions| extensions.get("code").is_none());
            // async-graphql's own words for a value its input types refuse, or a null where
            // a value is required.
            let refused_input = error.message.starts_with("Failed to parse")
                || error.message.starts_with("Expected input type");
            if uncoded && refused_input {
                let argument = field
                    .arguments
                    .iter()
                    .find(|(_, value)| error.locations.first() == Some(&value.pos))
                    .map_or("input", |(name, _)| name.node.as_str());
                let extensions = error.extensions.get_or_insert_with(Default::default);
                extensions.set("code", "VALIDATION");
                extensions.set("field", argument);
            }
            error
        })
    }
}

/// The longest text any field takes (a KOC proof); anything longer is refused unread.
const MAX_TEXT_CHARS: usize = 2_000;

fn refused(field: &str, reason: &str, pos: Option<Pos>) -> ServerError {
    let mut error = ServerError::new(format!("invalid {field}: {reason}"), pos);
    let extensions = error.extensions.get_or_insert_with(Default::default);
    extensions.set("code", "VALIDATION");
    extensions.set("field", field);
    error
}

/// Why `value` can never be a valid input, if it cannot.
fn refusal(value: &Value) -> Option<&'static str> {
    match value {
        Value::String(text) if text.contains('\0') => Some("must not contain a NUL character"),
        Value::String(text) if text.chars().count() > MAX_TEXT_CHARS => {
            Some("is longer than any text this API takes (2000 characters)")
        }
        Value::Number(number) if number.as_i64().is_none_or(|n| i32::try_from(n).is_err()) => {
            Some("must be a whole number from -2147483648 to 2147483647 (a GraphQL Int)")
        }
        Value::List(items) => items.iter().find_map(refusal),
        Value::Object(fields) => fields.iter().find_map(|(name, value)| {
            if name.contains('\0') {
                Some("must not contain a NUL character")
            } else {
                refusal(value)
            }
        }),
        _ => None,
    }
}

/// The first answer `found` gives for an argument anywhere in `document` (operations and
/// fragments, at any depth).
fn find_argument<T>(
    document: &ExecutableDocument,
    found: impl Fn(&Name, &Positioned<AstValue>) -> Option<T> + Copy,
) -> Option<T> {
    document
        .operations
        .iter()
        .map(|(_, operation)| &operation.node.selection_set.node)
        .chain(
            document
                .fragments
                .values()
                .map(|fragment| &fragment.node.selection_set.node),
        )
        .find_map(|set| find_in_selection(set, found))
}

fn find_in_selection<T>(
    set: &SelectionSet,
    found: impl Fn(&Name, &Positioned<AstValue>) -> Option<T> + Copy,
) -> Option<T> {
    set.items.iter().find_map(|item| match &item.node {
        Selection::Field(field) => field
            .node
            .arguments
            .iter()
            .find_map(|(name, value)| found(&name.node, value))
            .or_else(|| find_in_selection(&field.node.selection_set.node, found)),
        Selection::InlineFragment(fragment) => {
            find_in_selection(&fragment.node.selection_set.node, found)
        }
        Selection::FragmentSpread(_) => None,
    })
}

/// Whether `value` uses `$variable` (resolving it fails exactly then).
fn uses_variable(value: &AstValue, variable: &Name) -> bool {
    value
        .clone()
        .into_const_with(|used| {
            if &used == variable {
                Err(())
            } else {
                Ok(Value::Null)
            }
        })
        .is_err()
}
