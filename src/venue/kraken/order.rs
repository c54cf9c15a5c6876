//! Kraken spot order bodies → `model::NewOrder`, strictly; Kraken pair and asset names.
//!
//! `AddOrder` takes a form body (ccxt) or a JSON object; `AddOrderBatch` a JSON
//! object whose `orders` array holds the orders of one `pair`. Both are read
//! into name/value pairs first, refusing a repeated name (Kraken might read the
//! other copy), then checked field by field: an unknown field, a relative price
//! (`+5`, `2%`, `#`) or an order type riskgate cannot price is refused.
//! Must not decide anything about risk: it only translates.

use std::fmt;

use serde::de::{Deserializer, MapAccess, Visitor};

use crate::model::{
    exchange_order_id, AmendMode, AmendRequest, Fixed, NewOrder, OrderKind, OrderRef, Side, Symbol,
    TimeInForce,
};
use crate::rules::{RejectReason, Rejection};
use crate::venue::binance::Params;
use crate::venue::canonical::truncate;

/// Kraken: at most 15 orders per `AddOrderBatch`.
pub const MAX_BATCH_ORDERS: usize = 15;
/// Most fields one order may carry.
const MAX_FIELDS: usize = 40;
const MAX_CLIENT_ORDER_ID_LEN: usize = 36;

/// Fields Kraken documents for one order (in `AddOrder`, or an `AddOrderBatch` entry).
const ORDER_FIELDS: &[&str] = &[
    "ordertype",
    "type",
    "volume",
    "displayvol",
    "price",
    "price2",
    "trigger",
    "leverage",
    "reduce_only",
    "stptype",
    "oflags",
    "timeinforce",
    "starttm",
    "expiretm",
    "userref",
    "cl_ord_id",
    // A conditional close order attached to this one: it can only close what
    // this order opens, so it adds no exposure.
    "close[ordertype]",
    "close[price]",
    "close[price2]",
];
/// Request-level fields (`AddOrder` body, or the `AddOrderBatch` envelope).
const REQUEST_FIELDS: &[&str] = &[
    "nonce",
    "otp",
    "pair",
    "asset_class",
    "deadline",
    "validate",
];

fn malformed(msg: impl Into<String>) -> Rejection {
    Rejection::new(RejectReason::MalformedRequest, msg)
}

/// Kraken's legacy four-letter asset codes and `XBT`/`XDG`, in common names.
pub fn asset_name(kraken: &str) -> &str {
    match kraken {
        "XXBT" | "XBT" => "BTC",
        "XXDG" | "XDG" => "DOGE",
        "XETH" => "ETH",
        "XLTC" => "LTC",
        "XXRP" => "XRP",
        "XXLM" => "XLM",
        "XETC" => "ETC",
        "XZEC" => "ZEC",
        "XXMR" => "XMR",
        "XREP" => "REP",
        "XMLN" => "MLN",
        "ZUSD" => "USD",
        "ZEUR" => "EUR",
        "ZGBP" => "GBP",
        "ZJPY" => "JPY",
        "ZCAD" => "CAD",
        "ZAUD" => "AUD",
        "ZCHF" => "CHF",
        other => other,
    }
}

/// Quote assets recognised at the end of a pair without a `/`, longest first.
const PAIR_QUOTES: &[&str] = &[
    "ZUSD", "ZEUR", "ZGBP", "ZJPY", "ZCAD", "ZAUD", "ZCHF", "XXBT", "XETH", "USDT", "USDC", "USD",
    "EUR", "GBP", "JPY", "CAD", "AUD", "CHF", "XBT", "ETH", "DAI",
];

/// A Kraken pair in any of its spellings (`XBTUSD`, `XXBTZUSD`, `XBT/USD`,
/// `BTC/USD`) as riskgate's symbol: common base and quote names concatenated
/// (`BTCUSD`), so every spelling is the same instrument.
pub fn pair_symbol(pair: &str) -> Option<Symbol> {
    if pair.is_empty()
        || pair.len() > 20
        || !pair
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'/')
    {
        return None;
    }
    let (base, quote) = match pair.split_once('/') {
        Some((b, q)) => (b, q),
        None => PAIR_QUOTES.iter().find_map(|q| {
            let b = pair.strip_suffix(q)?;
            (!b.is_empty()).then_some((b, *q))
        })?,
    };
    if base.is_empty() || quote.is_empty() || quote.contains('/') {
        return None;
    }
    Some(Symbol::new(&format!(
        "{}{}",
        asset_name(base),
        asset_name(quote)
    )))
}

