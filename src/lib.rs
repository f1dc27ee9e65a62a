//! otpd: a self-hosted one-time-password engine.

pub mod clock;
pub mod delivery;
pub mod domain;
pub mod store;
