//! OKX v5 order and cancel bodies → `model::NewOrder` / `OrderRef`, strictly.
//!
//! Bodies are JSON: one object (`/trade/order`) or an array of up to 20
//! (`/trade/batch-orders`, which ccxt uses even for one order). Every field
//! riskgate does not know is refused, and so is a repeated field (serde's derive
//! rejects duplicates): the exchange might read the other copy. Values are JSON
//! strings as OKX documents them; a JSON number for `sz` or `px` is refused.
//! Must not decide anything about risk: it only translates.

use serde::Deserialize;

use super::instruments::ContractValues;
use crate::model::{
    AmendMode, AmendRequest, Contract, Fixed, NewOrder, OrderKind, OrderRef, Side, Symbol,
    TimeInForce,
};
use crate::rules::{RejectReason, Rejection};
use crate::venue::canonical::truncate;

/// OKX's limit on orders per batch request.
pub const MAX_BATCH_ORDERS: usize = 20;
/// OKX: `clOrdId` is up to 32 letters and digits.
const MAX_CLIENT_ORDER_ID_LEN: usize = 32;
/// Longest instrument id accepted (`BTC-USDT-SWAP` is 13).
const MAX_INST_ID_LEN: usize = 40;

fn malformed(msg: impl Into<String>) -> Rejection {
    Rejection::new(RejectReason::MalformedRequest, msg)
}

/// `true`/`false` as a JSON bool or the strings OKX also accepts.
#[derive(Deserialize)]
#[serde(untagged)]
enum WireBool {
    Bool(bool),
    Text(String),
}

impl WireBool {
    fn get(&self, name: &str) -> Result<bool, Rejection> {
        match self {
            WireBool::Bool(b) => Ok(*b),
            WireBool::Text(t) if t == "true" => Ok(true),
            WireBool::Text(t) if t == "false" => Ok(false),
            WireBool::Text(t) => Err(malformed(format!(
                "'{name}'='{}' is not true or false",
                truncate(t, 24)
            ))),
        }
    }
}

/// `POST /api/v5/trade/order` body, every documented field.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct WireOrder {
    inst_id: Option<String>,
    td_mode: Option<String>,
    ccy: Option<String>,
    cl_ord_id: Option<String>,
    tag: Option<String>,
    side: Option<String>,
    pos_side: Option<String>,
    ord_type: Option<String>,
    sz: Option<String>,
    px: Option<String>,
    reduce_only: Option<WireBool>,
    tgt_ccy: Option<String>,
    ban_amend: Option<WireBool>,
    quick_mgn_type: Option<String>,
    stp_id: Option<String>,
    stp_mode: Option<String>,
    trade_quote_ccy: Option<String>,
    /// Take-profit / stop-loss attached to the order: they can only close what
    /// the order opens, so they add no exposure of their own.
    attach_algo_ords: Option<Vec<serde_json::Value>>,
}

/// `POST /api/v5/trade/cancel-order` body (and each entry of `cancel-batch-orders`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct WireCancel {
    inst_id: Option<String>,
    ord_id: Option<String>,
    cl_ord_id: Option<String>,
}

/// `POST /api/v5/trade/amend-order` body, every documented field except the
/// option-only `newPxUsd` / `newPxVol` (options are not supported).
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct WireAmend {
    inst_id: Option<String>,
    cxl_on_fail: Option<WireBool>,
    ord_id: Option<String>,
    cl_ord_id: Option<String>,
    req_id: Option<String>,
    new_sz: Option<String>,
    new_px: Option<String>,
    px_amend_type: Option<String>,
    /// Take-profit / stop-loss changes only move the prices at which the
    /// position closes: no exposure of their own.
    attach_algo_ords: Option<Vec<serde_json::Value>>,
    new_tp_trigger_px: Option<String>,
    new_tp_ord_px: Option<String>,
    new_sl_trigger_px: Option<String>,
    new_sl_ord_px: Option<String>,
    new_tp_trigger_px_type: Option<String>,
    new_sl_trigger_px_type: Option<String>,
    new_tp_ord_kind: Option<String>,
}

/// An OKX instrument id, split.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InstId {
    /// `BTC-USDT`: riskgate's symbol is the concatenation (`BTCUSDT`), the name
    /// the rules, the reference prices and the simulated market use.
    Spot { base: String, quote: String },
    /// `BTC-USDT-SWAP`: a perpetual, sized in contracts.
    Swap { base: String, quote: String },
}

