//! The sign-in rules operators edit (签到规则): the cycle, its rewards, milestones and the
//! make-up cost.

use crate::domain::signin::{self, Cycle, CycleReward, Milestone};
use crate::error::AppError;
use crate::store::{self, programme};

use super::SigninService;

/// Make-up cost when none is configured.
pub(super) const DEFAULT_MAKE_UP_COST: i64 = 20;

/// The programme's sign-in rules.
#[derive(Debug, Clone)]
pub struct SignInRules {
    pub cycle: Cycle,
    /// What cycle days grant besides points.
    pub cycle_rewards: Vec<CycleReward>,
    pub milestones: Vec<Milestone>,
    pub make_up_cost: i64,
}

impl SigninService {
    /// The current sign-in rules.
    ///
    /// # Errors
    /// `INTERNAL` on database failure.
    pub async fn rules(&self) -> Result<SignInRules, AppError> {
        let rules = self.engine.rules().await?;
        Ok(SignInRules {
            cycle_rewards: rules.cycle_rewards.clone(),
            cycle: rules.cycle.clone(),
            milestones: rules.milestones.clone(),
            make_up_cost: rules.setting(programme::MAKE_UP_COST, DEFAULT_MAKE_UP_COST),
        })
    }

    /// Replaces the rules given; each applies from the next sign-in on.
    ///
    /// # Errors
    /// `VALIDATION` for a bad cycle, milestone or cost.
    pub async fn update_rules(
        &self,
        cycle: Option<Cycle>,
        milestones: Option<Vec<Milestone>>,
        make_up_cost: Option<i64>,
        cycle_rewards: Option<Vec<CycleReward>>,
    ) -> Result<SignInRules, AppError> {
        if let Some(milestones) = &milestones {
            signin::check_milestones(milestones)?;
        }
        if make_up_cost.is_some_and(|cost| !(0..=100_000).contains(&cost)) {
            return Err(AppError::validation(
                "makeUpCost",
                "must be 0 to 100000 points",
            ));
        }
        let txn = store::begin(&self.db).await?;
        if let Some(cycle) = &cycle {
            programme::replace_cycle(&txn, cycle).await?;
        }
        if let Some(milestones) = &milestones {
            programme::replace_milestones(&txn, milestones).await?;
        }
        if let Some(cost) = make_up_cost {
            programme::set_setting(&txn, programme::MAKE_UP_COST, cost).await?;
        }
        if let Some(cycle_rewards) = &cycle_rewards {
            let length = programme::cycle(&txn).await?.days().len();
            for entry in cycle_rewards {
                if usize::try_from(entry.day).map_or(true, |d| d == 0 || d > length) {
                    return Err(AppError::validation(
                        "cycleRewards",
                        "day is not in the cycle",
                    ));
                }
                if entry.reward.is_none() && entry.draws.is_none() {
                    return Err(AppError::validation(
                        "cycleRewards",
                        "name a reward, draws or both",
                    ));
                }
                if let Some(reward) = entry.reward
                    && store::rewards::find_reward(&txn, reward.get())
                        .await?
                        .is_none()
                {
                    return Err(AppError::validation(
                        "cycleRewards",
                        "reward does not exist",
                    ));
                }
                if let Some((lottery, draws)) = entry.draws {
                    if !(1..=100).contains(&draws) {
                        return Err(AppError::validation(
                            "cycleRewards.draws",
                            "must be 1 to 100",
                        ));
                    }
                    if store::lottery::load(&txn, Some(lottery)).await?.is_empty() {
                        return Err(AppError::validation(
                            "cycleRewards.draws",
                            "lottery does not exist",
                        ));
                    }
                }
            }
            programme::set_cycle_rewards(&txn, cycle_rewards).await?;
        }
        txn.commit().await?;
        self.rules().await
    }
}
