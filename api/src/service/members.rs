//! A member's own profile, and members as operators look them up.

use std::sync::Arc;

use sea_orm::DatabaseConnection;

use crate::domain::ids::MemberId;
use crate::domain::member::{
    self, BirthdayChange, MemberFilter, MemberProfile, MemberSummary, ProfileUpdate,
};
use crate::domain::paging::PageSize;
use crate::domain::signin::{self, StreakState};
use crate::domain::task::BuiltInEvent;
use crate::error::AppError;
use crate::infra::clock::Clock;
use crate::service::leaderboards::LeaderboardService;
use crate::service::segments::Audience;
use crate::service::tasks;
use crate::service::wechat::WechatApi;
use crate::service::work::PointsEngine;
use crate::store;

/// What `me` shows at first sight, read together.
#[derive(Debug, Clone)]
pub struct MemberCard {
    pub profile: MemberProfile,
    pub points: crate::store::ledger::PointsGlance,
    pub rules_version: i64,
}

pub struct MemberService {
    db: DatabaseConnection,
    clock: Arc<Clock>,
    boards: Arc<LeaderboardService>,
    wechat: Arc<WechatApi>,
    engine: PointsEngine,
}

impl MemberService {
    pub fn new(
        db: DatabaseConnection,
        clock: Arc<Clock>,
        boards: Arc<LeaderboardService>,
        wechat: Arc<WechatApi>,
        engine: PointsEngine,
    ) -> Self {
        Self {
            db,
            clock,
            boards,
            wechat,
            engine,
        }
    }

    /// The member's profile.
    ///
    /// # Errors
    /// `NOT_FOUND` when no such member exists.
    pub async fn profile(&self, id: MemberId) -> Result<MemberProfile, AppError> {
        store::members::find(&self.db, id)
            .await?
            .ok_or(AppError::NotFound("member"))
    }

    /// The member card in one statement, without a lock: the profile, the points a read sees
    /// (see `PointsService::glance`) and the rules' version.
    ///
    /// # Errors
    /// `NOT_FOUND` when no such member exists.
    pub async fn card(&self, id: MemberId) -> Result<MemberCard, AppError> {
        let (profile, points, rules_version) =
            store::ledger::member_card(&self.db, id, self.clock.now())
                .await?
                .ok_or(AppError::NotFound("member"))?;
        Ok(MemberCard {
            profile,
            points,
            rules_version,
        })
    }

    /// Members matching the filter, newest first (operators). One query per page.
    ///
    /// # Errors
    /// `VALIDATION` (field `tier`) for a tier that does not exist.
    pub async fn search(
        &self,
        filter: &MemberFilter,
        audience: Option<Audience>,
        first: PageSize,
        after: Option<i64>,
    ) -> Result<(Vec<MemberSummary>, bool), AppError> {
        if let Some(code) = &filter.tier_code
            && !store::programme::all_tiers(&self.db)
                .await?
                .iter()
                .any(|t| &t.code == code)
        {
            return Err(AppError::validation("tier", "is not a tier code"));
        }
        let mut rows = store::members::search(
            &self.db,
            filter,
            audience.map(Audience::into_condition),
            after,
            first.fetch_limit(),
        )
        .await?;
        // The stored streak is last sign-in's; show the one the member sees today.
        let today = self.clock.today();
        for row in &mut rows {
            row.current_streak = signin::visible_streak(
                StreakState {
                    last_day: row.last_sign_in_day,
                    streak: row.current_streak,
                    freezes: 0,
                },
                today,
            );
        }
        Ok(first.finish(rows))
    }

