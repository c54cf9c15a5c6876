//! Reads Binance spot and USD-M futures answers into venue-neutral reports.
//!
//! Lenient in what it reads (a field it cannot read is skipped), because a
//! misread answer only delays learning; it never forwards anything.

use std::borrow::Cow;

use serde::Deserialize;

use crate::model::{
    Balance, ClientOrderId, Contract, Fixed, OrderReport, OrderStatus, Side, Symbol,
};
use crate::venue::{Action, Learned, Observation, PositionReport};

/// One order in an answer. Strings borrow from the answer's bytes (`Cow`
/// allocates only for a string with JSON escapes): this runs on every order.
#[derive(Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct WireOrder<'a> {
    #[serde(borrow)]
    pub(super) symbol: Cow<'a, str>,
    /// `orderId`, or `algoId` for a futures conditional (algo) order.
    #[serde(default, alias = "algoId")]
    pub(super) order_id: Option<i64>,
    #[serde(default, alias = "clientAlgoId", borrow)]
    pub(super) client_order_id: Option<Cow<'a, str>>,
    /// Cancel answers name the cancelled order's client id here.
    #[serde(default, borrow)]
    pub(super) orig_client_order_id: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    pub(super) side: Option<Cow<'a, str>>,
    #[serde(default, alias = "algoStatus", borrow)]
    pub(super) status: Option<Cow<'a, str>>,
    /// `origQty`, or `quantity` on an algo order.
    #[serde(default, alias = "quantity", borrow)]
    pub(super) orig_qty: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    pub(super) executed_qty: Option<Cow<'a, str>>,
    /// Spot `cummulativeQuoteQty`, futures `cumQuote`.
    #[serde(default, alias = "cumQuote", borrow)]
    pub(super) cummulative_quote_qty: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    pub(super) fills: Vec<WireFill<'a>>,
}

#[derive(Debug, PartialEq, Deserialize)]
pub(super) struct WireFill<'a> {
    #[serde(borrow)]
    pub(super) price: Cow<'a, str>,
    #[serde(borrow)]
    pub(super) qty: Cow<'a, str>,
}

/// One entry of a futures `batchOrders` answer: that order, or Binance's
/// error for that order alone (an object with `code`).
// Parsed and consumed at once, never stored: the size difference is moot.
#[allow(clippy::large_enum_variant)]
#[derive(Deserialize)]
#[serde(untagged)]
enum WireBatchEntry<'a> {
    Refused {
        #[allow(dead_code)]
        code: serde::de::IgnoredAny,
    },
    #[serde(borrow)]
    Order(WireOrder<'a>),
}

#[derive(Deserialize)]
struct WireBalance {
    asset: String,
    free: String,
    locked: String,
}

#[derive(Deserialize)]
struct WireAccount {
    balances: Vec<WireBalance>,
}

/// `GET /fapi/v2|v3/account`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireFuturesAccount {
    assets: Vec<WireFuturesAsset>,
    #[serde(default)]
    positions: Vec<WirePosition>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireFuturesAsset {
    asset: String,
    wallet_balance: String,
}

/// One entry of `positionRisk` or of the account's `positions`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WirePosition {
    symbol: String,
    position_amt: String,
    #[serde(default)]
    entry_price: Option<String>,
}

/// A signed decimal (`positionAmt` is negative for shorts).
fn signed(s: &str) -> Option<Fixed> {
    match s.strip_prefix('-') {
        Some(abs) => Fixed::parse(abs).ok().map(|f| Fixed(-f.0)),
        None => Fixed::parse(s).ok(),
    }
}

/// Hedge mode lists a LONG and a SHORT entry per symbol: riskgate nets them.
fn positions(list: Vec<WirePosition>) -> Vec<PositionReport> {
    let mut out: Vec<PositionReport> = Vec::with_capacity(list.len());
    for p in list {
        let Some(qty) = signed(&p.position_amt) else {
            continue;
        };
        let entry_price = p
            .entry_price
            .as_deref()
            .and_then(|e| Fixed::parse(e).ok())
            .filter(|e| e.is_positive());
        match out.iter_mut().find(|o| o.symbol.as_str() == p.symbol) {
            Some(o) => {
                o.qty = o.qty.saturating_add(qty);
                o.entry_price = o.entry_price.or(entry_price);
            }
            None => out.push(PositionReport {
                symbol: Symbol::new(&p.symbol),
                qty,
                entry_price,
            }),
        }
    }
    out
}

#[derive(Deserialize)]
struct WireTicker {
    symbol: String,
    price: String,
}

/// Reads one object or an array of them. Decided by the first byte rather than
/// an untagged enum, which would buffer the whole answer before parsing it.
fn one_or_many<'a, T: Deserialize<'a>>(body: &'a [u8]) -> Option<Vec<T>> {
    match body.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'[') => serde_json::from_slice(body).ok(),
        Some(b'{') => serde_json::from_slice(body).ok().map(|t| vec![t]),
        _ => None,
    }
}

fn fixed(s: &Option<Cow<'_, str>>) -> Option<Fixed> {
    s.as_deref().and_then(|v| Fixed::parse(v).ok())
}