/// riskgate's symbol in Kraken's spelling for public market data (`BTCUSD` → `XBTUSD`).
pub fn kraken_pair(symbol: &str) -> String {
    match crate::model::Instrument::from_concatenated(symbol) {
        Some(i) => {
            let kr = |a: &str| match a {
                "BTC" => "XBT".to_string(),
                "DOGE" => "XDG".to_string(),
                other => other.to_string(),
            };
            format!("{}{}", kr(&i.base), kr(&i.quote))
        }
        None => symbol.to_string(),
    }
}

/// Name/value pairs of one JSON object, in order, with duplicates kept so that
/// they can be refused (serde_json's maps keep only the last copy).
struct JsonPairs(Vec<(String, serde_json::Value)>);

impl<'de> serde::Deserialize<'de> for JsonPairs {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<JsonPairs, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = JsonPairs;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<JsonPairs, A::Error> {
                let mut v = Vec::new();
                while let Some((k, val)) = m.next_entry::<String, serde_json::Value>()? {
                    if v.len() == MAX_FIELDS * 2 {
                        return Err(serde::de::Error::custom("too many fields"));
                    }
                    v.push((k, val));
                }
                Ok(JsonPairs(v))
            }
        }
        d.deserialize_map(V)
    }
}

/// One order's fields as strings, duplicates refused.
#[derive(Default)]
struct Fields(Vec<(String, String)>);

impl Fields {
    fn push(&mut self, k: &str, v: String) -> Result<(), Rejection> {
        if self.0.iter().any(|(e, _)| e == k) {
            return Err(malformed(format!(
                "field '{}' given more than once",
                truncate(k, 24)
            )));
        }
        if self.0.len() == MAX_FIELDS {
            return Err(malformed("too many fields"));
        }
        self.0.push((k.to_string(), v));
        Ok(())
    }

    fn get(&self, k: &str) -> Option<&str> {
        self.0.iter().find(|(e, _)| e == k).map(|(_, v)| v.as_str())
    }

    /// JSON scalars as Kraken reads them: strings as is, numbers and booleans
    /// in their JSON spelling. `close` may be an object of close[...] fields.
    fn from_json(pairs: JsonPairs) -> Result<Fields, Rejection> {
        let mut f = Fields::default();
        for (k, v) in pairs.0 {
            match v {
                serde_json::Value::String(s) => f.push(&k, s)?,
                serde_json::Value::Number(n) => f.push(&k, n.to_string())?,
                serde_json::Value::Bool(b) => f.push(&k, b.to_string())?,
                serde_json::Value::Object(o) if k == "close" => {
                    for (ck, cv) in o {
                        let cv = cv
                            .as_str()
                            .ok_or_else(|| malformed("'close' values must be strings"))?;
                        f.push(&format!("close[{ck}]"), cv.to_string())?;
                    }
                }
                _ => {
                    return Err(malformed(format!(
                        "field '{}' has an unsupported JSON type",
                        truncate(&k, 24)
                    )))
                }
            }
        }
        Ok(f)
    }
}

fn positive(f: &Fields, name: &str) -> Result<Option<Fixed>, Rejection> {
    match f.get(name) {
        None => Ok(None),
        Some(v) => match Fixed::parse(v) {
            Ok(x) if x.is_positive() => Ok(Some(x)),
            Ok(_) => Err(malformed(format!("'{name}' must be greater than zero"))),
            // Relative prices (`+5`, `-2%`, `#10`) land here: refused, since the
            // rules could not know the price the exchange will compute.
            Err(e) => Err(malformed(format!("'{name}'='{}': {e}", truncate(v, 24)))),
        },
    }
}

