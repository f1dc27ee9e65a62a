//! The public OTP API under `/auth/v1` (mobile) and `/auth/v1/web`: token/generate,
//! otp/generate, otp/validate, single or batch. Handlers read the body, hand each request
//! object to one service function and map the answer; no business rule lives here.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::rejection::QueryRejection;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::error::{Envelope, Status, refusal_body, refusal_response};
use crate::domain::{Flow, Refusal};
use crate::metrics::RequestLabels;
use crate::service::{Fields, Operation, RequestContext, Services};

const MAX_BATCH: usize = 100;

pub fn router() -> Router<Arc<Services>> {
    Router::new()
        .route("/auth/v1/token/generate", post(token_mobile))
        .route("/auth/v1/web/token/generate", post(token_web))
        .route("/auth/v1/otp/generate", post(generate_mobile))
        .route("/auth/v1/web/otp/generate", post(generate_web))
        .route("/auth/v1/otp/validate", post(validate_mobile))
        .route("/auth/v1/web/otp/validate", post(validate_web))
}

/// Request body of token/generate (also accepted: a JSON array of 1–100 of these).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)] // reason: documents the wire shape; parsing goes through `Fields`
pub struct TokenRequest {
    #[schema(pattern = "^(MOBILE|EMAIL|USERNAME)$")]
    identifier_type: String,
    #[schema(min_length = 1)]
    identifier_value: String,
    #[schema(min_length = 1)]
    brand: String,
    /// Required on the mobile path.
    device_id: Option<String>,
    /// Destination for USERNAME identifiers and mobile fallbacks.
    mobile: Option<String>,
    /// Destination for USERNAME identifiers and e-mail fallbacks.
    email: Option<String>,
    /// Payload signature (§5), when the brand requires it.
    hash: Option<String>,
    /// Epoch milliseconds, signed with `hash`.
    time_stamp: Option<i64>,
}

/// Request body of otp/generate (also accepted: a JSON array of 1–100 of these).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)] // reason: documents the wire shape; parsing goes through `Fields`
pub struct GenerateRequest {
    #[schema(pattern = "^(MOBILE|EMAIL|USERNAME)$")]
    identifier_type: String,
    #[schema(min_length = 1)]
    identifier_value: String,
    #[schema(min_length = 1)]
    brand: String,
    session_id: String,
    device_id: Option<String>,
    mobile: Option<String>,
    email: Option<String>,
    /// Template locale, e.g. `vi-VN`.
    locale: Option<String>,
    hash: Option<String>,
    time_stamp: Option<i64>,
}

/// Request body of otp/validate (also accepted: a JSON array of 1–100 of these).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)] // reason: documents the wire shape; parsing goes through `Fields`
pub struct ValidateRequest {
    #[schema(pattern = "^(MOBILE|EMAIL|USERNAME)$")]
    identifier_type: String,
    #[schema(min_length = 1)]
    identifier_value: String,
    #[schema(min_length = 1)]
    brand: String,
    session_id: String,
    device_id: Option<String>,
    /// The code: a string, or a number left-padded with zeros to `otpLength`.
    #[schema(value_type = String)]
    otp: Value,
    hash: Option<String>,
    time_stamp: Option<i64>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Auth {
    token: String,
    key: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct User {
    app_registered: bool,
    session_id: Option<String>,
    role: &'static str,
    user_registered_for_password: bool,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct SessionResponse {
    status: Status,
    auth: Auth,
    user: User,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GenerateQuery {
    fallback_channel: Option<String>,
}

/// The body of one answer, with its HTTP status and Retry-After.
struct Answer {
    status: StatusCode,
    body: Body,
    retry_after: Option<u64>,
}

/// What an answer says: serialized straight from these types, never through a `Value`.
#[derive(Serialize)]
#[serde(untagged)]
enum Body {
    Session(SessionResponse),
    Envelope(Envelope),
}

impl Body {
    fn succeeded(&self) -> bool {
        match self {
            Body::Session(b) => b.status.success,
            Body::Envelope(b) => b.status.success,
        }
    }
}

#[utoipa::path(post, path = "/auth/v1/token/generate", tag = "sessions", request_body = TokenRequest,
    responses((status = 200, body = SessionResponse), (status = 400, body = Envelope), (status = 429, body = Envelope)))]
async fn token_mobile(
    State(s): State<Arc<Services>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    handle(
        &s,
        Operation::Token,
        Flow::Mobile,
        "/auth/v1/token/generate",
        peer,
        &headers,
        Ok(None),
        body,
    )
    .await
}

#[utoipa::path(post, path = "/auth/v1/web/token/generate", tag = "sessions", request_body = TokenRequest,
    responses((status = 200, body = SessionResponse), (status = 400, body = Envelope), (status = 429, body = Envelope)))]
