//! Operating the programme (运营): tags (标签), segments (人群), RFM and lifecycle stages, for
//! operators.

use async_graphql::{
    ComplexObject, Context, Enum, ID, InputObject, Object, ResultExt, SimpleObject,
};
use chrono::{DateTime, Utc};

use crate::domain::auth::AdminAction;
use crate::domain::ids::{MemberId, SegmentId, TagId};
use crate::domain::paging::PageSize;
use crate::domain::segment::{
    self, LifecycleThresholds as LifecycleView, RfmThresholds as RfmView, SavedSegment,
    Tag as TagView,
};
use crate::error::AppError;
use crate::graphql::connection::{Page, after_id, page};
use crate::graphql::context::ContextExt;
use crate::graphql::members::MemberListItem;

/// The eight RFM groups (RFM 分层). R is high when the days since the last purchase are at most
/// the recency threshold; F and M when the trailing 12 months' purchases and spend reach theirs.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "crate::domain::segment::RfmGroup")]
pub enum RfmGroup {
    /// 重要价值: R high, F high, M high.
    ImportantValue,
    /// 重要发展: R high, F low, M high.
    ImportantDevelop,
    /// 重要保持: R low, F high, M high.
    ImportantKeep,
    /// 重要挽留: R low, F low, M high.
    ImportantRetain,
    /// 一般价值: R high, F high, M low.
    GeneralValue,
    /// 一般发展: R high, F low, M low.
    GeneralDevelop,
    /// 一般保持: R low, F high, M low.
    GeneralKeep,
    /// 一般挽留: R low, F low, M low.
    GeneralRetain,
}

/// Where a member is in their lifecycle (生命周期), the first stage that applies. "Inactive"
/// counts whole business days since the later of the last sign-in and the last purchase (or
/// since registering when there is neither).
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "crate::domain::segment::LifecycleStage")]
pub enum LifecycleStage {
    /// 沉睡: inactive for the dormant threshold (90 days by default).
    Dormant,
    /// 预警流失: inactive for the at-risk threshold (30 days by default).
    AtRisk,
    /// 准纯新: registered within the new-member window (7 days by default), no purchase.
    New,
    /// 准新: past the window, no purchase yet.
    Prospect,
    /// 活跃: has bought and is not inactive.
    Active,
}

/// A member's RFM standing (RFM 分析).
#[derive(SimpleObject)]
pub struct MemberRfm {
    /// Days since the last purchase (R, 最近一次消费).
    recency_days: i64,
    /// Purchases in the trailing 12 months (F, 消费频次).
    frequency: i64,
    /// Spend in the trailing 12 months, in cents (M, 消费金额).
    monetary_cents: i64,
    /// The group the three make.
    group: RfmGroup,
}

impl From<segment::Rfm> for MemberRfm {
    fn from(rfm: segment::Rfm) -> Self {
        Self {
            recency_days: rfm.recency_days,
            frequency: rfm.frequency,
            monetary_cents: rfm.monetary_cents,
            group: rfm.group.into(),
        }
    }
}

/// An operator's label for members (标签).
#[derive(SimpleObject)]
pub struct Tag {
    /// The tag's id (for `tagMembers`, `members(tagId:)` and segment filters).
    id: ID,
    /// Its name, unique, 1–32 characters.
    name: String,
    /// Its colour, `#RRGGBB`.
    color: String,
    /// When it was created.
    created_at: DateTime<Utc>,
}

impl From<TagView> for Tag {
    fn from(tag: TagView) -> Self {
        Self {
            id: ID(tag.id.to_string()),
            name: tag.name,
            color: tag.color,
            created_at: tag.created_at,
        }
    }
}