fn flag(f: &Fields, name: &str) -> Result<bool, Rejection> {
    match f.get(name) {
        None | Some("false") | Some("0") => Ok(false),
        Some("true") | Some("1") => Ok(true),
        Some(v) => Err(malformed(format!(
            "'{name}'='{}' is not true or false",
            truncate(v, 24)
        ))),
    }
}

/// Parses one order's fields; `request` holds the request-level fields.
fn parse_one(order: &Fields, request: &Fields) -> Result<NewOrder, Rejection> {
    if let Some((k, _)) = order
        .0
        .iter()
        .find(|(k, _)| !ORDER_FIELDS.contains(&k.as_str()))
    {
        return Err(malformed(format!("unknown field '{}'", truncate(k, 24))));
    }
    let pair = request
        .get("pair")
        .ok_or_else(|| malformed("missing field 'pair'"))?;
    let symbol = pair_symbol(pair)
        .ok_or_else(|| malformed(format!("invalid pair '{}'", truncate(pair, 24))))?;
    if let Some(ac) = request.get("asset_class") {
        if ac != "tokenized_asset" {
            return Err(malformed("invalid 'asset_class'"));
        }
    }
    let side = match order.get("type") {
        Some("buy") => Side::Buy,
        Some("sell") => Side::Sell,
        Some(o) => return Err(malformed(format!("invalid type '{}'", truncate(o, 24)))),
        None => return Err(malformed("missing field 'type'")),
    };
    let oflags: Vec<&str> = match order.get("oflags") {
        None | Some("") => Vec::new(),
        Some(s) => s.split(',').collect(),
    };
    for fl in &oflags {
        if !matches!(*fl, "post" | "fcib" | "fciq" | "nompp" | "viqc") {
            return Err(malformed(format!("unknown oflag '{}'", truncate(fl, 24))));
        }
    }
    let post_only = oflags.contains(&"post");
    let volume_in_quote = oflags.contains(&"viqc");
    let price = positive(order, "price")?;
    let price2 = positive(order, "price2")?;
    let (kind, limit_price, stop_price) = match order.get("ordertype") {
        Some("market") => (OrderKind::Market, None, None),
        Some("limit") | Some("iceberg") if post_only => (OrderKind::LimitMaker, price, None),
        Some("limit") | Some("iceberg") => (OrderKind::Limit, price, None),
        Some("stop-loss") => (OrderKind::StopMarket, None, price),
        Some("take-profit") => (OrderKind::TakeProfitMarket, None, price),
        Some("stop-loss-limit") => (OrderKind::StopLimit, price2, price),
        Some("take-profit-limit") => (OrderKind::TakeProfitLimit, price2, price),
        Some(o) => {
            return Err(malformed(format!(
                "unsupported ordertype '{}'",
                truncate(o, 24)
            )))
        }
        None => return Err(malformed("missing field 'ordertype'")),
    };
    match kind {
        OrderKind::Market if price.is_some() || price2.is_some() => {
            return Err(malformed("market order must not carry 'price'"))
        }
        OrderKind::Limit | OrderKind::LimitMaker if limit_price.is_none() => {
            return Err(malformed("limit order needs 'price'"))
        }
        OrderKind::Limit | OrderKind::LimitMaker if price2.is_some() => {
            return Err(malformed("limit order must not carry 'price2'"))
        }
        OrderKind::StopMarket | OrderKind::TakeProfitMarket
            if stop_price.is_none() || price2.is_some() =>
        {
            return Err(malformed(
                "stop order needs 'price' (trigger) and no 'price2'",
            ))
        }
        OrderKind::StopLimit | OrderKind::TakeProfitLimit
            if stop_price.is_none() || limit_price.is_none() =>
        {
            return Err(malformed(
                "stop-limit order needs 'price' (trigger) and 'price2' (limit)",
            ))
        }
        _ => {}
    }
    let volume = positive(order, "volume")?.ok_or_else(|| malformed("missing field 'volume'"))?;
    positive(order, "displayvol")?;
    let (qty, quote_qty) = if volume_in_quote {
        if kind != OrderKind::Market || side != Side::Buy {
            return Err(malformed("oflags 'viqc' applies to market buys only"));
        }
        (None, Some(volume))
    } else {
        (Some(volume), None)
    };
    let time_in_force = match order.get("timeinforce") {
        None => kind.has_limit_price().then_some(TimeInForce::Gtc),
        Some("GTC") | Some("GTD") => Some(TimeInForce::Gtc),
        Some("IOC") => Some(TimeInForce::Ioc),
        Some(o) => {
            return Err(malformed(format!(
                "invalid timeinforce '{}'",
                truncate(o, 24)
            )))
        }
    };
    match order.get("leverage") {
        None | Some("none") => {}
        Some(l) if l.len() <= 3 && l.bytes().all(|b| b.is_ascii_digit() || b == b':') => {}
        Some(_) => return Err(malformed("invalid 'leverage'")),
    }
    match order.get("trigger") {
        None | Some("index" | "last") => {}
        Some(_) => return Err(malformed("invalid 'trigger'")),
    }
    match order.get("stptype") {
        None | Some("cancel-newest" | "cancel-oldest" | "cancel-both") => {}
        Some(_) => return Err(malformed("invalid 'stptype'")),
    }
    if let Some(u) = order.get("userref") {
        if u.parse::<i32>().is_err() {
            return Err(malformed("invalid 'userref'"));
        }
    }
    let client_order_id = match order.get("cl_ord_id") {
        None => None,
        Some(id)
            if !id.is_empty()
                && id.len() <= MAX_CLIENT_ORDER_ID_LEN
                && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') =>
        {
            Some(id.into())
        }
        Some(_) => return Err(malformed("invalid 'cl_ord_id'")),
    };
    if let Some(ct) = order.get("close[ordertype]") {
        if !matches!(
            ct,
            "limit" | "stop-loss" | "take-profit" | "stop-loss-limit" | "take-profit-limit"
        ) {
            return Err(malformed("invalid 'close[ordertype]'"));
        }
    }
    Ok(NewOrder {
        symbol,
        side,
        kind,
        qty,
        quote_qty,
        price: limit_price,
        stop_price,
        time_in_force,
        client_order_id,
        reduce_only: flag(order, "reduce_only")?,
        contract: crate::model::Contract::Spot,
        test_only: flag(request, "validate")?,
    })
}

