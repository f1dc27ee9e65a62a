//! Key layout of every tree of the embedded store. Keys are byte strings built only here; multi-part keys join
//! their parts with a 0 byte (no part may hold one) and put numbers big-endian, so a prefix scan
//! of a tree returns one brand's, one customer's or one time range's records in order.
//!
//! | tree        | key                                   | value (postcard unless noted)     |
//! |-------------|---------------------------------------|-----------------------------------|
//! | brands      | brand name                            | `BrandRecord` (JSON document)     |
//! | sessions    | session id                            | `SessionRecord`                   |
//! | usage       | brand 0 destination-key               | `UsageRecord`                     |
//! | overrides   | brand 0 destination-key               | limit, u32 big-endian             |
//! | outbox      | due-ms (i64 BE) · job-id (16 bytes)   | `OutboxRecord`                    |
//! | log         | record id (UUIDv7, time-ordered)      | `LogRecord`                       |
//! | log_by_dest | brand 0 destination-key 0 record id   | empty                             |
//! |             | 1 g outcome channel 0 status 0 id     | empty (`LogGroup`, below)         |
//! | nonces      | brand 0 hash bytes                    | expiry ms, i64 BE                 |
//! | meta        | name                                  | schema version, probes            |
//! | expiry      | kind · minute (u64 BE) · record key   | empty (below)                     |

use crate::domain::{BrandName, ChannelKind, DeliveryStatus, Destination, IssuanceRecord};

/// How a tree is read, which decides what its table files carry besides the entries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reads {
    /// Looked up by key, often for a key that is not there (a client's unknown session):
    /// every table has a filter that answers "not here" without reading a block.
    Lookup,
    /// Looked up by keys that are almost always there (ids from an index, a delivery job or
    /// a session; a miss only when the console asks for an id that is not there): the largest
    /// tables carry no filter.
    Found,
    /// Only walked by key range (an index): no filter.
    Range,
}

/// How the tree `name` is read (see [`Reads`]).
pub fn reads(name: &str) -> Reads {
    match name {
        "log" => Reads::Found,
        "log_by_dest" | "expiry" | "audit" => Reads::Range,
        _ => Reads::Lookup,
    }
}

/// Whether the tree `name` keeps write stamps (`kv::Tree::stamp`): the sessions, which the
/// issuing transaction takes as read before the signature check when none was written since
/// (`EmbeddedStore::issue`).
pub fn stamped(name: &str) -> bool {
    name == "sessions"
}

pub fn brand(name: &BrandName) -> Vec<u8> {
    name.as_str().as_bytes().to_vec()
}

pub fn customer(brand: &BrandName, dest: &Destination) -> Vec<u8> {
    let dest = dest.key();
    let mut k = Vec::with_capacity(brand.as_str().len() + 1 + dest.len());
    k.extend_from_slice(brand.as_str().as_bytes());
    k.push(0);
    k.extend_from_slice(dest.as_bytes());
    k
}

pub fn log_by_dest(brand: &BrandName, dest: &Destination, id: uuid::Uuid) -> Vec<u8> {
    let mut k = customer(brand, dest);
    k.push(0);
    k.extend_from_slice(id.as_bytes());
    k
}

/// The prefix of every `log_by_dest` key of one customer.
pub fn log_by_dest_prefix(brand: &BrandName, dest: &Destination) -> Vec<u8> {
    let mut k = customer(brand, dest);
    k.push(0);
    k
}

pub fn outbox(due_ms: i64, id: uuid::Uuid) -> [u8; 24] {
    let mut k = [0u8; 24];
    k[..8].copy_from_slice(&due_ms.max(0).to_be_bytes());
    k[8..].copy_from_slice(id.as_bytes());
    k
}

/// The due time of an outbox key, to stop a scan at "now".
pub fn outbox_due(key: &[u8]) -> i64 {
    key.get(..8)
        .and_then(|b| <[u8; 8]>::try_from(b).ok())
        .map(i64::from_be_bytes)
        .unwrap_or(i64::MAX)
}

/// The job id of an outbox key.
pub fn outbox_id(key: &[u8]) -> Option<uuid::Uuid> {
    key.get(8..).and_then(|b| uuid::Uuid::from_slice(b).ok())
}

pub fn nonce(brand: &BrandName, hash: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(brand.as_str().len() + 1 + hash.len());
    k.extend_from_slice(brand.as_str().as_bytes());
    k.push(0);
    k.extend_from_slice(hash);
    k
}

