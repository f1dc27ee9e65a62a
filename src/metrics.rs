//! Prometheus metrics of one server instance (no global registry, so tests can run many
//! servers in one process): requests by endpoint and code, OTPs issued, deliveries, limit hits,
//! latency.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub endpoint: &'static str,
    pub code: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct IssueLabels {
    pub brand: String,
    pub channel: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DeliveryLabels {
    pub channel: &'static str,
    pub outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct LimitLabels {
    pub brand: String,
    pub code: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CodeLabels {
    pub code: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct EndpointLabels {
    pub endpoint: &'static str,
}

pub struct Metrics {
    registry: Registry,
    pub requests: Family<RequestLabels, Counter>,
    pub otps_issued: Family<IssueLabels, Counter>,
    pub deliveries: Family<DeliveryLabels, Counter>,
    pub limit_hits: Family<LimitLabels, Counter>,
    pub unattributed_refusals: Family<CodeLabels, Counter>,
    pub latency: Family<EndpointLabels, Histogram>,
    pub outbox_depth: Gauge,
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("otpd");
        let requests = Family::<RequestLabels, Counter>::default();
        let otps_issued = Family::<IssueLabels, Counter>::default();
        let deliveries = Family::<DeliveryLabels, Counter>::default();
        let limit_hits = Family::<LimitLabels, Counter>::default();
        let unattributed_refusals = Family::<CodeLabels, Counter>::default();
        let latency = Family::<EndpointLabels, Histogram>::new_with_constructor(|| {
            Histogram::new([
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
            ])
        });
        let outbox_depth = Gauge::default();
        registry.register(
            "requests",
            "Public API requests by endpoint and answer code",
            requests.clone(),
        );
        registry.register(
            "otps_issued",
            "Codes issued by brand and channel",
            otps_issued.clone(),
        );
        registry.register(
            "deliveries",
            "Delivery attempts by channel and outcome",
            deliveries.clone(),
        );
        registry.register(
            "limit_hits",
            "Requests refused by a limit (1534, 1701, 1702)",
            limit_hits.clone(),
        );
        registry.register(
            "generate_unattributed_refusals",
            "otp/generate requests refused before naming a known brand (not in the issuance log)",
            unattributed_refusals.clone(),
        );
        registry.register("request_seconds", "Public API latency", latency.clone());
        registry.register(
            "outbox_jobs",
            "Delivery jobs waiting in the outbox",
            outbox_depth.clone(),
        );
        Self {
            registry,
            requests,
            otps_issued,
            deliveries,
            limit_hits,
            unattributed_refusals,
            latency,
            outbox_depth,
        }
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}