fn check_request_fields(f: &Fields, allowed_extra: &[&str]) -> Result<(), Rejection> {
    match f.0.iter().find(|(k, _)| {
        !REQUEST_FIELDS.contains(&k.as_str()) && !allowed_extra.contains(&k.as_str())
    }) {
        Some((k, _)) => Err(malformed(format!("unknown field '{}'", truncate(k, 24)))),
        None => Ok(()),
    }
}

fn first_non_space(body: &[u8]) -> Option<u8> {
    body.iter().copied().find(|b| !b.is_ascii_whitespace())
}

/// A private request's fields (form, or a JSON object), duplicates refused.
fn body_fields(body: &[u8]) -> Result<Fields, Rejection> {
    if first_non_space(body) == Some(b'{') {
        let pairs: JsonPairs = serde_json::from_slice(body)
            .map_err(|e| malformed(format!("body: {}", truncate(&e.to_string(), 120))))?;
        Fields::from_json(pairs)
    } else {
        let params = Params::parse(None, body).map_err(|e| malformed(format!("body: {e}")))?;
        let mut f = Fields::default();
        for (k, v) in params.iter() {
            f.push(k, v.to_string())?;
        }
        Ok(f)
    }
}

/// `AmendOrder` fields (besides `nonce` and `otp`).
const AMEND_FIELDS: &[&str] = &[
    "txid",
    "cl_ord_id",
    "order_qty",
    "display_qty",
    "limit_price",
    "trigger_price",
    "post_only",
    "deadline",
];

/// `EditOrder` fields (besides `nonce` and `otp`).
const EDIT_FIELDS: &[&str] = &[
    "txid",
    "userref",
    "pair",
    "asset_class",
    "volume",
    "displayvol",
    "price",
    "price2",
    "oflags",
    "deadline",
    "cancel_response",
    "validate",
];