fn status(s: Option<&str>) -> OrderStatus {
    match s {
        Some("FILLED") => OrderStatus::Filled,
        // FINISHED: an algo order whose triggered order filled or was cancelled;
        // the triggered order itself is a normal order riskgate learns apart.
        Some("CANCELED" | "REJECTED" | "EXPIRED" | "EXPIRED_IN_MATCH" | "FINISHED") => {
            OrderStatus::Closed
        }
        // NEW, PARTIALLY_FILLED, PENDING_NEW, PENDING_CANCEL, or an ACK without status:
        // the order may still trade, so it counts as live.
        _ => OrderStatus::Open,
    }
}

fn report(o: WireOrder, is_cancel_answer: bool, contract: Contract) -> OrderReport {
    let executed_qty = fixed(&o.executed_qty)
        .or_else(|| {
            (!o.fills.is_empty()).then(|| {
                o.fills
                    .iter()
                    .filter_map(|f| Fixed::parse(&f.qty).ok())
                    .fold(Fixed::ZERO, Fixed::saturating_add)
            })
        })
        .unwrap_or(Fixed::ZERO);
    let avg_price = if executed_qty.is_positive() {
        let quote = fixed(&o.cummulative_quote_qty)
            .map(|q| q.to_f64())
            .or_else(|| {
                (!o.fills.is_empty()).then(|| {
                    o.fills
                        .iter()
                        .filter_map(|f| {
                            Some(
                                Fixed::parse(&f.qty)
                                    .ok()?
                                    .mul_f64(Fixed::parse(&f.price).ok()?),
                            )
                        })
                        .sum::<f64>()
                })
            });
        quote.and_then(|q| Fixed::from_f64(q / executed_qty.to_f64()))
    } else {
        None
    };
    let client_order_id = if is_cancel_answer {
        o.orig_client_order_id
    } else {
        o.client_order_id.or(o.orig_client_order_id)
    };
    OrderReport {
        symbol: Symbol::new(&o.symbol),
        exchange_order_id: o.order_id,
        client_order_id: client_order_id.map(ClientOrderId::from),
        side: match o.side.as_deref() {
            Some("BUY") => Some(Side::Buy),
            Some("SELL") => Some(Side::Sell),
            _ => None,
        },
        status: status(o.status.as_deref()),
        orig_qty: fixed(&o.orig_qty),
        executed_qty,
        avg_price,
        contract,
    }
}

fn orders(body: &[u8], is_cancel_answer: bool, contract: Contract) -> Vec<OrderReport> {
    // The hot case (one order's answer) through the fast reader; it steps
    // aside (None) for anything serde_json should judge.
    if let Some(o) = super::fast::order(body) {
        return vec![report(o, is_cancel_answer, contract)];
    }
    one_or_many::<WireOrder>(body)
        .map(|o| {
            o.into_iter()
                .map(|o| report(o, is_cancel_answer, contract))
                .collect()
        })
        .unwrap_or_default()
}

/// Reads a Binance spot answer to a request classified as `action`.
pub fn learn(action: &Action, status: u16, body: &[u8]) -> Learned {
    learn_contract(Contract::Spot, action, status, body)
}

