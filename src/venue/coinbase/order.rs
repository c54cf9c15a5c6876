//! Coinbase Advanced Trade order, preview, edit and cancel bodies →
//! `model::NewOrder`, strictly.
//!
//! A create body is one JSON object whose `order_configuration` holds exactly
//! one variant (`market_market_ioc`, `limit_limit_gtc`, ...). Unknown fields
//! and unknown variants are refused, and so is a repeated field (serde's
//! derive rejects duplicates): the exchange might read the other copy. Sizes
//! and prices are JSON strings as Coinbase documents them; a JSON number is
//! refused. Must not decide anything about risk: it only translates.

use serde::Deserialize;

use crate::model::{Contract, Fixed, NewOrder, OrderKind, Side, Symbol, TimeInForce};
use crate::rules::{RejectReason, Rejection};
use crate::venue::canonical::truncate;

/// Coinbase's limit on order ids per `batch_cancel`.
pub const MAX_CANCEL_IDS: usize = 100;
/// Longest product id accepted (`BTC-USD` is 7; futures ids are ~16).
const MAX_PRODUCT_ID_LEN: usize = 40;
/// Longest client order id accepted (ccxt sends `ccxt-<uuid>`, 41).
const MAX_CLIENT_ORDER_ID_LEN: usize = 128;
/// Longest order id accepted (Coinbase's are UUIDs, 36).
const MAX_ORDER_ID_LEN: usize = 64;

fn malformed(msg: impl Into<String>) -> Rejection {
    Rejection::new(RejectReason::MalformedRequest, msg)
}

/// A Coinbase spot product id, split: `BTC-USD` is riskgate's `BTCUSD`, the
/// concatenated name rules and reference prices use (as for OKX and Kraken).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProductId {
    pub base: String,
    pub quote: String,
}

impl ProductId {
    /// Spot products only: futures (`BIT-28JUL23-CDE`) and perpetuals
    /// (`BTC-PERP-INTX`) are refused as not allowed.
    pub fn parse(s: &str) -> Result<ProductId, Rejection> {
        let bad = || malformed(format!("invalid product_id '{}'", truncate(s, 24)));
        if s.is_empty() || s.len() > MAX_PRODUCT_ID_LEN {
            return Err(bad());
        }
        let asset_ok = |a: &str| {
            !a.is_empty()
                && a.len() <= 15
                && a.bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        };
        let parts: Vec<&str> = s.split('-').collect();
        match parts.as_slice() {
            [b, q] if asset_ok(b) && asset_ok(q) => Ok(ProductId {
                base: (*b).into(),
                quote: (*q).into(),
            }),
            [_, _, _] if parts.iter().all(|p| asset_ok(p)) => Err(Rejection::new(
                RejectReason::SymbolNotAllowed,
                format!(
                    "product '{}': Coinbase futures and perpetuals are not supported (spot only)",
                    truncate(s, 24)
                ),
            )),
            _ => Err(bad()),
        }
    }

    /// The symbol riskgate's rules and state know the product by.
    pub fn symbol(&self) -> Symbol {
        Symbol::new(&format!("{}{}", self.base, self.quote))
    }

    /// Coinbase's spelling.
    pub fn coinbase(&self) -> String {
        format!("{}-{}", self.base, self.quote)
    }
}

/// The riskgate symbol for a product id seen in an answer (lenient: None
/// when unreadable or not spot).
pub fn symbol_of(product_id: &str) -> Option<Symbol> {
    ProductId::parse(product_id).ok().map(|p| p.symbol())
}

/// `market_market_ioc`: exactly one of the two sizes.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MarketIoc {
    quote_size: Option<String>,
    base_size: Option<String>,
}

