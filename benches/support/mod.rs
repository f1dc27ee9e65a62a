//! What the in-process benchmarks share: a sender that drops messages, the demo brand on a
//! fresh server without limits in the way, and the service layer's request bodies.

#![allow(dead_code)] // reason: each benchmark uses part of it

use std::path::Path;
use std::sync::Arc;

use otpd::config::Config;
use otpd::delivery::{BoxFuture, OutgoingMessage, SendError, SendReceipt, Sender};
use otpd::domain::{BrandName, Flow};
use otpd::service::{Operation, RequestContext};
use serde_json::{Map, Value, json};

/// The allocator otpd runs with (src/main.rs): a benchmark on the system's would measure
/// another program.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Takes messages and drops them: otpd is measured, not a provider.
pub struct NullSender;

impl Sender for NullSender {
    fn send<'a>(
        &'a self,
        _msg: &'a OutgoingMessage<'a>,
    ) -> BoxFuture<'a, Result<SendReceipt, SendError>> {
        Box::pin(async {
            Ok(SendReceipt {
                provider_status: "null".into(),
            })
        })
    }
}

/// otpd on a store in `dir` (periodic durability, no client rate limit, loopback ports of the
/// system's choice), its messages dropped; the demo brand allows 1,000 codes a day per
/// customer with no resend cooldown.
pub async fn start_demo(dir: &Path) -> otpd::RunningServer {
    let config = Config {
        data_dir: dir.to_path_buf(),
        public_listen: "127.0.0.1:0".parse().unwrap(),
        admin_listen: "127.0.0.1:0".parse().unwrap(),
        durability: otpd::store::Durability::Periodic,
        client_rate_limit_per_minute: 0,
        ..Config::default()
    };
    let options = otpd::RunOptions {
        log_sender: Some(Arc::new(NullSender)),
        ..otpd::RunOptions::default()
    };
    let server = otpd::run(config, options).await.unwrap();
    let demo = BrandName::parse("DEMO").unwrap();
    server
        .services
        .store
        .update_brand::<otpd::store::StoreError>(&demo, |mut b| {
            b.settings.daily_otp_limit = 1000;
            b.settings.resend_cooldown_seconds = 0;
            Ok(b)
        })
        .await
        .unwrap();
    server
}

/// The context of a request to `path` from one client.
pub fn context(operation: Operation, path: &'static str) -> RequestContext {
    RequestContext {
        operation,
        flow: Flow::Mobile,
        path,
        client: "192.0.2.7".parse().unwrap(),
        fallback_channel: None,
    }
}

/// A demo-brand request body for customer number `customer` (a mobile number of its own),
/// on `session` when given.
pub fn body(customer: usize, session: Option<&str>) -> Map<String, Value> {
    let mut v = json!({"identifierType": "MOBILE", "identifierValue": format!("8490{customer:07}"), "brand": "DEMO", "deviceId": "bench"});
    if let Some(s) = session {
        v["sessionId"] = json!(s);
    }
    v.as_object().unwrap().clone()
}