/// Reads a Binance answer (spot or USD-M futures, by `contract`).
pub fn learn_contract(contract: Contract, action: &Action, status: u16, body: &[u8]) -> Learned {
    let mut learned = Learned::default();
    if !(200..300).contains(&status) {
        // Binance answers a refused order with 4xx and `{"code":..,"msg":..}`;
        // 5xx means the outcome is unknown and is not a refusal.
        learned.venue_rejected = (400..500).contains(&status);
        return learned;
    }
    match action {
        Action::NewOrder(o) if o.test_only => {}
        Action::NewOrder(_) | Action::Amend(_) | Action::Observe(Observation::OrderStatus) => {
            learned.reports = orders(body, false, contract)
        }
        Action::NewOrders(_) => {
            // Binance futures `batchOrders`: one entry per order, in request
            // order, each an order or `{"code":..,"msg":..}` for that order alone.
            // An entry that is neither leaves the whole batch unknown
            // (counted as live until a status settles it), never refused.
            if let Ok(list) = serde_json::from_slice::<Vec<WireBatchEntry>>(body) {
                learned.batch = list
                    .into_iter()
                    .map(|entry| match entry {
                        WireBatchEntry::Refused { .. } => None,
                        WireBatchEntry::Order(o) => Some(report(o, false, contract)),
                    })
                    .collect();
            }
        }
        Action::Cancel { .. } | Action::CancelAll { .. } | Action::CancelBatch => {
            learned.reports = orders(body, true, contract)
        }
        // Binance's amend names the side: it is parsed as `Action::Amend`.
        Action::AmendRef(_) => {}
        Action::Observe(Observation::OpenOrders { symbol }) => {
            if let Ok(list) = serde_json::from_slice::<Vec<WireOrder>>(body) {
                learned.reports = list
                    .into_iter()
                    .map(|o| report(o, false, contract))
                    .collect();
                learned.open_orders_complete = Some(symbol.clone());
            }
        }
        Action::Observe(Observation::Account) if contract == Contract::Linear => {
            if let Ok(acct) = serde_json::from_slice::<WireFuturesAccount>(body) {
                // The wallet balance; unrealised P&L follows from the positions.
                learned.balances = acct
                    .assets
                    .into_iter()
                    .filter_map(|a| {
                        Some(Balance {
                            total: signed(&a.wallet_balance)?,
                            asset: a.asset.into(),
                        })
                    })
                    .collect();
                learned.positions = positions(acct.positions);
                learned.positions_complete = true;
            }
        }
        Action::Observe(Observation::Positions { complete }) => {
            if let Ok(list) = serde_json::from_slice::<Vec<WirePosition>>(body) {
                learned.positions = positions(list);
                learned.positions_complete = *complete;
            }
        }
        Action::Observe(Observation::Account) => {
            if let Ok(acct) = serde_json::from_slice::<WireAccount>(body) {
                learned.balances = acct
                    .balances
                    .into_iter()
                    .filter_map(|b| {
                        let total = Fixed::parse(&b.free)
                            .ok()?
                            .saturating_add(Fixed::parse(&b.locked).ok()?);
                        Some(Balance {
                            asset: b.asset.into(),
                            total,
                        })
                    })
                    .collect();
            }
        }
        Action::Observe(Observation::Ticker) => {
            if let Some(t) = one_or_many::<WireTicker>(body) {
                learned.prices = t
                    .into_iter()
                    .filter_map(|t| {
                        Some((
                            Symbol::new(&t.symbol),
                            Fixed::parse(&t.price).ok().filter(|p| p.is_positive())?,
                        ))
                    })
                    .collect();
            }
        }
        Action::Observe(Observation::Instruments) => {
            learned.filters = super::filters::exchange_info(body, contract);
        }
        Action::Pass => {}
    }
    learned
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::OrderRef;

    fn new_order_action() -> Action {
        Action::NewOrder(crate::model::NewOrder {
            symbol: Symbol::new("BTCUSDT"),
            side: Side::Buy,
            kind: crate::model::OrderKind::Market,
            qty: Some(Fixed::from_units(1)),
            quote_qty: None,
            price: None,
            stop_price: None,
            time_in_force: None,
            client_order_id: None,
            reduce_only: false,
            contract: crate::model::Contract::Spot,
            test_only: false,
        })
    }

    #[test]
    fn reads_full_fills() {
        let body = br#"{"symbol":"BTCUSDT","orderId":28,"orderListId":-1,"clientOrderId":"abc","transactTime":1,
            "price":"0.00000000","origQty":"0.20000000","executedQty":"0.20000000","cummulativeQuoteQty":"12000.00000000",
            "status":"FILLED","timeInForce":"GTC","type":"MARKET","side":"BUY",
            "fills":[{"price":"59000.00","qty":"0.10000000","commission":"0","commissionAsset":"BNB"},
                     {"price":"61000.00","qty":"0.10000000","commission":"0","commissionAsset":"BNB"}]}"#;
        let l = learn(&new_order_action(), 200, body);
        let r = &l.reports[0];
        assert_eq!(r.status, OrderStatus::Filled);
        assert_eq!(r.executed_qty, Fixed::parse("0.2").unwrap());
        assert_eq!(r.avg_price, Some(Fixed::from_units(60_000)));
        assert_eq!(r.client_order_id.as_deref(), Some("abc"));
    }

    #[test]
    fn ack_without_status_counts_as_open() {
        let body = br#"{"symbol":"BTCUSDT","orderId":28,"orderListId":-1,"clientOrderId":"abc","transactTime":1}"#;
        let l = learn(&new_order_action(), 200, body);
        assert_eq!(l.reports[0].status, OrderStatus::Open);
        assert_eq!(l.reports[0].executed_qty, Fixed::ZERO);
    }

    #[test]
    fn reads_cancels_balances_and_errors() {
        let cancel = Action::Cancel {
            symbol: Symbol::new("BTCUSDT"),
            order: OrderRef::ExchangeId(1),
        };
        let body = br#"{"symbol":"BTCUSDT","origClientOrderId":"mine","orderId":1,"clientOrderId":"cancel-req","status":"CANCELED","executedQty":"0.00000000","side":"BUY"}"#;
        let l = learn(&cancel, 200, body);
        assert_eq!(l.reports[0].client_order_id.as_deref(), Some("mine"));
        assert_eq!(l.reports[0].status, OrderStatus::Closed);

        let acct = br#"{"balances":[{"asset":"BTC","free":"1.5","locked":"0.5"},{"asset":"USDT","free":"100","locked":"0"}]}"#;
        let l = learn(&Action::Observe(Observation::Account), 200, acct);
        assert_eq!(l.balances[0].total, Fixed::from_units(2));

        let l = learn(
            &new_order_action(),
            400,
            br#"{"code":-2010,"msg":"Account has insufficient balance"}"#,
        );
        assert!(l.venue_rejected);
        let l = learn(&new_order_action(), 502, b"bad gateway");
        assert!(!l.venue_rejected);
    }
}
