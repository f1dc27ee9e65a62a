//! Backups: a logical, versioned export that either engine restores (`otpd backup`,
//! `otpd restore`).
//!
//! The file is a header line, `OTPD-BACKUP 2`, then length-prefixed postcard frames: a `Begin`
//! that says what wrote it, one `Record` per stored record, and an `End` with the count, so a
//! truncated or damaged file is refused rather than half restored. Each record travels in the
//! versioned encoding the store itself keeps it in (`records.rs`): a later otpd reads an old
//! backup the way it reads an old store. Brand records stay sealed under the server key ring
//! and codes are keyed hashes (queued ones sealed), so the file alone reveals no secret and no
//! code; restoring needs the backed-up server's `server-keys.json`.
//!
//! Format 1 (the embedded engine's trees copied byte for byte) still restores into a data
//! directory (`embedded/backup.rs`).

use std::io::{Read, Write};

use serde::{Deserialize, Serialize};

use super::{Record, StatRow, StoreError, records};
use crate::domain::SessionId;
use crate::domain::stats::Counter;
use crate::secrets::ServerKeys;

pub(super) const MAGIC_V1: &[u8] = b"OTPD-BACKUP 1\n";
const MAGIC_V2: &[u8] = b"OTPD-BACKUP 2\n";
/// The largest frame a restore accepts (a log record is a few hundred bytes).
const MAX_FRAME: usize = 16 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("backup: {0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("backup: {0}")]
    Format(String),
}

fn damaged(what: &str) -> BackupError {
    BackupError::Format(format!("{what}: the file is damaged"))
}

/// Which format a backup file is in (its header line, read and checked).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// The embedded engine's trees, raw: restores into a data directory only.
    Raw,
    /// Records, engine-neutral.
    Logical,
}

/// Reads the header line of a backup.
pub fn read_format(input: &mut impl Read) -> Result<Format, BackupError> {
    let mut magic = [0u8; 14];
    input
        .read_exact(&mut magic)
        .map_err(|_| BackupError::Format("not an otpd backup (too short)".into()))?;
    match &magic[..] {
        m if m == MAGIC_V1 => Ok(Format::Raw),
        m if m == MAGIC_V2 => Ok(Format::Logical),
        m if m.starts_with(b"OTPD-BACKUP ") => Err(BackupError::Format(
            "the backup is in a newer format than this otpd reads: restore it with a newer otpd"
                .into(),
        )),
        _ => Err(BackupError::Format(
            "not an otpd backup (wrong header)".into(),
        )),
    }
}

pub(super) fn write_frame<T: Serialize>(
    out: &mut impl Write,
    frame: &T,
) -> Result<(), BackupError> {
    let bytes = postcard::to_stdvec(frame).map_err(|e| BackupError::Format(e.to_string()))?;
    let len = u32::try_from(bytes.len())
        .map_err(|_| BackupError::Format("a record is too large".into()))?;
    out.write_all(&len.to_be_bytes())?;
    out.write_all(&bytes)?;
    Ok(())
}

pub(super) fn read_frame<T: for<'de> Deserialize<'de>>(
    input: &mut impl Read,
) -> Result<T, BackupError> {
    let truncated = || BackupError::Format("the file ends early: it is truncated".into());
    let mut len = [0u8; 4];
    input.read_exact(&mut len).map_err(|_| truncated())?;
    let len = usize::try_from(u32::from_be_bytes(len)).unwrap_or(usize::MAX);
    if len > MAX_FRAME {
        return Err(damaged("a frame is too large"));
    }
    let mut bytes = vec![0u8; len];
    input.read_exact(&mut bytes).map_err(|_| truncated())?;
    postcard::from_bytes(&bytes).map_err(|_| damaged("a frame does not decode"))
}

// ---- the logical format -------------------------------------------------------------------
// postcard writes an enum's variant by its number: new variants go last, none is ever removed
// or reordered (a test pins them).

#[derive(Serialize, Deserialize)]
enum Frame {
    Begin(About),
    Record(Entry),
    End { records: u64 },
}

/// What wrote the backup, and when.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct About {
    /// The otpd version.
    pub otpd: String,
    /// "embedded" or "postgres".
    pub engine: String,
    pub created_ms: i64,
    /// The server key the brands are sealed with.
    pub sealed_with: u32,
}