impl InstId {
    pub fn parse(s: &str) -> Result<InstId, Rejection> {
        let bad = || malformed(format!("invalid instId '{}'", truncate(s, 24)));
        if s.is_empty() || s.len() > MAX_INST_ID_LEN {
            return Err(bad());
        }
        let parts: Vec<&str> = s.split('-').collect();
        let asset_ok = |a: &str| {
            !a.is_empty()
                && a.len() <= 15
                && a.bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        };
        match parts.as_slice() {
            [b, q] if asset_ok(b) && asset_ok(q) => Ok(InstId::Spot {
                base: (*b).into(),
                quote: (*q).into(),
            }),
            [b, q, "SWAP"] if asset_ok(b) && asset_ok(q) => Ok(InstId::Swap {
                base: (*b).into(),
                quote: (*q).into(),
            }),
            [_, _, _] | [_, _, _, _, _] if parts.iter().all(|p| !p.is_empty()) => {
                Err(Rejection::new(
                    RejectReason::SymbolNotAllowed,
                    format!(
                        "instrument '{}': only SPOT and SWAP instruments are supported",
                        truncate(s, 24)
                    ),
                ))
            }
            _ => Err(bad()),
        }
    }

    /// The symbol riskgate's rules and state know the instrument by.
    pub fn symbol(&self) -> Symbol {
        match self {
            InstId::Spot { base, quote } => Symbol::new(&format!("{base}{quote}")),
            InstId::Swap { base, quote } => Symbol::new(&format!("{base}-{quote}-SWAP")),
        }
    }

    /// OKX's spelling.
    pub fn okx(&self) -> String {
        match self {
            InstId::Spot { base, quote } => format!("{base}-{quote}"),
            InstId::Swap { base, quote } => format!("{base}-{quote}-SWAP"),
        }
    }
}

/// The riskgate symbol for an instId seen in an answer (lenient: None when unreadable).
pub fn symbol_of(inst_id: &str) -> Option<Symbol> {
    InstId::parse(inst_id).ok().map(|i| i.symbol())
}

/// OKX's spelling of a riskgate spot symbol (`BTCUSDT` → `BTC-USDT`), for the
/// public market-data paths.
pub fn okx_spot_inst_id(symbol: &str) -> Option<String> {
    let i = crate::model::Instrument::from_concatenated(symbol)?;
    Some(format!("{}-{}", i.base, i.quote))
}

fn positive(name: &str, v: &Option<String>) -> Result<Option<Fixed>, Rejection> {
    match v {
        None => Ok(None),
        Some(s) => match Fixed::parse(s) {
            Ok(f) if f.is_positive() => Ok(Some(f)),
            Ok(_) => Err(malformed(format!("'{name}' must be greater than zero"))),
            Err(e) => Err(malformed(format!("'{name}'='{}': {e}", truncate(s, 24)))),
        },
    }
}

fn short_token(name: &str, v: &Option<String>, max_len: usize) -> Result<(), Rejection> {
    match v {
        Some(s)
            if s.len() > max_len || !s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') =>
        {
            Err(malformed(format!("invalid '{name}'")))
        }
        _ => Ok(()),
    }
}

/// Contracts × contract value, exactly, in base units.
fn contracts_to_base(contracts: Fixed, ct_val: Fixed) -> Option<Fixed> {
    let scaled = (contracts.0 as i128).checked_mul(ct_val.0 as i128)?
        / crate::model::decimal::FIXED_SCALE as i128;
    i64::try_from(scaled).ok().filter(|v| *v > 0).map(Fixed)
}

