use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "tiers")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub code: String,
    pub name: String,
    pub rank: i32,
    pub growth_threshold: i64,
    pub points_multiplier_pct: i32,
    pub monthly_earn_cap: i64,
    pub monthly_redeem_cap: i64,
    pub birthday_points: i64,
    pub make_ups_per_month: i32,
    pub member_day_discount_pct: i32,
    pub upgrade_gift_points: i64,
    pub badge: String,
    pub priority_support: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