/// Which members a segment keeps (人群条件). Set fields are ANDed; `anyOf` — any one of its
/// filters — is ANDed with them. A list matches any of its values. Day counts are whole
/// business days.
#[derive(SimpleObject, InputObject, Clone, Default)]
#[graphql(input_name = "SegmentFilterInput")]
pub struct SegmentFilter {
    /// Members of any of these tier codes (会员等级).
    tiers: Option<Vec<String>>,
    /// Members holding any of these tags (标签).
    tag_ids: Option<Vec<ID>>,
    /// Members in any of these RFM groups (members who never bought are in none).
    rfm_groups: Option<Vec<RfmGroup>>,
    /// Members in any of these lifecycle stages (生命周期).
    lifecycle_stages: Option<Vec<LifecycleStage>>,
    /// true: KOCs only; false or omitted: no condition.
    koc_only: Option<bool>,
    /// Registered at most this many days ago (注册天数 ≤ N).
    registered_within_days: Option<i32>,
    /// Registered at least this many days ago (注册天数 ≥ N).
    registered_before_days: Option<i32>,
    /// Signed in at most this many days ago (0: today).
    signed_in_within_days: Option<i32>,
    /// Neither signed in nor bought for at least this many days (未活跃天数 ≥ N).
    inactive_for_days: Option<i32>,
    /// Spendable points at least this (积分余额).
    min_balance: Option<i32>,
    /// Spendable points at most this.
    max_balance: Option<i32>,
    /// At least this many purchases in the trailing 12 months.
    #[graphql(name = "minPurchases12m")]
    min_purchases12m: Option<i32>,
    /// At least this spend, in cents, in the trailing 12 months.
    #[graphql(name = "minSpend12mCents")]
    min_spend12m_cents: Option<i32>,
    /// Birthday in this month, 1–12 (生日月份).
    birthday_month: Option<i32>,
    /// true: a WeChat-verified phone number; false: none verified.
    has_phone: Option<bool>,
    /// Any one of these filters (或条件), 1–20, nested at most 3 deep.
    any_of: Option<Vec<SegmentFilter>>,
}

impl SegmentFilter {
    /// The domain filter; `VALIDATION` for a tag id that is not one.
    fn into_domain(self) -> Result<segment::SegmentFilter, AppError> {
        let tag_ids = self
            .tag_ids
            .map(|ids| {
                ids.iter()
                    .map(|id| TagId::parse_as(id, "filter.tagIds").map(TagId::get))
                    .collect::<Result<Vec<_>, _>>()
            })
            .transpose()?;
        let any_of = self
            .any_of
            .map(|filters| {
                filters
                    .into_iter()
                    .map(Self::into_domain)
                    .collect::<Result<Vec<_>, _>>()
            })
            .transpose()?;
        Ok(segment::SegmentFilter {
            tiers: self.tiers.map(|tiers| {
                tiers
                    .iter()
                    .map(|t| t.trim().to_ascii_uppercase())
                    .collect()
            }),
            tag_ids,
            rfm_groups: self
                .rfm_groups
                .map(|groups| groups.into_iter().map(Into::into).collect()),
            lifecycle_stages: self
                .lifecycle_stages
                .map(|stages| stages.into_iter().map(Into::into).collect()),
            koc_only: self.koc_only,
            registered_within_days: self.registered_within_days.map(i64::from),
            registered_before_days: self.registered_before_days.map(i64::from),
            signed_in_within_days: self.signed_in_within_days.map(i64::from),
            inactive_for_days: self.inactive_for_days.map(i64::from),
            min_balance: self.min_balance.map(i64::from),
            max_balance: self.max_balance.map(i64::from),
            min_purchases_12m: self.min_purchases12m.map(i64::from),
            min_spend_12m_cents: self.min_spend12m_cents.map(i64::from),
            birthday_month: self
                .birthday_month
                .map(|m| u32::try_from(m).unwrap_or(u32::MAX)),
            has_phone: self.has_phone,
            any_of,
        })
    }

    fn from_domain(filter: segment::SegmentFilter) -> Self {
        let small = |n: i64| i32::try_from(n).unwrap_or(i32::MAX);
        Self {
            tiers: filter.tiers,
            tag_ids: filter
                .tag_ids
                .map(|ids| ids.into_iter().map(|id| ID(id.to_string())).collect()),
            rfm_groups: filter
                .rfm_groups
                .map(|groups| groups.into_iter().map(Into::into).collect()),
            lifecycle_stages: filter
                .lifecycle_stages
                .map(|stages| stages.into_iter().map(Into::into).collect()),
            koc_only: filter.koc_only,
            registered_within_days: filter.registered_within_days.map(small),
            registered_before_days: filter.registered_before_days.map(small),
            signed_in_within_days: filter.signed_in_within_days.map(small),
            inactive_for_days: filter.inactive_for_days.map(small),
            min_balance: filter.min_balance.map(small),
            max_balance: filter.max_balance.map(small),
            min_purchases12m: filter.min_purchases_12m.map(small),
            min_spend12m_cents: filter.min_spend_12m_cents.map(small),
            birthday_month: filter
                .birthday_month
                .map(|m| i32::try_from(m).unwrap_or(i32::MAX)),
            has_phone: filter.has_phone,
            any_of: filter
                .any_of
                .map(|filters| filters.into_iter().map(Self::from_domain).collect()),
        }
    }
}

