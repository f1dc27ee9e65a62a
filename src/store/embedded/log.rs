//! The issuance log: a refused request's record, a delivery's progress, a validation; newest-first
//! scans and one customer's history. Each change also counts in the dashboard's stats.

use super::keys::LogGroup;
use super::kv::Tx;
use super::{EmbeddedStore, StoreError, keys, records};
use crate::domain::stats::Counter;
use crate::domain::stats::{delivery_counter, outcome_counter};
use crate::domain::{
    BrandName, ChannelKind, DeliveryAttempt, DeliveryStatus, Destination, IssuanceRecord,
};
use crate::store::LogSelection;

/// What a delivery step found of its record (see [`EmbeddedStore::delivery_step`]).
pub(super) enum Found {
    /// The record's brand, and its delivery status before the step.
    Record {
        brand: String,
        delivery: DeliveryStatus,
    },
    /// Swept meanwhile.
    Gone,
    /// Left as it is; the step wrote nothing of it.
    Unreadable(StoreError),
}

impl EmbeddedStore {
    /// Records a refused generate of a known brand (an issued code is recorded by
    /// [`EmbeddedStore::issue`], in its transaction).
    pub fn record_refusal(&self, r: &IssuanceRecord) -> Result<(), StoreError> {
        self.append_log(r)?;
        self.count(r.time_ms, &r.brand, outcome_counter(r));
        Ok(())
    }

    /// A delivery step of a record: its status, the channel it is on and the attempt made.
    pub fn record_delivery(
        &self,
        id: uuid::Uuid,
        status: DeliveryStatus,
        channel: ChannelKind,
        attempt: Option<&DeliveryAttempt>,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let found = self
            .db
            .write(|tx| self.delivery_step(tx, id, status, channel, attempt))?;
        self.count_delivery(found, status, channel, now_ms)
    }

    /// One step of a delivery, inside `tx`: the record's status, channel and attempt, its
    /// group entry moved to match. A record swept meanwhile (a delivery that ended after its
    /// retention) is left gone; an unreadable one is left as it is.
    pub(super) fn delivery_step(
        &self,
        tx: &mut Tx,
        id: uuid::Uuid,
        status: DeliveryStatus,
        channel: ChannelKind,
        attempt: Option<&DeliveryAttempt>,
    ) -> Result<Found, StoreError> {
        let Some(old) = tx.get(&self.log, id.as_bytes())? else {
            return Ok(Found::Gone);
        };
        let mut record = match records::decode_log(&old) {
            Ok(r) => r,
            Err(e) => return Ok(Found::Unreadable(e)),
        };
        let (from, delivery) = (LogGroup::of(&record), record.delivery);
        record.delivery = status;
        record.channel = Some(channel);
        if let Some(a) = attempt {
            record.attempts.push(a.clone());
        }
        tx.insert(&self.log, id.as_bytes(), records::encode_log(&record)?);
        let to = LogGroup::of(&record);
        if from != to {
            tx.remove_single(&self.log_by_dest, keys::log_group(from, id));
            tx.insert(&self.log_by_dest, keys::log_group(to, id), &[] as &[u8]);
        }
        let brand = record.brand;
        Ok(Found::Record { brand, delivery })
    }

    /// After a committed step: a status that ends the delivery counts once in the stats, at
    /// `now_ms`; an unreadable record is reported.
    pub(super) fn count_delivery(
        &self,
        found: Found,
        status: DeliveryStatus,
        channel: ChannelKind,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        match found {
            Found::Record { brand, delivery } => {
                if !delivery.is_final()
                    && let Some(counter) = delivery_counter(status, channel)
                {
                    self.count(now_ms, &brand, counter);
                }
                Ok(())
            }
            Found::Gone => Ok(()),
            Found::Unreadable(e) => Err(e),
        }
    }

    /// Marks a record's code as validated (the funnel's last step); counts once.
    pub fn record_validated(&self, id: uuid::Uuid, now_ms: i64) -> Result<(), StoreError> {
        let before = self.update_log(id, |r| r.validated = true)?;
        if let Some(before) = before
            && !before.validated
        {
            self.count(now_ms, &before.brand, Counter::Validated);
        }
        Ok(())
    }

    /// A record and its index entries, as one transaction.
    pub(super) fn append_log(&self, r: &IssuanceRecord) -> Result<(), StoreError> {
        let value = records::encode_log(r)?;
        // Made before the writer lock is taken.
        let index_keys: Vec<Vec<u8>> = keys::log_index(r).collect();
        self.db.write(|tx| {
            tx.insert(&self.log, r.id.as_bytes(), value);
            for key in index_keys {
                tx.insert(&self.log_by_dest, key, &[] as &[u8]);
            }
            Ok::<_, StoreError>(())
        })
    }