/// One record: keys as text, values in their store encoding.
#[derive(Serialize, Deserialize)]
enum Entry {
    Brand {
        name: String,
        sealed: Vec<u8>,
    },
    Session {
        id: String,
        body: Vec<u8>,
    },
    Usage {
        brand: String,
        customer: String,
        body: Vec<u8>,
    },
    LimitOverride {
        brand: String,
        customer: String,
        limit: u32,
    },
    Job {
        body: Vec<u8>,
    },
    Log {
        body: Vec<u8>,
    },
    Nonce {
        brand: String,
        hash: Vec<u8>,
        expires_ms: i64,
    },
    Stat {
        hour: u32,
        brand: String,
        counter: String,
        count: u64,
    },
    Audit {
        body: Vec<u8>,
    },
    Operator {
        body: Vec<u8>,
    },
    ConsoleSession {
        digest: [u8; 32],
        body: Vec<u8>,
    },
    ServerSettings {
        body: Vec<u8>,
    },
}

fn entry_of(r: Record, keys: &ServerKeys) -> Result<Entry, StoreError> {
    Ok(match r {
        Record::Brand(b) => Entry::Brand {
            sealed: records::encode_brand(&b, keys)?,
            name: b.name.as_str().to_owned(),
        },
        Record::Session(s) => Entry::Session {
            body: records::encode_session(&s)?,
            id: s.id.as_str().to_owned(),
        },
        Record::Usage {
            brand,
            customer,
            usage,
        } => Entry::Usage {
            brand: brand.as_str().to_owned(),
            customer: customer.key(),
            body: records::encode_usage(&usage)?,
        },
        Record::LimitOverride {
            brand,
            customer,
            limit,
        } => Entry::LimitOverride {
            brand: brand.as_str().to_owned(),
            customer: customer.key(),
            limit,
        },
        Record::Job(j) => Entry::Job {
            body: records::encode_job(&j)?,
        },
        Record::Log(l) => Entry::Log {
            body: records::encode_log(&l)?,
        },
        Record::Nonce {
            brand,
            hash,
            expires_ms,
        } => Entry::Nonce {
            brand: brand.as_str().to_owned(),
            hash,
            expires_ms,
        },
        Record::Stat(s) => Entry::Stat {
            hour: s.hour,
            counter: s.counter.name(),
            brand: s.brand,
            count: s.count,
        },
        Record::Audit(e) => Entry::Audit {
            body: records::encode_audit(&e)?,
        },
        Record::Operator(o) => Entry::Operator {
            body: records::encode_operator(&o)?,
        },
        Record::ConsoleSession { key, session } => Entry::ConsoleSession {
            digest: key,
            body: records::encode_console_session(&session)?,
        },
        Record::ServerSettings(o) => Entry::ServerSettings {
            body: records::encode_settings(&o)?,
        },
    })
}

fn record_of(e: Entry, keys: &ServerKeys) -> Result<Record, StoreError> {
    Ok(match e {
        Entry::Brand { name, sealed } => {
            // `otpd backup` seals every brand: a plain one was put in by someone else.
            if records::brand_sealed_with(&sealed).is_none() {
                return Err(StoreError::Decode(
                    "brand",
                    format!("{name} is not sealed: the file was not written by otpd backup"),
                ));
            }
            Record::Brand(records::decode_brand(name.as_bytes(), &sealed, keys)?)
        }
        Entry::Session { id, body } => {
            let id = SessionId::parse(&id)
                .map_err(|_| StoreError::Decode("session", "a bad session id".into()))?;
            Record::Session(records::decode_session(&id, &body)?)
        }
        Entry::Usage {
            brand: b,
            customer: c,
            body,
        } => Record::Usage {
            brand: records::brand_name("usage", &b)?,
            customer: records::customer("usage", &c)?,
            usage: records::decode_usage(&body)?,
        },
        Entry::LimitOverride {
            brand: b,
            customer: c,
            limit,
        } => Record::LimitOverride {
            brand: records::brand_name("limit override", &b)?,
            customer: records::customer("limit override", &c)?,
            limit,
        },
        Entry::Job { body } => Record::Job(records::decode_job(&body)?),
        Entry::Log { body } => Record::Log(records::decode_log(&body)?),
        Entry::Nonce {
            brand: b,
            hash,
            expires_ms,
        } => Record::Nonce {
            brand: records::brand_name("nonce", &b)?,
            hash,
            expires_ms,
        },
        Entry::Stat {
            hour,
            brand,
            counter,
            count,
        } => Record::Stat(StatRow {
            hour,
            brand,
            counter: Counter::parse(&counter).ok_or_else(|| {
                StoreError::Decode("dashboard counter", format!("unknown counter {counter:?}"))
            })?,
            count,
        }),
        Entry::Audit { body } => Record::Audit(records::decode_audit(String::new(), &body)?),
        Entry::Operator { body } => Record::Operator(records::decode_operator(&body)?),
        Entry::ConsoleSession { digest, body } => Record::ConsoleSession {
            key: digest,
            session: records::decode_console_session(&body)?,
        },
        Entry::ServerSettings { body } => Record::ServerSettings(records::decode_settings(&body)?),
    })
}

