//! The `members` table.

use chrono::{DateTime, Utc};
use entity::members;
use sea_orm::sea_query::{Cond, Expr, ExprTrait, Func, LikeExpr};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, TryInsertResult,
};

use crate::domain::ids::MemberId;
use crate::domain::member::{Birthday, MemberFilter, MemberProfile, MemberSummary};
use crate::error::UniqueIndex;

pub const UQ_PHONE: UniqueIndex = UniqueIndex {
    name: "uq_members_phone",
    sqlite_columns: "members.phone",
};

pub const UQ_INVITE_CODE: UniqueIndex = UniqueIndex {
    name: "uq_members_invite_code",
    sqlite_columns: "members.invite_code",
};

/// A member to create at first login.
pub struct NewMember<'a> {
    pub openid: &'a str,
    pub unionid: Option<&'a str>,
    pub invite_code: &'a str,
    pub tier_code: &'a str,
    pub now: DateTime<Utc>,
}

/// Inserts the member unless one with the same openid exists; true when this call created it.
///
/// # Errors
/// Database errors, including a (rare) invite-code collision (`UQ_INVITE_CODE`).
pub async fn insert_if_absent(
    db: &impl ConnectionTrait,
    new: NewMember<'_>,
) -> Result<bool, DbErr> {
    let row = members::ActiveModel {
        openid: Set(new.openid.to_owned()),
        unionid: Set(new.unionid.map(str::to_owned)),
        hide_from_leaderboards: Set(false),
        invite_code: Set(new.invite_code.to_owned()),
        tier_code: Set(new.tier_code.to_owned()),
        created_at: Set(new.now),
        updated_at: Set(new.now),
        ..Default::default()
    };
    let result = members::Entity::insert(row)
        .on_conflict_do_nothing_on([members::Column::Openid])
        .exec_without_returning(db)
        .await?;
    Ok(matches!(result, TryInsertResult::Inserted(1)))
}

pub async fn find_by_openid(
    db: &impl ConnectionTrait,
    openid: &str,
) -> Result<Option<MemberProfile>, DbErr> {
    let row = members::Entity::find()
        .filter(members::Column::Openid.eq(openid))
        .one(db)
        .await?;
    Ok(row.map(profile))
}

/// The first member with this `unionid` (the same WeChat user in another of the brand's apps).
///
/// # Errors
/// Database errors.
pub async fn find_by_unionid(
    db: &impl ConnectionTrait,
    unionid: &str,
) -> Result<Option<MemberProfile>, DbErr> {
    let row = members::Entity::find()
        .filter(members::Column::Unionid.eq(unionid))
        .order_by_asc(members::Column::Id)
        .one(db)
        .await?;
    Ok(row.map(profile))
}

/// Records the `unionid` WeChat gave at login, when it is not the one stored.
///
/// # Errors
/// Database errors.
pub async fn refresh_unionid(
    db: &impl ConnectionTrait,
    id: MemberId,
    unionid: &str,
) -> Result<(), DbErr> {
    members::Entity::update_many()
        .col_expr(members::Column::Unionid, Expr::value(unionid))
        .filter(members::Column::Id.eq(id.get()))
        .filter(
            Cond::any()
                .add(members::Column::Unionid.is_null())
                .add(members::Column::Unionid.ne(unionid)),
        )
        .exec(db)
        .await
        .map(|_| ())
}

/// The member's openid in this mini-program (a subscribe message's `touser`).
pub async fn openid(db: &impl ConnectionTrait, id: MemberId) -> Result<Option<String>, DbErr> {
    members::Entity::find_by_id(id.get())
        .select_only()
        .column(members::Column::Openid)
        .into_tuple()
        .one(db)
        .await
}

/// What segments read of a member: registered at, last sign-in day, last purchase, and the
/// trailing 12 months' purchases and spend.
pub type FactsRow = (
    DateTime<Utc>,
    Option<chrono::NaiveDate>,
    Option<DateTime<Utc>>,
    i32,
    i64,
);