fn parse_one(w: WireOrder, contracts: &ContractValues) -> Result<NewOrder, Rejection> {
    let inst = InstId::parse(
        w.inst_id
            .as_deref()
            .ok_or_else(|| malformed("missing field 'instId'"))?,
    )?;
    let is_spot = matches!(inst, InstId::Spot { .. });
    match w.td_mode.as_deref() {
        Some("cash" | "spot_isolated") if is_spot => {}
        Some("cross" | "isolated") => {}
        Some(other) => {
            return Err(malformed(format!(
                "tdMode '{}' not valid for {}",
                truncate(other, 24),
                inst.okx()
            )))
        }
        None => return Err(malformed("missing field 'tdMode'")),
    }
    let side = match w.side.as_deref() {
        Some("buy") => Side::Buy,
        Some("sell") => Side::Sell,
        Some(other) => return Err(malformed(format!("invalid side '{}'", truncate(other, 24)))),
        None => return Err(malformed("missing field 'side'")),
    };
    // Hedge (long/short) mode: selling the long side or buying the short side
    // closes a position, which OKX enforces, so the order can only reduce.
    let closes_hedged_side = match w.pos_side.as_deref() {
        None | Some("net") => false,
        Some("long") => side == Side::Sell,
        Some("short") => side == Side::Buy,
        Some(other) => {
            return Err(malformed(format!(
                "invalid posSide '{}'",
                truncate(other, 24)
            )))
        }
    };
    let reduce_only_flag = match &w.reduce_only {
        Some(b) => b.get("reduceOnly")?,
        None => false,
    };
    if let Some(b) = &w.ban_amend {
        b.get("banAmend")?;
    }
    let (kind, time_in_force, needs_price) = match w.ord_type.as_deref() {
        Some("market") => (OrderKind::Market, None, false),
        Some("limit") => (OrderKind::Limit, Some(TimeInForce::Gtc), true),
        Some("post_only") => (OrderKind::LimitMaker, Some(TimeInForce::Gtc), true),
        Some("fok") => (OrderKind::Limit, Some(TimeInForce::Fok), true),
        Some("ioc") => (OrderKind::Limit, Some(TimeInForce::Ioc), true),
        // Market-like IOC at the best price: OKX allows it on derivatives only.
        Some("optimal_limit_ioc") if !is_spot => (OrderKind::Market, Some(TimeInForce::Ioc), false),
        Some(other) => {
            return Err(malformed(format!(
                "unsupported ordType '{}' for {}",
                truncate(other, 24),
                inst.okx()
            )))
        }
        None => return Err(malformed("missing field 'ordType'")),
    };
    let sz = positive("sz", &w.sz)?.ok_or_else(|| malformed("missing field 'sz'"))?;
    let price = positive("px", &w.px)?;
    match (needs_price, price) {
        (true, None) => return Err(malformed("limit-type order needs 'px'")),
        (false, Some(_)) => return Err(malformed("market-type order must not carry 'px'")),
        _ => {}
    }
    short_token("clOrdId", &w.cl_ord_id, MAX_CLIENT_ORDER_ID_LEN)?;
    short_token("tag", &w.tag, 16)?;
    short_token("stpId", &w.stp_id, 32)?;
    short_token("ccy", &w.ccy, 15)?;
    short_token("tradeQuoteCcy", &w.trade_quote_ccy, 15)?;
    match w.stp_mode.as_deref() {
        None | Some("cancel_maker" | "cancel_taker" | "cancel_both") => {}
        Some(_) => return Err(malformed("invalid 'stpMode'")),
    }
    match w.quick_mgn_type.as_deref() {
        None | Some("manual" | "auto_borrow" | "auto_repay") => {}
        Some(_) => return Err(malformed("invalid 'quickMgnType'")),
    }
    if let Some(t) = &w.trade_quote_ccy {
        // Trading a spot pair in another quote currency would price it differently.
        if !matches!(&inst, InstId::Spot { quote, .. } if quote == t) {
            return Err(malformed(
                "'tradeQuoteCcy' other than the instrument's quote",
            ));
        }
    }

    // Size: spot market orders may be in quote currency. OKX's default when
    // `tgtCcy` is absent is quote for market BUYS and base for sells.
    let (qty, quote_qty) = match (&inst, kind, w.tgt_ccy.as_deref()) {
        (InstId::Spot { .. }, OrderKind::Market, Some("quote_ccy")) => (None, Some(sz)),
        (InstId::Spot { .. }, OrderKind::Market, Some("base_ccy")) => (Some(sz), None),
        (InstId::Spot { .. }, OrderKind::Market, None) if side == Side::Buy => (None, Some(sz)),
        (InstId::Spot { .. }, _, None | Some("base_ccy")) => (Some(sz), None),
        (InstId::Spot { .. }, _, Some(other)) => {
            return Err(malformed(format!(
                "tgtCcy '{}' not valid for a {} order",
                truncate(other, 24),
                w.ord_type.as_deref().unwrap_or("")
            )))
        }
        (InstId::Swap { .. }, _, Some(_)) => {
            return Err(malformed("'tgtCcy' applies to spot market orders only"))
        }
        (InstId::Swap { .. }, _, None) => {
            // `sz` counts contracts: the base quantity needs the contract value,
            // learned from `/api/v5/public/instruments`. Unknown → refuse.
            let Some(ct_val) = contracts.get(&inst.okx()) else {
                return Err(Rejection::new(
                    RejectReason::MarketDataStale,
                    format!(
                        "contract value of {} unknown (riskgate learns it from GET /api/v5/public/instruments?instType=SWAP)",
                        inst.okx()
                    ),
                ));
            };
            let qty = contracts_to_base(sz, ct_val)
                .ok_or_else(|| malformed("'sz' × contract value out of range"))?;
            (Some(qty), None)
        }
    };
    if let Some(algos) = &w.attach_algo_ords {
        if algos.len() > 10 || algos.iter().any(|a| !a.is_object()) {
            return Err(malformed("invalid 'attachAlgoOrds'"));
        }
    }
    Ok(NewOrder {
        symbol: inst.symbol(),
        side,
        kind,
        qty,
        quote_qty,
        price,
        stop_price: None,
        time_in_force,
        client_order_id: w.cl_ord_id.filter(|c| !c.is_empty()).map(Into::into),
        reduce_only: reduce_only_flag || closes_hedged_side,
        contract: if is_spot {
            Contract::Spot
        } else {
            Contract::Linear
        },
        test_only: false,
    })
}

