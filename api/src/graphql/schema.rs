//! Builds the schema: the one place that adds shared data, limits and the introspection policy.

use std::sync::Arc;

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextParseQuery};
use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, OperationDefinition, OperationType, Selection,
    SelectionSet,
};
use async_graphql::{
    MergedObject, MergedSubscription, Schema, SchemaBuilder, ServerError, ServerResult, Variables,
};

use crate::config::ServerSettings;
use crate::graphql::auth::AuthMutation;
use crate::graphql::campaigns::{CampaignMutation, CampaignQuery};
use crate::graphql::clock::{ClockMutation, ClockQuery};
use crate::graphql::connection::Page;
use crate::graphql::guards::{InputErrors, RootFieldLimits};
use crate::graphql::inbox::Notification;
use crate::graphql::inbox::{InboxMutation, InboxQuery, InboxSubscription};
use crate::graphql::koc::{KocApplication, KocSubmission};
use crate::graphql::koc::{KocMutation, KocQuery};
use crate::graphql::leaderboards::{LeaderboardMutation, LeaderboardQuery};
use crate::graphql::lottery::{LotteryMutation, LotteryQuery};
use crate::graphql::member_day::{MemberDayMutation, MemberDayQuery};
use crate::graphql::members::MemberListItem;
use crate::graphql::members::{MemberMutation, MemberQuery};
use crate::graphql::messages::{MessageMutation, MessageQuery};
use crate::graphql::outbox::{Delivery, OutboxMutation, OutboxQuery};
use crate::graphql::points::PointsEntry;
use crate::graphql::points::{PointsMutation, PointsQuery};
use crate::graphql::purchases::{PurchaseMutation, PurchaseQuery};
use crate::graphql::referrals::Referral;
use crate::graphql::referrals::{ReferralMutation, ReferralQuery};
use crate::graphql::rewards::{Redemption, Reward};
use crate::graphql::rewards::{RewardMutation, RewardQuery};
use crate::graphql::scalars::DATE_TIME_DESCRIPTION;
use crate::graphql::seasons::{SeasonMutation, SeasonQuery};
use crate::graphql::segments::{SegmentMutation, SegmentQuery};
use crate::graphql::signin::{SigninMutation, SigninQuery};
use crate::graphql::stats::{StatsMutation, StatsQuery};
use crate::graphql::tasks::{TaskMutation, TaskQuery};
use crate::graphql::tiers::{TierMutation, TierQuery};
use crate::service::Services;

/// What can be read (查询). Members read their own card, the catalogue and the boards;
/// admins and operators read everything. Send `Authorization: Bearer <token>` from
/// `memberLogin` or `adminLogin`; public fields work without it.
#[derive(MergedObject, Default)]
pub struct Query(
    MemberQuery,
    SigninQuery,
    PointsQuery,
    PurchaseQuery,
    InboxQuery,
    TierQuery,
    MemberDayQuery,
    RewardQuery,
    KocQuery,
    ReferralQuery,
    LeaderboardQuery,
    StatsQuery,
    MessageQuery,
    OutboxQuery,
    SegmentQuery,
    CampaignQuery,
    TaskQuery,
    LotteryQuery,
    SeasonQuery,
    ClockQuery,
);

/// What can be changed (变更). Mutations are rate limited per member or IP; those that move
/// points are idempotent (an idempotency key, an order id, or once a day by nature), so a
/// retried call never counts twice.
#[derive(MergedObject, Default)]
pub struct Mutation(
    AuthMutation,
    MemberMutation,
    MessageMutation,
    SigninMutation,
    PointsMutation,
    PurchaseMutation,
    InboxMutation,
    TierMutation,
    MemberDayMutation,
    RewardMutation,
    KocMutation,
    ReferralMutation,
    LeaderboardMutation,
    OutboxMutation,
    SegmentMutation,
    StatsMutation,
    CampaignMutation,
    TaskMutation,
    LotteryMutation,
    SeasonMutation,
    ClockMutation,
);

/// Live updates (订阅), served over the WebSocket at `/graphql/ws` only.
#[derive(MergedSubscription, Default)]
pub struct Subscription(InboxSubscription);

pub type AppSchema = Schema<Query, Mutation, Subscription>;

/// Introspection documents (GraphiQL's schema query) are deeper than any real query; they run
/// on their own schema with these limits, so tooling works while the API's limits stay tight.
const INTROSPECTION_MAX_DEPTH: usize = 20;
const INTROSPECTION_MAX_COMPLEXITY: usize = 2_000;

/// The schema for API requests, and (when introspection is on) one that answers only
/// introspection, with limits that fit GraphiQL.
#[derive(Clone)]
pub struct Schemas {
    pub api: AppSchema,
    pub introspection: Option<AppSchema>,
    /// The API schema for `/graphql/ws`: subscriptions only, so queries and mutations keep
    /// going through `POST /graphql` and its rate limits.
    pub subscriptions: AppSchema,
}