    /// Applies a profile update in one transaction. The birthday is set once: repeating it is
    /// harmless, changing it is refused.
    ///
    /// # Errors
    /// `VALIDATION` (field `birthday`) for a changed birthday; `CONFLICT` for a phone number
    /// that belongs to another member; `NOT_FOUND` for an unknown member.
    #[tracing::instrument(skip_all, fields(member.id = %id))]
    pub async fn update_profile(
        &self,
        id: MemberId,
        update: ProfileUpdate,
    ) -> Result<MemberProfile, AppError> {
        // The member's unit of work: completing the profile is an event tasks count.
        let mut work = self.engine.begin(id).await?;
        let txn = work.txn();
        let current = store::members::find(txn, id)
            .await?
            .ok_or(AppError::NotFound("member"))?;
        if let Some(birthday) = update.birthday
            && member::check_birthday_change(current.birthday.as_deref(), birthday)?
                == BirthdayChange::Set
            // A concurrent update may have set it first; then this one is a change.
            && !store::members::set_birthday_if_unset(txn, id, birthday).await?
        {
            return Err(AppError::validation(
                "birthday",
                "is already set and cannot be changed",
            ));
        }
        let columns = store::members::ProfileColumns {
            nickname: update.nickname.map(member::Nickname::into_inner),
            avatar_url: update.avatar_url.map(member::AvatarUrl::into_inner),
            phone: update.phone.map(member::Phone::into_inner),
            hide_from_leaderboards: update.hide_from_leaderboards,
            marketing_opt_out: update.marketing_opt_out,
        };
        store::members::update_profile(txn, id, columns, self.clock.now())
            .await
            .map_err(store::members::UQ_PHONE.map(|| {
                AppError::Conflict("this phone number belongs to another member".into())
            }))?;
        let updated = store::members::find(txn, id)
            .await?
            .ok_or(AppError::NotFound("member"))?;
        if !member::profile_complete(&current) && member::profile_complete(&updated) {
            let now = work.now;
            let (ledger, locked) = work.split();
            let event = BuiltInEvent::ProfileCompleted.as_str();
            tasks::count_event(&ledger, locked, event, 1, now).await?;
        }
        work.commit().await?;
        if update.hide_from_leaderboards.is_some() {
            // Hiding takes the member off every board; showing puts them back.
            self.boards.touch(id).await;
        }
        Ok(updated)
    }

    /// Freezes a member (风控) with the operator's reason, or with `None` unfreezes them. A
    /// frozen member still logs in and reads, but earns and spends nothing and is on no
    /// board; freezing takes them off the boards at once.
    ///
    /// # Errors
    /// `NOT_FOUND` for an unknown member; `VALIDATION` on `reason` (1–200 characters).
    pub async fn set_frozen(
        &self,
        id: MemberId,
        reason: Option<&str>,
    ) -> Result<MemberProfile, AppError> {
        let reason = reason.map(str::trim);
        if reason.is_some_and(|r| r.is_empty() || r.chars().count() > 200) {
            return Err(AppError::validation(
                "reason",
                "must be 1 to 200 characters",
            ));
        }
        let frozen = reason.map(|reason| (reason, self.clock.now()));
        if !store::members::set_frozen(&self.db, id, frozen).await? {
            return Err(AppError::NotFound("member"));
        }
        self.boards.touch(id).await;
        self.profile(id).await
    }

    /// Binds the number WeChat verified behind a `getPhoneNumber` code. The code is exchanged
    /// once (a refused access token is refreshed and the exchange retried; a code WeChat
    /// accepted is never sent again). A member who had only typed the number loses it.
    ///
    /// # Errors
    /// `VALIDATION` (field `code`) for an empty code; `WECHAT_API_FAILED` when WeChat refuses
    /// the code or cannot be reached; `CONFLICT` when another member verified the number.
    #[tracing::instrument(skip_all, fields(member.id = %id))]
    pub async fn bind_phone_by_wechat(
        &self,
        id: MemberId,
        code: &str,
    ) -> Result<MemberProfile, AppError> {
        let code = code.trim();
        if code.is_empty() {
            return Err(AppError::validation("code", "must not be empty"));
        }
        let info = self
            .wechat
            .call(|client, token| {
                let code = code.to_owned();
                async move { client.user_phone_number(&token, &code).await }
            })
            .await?;
        let phone = member::Phone::verified(&info.country_code, &info.pure_phone_number)
            .ok_or_else(|| AppError::WechatApiFailed {
                errcode: None,
                message: "WeChat answered a phone number membercard cannot read".into(),
            })?
            .into_inner();
        let now = self.clock.now();
        let mut work = self.engine.begin(id).await?;
        let txn = work.txn();
        let was_verified = store::members::find(txn, id)
            .await?
            .is_some_and(|member| member.phone_verified);
        match store::members::phone_holder(txn, &phone).await? {
            Some((holder, _)) if holder == id => {}
            Some((_, true)) => {
                return Err(AppError::Conflict(
                    "another member verified this phone number".into(),
                ));
            }
            Some((holder, false)) => store::members::clear_phone(txn, holder, now).await?,
            None => {}
        }
        store::members::set_verified_phone(txn, id, &phone, now)
            .await
            .map_err(store::members::UQ_PHONE.map(|| {
                AppError::Conflict("this phone number belongs to another member".into())
            }))?;
        let updated = store::members::find(txn, id)
            .await?
            .ok_or(AppError::NotFound("member"))?;
        if !was_verified {
            let (ledger, locked) = work.split();
            let event = BuiltInEvent::PhoneBound.as_str();
            tasks::count_event(&ledger, locked, event, 1, now).await?;
        }
        work.commit().await?;
        Ok(updated)
    }
}