fn check_fields(f: &Fields, allowed: &[&str]) -> Result<(), Rejection> {
    match f
        .0
        .iter()
        .find(|(k, _)| !allowed.contains(&k.as_str()) && !matches!(k.as_str(), "nonce" | "otp"))
    {
        Some((k, _)) => Err(malformed(format!("unknown field '{}'", truncate(k, 24)))),
        None => Ok(()),
    }
}

/// A Kraken order id (`OUF4EM-FRGI2-MQMWZD`) as riskgate tracks it. A bare
/// number would be a `userref`, which can name several orders: refused.
fn txid_ref(txid: &str) -> Result<OrderRef, Rejection> {
    if txid.is_empty()
        || txid.len() > 40
        || txid.bytes().all(|b| b.is_ascii_digit())
        || !txid.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    {
        return Err(malformed(
            "'txid' must be one Kraken order id (a userref may name several orders)",
        ));
    }
    exchange_order_id(txid)
        .map(OrderRef::ExchangeId)
        .ok_or_else(|| malformed("invalid 'txid'"))
}

/// Parses an `AmendOrder` body (form, as ccxt sends it, or JSON): the order
/// (`txid` or `cl_ord_id`; no pair) and its new total `order_qty`,
/// `limit_price` or `trigger_price`. The order keeps its id. Relative prices
/// (`+5`, `2%`) are refused: riskgate could not know the price they make.
pub fn parse_amend_order(body: &[u8]) -> Result<AmendRequest, Rejection> {
    let f = body_fields(body)?;
    check_fields(&f, AMEND_FIELDS)?;
    let (target, label) = match (f.get("txid"), f.get("cl_ord_id")) {
        (Some(t), None) => (txid_ref(t)?, t),
        (None, Some(c))
            if !c.is_empty()
                && c.len() <= MAX_CLIENT_ORDER_ID_LEN
                && c.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') =>
        {
            (OrderRef::ClientId(c.into()), c)
        }
        (Some(_), Some(_)) => return Err(malformed("give 'txid' or 'cl_ord_id', not both")),
        _ => return Err(malformed("AmendOrder needs 'txid' or 'cl_ord_id'")),
    };
    positive(&f, "display_qty")?;
    flag(&f, "post_only")?;
    Ok(AmendRequest {
        target,
        target_label: truncate(label, 40).into(),
        symbol: None,
        contract: Some(crate::model::Contract::Spot),
        new_qty: positive(&f, "order_qty")?,
        new_price: positive(&f, "limit_price")?,
        new_trigger_price: positive(&f, "trigger_price")?,
        positional_prices: None,
        mode: AmendMode::InPlace,
    })
}

/// Parses an `EditOrder` body: the order (`txid`, with its `pair`) and its new
/// `volume` and `price`/`price2` (read by the order's type: see
/// `AmendRequest::positional_prices`). Kraken cancels the order and places a
/// new one with a new txid; it refuses an edit below the executed volume, so
/// `volume` is read as the new total. `None` for `validate=true`: nothing is
/// placed, so there is nothing to check or count.
pub fn parse_edit_order(body: &[u8]) -> Result<Option<AmendRequest>, Rejection> {
    let f = body_fields(body)?;
    check_fields(&f, EDIT_FIELDS)?;
    let txid = f
        .get("txid")
        .ok_or_else(|| malformed("missing field 'txid'"))?;
    let target = txid_ref(txid)?;
    let pair = f
        .get("pair")
        .ok_or_else(|| malformed("missing field 'pair'"))?;
    let symbol = pair_symbol(pair)
        .ok_or_else(|| malformed(format!("invalid pair '{}'", truncate(pair, 24))))?;
    if let Some(ac) = f.get("asset_class") {
        if ac != "tokenized_asset" {
            return Err(malformed("invalid 'asset_class'"));
        }
    }
    if let Some(u) = f.get("userref") {
        if u.parse::<i32>().is_err() {
            return Err(malformed("invalid 'userref'"));
        }
    }
    for fl in f
        .get("oflags")
        .unwrap_or("")
        .split(',')
        .filter(|s| !s.is_empty())
    {
        // `viqc` would size the new order in quote currency: not readable here.
        if !matches!(fl, "post" | "fcib" | "fciq" | "nompp") {
            return Err(malformed(format!(
                "unsupported oflag '{}'",
                truncate(fl, 24)
            )));
        }
    }
    positive(&f, "displayvol")?;
    flag(&f, "cancel_response")?;
    if flag(&f, "validate")? {
        return Ok(None);
    }
    let (price, price2) = (positive(&f, "price")?, positive(&f, "price2")?);
    Ok(Some(AmendRequest {
        target,
        target_label: truncate(txid, 40).into(),
        symbol: Some(symbol),
        contract: Some(crate::model::Contract::Spot),
        new_qty: positive(&f, "volume")?,
        new_price: None,
        new_trigger_price: None,
        positional_prices: (price.is_some() || price2.is_some()).then_some((price, price2)),
        mode: AmendMode::CancelReplace,
    }))
}