/// The first byte of a log index key in `log_by_dest`: no brand name starts with it, so the
/// index never mixes with a customer's entries.
const FACET: u8 = 1;
/// The second byte of a [`LogGroup`] key. Schema 2 and 3 wrote one entry per facet instead,
/// tagged `o`, `c` and `d`: [`OLD_FACET_PREFIXES`].
const GROUP: u8 = b'g';

/// The prefixes of the per-facet entries a store of schema 2 or 3 holds, which the group
/// index replaces (see `EmbeddedStore::build_log_groups`).
pub const OLD_FACET_PREFIXES: [[u8; 2]; 3] = [[FACET, b'o'], [FACET, b'c'], [FACET, b'd']];

/// What the issuance log is indexed by besides the customer: a record's outcome, channel and
/// delivery status together, in one entry per record. A filter on any of them walks the
/// groups it selects (few: outcomes × channels × statuses that occur) and merges their record
/// ids, instead of reading every record. Values are keyed by their wire names, never by an
/// enum's variant number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LogGroup {
    pub outcome: u16,
    pub channel: Option<ChannelKind>,
    pub delivery: DeliveryStatus,
}

impl LogGroup {
    pub fn of(r: &IssuanceRecord) -> Self {
        Self {
            outcome: r.outcome,
            channel: r.channel,
            delivery: r.delivery,
        }
    }

    /// Every key of the group's records starts with this: the tag, the outcome, the channel's
    /// name (empty: none) and the status's name, each name ended by a 0.
    pub fn prefix(self) -> Vec<u8> {
        let mut k = Self::prefix_of(Some(self.outcome));
        k.extend_from_slice(self.channel.map_or("", ChannelKind::as_str).as_bytes());
        k.push(0);
        k.extend_from_slice(self.delivery.as_str().as_bytes());
        k.push(0);
        k
    }

    /// Every group key starts with this; with an outcome, every key of that outcome's groups.
    pub fn prefix_of(outcome: Option<u16>) -> Vec<u8> {
        let mut k = Vec::with_capacity(48);
        k.extend_from_slice(&[FACET, GROUP]);
        if let Some(code) = outcome {
            k.extend_from_slice(&code.to_be_bytes());
        }
        k
    }

    /// The group a key is in and the length of its prefix; None for a key that is not a
    /// group key.
    pub fn parse(key: &[u8]) -> Option<(Self, usize)> {
        let rest = key.strip_prefix(&[FACET, GROUP])?;
        let outcome = u16::from_be_bytes(rest.get(..2)?.try_into().ok()?);
        let rest = &rest[2..];
        let end = rest.iter().position(|&b| b == 0)?;
        let channel = match &rest[..end] {
            [] => None,
            name => Some(ChannelKind::parse(std::str::from_utf8(name).ok()?)?),
        };
        let rest = &rest[end + 1..];
        let end = rest.iter().position(|&b| b == 0)?;
        let name = std::str::from_utf8(&rest[..end]).ok()?;
        let delivery = DeliveryStatus::ALL
            .into_iter()
            .find(|s| s.as_str() == name)?;
        let group = Self {
            outcome,
            channel,
            delivery,
        };
        Some((group, key.len() - (rest.len() - end - 1)))
    }
}

/// The index key of record `id` in `group`.
pub fn log_group(group: LogGroup, id: uuid::Uuid) -> Vec<u8> {
    let mut k = group.prefix();
    k.extend_from_slice(id.as_bytes());
    k
}

/// Every `log_by_dest` entry of record `r`: its group's, and its customer's when the record
/// names a brand and destination that parse.
pub fn log_index(r: &IssuanceRecord) -> impl Iterator<Item = Vec<u8>> + use<> {
    let customer = BrandName::parse(&r.brand)
        .ok()
        .zip(
            r.destination
                .as_deref()
                .and_then(|d| Destination::parse_key(d).ok()),
        )
        .map(|(brand, dest)| log_by_dest(&brand, &dest, r.id));
    std::iter::once(log_group(LogGroup::of(r), r.id)).chain(customer)
}

/// What the `expiry` tree indexes: records the sweeper deletes once they expire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expiring {
    Session,
    Usage,
    Nonce,
}