/// The member's facts row, if the member exists.
pub async fn facts(db: &impl ConnectionTrait, id: MemberId) -> Result<Option<FactsRow>, DbErr> {
    members::Entity::find_by_id(id.get())
        .select_only()
        .column(members::Column::CreatedAt)
        .column(members::Column::LastSignInDay)
        .column(members::Column::LastPurchaseAt)
        .column(members::Column::Purchases12m)
        .column(members::Column::Spend12mCents)
        .into_tuple()
        .one(db)
        .await
}

pub async fn find(db: &impl ConnectionTrait, id: MemberId) -> Result<Option<MemberProfile>, DbErr> {
    Ok(members::Entity::find_by_id(id.get())
        .one(db)
        .await?
        .map(profile))
}

/// Members matching `filter`, newest first, below the `before` id. The search matches part
/// of a nickname (case-insensitively) or phone number, or a whole invite code.
pub async fn search(
    db: &impl ConnectionTrait,
    filter: &MemberFilter,
    segment: Option<Cond>,
    before: Option<i64>,
    limit: u64,
) -> Result<Vec<MemberSummary>, DbErr> {
    let mut query = members::Entity::find();
    if let Some(segment) = segment {
        query = query.filter(segment);
    }
    if let Some(search) = &filter.search {
        let pattern = search.contains_pattern();
        let like = |column: members::Column| {
            Expr::expr(Func::lower(Expr::col((members::Entity, column))))
                .like(LikeExpr::new(pattern.clone()).escape('\\'))
        };
        query = query.filter(
            Cond::any()
                .add(like(members::Column::Nickname))
                .add(like(members::Column::Phone))
                .add(members::Column::InviteCode.eq(search.as_invite_code())),
        );
    }
    if let Some(tier) = &filter.tier_code {
        query = query.filter(members::Column::TierCode.eq(tier.as_str()));
    }
    match filter.koc {
        Some(true) => query = query.filter(members::Column::KocLevel.is_not_null()),
        Some(false) => query = query.filter(members::Column::KocLevel.is_null()),
        None => {}
    }
    if let Some(before) = before {
        query = query.filter(members::Column::Id.lt(before));
    }
    Ok(query
        .order_by_desc(members::Column::Id)
        .limit(limit)
        .all(db)
        .await?
        .into_iter()
        .map(|row| MemberSummary {
            points_balance: row.points_balance,
            growth_total: row.growth_total,
            koc_level: row.koc_level,
            current_streak: row.current_streak,
            last_sign_in_day: row.last_sign_in_day,
            total_sign_ins: row.total_sign_ins,
            profile: profile(row),
        })
        .collect())
}

/// The profile columns to write; `None` leaves a column as it is.
#[derive(Debug, Default)]
pub struct ProfileColumns {
    pub nickname: Option<String>,
    pub avatar_url: Option<String>,
    pub phone: Option<String>,
    pub hide_from_leaderboards: Option<bool>,
    pub marketing_opt_out: Option<bool>,
}

/// Writes the given profile columns.
///
/// # Errors
/// Database errors; a phone already used by another member violates `UQ_PHONE`.
pub async fn update_profile(
    db: &impl ConnectionTrait,
    id: MemberId,
    columns: ProfileColumns,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let mut update = members::Entity::update_many()
        .col_expr(members::Column::UpdatedAt, Expr::value(now))
        .filter(members::Column::Id.eq(id.get()));
    if let Some(nickname) = columns.nickname {
        update = update.col_expr(members::Column::Nickname, Expr::value(nickname));
    }
    if let Some(avatar_url) = columns.avatar_url {
        update = update.col_expr(members::Column::AvatarUrl, Expr::value(avatar_url));
    }
    if let Some(phone) = columns.phone {
        // A typed number stays verified only when it is the number WeChat verified.
        let still_verified = Func::coalesce([
            Expr::col(members::Column::Phone)
                .eq(phone.as_str())
                .and(Expr::col(members::Column::PhoneVerified)),
            Expr::value(false),
        ]);
        update = update
            .col_expr(members::Column::PhoneVerified, still_verified.into())
            .col_expr(members::Column::Phone, Expr::value(phone));
    }
    if let Some(hide) = columns.hide_from_leaderboards {
        update = update.col_expr(members::Column::HideFromLeaderboards, Expr::value(hide));
    }
    if let Some(opt_out) = columns.marketing_opt_out {
        update = update.col_expr(members::Column::MarketingOptOut, Expr::value(opt_out));
    }
    update.exec(db).await.map(|_| ())
}