    pub fn log_record(&self, id: uuid::Uuid) -> Result<Option<IssuanceRecord>, StoreError> {
        self.log
            .get(id.as_bytes())?
            .map(|v| records::decode_log(&v))
            .transpose()
    }

    /// Updates one log record in place; returns the record as it was before (None: no record).
    fn update_log(
        &self,
        id: uuid::Uuid,
        f: impl Fn(&mut IssuanceRecord),
    ) -> Result<Option<IssuanceRecord>, StoreError> {
        let before = self.log.fetch_and_update(id.as_bytes(), |old| {
            let old = old?;
            match records::decode_log(old) {
                Ok(mut r) => {
                    f(&mut r);
                    records::encode_log(&r).ok().or_else(|| Some(old.to_vec()))
                }
                Err(_) => Some(old.to_vec()),
            }
        })?;
        before.map(|v| records::decode_log(&v)).transpose()
    }

    /// Up to `limit` records that `sel` selects, newest first. One customer's records come
    /// from the by-destination index (each brand's, merged, when no brand is named); otherwise
    /// the outcome, channel and delivery filters are answered from the group index, so a filter
    /// that matches few records does not read the others.
    pub fn log_page(
        &self,
        sel: &LogSelection,
        limit: usize,
    ) -> Result<Vec<IssuanceRecord>, StoreError> {
        if let Some(dest) = &sel.destination {
            let brands = match &sel.brand {
                Some(b) => vec![b.clone()],
                None => self.brands()?.into_iter().map(|b| b.name).collect(),
            };
            let mut out = Vec::new();
            for brand in &brands {
                out.extend(self.customer_page(brand, dest, sel, limit)?);
            }
            out.sort_by_key(|r| std::cmp::Reverse(r.id));
            out.truncate(limit);
            return Ok(out);
        }
        let keep = |r: &IssuanceRecord| sel.selects(r);
        if sel.outcome.is_none() && sel.channel.is_none() && sel.delivery.is_none() {
            return self.scan_all(sel.before, sel.since_ms, limit, keep);
        }
        let groups = self
            .log_groups(sel.outcome)?
            .into_iter()
            .filter(|g| sel.channel.is_none_or(|c| g.channel == Some(c)))
            .filter(|g| sel.delivery.is_none_or(|d| g.delivery == d))
            .collect::<Vec<_>>();
        self.scan_groups(&groups, sel.before, sel.since_ms, limit, keep)
    }

    /// Up to `limit` of one customer's records that `sel` selects, newest first.
    fn customer_page(
        &self,
        brand: &BrandName,
        dest: &Destination,
        sel: &LogSelection,
        limit: usize,
    ) -> Result<Vec<IssuanceRecord>, StoreError> {
        const BATCH: usize = 256;
        let mut out = Vec::new();
        let mut before = sel.before;
        loop {
            let batch = self.customer_log(brand, dest, before, BATCH)?;
            let Some(last) = batch.last() else { break };
            before = Some(last.id);
            let done = batch.len() < BATCH || sel.since_ms.is_some_and(|s| last.time_ms < s);
            out.extend(
                batch
                    .into_iter()
                    .filter(|r| sel.selects(r))
                    .take(limit - out.len()),
            );
            if done || out.len() >= limit {
                break;
            }
        }
        Ok(out)
    }

    /// Every record, newest first: ids are UUIDv7, so the tree is in time order and a time
    /// window is a key range.
    fn scan_all(
        &self,
        before: Option<uuid::Uuid>,
        since_ms: Option<i64>,
        limit: usize,
        keep: impl Fn(&IssuanceRecord) -> bool,
    ) -> Result<Vec<IssuanceRecord>, StoreError> {
        let iter = match before {
            Some(id) => self.log.range(..id.as_bytes().to_vec()),
            None => self.log.range::<Vec<u8>, _>(..),
        };
        let mut out = Vec::with_capacity(limit.min(1000));
        for item in iter.rev() {
            let (_, v) = item?;
            let r = records::decode_log(&v)?;
            if since_ms.is_some_and(|since| r.time_ms < since) {
                break;
            }
            if keep(&r) {
                out.push(r);
                if out.len() >= limit {
                    break;
                }
            }
        }
        Ok(out)
    }

