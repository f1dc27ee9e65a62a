//! Failed console logins slow down further tries, per account and per client address, with
//! delays that double: a few free failures, then 1 s, 2 s, 4 s … up to 15 minutes. A success
//! clears the account's count (not the address's: one valid account must not let an address
//! keep guessing others); counts are forgotten an hour after their last failure. Kept in
//! memory: a restart forgets them, which costs an attacker a restart they cannot cause.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

/// Failures allowed before delays start.
const FREE_PER_ACCOUNT: u32 = 5;
const FREE_PER_CLIENT: u32 = 20;
const MAX_DELAY_MS: i64 = 15 * 60_000;
const FORGET_AFTER_MS: i64 = 60 * 60_000;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Key {
    Account(String),
    Client(IpAddr),
}

#[derive(Clone, Copy, Debug)]
struct Failures {
    count: u32,
    last_ms: i64,
}

impl Failures {
    /// When the next try is allowed, given `free` failures without delay.
    fn next_allowed_ms(self, free: u32) -> i64 {
        if self.count < free {
            return self.last_ms;
        }
        let doublings = (self.count - free).min(20);
        self.last_ms + (1_000i64 << doublings).min(MAX_DELAY_MS)
    }
}

#[derive(Default)]
pub struct LoginThrottle {
    failures: Mutex<HashMap<Key, Failures>>,
}

impl LoginThrottle {
    /// Starts a login attempt: `Err(seconds)` when the account or the address must wait that
    /// long first; else the attempt is counted as a failure at once, under the same lock, so
    /// parallel attempts cannot all pass the check before any failure is recorded. A success
    /// takes it back ([`LoginThrottle::succeeded`]).
    pub fn begin(&self, account: &str, client: IpAddr, now_ms: i64) -> Result<(), u64> {
        let Ok(mut map) = self.failures.lock() else {
            return Ok(());
        };
        let keys = [
            (Key::Account(account.to_owned()), FREE_PER_ACCOUNT),
            (Key::Client(network(client)), FREE_PER_CLIENT),
        ];
        let wait_ms = keys
            .iter()
            .map(|(key, free)| {
                map.get(key)
                    .filter(|f| now_ms - f.last_ms < FORGET_AFTER_MS)
                    .map_or(0, |f| f.next_allowed_ms(*free) - now_ms)
            })
            .max()
            .unwrap_or(0);
        if wait_ms > 0 {
            return Err(u64::try_from(wait_ms).unwrap_or(0).div_ceil(1000));
        }
        for (key, _) in keys {
            let f = map.entry(key).or_insert(Failures {
                count: 0,
                last_ms: now_ms,
            });
            if now_ms - f.last_ms >= FORGET_AFTER_MS {
                f.count = 0;
            }
            f.count += 1;
            f.last_ms = now_ms;
        }
        Ok(())
    }

    /// A login succeeded: the account's count is cleared, and the address's loses the attempt
    /// [`LoginThrottle::begin`] counted (not more: one valid account must not let an address
    /// keep guessing others).
    pub fn succeeded(&self, account: &str, client: IpAddr) {
        if let Ok(mut map) = self.failures.lock() {
            map.remove(&Key::Account(account.to_owned()));
            if let Some(f) = map.get_mut(&Key::Client(network(client))) {
                f.count = f.count.saturating_sub(1);
            }
        }
    }

    /// Drops counts nobody needs any more (called by the sweeper).
    pub fn trim(&self, now_ms: i64) {
        if let Ok(mut map) = self.failures.lock() {
            map.retain(|_, f| now_ms - f.last_ms < FORGET_AFTER_MS);
        }
    }
}

/// The address as one client: IPv4 whole, IPv6 by its /64 (one host commonly holds a whole
/// /64, as the public API's rate limit assumes too).
fn network(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) if v6.to_ipv4_mapped().is_none() => {
            let prefix = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(prefix.into())
        }
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const IP: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

    #[test]
    fn delays_start_after_the_free_failures_and_double() {
        let t = LoginThrottle::default();
        for i in 0..FREE_PER_ACCOUNT {
            assert_eq!(t.begin("alice", IP, 0), Ok(()), "attempt {i}");
        }
        assert_eq!(t.begin("alice", IP, 0), Err(1));
        assert_eq!(t.begin("alice", IP, 1_000), Ok(()));
        assert_eq!(t.begin("alice", IP, 1_000), Err(2));
        assert_eq!(t.begin("alice", IP, 3_000), Ok(()));
        assert_eq!(t.begin("alice", IP, 3_000), Err(4));
        // Another account from another address is not slowed.
        let other: IpAddr = "192.0.2.1".parse().unwrap();
        assert_eq!(t.begin("bob", other, 3_000), Ok(()));
    }

    #[test]
    fn delays_are_capped_and_forgotten() {
        let t = LoginThrottle::default();
        let mut now = 0;
        for _ in 0..40 {
            if let Err(wait) = t.begin("alice", IP, now) {
                now += i64::try_from(wait).unwrap() * 1000;
                t.begin("alice", IP, now).unwrap();
            }
        }
        assert_eq!(t.begin("alice", IP, now), Err(15 * 60));
        assert_eq!(t.begin("alice", IP, now + FORGET_AFTER_MS), Ok(()));
    }

    #[test]
    fn parallel_attempts_do_not_all_pass_the_check() {
        let t = std::sync::Arc::new(LoginThrottle::default());
        let passed: usize = std::thread::scope(|s| {
            let handles: Vec<_> = (0..64)
                .map(|_| {
                    let t = t.clone();
                    s.spawn(move || t.begin("alice", IP, 0).is_ok())
                })
                .collect();
            handles
                .into_iter()
                .map(|h| usize::from(h.join().unwrap()))
                .sum()
        });
        assert_eq!(passed, FREE_PER_ACCOUNT as usize);
    }

    #[test]
    fn an_address_guessing_many_accounts_is_slowed() {
        let t = LoginThrottle::default();
        for i in 0..FREE_PER_CLIENT {
            t.begin(&format!("user{i}"), IP, 0).unwrap();
        }
        assert_eq!(t.begin("someone-new", IP, 0), Err(1));
    }

    #[test]
    fn an_ipv6_client_is_its_64() {
        let t = LoginThrottle::default();
        for i in 0..FREE_PER_CLIENT {
            let ip: IpAddr = format!("2001:db8:1:2::{i:x}").parse().unwrap();
            t.begin(&format!("user{i}"), ip, 0).unwrap();
        }
        let same_64: IpAddr = "2001:db8:1:2:ffff::1".parse().unwrap();
        assert_eq!(t.begin("someone-new", same_64, 0), Err(1));
        let next_64: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(t.begin("someone-new", next_64, 0), Ok(()));
    }

    #[test]
    fn success_clears_the_account_and_its_own_attempt_only() {
        let t = LoginThrottle::default();
        for i in 0..FREE_PER_CLIENT {
            t.begin(&format!("user{i}"), IP, 0).unwrap();
        }
        t.succeeded("user0", IP);
        // One attempt taken back: one more is free, then the address waits again.
        assert_eq!(t.begin("user0", IP, 0), Ok(()));
        assert_eq!(t.begin("user0", IP, 0), Err(1));
        // Logging in often from one address never slows it down.
        let t = LoginThrottle::default();
        for _ in 0..100 {
            t.begin("alice", IP, 0).unwrap();
            t.succeeded("alice", IP);
        }
    }
}
