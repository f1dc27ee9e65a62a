//! Integration tests of the server over real HTTP: one binary, `spawn_app()` in helpers.rs.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // reason: test code fails loudly by design

mod admin;
mod codes;
mod concurrency;
mod delivery;
mod docs;
mod embedded;
mod flow;
mod hardening;
mod helpers;
mod hygiene;
mod keys;
mod nodes;
mod ops;
mod persistence;
mod process;
mod signing;
mod sweep;
mod tls;