/// A saved segment (人群): a name and a filter, counted and listed as of now.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct Segment {
    /// The segment's id (for `members(segmentId:)`, `tagSegment` and campaigns).
    id: ID,
    /// Its name, 1–32 characters.
    name: String,
    /// Which members it keeps.
    filter: SegmentFilter,
    /// When it was created.
    created_at: DateTime<Utc>,
    /// When its name or filter last changed.
    updated_at: DateTime<Utc>,
    #[graphql(skip)]
    domain_filter: segment::SegmentFilter,
}

impl From<SavedSegment> for Segment {
    fn from(stored: SavedSegment) -> Self {
        Self {
            id: ID(stored.id.to_string()),
            name: stored.name,
            filter: SegmentFilter::from_domain(stored.filter.clone()),
            created_at: stored.created_at,
            updated_at: stored.updated_at,
            domain_filter: stored.filter,
        }
    }
}

#[ComplexObject]
impl Segment {
    /// How many members it keeps now (one query).
    async fn count(&self, ctx: &Context<'_>) -> async_graphql::Result<u64> {
        ctx.services()
            .segments
            .count(&self.domain_filter)
            .await
            .extend()
    }

    /// Its members, newest first.
    #[graphql(complexity = "crate::graphql::connection::list_cost(first, child_complexity)")]
    async fn members(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20, desc = "How many items to return, 1–100 (每页条数).")] first: i32,
        #[graphql(
            desc = "Start after this cursor: the `cursor` of the last edge of the previous page (分页游标); omit for the first page."
        )]
        after: Option<String>,
    ) -> async_graphql::Result<Page<MemberListItem>> {
        members_page(ctx, &self.domain_filter, first, after).await
    }
}

async fn members_page(
    ctx: &Context<'_>,
    filter: &segment::SegmentFilter,
    first: i32,
    after: Option<String>,
) -> async_graphql::Result<Page<MemberListItem>> {
    let after = after_id(after).extend()?;
    let first = PageSize::parse(first).extend()?;
    let services = ctx.services();
    let (rows, has_next) = services
        .segments
        .members(&services.members, filter, first, after)
        .await
        .extend()?;
    Ok(page(
        rows.into_iter()
            .map(|m| (m.profile.id.get(), MemberListItem::from(m)))
            .collect(),
        after,
        has_next,
    ))
}

/// What a filter would keep, for `previewSegment`.
pub struct SegmentPreview(segment::SegmentFilter);

/// What a filter would keep, before it is saved (人群预估).
#[Object]
impl SegmentPreview {
    /// How many members it keeps now.
    async fn count(&self, ctx: &Context<'_>) -> async_graphql::Result<u64> {
        ctx.services().segments.count(&self.0).await.extend()
    }

    /// The newest members it keeps.
    #[graphql(complexity = "crate::graphql::connection::list_cost(first, child_complexity)")]
    async fn sample(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 10, desc = "How many members to show, 1–100.")] first: i32,
    ) -> async_graphql::Result<Vec<MemberListItem>> {
        let page = members_page(ctx, &self.0, first, None).await?;
        Ok(page.edges.into_iter().map(|edge| edge.node).collect())
    }
}

/// The RFM thresholds in force (RFM 阈值).
#[derive(SimpleObject)]
pub struct RfmThresholds {
    /// R is high at most this many days after the last purchase.
    recency_days: i64,
    /// F is high from this many purchases in the trailing 12 months.
    frequency: i64,
    /// M is high from this spend, in cents, in the trailing 12 months.
    monetary_cents: i64,
    /// true: the medians the scheduled pass measures over members with a purchase in the
    /// trailing 12 months; false: set by an operator.
    automatic: bool,
}

impl From<(RfmView, bool)> for RfmThresholds {
    fn from((thresholds, manual): (RfmView, bool)) -> Self {
        Self {
            recency_days: thresholds.recency_days,
            frequency: thresholds.frequency,
            monetary_cents: thresholds.monetary_cents,
            automatic: !manual,
        }
    }
}

/// An operator's RFM thresholds.
#[derive(InputObject)]
pub struct RfmThresholdsInput {
    /// R is high at most this many days after the last purchase, 1–3660.
    recency_days: i32,
    /// F is high from this many purchases, 1–100000.
    frequency: i32,
    /// M is high from this spend, in cents, at least 1.
    monetary_cents: i32,
}

