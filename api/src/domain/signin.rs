//! Daily sign-in rules: streaks, the reward cycle, milestones, freezes and make-ups (SPEC §2).
#![deny(clippy::arithmetic_side_effects)]

use chrono::{Datelike, Days, Months, NaiveDate};

use crate::error::AppError;

/// Where a member's streak stands before today's sign-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreakState {
    /// The last signed day (a sign-in, a make-up or a freeze-covered day).
    pub last_day: Option<NaiveDate>,
    /// The run of signed days ending at `last_day`.
    pub streak: i32,
    pub freezes: i32,
}

/// What today's sign-in does to the streak.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreakStep {
    pub streak: i32,
    /// The missed day a freeze covers, when one is used.
    pub frozen_day: Option<NaiveDate>,
}

/// The streak after signing in on `today`. Yesterday signed: the run goes on. Exactly one day
/// missed and a freeze in hand: the freeze covers that day and the run goes on (the covered day
/// keeps the run alive but is not a signed day, so the streak grows by one). Anything else starts
/// a new run at 1.
///
/// # Errors
/// `ALREADY_SIGNED_IN` when today is already signed.
pub fn next_streak(state: StreakState, today: NaiveDate) -> Result<StreakStep, AppError> {
    let Some(last) = state.last_day else {
        return Ok(StreakStep {
            streak: 1,
            frozen_day: None,
        });
    };
    if last >= today {
        return Err(AppError::AlreadySignedIn);
    }
    let gap = today.signed_duration_since(last).num_days();
    let step = match gap {
        1 => StreakStep {
            streak: state.streak.saturating_add(1),
            frozen_day: None,
        },
        2 if state.freezes > 0 => StreakStep {
            streak: state.streak.saturating_add(1),
            frozen_day: last.succ_opt(),
        },
        _ => StreakStep {
            streak: 1,
            frozen_day: None,
        },
    };
    Ok(step)
}

/// The streak a member sees: the run still counts while its last day is today or yesterday.
pub fn visible_streak(state: StreakState, today: NaiveDate) -> i32 {
    match state.last_day {
        Some(last) if today.signed_duration_since(last).num_days() <= 1 => state.streak,
        _ => 0,
    }
}

/// The sign-in cycle: day N of a streak pays entry (N − 1) mod length.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cycle(Vec<i64>);

/// What a day of the sign-in cycle grants besides its points: one unit of a reward and/or
/// free draws of a lottery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CycleReward {
    /// 1-based day of the cycle.
    pub day: i32,
    pub reward: Option<crate::domain::ids::RewardId>,
    /// (lottery id, draws).
    pub draws: Option<(i64, i32)>,
}

impl Cycle {
    /// # Errors
    /// `VALIDATION` (field `cycle`) for an empty cycle, more than 31 days or an entry out of range.
    pub fn parse(days: Vec<i64>) -> Result<Self, AppError> {
        if days.is_empty() || days.len() > 31 {
            return Err(AppError::validation("cycle", "must have 1 to 31 entries"));
        }
        if days.iter().any(|points| !(0..=100_000).contains(points)) {
            return Err(AppError::validation(
                "cycle",
                "each entry must be 0 to 100000 points",
            ));
        }
        Ok(Self(days))
    }

    pub fn days(&self) -> &[i64] {
        &self.0
    }

    /// Base points for the sign-in that makes the streak `streak` (≥ 1).
    pub fn points_for(&self, streak: i32) -> i64 {
        self.0.get(self.index_for(streak)).copied().unwrap_or(0)
    }

    /// The cycle day (1-based) the sign-in that makes the streak `streak` lands on.
    pub fn day_for(&self, streak: i32) -> i32 {
        i32::try_from(self.index_for(streak)).map_or(1, |index| index.saturating_add(1))
    }

    fn index_for(&self, streak: i32) -> usize {
        let len = self.0.len().max(1);
        usize::try_from(streak.saturating_sub(1).max(0))
            .unwrap_or(0)
            .checked_rem(len)
            .unwrap_or(0)
    }
}

/// What a milestone measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MilestoneKind {
    /// The current streak reaches the threshold (again on every new run).
    Streak,
    /// All-time signed days reach the threshold (once ever).
    Total,
}

