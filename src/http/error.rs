//! The one place that chooses HTTP statuses (docs/api.md §1, §7) and writes the envelope
//! `{"status": {"success", "code", "message"}}`. Internal details never reach a client.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::domain::{ApiCode, Refusal};

#[derive(Serialize, utoipa::ToSchema)]
pub struct Status {
    pub success: bool,
    pub code: u16,
    pub message: String,
}

impl Status {
    pub fn ok() -> Self {
        Self {
            success: true,
            code: 200,
            message: "SUCCESS".to_owned(),
        }
    }
}

/// The bare envelope: every answer has it, errors have nothing else.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Envelope {
    pub status: Status,
}

/// The HTTP status of an application code.
pub fn http_status(code: ApiCode) -> StatusCode {
    use ApiCode as C;
    match code {
        C::UnableToValidate | C::UnableToGenerate => StatusCode::INTERNAL_SERVER_ERROR,
        C::InvalidSession => StatusCode::UNAUTHORIZED,
        C::MaxAttempts | C::DailyLimit | C::ResendTooSoon | C::ClientRateLimited => {
            StatusCode::TOO_MANY_REQUESTS
        }
        C::UnsupportedBrand
        | C::InvalidOtp
        | C::MobileMismatch
        | C::DeviceMismatch
        | C::BrandMismatch
        | C::InvalidDetails
        | C::LimitZero
        | C::NoOtpGenerated
        | C::DestinationRequired
        | C::IdentifierMismatch
        | C::InvalidIdentifierType
        | C::FallbackNeedsMobile
        | C::FallbackNeedsEmail
        | C::ChannelNotConfigured
        | C::Tampered => StatusCode::BAD_REQUEST,
    }
}

pub fn refusal_body(r: &Refusal) -> Envelope {
    Envelope {
        status: Status {
            success: false,
            code: r.code.code(),
            message: r.message().into_owned(),
        },
    }
}

/// A refusal as a whole response: status (or 200 for `errorsAsHttp200` brands), envelope and
/// `Retry-After` where known.
pub fn refusal_response(r: &Refusal, errors_as_http200: bool) -> Response {
    let status = if errors_as_http200 {
        StatusCode::OK
    } else {
        http_status(r.code)
    };
    let mut response = (status, Json(refusal_body(r))).into_response();
    if let Some(secs) = r.retry_after_secs
        && let Ok(v) = HeaderValue::from_str(&secs.to_string())
    {
        response.headers_mut().insert(header::RETRY_AFTER, v);
    }
    response
}

/// The answer when the server sheds load or a request times out.
pub fn overloaded() -> Response {
    let body = Envelope {
        status: Status {
            success: false,
            code: ApiCode::UnableToGenerate.code(),
            message: "Server busy, retry shortly".into(),
        },
    };
    let mut response = (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response();
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    response
}

/// The answer when a handler panicked: logged by the panic layer, generic to the client.
pub fn internal_error() -> Response {
    refusal_response(&Refusal::new(ApiCode::UnableToGenerate), false)
}