impl Schemas {
    /// The schema that should execute `document`.
    pub fn for_document(
        &self,
        document: &ExecutableDocument,
        operation: Option<&str>,
    ) -> &AppSchema {
        match &self.introspection {
            Some(introspection) if is_introspection_only(document, operation) => introspection,
            _ => &self.api,
        }
    }
}

/// Describes each connection type: the library names them after the item, without a word.
macro_rules! describe_pages {
    ($builder:expr, $($item:ty => $what:literal),+ $(,)?) => {
        $builder$(.override_output_type_description::<Page<$item>>(concat!(
            "A page of ", $what, " (分页列表). Ask for the next page with `after` set to the last ",
            "edge's `cursor` while `pageInfo.hasNextPage` is true."
        )))+
    };
}

fn builder() -> SchemaBuilder<Query, Mutation, Subscription> {
    let builder = Schema::build(
        Query::default(),
        Mutation::default(),
        Subscription::default(),
    )
    // No field returns it; it is in the schema to document every `extensions.code`.
    .register_output_type::<crate::graphql::error::ErrorCode>()
    // The library describes its DateTime scalar after the Rust type; clients need the format.
    .override_output_type_description::<chrono::DateTime<chrono::Utc>>(DATE_TIME_DESCRIPTION)
    .override_input_type_description::<chrono::DateTime<chrono::Utc>>(DATE_TIME_DESCRIPTION);
    describe_pages!(
        builder,
        Delivery => "outbox deliveries (投递记录)",
        KocApplication => "KOC applications (达人申请)",
        KocSubmission => "KOC task submissions (任务提交)",
        MemberListItem => "members (会员)",
        Notification => "inbox notices (消息)",
        PointsEntry => "points entries (积分明细)",
        Redemption => "redemptions (兑换记录)",
        Referral => "invites (邀请记录)",
        Reward => "rewards (积分商城奖品)",
    )
}

/// The API schema with the configured limits and introspection policy.
pub fn build_schema(services: Arc<Services>, settings: &ServerSettings) -> Schemas {
    let api = || {
        let api = builder()
            .data(Arc::clone(&services))
            .limit_depth(settings.max_depth)
            .limit_complexity(settings.max_complexity)
            .extension(RootFieldLimits)
            .extension(InputErrors)
            .disable_suggestions();
        if settings.introspection {
            api
        } else {
            api.disable_introspection()
        }
    };
    let subscriptions = api().extension(SubscriptionsOnly).finish();
    let introspection = settings.introspection.then(|| {
        builder()
            .data(Arc::clone(&services))
            .introspection_only()
            .limit_depth(INTROSPECTION_MAX_DEPTH)
            .limit_complexity(INTROSPECTION_MAX_COMPLEXITY)
            .finish()
    });
    Schemas {
        api: api().finish(),
        introspection,
        subscriptions,
    }
}

/// Refuses every operation but subscriptions.
struct SubscriptionsOnly;

impl ExtensionFactory for SubscriptionsOnly {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(Self)
    }
}

#[async_graphql::async_trait::async_trait]
impl Extension for SubscriptionsOnly {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let document = next.run(ctx, query, variables).await?;
        if document
            .operations
            .iter()
            .any(|(_, operation)| operation.node.ty != OperationType::Subscription)
        {
            let mut error = ServerError::new(
                "only subscriptions are served here; send queries and mutations to POST /graphql",
                None,
            );
            error
                .extensions
                .get_or_insert_with(Default::default)
                .set("code", "VALIDATION");
            return Err(error);
        }
        Ok(document)
    }
}

/// The schema in SDL, as committed in `schema.graphql`.
pub fn sdl() -> String {
    builder().finish().sdl()
}

/// The operation `name` selects in `document` (the only one when `name` is absent).
fn select_operation<'d>(
    document: &'d ExecutableDocument,
    name: Option<&str>,
) -> Option<&'d OperationDefinition> {
    let operation = match (&document.operations, name) {
        (DocumentOperations::Single(op), _) => Some(op),
        (DocumentOperations::Multiple(ops), Some(name)) => ops
            .iter()
            .find(|(n, _)| n.as_str() == name)
            .map(|(_, op)| op),
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => ops.values().next(),
        (DocumentOperations::Multiple(_), None) => None,
    };
    operation.map(|op| &op.node)
}

/// The root fields the selected operation asks for (fragments at the root are not followed).
pub fn root_fields(document: &ExecutableDocument, name: Option<&str>) -> Vec<String> {
    select_operation(document, name).map_or_else(Vec::new, |op| {
        op.selection_set
            .node
            .items
            .iter()
            .map(|item| match &item.node {
                Selection::Field(field) => field.node.name.node.to_string(),
                Selection::FragmentSpread(_) | Selection::InlineFragment(_) => String::new(),
            })
            .collect()
    })
}

