//! Binance spot order parameters → `model::NewOrder`, strictly.
//!
//! Every parameter riskgate does not know is refused: an unknown parameter could
//! change what the exchange does (a new order feature) without the rules seeing it.

use super::Params;
use crate::model::{
    ClientOrderId, Fixed, NewOrder, OrderKind, OrderRef, Side, Symbol, TimeInForce,
};
use crate::rules::{RejectReason, Rejection};

/// Parameters Binance spot documents for `POST /api/v3/order`.
const KNOWN_ORDER_PARAMS: &[&str] = &[
    "symbol",
    "side",
    "type",
    "timeInForce",
    "quantity",
    "quoteOrderQty",
    "price",
    "newClientOrderId",
    "strategyId",
    "strategyType",
    "stopPrice",
    "trailingDelta",
    "icebergQty",
    "newOrderRespType",
    "selfTradePreventionMode",
    "computeCommissionRates",
    "recvWindow",
    "timestamp",
    "signature",
];

/// Longest client order id Binance accepts.
const MAX_CLIENT_ORDER_ID_LEN: usize = 36;
const MAX_SYMBOL_LEN: usize = 20;

pub(crate) fn malformed(msg: impl Into<String>) -> Rejection {
    Rejection::new(RejectReason::MalformedRequest, msg)
}

/// Reads a symbol parameter: upper-case ASCII letters and digits only.
pub fn parse_symbol(params: &Params) -> Result<Symbol, Rejection> {
    let s = params
        .get("symbol")
        .ok_or_else(|| malformed("missing parameter 'symbol'"))?;
    if s.is_empty()
        || s.len() > MAX_SYMBOL_LEN
        || !s
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
    {
        return Err(malformed(format!("invalid symbol '{}'", truncate(s))));
    }
    Ok(Symbol::new(s))
}

pub(crate) fn decimal(params: &Params, name: &str) -> Result<Option<Fixed>, Rejection> {
    match params.get(name) {
        None => Ok(None),
        Some(v) => match Fixed::parse(v) {
            Ok(f) if f.is_positive() => Ok(Some(f)),
            Ok(_) => Err(malformed(format!("'{name}' must be greater than zero"))),
            Err(e) => Err(malformed(format!("'{name}'='{}': {e}", truncate(v)))),
        },
    }
}