impl MilestoneKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Streak => "STREAK",
            Self::Total => "TOTAL",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "STREAK" => Some(Self::Streak),
            "TOTAL" => Some(Self::Total),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Milestone {
    pub kind: MilestoneKind,
    pub threshold: i32,
    pub points: i64,
}

/// Checks an operator's milestone table: positive thresholds, 0..=100000 points, no duplicates.
///
/// # Errors
/// `VALIDATION` (field `milestones`).
pub fn check_milestones(milestones: &[Milestone]) -> Result<(), AppError> {
    for (index, m) in milestones.iter().enumerate() {
        if !(1..=10_000).contains(&m.threshold) || !(0..=100_000).contains(&m.points) {
            return Err(AppError::validation(
                "milestones",
                "thresholds must be 1 to 10000 and points 0 to 100000",
            ));
        }
        if milestones
            .iter()
            .skip(index.saturating_add(1))
            .any(|other| other.kind == m.kind && other.threshold == m.threshold)
        {
            return Err(AppError::validation(
                "milestones",
                "a threshold appears twice",
            ));
        }
    }
    Ok(())
}

/// The milestones crossed when a streak goes from `streak_before` to `streak_after` and the
/// total from `total_before` to `total_after`.
pub fn milestones_reached(
    milestones: &[Milestone],
    (streak_before, streak_after): (i32, i32),
    (total_before, total_after): (i32, i32),
) -> Vec<Milestone> {
    milestones
        .iter()
        .filter(|m| match m.kind {
            MilestoneKind::Streak => streak_before < m.threshold && m.threshold <= streak_after,
            MilestoneKind::Total => total_before < m.threshold && m.threshold <= total_after,
        })
        .copied()
        .collect()
}

/// Whether `day` may be made up on `today`: a missed day of the current business month, before
/// today and not before the member registered (`registered_on`), within the tier's monthly
/// quota.
///
/// # Errors
/// `MAKEUP_NOT_ALLOWED` with the reason.
pub fn check_make_up(
    day: NaiveDate,
    today: NaiveDate,
    registered_on: NaiveDate,
    already_signed: bool,
    used_this_month: i64,
    quota: i64,
) -> Result<(), AppError> {
    if day >= today {
        return Err(AppError::MakeUpNotAllowed("only a past day can be made up"));
    }
    if (day.year(), day.month()) != (today.year(), today.month()) {
        return Err(AppError::MakeUpNotAllowed(
            "only a day of the current month can be made up",
        ));
    }
    if day < registered_on {
        return Err(AppError::MakeUpNotAllowed(
            "a day before you became a member cannot be made up",
        ));
    }
    if already_signed {
        return Err(AppError::MakeUpNotAllowed("that day is already signed"));
    }
    if used_this_month >= quota {
        return Err(AppError::MakeUpNotAllowed(
            "this month's make-ups are used up",
        ));
    }
    Ok(())
}

/// A day on the sign-in calendar that keeps a run alive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignedDay {
    pub day: NaiveDate,
    /// False for a day a freeze covered: it bridges the run but adds nothing to the streak.
    pub counts: bool,
}

/// The streak of the run ending at `end`, given the calendar newest first.
pub fn run_length_ending(days_newest_first: &[SignedDay], end: NaiveDate) -> i32 {
    let mut expected = end;
    let mut length = 0_i32;
    for signed in days_newest_first.iter().skip_while(|d| d.day > end) {
        if signed.day != expected {
            break;
        }
        if signed.counts {
            length = length.saturating_add(1);
        }
        match expected.pred_opt() {
            Some(previous) => expected = previous,
            None => break,
        }
    }
    length
}

/// The first day of `day`'s month.
pub fn first_of_month(day: NaiveDate) -> NaiveDate {
    day.with_day(1).unwrap_or(day)
}