/// Writes a logical backup: [`Writer::begin`], a [`Writer::record`] per record, [`Writer::end`].
pub struct Writer<'a, W: Write> {
    out: &'a mut W,
    keys: &'a ServerKeys,
    records: u64,
}

impl<'a, W: Write> Writer<'a, W> {
    pub fn begin(
        out: &'a mut W,
        keys: &'a ServerKeys,
        engine: &str,
        now_ms: i64,
    ) -> Result<Self, BackupError> {
        out.write_all(MAGIC_V2)?;
        let about = About {
            otpd: env!("CARGO_PKG_VERSION").to_owned(),
            engine: engine.to_owned(),
            created_ms: now_ms,
            sealed_with: keys.active_id(),
        };
        write_frame(out, &Frame::Begin(about))?;
        Ok(Self {
            out,
            keys,
            records: 0,
        })
    }

    /// Errors are store errors, so an engine's export can stop on them.
    pub fn record(&mut self, r: Record) -> Result<(), StoreError> {
        let frame = Frame::Record(entry_of(r, self.keys)?);
        write_frame(self.out, &frame)
            .map_err(|e| StoreError::Engine(format!("writing the backup: {e}")))?;
        self.records += 1;
        Ok(())
    }

    /// Writes the trailer; returns how many records the backup holds.
    pub fn end(self) -> Result<u64, BackupError> {
        write_frame(
            self.out,
            &Frame::End {
                records: self.records,
            },
        )?;
        self.out.flush()?;
        Ok(self.records)
    }
}

/// Reads a logical backup (after [`read_format`] said so), record by record.
pub struct Reader<'a, R: Read> {
    input: &'a mut R,
    keys: &'a ServerKeys,
    about: About,
    read: u64,
    done: bool,
}

impl<'a, R: Read> Reader<'a, R> {
    pub fn open(input: &'a mut R, keys: &'a ServerKeys) -> Result<Self, BackupError> {
        let Frame::Begin(about) = read_frame(input)? else {
            return Err(damaged("it does not begin with its description"));
        };
        Ok(Self {
            input,
            keys,
            about,
            read: 0,
            done: false,
        })
    }

    pub fn about(&self) -> &About {
        &self.about
    }

    /// The next record; `None` after the last, once the count in the trailer matched.
    pub fn next_record(&mut self) -> Result<Option<Record>, BackupError> {
        if self.done {
            return Ok(None);
        }
        match read_frame(self.input)? {
            Frame::Record(entry) => {
                self.read += 1;
                let record = record_of(entry, self.keys).map_err(|e| self.explain(e))?;
                Ok(Some(record))
            }
            Frame::End { records } if records == self.read => {
                self.done = true;
                Ok(None)
            }
            Frame::End { records } => Err(BackupError::Format(format!(
                "the file says {records} records but holds {}",
                self.read
            ))),
            Frame::Begin(_) => Err(damaged("a second description in the middle")),
        }
    }

    /// A brand that does not open names the key it needs.
    fn explain(&self, e: StoreError) -> BackupError {
        match e {
            StoreError::Decode("brand", _)
                if !self.keys.ids().contains(&self.about.sealed_with) =>
            {
                BackupError::Format(format!(
                    "the backup's brands are sealed with server key {}, which this key ring does \
                     not hold (it holds {:?}): use the server-keys.json of the server that wrote \
                     the backup (or set OTPD_SERVER_KEYS)",
                    self.about.sealed_with,
                    self.keys.ids()
                ))
            }
            e => BackupError::Store(e),
        }
    }
}

