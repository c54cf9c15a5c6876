//! The admin listener: metrics, health, status, kill switch, rule reload.
//!
//! Separate from the order listeners and loopback by default. State-changing
//! endpoints need `Authorization: Bearer $RISKGATE_ADMIN_TOKEN`; without that
//! variable they are disabled (403), never open. Every change is logged with
//! who, when and why, and journaled.

use std::collections::HashMap;
use std::sync::Arc;

use arc_swap::ArcSwap;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use metrics_exporter_prometheus::PrometheusHandle;
use serde_json::json;

use crate::config::Mode;
use crate::model::Fixed;
use crate::proxy::Shared;
use crate::rules::{RuleSet, TradingState};
use crate::state::{Engine, OrderPhase};
use crate::telemetry;

/// Asks the background task to reload the rules now; answers with the outcome.
pub type ReloadRequest =
    tokio::sync::mpsc::Sender<tokio::sync::oneshot::Sender<Result<u64, String>>>;

#[derive(Clone)]
pub struct AdminState {
    pub engine: Arc<Engine>,
    pub shared: Arc<Shared>,
    pub rules: Arc<ArcSwap<RuleSet>>,
    pub metrics: Option<PrometheusHandle>,
    pub token: Option<Arc<str>>,
    pub mode: Mode,
    pub venues: Vec<(String, String)>,
    pub reload: ReloadRequest,
}

pub fn router(state: AdminState) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/v1/status", get(status))
        .route("/v1/risk", get(risk))
        .route("/v1/halt", post(halt))
        .route("/v1/reduce-only", post(reduce_only))
        .route("/v1/resume", post(resume))
        .route("/v1/rules/reload", post(reload))
        .with_state(state)
}

fn error(status: StatusCode, msg: &str) -> Response {
    (status, Json(json!({ "error": msg }))).into_response()
}

/// Checks the bearer token; returns who acted (from `X-Riskgate-Operator`, default "admin").
fn authorize(s: &AdminState, headers: &HeaderMap) -> Result<String, Box<Response>> {
    let Some(token) = &s.token else {
        return Err(Box::new(error(
            StatusCode::FORBIDDEN,
            "admin actions are disabled: set RISKGATE_ADMIN_TOKEN to enable them",
        )));
    };
    let given = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    // Constant-time comparison: the token guards the kill switch.
    let ok = given.is_some_and(|g| {
        g.len() == token.len()
            && g.bytes()
                .zip(token.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    });
    if !ok {
        return Err(Box::new(error(
            StatusCode::UNAUTHORIZED,
            "missing or wrong bearer token",
        )));
    }
    let who = headers
        .get("x-riskgate-operator")
        .and_then(|v| v.to_str().ok())
        .filter(|v| v.len() <= 64)
        .unwrap_or("admin");
    Ok(who.to_string())
}

async fn set_state(
    s: AdminState,
    headers: HeaderMap,
    q: HashMap<String, String>,
    state: TradingState,
) -> Response {
    let who = match authorize(&s, &headers) {
        Ok(w) => w,
        Err(r) => return *r,
    };
    let why = q
        .get("reason")
        .map(|r| r.chars().take(256).collect::<String>())
        .unwrap_or_else(|| "no reason given".into());
    let account = match q.get("account") {
        None => None,
        Some(label) => match s.engine.account_by_label(label) {
            Some(a) => Some(a),
            None => {
                return error(
                    StatusCode::NOT_FOUND,
                    &format!("no account '{label}' (use its alias or id from /v1/status)"),
                )
            }
        },
    };
    if let Some(symbol) = q.get("symbol") {
        if state == TradingState::Active {
            let reset = s.engine.breakers.reset(symbol);
            tracing::warn!(symbol, who, why, reset, "circuit breaker reset by admin");
            return Json(json!({ "symbol": symbol, "breaker_reset": reset })).into_response();
        }
    }
    match s.engine.set_trading_state(account.as_deref(), state, &who, &why) {
        Ok(()) => Json(json!({
            "scope": account.as_ref().map(|a| a.label.to_string()).unwrap_or_else(|| "global".into()),
            "state": state.as_str(),
            "who": who,
            "why": why,
        }))
        .into_response(),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, &format!("could not journal the change: {e}")),
    }
}

async fn halt(
    State(s): State<AdminState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    set_state(s, headers, q, TradingState::Halted).await
}

async fn reduce_only(
    State(s): State<AdminState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    set_state(s, headers, q, TradingState::ReduceOnly).await
}

async fn resume(
    State(s): State<AdminState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    set_state(s, headers, q, TradingState::Active).await
}

async fn reload(State(s): State<AdminState>, headers: HeaderMap) -> Response {
    if let Err(r) = authorize(&s, &headers) {
        return *r;
    }
    let (tx, rx) = tokio::sync::oneshot::channel();
    if s.reload.send(tx).await.is_err() {
        return error(StatusCode::SERVICE_UNAVAILABLE, "reloader not running");
    }
    match rx.await {
        Ok(Ok(version)) => {
            Json(json!({ "result": "ok", "rules_version": version })).into_response()
        }
        Ok(Err(errors)) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({ "result": "error", "errors": errors })),
        )
            .into_response(),
        Err(_) => error(StatusCode::SERVICE_UNAVAILABLE, "reloader did not answer"),
    }
}

