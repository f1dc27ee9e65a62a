//! The store's manifest: a small file beside the store directory (`store-manifest.json`) that
//! records what the store is known to hold, so that a damaged store is refused at start instead
//! of served with records silently missing.
//!
//! Why outside the store: an engine recovering from a crash ends its journal at the first
//! record that fails its checksum, as it must for a write torn by the crash. Damage in the
//! middle of a journal (a bad disk block, a stray write) therefore loses everything after it
//! without an error, a lost or replaced file loses whatever it held, and any count kept inside
//! the store is lost with it. The manifest is written only after the store has flushed what it
//! names:
//!
//! - the brand and operator names, after the flush that made each one durable (neither is ever
//!   deleted);
//! - a checkpoint number, also written into the store's `meta` tree and flushed before the file
//!   names it, and the newest issuance-log id: at every sweep (once a minute) and at close;
//! - the entry counts of the configuration, audit and outbox trees, at a clean close only
//!   (nothing writes after it), checked at the next open and then cleared.
//!
//! At open, everything the manifest names must be there and readable; a store behind its
//! checkpoint was rolled back or lost its tail. A store with no manifest is new, or was written
//! by an otpd before the manifest (it gets one).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::{EmbeddedStore, StoreError, Tree, decode_u64, records};
use crate::domain::BrandName;

/// Bumped when the file's meaning changes; an unknown version is a finding, not a crash.
const MANIFEST_VERSION: u32 = 1;
/// The trees counted at a clean close and checked at the next start: configuration, audit,
/// queued deliveries and console sessions, small enough to count in a few milliseconds.
/// Sessions, usage, nonces, the log and the dashboard's counters (one per brand, counter and
/// hour, for 400 days) grow with traffic or time, and a million entries take about a second to
/// count; the checkpoint and the newest log record stand witness for them.
const COUNTED_TREES: [&str; 6] = [
    "brands",
    "operators",
    "overrides",
    "audit",
    "outbox",
    "console_sessions",
];
/// The `meta` key holding the store's side of the checkpoint.
const CHECKPOINT_KEY: &str = "checkpoint";

#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Contents {
    version: u32,
    checkpoint: u64,
    brands: BTreeSet<String>,
    operators: BTreeSet<String>,
    newest_log_id: Option<uuid::Uuid>,
    /// Every tree's entry count at a clean close; `None` while a server runs (or after a crash).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    clean_close_counts: Option<BTreeMap<String, u64>>,
}

/// What to do when the store does not hold what its manifest names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnDamage {
    /// Refuse to open, saying what is missing and how to restore (the default).
    Refuse,
    /// Log what is missing, accept the loss and serve what is left (`--accept-store-loss`).
    AcceptLoss,
}

pub(super) struct Manifest {
    path: PathBuf,
    store_dir: PathBuf,
    contents: Mutex<Contents>,
}

impl Manifest {
    /// The manifest of the store directory `dir` (`store-manifest.json` beside it), not read
    /// yet: [`EmbeddedStore::adopt_manifest`] does that.
    pub(super) fn beside(dir: &Path) -> Self {
        Self {
            path: Self::path_for(dir),
            store_dir: dir.to_owned(),
            contents: Mutex::new(Contents::default()),
        }
    }

    /// `<dir>-manifest.json`: outside the directory the engine owns, so removing or replacing the
    /// store directory leaves it behind as a witness.
    pub fn path_for(dir: &Path) -> PathBuf {
        let name = dir
            .file_name()
            .map_or_else(|| "store".into(), |n| n.to_string_lossy().into_owned());
        dir.with_file_name(format!("{name}-manifest.json"))
    }

    fn write(&self, contents: &Contents) -> Result<(), StoreError> {
        let bytes = serde_json::to_vec_pretty(contents)
            .map_err(|e| StoreError::Encode(format!("the store manifest: {e}")))?;
        crate::secrets::write_owner_only(&self.path, &bytes)
            .map_err(|e| StoreError::Manifest(format!("writing {}: {e}", self.path.display())))
    }

    fn update(&self, change: impl FnOnce(&mut Contents)) -> Result<(), StoreError> {
        let mut contents = self
            .contents
            .lock()
            .map_err(|_| StoreError::Manifest("the manifest lock is poisoned".into()))?;
        change(&mut contents);
        self.write(&contents)
    }
}

