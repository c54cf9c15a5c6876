//! Every metric riskgate exports, by name, in one place; plus logging setup.
//!
//! Label values are bounded: venues and accounts come from config or the
//! account cap, rules from the closed `RejectReason` list, symbols only from
//! instruments riskgate tracks. No secrets in labels (accounts show alias or hash).

use metrics::{
    counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram, Unit,
};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

pub const ORDERS_TOTAL: &str = "riskgate_orders_total";
pub const REQUESTS_TOTAL: &str = "riskgate_requests_total";
pub const CHECK_DURATION: &str = "riskgate_check_duration_seconds";
pub const UPSTREAM_DURATION: &str = "riskgate_upstream_duration_seconds";
pub const UPSTREAM_ERRORS_TOTAL: &str = "riskgate_upstream_errors_total";
pub const POSITION_NOTIONAL: &str = "riskgate_position_notional_usd";
pub const LIMIT_UTILIZATION: &str = "riskgate_limit_utilization_ratio";
pub const ALERTS_TOTAL: &str = "riskgate_alerts_total";
pub const DAILY_TRADES: &str = "riskgate_daily_trades";
pub const OPEN_ORDERS: &str = "riskgate_open_orders";
pub const UNKNOWN_OUTCOME_ORDERS: &str = "riskgate_unknown_outcome_orders";
pub const TRADING_STATE: &str = "riskgate_trading_state";
pub const CIRCUIT_BREAKER_OPEN: &str = "riskgate_circuit_breaker_open";
pub const RULES_RELOAD_TOTAL: &str = "riskgate_rules_reload_total";
pub const RULES_VERSION: &str = "riskgate_rules_version";
pub const REFERENCE_PRICE_AGE: &str = "riskgate_reference_price_age_seconds";
pub const CONNECTIONS_REJECTED_TOTAL: &str = "riskgate_connections_rejected_total";
pub const SHADOW_WOULD_REJECT_TOTAL: &str = "riskgate_shadow_would_reject_total";
pub const VAR_USD: &str = "riskgate_var_usd";
pub const EXPECTED_SHORTFALL_USD: &str = "riskgate_expected_shortfall_usd";
pub const PORTFOLIO_VOLATILITY: &str = "riskgate_portfolio_volatility";
pub const CORRELATION: &str = "riskgate_correlation";
pub const DRAWDOWN_RATIO: &str = "riskgate_drawdown_ratio";
pub const RISK_SNAPSHOT_AGE: &str = "riskgate_risk_snapshot_age_seconds";
pub const RISK_COMPUTE_DURATION: &str = "riskgate_risk_compute_duration_seconds";

/// Latency buckets (seconds) from 1 µs to 10 s.
const DURATION_BUCKETS_S: &[f64] = &[
    1e-6, 2e-6, 5e-6, 1e-5, 2e-5, 5e-5, 1e-4, 2e-4, 5e-4, 1e-3, 2e-3, 5e-3, 1e-2, 2e-2, 5e-2, 0.1,
    0.2, 0.5, 1.0, 2.0, 5.0, 10.0,
];

/// Installs the Prometheus recorder and returns the handle `/metrics` renders.
pub fn install_metrics() -> Result<PrometheusHandle, String> {
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(
            Matcher::Suffix("_duration_seconds".into()),
            DURATION_BUCKETS_S,
        )
        .map_err(|e| e.to_string())?
        .install_recorder()
        .map_err(|e| e.to_string())?;
    describe();
    Ok(handle)
}