async fn token_web(
    State(s): State<Arc<Services>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    handle(
        &s,
        Operation::Token,
        Flow::Web,
        "/auth/v1/web/token/generate",
        peer,
        &headers,
        Ok(None),
        body,
    )
    .await
}

#[utoipa::path(post, path = "/auth/v1/otp/generate", tag = "otp", request_body = GenerateRequest,
    params(("fallbackChannel" = Option<String>, Query, description = "SMS, EMAIL, WHATSAPP or ZALO")),
    responses((status = 200, body = Envelope), (status = 400, body = Envelope), (status = 401, body = Envelope), (status = 429, body = Envelope)))]
async fn generate_mobile(
    State(s): State<Arc<Services>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    query: Result<Query<GenerateQuery>, QueryRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    handle(
        &s,
        Operation::Generate,
        Flow::Mobile,
        "/auth/v1/otp/generate",
        peer,
        &headers,
        fallback_channel(query),
        body,
    )
    .await
}

#[utoipa::path(post, path = "/auth/v1/web/otp/generate", tag = "otp", request_body = GenerateRequest,
    params(("fallbackChannel" = Option<String>, Query, description = "SMS, EMAIL, WHATSAPP or ZALO")),
    responses((status = 200, body = Envelope), (status = 400, body = Envelope), (status = 401, body = Envelope), (status = 429, body = Envelope)))]
async fn generate_web(
    State(s): State<Arc<Services>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    query: Result<Query<GenerateQuery>, QueryRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    handle(
        &s,
        Operation::Generate,
        Flow::Web,
        "/auth/v1/web/otp/generate",
        peer,
        &headers,
        fallback_channel(query),
        body,
    )
    .await
}

#[utoipa::path(post, path = "/auth/v1/otp/validate", tag = "otp", request_body = ValidateRequest,
    responses((status = 200, body = SessionResponse), (status = 400, body = Envelope), (status = 401, body = Envelope), (status = 429, body = Envelope)))]
async fn validate_mobile(
    State(s): State<Arc<Services>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    handle(
        &s,
        Operation::Validate,
        Flow::Mobile,
        "/auth/v1/otp/validate",
        peer,
        &headers,
        Ok(None),
        body,
    )
    .await
}

#[utoipa::path(post, path = "/auth/v1/web/otp/validate", tag = "otp", request_body = ValidateRequest,
    responses((status = 200, body = SessionResponse), (status = 400, body = Envelope), (status = 401, body = Envelope), (status = 429, body = Envelope)))]
async fn validate_web(
    State(s): State<Arc<Services>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    handle(
        &s,
        Operation::Validate,
        Flow::Web,
        "/auth/v1/web/otp/validate",
        peer,
        &headers,
        Ok(None),
        body,
    )
    .await
}

/// The `fallbackChannel` query parameter; a query string that cannot be read (the parameter
/// twice, bad percent-encoding) is a malformed request (1519), not axum's plain-text 400.
fn fallback_channel(
    query: Result<Query<GenerateQuery>, QueryRejection>,
) -> Result<Option<String>, Refusal> {
    query.map(|Query(q)| q.fallback_channel).map_err(|_| {
        Refusal::invalid("the query string could not be read (fallbackChannel once at most)")
    })
}