async fn readyz(State(s): State<AdminState>) -> Response {
    if s.shared.is_shutting_down() {
        return error(StatusCode::SERVICE_UNAVAILABLE, "shutting down");
    }
    let rules = s.rules.load();
    let now = s.engine.now_ms();
    let fresh = s
        .engine
        .prices
        .all()
        .iter()
        .filter(|(_, p)| now - p.seen_ms <= rules.max_price_age_ms)
        .count();
    if fresh == 0 {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "no fresh reference prices yet",
        );
    }
    (StatusCode::OK, "ready").into_response()
}

async fn metrics(State(s): State<AdminState>) -> Response {
    refresh_gauges(&s);
    match &s.metrics {
        Some(h) => ([("content-type", "text/plain; version=0.0.4")], h.render()).into_response(),
        None => error(StatusCode::NOT_FOUND, "metrics recorder not installed"),
    }
}

/// Per-account numbers for status and gauges.
fn account_view(
    s: &AdminState,
    account: &crate::state::Account,
    rules: &RuleSet,
    now_ms: i64,
) -> serde_json::Value {
    let book = account.snapshot();
    let r = rules.account(account.alias.as_deref());
    let day = now_ms.div_euclid(crate::clock::MS_PER_DAY);
    let daily = if book.day == day {
        book.daily_trades
    } else {
        0
    };
    let mut positions = Vec::new();
    let mut equity_usd = 0.0;
    let mut equity_known = true;
    let mut largest_usd: f64 = 0.0;
    for (asset, qty) in &book.holdings {
        let rate = s
            .engine
            .prices
            .usd_rate(asset, now_ms, rules.max_price_age_ms);
        let notional = rate.map(|r| qty.to_f64() * r);
        match notional {
            Some(n) => equity_usd += n,
            None => equity_known = false,
        }
        if !crate::model::USD_STABLE_ASSETS.contains(&&**asset) {
            largest_usd = largest_usd.max(notional.unwrap_or(0.0).abs());
            positions
                .push(json!({ "asset": asset, "qty": qty.to_string(), "notional_usd": notional }));
        }
    }
    let capital = r.capital_usd.or(equity_known.then_some(equity_usd));
    let unknown = book
        .open_orders
        .iter()
        .filter(|o| o.phase == OrderPhase::Unknown)
        .count();
    let open: Vec<_> = book
        .open_orders
        .iter()
        .take(100)
        .map(|o| {
            json!({
                "symbol": o.symbol, "side": o.side, "qty": o.orig_qty.to_string(), "executed_qty": o.executed_qty.to_string(),
                "remaining_qty": o.remaining().to_string(), "price": o.price.map(|p: Fixed| p.to_string()),
                "exchange_order_id": o.exchange_order_id, "client_order_id": o.client_order_id, "phase": o.phase,
            })
        })
        .collect();
    let util = |used: f64, limit: f64| if limit > 0.0 { used / limit } else { 0.0 };
    // The same figures the max_exchange_exposure rule uses (without a new order).
    let exchange_limits: Vec<_> = s
        .engine
        .exchange_exposures(account)
        .iter()
        .map(|e| {
            json!({
                "exchange": e.exchange, "limit_pct": e.limit_pct, "used_usd": e.gross_usd,
                "used_pct": e.used_pct(), "utilization": e.utilization(), "configured": e.configured,
            })
        })
        .collect();
    let position_pct = capital.map(|c| largest_usd / c * 100.0);
    json!({
        "account": account.label,
        "id": account.id.to_string(),
        "trading_state": book.trading_state.unwrap_or(TradingState::Active).as_str(),
        "trading_state_why": book.trading_state_why,
        "capital_usd": capital,
        "equity_usd": equity_known.then_some(equity_usd),
        "positions": positions,
        // Signed derivative positions per venue and instrument (also summed
        // into `positions` by base asset).
        "derivatives": book.positions.iter().map(|p| json!({
            "venue": p.venue, "symbol": p.symbol.as_str(), "qty": p.qty.to_string(),
            "entry_price": p.entry_price.to_string(),
        })).collect::<Vec<_>>(),
        "open_orders": open,
        "open_order_count": book.open_orders.len(),
        "unknown_outcome_orders": unknown,
        "limits": {
            "max_daily_trades": { "value": r.max_daily_trades, "used": daily, "utilization": util(daily as f64, r.max_daily_trades as f64) },
            "max_open_orders": { "value": r.max_open_orders, "used": book.open_orders.len(), "utilization": util(book.open_orders.len() as f64, r.max_open_orders as f64) },
            "max_single_position_pct": { "value": r.max_single_position_pct, "used": position_pct, "utilization": position_pct.map(|p| util(p, r.max_single_position_pct)) },
            "max_order_notional_usd": { "value": r.max_order_notional_usd },
            "exchange_limits": exchange_limits,
        },
    })
}