fn describe() {
    describe_counter!(
        ORDERS_TOTAL,
        "Orders seen, by venue, account, decision (accept/reject/would_reject) and rule"
    );
    describe_counter!(
        REQUESTS_TOTAL,
        "Requests by venue and kind (order, cancel, read, pass, refused)"
    );
    describe_histogram!(
        CHECK_DURATION,
        Unit::Seconds,
        "Time to check and reserve one order"
    );
    describe_histogram!(
        UPSTREAM_DURATION,
        Unit::Seconds,
        "Time the exchange (or paper venue) took to answer"
    );
    describe_counter!(
        UPSTREAM_ERRORS_TOTAL,
        "Upstream failures by venue and kind (connect, timeout, status_unknown)"
    );
    describe_gauge!(
        POSITION_NOTIONAL,
        Unit::Count,
        "Filled position at reference price, USD"
    );
    describe_gauge!(LIMIT_UTILIZATION, "Used / limit for each account limit");
    describe_counter!(
        ALERTS_TOTAL,
        "Limit utilisation crossing its alert level upward, by account and limit"
    );
    describe_gauge!(DAILY_TRADES, "Orders accepted today (UTC)");
    describe_gauge!(OPEN_ORDERS, "Orders counted as live");
    describe_gauge!(
        UNKNOWN_OUTCOME_ORDERS,
        "Orders whose outcome is unknown (no answer from the exchange)"
    );
    describe_gauge!(TRADING_STATE, "0 active, 1 reduce-only, 2 halted");
    describe_gauge!(
        CIRCUIT_BREAKER_OPEN,
        "1 while the symbol's circuit breaker is open"
    );
    describe_counter!(RULES_RELOAD_TOTAL, "Rule reloads by result (ok/error)");
    describe_gauge!(RULES_VERSION, "Version of the active rule set");
    describe_gauge!(
        REFERENCE_PRICE_AGE,
        Unit::Seconds,
        "Age of the reference price per tracked symbol"
    );
    describe_counter!(
        CONNECTIONS_REJECTED_TOTAL,
        "Client connections refused at the connection cap"
    );
    describe_counter!(
        SHADOW_WOULD_REJECT_TOTAL,
        "Shadow mode: orders forwarded that the rules would have refused"
    );
}

/// One venue's per-request metric handles, looked up once per worker instead
/// of once per request.
pub struct VenueMetrics {
    order: metrics::Counter,
    cancel: metrics::Counter,
    read: metrics::Counter,
    pass: metrics::Counter,
    refused: metrics::Counter,
    check_duration: metrics::Histogram,
    upstream_duration: metrics::Histogram,
}

impl VenueMetrics {
    pub fn new(venue: &'static str) -> VenueMetrics {
        let kind = |k: &'static str| counter!(REQUESTS_TOTAL, "venue" => venue, "kind" => k);
        VenueMetrics {
            order: kind("order"),
            cancel: kind("cancel"),
            read: kind("read"),
            pass: kind("pass"),
            refused: kind("refused"),
            check_duration: histogram!(CHECK_DURATION),
            upstream_duration: histogram!(UPSTREAM_DURATION, "venue" => venue),
        }
    }

    pub fn request(&self, kind: &'static str) {
        match kind {
            "order" => self.order.increment(1),
            "cancel" => self.cancel.increment(1),
            "read" => self.read.increment(1),
            "pass" => self.pass.increment(1),
            _ => self.refused.increment(1),
        }
    }

    pub fn check_duration(&self, seconds: f64) {
        self.check_duration.record(seconds);
    }

    pub fn upstream_duration(&self, seconds: f64) {
        self.upstream_duration.record(seconds);
    }
}

/// The accepted-orders counter for one (venue, account): cached by the account.
pub fn accepted_counter(venue: &'static str, account: &str) -> metrics::Counter {
    counter!(ORDERS_TOTAL, "venue" => venue, "account" => account.to_string(), "decision" => "accept", "rule" => "none")
}

pub fn order_decision(
    venue: &'static str,
    account: &str,
    decision: &'static str,
    rule: &'static str,
) {
    counter!(ORDERS_TOTAL, "venue" => venue, "account" => account.to_string(), "decision" => decision, "rule" => rule).increment(1);
}

pub fn upstream_error(venue: &'static str, kind: &'static str) {
    counter!(UPSTREAM_ERRORS_TOTAL, "venue" => venue, "kind" => kind).increment(1);
}

pub fn rules_reload(ok: bool, version: u64) {
    counter!(RULES_RELOAD_TOTAL, "result" => if ok { "ok" } else { "error" }).increment(1);
    if ok {
        gauge!(RULES_VERSION).set(version as f64);
    }
}

pub fn connection_rejected(venue: &'static str) {
    counter!(CONNECTIONS_REJECTED_TOTAL, "venue" => venue).increment(1);
}

pub fn shadow_would_reject(venue: &'static str, rule: &'static str) {
    counter!(SHADOW_WOULD_REJECT_TOTAL, "venue" => venue, "rule" => rule).increment(1);
}

