//! The SMTP server of `scripts/bench.sh`'s e-mail scenario: accepts every message on every
//! connection and counts them, as fast as it can (it must not be what limits delivery).
//!
//! Run: `cargo run --release --example smtp_sink -- [ADDR] [STATS_FILE]` (default
//! `127.0.0.1:0`, no file). It prints `listening on ADDR` once it accepts connections, and
//! while it runs rewrites STATS_FILE (atomically, every 20 ms when something changed) with one
//! line: `accepted=N connections=N last_accept=EPOCH_SECONDS` (the Unix time, with
//! microseconds, of the last accepted message; 0 before the first).

#![allow(clippy::disallowed_methods)] // reason: a benchmark tool, not otpd: wall time for its stats file

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

#[derive(Default)]
struct Counts {
    accepted: AtomicU64,
    connections: AtomicU64,
    /// Microseconds since the Unix epoch of the last accepted message.
    last_accept_us: AtomicU64,
}

fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}

#[tokio::main]
async fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let addr: SocketAddr = match args.next().as_deref().unwrap_or("127.0.0.1:0").parse() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("smtp_sink: the address to listen on: {e}");
            return ExitCode::FAILURE;
        }
    };
    let stats_file = args.next().map(PathBuf::from);
    let listener = match tokio::net::TcpListener::bind(addr).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("smtp_sink: cannot listen on {addr}: {e}");
            return ExitCode::FAILURE;
        }
    };
    match listener.local_addr() {
        Ok(a) => println!("listening on {a}"),
        Err(e) => {
            eprintln!("smtp_sink: {e}");
            return ExitCode::FAILURE;
        }
    }
    let counts = Arc::new(Counts::default());
    if let Some(path) = stats_file {
        tokio::spawn(write_stats(path, counts.clone()));
    }
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                // Replies go out at once, as a real server's do (no Nagle wait on small writes).
                let _ = stream.set_nodelay(true);
                counts.connections.fetch_add(1, Ordering::Relaxed);
                tokio::spawn(session(stream, counts.clone()));
            }
            Err(e) => {
                eprintln!("smtp_sink: accept: {e}");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

/// Rewrites the stats file whenever the counts change.
async fn write_stats(path: PathBuf, counts: Arc<Counts>) {
    let tmp = path.with_extension("tmp");
    let mut last = String::new();
    loop {
        let line = format!(
            "accepted={} connections={} last_accept={:.6}\n",
            counts.accepted.load(Ordering::Relaxed),
            counts.connections.load(Ordering::Relaxed),
            counts.last_accept_us.load(Ordering::Relaxed) as f64 / 1e6,
        );
        if line != last {
            if tokio::fs::write(&tmp, &line).await.is_ok() {
                let _ = tokio::fs::rename(&tmp, &path).await;
            }
            last = line;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// One SMTP conversation: every command answered 250 (354 for DATA), every message accepted.
async fn session(stream: TcpStream, counts: Arc<Counts>) {
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::with_capacity(16 * 1024, read);
    if write.write_all(b"220 sink ESMTP\r\n").await.is_err() {
        return;
    }
    let mut line = Vec::with_capacity(1024);
    let mut in_data = false;
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let text = line.strip_suffix(b"\n").unwrap_or(&line);
        let text = text.strip_suffix(b"\r").unwrap_or(text);
        let reply: &[u8] = if in_data {
            // The message ends at a line holding one dot (a dot-stuffed line starts with two).
            if text != b"." {
                continue;
            }
            in_data = false;
            counts.accepted.fetch_add(1, Ordering::Relaxed);
            counts.last_accept_us.store(now_us(), Ordering::Relaxed);
            b"250 queued\r\n"
        } else {
            let verb = text.get(..4).map(<[u8]>::to_ascii_uppercase);
            match verb.as_deref() {
                Some(b"EHLO") => b"250-sink\r\n250 8BITMIME\r\n",
                Some(b"DATA") => {
                    in_data = true;
                    b"354 go ahead\r\n"
                }
                Some(b"QUIT") => {
                    let _ = write.write_all(b"221 bye\r\n").await;
                    return;
                }
                _ => b"250 ok\r\n",
            }
        };
        if write.write_all(reply).await.is_err() {
            return;
        }
    }
}