/// Sets the birthday only while none is set; true when this call set it.
pub async fn set_birthday_if_unset(
    db: &impl ConnectionTrait,
    id: MemberId,
    birthday: Birthday,
) -> Result<bool, DbErr> {
    let result = members::Entity::update_many()
        .col_expr(members::Column::Birthday, Expr::value(birthday.to_string()))
        .filter(members::Column::Id.eq(id.get()))
        .filter(members::Column::Birthday.is_null())
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// The member holding `phone`, and whether WeChat verified it for them.
///
/// # Errors
/// Database errors.
pub async fn phone_holder(
    db: &impl ConnectionTrait,
    phone: &str,
) -> Result<Option<(MemberId, bool)>, DbErr> {
    let row: Option<(i64, bool)> = members::Entity::find()
        .select_only()
        .column(members::Column::Id)
        .column(members::Column::PhoneVerified)
        .filter(members::Column::Phone.eq(phone))
        .into_tuple()
        .one(db)
        .await?;
    Ok(row.map(|(id, verified)| (MemberId::new(id), verified)))
}

/// Takes a typed number away from a member (a verified binding took it).
///
/// # Errors
/// Database errors.
pub async fn clear_phone(
    db: &impl ConnectionTrait,
    id: MemberId,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    members::Entity::update_many()
        .col_expr(members::Column::Phone, Expr::value(Option::<String>::None))
        .col_expr(members::Column::PhoneVerified, Expr::value(false))
        .col_expr(members::Column::UpdatedAt, Expr::value(now))
        .filter(members::Column::Id.eq(id.get()))
        .exec(db)
        .await
        .map(|_| ())
}

/// Sets the member's number as verified by WeChat.
///
/// # Errors
/// Database errors; `UQ_PHONE` when another member holds it.
pub async fn set_verified_phone(
    db: &impl ConnectionTrait,
    id: MemberId,
    phone: &str,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    members::Entity::update_many()
        .col_expr(members::Column::Phone, Expr::value(phone))
        .col_expr(members::Column::PhoneVerified, Expr::value(true))
        .col_expr(members::Column::UpdatedAt, Expr::value(now))
        .filter(members::Column::Id.eq(id.get()))
        .exec(db)
        .await
        .map(|_| ())
}

pub(crate) fn profile(row: members::Model) -> MemberProfile {
    MemberProfile {
        id: MemberId::new(row.id),
        nickname: row.nickname,
        avatar_url: row.avatar_url,
        phone: row.phone,
        phone_verified: row.phone_verified,
        birthday: row.birthday,
        hide_from_leaderboards: row.hide_from_leaderboards,
        invite_code: row.invite_code,
        tier_code: row.tier_code,
        created_at: row.created_at,
        frozen: row
            .frozen_at
            .map(|at| (at, row.frozen_reason.unwrap_or_default())),
        marketing_opt_out: row.marketing_opt_out,
        sign_ins_30d: row.sign_ins_30d,
    }
}

/// Freezes a member with `reason`, or with `None` unfreezes them; false for an unknown member.
pub async fn set_frozen(
    db: &impl ConnectionTrait,
    id: MemberId,
    frozen: Option<(&str, DateTime<Utc>)>,
) -> Result<bool, DbErr> {
    let (reason, at) = frozen.map_or((None, None), |(reason, at)| (Some(reason), Some(at)));
    let changed = members::Entity::update_many()
        .col_expr(members::Column::FrozenAt, Expr::value(at))
        .col_expr(members::Column::FrozenReason, Expr::value(reason))
        .filter(members::Column::Id.eq(id.get()))
        .exec(db)
        .await?;
    Ok(changed.rows_affected == 1)
}
