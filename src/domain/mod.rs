//! Pure types and rules: brands, identifiers, codes, sessions, limits, signatures. No I/O, no
//! axum, no sled; time comes in as a parameter.

pub mod audit;
pub mod brand;
pub mod channel;
pub mod code;
pub mod identifier;
pub mod limits;
pub mod log;
#[cfg(test)]
mod model_tests;
pub mod operator;
pub mod otp;
pub mod outbox;
pub mod session;
pub mod signature;
pub mod stats;
pub mod template;

pub use brand::{Brand, BrandName, BrandSettings, SettingsError, SignedEndpoint};
pub use channel::{ChannelConfig, ChannelKind};
pub use code::{ApiCode, Refusal};
pub use identifier::{Destination, Identifier, IdentifierType};
pub use log::{DeliveryAttempt, DeliveryStatus, IssuanceRecord};
pub use operator::{ConsoleSession, Operator, OperatorName, Role};
pub use otp::OtpCode;
pub use outbox::OutboxJob;
pub use session::{Flow, IssuedCode, Session, SessionId};