fn first_non_space(body: &[u8]) -> Option<u8> {
    body.iter().copied().find(|b| !b.is_ascii_whitespace())
}

/// Parses `/trade/order` (one object) or `/trade/batch-orders` (array) bodies.
/// `batch` says which endpoint it came to: OKX takes only that shape there.
pub fn parse_orders(
    body: &[u8],
    batch: bool,
    contracts: &ContractValues,
) -> Result<Vec<NewOrder>, Rejection> {
    let wire: Vec<WireOrder> = match (batch, first_non_space(body)) {
        (true, Some(b'[')) => serde_json::from_slice(body)
            .map_err(|e| malformed(format!("batch body: {}", truncate(&e.to_string(), 120))))?,
        (false, Some(b'{')) => vec![serde_json::from_slice(body)
            .map_err(|e| malformed(format!("order body: {}", truncate(&e.to_string(), 120))))?],
        (true, _) => return Err(malformed("batch-orders body must be a JSON array")),
        (false, _) => return Err(malformed("order body must be a JSON object")),
    };
    if wire.is_empty() || wire.len() > MAX_BATCH_ORDERS {
        return Err(malformed(format!(
            "a batch holds 1 to {MAX_BATCH_ORDERS} orders, not {}",
            wire.len()
        )));
    }
    wire.into_iter()
        .enumerate()
        .map(|(i, w)| {
            parse_one(w, contracts).map_err(|mut r| {
                if batch {
                    r.message = format!("order {i}: {}", r.message);
                }
                r
            })
        })
        .collect()
}

