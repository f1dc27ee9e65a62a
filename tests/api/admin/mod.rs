//! The admin API and the admin CLI, against a server from `spawn_app()`, called over real HTTP
//! and through the built `otpd` binary.

mod backup;
mod brands;
mod channels;
mod cli;
mod console;
mod dashboard;
pub(crate) mod helpers;
mod limits;
mod log;
mod settings;
mod signing;