/// Reads a logical backup (after [`read_format`]) to its end without writing anything: every
/// record decodes, every brand opens with `keys`, the count matches. Returns the count.
pub fn check(input: &mut impl Read, keys: &ServerKeys) -> Result<u64, BackupError> {
    let mut reader = Reader::open(input, keys)?;
    let mut n = 0;
    while reader.next_record()?.is_some() {
        n += 1;
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{BrandName, Destination};

    /// Variant numbers are the file format: a change here breaks every backup already written.
    #[test]
    fn frame_and_entry_variants_keep_their_numbers() {
        let number = |bytes: Vec<u8>| bytes[0];
        let frames = [
            (
                Frame::Begin(About {
                    otpd: String::new(),
                    engine: String::new(),
                    created_ms: 0,
                    sealed_with: 0,
                }),
                0,
            ),
            (Frame::Record(Entry::Job { body: vec![] }), 1),
            (Frame::End { records: 0 }, 2),
        ];
        for (frame, n) in frames {
            assert_eq!(number(postcard::to_stdvec(&frame).unwrap()), n);
        }
        let s = String::new;
        let entries = [
            (
                Entry::Brand {
                    name: s(),
                    sealed: vec![],
                },
                0,
            ),
            (
                Entry::Session {
                    id: s(),
                    body: vec![],
                },
                1,
            ),
            (
                Entry::Usage {
                    brand: s(),
                    customer: s(),
                    body: vec![],
                },
                2,
            ),
            (
                Entry::LimitOverride {
                    brand: s(),
                    customer: s(),
                    limit: 0,
                },
                3,
            ),
            (Entry::Job { body: vec![] }, 4),
            (Entry::Log { body: vec![] }, 5),
            (
                Entry::Nonce {
                    brand: s(),
                    hash: vec![],
                    expires_ms: 0,
                },
                6,
            ),
            (
                Entry::Stat {
                    hour: 0,
                    brand: s(),
                    counter: s(),
                    count: 0,
                },
                7,
            ),
            (Entry::Audit { body: vec![] }, 8),
            (Entry::Operator { body: vec![] }, 9),
            (
                Entry::ConsoleSession {
                    digest: [0; 32],
                    body: vec![],
                },
                10,
            ),
            (Entry::ServerSettings { body: vec![] }, 11),
        ];
        for (entry, n) in entries {
            assert_eq!(number(postcard::to_stdvec(&entry).unwrap()), n);
        }
    }

    fn keys() -> ServerKeys {
        ServerKeys::for_tests()
    }

    #[test]
    fn a_backup_reads_back_record_for_record() {
        let keys = keys();
        let mut file = Vec::new();
        let mut w = Writer::begin(&mut file, &keys, "embedded", 42).unwrap();
        w.record(Record::LimitOverride {
            brand: BrandName::parse("acme").unwrap(),
            customer: Destination::parse_key("EMAIL:a@example.com").unwrap(),
            limit: 9,
        })
        .unwrap();
        w.record(Record::Stat(StatRow {
            hour: 7,
            brand: "acme".into(),
            counter: Counter::Issued(None),
            count: 3,
        }))
        .unwrap();
        assert_eq!(w.end().unwrap(), 2);

        let mut input = &file[..];
        assert_eq!(read_format(&mut input).unwrap(), Format::Logical);
        let mut r = Reader::open(&mut input, &keys).unwrap();
        assert_eq!(r.about().created_ms, 42);
        assert!(matches!(
            r.next_record().unwrap(),
            Some(Record::LimitOverride { limit: 9, .. })
        ));
        let Some(Record::Stat(row)) = r.next_record().unwrap() else {
            panic!("expected the counter");
        };
        assert_eq!(
            (row.hour, row.count, row.counter),
            (7, 3, Counter::Issued(None))
        );
        assert!(r.next_record().unwrap().is_none());
        assert!(r.next_record().unwrap().is_none());
    }

    #[test]
    fn a_brand_that_is_not_sealed_is_refused() {
        let keys = keys();
        let mut file = MAGIC_V2.to_vec();
        let about = About {
            otpd: String::new(),
            engine: "embedded".into(),
            created_ms: 0,
            sealed_with: keys.active_id(),
        };
        write_frame(&mut file, &Frame::Begin(about)).unwrap();
        let plain = Entry::Brand {
            name: "EVIL".into(),
            sealed: br#"{"version":"1","name":"EVIL"}"#.to_vec(),
        };
        write_frame(&mut file, &Frame::Record(plain)).unwrap();
        write_frame(&mut file, &Frame::End { records: 1 }).unwrap();
        let mut input = &file[..];
        read_format(&mut input).unwrap();
        let err = Reader::open(&mut input, &keys)
            .unwrap()
            .next_record()
            .err()
            .unwrap();
        assert!(err.to_string().contains("not sealed"), "{err}");
    }

    #[test]
    fn a_truncated_or_foreign_file_is_refused() {
        let keys = keys();
        let mut file = Vec::new();
        let mut w = Writer::begin(&mut file, &keys, "embedded", 0).unwrap();
        w.record(Record::ServerSettings(Default::default()))
            .unwrap();
        w.end().unwrap();

        let cut = &file[..file.len() - 3];
        let mut input = cut;
        read_format(&mut input).unwrap();
        let mut r = Reader::open(&mut input, &keys).unwrap();
        r.next_record().unwrap();
        let err = r.next_record().unwrap_err().to_string();
        assert!(err.contains("truncated"), "{err}");

        let err = read_format(&mut &b"OTPD-BACKUP 9\nxx"[..]).unwrap_err();
        assert!(err.to_string().contains("newer format"), "{err}");
        let err = read_format(&mut &b"PK\x03\x04 a zip file, not ours"[..]).unwrap_err();
        assert!(err.to_string().contains("not an otpd backup"), "{err}");
    }
}
