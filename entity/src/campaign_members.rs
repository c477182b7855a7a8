use sea_orm::entity::prelude::*;

/// What a campaign did for one member at one occurrence: the exactly-once key.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "campaign_members")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub campaign_id: i64,
    #[sea_orm(primary_key, auto_increment = false)]
    pub member_id: i64,
    #[sea_orm(primary_key, auto_increment = false)]
    pub occurrence: String,
    /// GRANTED, HELD_OUT or SKIPPED.
    pub outcome: String,
    pub points: i64,
    /// Reward units granted.
    pub units: i64,
    /// What the granted rewards cost the brand, in cents.
    pub cost_cents: i64,
    /// The end of the attribution window: what the member does before it counts for the
    /// campaign.
    pub attributed_until: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