impl Expiring {
    const fn tag(self) -> u8 {
        match self {
            Self::Session => b's',
            Self::Usage => b'u',
            Self::Nonce => b'n',
        }
    }
}

const MINUTE_MS: u64 = 60_000;

/// The `expiry` key of a record that expires at `expires_ms`: its kind, the minute it is
/// expired by (rounded up), and its own key. A sweep at `now` walks the kind's keys up to
/// `now`'s minute ([`expiry_until`]) instead of every record.
pub fn expiry(kind: Expiring, expires_ms: i64, record: &[u8]) -> Vec<u8> {
    let minute = expiry_minute(expires_ms);
    let mut k = Vec::with_capacity(9 + record.len());
    k.push(kind.tag());
    k.extend_from_slice(&minute.to_be_bytes());
    k.extend_from_slice(record);
    k
}

/// The minute a record that expires at `expires_ms` is expired by (rounded up): what its
/// [`expiry`] key holds, so two expiries with the same minute share a key.
pub fn expiry_minute(expires_ms: i64) -> u64 {
    u64::try_from(expires_ms.max(0))
        .unwrap_or(0)
        .div_ceil(MINUTE_MS)
}

/// The range of `kind`'s expiry keys whose minute has passed at `now_ms`.
pub fn expiry_until(kind: Expiring, now_ms: i64) -> std::ops::Range<Vec<u8>> {
    let passed = u64::try_from(now_ms.max(0)).unwrap_or(0) / MINUTE_MS;
    let mut start = vec![kind.tag()];
    start.extend_from_slice(&0u64.to_be_bytes());
    let mut end = vec![kind.tag()];
    end.extend_from_slice(&(passed + 1).to_be_bytes());
    start..end
}

/// The record key inside an expiry key.
pub fn expiry_record(key: &[u8]) -> &[u8] {
    key.get(9..).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A record is in a sweep's range only once it has expired, and at the latest a minute
    /// after (the minute it expires in has passed).
    #[test]
    fn a_sweep_range_holds_only_expired_records() {
        let range = |now| expiry_until(Expiring::Session, now);
        for expires in [1, 59_999, 60_000, 60_001, 1_764_000_000_123] {
            let key = expiry(Expiring::Session, expires, b"id");
            for now in [expires - 1, expires, expires + 59_999, expires + 60_000] {
                let inside = range(now).contains(&key);
                if inside {
                    assert!(expires <= now, "{expires} swept at {now}");
                }
                if now >= expires + 60_000 {
                    assert!(inside, "{expires} not swept at {now}");
                }
            }
            assert!(!expiry_until(Expiring::Usage, i64::MAX).contains(&key));
            assert_eq!(expiry_record(&key), b"id");
        }
    }

    #[test]
    fn an_outbox_key_gives_back_its_due_time_and_job() {
        let id = uuid::Uuid::now_v7();
        let key = outbox(1_764_000_000_123, id);
        assert_eq!(outbox_due(&key), 1_764_000_000_123);
        assert_eq!(outbox_id(&key), Some(id));
        assert_eq!(outbox_id(&key[..20]), None, "a cut key names no job");
    }

    /// A group key gives back its group and where the record id starts, for every status and
    /// channel (and none); a key of another kind is not taken for one.
    #[test]
    fn a_group_key_gives_back_its_group() {
        let id = uuid::Uuid::now_v7();
        let channels = ChannelKind::ALL.map(Some);
        for channel in channels.into_iter().chain([None]) {
            for delivery in DeliveryStatus::ALL {
                for outcome in [0, 200, 1502, u16::MAX] {
                    let group = LogGroup {
                        outcome,
                        channel,
                        delivery,
                    };
                    let key = log_group(group, id);
                    assert_eq!(LogGroup::parse(&key), Some((group, group.prefix().len())));
                    assert!(key.starts_with(&LogGroup::prefix_of(Some(outcome))));
                    assert_eq!(&key[group.prefix().len()..], id.as_bytes());
                }
            }
        }
        let dest = Destination::parse_key("MOBILE:84900000001").unwrap();
        let brand = BrandName::parse("ACME").unwrap();
        assert_eq!(LogGroup::parse(&log_by_dest(&brand, &dest, id)), None);
        assert_eq!(LogGroup::parse(&[FACET, b'o', 0, 200]), None);
        assert_eq!(LogGroup::parse(&[FACET, GROUP, 0, 200, 0]), None, "cut");
    }
}