/// Parses an `/api/v5/trade/amend-order` body (one object; also used by the
/// paper exchange). `newSz` is the new total size, fills included (OKX's
/// rule), in contracts for swaps: converted to base units with the learned
/// contract value, like an order's `sz`.
pub fn parse_amend(body: &[u8], contracts: &ContractValues) -> Result<AmendRequest, Rejection> {
    if first_non_space(body) != Some(b'{') {
        return Err(malformed("amend body must be a JSON object"));
    }
    let w: WireAmend = serde_json::from_slice(body)
        .map_err(|e| malformed(format!("amend body: {}", truncate(&e.to_string(), 120))))?;
    let CancelRef { symbol, order } = parse_cancel(WireCancel {
        inst_id: w.inst_id.clone(),
        ord_id: w.ord_id.clone(),
        cl_ord_id: w.cl_ord_id.clone(),
    })?;
    let inst = InstId::parse(w.inst_id.as_deref().unwrap_or(""))?;
    if let Some(b) = &w.cxl_on_fail {
        b.get("cxlOnFail")?;
    }
    short_token("reqId", &w.req_id, MAX_CLIENT_ORDER_ID_LEN)?;
    match w.px_amend_type.as_deref() {
        None | Some("0" | "1") => {}
        Some(_) => return Err(malformed("invalid 'pxAmendType'")),
    }
    for (name, v) in [
        ("newTpTriggerPx", &w.new_tp_trigger_px),
        ("newTpOrdPx", &w.new_tp_ord_px),
        ("newSlTriggerPx", &w.new_sl_trigger_px),
        ("newSlOrdPx", &w.new_sl_ord_px),
    ] {
        // "-1": at the market; "0": delete the take-profit or stop-loss.
        if !matches!(v.as_deref(), Some("-1" | "0")) {
            positive(name, v)?;
        }
    }
    for (name, v) in [
        ("newTpTriggerPxType", &w.new_tp_trigger_px_type),
        ("newSlTriggerPxType", &w.new_sl_trigger_px_type),
        ("newTpOrdKind", &w.new_tp_ord_kind),
    ] {
        short_token(name, v, 16)?;
    }
    if let Some(algos) = &w.attach_algo_ords {
        if algos.len() > 10 || algos.iter().any(|a| !a.is_object()) {
            return Err(malformed("invalid 'attachAlgoOrds'"));
        }
    }
    let new_px = positive("newPx", &w.new_px)?;
    let new_qty = match (positive("newSz", &w.new_sz)?, &inst) {
        (None, _) => None,
        (Some(sz), InstId::Spot { .. }) => Some(sz),
        (Some(sz), InstId::Swap { .. }) => {
            let Some(ct_val) = contracts.get(&inst.okx()) else {
                return Err(Rejection::new(
                    RejectReason::MarketDataStale,
                    format!(
                        "contract value of {} unknown (riskgate learns it from GET /api/v5/public/instruments?instType=SWAP)",
                        inst.okx()
                    ),
                ));
            };
            Some(
                contracts_to_base(sz, ct_val)
                    .ok_or_else(|| malformed("'newSz' × contract value out of range"))?,
            )
        }
    };
    let label = match &order {
        OrderRef::ExchangeId(id) => id.to_string(),
        OrderRef::ClientId(c) => c.to_string(),
    };
    Ok(AmendRequest {
        target: order,
        target_label: label.into(),
        symbol: Some(symbol),
        contract: Some(match inst {
            InstId::Spot { .. } => Contract::Spot,
            InstId::Swap { .. } => Contract::Linear,
        }),
        new_qty,
        new_price: new_px,
        new_trigger_price: None,
        positional_prices: None,
        mode: AmendMode::InPlace,
    })
}

/// One cancel: the instrument and which order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CancelRef {
    pub symbol: Symbol,
    pub order: OrderRef,
}

fn parse_cancel(w: WireCancel) -> Result<CancelRef, Rejection> {
    let inst = InstId::parse(
        w.inst_id
            .as_deref()
            .ok_or_else(|| malformed("missing field 'instId'"))?,
    )?;
    let order = match (w.ord_id.as_deref(), w.cl_ord_id.as_deref()) {
        // OKX prefers ordId when both are given.
        (Some(id), _) if !id.is_empty() => OrderRef::ExchangeId(
            id.parse::<i64>()
                .ok()
                .filter(|v| *v > 0)
                .ok_or_else(|| malformed("invalid 'ordId'"))?,
        ),
        (_, Some(c)) if !c.is_empty() => {
            short_token("clOrdId", &w.cl_ord_id, MAX_CLIENT_ORDER_ID_LEN)?;
            OrderRef::ClientId(c.into())
        }
        _ => return Err(malformed("cancel needs 'ordId' or 'clOrdId'")),
    };
    Ok(CancelRef {
        symbol: inst.symbol(),
        order,
    })
}

