//! The issuance log as operators read it: newest first, filtered, paged with a cursor (the id
//! of the last record seen); one customer's history through the by-destination index; single
//! records with their delivery attempts; CSV export. Records never hold a code.

use serde::{Deserialize, Serialize};

use super::{Admin, AdminError, lookup_name, parse_destination};
use crate::domain::{ChannelKind, DeliveryStatus, IssuanceRecord};
use crate::store::LogSelection;

/// Most records one page (or one CSV export) may hold.
pub const MAX_PAGE: usize = 500;
pub const MAX_EXPORT: usize = 100_000;

/// Filters; every one is optional. Times are epoch milliseconds.
#[derive(Clone, Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LogQuery {
    pub brand: Option<String>,
    /// One customer: `MOBILE:<digits>`, `EMAIL:<address>` or a bare number / address (with
    /// or without `brand`).
    pub destination: Option<String>,
    pub outcome: Option<u16>,
    pub channel: Option<ChannelKind>,
    pub delivery: Option<DeliveryStatus>,
    pub test: Option<bool>,
    pub since_ms: Option<i64>,
    pub until_ms: Option<i64>,
    /// The cursor: records strictly older than this id.
    pub before: Option<uuid::Uuid>,
    pub limit: Option<usize>,
}

/// One page, and the cursor of the next (absent on the last page).
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LogPage {
    pub records: Vec<IssuanceRecord>,
    pub next_before: Option<uuid::Uuid>,
}

impl Admin<'_> {
    /// A page of the issuance log, newest first.
    pub async fn log(&self, q: &LogQuery) -> Result<LogPage, AdminError> {
        let limit = q.limit.unwrap_or(50).clamp(1, MAX_PAGE);
        let records = self.scan(q, limit).await?;
        let next_before = (records.len() == limit)
            .then(|| records.last().map(|r| r.id))
            .flatten();
        Ok(LogPage {
            records,
            next_before,
        })
    }

    /// One record, with its delivery attempts.
    pub async fn log_record(&self, id: &str) -> Result<IssuanceRecord, AdminError> {
        let id = uuid::Uuid::try_parse(id)
            .map_err(|_| AdminError::NotFound(format!("no log record {id:?}")))?;
        self.services
            .store
            .log_record(id)
            .await?
            .ok_or_else(|| AdminError::NotFound(format!("no log record {id}")))
    }

    /// The records a query selects (up to 100,000), newest first, as CSV with a header row,
    /// written page by page so a large export never sits in memory. Returns the row count.
    pub async fn write_log_csv(
        &self,
        q: &LogQuery,
        out: &mut dyn std::io::Write,
    ) -> Result<usize, AdminError> {
        const PAGE: usize = 1_000;
        let io = |e: std::io::Error| AdminError::Internal(format!("writing the CSV export: {e}"));
        let max = q.limit.unwrap_or(MAX_EXPORT).clamp(1, MAX_EXPORT);
        out.write_all(CSV_HEADER.as_bytes()).map_err(io)?;
        let mut q = q.clone();
        let mut written = 0;
        loop {
            let page = self.scan(&q, PAGE.min(max - written)).await?;
            for r in &page {
                out.write_all(csv_row(r).as_bytes()).map_err(io)?;
            }
            written += page.len();
            match page.last() {
                Some(last) if page.len() == PAGE && written < max => q.before = Some(last.id),
                _ => break,
            }
        }
        out.flush().map_err(io)?;
        Ok(written)
    }

    async fn scan(&self, q: &LogQuery, limit: usize) -> Result<Vec<IssuanceRecord>, AdminError> {
        let selection = LogSelection {
            brand: q.brand.as_deref().map(lookup_name).transpose()?,
            destination: q
                .destination
                .as_deref()
                .map(parse_destination)
                .transpose()?,
            outcome: q.outcome,
            channel: q.channel,
            delivery: q.delivery,
            test: q.test,
            since_ms: q.since_ms,
            until_ms: q.until_ms,
            before: q.before,
        };
        Ok(self.services.store.log_page(&selection, limit).await?)
    }
}

const CSV_HEADER: &str = "id,time,brand,path,identifierType,identifier,destination,deviceId,sessionId,clientAddr,outcome,channel,delivery,test,validated,attempts\n";

/// One record as a CSV line.
fn csv_row(r: &IssuanceRecord) -> String {
    let time = jiff::Timestamp::from_millisecond(r.time_ms)
        .map(|t| t.to_string())
        .unwrap_or_default();
    let fields = [
        r.id.to_string(),
        time,
        r.brand.clone(),
        r.path.clone(),
        r.identifier_type.clone(),
        r.identifier.clone(),
        r.destination.clone().unwrap_or_default(),
        r.device_id.clone().unwrap_or_default(),
        r.session_id.clone().unwrap_or_default(),
        r.client_addr.clone(),
        r.outcome.to_string(),
        r.channel.map(|c| c.as_str().to_owned()).unwrap_or_default(),
        serde_json::to_value(r.delivery)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default(),
        r.test.to_string(),
        r.validated.to_string(),
        r.attempts.len().to_string(),
    ];
    let mut line = fields
        .iter()
        .map(|f| csv_field(f))
        .collect::<Vec<_>>()
        .join(",");
    line.push('\n');
    line
}

/// A CSV field, quoted when it holds a comma, a quote or a line break; a leading `=`, `+`, `-`,
/// `@`, tab or carriage return is prefixed with `'` so spreadsheets do not run it as a formula
/// (OWASP's CSV injection list).
fn csv_field(v: &str) -> String {
    let v = if v.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{v}")
    } else {
        v.to_owned()
    };
    if v.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v
    }
}

#[cfg(test)]
mod tests {
    use super::csv_field;

    #[test]
    fn csv_fields_are_quoted_and_defused() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("\t=1+1"), "'\t=1+1");
        assert_eq!(csv_field("\r=1+1"), "\"'\r=1+1\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=cmd()"), "'=cmd()");
        assert_eq!(csv_field("+84901234567"), "'+84901234567");
    }
}