impl EmbeddedStore {
    /// Checks the store against its manifest (see the module docs), then writes the manifest
    /// afresh for this run. Called by [`EmbeddedStore::open`] before anything is read into memory.
    pub(super) fn adopt_manifest(&self, on_damage: OnDamage) -> Result<(), StoreError> {
        let path = &self.manifest.path;
        let known = match std::fs::read(path) {
            Ok(bytes) => Some(serde_json::from_slice::<Contents>(&bytes).map_err(|e| {
                StoreError::Manifest(format!(
                    "{} is unreadable ({e}); if the store itself is sound, delete that file \
                     and start again",
                    path.display()
                ))
            })?),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => {
                return Err(StoreError::Manifest(format!(
                    "reading {}: {e}",
                    path.display()
                )));
            }
        };
        let findings = match &known {
            Some(known) => self.compare_with(known)?,
            None => Vec::new(),
        };
        if !findings.is_empty() {
            let findings = findings.join("; ");
            match on_damage {
                OnDamage::Refuse => {
                    return Err(StoreError::Damaged {
                        dir: self.manifest.store_dir.display().to_string(),
                        findings,
                    });
                }
                OnDamage::AcceptLoss => tracing::warn!(
                    %findings,
                    "the store is damaged; serving what is left, as --accept-store-loss asks"
                ),
            }
        }
        // What the store holds now becomes the manifest (a new store, an older otpd's, or one
        // whose loss was accepted); the checkpoint never goes back.
        let checkpoint = self
            .stored_checkpoint()?
            .max(known.as_ref().map_or(0, |k| k.checkpoint));
        self.meta.insert(CHECKPOINT_KEY, checkpoint.to_be_bytes())?;
        self.sync.flush()?;
        let contents = Contents {
            version: MANIFEST_VERSION,
            checkpoint,
            brands: self.brand_names()?,
            operators: self.operator_names()?,
            newest_log_id: self.newest_log_id()?,
            clean_close_counts: None,
        };
        self.manifest.update(|c| *c = contents)
    }

    /// What the manifest names that the store lacks, one finding per kind.
    fn compare_with(&self, known: &Contents) -> Result<Vec<String>, StoreError> {
        let mut findings = Vec::new();
        if known.version != MANIFEST_VERSION {
            findings.push(format!(
                "its manifest has version {}, this otpd knows {MANIFEST_VERSION}",
                known.version
            ));
            return Ok(findings);
        }
        let stored = self.stored_checkpoint()?;
        if stored < known.checkpoint {
            findings.push(format!(
                "the store is behind its manifest (checkpoint {stored}, the manifest says {}): \
                 it was rolled back or lost its newest writes",
                known.checkpoint
            ));
        }
        let (missing, unreadable) = self.check_brands(&known.brands)?;
        if !missing.is_empty() {
            findings.push(format!("brands missing: {}", list(&missing)));
        }
        if !unreadable.is_empty() {
            findings.push(format!("brands unreadable: {}", list(&unreadable)));
        }
        let operators = self.operator_names()?;
        let missing: Vec<&String> = known.operators.difference(&operators).collect();
        if !missing.is_empty() {
            findings.push(format!("operators missing: {}", list(&missing)));
        }
        if let Some(id) = known.newest_log_id
            && !self.log.contains_key(id.as_bytes())?
        {
            findings.push(format!("the newest issuance-log record ({id}) is missing"));
        }
        if let Some(counts) = &known.clean_close_counts {
            for (tree, &expected) in counts {
                let found = self.records_in(tree)? as u64;
                if found != expected {
                    findings.push(format!(
                        "the {tree} tree holds {found} records, {expected} at the last clean stop"
                    ));
                }
            }
        }
        Ok(findings)
    }

    /// The named brands that are absent, and those present but undecodable.
    fn check_brands(
        &self,
        names: &BTreeSet<String>,
    ) -> Result<(Vec<String>, Vec<String>), StoreError> {
        let (mut missing, mut unreadable) = (Vec::new(), Vec::new());
        for name in names {
            let Ok(brand) = BrandName::parse(name) else {
                unreadable.push(name.clone());
                continue;
            };
            match self.brands.get(super::keys::brand(&brand))? {
                None => missing.push(name.clone()),
                Some(v) => {
                    if records::decode_brand(&super::keys::brand(&brand), &v, &self.keys).is_err() {
                        unreadable.push(name.clone());
                    }
                }
            }
        }
        Ok((missing, unreadable))
    }