/// The last day of the month that starts on `first`.
pub fn last_of_month(first: NaiveDate) -> NaiveDate {
    first
        .checked_add_months(Months::new(1))
        .and_then(|next| next.checked_sub_days(Days::new(1)))
        .unwrap_or(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 3, d).unwrap()
    }

    fn state(last: Option<u32>, streak: i32, freezes: i32) -> StreakState {
        StreakState {
            last_day: last.map(day),
            streak,
            freezes,
        }
    }

    #[test]
    fn streak_transitions() {
        let cases = [
            (state(None, 0, 0), 5, 1, None),
            (state(Some(4), 3, 0), 5, 4, None),
            (state(Some(3), 3, 0), 5, 1, None),
            (state(Some(3), 3, 1), 5, 4, Some(4)),
            (state(Some(2), 3, 1), 5, 1, None),
        ];
        for (before, today, streak, frozen) in cases {
            let step = next_streak(before, day(today)).unwrap();
            assert_eq!(step.streak, streak, "{before:?}");
            assert_eq!(step.frozen_day, frozen.map(day), "{before:?}");
        }
        assert_eq!(
            next_streak(state(Some(5), 1, 0), day(5))
                .unwrap_err()
                .code(),
            "ALREADY_SIGNED_IN"
        );
    }

    #[test]
    fn the_default_cycle_pays_in_order_and_restarts() {
        let cycle = Cycle::parse(vec![5, 5, 10, 10, 15, 15, 30]).unwrap();
        let paid: Vec<i64> = (1..=8).map(|streak| cycle.points_for(streak)).collect();
        assert_eq!(paid, vec![5, 5, 10, 10, 15, 15, 30, 5]);
        assert_eq!(cycle.day_for(7), 7);
        assert_eq!(cycle.day_for(8), 1);
        assert!(Cycle::parse(vec![]).is_err());
        assert!(Cycle::parse(vec![-1]).is_err());
    }

    #[test]
    fn milestones_are_crossed_not_revisited() {
        let milestones = [
            Milestone {
                kind: MilestoneKind::Streak,
                threshold: 30,
                points: 100,
            },
            Milestone {
                kind: MilestoneKind::Total,
                threshold: 100,
                points: 200,
            },
        ];
        assert_eq!(milestones_reached(&milestones, (29, 30), (50, 51)).len(), 1);
        assert!(milestones_reached(&milestones, (30, 31), (50, 51)).is_empty());
        assert_eq!(
            milestones_reached(&milestones, (10, 35), (99, 100)).len(),
            2
        );
    }

    #[test]
    fn make_up_rules() {
        assert!(check_make_up(day(3), day(5), day(3), false, 0, 1).is_ok());
        for (d, signed, used) in [(5, false, 0), (6, false, 0), (3, true, 0), (3, false, 1)] {
            assert_eq!(
                check_make_up(day(d), day(5), day(1), signed, used, 1)
                    .unwrap_err()
                    .code(),
                "MAKEUP_NOT_ALLOWED"
            );
        }
        let february = NaiveDate::from_ymd_opt(2026, 2, 28).unwrap();
        assert!(check_make_up(february, day(1), february, false, 0, 1).is_err());
        assert_eq!(
            check_make_up(day(2), day(5), day(3), false, 0, 1)
                .unwrap_err()
                .to_string(),
            "make-up sign-in not allowed: a day before you became a member cannot be made up"
        );
    }

    #[test]
    fn runs_are_counted_back_from_their_end_and_freezes_bridge_them() {
        let signed = |d: u32| SignedDay {
            day: day(d),
            counts: true,
        };
        let frozen = |d: u32| SignedDay {
            day: day(d),
            counts: false,
        };
        let days = [signed(9), signed(8), signed(7), signed(5), signed(4)];
        assert_eq!(run_length_ending(&days, day(9)), 3);
        assert_eq!(run_length_ending(&days, day(5)), 2);
        assert_eq!(run_length_ending(&days, day(6)), 0);
        let bridged = [signed(9), frozen(8), signed(7), signed(6)];
        assert_eq!(run_length_ending(&bridged, day(9)), 3);
    }

    #[test]
    fn the_visible_streak_lapses_after_a_missed_day() {
        assert_eq!(visible_streak(state(Some(4), 3, 0), day(5)), 3);
        assert_eq!(visible_streak(state(Some(3), 3, 0), day(5)), 0);
    }
}
