//! The programme's rules — tiers, the sign-in cycle and its rewards, milestones, member-day
//! events and scalar settings — held in process and revalidated by version.
//!
//! Rules change perhaps once a month, but the hot paths read them on every request. Every rule
//! write bumps a version number in its own transaction; a request reads the version in a
//! statement it runs anyway (the member's row), and the cache reloads only when that version is
//! not the one it holds. So a change applies from the next action on every instance, and the
//! common request reads no rule tables at all.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use sea_orm::ConnectionTrait;

use crate::domain::member_day::ScheduledEvent;
use crate::domain::notification::NoticeKind;
use crate::domain::signin::{Cycle, CycleReward, Milestone};
use crate::domain::subscribe_message::MessageTemplate;
use crate::domain::task::{EventType, Task};
use crate::domain::tier::Tier;
use crate::domain::webhook::{Webhook, WebhookEvent};
use crate::error::AppError;
use crate::store::{self, programme};

/// One consistent snapshot of the rules.
#[derive(Debug)]
pub struct Rules {
    pub version: i64,
    /// Entry tier first.
    pub tiers: Vec<Tier>,
    pub cycle: Cycle,
    /// What cycle days grant besides points.
    pub cycle_rewards: Vec<CycleReward>,
    pub milestones: Vec<Milestone>,
    /// Every operator event, soonest first.
    pub events: Vec<ScheduledEvent>,
    /// The subscribe-message template of each mapped notice kind.
    pub templates: Vec<MessageTemplate>,
    pub webhooks: Vec<Webhook>,
    /// Every event type, by code.
    pub event_types: Vec<EventType>,
    /// Every task, oldest first (the event path finds the ones an event counts for here).
    pub tasks: Vec<Task>,
    settings: HashMap<String, i64>,
}

impl Rules {
    /// The tier with `code`.
    ///
    /// # Errors
    /// `INTERNAL` for a code no tier has (a member always holds an existing tier).
    pub fn tier(&self, code: &str) -> Result<&Tier, AppError> {
        self.tiers
            .iter()
            .find(|tier| tier.code == code)
            .ok_or_else(|| AppError::internal(anyhow::anyhow!("tier {code} does not exist")))
    }

    /// The tier above `code`, if any.
    pub fn tier_above(&self, code: &str) -> Option<&Tier> {
        let rank = self.tiers.iter().find(|tier| tier.code == code)?.rank;
        self.tiers.iter().find(|tier| tier.rank > rank)
    }

    /// The template notices of `kind` are sent with, if the operator mapped one.
    pub fn template(&self, kind: NoticeKind) -> Option<&MessageTemplate> {
        self.templates.iter().find(|template| template.kind == kind)
    }

    /// The webhooks that want `event`.
    pub fn webhooks_for(&self, event: WebhookEvent) -> impl Iterator<Item = &Webhook> {
        self.webhooks.iter().filter(move |hook| hook.wants(event))
    }

    /// The event type with `code`.
    pub fn event_type(&self, code: &str) -> Option<&EventType> {
        self.event_types.iter().find(|t| t.code == code)
    }

    /// A scalar setting, or `default` when unset.
    pub fn setting(&self, key: &str, default: i64) -> i64 {
        self.settings.get(key).copied().unwrap_or(default)
    }

    async fn load(db: &impl ConnectionTrait, version: i64) -> Result<Self, AppError> {
        Ok(Self {
            version,
            tiers: programme::all_tiers(db).await?,
            cycle: programme::cycle(db).await?,
            cycle_rewards: programme::cycle_rewards(db).await?,
            milestones: programme::milestones(db).await?,
            events: store::member_days::all(db).await?,
            templates: store::reach::templates(db).await?,
            webhooks: store::reach::webhooks(db).await?,
            event_types: store::tasks::event_types(db).await?,
            tasks: store::tasks::all_tasks(db).await?,
            settings: programme::all_settings(db).await?.into_iter().collect(),
        })
    }
}

/// The process's rules cache; clones share it.
#[derive(Clone, Default)]
pub struct RulesCache {
    current: Arc<RwLock<Option<Arc<Rules>>>>,
}

impl RulesCache {
    /// The rules at `version`, as read with the member's row on `db`: the cached snapshot when
    /// it is that version, else reloaded on `db` (so a transaction sees rules and member from
    /// one moment).
    ///
    /// # Errors
    /// `INTERNAL` on database failure or stored rules that do not parse.
    pub async fn at(
        &self,
        db: &impl ConnectionTrait,
        version: i64,
    ) -> Result<Arc<Rules>, AppError> {
        if let Some(rules) = self.cached().filter(|rules| rules.version == version) {
            return Ok(rules);
        }
        let rules = Arc::new(Rules::load(db, version).await?);
        if let Ok(mut current) = self.current.write() {
            // Keep the newest: a slow reload of an older version must not replace a newer one.
            if current.as_ref().is_none_or(|held| held.version <= version) {
                *current = Some(Arc::clone(&rules));
            }
        }
        Ok(rules)
    }

    /// The rules now, for requests that read no member row: one statement for the version.
    ///
    /// # Errors
    /// `INTERNAL` on database failure.
    pub async fn latest(&self, db: &impl ConnectionTrait) -> Result<Arc<Rules>, AppError> {
        let version = programme::rules_version(db).await?;
        self.at(db, version).await
    }

    fn cached(&self) -> Option<Arc<Rules>> {
        self.current.read().ok().and_then(|current| current.clone())
    }
}
