//! The application codes of docs/api.md §7: every answer the public API can give. The HTTP status of
//! each is chosen in one place, `http::error`.

use std::borrow::Cow;

/// An application code with the message that goes with it. Messages that name a field (1519)
/// carry it in `detail`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ApiCode {
    /// 1502, HTTP 500: an internal failure while validating.
    UnableToValidate,
    /// 1503, HTTP 500: an internal failure while generating (also used for shed load, 503).
    UnableToGenerate,
    /// 1504, HTTP 400.
    UnsupportedBrand,
    /// 1505, HTTP 401: unknown, expired or consumed session.
    InvalidSession,
    /// 1506, HTTP 400: wrong, expired or used code (the answer never says which).
    InvalidOtp,
    /// 1507, HTTP 400.
    MobileMismatch,
    /// 1508, HTTP 400.
    DeviceMismatch,
    /// 1509, HTTP 400.
    BrandMismatch,
    /// 1518, HTTP 429: the session used up its wrong-code budget.
    MaxAttempts,
    /// 1519, HTTP 400: malformed request; the message names the field.
    InvalidDetails,
    /// 1534, HTTP 429: daily OTP limit reached.
    DailyLimit,
    /// 1535, HTTP 400: an operator tried to save a limit of 0.
    LimitZero,
    /// 1537, HTTP 400.
    NoOtpGenerated,
    /// 1540, HTTP 400.
    DestinationRequired,
    /// 1541, HTTP 400.
    IdentifierMismatch,
    /// 1546, HTTP 400.
    InvalidIdentifierType,
    /// 1601, HTTP 400.
    FallbackNeedsMobile,
    /// 1602, HTTP 400.
    FallbackNeedsEmail,
    /// 1603, HTTP 400.
    ChannelNotConfigured,
    /// 1701, HTTP 429 with Retry-After.
    ResendTooSoon,
    /// 1702, HTTP 429 with Retry-After.
    ClientRateLimited,
    /// 5004, HTTP 400: payload signature missing, wrong, stale or replayed.
    Tampered,
}

impl ApiCode {
    /// Every code, in numeric order: for documentation checks and exhaustive tests.
    pub const ALL: &'static [Self] = &[
        Self::UnableToValidate,
        Self::UnableToGenerate,
        Self::UnsupportedBrand,
        Self::InvalidSession,
        Self::InvalidOtp,
        Self::MobileMismatch,
        Self::DeviceMismatch,
        Self::BrandMismatch,
        Self::MaxAttempts,
        Self::InvalidDetails,
        Self::DailyLimit,
        Self::LimitZero,
        Self::NoOtpGenerated,
        Self::DestinationRequired,
        Self::IdentifierMismatch,
        Self::InvalidIdentifierType,
        Self::FallbackNeedsMobile,
        Self::FallbackNeedsEmail,
        Self::ChannelNotConfigured,
        Self::ResendTooSoon,
        Self::ClientRateLimited,
        Self::Tampered,
    ];

    pub const fn code(self) -> u16 {
        match self {
            Self::UnableToValidate => 1502,
            Self::UnableToGenerate => 1503,
            Self::UnsupportedBrand => 1504,
            Self::InvalidSession => 1505,
            Self::InvalidOtp => 1506,
            Self::MobileMismatch => 1507,
            Self::DeviceMismatch => 1508,
            Self::BrandMismatch => 1509,
            Self::MaxAttempts => 1518,
            Self::InvalidDetails => 1519,
            Self::DailyLimit => 1534,
            Self::LimitZero => 1535,
            Self::NoOtpGenerated => 1537,
            Self::DestinationRequired => 1540,
            Self::IdentifierMismatch => 1541,
            Self::InvalidIdentifierType => 1546,
            Self::FallbackNeedsMobile => 1601,
            Self::FallbackNeedsEmail => 1602,
            Self::ChannelNotConfigured => 1603,
            Self::ResendTooSoon => 1701,
            Self::ClientRateLimited => 1702,
            Self::Tampered => 5004,
        }
    }

    pub const fn message(self) -> &'static str {
        match self {
            Self::UnableToValidate => "Unable to validate OTP",
            Self::UnableToGenerate => "Unable to generate OTP",
            Self::UnsupportedBrand => "Unsupported brand",
            Self::InvalidSession => "Invalid session",
            Self::InvalidOtp => "Invalid OTP",
            Self::MobileMismatch => "Mobile number differs from the session's",
            Self::DeviceMismatch => "Device ID differs from the session's",
            Self::BrandMismatch => "Brand differs from the session's",
            Self::MaxAttempts => "Maximum OTP retry attempts reached. Authenticate from the start",
            Self::InvalidDetails => "Invalid details",
            Self::DailyLimit => "Maximum number of OTPs allowed per customer reached",
            Self::LimitZero => "The OTP limit cannot be 0",
            Self::NoOtpGenerated => "No OTP generated for these details. Generate one first",
            Self::DestinationRequired => "Mobile or email required to send the OTP",
            Self::IdentifierMismatch => "Identifier differs from the session's",
            Self::InvalidIdentifierType => "Invalid identifierType",
            Self::FallbackNeedsMobile => "Fallback channel needs mobile in the body",
            Self::FallbackNeedsEmail => "Fallback channel needs email in the body",
            Self::ChannelNotConfigured => "Channel not configured properly",
            Self::ResendTooSoon => "Resend too soon",
            Self::ClientRateLimited => "Too many requests from this client address",
            Self::Tampered => "Response tampered",
        }
    }
}

