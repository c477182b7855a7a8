//! Tags (标签): an operator's labels and the members that hold them.

use chrono::{DateTime, Utc};
use entity::{member_tags, members, tags};
use sea_orm::sea_query::{Cond, Expr, OnConflict, Query};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect,
};

use crate::domain::ids::MemberId;
use crate::domain::segment::Tag;
use crate::error::UniqueIndex;

pub const UQ_TAG_NAME: UniqueIndex = UniqueIndex {
    name: "uq_tags_name",
    sqlite_columns: "tags.name",
};

fn tag(row: tags::Model) -> Tag {
    Tag {
        id: row.id,
        name: row.name,
        color: row.color,
        created_at: row.created_at,
    }
}

/// # Errors
/// Database errors; a taken name violates `UQ_TAG_NAME`.
pub async fn insert(
    db: &impl ConnectionTrait,
    name: &str,
    color: &str,
    now: DateTime<Utc>,
) -> Result<Tag, DbErr> {
    let row = tags::ActiveModel {
        name: Set(name.to_owned()),
        color: Set(color.to_owned()),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(tag(row))
}

/// # Errors
/// Database errors.
pub async fn find(db: &impl ConnectionTrait, id: i64) -> Result<Option<Tag>, DbErr> {
    Ok(tags::Entity::find_by_id(id).one(db).await?.map(tag))
}

/// Every tag, by name.
///
/// # Errors
/// Database errors.
pub async fn all(db: &impl ConnectionTrait) -> Result<Vec<Tag>, DbErr> {
    Ok(tags::Entity::find()
        .order_by_asc(tags::Column::Name)
        .all(db)
        .await?
        .into_iter()
        .map(tag)
        .collect())
}

/// Tags the members among `members` that exist and do not hold it yet; returns how many.
///
/// # Errors
/// Database errors.
pub async fn add(
    db: &impl ConnectionTrait,
    tag_id: i64,
    members: &[MemberId],
    now: DateTime<Utc>,
) -> Result<u64, DbErr> {
    let ids: Vec<i64> = members.iter().map(|m| m.get()).collect();
    add_where(
        db,
        tag_id,
        Cond::all().add(members::Column::Id.is_in(ids)),
        now,
    )
    .await
}

/// Tags every member matching `condition` that does not hold it yet, in one statement;
/// returns how many.
///
/// # Errors
/// Database errors.
pub async fn add_where(
    db: &impl ConnectionTrait,
    tag_id: i64,
    condition: Cond,
    now: DateTime<Utc>,
) -> Result<u64, DbErr> {
    let select = Query::select()
        .column(members::Column::Id)
        .expr(Expr::value(tag_id))
        .expr(Expr::value(now))
        .from(members::Entity)
        .cond_where(condition)
        .to_owned();
    let insert = Query::insert()
        .into_table(member_tags::Entity)
        .columns([
            member_tags::Column::MemberId,
            member_tags::Column::TagId,
            member_tags::Column::CreatedAt,
        ])
        .select_from(select)
        .map_err(|e| DbErr::Custom(e.to_string()))?
        .on_conflict(
            OnConflict::columns([member_tags::Column::MemberId, member_tags::Column::TagId])
                .do_nothing()
                .to_owned(),
        )
        .to_owned();
    Ok(db.execute(&insert).await?.rows_affected())
}

/// Takes the tag off `members`; returns how many held it.
///
/// # Errors
/// Database errors.
pub async fn remove(
    db: &impl ConnectionTrait,
    tag_id: i64,
    members: &[MemberId],
) -> Result<u64, DbErr> {
    let ids: Vec<i64> = members.iter().map(|m| m.get()).collect();
    Ok(member_tags::Entity::delete_many()
        .filter(member_tags::Column::TagId.eq(tag_id))
        .filter(member_tags::Column::MemberId.is_in(ids))
        .exec(db)
        .await?
        .rows_affected)
}

/// The tags of each of `members`, by name.
///
/// # Errors
/// Database errors.
pub async fn of_members(
    db: &impl ConnectionTrait,
    members: &[MemberId],
) -> Result<Vec<(MemberId, Tag)>, DbErr> {
    let ids: Vec<i64> = members.iter().map(|m| m.get()).collect();
    let held: Vec<(i64, i64)> = member_tags::Entity::find()
        .select_only()
        .column(member_tags::Column::MemberId)
        .column(member_tags::Column::TagId)
        .filter(member_tags::Column::MemberId.is_in(ids))
        .into_tuple()
        .all(db)
        .await?;
    let tag_ids: Vec<i64> = held.iter().map(|(_, tag)| *tag).collect();
    let tags: Vec<Tag> = tags::Entity::find()
        .filter(tags::Column::Id.is_in(tag_ids))
        .order_by_asc(tags::Column::Name)
        .all(db)
        .await?
        .into_iter()
        .map(tag)
        .collect();
    Ok(tags
        .iter()
        .flat_map(|tag| {
            held.iter()
                .filter(move |(_, id)| *id == tag.id)
                .map(move |(member, _)| (MemberId::new(*member), tag.clone()))
        })
        .collect())
}
