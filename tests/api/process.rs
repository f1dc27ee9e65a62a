//! The real `otpd` binary as a process: started on a free port, its log (stdout) collected,
//! ready when `/health/ready` answers; the codes the DEMO brand's LOG channel wrote.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running `otpd serve` and everything it has logged so far.
pub struct Serving {
    pub child: Child,
    pub output: Arc<Mutex<String>>,
    /// `http://127.0.0.1:<public port>`
    pub base: String,
}

/// Runs `command` (an `otpd serve` whose public listener is on `port`), collects its stdout,
/// and waits up to 15 s for it to be ready; panics with its log when it is not.
pub async fn serve(mut command: Command, port: u16) -> Serving {
    let mut child = command
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let output = Arc::new(Mutex::new(String::new()));
    let sink = output.clone();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let mut s = sink.lock().unwrap();
            s.push_str(&line);
            s.push('\n');
        }
    });
    let base = format!("http://127.0.0.1:{port}");
    for _ in 0..150 {
        if reqwest::get(format!("{base}/health/ready"))
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            return Serving {
                child,
                output,
                base,
            };
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("otpd did not start: {}", output.lock().unwrap());
}

/// The codes in the LOG-channel lines of `output` (`text=<code> is your DEMO code…`).
pub fn logged_codes(output: &Mutex<String>) -> Vec<String> {
    output
        .lock()
        .unwrap()
        .lines()
        .filter(|l| l.contains("LOG channel delivery"))
        .filter_map(|l| {
            l.split("text=")
                .nth(1)
                .and_then(|t| t.split_whitespace().next())
                .map(str::to_owned)
        })
        .collect()
}