/// A refusal: the code, an optional detail for the message, and how long to wait (429s).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    pub code: ApiCode,
    pub detail: Option<Cow<'static, str>>,
    pub retry_after_secs: Option<u64>,
}

impl Refusal {
    pub const fn new(code: ApiCode) -> Self {
        Self {
            code,
            detail: None,
            retry_after_secs: None,
        }
    }

    /// 1519 with a message naming the field and the problem.
    pub fn invalid(detail: impl Into<Cow<'static, str>>) -> Self {
        Self {
            code: ApiCode::InvalidDetails,
            detail: Some(detail.into()),
            retry_after_secs: None,
        }
    }

    pub fn retry_after(code: ApiCode, secs: u64) -> Self {
        Self {
            code,
            detail: None,
            retry_after_secs: Some(secs.max(1)),
        }
    }

    pub fn message(&self) -> Cow<'static, str> {
        match &self.detail {
            Some(d) => Cow::Owned(format!("{}: {d}", self.code.message())),
            None => Cow::Borrowed(self.code.message()),
        }
    }
}

impl From<ApiCode> for Refusal {
    fn from(code: ApiCode) -> Self {
        Self::new(code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `ALL` holds every variant once. The list below is checked by an exhaustive `match`: a new
    /// variant does not compile until it is added here, and then this test fails until it is
    /// in `ALL` too.
    #[test]
    fn all_lists_every_code_once_in_numeric_order() {
        macro_rules! variants {
            ($($v:ident),* $(,)?) => {{
                #[allow(dead_code)] // reason: exists only to be exhaustive
                fn exhaustive(c: ApiCode) {
                    match c {
                        $(ApiCode::$v => {})*
                    }
                }
                [$(ApiCode::$v),*]
            }};
        }
        let every = variants![
            UnableToValidate,
            UnableToGenerate,
            UnsupportedBrand,
            InvalidSession,
            InvalidOtp,
            MobileMismatch,
            DeviceMismatch,
            BrandMismatch,
            MaxAttempts,
            InvalidDetails,
            DailyLimit,
            LimitZero,
            NoOtpGenerated,
            DestinationRequired,
            IdentifierMismatch,
            InvalidIdentifierType,
            FallbackNeedsMobile,
            FallbackNeedsEmail,
            ChannelNotConfigured,
            ResendTooSoon,
            ClientRateLimited,
            Tampered,
        ];
        assert_eq!(ApiCode::ALL.len(), every.len());
        for c in every {
            assert!(
                ApiCode::ALL.contains(&c),
                "{c:?} is missing from ApiCode::ALL"
            );
        }
        let numbers: Vec<u16> = ApiCode::ALL.iter().map(|c| c.code()).collect();
        assert!(
            numbers.windows(2).all(|w| w[0] < w[1]),
            "ALL is in numeric order without duplicates: {numbers:?}"
        );
    }
}
