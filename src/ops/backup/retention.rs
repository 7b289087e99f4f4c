//! The grandfather-father-son retention rule, pure: given the creation times of the backups,
//! which ones each of the daily, weekly and monthly rules keeps. `keep N` of a period means the
//! newest backup of each of the N most recent periods that have a backup (days, ISO weeks and
//! calendar months, in UTC); a backup kept by no rule is deleted.

use chrono::{DateTime, Datelike, Utc};
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Policy {
    pub daily: u32,
    pub weekly: u32,
    pub monthly: u32,
}

impl Policy {
    /// A policy that keeps nothing at all.
    pub fn keeps_nothing(&self) -> bool {
        self.daily == 0 && self.weekly == 0 && self.monthly == 0
    }
}

/// The rule that keeps a backup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Rule {
    Daily,
    Weekly,
    Monthly,
}

/// The period a time falls in, as (year, number within the year).
type PeriodOf = fn(DateTime<Utc>) -> (i32, u32);

/// For each backup (same order as `times`), the rules that keep it; empty means delete it.
pub fn decide(times: &[DateTime<Utc>], policy: Policy) -> Vec<Vec<Rule>> {
    let mut newest_first: Vec<usize> = (0..times.len()).collect();
    newest_first.sort_by(|&a, &b| times[b].cmp(&times[a]));
    let mut kept = vec![Vec::new(); times.len()];
    let rules: [(Rule, u32, PeriodOf); 3] = [
        (Rule::Daily, policy.daily, |t| (t.year(), t.ordinal())),
        (Rule::Weekly, policy.weekly, |t| (t.iso_week().year(), t.iso_week().week())),
        (Rule::Monthly, policy.monthly, |t| (t.year(), t.month())),
    ];
    for (rule, count, period) in rules {
        let mut periods = 0;
        let mut last = None;
        for &i in &newest_first {
            let key = period(times[i]);
            if last == Some(key) {
                continue;
            }
            if periods == count {
                break;
            }
            last = Some(key);
            periods += 1;
            kept[i].push(rule);
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn policy(daily: u32, weekly: u32, monthly: u32) -> Policy {
        Policy { daily, weekly, monthly }
    }

    #[test]
    fn each_rule_keeps_the_newest_backup_of_its_most_recent_periods() {
        let times = [
            "2026-11-25T03:00:00Z",
            "2026-11-25T15:00:00Z",
            "2026-11-24T03:00:00Z",
            "2026-11-23T03:00:00Z",
            "2026-11-22T03:00:00Z",
            "2026-11-15T03:00:00Z",
            "2026-10-31T03:00:00Z",
            "2026-09-30T03:00:00Z",
        ]
        .map(at);
        let kept = decide(&times, policy(2, 2, 2));
        use Rule::*;
        let expected: [&[Rule]; 8] = [&[], &[Daily, Weekly, Monthly], &[Daily], &[], &[Weekly], &[], &[Monthly], &[]];
        assert_eq!(kept, expected.map(<[Rule]>::to_vec));
    }

    #[test]
    fn days_without_a_backup_do_not_use_up_the_daily_count() {
        let times = ["2026-11-25T03:00:00Z", "2026-11-20T03:00:00Z", "2026-11-01T03:00:00Z"].map(at);
        let kept = decide(&times, policy(2, 0, 0));
        assert_eq!(kept, vec![vec![Rule::Daily], vec![Rule::Daily], vec![]]);
    }

    #[test]
    fn a_week_that_spans_new_year_is_one_iso_week() {
        // 2026-12-31 (Thursday) and 2027-01-02 (Saturday) are both in ISO week 53 of 2026.
        let times = ["2027-01-02T03:00:00Z", "2026-12-31T03:00:00Z", "2026-12-20T03:00:00Z"].map(at);
        let kept = decide(&times, policy(0, 2, 0));
        assert_eq!(kept, vec![vec![Rule::Weekly], vec![], vec![Rule::Weekly]]);
    }

    #[test]
    fn a_year_of_daily_backups_keeps_seven_days_four_weeks_and_twelve_months() {
        let start = at("2025-11-26T03:17:00Z");
        let times: Vec<DateTime<Utc>> = (0..365).map(|d| start + chrono::Duration::days(d)).collect();
        let kept = decide(&times, policy(7, 4, 12));
        let count = |rule| kept.iter().filter(|k| k.contains(&rule)).count();
        assert_eq!((count(Rule::Daily), count(Rule::Weekly), count(Rule::Monthly)), (7, 4, 12));
        // The last day is Wednesday 2026-11-25. Daily: 11-19..11-25. Weekly adds the Sundays
        // 11-15 and 11-08 (11-22 and this week's 11-25 are already kept). Monthly adds the last
        // day of each month from 2025-12 to 2026-10 (November's newest is 11-25).
        let survivors = kept.iter().filter(|k| !k.is_empty()).count();
        assert_eq!(survivors, 7 + 2 + 11);
        assert_eq!(kept.last().unwrap(), &vec![Rule::Daily, Rule::Weekly, Rule::Monthly]);
    }

    #[test]
    fn a_policy_of_zeros_keeps_nothing() {
        let times = [at("2026-11-25T03:00:00Z")];
        assert!(policy(0, 0, 0).keeps_nothing());
        assert_eq!(decide(&times, policy(0, 0, 0)), vec![Vec::<Rule>::new()]);
    }
}