fn refresh_gauges(s: &AdminState) {
    let rules = s.rules.load();
    let now = s.engine.now_ms();
    for a in s.engine.accounts() {
        let v = account_view(s, &a, &rules, now);
        let state: f64 = match v["trading_state"].as_str() {
            Some("halted") => 2.0,
            Some("reduce_only") => 1.0,
            _ => 0.0,
        };
        let global = s.engine.global_state().state.level();
        telemetry::account_gauges(
            &a.label,
            v["limits"]["max_daily_trades"]["used"]
                .as_u64()
                .unwrap_or(0) as u32,
            v["open_order_count"].as_u64().unwrap_or(0) as usize,
            v["unknown_outcome_orders"].as_u64().unwrap_or(0) as usize,
            state.max(global),
        );
        for limit in [
            "max_daily_trades",
            "max_open_orders",
            "max_single_position_pct",
        ] {
            if let Some(u) = v["limits"][limit]["utilization"].as_f64() {
                telemetry::limit_utilization(&a.label, limit, u);
            }
        }
        for e in s.engine.exchange_exposures(&a) {
            if let (true, Some(u)) = (e.configured, e.utilization()) {
                telemetry::exchange_limit_utilization(&a.label, &e.exchange, u);
            }
        }
        for p in v["positions"].as_array().into_iter().flatten() {
            if let (Some(asset), Some(n)) = (p["asset"].as_str(), p["notional_usd"].as_f64()) {
                telemetry::position_notional(&a.label, asset, n);
            }
        }
    }
    for (id, r) in s.engine.risk.all().iter() {
        if let Some(a) = s.engine.account(*id) {
            telemetry::risk_snapshot_age(&a.label, (now - r.computed_ms) as f64 / 1000.0);
        }
    }
    let open: Vec<_> = s.engine.breakers.open(now);
    for (symbol, point) in s.engine.prices.all().into_iter().take(1000) {
        telemetry::breaker_open(symbol.as_str(), open.iter().any(|(b, _)| *b == symbol));
        telemetry::price_age(symbol.as_str(), (now - point.seen_ms) as f64 / 1000.0);
    }
}

/// The latest risk snapshot per account: the full report (every VaR/ES method,
/// volatility, correlation, ratios, attribution) and the order-path figures.
async fn risk(State(s): State<AdminState>) -> Response {
    let now = s.engine.now_ms();
    let board = s.engine.risk.all();
    let accounts: Vec<_> = s
        .engine
        .accounts()
        .iter()
        .map(|a| match board.get(&a.id) {
            None => json!({ "account": a.label, "snapshot": null, "note": "no snapshot: orders under portfolio limits are refused until one exists" }),
            Some(r) => json!({
                "account": a.label,
                "computed_ms": r.computed_ms,
                "age_s": (now - r.computed_ms) as f64 / 1000.0,
                "capital_usd": r.capital_usd,
                "equity_usd": r.equity_usd,
                "peak_equity_usd": r.peak_equity_usd,
                "drawdown_pct": r.drawdown_pct,
                "gross_exposure_usd": r.gross_exposure_usd(),
                "exposures_usd": r.incremental.assets.iter().zip(&r.exposures_usd).map(|(a, e)| json!({ "asset": a, "exposure_usd": e })).collect::<Vec<_>>(),
                "order_path": {
                    "method": "parametric normal, 60-day sample covariance",
                    "var_99_1d_usd": r.incremental.var_usd,
                    "var_95_1d_usd": r.incremental.var_usd * crate::rules::portfolio::Z95_OVER_Z99,
                },
                "report": r.report.as_deref(),
                "report_error": r.report_error,
            }),
        })
        .collect();
    Json(json!({ "accounts": accounts })).into_response()
}

async fn status(State(s): State<AdminState>) -> Response {
    let rules = s.rules.load();
    let now = s.engine.now_ms();
    let global = s.engine.global_state();
    let accounts: Vec<_> = s
        .engine
        .accounts()
        .iter()
        .map(|a| account_view(&s, a, &rules, now))
        .collect();
    let breakers: Vec<_> = s
        .engine
        .breakers
        .open(now)
        .into_iter()
        .map(|(sym, until)| json!({ "symbol": sym, "open_until_ms": until }))
        .collect();
    Json(json!({
        "mode": s.mode.as_str(),
        "rules_version": rules.version,
        "rules_files": rules.files,
        "global": global,
        "venues": s.venues.iter().map(|(n, k)| json!({ "name": n, "kind": k })).collect::<Vec<_>>(),
        "accounts": accounts,
        "circuit_breakers_open": breakers,
        "reference_prices": s.engine.prices.len(),
        "open_connections": s.shared.open_connections(),
        "notes": "orders whose outcome is unknown (no answer from the exchange) stay counted as live exposure until an order-status or open-orders answer settles them",
    }))
    .into_response()
}