/// Reads the body as one request object or a batch, and answers each.
#[allow(clippy::too_many_arguments)] // reason: the six handlers differ only in these
async fn handle(
    s: &Arc<Services>,
    op: Operation,
    flow: Flow,
    path: &'static str,
    peer: SocketAddr,
    headers: &HeaderMap,
    fallback_channel: Result<Option<String>, Refusal>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let (fallback_channel, items) = match fallback_channel {
        Ok(f) => (f, read_items(headers, body)),
        Err(refusal) => (None, Err(refusal)),
    };
    let ctx = RequestContext {
        operation: op,
        flow,
        path,
        client: client_addr(peer, headers, &s.config.trusted_proxies),
        fallback_channel,
    };
    let items = match items {
        Ok(items) => items,
        Err(refusal) => {
            if op == Operation::Generate {
                s.record_malformed_generate(&refusal);
            }
            count(s, op, &refusal_body(&refusal).status);
            return refusal_response(&refusal, false);
        }
    };
    // Each request runs in its own task: when a client that goes away (or the request
    // timeout) drops this handler, what the request started still runs to its end, so a code
    // it committed is counted and its log record finished, never cut off between two writes.
    // The task holds a slot till then: past the limit, a request is shed, not queued behind
    // the work of clients that have left.
    let Ok(slot) = s.request_slots.clone().try_acquire_owned() else {
        return super::error::overloaded();
    };
    let s = s.clone();
    match items {
        Items::One(obj) => {
            // Boxed: the task is the answer's whole state machine, several kilobytes that
            // would otherwise be copied at each step of the spawn.
            let one = tokio::spawn(Box::pin(async move {
                let answer = answer_one(&s, op, &ctx, &obj).await;
                drop(slot);
                answer
            }));
            let answer = match one.await {
                Ok(answer) => answer,
                Err(e) => {
                    tracing::error!(error = %e, "a request task failed");
                    return refusal_response(&Refusal::new(op.internal_code()), false);
                }
            };
            let mut response = (answer.status, Json(answer.body)).into_response();
            if let Some(secs) = answer.retry_after
                && let Ok(v) = secs.to_string().parse()
            {
                response.headers_mut().insert(header::RETRY_AFTER, v);
            }
            response
        }
        Items::Batch(objs) => {
            // Never part-way: the batch runs to its end as one task.
            let batch = tokio::spawn(Box::pin(async move {
                let bodies = answer_batch(&s, op, &ctx, &objs).await;
                drop(slot);
                bodies
            }));
            match batch.await {
                Ok(bodies) => (StatusCode::OK, Json(bodies)).into_response(),
                Err(e) => {
                    tracing::error!(error = %e, "a batch task failed");
                    refusal_response(&Refusal::new(op.internal_code()), false)
                }
            }
        }
    }
}

/// Answers a batch's items in order; the store acknowledges their writes together at the end.
/// When that fails, no item is answered as done: each success becomes the operation's internal
/// error.
async fn answer_batch(
    s: &Services,
    op: Operation,
    ctx: &RequestContext,
    objs: &[Map<String, Value>],
) -> Vec<Body> {
    let (answers, durable) = s
        .store
        .batch(async {
            let mut answers = Vec::with_capacity(objs.len());
            for obj in objs {
                answers.push(answer_one(s, op, ctx, obj).await);
            }
            answers
        })
        .await;
    let settled = durable.map_err(|e| {
        tracing::error!(error = %e, "acknowledging a batch failed");
        Refusal::new(op.internal_code())
    });
    answers
        .into_iter()
        .map(|answer| match &settled {
            Err(refusal) if answer.status == StatusCode::OK && answer.body.succeeded() => {
                Body::Envelope(refusal_body(refusal))
            }
            _ => answer.body,
        })
        .collect()
}

async fn answer_one(
    s: &Services,
    op: Operation,
    ctx: &RequestContext,
    obj: &Map<String, Value>,
) -> Answer {
    let f = Fields(obj);
    let (result, http200) = match op {
        Operation::Token => {
            let r = s.issue_token(&f, ctx).await;
            (
                r.result
                    .map(|t| session_body(Some(t.session_id.to_string()), "VIEW", t.token, None)),
                r.errors_as_http200,
            )
        }
        Operation::Generate => {
            let r = s.generate_otp(&f, ctx).await;
            (
                r.result.map(|_| {
                    Body::Envelope(Envelope {
                        status: Status::ok(),
                    })
                }),
                r.errors_as_http200,
            )
        }
        Operation::Validate => {
            let r = s.validate_otp(&f, ctx).await;
            (
                r.result.map(|t| session_body(None, "USER", t.token, t.key)),
                r.errors_as_http200,
            )
        }
    };
    match result {
        Ok(body) => {
            s.metrics
                .requests
                .get_or_create(&RequestLabels {
                    endpoint: op.endpoint(),
                    code: 200,
                })
                .inc();
            Answer {
                status: StatusCode::OK,
                body,
                retry_after: None,
            }
        }
        Err(refusal) => {
            let envelope = refusal_body(&refusal);
            count(s, op, &envelope.status);
            let status = if http200 {
                StatusCode::OK
            } else {
                super::error::http_status(refusal.code)
            };
            Answer {
                status,
                body: Body::Envelope(envelope),
                retry_after: refusal.retry_after_secs,
            }
        }
    }
}

