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
    /// `Err(seconds)` when either the account or the address must wait that long first.
    pub fn check(&self, account: &str, client: IpAddr, now_ms: i64) -> Result<(), u64> {
        let Ok(map) = self.failures.lock() else {
            return Ok(());
        };
        let wait = |key: Key, free: u32| {
            map.get(&key)
                .filter(|f| now_ms - f.last_ms < FORGET_AFTER_MS)
                .map_or(0, |f| f.next_allowed_ms(free) - now_ms)
        };
        let ms = wait(Key::Account(account.to_owned()), FREE_PER_ACCOUNT)
            .max(wait(Key::Client(client), FREE_PER_CLIENT));
        if ms > 0 {
            Err(u64::try_from(ms).unwrap_or(0).div_ceil(1000))
        } else {
            Ok(())
        }
    }

    pub fn failed(&self, account: &str, client: IpAddr, now_ms: i64) {
        if let Ok(mut map) = self.failures.lock() {
            for key in [Key::Account(account.to_owned()), Key::Client(client)] {
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
        }
    }

    pub fn succeeded(&self, account: &str) {
        if let Ok(mut map) = self.failures.lock() {
            map.remove(&Key::Account(account.to_owned()));
        }
    }

    /// Drops counts nobody needs any more (called by the sweeper).
    pub fn trim(&self, now_ms: i64) {
        if let Ok(mut map) = self.failures.lock() {
            map.retain(|_, f| now_ms - f.last_ms < FORGET_AFTER_MS);
        }
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
            assert_eq!(t.check("alice", IP, 0), Ok(()), "failure {i}");
            t.failed("alice", IP, 0);
        }
        assert_eq!(t.check("alice", IP, 0), Err(1));
        assert_eq!(t.check("alice", IP, 1_000), Ok(()));
        t.failed("alice", IP, 1_000);
        assert_eq!(t.check("alice", IP, 1_000), Err(2));
        t.failed("alice", IP, 3_000);
        assert_eq!(t.check("alice", IP, 3_000), Err(4));
        // Another account from another address is not slowed.
        let other: IpAddr = "192.0.2.1".parse().unwrap();
        assert_eq!(t.check("bob", other, 3_000), Ok(()));
    }

    #[test]
    fn delays_are_capped_and_forgotten() {
        let t = LoginThrottle::default();
        for _ in 0..40 {
            t.failed("alice", IP, 0);
        }
        assert_eq!(t.check("alice", IP, 0), Err(15 * 60));
        assert_eq!(t.check("alice", IP, FORGET_AFTER_MS), Ok(()));
    }

    #[test]
    fn an_address_guessing_many_accounts_is_slowed() {
        let t = LoginThrottle::default();
        for i in 0..FREE_PER_CLIENT {
            t.failed(&format!("user{i}"), IP, 0);
        }
        assert_eq!(t.check("someone-new", IP, 0), Err(1));
    }

    #[test]
    fn success_clears_the_account_not_the_address() {
        let t = LoginThrottle::default();
        for i in 0..FREE_PER_CLIENT {
            t.failed(&format!("user{i}"), IP, 0);
        }
        t.succeeded("user0");
        assert_eq!(t.check("user0", IP, 0), Err(1));
    }
}