    /// The groups of the log index that hold records (of `outcome`, when given): found by
    /// seeking past one group to the next, a handful of reads however many records there are.
    fn log_groups(&self, outcome: Option<u16>) -> Result<Vec<LogGroup>, StoreError> {
        let base = LogGroup::prefix_of(outcome);
        let mut from = base.clone();
        let mut groups = Vec::new();
        while let Some(entry) = self.log_by_dest.range(from.clone()..).next() {
            let (key, _) = entry?;
            if !key.starts_with(&base) {
                break;
            }
            from = key.to_vec();
            match LogGroup::parse(&key) {
                Some((group, len)) => {
                    groups.push(group);
                    // Past the group: its prefix ends with a 0, every key in it continues.
                    from.truncate(len);
                    from[len - 1] = 1;
                }
                // Not a key this otpd writes: stepped over.
                None => from.push(0),
            }
        }
        Ok(groups)
    }

    /// The records of `groups`, newest first: each group's ids are in order, so the newest
    /// heads of all the groups' ranges are merged.
    fn scan_groups(
        &self,
        groups: &[LogGroup],
        before: Option<uuid::Uuid>,
        since_ms: Option<i64>,
        limit: usize,
        keep: impl Fn(&IssuanceRecord) -> bool,
    ) -> Result<Vec<IssuanceRecord>, StoreError> {
        let since = since_ms.map(|ms| u128::from(u64::try_from(ms.max(0)).unwrap_or(0)) << 80);
        let mut ranges = Vec::with_capacity(groups.len());
        let mut heads = std::collections::BinaryHeap::with_capacity(groups.len());
        for group in groups {
            let mut ids = self.ids_under(group.prefix(), before);
            if let Some(id) = ids.next().transpose()? {
                heads.push((id, ranges.len()));
            }
            ranges.push(ids);
        }
        let mut out = Vec::new();
        while out.len() < limit {
            let Some((id, group)) = heads.pop() else {
                break;
            };
            if since.is_some_and(|s| id.as_u128() < s) {
                break;
            }
            // An entry left by a crash mid-update may point at a record that no longer
            // fits: `keep` re-checks the record itself.
            if let Some(r) = self.log_record(id)?
                && keep(&r)
            {
                out.push(r);
            }
            if let Some(next) = ranges[group].next().transpose()? {
                heads.push((next, group));
            }
        }
        Ok(out)
    }

    /// Indexes every log record by its group, and removes the per-facet entries an older
    /// store holds: once, for a store written before the group index (a few seconds per
    /// million records).
    pub(super) fn build_log_groups(&self) -> Result<usize, StoreError> {
        // A build cut short leaves group entries: removed first, so none is written twice
        // (see `kv::Tx::remove_single`).
        let groups = LogGroup::prefix_of(None);
        let old = keys::OLD_FACET_PREFIXES.iter().map(|p| p.as_slice());
        for prefix in old.chain([groups.as_slice()]) {
            for item in self.log_by_dest.scan_prefix(prefix) {
                let (key, _) = item?;
                self.log_by_dest.remove(key)?;
            }
        }
        let mut indexed = 0;
        for item in self.log.iter() {
            let (_, v) = item?;
            let Ok(r) = records::decode_log(&v) else {
                continue;
            };
            self.log_by_dest
                .insert(keys::log_group(LogGroup::of(&r), r.id), &[] as &[u8])?;
            indexed += 1;
        }
        Ok(indexed)
    }

    /// The record ids of the `log_by_dest` entries under `prefix`, newest first, below
    /// `before` when given.
    fn ids_under(
        &self,
        prefix: Vec<u8>,
        before: Option<uuid::Uuid>,
    ) -> impl Iterator<Item = Result<uuid::Uuid, StoreError>> + use<> {
        let range = match before {
            Some(id) => {
                let mut upper = prefix.clone();
                upper.extend_from_slice(id.as_bytes());
                self.log_by_dest.range(prefix.clone()..upper)
            }
            None => self.log_by_dest.scan_prefix(&prefix),
        };
        range.rev().filter_map(move |entry| match entry {
            Ok((key, _)) => key
                .get(prefix.len()..)
                .and_then(|id| uuid::Uuid::from_slice(id).ok())
                .map(Ok),
            Err(e) => Some(Err(e)),
        })
    }

    /// One customer's records, newest first, from `before` (exclusive), at most `limit`.
    fn customer_log(
        &self,
        brand: &BrandName,
        dest: &Destination,
        before: Option<uuid::Uuid>,
        limit: usize,
    ) -> Result<Vec<IssuanceRecord>, StoreError> {
        let mut out = Vec::new();
        for id in self.ids_under(keys::log_by_dest_prefix(brand, dest), before) {
            let id = id?;
            if let Some(r) = self.log_record(id)? {
                out.push(r);
            }
            if out.len() >= limit {
                break;
            }
        }
        Ok(out)
    }
}
