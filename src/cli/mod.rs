//! Commands that manage a running server through its admin API.

pub mod sign;

#[derive(clap::Subcommand)]
pub enum AdminCommand {}

pub async fn run_admin(cmd: AdminCommand) -> anyhow::Result<()> {
    match cmd {}
}