/// Parses an `AddOrder` body (form, or a JSON object).
pub fn parse_add_order(body: &[u8]) -> Result<NewOrder, Rejection> {
    let fields = if first_non_space(body) == Some(b'{') {
        let pairs: JsonPairs = serde_json::from_slice(body)
            .map_err(|e| malformed(format!("order body: {}", truncate(&e.to_string(), 120))))?;
        Fields::from_json(pairs)?
    } else {
        let params =
            Params::parse(None, body).map_err(|e| malformed(format!("order body: {e}")))?;
        let mut f = Fields::default();
        for (k, v) in params.iter() {
            f.push(k, v.to_string())?;
        }
        f
    };
    check_request_fields(&fields, ORDER_FIELDS)?;
    let order = Fields(
        fields
            .0
            .iter()
            .filter(|(k, _)| !REQUEST_FIELDS.contains(&k.as_str()))
            .cloned()
            .collect(),
    );
    parse_one(&order, &fields)
}

/// Parses an `AddOrderBatch` body: `{"nonce":..,"pair":..,"orders":[..],"validate":..}`.
pub fn parse_add_order_batch(body: &[u8]) -> Result<Vec<NewOrder>, Rejection> {
    if first_non_space(body) != Some(b'{') {
        return Err(malformed("AddOrderBatch body must be a JSON object"));
    }
    let pairs: JsonPairs = serde_json::from_slice(body)
        .map_err(|e| malformed(format!("batch body: {}", truncate(&e.to_string(), 120))))?;
    let mut request = Fields::default();
    let mut orders = None;
    for (k, v) in pairs.0 {
        if k == "orders" {
            if orders.is_some() {
                return Err(malformed("field 'orders' given more than once"));
            }
            orders = Some(v);
        } else {
            let one = Fields::from_json(JsonPairs(vec![(k, v)]))?;
            for (k, v) in one.0 {
                request.push(&k, v)?;
            }
        }
    }
    check_request_fields(&request, &[])?;
    if !matches!(orders, Some(serde_json::Value::Array(_))) {
        return Err(malformed("AddOrderBatch needs an 'orders' array"));
    }
    // Second pass over the text: each order as name/value pairs, so that a
    // name repeated inside an order is still caught (the first pass's values
    // are serde_json maps, which keep only the last copy).
    #[derive(serde::Deserialize)]
    struct Batch {
        orders: Vec<JsonPairs>,
    }
    let list = serde_json::from_slice::<Batch>(body)
        .map_err(|e| malformed(format!("batch orders: {}", truncate(&e.to_string(), 120))))?
        .orders;
    if list.is_empty() || list.len() > MAX_BATCH_ORDERS {
        return Err(malformed(format!(
            "a batch holds 1 to {MAX_BATCH_ORDERS} orders, not {}",
            list.len()
        )));
    }
    list.into_iter()
        .enumerate()
        .map(|(i, pairs)| {
            let f = Fields::from_json(pairs).map_err(|mut r| {
                r.message = format!("order {i}: {}", r.message);
                r
            })?;
            parse_one(&f, &request).map_err(|mut r| {
                r.message = format!("order {i}: {}", r.message);
                r
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(s: &str) -> Fixed {
        Fixed::parse(s).unwrap()
    }

    fn form(body: &str) -> Result<NewOrder, Rejection> {
        parse_add_order(body.as_bytes())
    }

    #[test]
    fn pairs_in_every_spelling_are_one_symbol() {
        for p in ["XBTUSD", "XXBTZUSD", "XBT/USD", "BTC/USD", "BTCUSD"] {
            assert_eq!(pair_symbol(p).unwrap().as_str(), "BTCUSD", "{p}");
        }
        assert_eq!(pair_symbol("XETHXXBT").unwrap().as_str(), "ETHBTC");
        assert_eq!(pair_symbol("SOLUSDT").unwrap().as_str(), "SOLUSDT");
        assert_eq!(pair_symbol("XDGUSD").unwrap().as_str(), "DOGEUSD");
        assert_eq!(pair_symbol("ETH/EUR").unwrap().as_str(), "ETHEUR");
        for bad in ["", "xbtusd", "XBT//USD", "/USD", "XBT/", "FOO", "XBT USD"] {
            assert!(pair_symbol(bad).is_none(), "{bad}");
        }
        assert_eq!(kraken_pair("BTCUSD"), "XBTUSD");
        assert_eq!(kraken_pair("ETHUSDT"), "ETHUSDT");
    }

    #[test]
    fn parses_what_ccxt_sends() {
        // ccxt kraken.create_order('BTC/USD', 'limit', 'buy', 0.01, 60000, {'clientOrderId': ..}).
        let o = form("nonce=1717243200000&pair=XXBTZUSD&type=buy&ordertype=limit&volume=0.01&price=60000&cl_ord_id=6d1b345e-2821-40e2-ad83-4ecb18a06876").unwrap();
        assert_eq!(o.symbol.as_str(), "BTCUSD");
        assert_eq!((o.side, o.kind), (Side::Buy, OrderKind::Limit));
        assert_eq!((o.qty, o.price), (Some(f("0.01")), Some(f("60000"))));
        assert_eq!(o.time_in_force, Some(TimeInForce::Gtc));
        assert_eq!(
            o.client_order_id.as_deref(),
            Some("6d1b345e-2821-40e2-ad83-4ecb18a06876")
        );
        assert!(!o.test_only && !o.reduce_only);
        // Market buy sized in quote (ccxt: createMarketBuyOrderWithCost).
        let o =
            form("nonce=1&pair=XBTUSD&type=buy&ordertype=market&volume=100&oflags=viqc").unwrap();
        assert_eq!((o.qty, o.quote_qty), (None, Some(f("100"))));
        // Validate-only orders are checked, never counted.
        assert!(
            form("nonce=1&pair=XBTUSD&type=sell&ordertype=market&volume=1&validate=true")
                .unwrap()
                .test_only
        );
        let o = form("nonce=1&pair=XBTUSD&type=sell&ordertype=limit&volume=1&price=70000&oflags=post,fcib&reduce_only=true").unwrap();
        assert_eq!(o.kind, OrderKind::LimitMaker);
        assert!(o.reduce_only);
        let o = form("nonce=1&pair=XBTUSD&type=sell&ordertype=stop-loss-limit&volume=1&price=50000&price2=49900&timeinforce=IOC").unwrap();
        assert_eq!(
            (o.kind, o.stop_price, o.price),
            (OrderKind::StopLimit, Some(f("50000")), Some(f("49900")))
        );
        assert_eq!(o.time_in_force, Some(TimeInForce::Ioc));
        let o = form("nonce=1&pair=XBTUSD&type=buy&ordertype=limit&volume=1&price=50000&close%5Bordertype%5D=take-profit&close%5Bprice%5D=60000").unwrap();
        assert_eq!(o.kind, OrderKind::Limit);
    }

    #[test]
    fn json_add_order_is_read_like_the_form() {
        let o = parse_add_order(br#"{"nonce":1717243200000,"pair":"XBT/USD","type":"buy","ordertype":"limit","volume":"0.5","price":"60000","close":{"ordertype":"stop-loss","price":"50000"}}"#).unwrap();
        assert_eq!((o.symbol.as_str(), o.qty), ("BTCUSD", Some(f("0.5"))));
        assert!(parse_add_order(br#"{"nonce":1,"pair":"XBTUSD","type":"buy","ordertype":"market","volume":"1","volume":"100"}"#).is_err());
    }

    #[test]
    fn refuses_ambiguous_or_unknown_input() {
        for body in [
            "nonce=1&pair=XBTUSD&type=buy&ordertype=market&volume=1&volume=100",
            "nonce=1&pair=XBTUSD&type=buy&ordertype=market&volume=1&newthing=1",
            "nonce=1&pair=XBTUSD&type=buy&ordertype=limit&volume=1&price=%2B5",
            "nonce=1&pair=XBTUSD&type=buy&ordertype=limit&volume=1&price=2%25",
            "nonce=1&pair=XBTUSD&type=buy&ordertype=limit&volume=1&price=%2310",
            "nonce=1&pair=XBTUSD&type=buy&ordertype=limit&volume=1",
            "nonce=1&pair=XBTUSD&type=buy&ordertype=market&volume=1&price=1",
            "nonce=1&pair=XBTUSD&type=buy&ordertype=market&volume=0",
            "nonce=1&pair=XBTUSD&type=buy&ordertype=market&volume=1e3",
            "nonce=1&pair=XBTUSD&type=buy&ordertype=trailing-stop&volume=1&price=%2B50",
            "nonce=1&pair=XBTUSD&type=buy&ordertype=settle-position&volume=0",
            "nonce=1&pair=XBTUSD&type=BUY&ordertype=market&volume=1",
            "nonce=1&pair=xbtusd&type=buy&ordertype=market&volume=1",
            "nonce=1&type=buy&ordertype=market&volume=1",
            "nonce=1&pair=XBTUSD&type=buy&ordertype=market&volume=1&oflags=viqc,boom",
            "nonce=1&pair=XBTUSD&type=sell&ordertype=market&volume=1&oflags=viqc",
            "nonce=1&pair=XBTUSD&type=buy&ordertype=market&volume=1&validate=maybe",
            "nonce=1&pair=XBTUSD&type=buy&ordertype=market&volume=1&userref=abc",
            "nonce=1&pair=XBTUSD&type=buy&ordertype=market&volume=1&cl_ord_id=a%20b",
            "nonce=1&pair=XBTUSD&type=buy&ordertype=limit&volume=1&price=1&close%5Bordertype%5D=market",
            "nonce=1&pair=XBTUSD&type=buy&ordertype=market&volume=%FF",
        ] {
            assert_eq!(form(body).unwrap_err().reason, RejectReason::MalformedRequest, "{body}");
        }
    }

    #[test]
    fn batches() {
        let body = br#"{"nonce":"1717243200000","pair":"XBTUSD","orders":[
            {"ordertype":"limit","type":"buy","volume":"0.1","price":"60000","cl_ord_id":"a1"},
            {"ordertype":"limit","type":"sell","volume":"0.1","price":"70000","timeinforce":"GTC"}],"validate":"false"}"#;
        let v = parse_add_order_batch(body).unwrap();
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].symbol.as_str(), "BTCUSD");
        assert_eq!(v[1].side, Side::Sell);
        let bad = br#"{"nonce":"1","pair":"XBTUSD","orders":[{"ordertype":"limit","type":"buy","volume":"0.1","price":"60000"},{"ordertype":"limit","type":"buy","volume":"1","volume":"9","price":"1"}]}"#;
        let r = parse_add_order_batch(bad).unwrap_err();
        assert!(r.message.starts_with("order 1: "), "{}", r.message);
        assert!(parse_add_order_batch(br#"{"nonce":"1","pair":"XBTUSD","orders":[]}"#).is_err());
        assert!(parse_add_order_batch(br#"{"nonce":"1","pair":"XBTUSD"}"#).is_err());
        assert!(
            parse_add_order_batch(br#"{"nonce":"1","pair":"XBTUSD","orders":[],"orders":[]}"#)
                .is_err()
        );
        assert!(parse_add_order_batch(b"nonce=1").is_err());
    }
}