/// Parses `/trade/cancel-order` (object) or `/trade/cancel-batch-orders` (array).
pub fn parse_cancels(body: &[u8], batch: bool) -> Result<Vec<CancelRef>, Rejection> {
    let wire: Vec<WireCancel> = match (batch, first_non_space(body)) {
        (true, Some(b'[')) => serde_json::from_slice(body)
            .map_err(|e| malformed(format!("cancel body: {}", truncate(&e.to_string(), 120))))?,
        (false, Some(b'{')) => vec![serde_json::from_slice(body)
            .map_err(|e| malformed(format!("cancel body: {}", truncate(&e.to_string(), 120))))?],
        _ => return Err(malformed("cancel body has the wrong JSON shape")),
    };
    if wire.is_empty() || wire.len() > MAX_BATCH_ORDERS {
        return Err(malformed("a cancel batch holds 1 to 20 orders"));
    }
    wire.into_iter().map(parse_cancel).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(s: &str) -> Fixed {
        Fixed::parse(s).unwrap()
    }

    fn one(body: &str) -> Result<NewOrder, Rejection> {
        parse_orders(body.as_bytes(), false, &ContractValues::default()).map(|mut v| v.remove(0))
    }

    fn reason(body: &str) -> RejectReason {
        one(body).unwrap_err().reason
    }

    #[test]
    fn parses_what_ccxt_sends_for_a_spot_limit_order() {
        // ccxt okx.create_order('BTC/USDT', 'limit', 'buy', 0.01, 60000): a batch of one.
        let body = br#"[{"instId":"BTC-USDT","side":"buy","ordType":"limit","sz":"0.01","px":"60000","tdMode":"cash","clOrdId":"e847386590ce4dBC1a2b3c4d5e6f7a8b","tag":"e847386590ce4dBC"}]"#;
        let orders = parse_orders(body, true, &ContractValues::default()).unwrap();
        assert_eq!(orders.len(), 1);
        let o = &orders[0];
        assert_eq!(o.symbol.as_str(), "BTCUSDT");
        assert_eq!(o.side, Side::Buy);
        assert_eq!(o.kind, OrderKind::Limit);
        assert_eq!(o.qty, Some(f("0.01")));
        assert_eq!(o.quote_qty, None);
        assert_eq!(o.price, Some(f("60000")));
        assert_eq!(o.time_in_force, Some(TimeInForce::Gtc));
        assert_eq!(
            o.client_order_id.as_deref(),
            Some("e847386590ce4dBC1a2b3c4d5e6f7a8b")
        );
        assert!(!o.reduce_only && !o.test_only);
        assert_eq!(o.contract, Contract::Spot);
    }

    #[test]
    fn spot_market_buy_is_sized_in_quote_unless_told_otherwise() {
        let o = one(
            r#"{"instId":"BTC-USDT","tdMode":"cash","side":"buy","ordType":"market","sz":"100"}"#,
        )
        .unwrap();
        assert_eq!((o.qty, o.quote_qty), (None, Some(f("100"))));
        let o = one(r#"{"instId":"BTC-USDT","tdMode":"cash","side":"buy","ordType":"market","sz":"0.5","tgtCcy":"base_ccy"}"#).unwrap();
        assert_eq!((o.qty, o.quote_qty), (Some(f("0.5")), None));
        let o = one(
            r#"{"instId":"BTC-USDT","tdMode":"cash","side":"sell","ordType":"market","sz":"0.5"}"#,
        )
        .unwrap();
        assert_eq!((o.qty, o.quote_qty), (Some(f("0.5")), None));
        let o = one(r#"{"instId":"BTC-USDT","tdMode":"cash","side":"sell","ordType":"market","sz":"300","tgtCcy":"quote_ccy"}"#).unwrap();
        assert_eq!((o.qty, o.quote_qty), (None, Some(f("300"))));
        // Quote sizing on a limit order is not something OKX defines: refuse.
        assert_eq!(
            reason(
                r#"{"instId":"BTC-USDT","tdMode":"cash","side":"buy","ordType":"limit","sz":"1","px":"1","tgtCcy":"quote_ccy"}"#
            ),
            RejectReason::MalformedRequest
        );
    }

    #[test]
    fn order_types_map_to_kind_and_time_in_force() {
        let t = |ord_type: &str| {
            let o = one(&format!(r#"{{"instId":"ETH-USDT","tdMode":"cash","side":"sell","ordType":"{ord_type}","sz":"1","px":"3000"}}"#)).unwrap();
            (o.kind, o.time_in_force)
        };
        assert_eq!(
            t("post_only"),
            (OrderKind::LimitMaker, Some(TimeInForce::Gtc))
        );
        assert_eq!(t("fok"), (OrderKind::Limit, Some(TimeInForce::Fok)));
        assert_eq!(t("ioc"), (OrderKind::Limit, Some(TimeInForce::Ioc)));
        for bad in ["optimal_limit_ioc", "mmp", "twap", "LIMIT", ""] {
            assert_eq!(
                reason(&format!(
                    r#"{{"instId":"ETH-USDT","tdMode":"cash","side":"sell","ordType":"{bad}","sz":"1","px":"3000"}}"#
                )),
                RejectReason::MalformedRequest,
                "{bad}"
            );
        }
    }

    #[test]
    fn refuses_ambiguous_or_unknown_input() {
        for body in [
            // duplicated field: OKX might read either copy
            r#"{"instId":"BTC-USDT","tdMode":"cash","side":"buy","ordType":"limit","sz":"1","sz":"1000","px":"1"}"#,
            // unknown field
            r#"{"instId":"BTC-USDT","tdMode":"cash","side":"buy","ordType":"limit","sz":"1","px":"1","newFeature":"x"}"#,
            // numbers where OKX wants strings
            r#"{"instId":"BTC-USDT","tdMode":"cash","side":"buy","ordType":"limit","sz":1,"px":"1"}"#,
            r#"{"instId":"BTC-USDT","tdMode":"cash","side":"buy","ordType":"limit","sz":"1e3","px":"1"}"#,
            r#"{"instId":"BTC-USDT","tdMode":"cash","side":"buy","ordType":"limit","sz":"-1","px":"1"}"#,
            r#"{"instId":"BTC-USDT","tdMode":"cash","side":"buy","ordType":"limit","sz":"0","px":"1"}"#,
            r#"{"instId":"BTC-USDT","tdMode":"cash","side":"buy","ordType":"limit","sz":"1"}"#,
            r#"{"instId":"BTC-USDT","tdMode":"cash","side":"buy","ordType":"market","sz":"1","px":"1"}"#,
            r#"{"instId":"BTC-USDT","tdMode":"cash","side":"BUY","ordType":"market","sz":"1"}"#,
            r#"{"instId":"btc-usdt","tdMode":"cash","side":"buy","ordType":"market","sz":"1"}"#,
            r#"{"instId":"BTC-USDT","side":"buy","ordType":"market","sz":"1"}"#,
            r#"{"instId":"BTC-USDT","tdMode":"cash","side":"buy","ordType":"market","sz":"1","reduceOnly":"yes"}"#,
            r#"{"instId":"BTC-USDT","tdMode":"cash","side":"buy","ordType":"market","sz":"1","posSide":"up"}"#,
            r#"{"instId":"BTC-USDT","tdMode":"cash","side":"buy","ordType":"market","sz":"1","clOrdId":"has space"}"#,
            r#"{"instId":"BTC-USDT","tdMode":"cash","side":"buy","ordType":"market","sz":"1","tradeQuoteCcy":"USDC"}"#,
            r#"[{"instId":"BTC-USDT","tdMode":"cash","side":"buy","ordType":"market","sz":"1"}]"#,
            r#"not json"#,
            r#""#,
        ] {
            assert_eq!(reason(body), RejectReason::MalformedRequest, "{body}");
        }
        // Cash mode is spot only.
        assert_eq!(
            parse_orders(
                br#"[{"instId":"BTC-USDT-SWAP","tdMode":"cash","side":"buy","ordType":"market","sz":"1"}]"#,
                true,
                &ContractValues::default()
            )
            .unwrap_err()
            .reason,
            RejectReason::MalformedRequest
        );
        // Futures and options are not supported yet.
        assert_eq!(
            reason(
                r#"{"instId":"BTC-USD-250328","tdMode":"cross","side":"buy","ordType":"market","sz":"1"}"#
            ),
            RejectReason::SymbolNotAllowed
        );
        assert_eq!(
            reason(
                r#"{"instId":"BTC-USD-250328-60000-C","tdMode":"cross","side":"buy","ordType":"market","sz":"1"}"#
            ),
            RejectReason::SymbolNotAllowed
        );
    }

    #[test]
    fn batches_parse_every_order_and_name_the_bad_one() {
        let body = br#"[{"instId":"BTC-USDT","tdMode":"cash","side":"buy","ordType":"limit","sz":"1","px":"50000"},{"instId":"ETH-USDT","tdMode":"cash","side":"sell","ordType":"limit","sz":"2","px":"3000","clOrdId":"b2"}]"#;
        let v = parse_orders(body, true, &ContractValues::default()).unwrap();
        assert_eq!(v.len(), 2);
        assert_eq!(v[1].symbol.as_str(), "ETHUSDT");
        assert_eq!(v[1].client_order_id.as_deref(), Some("b2"));
        let bad = br#"[{"instId":"BTC-USDT","tdMode":"cash","side":"buy","ordType":"limit","sz":"1","px":"50000"},{"instId":"ETH-USDT","tdMode":"cash","side":"sell","ordType":"limit","sz":"2"}]"#;
        let r = parse_orders(bad, true, &ContractValues::default()).unwrap_err();
        assert!(r.message.starts_with("order 1: "), "{}", r.message);
        assert!(parse_orders(b"[]", true, &ContractValues::default()).is_err());
        let many = format!(
            "[{}]",
            vec![r#"{"instId":"BTC-USDT","tdMode":"cash","side":"buy","ordType":"limit","sz":"1","px":"1"}"#; 21].join(",")
        );
        assert!(parse_orders(many.as_bytes(), true, &ContractValues::default()).is_err());
    }

    #[test]
    fn swap_orders_need_the_contract_value_and_count_base_units() {
        let body = br#"[{"instId":"BTC-USDT-SWAP","tdMode":"cross","side":"buy","posSide":"long","ordType":"limit","sz":"3","px":"60000"}]"#;
        let cv = ContractValues::default();
        let r = parse_orders(body, true, &cv).unwrap_err();
        assert_eq!(r.reason, RejectReason::MarketDataStale);
        cv.learn("BTC-USDT-SWAP", f("0.01"));
        let o = parse_orders(body, true, &cv).unwrap().remove(0);
        assert_eq!(o.symbol.as_str(), "BTC-USDT-SWAP");
        assert_eq!(o.qty, Some(f("0.03")));
        assert_eq!(o.contract, Contract::Linear);
        assert!(!o.reduce_only);
        // Hedge mode: selling the long side closes it.
        let close = br#"[{"instId":"BTC-USDT-SWAP","tdMode":"cross","side":"sell","posSide":"long","ordType":"market","sz":"3"}]"#;
        assert!(parse_orders(close, true, &cv).unwrap()[0].reduce_only);
        let ro = br#"[{"instId":"BTC-USDT-SWAP","tdMode":"cross","side":"sell","ordType":"optimal_limit_ioc","sz":"3","reduceOnly":true}]"#;
        let o = parse_orders(ro, true, &cv).unwrap().remove(0);
        assert!(o.reduce_only);
        assert_eq!(
            (o.kind, o.time_in_force),
            (OrderKind::Market, Some(TimeInForce::Ioc))
        );
        let quote = br#"[{"instId":"BTC-USDT-SWAP","tdMode":"cross","side":"buy","ordType":"market","sz":"3","tgtCcy":"quote_ccy"}]"#;
        assert_eq!(
            parse_orders(quote, true, &cv).unwrap_err().reason,
            RejectReason::MalformedRequest
        );
    }

    #[test]
    fn cancels() {
        let c = parse_cancels(
            br#"{"instId":"BTC-USDT","ordId":"590908157585625111"}"#,
            false,
        )
        .unwrap();
        assert_eq!(c[0].symbol.as_str(), "BTCUSDT");
        assert_eq!(c[0].order, OrderRef::ExchangeId(590908157585625111));
        let c = parse_cancels(
            br#"[{"instId":"BTC-USDT","clOrdId":"abc"},{"instId":"ETH-USDT","ordId":"7"}]"#,
            true,
        )
        .unwrap();
        assert_eq!(c[0].order, OrderRef::ClientId("abc".into()));
        assert_eq!(c[1].order, OrderRef::ExchangeId(7));
        for bad in [
            r#"{"instId":"BTC-USDT"}"#,
            r#"{"instId":"BTC-USDT","ordId":"x1"}"#,
            r#"{"instId":"BTC-USDT","ordId":"1","extra":"1"}"#,
        ] {
            assert!(parse_cancels(bad.as_bytes(), false).is_err(), "{bad}");
        }
    }

    #[test]
    fn spot_inst_ids_round_trip() {
        assert_eq!(okx_spot_inst_id("BTCUSDT").as_deref(), Some("BTC-USDT"));
        assert_eq!(symbol_of("SOL-USDC").unwrap().as_str(), "SOLUSDC");
        assert_eq!(symbol_of("nonsense"), None);
    }
}
