//! The sign-in rules operators edit (签到规则): the cycle, its rewards, milestones and the
//! make-up cost.

use crate::domain::ids::RewardId;
use crate::domain::signin::{self, Cycle, Milestone};
use crate::error::AppError;
use crate::store::{self, programme};

use super::SigninService;

/// Make-up cost when none is configured.
pub(super) const DEFAULT_MAKE_UP_COST: i64 = 20;

/// The programme's sign-in rules.
#[derive(Debug, Clone)]
pub struct SignInRules {
    pub cycle: Cycle,
    /// (cycle day, reward id) for days that grant a reward.
    pub cycle_rewards: Vec<(i32, RewardId)>,
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
        cycle_rewards: Option<Vec<(i32, RewardId)>>,
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
            for (day, reward_id) in cycle_rewards {
                if usize::try_from(*day).map_or(true, |d| d == 0 || d > length) {
                    return Err(AppError::validation(
                        "cycleRewards",
                        "day is not in the cycle",
                    ));
                }
                if store::rewards::find_reward(&txn, reward_id.get())
                    .await?
                    .is_none()
                {
                    return Err(AppError::validation(
                        "cycleRewards",
                        "reward does not exist",
                    ));
                }
            }
            programme::set_cycle_rewards(&txn, cycle_rewards).await?;
        }
        txn.commit().await?;
        self.rules().await
    }
}