/// Where the lifecycle stages begin, in whole business days (生命周期阈值).
#[derive(SimpleObject, InputObject)]
#[graphql(input_name = "LifecycleThresholdsInput")]
pub struct LifecycleThresholds {
    /// A member without a purchase is NEW while registered at most this many days (7).
    new_days: i32,
    /// AT_RISK from this many inactive days (30).
    at_risk_days: i32,
    /// DORMANT from this many inactive days (90); more than `atRiskDays`.
    dormant_days: i32,
}

impl From<LifecycleView> for LifecycleThresholds {
    fn from(view: LifecycleView) -> Self {
        let small = |n: i64| i32::try_from(n).unwrap_or(i32::MAX);
        Self {
            new_days: small(view.new_days),
            at_risk_days: small(view.at_risk_days),
            dormant_days: small(view.dormant_days),
        }
    }
}

/// A new tag.
#[derive(InputObject)]
pub struct CreateTagInput {
    /// Unique name, 1–32 characters.
    name: String,
    /// Colour, `#RRGGBB`.
    #[graphql(default_with = "String::from(\"#999999\")")]
    color: String,
}

/// A segment to save.
#[derive(InputObject)]
pub struct SegmentInput {
    /// Name, 1–32 characters.
    name: String,
    /// Which members it keeps.
    filter: SegmentFilter,
}

fn parse_member_ids(ids: &[ID]) -> Result<Vec<MemberId>, AppError> {
    ids.iter()
        .map(|id| MemberId::parse_as(id, "memberIds"))
        .collect()
}

#[derive(Default)]
pub struct SegmentQuery;

#[Object]
impl SegmentQuery {
    /// Every tag, by name (标签列表; admins and operators).
    async fn tags(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Tag>> {
        ctx.viewer()?.admin_for(AdminAction::ReadMembers).extend()?;
        let tags = ctx.services().tags.all().await.extend()?;
        Ok(tags.into_iter().map(Tag::from).collect())
    }

    /// Every saved segment, oldest first (人群列表; admins and operators).
    async fn segments(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Segment>> {
        ctx.viewer()?.admin_for(AdminAction::ReadMembers).extend()?;
        let segments = ctx.services().segments.all().await.extend()?;
        Ok(segments.into_iter().map(Segment::from).collect())
    }

    /// One saved segment (人群详情; admins and operators). NOT_FOUND for an unknown id.
    async fn segment(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The segment.")] id: ID,
    ) -> async_graphql::Result<Segment> {
        ctx.viewer()?.admin_for(AdminAction::ReadMembers).extend()?;
        let id = SegmentId::parse(&id).extend()?;
        Ok(ctx.services().segments.find(id).await.extend()?.into())
    }

    /// What a filter would keep now, before saving it (人群预估; admins and operators).
    /// VALIDATION on `filter.<field>`.
    #[expect(
        clippy::unused_async,
        reason = "async-graphql requires resolvers to be async; the count runs when asked for"
    )]
    async fn preview_segment(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The filter to try.")] filter: SegmentFilter,
    ) -> async_graphql::Result<SegmentPreview> {
        ctx.viewer()?.admin_for(AdminAction::ReadMembers).extend()?;
        let filter = filter.into_domain().extend()?;
        filter.check().extend()?;
        Ok(SegmentPreview(filter))
    }

    /// The RFM thresholds in force (RFM 阈值; admins and operators).
    async fn rfm_thresholds(&self, ctx: &Context<'_>) -> async_graphql::Result<RfmThresholds> {
        ctx.viewer()?.admin_for(AdminAction::ReadMembers).extend()?;
        Ok(ctx
            .services()
            .segments
            .rfm_thresholds()
            .await
            .extend()?
            .into())
    }

    /// The lifecycle thresholds in force (生命周期阈值; admins and operators).
    async fn lifecycle_thresholds(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<LifecycleThresholds> {
        ctx.viewer()?.admin_for(AdminAction::ReadMembers).extend()?;
        Ok(ctx
            .services()
            .segments
            .lifecycle_thresholds()
            .await
            .extend()?
            .into())
    }
}

#[derive(Default)]
pub struct SegmentMutation;

#[Object]
impl SegmentMutation {
    /// Creates a tag (新建标签; ADMIN). VALIDATION on `name` or `color`; CONFLICT for a taken
    /// name.
    async fn create_tag(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The tag's name and colour.")] input: CreateTagInput,
    ) -> async_graphql::Result<Tag> {
        ctx.viewer()?.admin_for(AdminAction::ManageRules).extend()?;
        let tag = ctx
            .services()
            .tags
            .create(&input.name, &input.color)
            .await
            .extend()?;
        Ok(tag.into())
    }

