//! CPU per issued code on the service path, without HTTP. `scripts/bench.sh`'s otp/generate
//! rows move by ±10 % between runs on a 2-core machine shared with the load generator, which
//! hides a change worth a few percent; this runs the same work in one process, without
//! sockets or a load generator, and says where the CPU went by thread.
//!
//! Opens a fresh store (periodic durability; the demo brand; a sender that drops messages),
//! makes `BENCH_OTPS` sessions (default 100,000; not measured), then issues one code on each
//! from `WRITERS` tasks at once and waits until every delivery has ended. Measured over the
//! issuing and the deliveries: the process's user + system CPU time (`/proc/self/stat`) per
//! code, the same by thread name (the runtime's workers, fjall's flush and compaction
//! workers, the flusher) and codes per second. Repeats `BENCH_ROUNDS` times (default 3), each
//! on a fresh store. The CPU window opens once fjall's background workers are idle after the
//! sessions were written, and closes once they are idle again after the last delivery: it
//! holds the flushes and compactions the codes caused, also those that ran after them.
//! Codes per second is up to the last delivery. Rounds still differ on a shared virtual
//! machine: compare builds by several alternating runs, not one round each.
//!
//! Run: `cargo bench --bench issue_path`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // reason: a benchmark binary fails loudly

mod support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use otpd::service::{Fields, Operation, Services};
use serde_json::{Map, Value};
use support::{body, context};

const WRITERS: usize = 32;

/// User + system CPU time of a `/proc` stat line (after the command name, which may hold
/// spaces, utime and stime are the 12th and 13th fields), in USER_HZ ticks (100 on Linux).
fn ticks(stat: &str) -> Option<(String, u64)> {
    let (head, rest) = stat.rsplit_once(')')?;
    let name = head.split_once('(')?.1.to_owned();
    let fields: Vec<&str> = rest.split_whitespace().collect();
    Some((
        name,
        fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?,
    ))
}

/// The process's CPU time so far, in ticks: in all, and by thread name (threads that ended
/// are in the total only).
fn cpu_ticks() -> (u64, BTreeMap<String, u64>) {
    let total = ticks(&std::fs::read_to_string("/proc/self/stat").unwrap())
        .unwrap()
        .1;
    let mut by_name = BTreeMap::new();
    for task in std::fs::read_dir("/proc/self/task").unwrap().flatten() {
        if let Some((name, t)) = std::fs::read_to_string(task.path().join("stat"))
            .ok()
            .and_then(|s| ticks(&s))
        {
            *by_name.entry(name).or_default() += t;
        }
    }
    (total, by_name)
}

/// Waits until fjall's background workers have been idle for a while (no CPU tick in 300 ms),
/// so that a round's window holds the flushes and compactions its own writes caused, not
/// those of the writes before it. Gives up after a minute, saying so.
async fn wait_for_fjall_to_settle() {
    let fjall = || {
        cpu_ticks()
            .1
            .into_iter()
            .filter(|(name, _)| name.starts_with("fjall"))
            .map(|(_, t)| t)
            .sum::<u64>()
    };
    let started = Instant::now();
    let mut last = fjall();
    while started.elapsed() < Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let now = fjall();
        if now == last {
            return;
        }
        last = now;
    }
    eprintln!(
        "fjall's workers were still busy after a minute: this round's figures include their earlier work"
    );
}

/// `count` sessions, one per customer, each with its request body for otp/generate.
async fn sessions(services: &Arc<Services>, count: usize) -> Vec<Map<String, Value>> {
    let ctx = context(Operation::Token, "/auth/v1/token/generate");
    let mut bodies = Vec::with_capacity(count);
    for customer in 0..count {
        let token = services
            .issue_token(&Fields(&body(customer, None)), &ctx)
            .await
            .result
            .unwrap();
        bodies.push(body(customer, Some(&token.session_id.to_string())));
    }
    bodies
}

/// One round on a fresh store: CPU time per code (in all, and by thread name) and codes per
/// second.
async fn round(count: usize) -> (Duration, Vec<(String, Duration)>, f64) {
    let dir = tempfile::tempdir().unwrap();
    let server = support::start_demo(dir.path()).await;
    let services = server.services.clone();
    let bodies = Arc::new(sessions(&services, count).await);

    wait_for_fjall_to_settle().await;
    let (before, started) = (cpu_ticks(), Instant::now());
    let mut tasks = Vec::new();
    for w in 0..WRITERS {
        let (services, bodies) = (services.clone(), bodies.clone());
        tasks.push(tokio::spawn(async move {
            let ctx = context(Operation::Generate, "/auth/v1/otp/generate");
            for body in bodies.iter().skip(w).step_by(WRITERS) {
                services
                    .generate_otp(&Fields(body), &ctx)
                    .await
                    .result
                    .unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    while services.store.queued_jobs().await.unwrap() > 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let elapsed = started.elapsed();
    wait_for_fjall_to_settle().await;
    let after = cpu_ticks();
    server.shutdown().await.unwrap();
    let per_code = |ticks: u64| Duration::from_millis(ticks * 10) / u32::try_from(count).unwrap();
    let mut by_name: Vec<_> = after
        .1
        .into_iter()
        .map(|(name, t)| {
            let t = t - before.1.get(&name).copied().unwrap_or(0).min(t);
            (name, per_code(t))
        })
        .filter(|(_, t)| !t.is_zero())
        .collect();
    by_name.sort_by_key(|(_, t)| std::cmp::Reverse(*t));
    let rate = count as f64 / elapsed.as_secs_f64();
    (per_code(after.0 - before.0), by_name, rate)
}

#[tokio::main]
async fn main() {
    let count: usize = std::env::var("BENCH_OTPS").map_or(100_000, |v| v.parse().unwrap());
    let rounds: usize = std::env::var("BENCH_ROUNDS").map_or(3, |v| v.parse().unwrap());
    println!("otp/generate on the service path, {count} codes per round, {WRITERS} tasks");
    for r in 1..=rounds {
        let (per_code, by_name, rate) = round(count).await;
        let us = |d: Duration| d.as_secs_f64() * 1e6;
        let threads: Vec<String> = by_name
            .iter()
            .map(|(name, t)| format!("{name} {:.1}", us(*t)))
            .collect();
        println!(
            "round {r}: {:.1} µs CPU per code ({}), {rate:.0} codes/s",
            us(per_code),
            threads.join(", ")
        );
    }
}