pub fn account_gauges(
    account: &str,
    daily_trades: u32,
    open_orders: usize,
    unknown: usize,
    state: f64,
) {
    gauge!(DAILY_TRADES, "account" => account.to_string()).set(daily_trades as f64);
    gauge!(OPEN_ORDERS, "account" => account.to_string()).set(open_orders as f64);
    gauge!(UNKNOWN_OUTCOME_ORDERS, "account" => account.to_string()).set(unknown as f64);
    gauge!(TRADING_STATE, "account" => account.to_string()).set(state);
}

pub fn position_notional(account: &str, asset: &str, usd: f64) {
    gauge!(POSITION_NOTIONAL, "account" => account.to_string(), "symbol" => asset.to_string())
        .set(usd);
}

pub fn limit_utilization(account: &str, limit: &'static str, ratio: f64) {
    gauge!(LIMIT_UTILIZATION, "account" => account.to_string(), "limit" => limit).set(ratio);
}

/// `riskgate_limit_utilization_ratio{limit="exchange:<exchange>"}` for an
/// `[exchange_limits]` entry. Only configured exchanges (a closed set: one per
/// venue kind) are published, so the label stays bounded.
pub fn exchange_limit_utilization(account: &str, exchange: &str, ratio: f64) {
    gauge!(LIMIT_UTILIZATION, "account" => account.to_string(), "limit" => format!("exchange:{exchange}")).set(ratio);
}

pub fn alert(account: &str, limit: &'static str) {
    counter!(ALERTS_TOTAL, "account" => account.to_string(), "limit" => limit).increment(1);
}

pub fn breaker_open(symbol: &str, open: bool) {
    gauge!(CIRCUIT_BREAKER_OPEN, "symbol" => symbol.to_string()).set(if open { 1.0 } else { 0.0 });
}

pub fn price_age(symbol: &str, age_s: f64) {
    gauge!(REFERENCE_PRICE_AGE, "symbol" => symbol.to_string()).set(age_s);
}

pub fn risk_compute_duration(seconds: f64) {
    histogram!(RISK_COMPUTE_DURATION).record(seconds);
}

pub fn risk_snapshot_age(account: &str, age_s: f64) {
    gauge!(RISK_SNAPSHOT_AGE, "account" => account.to_string()).set(age_s);
}

/// Gauges from one account's freshly computed risk.
pub fn account_risk(account: &str, risk: &crate::risk::AccountRisk) {
    gauge!(DRAWDOWN_RATIO, "account" => account.to_string()).set(risk.drawdown_pct / 100.0);
    let Some(report) = &risk.report else { return };
    gauge!(PORTFOLIO_VOLATILITY, "account" => account.to_string())
        .set(report.portfolio_vol_annualised_frac_of_capital);
    for v in &report.var {
        let method = format!("{:?}", v.method).to_ascii_lowercase();
        let confidence = format!("{}", v.confidence);
        let horizon = format!("{}d", v.horizon_days);
        gauge!(VAR_USD, "account" => account.to_string(), "method" => method.clone(), "confidence" => confidence.clone(), "horizon" => horizon.clone()).set(v.var_usd);
        gauge!(EXPECTED_SHORTFALL_USD, "account" => account.to_string(), "method" => method, "confidence" => confidence, "horizon" => horizon).set(v.es_usd);
    }
    for (i, a) in report.assets.iter().enumerate() {
        for (j, b) in report.assets.iter().enumerate().skip(i + 1) {
            if let Some(rho) = report.correlation.get(i).and_then(|r| r.get(j)) {
                gauge!(CORRELATION, "a" => a.clone(), "b" => b.clone()).set(*rho);
            }
        }
    }
}

/// Logging: human-readable by default, JSON with `RISKGATE_LOG_FORMAT=json`;
/// level from `RUST_LOG` (default info).
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let json = std::env::var("RISKGATE_LOG_FORMAT").is_ok_and(|v| v == "json");
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

#[cfg(test)]
mod exchange_limit_tests {
    #[test]
    fn exchange_limits_publish_under_a_bounded_exchange_label() {
        let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        metrics::with_local_recorder(&recorder, || {
            super::exchange_limit_utilization("main", "okx", 0.25)
        });
        let text = handle.render();
        assert!(
            text.contains(
                "riskgate_limit_utilization_ratio{account=\"main\",limit=\"exchange:okx\"} 0.25"
            ),
            "{text}"
        );
    }
}