    fn stored_checkpoint(&self) -> Result<u64, StoreError> {
        Ok(self
            .meta
            .get(CHECKPOINT_KEY)?
            .and_then(|v| decode_u64(&v))
            .unwrap_or(0))
    }

    fn brand_names(&self) -> Result<BTreeSet<String>, StoreError> {
        key_names(&self.brands)
    }

    fn operator_names(&self) -> Result<BTreeSet<String>, StoreError> {
        key_names(&self.operators)
    }

    fn newest_log_id(&self) -> Result<Option<uuid::Uuid>, StoreError> {
        Ok(self
            .log
            .last()?
            .and_then(|(k, _)| uuid::Uuid::from_slice(&k).ok()))
    }

    /// Names a brand or operator in the manifest; call after the flush that made it durable.
    pub(super) fn manifest_add(
        &self,
        brand: Option<&str>,
        operator: Option<&str>,
    ) -> Result<(), StoreError> {
        self.manifest.update(|c| {
            c.brands.extend(brand.map(str::to_owned));
            c.operators.extend(operator.map(str::to_owned));
        })
    }

    /// Drops the manifest's newest-log witness when it is older than `cutoff`, before a sweep
    /// removes it: a crash before the next checkpoint must not make it look lost.
    pub(super) fn manifest_forget_log_before(&self, cutoff: uuid::Uuid) -> Result<(), StoreError> {
        let named = self
            .manifest
            .contents
            .lock()
            .map_err(|_| StoreError::Manifest("the manifest lock is poisoned".into()))?
            .newest_log_id;
        if named.is_some_and(|id| id < cutoff) {
            self.manifest.update(|c| c.newest_log_id = None)?;
        }
        Ok(())
    }

    /// Makes everything written so far durable and moves the manifest's checkpoint up to it
    /// (blocking). The sweep ends with it, once a minute.
    pub(super) fn checkpoint(&self) -> Result<(), StoreError> {
        self.checkpoint_with(None)
    }

    /// The checkpoint at a clean close, with the entry counts of [`COUNTED_TREES`].
    pub(super) fn checkpoint_at_close(&self) -> Result<(), StoreError> {
        let counts = COUNTED_TREES
            .iter()
            .map(|&name| Ok((name.to_owned(), self.records_in(name)? as u64)))
            .collect::<Result<BTreeMap<_, _>, StoreError>>()?;
        self.checkpoint_with(Some(counts))
    }

    fn checkpoint_with(&self, counts: Option<BTreeMap<String, u64>>) -> Result<(), StoreError> {
        let next = self.stored_checkpoint()? + 1;
        self.meta.insert(CHECKPOINT_KEY, next.to_be_bytes())?;
        let newest = self.newest_log_id()?;
        self.sync.flush()?;
        self.manifest.update(|c| {
            c.checkpoint = next;
            c.newest_log_id = newest;
            c.clean_close_counts = counts;
        })
    }
}

impl EmbeddedStore {
    /// How many records a tree holds; the outbox's are counted from its floor (the tombstones
    /// of sent jobs before it would cost a scan of every job ever sent).
    fn records_in(&self, tree: &str) -> Result<usize, StoreError> {
        match tree {
            "outbox" => self.scan_outbox(),
            _ => self.db.tree(tree)?.len(),
        }
    }
}

/// A tree's keys as text (brand and operator names are their keys).
fn key_names(tree: &Tree) -> Result<BTreeSet<String>, StoreError> {
    tree.iter()
        .map(|entry| Ok(String::from_utf8_lossy(&entry?.0).into_owned()))
        .collect()
}

fn list<T: std::fmt::Display>(items: &[T]) -> String {
    const SHOWN: usize = 10;
    let mut out: Vec<String> = items.iter().take(SHOWN).map(ToString::to_string).collect();
    if items.len() > SHOWN {
        out.push(format!("and {} more", items.len() - SHOWN));
    }
    out.join(", ")
}