pub(crate) fn truncate(s: &str) -> &str {
    match s.char_indices().nth(24) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// Reads `side`: BUY or SELL.
pub(crate) fn parse_side(params: &Params) -> Result<Side, Rejection> {
    match params.get("side") {
        Some("BUY") => Ok(Side::Buy),
        Some("SELL") => Ok(Side::Sell),
        Some(other) => Err(malformed(format!("invalid side '{}'", truncate(other)))),
        None => Err(malformed("missing parameter 'side'")),
    }
}

/// Reads `timeInForce`: GTC, IOC, FOK, or one of `extra` (read as GTC: the
/// order may rest, which is the worst case for exposure).
pub(crate) fn parse_time_in_force(
    params: &Params,
    extra: &[&str],
) -> Result<Option<TimeInForce>, Rejection> {
    match params.get("timeInForce") {
        None => Ok(None),
        Some("GTC") => Ok(Some(TimeInForce::Gtc)),
        Some("IOC") => Ok(Some(TimeInForce::Ioc)),
        Some("FOK") => Ok(Some(TimeInForce::Fok)),
        Some(t) if extra.contains(&t) => Ok(Some(TimeInForce::Gtc)),
        Some(other) => Err(malformed(format!(
            "invalid timeInForce '{}'",
            truncate(other)
        ))),
    }
}

/// Reads a client order id parameter (`newClientOrderId`, `clientAlgoId`).
/// Binance's ids (at most 36 bytes) are kept inline: no allocation.
pub(crate) fn parse_client_id(
    params: &Params,
    name: &str,
) -> Result<Option<ClientOrderId>, Rejection> {
    match params.get(name) {
        None => Ok(None),
        Some(id) => {
            if id.is_empty()
                || id.len() > MAX_CLIENT_ORDER_ID_LEN
                || !id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.:/".contains(&b))
            {
                return Err(malformed(format!("invalid '{name}'")));
            }
            Ok(Some(ClientOrderId::new(id)))
        }
    }
}

/// Parses a new-order request's parameters.
pub fn parse_new_order(params: &Params, test_only: bool) -> Result<NewOrder, Rejection> {
    if let Some((name, _)) = params.iter().find(|(k, _)| !KNOWN_ORDER_PARAMS.contains(k)) {
        return Err(malformed(format!("unknown parameter '{}'", truncate(name))));
    }
    let symbol = parse_symbol(params)?;
    let side = parse_side(params)?;
    let kind = match params.get("type") {
        Some("MARKET") => OrderKind::Market,
        Some("LIMIT") => OrderKind::Limit,
        Some("LIMIT_MAKER") => OrderKind::LimitMaker,
        Some("STOP_LOSS") => OrderKind::StopMarket,
        Some("STOP_LOSS_LIMIT") => OrderKind::StopLimit,
        Some("TAKE_PROFIT") => OrderKind::TakeProfitMarket,
        Some("TAKE_PROFIT_LIMIT") => OrderKind::TakeProfitLimit,
        Some(other) => {
            return Err(malformed(format!(
                "unsupported order type '{}'",
                truncate(other)
            )))
        }
        None => return Err(malformed("missing parameter 'type'")),
    };
    let time_in_force = parse_time_in_force(params, &[])?;
    let qty = decimal(params, "quantity")?;
    let quote_qty = decimal(params, "quoteOrderQty")?;
    let price = decimal(params, "price")?;
    let stop_price = decimal(params, "stopPrice")?;
    // Iceberg and trailing values are validated for form even though no rule reads them.
    decimal(params, "icebergQty")?;
    if let Some(td) = params.get("trailingDelta") {
        if td.is_empty() || td.len() > 6 || !td.bytes().all(|b| b.is_ascii_digit()) {
            return Err(malformed("invalid 'trailingDelta'"));
        }
    }
    let client_order_id = parse_client_id(params, "newClientOrderId")?;

    match kind {
        OrderKind::Market => {
            if qty.is_some() == quote_qty.is_some() {
                return Err(malformed(
                    "MARKET order needs exactly one of 'quantity' or 'quoteOrderQty'",
                ));
            }
            if price.is_some() {
                return Err(malformed("MARKET order must not carry 'price'"));
            }
        }
        _ => {
            if quote_qty.is_some() {
                return Err(malformed("'quoteOrderQty' is only valid on MARKET orders"));
            }
            if qty.is_none() {
                return Err(malformed("missing parameter 'quantity'"));
            }
        }
    }
    if kind.has_limit_price() && price.is_none() {
        return Err(malformed("missing parameter 'price'"));
    }
    if !kind.has_limit_price() && price.is_some() {
        return Err(malformed(format!(
            "'price' is not valid on {kind:?} orders"
        )));
    }
    if matches!(
        kind,
        OrderKind::Limit | OrderKind::StopLimit | OrderKind::TakeProfitLimit
    ) && time_in_force.is_none()
    {
        return Err(malformed("missing parameter 'timeInForce'"));
    }
    let is_stop = matches!(
        kind,
        OrderKind::StopMarket
            | OrderKind::StopLimit
            | OrderKind::TakeProfitMarket
            | OrderKind::TakeProfitLimit
    );
    if is_stop && stop_price.is_none() && params.get("trailingDelta").is_none() {
        return Err(malformed(
            "missing parameter 'stopPrice' or 'trailingDelta'",
        ));
    }

    Ok(NewOrder {
        symbol,
        side,
        kind,
        qty,
        quote_qty,
        price,
        stop_price,
        time_in_force,
        client_order_id,
        reduce_only: false,
        contract: crate::model::Contract::Spot,
        test_only,
    })
}

/// Reads which order a cancel or status query names.
pub fn parse_order_ref(params: &Params) -> Result<OrderRef, Rejection> {
    if let Some(id) = params.get("orderId") {
        return id
            .parse::<i64>()
            .ok()
            .filter(|v| *v >= 0)
            .map(OrderRef::ExchangeId)
            .ok_or_else(|| malformed("invalid 'orderId'"));
    }
    match params.get("origClientOrderId") {
        Some(id) if !id.is_empty() && id.len() <= MAX_CLIENT_ORDER_ID_LEN => {
            Ok(OrderRef::ClientId(Box::from(id)))
        }
        Some(_) => Err(malformed("invalid 'origClientOrderId'")),
        None => Err(malformed(
            "missing parameter 'orderId' or 'origClientOrderId'",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(q: &str) -> Result<NewOrder, Rejection> {
        parse_new_order(&Params::parse(Some(q), b"").unwrap(), false)
    }

    #[test]
    fn parses_limit_and_market_orders() {
        let o = order("symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.001&price=60000&newClientOrderId=abc&timestamp=1&signature=ff").unwrap();
        assert_eq!(o.symbol.as_str(), "BTCUSDT");
        assert_eq!(o.side, Side::Buy);
        assert_eq!(o.qty, Some(Fixed(100_000)));
        assert_eq!(o.price, Some(Fixed::from_units(60_000)));
        assert_eq!(o.client_order_id.as_deref(), Some("abc"));
        let o = order("symbol=ETHUSDT&side=SELL&type=MARKET&quoteOrderQty=100").unwrap();
        assert_eq!(o.quote_qty, Some(Fixed::from_units(100)));
        assert_eq!(o.qty, None);
    }

    #[test]
    fn refuses_bad_orders() {
        let cases = [
            "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1e3&price=1",
            "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=NaN&price=1",
            "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=-1&price=1",
            "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0&price=1",
            "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.000000001&price=1",
            "symbol=BTCUSDT&side=BUY&type=LIMIT&quantity=1&price=1",
            "symbol=BTCUSDT&side=BUY&type=MARKET&quantity=1&quoteOrderQty=5",
            "symbol=BTCUSDT&side=BUY&type=MARKET",
            "symbol=BTCUSDT&side=BUY&type=MARKET&quantity=1&price=5",
            "symbol=BTCUSDT&side=HOLD&type=MARKET&quantity=1",
            "symbol=BTCUSDT&side=BUY&type=OCO&quantity=1",
            "symbol=btcusdt&side=BUY&type=MARKET&quantity=1",
            "symbol=BTCUSDT&side=BUY&type=MARKET&quantity=1&leverage=100",
            "symbol=BTCUSDT&side=BUY&type=STOP_LOSS&quantity=1",
        ];
        for q in cases {
            let err = order(q).expect_err(q);
            assert_eq!(err.reason, RejectReason::MalformedRequest, "{q}");
        }
    }

    #[test]
    fn reads_order_refs() {
        let p = Params::parse(Some("symbol=BTCUSDT&orderId=42"), b"").unwrap();
        assert_eq!(parse_order_ref(&p).unwrap(), OrderRef::ExchangeId(42));
        let p = Params::parse(Some("symbol=BTCUSDT&origClientOrderId=x1"), b"").unwrap();
        assert_eq!(
            parse_order_ref(&p).unwrap(),
            OrderRef::ClientId("x1".into())
        );
        let p = Params::parse(Some("symbol=BTCUSDT"), b"").unwrap();
        assert!(parse_order_ref(&p).is_err());
    }
}