fn count(s: &Services, op: Operation, status: &Status) {
    s.metrics
        .requests
        .get_or_create(&RequestLabels {
            endpoint: op.endpoint(),
            code: status.code,
        })
        .inc();
}

fn session_body(
    session_id: Option<String>,
    role: &'static str,
    token: String,
    key: Option<String>,
) -> Body {
    Body::Session(SessionResponse {
        status: Status::ok(),
        auth: Auth { token, key },
        user: User {
            app_registered: false,
            session_id,
            role,
            user_registered_for_password: false,
        },
    })
}

enum Items {
    One(Map<String, Value>),
    Batch(Vec<Map<String, Value>>),
}

/// Content type, size and JSON shape: each failure is a 1519 naming the problem.
fn read_items(headers: &HeaderMap, body: Result<Bytes, BytesRejection>) -> Result<Items, Refusal> {
    let body = body.map_err(|e| match e.status() {
        StatusCode::PAYLOAD_TOO_LARGE => Refusal::invalid("the request body is larger than 64 KiB"),
        _ => Refusal::invalid("the request body could not be read"),
    })?;
    let json_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
    if !json_type {
        return Err(Refusal::invalid("Content-Type must be application/json"));
    }
    let value: Value = serde_json::from_slice(&body)
        .map_err(|e| Refusal::invalid(format!("the body is not valid JSON ({e})")))?;
    match value {
        Value::Object(obj) => Ok(Items::One(obj)),
        Value::Array(items) if items.is_empty() => Err(Refusal::invalid(
            "a batch holds 1 to 100 requests; this one is empty",
        )),
        Value::Array(items) if items.len() > MAX_BATCH => Err(Refusal::invalid(format!(
            "a batch holds 1 to 100 requests; this one has {}",
            items.len()
        ))),
        Value::Array(items) => items
            .into_iter()
            .enumerate()
            .map(|(i, v)| match v {
                Value::Object(obj) => Ok(obj),
                _ => Err(Refusal::invalid(format!(
                    "batch item {i} is not a JSON object"
                ))),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Items::Batch),
        _ => Err(Refusal::invalid(
            "the body must be a JSON object or an array of objects",
        )),
    }
}

/// The client's address: the peer, or — when the peer is a trusted proxy — the right-most
/// `X-Forwarded-For` entry that is not itself a trusted proxy.
pub fn client_addr(peer: SocketAddr, headers: &HeaderMap, trusted: &[IpAddr]) -> IpAddr {
    let peer_ip = peer.ip().to_canonical();
    if !trusted.contains(&peer_ip) {
        return peer_ip;
    }
    let forwarded = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|s| s.trim().parse::<IpAddr>().ok())
        .collect::<Vec<_>>();
    forwarded
        .into_iter()
        .rev()
        .find(|ip| !trusted.contains(ip))
        .unwrap_or(peer_ip)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(xff: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in xff {
            h.append("x-forwarded-for", v.parse().unwrap());
        }
        h
    }

    #[test]
    fn forwarded_for_is_believed_only_from_a_trusted_proxy() {
        let proxy: IpAddr = "10.0.0.1".parse().unwrap();
        let peer_proxy = SocketAddr::new(proxy, 5000);
        let stranger = SocketAddr::new("203.0.113.9".parse().unwrap(), 5000);
        let xff = headers(&["198.51.100.7, 10.0.0.1"]);
        // An untrusted peer cannot pick its address by header.
        assert_eq!(client_addr(stranger, &xff, &[proxy]), stranger.ip());
        // Through the proxy: the right-most address that is not itself a trusted proxy.
        assert_eq!(
            client_addr(peer_proxy, &xff, &[proxy]),
            "198.51.100.7".parse::<IpAddr>().unwrap()
        );
        // A client-supplied left part cannot override what the proxy appended.
        let spoofed = headers(&["1.2.3.4", "198.51.100.7"]);
        assert_eq!(
            client_addr(peer_proxy, &spoofed, &[proxy]),
            "198.51.100.7".parse::<IpAddr>().unwrap()
        );
        // No usable header: the proxy itself.
        assert_eq!(
            client_addr(peer_proxy, &headers(&["garbage"]), &[proxy]),
            proxy
        );
        // IPv4-mapped IPv6 peers count as their IPv4 address.
        let mapped = SocketAddr::new("::ffff:10.0.0.1".parse().unwrap(), 1);
        assert_eq!(
            client_addr(mapped, &xff, &[proxy]),
            "198.51.100.7".parse::<IpAddr>().unwrap()
        );
    }
}