/// The selected operation's root fields as (name, response key), when every root selection is
/// a plain field (no fragments).
pub fn root_field_keys(
    document: &ExecutableDocument,
    name: Option<&str>,
) -> Option<Vec<(String, String)>> {
    let op = select_operation(document, name)?;
    op.selection_set
        .node
        .items
        .iter()
        .map(|item| match &item.node {
            Selection::Field(field) => {
                let name = field.node.name.node.to_string();
                let key = field
                    .node
                    .alias
                    .as_ref()
                    .map_or_else(|| name.clone(), |alias| alias.node.to_string());
                Some((name, key))
            }
            Selection::FragmentSpread(_) | Selection::InlineFragment(_) => None,
        })
        .collect()
}

/// Whether the selected operation is a query, mutation or subscription.
pub fn operation_type(document: &ExecutableDocument, name: Option<&str>) -> Option<OperationType> {
    select_operation(document, name).map(|op| op.ty)
}

/// Whether the selected operation is a query that only asks for `__schema`, `__type` and
/// `__typename` at its root.
fn is_introspection_only(document: &ExecutableDocument, name: Option<&str>) -> bool {
    select_operation(document, name).is_some_and(|op| {
        op.ty == OperationType::Query && root_is_introspection(document, &op.selection_set.node, 0)
    })
}

fn root_is_introspection(document: &ExecutableDocument, set: &SelectionSet, hops: usize) -> bool {
    // Fragments may nest; a cycle is invalid GraphQL anyway, so stop rather than loop.
    if hops > 8 {
        return false;
    }
    set.items.iter().all(|item| match &item.node {
        Selection::Field(field) => field.node.name.node.as_str().starts_with("__"),
        Selection::InlineFragment(fragment) => {
            root_is_introspection(document, &fragment.node.selection_set.node, hops + 1)
        }
        Selection::FragmentSpread(spread) => document
            .fragments
            .get(&spread.node.fragment_name.node)
            .is_some_and(|fragment| {
                root_is_introspection(document, &fragment.node.selection_set.node, hops + 1)
            }),
    })
}

#[cfg(test)]
mod tests {
    use async_graphql::parser::parse_query;

    use super::*;

    #[test]
    fn schema_graphql_matches_the_code() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../schema.graphql");
        let generated = sdl();
        if std::env::var_os("UPDATE_SCHEMA").is_some() {
            std::fs::write(path, &generated).unwrap();
            return;
        }
        let committed = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            committed == generated,
            "schema.graphql is out of date: run `UPDATE_SCHEMA=1 cargo test -p api schema_graphql`"
        );
    }

    /// The schema is the frontend's documentation: every type, field, argument, input field and
    /// enum value carries a description.
    #[test]
    fn everything_in_the_schema_is_described() {
        use async_graphql::parser::types::{TypeKind, TypeSystemDefinition};
        let document = async_graphql::parser::parse_schema(sdl()).unwrap();
        let mut undescribed = Vec::new();
        for definition in &document.definitions {
            let TypeSystemDefinition::Type(ty) = definition else {
                continue;
            };
            let type_name = ty.node.name.node.as_str();
            if ty.node.description.is_none() {
                undescribed.push(type_name.to_owned());
            }
            match &ty.node.kind {
                TypeKind::Object(object) => {
                    for field in &object.fields {
                        let field_name = field.node.name.node.as_str();
                        if field.node.description.is_none() {
                            undescribed.push(format!("{type_name}.{field_name}"));
                        }
                        for argument in &field.node.arguments {
                            if argument.node.description.is_none() {
                                undescribed.push(format!(
                                    "{type_name}.{field_name}({})",
                                    argument.node.name.node
                                ));
                            }
                        }
                    }
                }
                TypeKind::Interface(interface) => {
                    for field in &interface.fields {
                        if field.node.description.is_none() {
                            undescribed.push(format!("{type_name}.{}", field.node.name.node));
                        }
                    }
                }
                TypeKind::InputObject(input) => {
                    for field in &input.fields {
                        if field.node.description.is_none() {
                            undescribed.push(format!("{type_name}.{}", field.node.name.node));
                        }
                    }
                }
                TypeKind::Enum(enumeration) => {
                    for value in &enumeration.values {
                        if value.node.description.is_none() {
                            undescribed.push(format!("{type_name}.{}", value.node.value.node));
                        }
                    }
                }
                TypeKind::Scalar | TypeKind::Union(_) => {}
            }
        }
        assert!(
            undescribed.is_empty(),
            "{} undescribed: {undescribed:#?}",
            undescribed.len()
        );
    }

    #[test]
    fn only_root_introspection_queries_count_as_introspection() {
        let cases = [
            ("{ __schema { types { name } } }", None, true),
            (
                "query A { __typename ...F } fragment F on Query { __type(name: \"X\") { name } }",
                None,
                true,
            ),
            ("{ __typename me { id } }", None, false),
            ("mutation { __typename }", None, false),
            (
                "query A { __typename } query B { me { id } }",
                Some("B"),
                false,
            ),
            (
                "query A { __typename } query B { me { id } }",
                Some("A"),
                true,
            ),
        ];
        for (query, name, expected) in cases {
            let doc = parse_query(query).unwrap();
            assert_eq!(is_introspection_only(&doc, name), expected, "{query}");
        }
    }
}
