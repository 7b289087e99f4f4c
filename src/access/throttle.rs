//! The sign-in throttle: failed sign-ins are counted per account and per client IP over a fixed
//! window; once either count reaches its limit, further attempts are refused (429) until the
//! window ends. A success clears the account's count.
//!
//! Kept in process on purpose: it guards one expensive endpoint against password guessing, the
//! argon2 cost bounds what an attacker gains from spreading over replicas, and the general
//! `RateLimiter` (with its shared, Redis-backed implementation) is a separate concern. With N
//! replicas the effective limit is at most N times the setting.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::config::AccessSettings;

/// Entries kept before expired windows are swept.
const SWEEP_ABOVE: usize = 10_000;

#[derive(Debug)]
pub struct SigninThrottle {
    per_account: u32,
    per_ip: u32,
    window: Duration,
    failures: Mutex<HashMap<String, Window>>,
}

#[derive(Debug, Clone, Copy)]
struct Window {
    started: Instant,
    count: u32,
}

impl SigninThrottle {
    pub fn new(settings: &AccessSettings) -> Self {
        Self {
            per_account: settings.signin_failures_per_account,
            per_ip: settings.signin_failures_per_ip,
            window: Duration::from_secs(settings.signin_window_secs),
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// `Err(seconds to wait)` when the account or the IP has used up its failures.
    pub fn check(&self, account: &str, ip: Option<IpAddr>) -> Result<(), u64> {
        let now = Instant::now();
        let map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let mut wait = 0;
        for (key, limit) in keys(account, ip, self.per_account, self.per_ip) {
            if let Some(w) = map.get(&key).filter(|w| now.duration_since(w.started) < self.window)
                && w.count >= limit
            {
                let left = self.window.saturating_sub(now.duration_since(w.started));
                wait = wait.max(left.as_secs().max(1));
            }
        }
        if wait > 0 { Err(wait) } else { Ok(()) }
    }

    pub fn record_failure(&self, account: &str, ip: Option<IpAddr>) {
        let now = Instant::now();
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() > SWEEP_ABOVE {
            map.retain(|_, w| now.duration_since(w.started) < self.window);
        }
        for (key, _) in keys(account, ip, self.per_account, self.per_ip) {
            let w = map.entry(key).or_insert(Window { started: now, count: 0 });
            if now.duration_since(w.started) >= self.window {
                *w = Window { started: now, count: 0 };
            }
            w.count += 1;
        }
    }

    pub fn record_success(&self, account: &str) {
        self.failures.lock().unwrap_or_else(|e| e.into_inner()).remove(&format!("account:{account}"));
    }
}

fn keys(account: &str, ip: Option<IpAddr>, per_account: u32, per_ip: u32) -> Vec<(String, u32)> {
    let mut keys = vec![(format!("account:{account}"), per_account)];
    if let Some(ip) = ip {
        keys.push((format!("ip:{ip}"), per_ip));
    }
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    fn throttle(per_account: u32, per_ip: u32) -> SigninThrottle {
        let settings = AccessSettings {
            signin_failures_per_account: per_account,
            signin_failures_per_ip: per_ip,
            ..AccessSettings::default()
        };
        SigninThrottle::new(&settings)
    }

    #[test]
    fn an_account_is_refused_after_its_failures_and_other_accounts_are_not() {
        let t = throttle(2, 100);
        let ip = Some("10.0.0.1".parse().unwrap());
        t.record_failure("a@example.com", ip);
        assert!(t.check("a@example.com", ip).is_ok());
        t.record_failure("a@example.com", ip);
        assert!(t.check("a@example.com", ip).unwrap_err() > 0);
        assert!(t.check("b@example.com", ip).is_ok());
    }

    #[test]
    fn an_ip_is_refused_after_failures_across_accounts() {
        let t = throttle(100, 3);
        let ip = Some("10.0.0.2".parse().unwrap());
        for account in ["a@x.org", "b@x.org", "c@x.org"] {
            t.record_failure(account, ip);
        }
        assert!(t.check("d@x.org", ip).is_err());
        assert!(t.check("d@x.org", Some("10.0.0.3".parse().unwrap())).is_ok());
    }
}
