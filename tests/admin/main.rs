//! Integration tests of the admin API and the admin CLI: a real server on loopback ports with a
//! temporary data directory, called over real HTTP and through the built `otpd` binary.

// reason: a test that cannot set up or whose answer is malformed should stop right there, and
// clippy's test allowance does not reach helper functions of an integration-test crate.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod brands;
mod cli;
mod helpers;
mod limits;
mod signing;