/// `limit_limit_gtc`, `limit_limit_gtd` (with `end_time`), `limit_limit_fok`
/// and `sor_limit_ioc` (no `post_only` on the last two).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LimitGtc {
    base_size: Option<String>,
    limit_price: Option<String>,
    post_only: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LimitGtd {
    base_size: Option<String>,
    limit_price: Option<String>,
    end_time: Option<String>,
    post_only: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LimitImmediate {
    base_size: Option<String>,
    limit_price: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StopLimit {
    base_size: Option<String>,
    limit_price: Option<String>,
    stop_price: Option<String>,
    stop_direction: Option<String>,
    /// GTD only.
    end_time: Option<String>,
}

/// Every variant riskgate can check; any other key is refused (unknown), and
/// more than one present is refused (ambiguous).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OrderConfiguration {
    market_market_ioc: Option<MarketIoc>,
    limit_limit_gtc: Option<LimitGtc>,
    limit_limit_gtd: Option<LimitGtd>,
    limit_limit_fok: Option<LimitImmediate>,
    sor_limit_ioc: Option<LimitImmediate>,
    stop_limit_stop_limit_gtc: Option<StopLimit>,
    stop_limit_stop_limit_gtd: Option<StopLimit>,
}

/// `POST /api/v3/brokerage/orders` (and `/orders/preview`, which has no
/// client id but may carry `is_max` / `tradable_balance`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireOrder {
    client_order_id: Option<String>,
    product_id: Option<String>,
    side: Option<String>,
    order_configuration: Option<OrderConfiguration>,
    self_trade_prevention_id: Option<String>,
    leverage: Option<String>,
    margin_type: Option<String>,
    retail_portfolio_id: Option<String>,
    preview_id: Option<String>,
    // Preview only (refused on create by `parse_order`).
    is_max: Option<bool>,
    tradable_balance: Option<String>,
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

fn required(name: &str, v: &Option<String>) -> Result<Fixed, Rejection> {
    positive(name, v)?.ok_or_else(|| malformed(format!("missing '{name}'")))
}

/// Printable, no quotes or spaces, bounded: ids riskgate may quote back.
fn token_ok(s: &str, max_len: usize) -> bool {
    !s.is_empty()
        && s.len() <= max_len
        && s.bytes()
            .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\')
}

fn end_time_ok(v: &Option<String>) -> Result<(), Rejection> {
    match v {
        // RFC 3339 (`2026-12-04T17:01:05.092Z`); the exact instant does not
        // matter to risk: a GTD order counts as live until it is settled.
        Some(t) if t.len() >= 20 && t.len() <= 40 && token_ok(t, 40) && t.as_bytes()[4] == b'-' => {
            Ok(())
        }
        Some(_) => Err(malformed("invalid 'end_time' (RFC 3339 expected)")),
        None => Err(malformed("GTD order needs 'end_time'")),
    }
}

/// The order one configuration describes: (kind, tif, base qty, quote qty,
/// limit price, stop price).
type Shape = (
    OrderKind,
    Option<TimeInForce>,
    Option<Fixed>,
    Option<Fixed>,
    Option<Fixed>,
    Option<Fixed>,
);

fn shape(c: OrderConfiguration) -> Result<Shape, Rejection> {
    let present = [
        c.market_market_ioc.is_some(),
        c.limit_limit_gtc.is_some(),
        c.limit_limit_gtd.is_some(),
        c.limit_limit_fok.is_some(),
        c.sor_limit_ioc.is_some(),
        c.stop_limit_stop_limit_gtc.is_some(),
        c.stop_limit_stop_limit_gtd.is_some(),
    ]
    .iter()
    .filter(|p| **p)
    .count();
    if present != 1 {
        return Err(malformed(format!(
            "order_configuration must hold exactly one order type, not {present}"
        )));
    }
    let limit = |kind_post_only: Option<bool>| match kind_post_only {
        Some(true) => OrderKind::LimitMaker,
        _ => OrderKind::Limit,
    };
    if let Some(m) = c.market_market_ioc {
        return match (
            positive("base_size", &m.base_size)?,
            positive("quote_size", &m.quote_size)?,
        ) {
            (Some(b), None) => Ok((
                OrderKind::Market,
                Some(TimeInForce::Ioc),
                Some(b),
                None,
                None,
                None,
            )),
            (None, Some(q)) => Ok((
                OrderKind::Market,
                Some(TimeInForce::Ioc),
                None,
                Some(q),
                None,
                None,
            )),
            (Some(_), Some(_)) => Err(malformed(
                "market_market_ioc takes 'base_size' or 'quote_size', not both",
            )),
            (None, None) => Err(malformed(
                "market_market_ioc needs 'base_size' or 'quote_size'",
            )),
        };
    }
    if let Some(l) = c.limit_limit_gtc {
        let (q, p) = (
            required("base_size", &l.base_size)?,
            required("limit_price", &l.limit_price)?,
        );
        return Ok((
            limit(l.post_only),
            Some(TimeInForce::Gtc),
            Some(q),
            None,
            Some(p),
            None,
        ));
    }
    if let Some(l) = c.limit_limit_gtd {
        let (q, p) = (
            required("base_size", &l.base_size)?,
            required("limit_price", &l.limit_price)?,
        );
        end_time_ok(&l.end_time)?;
        // Good till a date: counted as live (GTC) until settled, the worst case.
        return Ok((
            limit(l.post_only),
            Some(TimeInForce::Gtc),
            Some(q),
            None,
            Some(p),
            None,
        ));
    }
    if let Some(l) = c.limit_limit_fok {
        let (q, p) = (
            required("base_size", &l.base_size)?,
            required("limit_price", &l.limit_price)?,
        );
        return Ok((
            OrderKind::Limit,
            Some(TimeInForce::Fok),
            Some(q),
            None,
            Some(p),
            None,
        ));
    }
    if let Some(l) = c.sor_limit_ioc {
        let (q, p) = (
            required("base_size", &l.base_size)?,
            required("limit_price", &l.limit_price)?,
        );
        return Ok((
            OrderKind::Limit,
            Some(TimeInForce::Ioc),
            Some(q),
            None,
            Some(p),
            None,
        ));
    }
    let (s, gtd) = match (c.stop_limit_stop_limit_gtc, c.stop_limit_stop_limit_gtd) {
        (Some(s), None) => (s, false),
        (None, Some(s)) => (s, true),
        _ => {
            return Err(malformed(
                "order_configuration must hold exactly one order type",
            ))
        }
    };
    let q = required("base_size", &s.base_size)?;
    let p = required("limit_price", &s.limit_price)?;
    let stop = required("stop_price", &s.stop_price)?;
    match s.stop_direction.as_deref() {
        None | Some("STOP_DIRECTION_STOP_UP" | "STOP_DIRECTION_STOP_DOWN") => {}
        Some(other) => {
            return Err(malformed(format!(
                "invalid 'stop_direction' '{}'",
                truncate(other, 32)
            )))
        }
    }
    match (gtd, &s.end_time) {
        (true, t) => end_time_ok(t)?,
        (false, Some(_)) => return Err(malformed("'end_time' on a GTC stop-limit order")),
        (false, None) => {}
    }
    Ok((
        OrderKind::StopLimit,
        Some(TimeInForce::Gtc),
        Some(q),
        None,
        Some(p),
        Some(stop),
    ))
}

/// Parses a create (`preview` false) or preview (`preview` true) body. A
/// preview is checked like an order but never counted (`test_only`).
pub fn parse_order(body: &[u8], preview: bool) -> Result<NewOrder, Rejection> {
    if body.iter().copied().find(|b| !b.is_ascii_whitespace()) != Some(b'{') {
        return Err(malformed("order body must be a JSON object"));
    }
    let w: WireOrder = serde_json::from_slice(body)
        .map_err(|e| malformed(format!("order body: {}", truncate(&e.to_string(), 160))))?;
    let product = ProductId::parse(
        w.product_id
            .as_deref()
            .ok_or_else(|| malformed("missing field 'product_id'"))?,
    )?;
    let side = match w.side.as_deref() {
        Some("BUY") => Side::Buy,
        Some("SELL") => Side::Sell,
        Some(other) => return Err(malformed(format!("invalid side '{}'", truncate(other, 24)))),
        None => return Err(malformed("missing field 'side'")),
    };
    let client_order_id = match (&w.client_order_id, preview) {
        (Some(c), _) if token_ok(c, MAX_CLIENT_ORDER_ID_LEN) => Some(c.clone()),
        (Some(_), _) => return Err(malformed("invalid 'client_order_id'")),
        (None, true) => None,
        (None, false) => return Err(malformed("missing field 'client_order_id'")),
    };
    // Spot only: leverage and margin apply to Coinbase derivatives (refused
    // as products) or to spot margin, which riskgate does not check.
    match w.leverage.as_deref() {
        None | Some("1") | Some("1.0") => {}
        Some(_) => {
            return Err(malformed(
                "'leverage' other than 1: margin trading is not supported",
            ))
        }
    }
    if w.margin_type.is_some() {
        return Err(malformed("'margin_type': margin trading is not supported"));
    }
    if !preview && (w.is_max.is_some() || w.tradable_balance.is_some()) {
        return Err(malformed(
            "'is_max' / 'tradable_balance' belong to previews",
        ));
    }
    if w.is_max == Some(true) || w.tradable_balance.is_some() {
        return Err(malformed(
            "'is_max' sizes the order from the balance; riskgate needs an explicit size",
        ));
    }
    for (name, v) in [
        ("self_trade_prevention_id", &w.self_trade_prevention_id),
        ("retail_portfolio_id", &w.retail_portfolio_id),
        ("preview_id", &w.preview_id),
    ] {
        if v.as_deref().is_some_and(|s| !token_ok(s, MAX_ORDER_ID_LEN)) {
            return Err(malformed(format!("invalid '{name}'")));
        }
    }
    let config = w
        .order_configuration
        .ok_or_else(|| malformed("missing field 'order_configuration'"))?;
    let (kind, time_in_force, qty, quote_qty, price, stop_price) = shape(config)?;
    Ok(NewOrder {
        symbol: product.symbol(),
        side,
        kind,
        qty,
        quote_qty,
        price,
        stop_price,
        time_in_force,
        client_order_id: client_order_id.map(Into::into),
        reduce_only: false,
        contract: Contract::Spot,
        test_only: preview,
    })
}

/// `POST /api/v3/brokerage/orders/edit` (and `edit_preview`): the order by
/// id and its new size and/or price. Nothing else: no product, no side.
///
/// This is the hook for amend-by-reference: riskgate refuses edits today
/// because the body alone cannot be rebuilt into the order it becomes; the
/// engine has to resolve `order_id` among the account's open orders (and the
/// adapter's order → product map can name the product).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EditRequest {
    pub order_id: String,
    /// New total size (base units), if changed.
    pub size: Option<Fixed>,
    /// New limit price, if changed.
    pub price: Option<Fixed>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireEdit {
    order_id: Option<String>,
    size: Option<String>,
    price: Option<String>,
}

/// Parses an edit body strictly.
pub fn parse_edit(body: &[u8]) -> Result<EditRequest, Rejection> {
    let w: WireEdit = serde_json::from_slice(body)
        .map_err(|e| malformed(format!("edit body: {}", truncate(&e.to_string(), 160))))?;
    let order_id = match w.order_id {
        Some(id) if token_ok(&id, MAX_ORDER_ID_LEN) => id,
        Some(_) => return Err(malformed("invalid 'order_id'")),
        None => return Err(malformed("missing field 'order_id'")),
    };
    let size = positive("size", &w.size)?;
    let price = positive("price", &w.price)?;
    if size.is_none() && price.is_none() {
        return Err(malformed("an edit needs 'size' or 'price'"));
    }
    Ok(EditRequest {
        order_id,
        size,
        price,
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireCancel {
    order_ids: Vec<String>,
}

/// `POST /api/v3/brokerage/orders/batch_cancel`: the order ids (1 to 100).
pub fn parse_cancels(body: &[u8]) -> Result<Vec<String>, Rejection> {
    let w: WireCancel = serde_json::from_slice(body)
        .map_err(|e| malformed(format!("cancel body: {}", truncate(&e.to_string(), 160))))?;
    if w.order_ids.is_empty() || w.order_ids.len() > MAX_CANCEL_IDS {
        return Err(malformed(format!(
            "batch_cancel takes 1 to {MAX_CANCEL_IDS} order ids, not {}",
            w.order_ids.len()
        )));
    }
    if w.order_ids.iter().any(|id| !token_ok(id, MAX_ORDER_ID_LEN)) {
        return Err(malformed("invalid order id in 'order_ids'"));
    }
    Ok(w.order_ids)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(s: &str) -> Fixed {
        Fixed::parse(s).unwrap()
    }

    fn one(body: &str) -> Result<NewOrder, Rejection> {
        parse_order(body.as_bytes(), false)
    }

    fn reason(body: &str) -> RejectReason {
        one(body).unwrap_err().reason
    }

    #[test]
    fn parses_what_ccxt_sends_for_a_limit_order() {
        let o = one(r#"{"client_order_id":"ccxt-9d0e2b4c-1b7e-4c7a-8b55-0c0c0c0c0c0c","product_id":"BTC-USD","side":"BUY","order_configuration":{"limit_limit_gtc":{"base_size":"0.01","limit_price":"60000","post_only":false}}}"#).unwrap();
        assert_eq!(o.symbol.as_str(), "BTCUSD");
        assert_eq!(o.side, Side::Buy);
        assert_eq!(o.kind, OrderKind::Limit);
        assert_eq!(
            (o.qty, o.quote_qty, o.price),
            (Some(f("0.01")), None, Some(f("60000")))
        );
        assert_eq!(o.time_in_force, Some(TimeInForce::Gtc));
        assert_eq!(
            o.client_order_id.as_deref(),
            Some("ccxt-9d0e2b4c-1b7e-4c7a-8b55-0c0c0c0c0c0c")
        );
        assert!(!o.test_only && !o.reduce_only);
        assert_eq!(o.contract, Contract::Spot);
    }

    #[test]
    fn every_variant_maps_to_kind_size_and_time_in_force() {
        let t = |cfg: &str| {
            let o = one(&format!(
                r#"{{"client_order_id":"c1","product_id":"ETH-USDT","side":"SELL","order_configuration":{cfg}}}"#
            ))
            .unwrap();
            (
                o.kind,
                o.time_in_force,
                o.qty,
                o.quote_qty,
                o.price,
                o.stop_price,
            )
        };
        assert_eq!(
            t(r#"{"market_market_ioc":{"quote_size":"100"}}"#),
            (
                OrderKind::Market,
                Some(TimeInForce::Ioc),
                None,
                Some(f("100")),
                None,
                None
            )
        );
        assert_eq!(
            t(r#"{"market_market_ioc":{"base_size":"0.5"}}"#),
            (
                OrderKind::Market,
                Some(TimeInForce::Ioc),
                Some(f("0.5")),
                None,
                None,
                None
            )
        );
        assert_eq!(
            t(r#"{"limit_limit_gtc":{"base_size":"1","limit_price":"3000","post_only":true}}"#).0,
            OrderKind::LimitMaker
        );
        assert_eq!(
            t(
                r#"{"limit_limit_gtd":{"base_size":"1","limit_price":"3000","end_time":"2026-12-05T17:01:05.092Z","post_only":false}}"#
            ),
            (
                OrderKind::Limit,
                Some(TimeInForce::Gtc),
                Some(f("1")),
                None,
                Some(f("3000")),
                None
            )
        );
        assert_eq!(
            t(r#"{"limit_limit_fok":{"base_size":"1","limit_price":"3000"}}"#).1,
            Some(TimeInForce::Fok)
        );
        assert_eq!(
            t(r#"{"sor_limit_ioc":{"base_size":"1","limit_price":"3000"}}"#).1,
            Some(TimeInForce::Ioc)
        );
        assert_eq!(
            t(
                r#"{"stop_limit_stop_limit_gtc":{"base_size":"1","limit_price":"2900","stop_price":"2950","stop_direction":"STOP_DIRECTION_STOP_DOWN"}}"#
            ),
            (
                OrderKind::StopLimit,
                Some(TimeInForce::Gtc),
                Some(f("1")),
                None,
                Some(f("2900")),
                Some(f("2950"))
            )
        );
        assert_eq!(
            t(r#"{"stop_limit_stop_limit_gtd":{"base_size":"1","limit_price":"2900","stop_price":"2950","end_time":"2026-12-05T17:01:05Z","stop_direction":"STOP_DIRECTION_STOP_DOWN"}}"#).0,
            OrderKind::StopLimit
        );
    }

    #[test]
    fn previews_are_test_orders_without_a_client_id() {
        let o = parse_order(
            br#"{"product_id":"BTC-USD","side":"BUY","order_configuration":{"market_market_ioc":{"quote_size":"10"}}}"#,
            true,
        )
        .unwrap();
        assert!(o.test_only);
        assert_eq!(o.client_order_id, None);
        // is_max has no size riskgate can check.
        assert!(parse_order(
            br#"{"product_id":"BTC-USD","side":"BUY","is_max":true,"order_configuration":{"market_market_ioc":{"quote_size":"10"}}}"#,
            true
        )
        .is_err());
    }

    #[test]
    fn refuses_ambiguous_or_unknown_input() {
        for body in [
            // two variants
            r#"{"client_order_id":"c","product_id":"BTC-USD","side":"BUY","order_configuration":{"market_market_ioc":{"quote_size":"10"},"limit_limit_gtc":{"base_size":"1","limit_price":"1"}}}"#,
            // no variant, unknown variant
            r#"{"client_order_id":"c","product_id":"BTC-USD","side":"BUY","order_configuration":{}}"#,
            r#"{"client_order_id":"c","product_id":"BTC-USD","side":"BUY","order_configuration":{"trigger_bracket_gtc":{"base_size":"1","limit_price":"1","stop_trigger_price":"1"}}}"#,
            r#"{"client_order_id":"c","product_id":"BTC-USD","side":"BUY","order_configuration":{"twap_limit_gtd":{}}}"#,
            // market: both sizes, no size
            r#"{"client_order_id":"c","product_id":"BTC-USD","side":"BUY","order_configuration":{"market_market_ioc":{"quote_size":"10","base_size":"1"}}}"#,
            r#"{"client_order_id":"c","product_id":"BTC-USD","side":"BUY","order_configuration":{"market_market_ioc":{}}}"#,
            // limit without price or size, quote-sized limit
            r#"{"client_order_id":"c","product_id":"BTC-USD","side":"BUY","order_configuration":{"limit_limit_gtc":{"base_size":"1"}}}"#,
            r#"{"client_order_id":"c","product_id":"BTC-USD","side":"BUY","order_configuration":{"limit_limit_gtc":{"limit_price":"1"}}}"#,
            r#"{"client_order_id":"c","product_id":"BTC-USD","side":"BUY","order_configuration":{"limit_limit_gtc":{"quote_size":"10","limit_price":"1"}}}"#,
            // GTD without end_time
            r#"{"client_order_id":"c","product_id":"BTC-USD","side":"BUY","order_configuration":{"limit_limit_gtd":{"base_size":"1","limit_price":"1"}}}"#,
            // non-canonical numbers, numbers as JSON numbers
            r#"{"client_order_id":"c","product_id":"BTC-USD","side":"BUY","order_configuration":{"limit_limit_gtc":{"base_size":"1e3","limit_price":"1"}}}"#,
            r#"{"client_order_id":"c","product_id":"BTC-USD","side":"BUY","order_configuration":{"limit_limit_gtc":{"base_size":"-1","limit_price":"1"}}}"#,
            r#"{"client_order_id":"c","product_id":"BTC-USD","side":"BUY","order_configuration":{"limit_limit_gtc":{"base_size":".5","limit_price":"1"}}}"#,
            r#"{"client_order_id":"c","product_id":"BTC-USD","side":"BUY","order_configuration":{"limit_limit_gtc":{"base_size":1,"limit_price":"1"}}}"#,
            r#"{"client_order_id":"c","product_id":"BTC-USD","side":"BUY","order_configuration":{"limit_limit_gtc":{"base_size":"1","limit_price":"1","post_only":"yes"}}}"#,
            // duplicated fields, at both levels
            r#"{"client_order_id":"c","product_id":"BTC-USD","side":"BUY","side":"SELL","order_configuration":{"market_market_ioc":{"quote_size":"10"}}}"#,
            r#"{"client_order_id":"c","product_id":"BTC-USD","side":"BUY","order_configuration":{"market_market_ioc":{"quote_size":"10","quote_size":"10000"}}}"#,
            // unknown top-level field, bad side, bad product, missing client id
            r#"{"client_order_id":"c","product_id":"BTC-USD","side":"BUY","new_feature":1,"order_configuration":{"market_market_ioc":{"quote_size":"10"}}}"#,
            r#"{"client_order_id":"c","product_id":"BTC-USD","side":"buy","order_configuration":{"market_market_ioc":{"quote_size":"10"}}}"#,
            r#"{"client_order_id":"c","product_id":"btc-usd","side":"BUY","order_configuration":{"market_market_ioc":{"quote_size":"10"}}}"#,
            r#"{"product_id":"BTC-USD","side":"BUY","order_configuration":{"market_market_ioc":{"quote_size":"10"}}}"#,
            // margin
            r#"{"client_order_id":"c","product_id":"BTC-USD","side":"BUY","leverage":"3","order_configuration":{"market_market_ioc":{"quote_size":"10"}}}"#,
            r#"{"client_order_id":"c","product_id":"BTC-USD","side":"BUY","margin_type":"CROSS","order_configuration":{"market_market_ioc":{"quote_size":"10"}}}"#,
            r#"[]"#,
            r#""#,
        ] {
            assert_eq!(reason(body), RejectReason::MalformedRequest, "{body}");
        }
        assert_eq!(
            reason(
                r#"{"client_order_id":"c","product_id":"BTC-PERP-INTX","side":"BUY","order_configuration":{"market_market_ioc":{"base_size":"1"}}}"#
            ),
            RejectReason::SymbolNotAllowed
        );
    }

    #[test]
    fn edits_and_cancels() {
        let e = parse_edit(br#"{"order_id":"a1b2","size":"0.02","price":"61000"}"#).unwrap();
        assert_eq!(
            e,
            EditRequest {
                order_id: "a1b2".into(),
                size: Some(f("0.02")),
                price: Some(f("61000"))
            }
        );
        assert!(parse_edit(br#"{"order_id":"a1b2"}"#).is_err());
        assert!(parse_edit(br#"{"order_id":"a1b2","size":"1","product_id":"BTC-USD"}"#).is_err());
        assert_eq!(
            parse_cancels(br#"{"order_ids":["a","b"]}"#).unwrap(),
            vec!["a".to_string(), "b".to_string()]
        );
        assert!(parse_cancels(br#"{"order_ids":[]}"#).is_err());
        assert!(parse_cancels(br#"{"order_ids":["a"],"x":1}"#).is_err());
    }

    #[test]
    fn product_ids() {
        assert_eq!(symbol_of("BTC-USD").unwrap().as_str(), "BTCUSD");
        assert_eq!(symbol_of("ETH-BTC").unwrap().as_str(), "ETHBTC");
        assert_eq!(symbol_of("BIT-28JUL23-CDE"), None);
        assert_eq!(ProductId::parse("SOL-USDC").unwrap().coinbase(), "SOL-USDC");
    }
}