    /// Puts a tag on members (打标签; admins and operators); unknown member ids are skipped.
    /// Returns how many newly hold it.
    async fn tag_members(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The tag.")] tag_id: ID,
        #[graphql(desc = "The members, 1 to 500.")] member_ids: Vec<ID>,
    ) -> async_graphql::Result<u64> {
        ctx.viewer()?.admin_for(AdminAction::ReadMembers).extend()?;
        let tag = TagId::parse_as(&tag_id, "tagId").extend()?;
        let members = parse_member_ids(&member_ids).extend()?;
        ctx.services().tags.tag(tag, &members).await.extend()
    }

    /// Takes a tag off members (去标签; admins and operators). Returns how many held it.
    async fn untag_members(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The tag.")] tag_id: ID,
        #[graphql(desc = "The members, 1 to 500.")] member_ids: Vec<ID>,
    ) -> async_graphql::Result<u64> {
        ctx.viewer()?.admin_for(AdminAction::ReadMembers).extend()?;
        let tag = TagId::parse_as(&tag_id, "tagId").extend()?;
        let members = parse_member_ids(&member_ids).extend()?;
        ctx.services().tags.untag(tag, &members).await.extend()
    }

    /// Puts a tag on every member of a segment now (人群打标; admins and operators), in one
    /// statement. Returns how many newly hold it.
    async fn tag_segment(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The tag.")] tag_id: ID,
        #[graphql(desc = "The segment whose members get it.")] segment_id: ID,
    ) -> async_graphql::Result<u64> {
        ctx.viewer()?.admin_for(AdminAction::ReadMembers).extend()?;
        let tag = TagId::parse_as(&tag_id, "tagId").extend()?;
        let segment = SegmentId::parse_as(&segment_id, "segmentId").extend()?;
        let services = ctx.services();
        services
            .tags
            .tag_segment(&services.segments, tag, segment)
            .await
            .extend()
    }

    /// Saves a segment (新建人群; ADMIN). VALIDATION on `name` or `filter.<field>`.
    async fn create_segment(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Its name and filter.")] input: SegmentInput,
    ) -> async_graphql::Result<Segment> {
        ctx.viewer()?.admin_for(AdminAction::ManageRules).extend()?;
        let filter = input.filter.into_domain().extend()?;
        let saved = ctx
            .services()
            .segments
            .create(&input.name, &filter)
            .await
            .extend()?;
        Ok(saved.into())
    }

    /// Replaces a segment's name and filter (修改人群; ADMIN). NOT_FOUND for an unknown id.
    async fn update_segment(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The segment.")] id: ID,
        #[graphql(desc = "Its new name and filter.")] input: SegmentInput,
    ) -> async_graphql::Result<Segment> {
        ctx.viewer()?.admin_for(AdminAction::ManageRules).extend()?;
        let id = SegmentId::parse(&id).extend()?;
        let filter = input.filter.into_domain().extend()?;
        let saved = ctx
            .services()
            .segments
            .update(id, &input.name, &filter)
            .await
            .extend()?;
        Ok(saved.into())
    }

    /// Sets the RFM thresholds (设置 RFM 阈值; ADMIN), or with null hands them back to the
    /// medians (measured now, then by every scheduled pass).
    async fn update_rfm_thresholds(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The operator's thresholds; null: automatic medians.")] input: Option<
            RfmThresholdsInput,
        >,
    ) -> async_graphql::Result<RfmThresholds> {
        ctx.viewer()?.admin_for(AdminAction::ManageRules).extend()?;
        let thresholds = input.map(|t| RfmView {
            recency_days: i64::from(t.recency_days),
            frequency: i64::from(t.frequency),
            monetary_cents: i64::from(t.monetary_cents),
        });
        Ok(ctx
            .services()
            .segments
            .set_rfm_thresholds(thresholds)
            .await
            .extend()?
            .into())
    }

    /// Sets where the lifecycle stages begin (设置生命周期阈值; ADMIN).
    async fn update_lifecycle_thresholds(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The thresholds, in whole business days.")] input: LifecycleThresholds,
    ) -> async_graphql::Result<LifecycleThresholds> {
        ctx.viewer()?.admin_for(AdminAction::ManageRules).extend()?;
        let thresholds = LifecycleView {
            new_days: i64::from(input.new_days),
            at_risk_days: i64::from(input.at_risk_days),
            dormant_days: i64::from(input.dormant_days),
        };
        Ok(ctx
            .services()
            .segments
            .set_lifecycle_thresholds(thresholds)
            .await
            .extend()?
            .into())
    }
}
