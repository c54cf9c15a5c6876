//! Reads Kraken spot answers into venue-neutral reports.
//!
//! Every Kraken answer is `{"error":[..],"result":{..}}`, HTTP 200 even when
//! refused. Lenient in what it reads (an unreadable entry is skipped): a
//! misread answer only delays learning, it never forwards anything. `AddOrder`
//! answers carry no fills, so an acked order stays open (counted as live
//! exposure) until `OpenOrders`, `QueryOrders` or `ClosedOrders` settles it.
//!
//! Kraken order ids (`OUF4EM-FRGI2-MQMWZD`) are not numbers; riskgate keys them
//! by a stable hash (`txid_key`), the same for the ack and later listings.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::order::{asset_name, pair_symbol};
use crate::model::{Balance, Contract, Fixed, OrderReport, OrderStatus, Side};
use crate::venue::{Action, Learned, Observation};

#[derive(Deserialize)]
struct Envelope<T> {
    #[serde(default)]
    error: Vec<String>,
    result: Option<T>,
}

#[derive(Deserialize)]
struct WireAddOrder {
    #[serde(default)]
    txid: Vec<String>,
}

/// `AmendOrder` (`{"amend_id":..}`) and `EditOrder` (`{"status":"ok",
/// "txid":<new>,"originaltxid":<old>,"volume":..,..}`) answers.
#[derive(Deserialize)]
struct WireAmend {
    #[serde(default)]
    amend_id: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    txid: Option<String>,
}

#[derive(Deserialize)]
struct WireBatchEntry {
    #[serde(default)]
    txid: Option<String>,
    #[serde(default)]
    error: Option<String>,
}

#[derive(Deserialize)]
struct WireBatch {
    #[serde(default)]
    orders: Vec<WireBatchEntry>,
}

#[derive(Deserialize)]
struct WireDescr {
    #[serde(default)]
    pair: String,
    #[serde(rename = "type", default)]
    side: String,
}

#[derive(Deserialize)]
struct WireOrder {
    #[serde(default)]
    status: String,
    #[serde(default)]
    cl_ord_id: Option<String>,
    descr: WireDescr,
    #[serde(default)]
    vol: String,
    #[serde(default)]
    vol_exec: String,
    /// Average fill price.
    #[serde(default)]
    price: String,
    #[serde(default)]
    oflags: String,
}

#[derive(Deserialize)]
struct WireOpen {
    open: BTreeMap<String, WireOrder>,
}

#[derive(Deserialize)]
struct WireTicker {
    /// Last trade: [price, lot volume].
    c: Vec<String>,
}

/// The id riskgate tracks a Kraken txid by (`model::exchange_order_id`: a
/// stable hash, the same for the ack and every later listing).
pub fn txid_key(txid: &str) -> Option<i64> {
    crate::model::exchange_order_id(txid)
}

fn status(s: &str) -> OrderStatus {
    match s {
        "closed" => OrderStatus::Filled,
        "canceled" | "expired" => OrderStatus::Closed,
        // pending, open, or anything new: may still trade.
        _ => OrderStatus::Open,
    }
}

fn report(txid: &str, o: WireOrder) -> Option<OrderReport> {
    let symbol = pair_symbol(&o.descr.pair)?;
    let executed_qty = Fixed::parse(&o.vol_exec).ok()?;
    // `viqc` orders are sized in quote: `vol` is not a base quantity.
    let in_quote = o.oflags.split(',').any(|f| f == "viqc");
    let mut st = status(&o.status);
    // Kraken closes a cancelled, partly filled order as "canceled"; a "closed"
    // order with nothing executed did not fill.
    if st == OrderStatus::Filled && !executed_qty.is_positive() {
        st = OrderStatus::Closed;
    }
    Some(OrderReport {
        symbol,
        exchange_order_id: txid_key(txid),
        client_order_id: o.cl_ord_id.filter(|c| !c.is_empty()).map(Into::into),
        side: match o.descr.side.as_str() {
            "buy" => Some(Side::Buy),
            "sell" => Some(Side::Sell),
            _ => None,
        },
        status: st,
        orig_qty: if in_quote {
            None
        } else {
            Fixed::parse(&o.vol).ok()
        },
        executed_qty,
        avg_price: Fixed::parse(&o.price).ok().filter(|p| p.is_positive()),
        contract: Contract::Spot,
    })
}

fn reports(map: BTreeMap<String, WireOrder>) -> Vec<OrderReport> {
    map.into_iter().filter_map(|(t, o)| report(&t, o)).collect()
}

/// An error that says the request may or may not have been processed.
fn outcome_unknown(errors: &[String]) -> bool {
    errors
        .iter()
        .any(|e| e.starts_with("EGeneral:Internal error") || e.starts_with("EService:"))
}

/// Reads the answer to a request classified as `action`.
pub fn learn(action: &Action, status_code: u16, body: &[u8]) -> Learned {
    let mut learned = Learned::default();
    if !(200..300).contains(&status_code) {
        learned.venue_rejected = (400..500).contains(&status_code);
        return learned;
    }
    match action {
        Action::NewOrder(o) if o.test_only => {}
        Action::NewOrder(o) => {
            let Ok(e) = serde_json::from_slice::<Envelope<WireAddOrder>>(body) else {
                return learned;
            };
            if !e.error.is_empty() {
                learned.venue_rejected = !outcome_unknown(&e.error);
                return learned;
            }
            let Some(r) = e.result else { return learned };
            learned.reports.push(OrderReport {
                symbol: o.symbol.clone(),
                exchange_order_id: r.txid.first().and_then(|t| txid_key(t)),
                client_order_id: o.client_order_id.clone(),
                side: Some(o.side),
                status: OrderStatus::Open,
                orig_qty: o.qty,
                executed_qty: Fixed::ZERO,
                avg_price: None,
                contract: Contract::Spot,
            });
        }
        Action::NewOrders(orders) if orders.iter().all(|o| o.test_only) => {}
        Action::NewOrders(orders) => {
            // {"error":[],"result":{"orders":[{"txid":..,"descr":..}|{"error":..},..]}}
            let Ok(e) = serde_json::from_slice::<Envelope<WireBatch>>(body) else {
                return learned;
            };
            if !e.error.is_empty() {
                learned.venue_rejected = !outcome_unknown(&e.error);
                return learned;
            }
            let Some(r) = e.result else { return learned };
            // Entries that do not line up with the request stay unknown.
            if r.orders.len() == orders.len() {
                learned.batch = r
                    .orders
                    .iter()
                    .zip(orders.iter())
                    .map(|(entry, o)| {
                        let txid = entry.txid.as_deref().filter(|_| entry.error.is_none())?;
                        Some(OrderReport {
                            symbol: o.symbol.clone(),
                            exchange_order_id: txid_key(txid),
                            client_order_id: o.client_order_id.clone(),
                            side: Some(o.side),
                            status: OrderStatus::Open,
                            orig_qty: o.qty,
                            executed_qty: Fixed::ZERO,
                            avg_price: None,
                            contract: Contract::Spot,
                        })
                    })
                    .collect();
            }
        }
        Action::Observe(Observation::OpenOrders { symbol }) => {
            if let Ok(Envelope {
                error,
                result: Some(r),
            }) = serde_json::from_slice::<Envelope<WireOpen>>(body)
            {
                if error.is_empty() {
                    learned.reports = reports(r.open);
                    learned.open_orders_complete = Some(symbol.clone());
                }
            }
        }
        Action::Observe(Observation::OrderStatus) => {
            // QueryOrders: {txid: order}; ClosedOrders: {"closed": {txid: order}, "count": n}.
            if let Ok(v) = serde_json::from_slice::<Envelope<serde_json::Value>>(body) {
                if let (true, Some(mut r)) = (v.error.is_empty(), v.result) {
                    let inner = r.get_mut("closed").map(serde_json::Value::take);
                    let map = inner.unwrap_or(r);
                    if let Ok(m) =
                        serde_json::from_value::<BTreeMap<String, serde_json::Value>>(map)
                    {
                        learned.reports = m
                            .into_iter()
                            .filter_map(|(t, o)| report(&t, serde_json::from_value(o).ok()?))
                            .collect();
                    }
                }
            }
        }
        Action::Observe(Observation::Account) => {
            if let Ok(Envelope {
                error,
                result: Some(r),
            }) = serde_json::from_slice::<Envelope<BTreeMap<String, String>>>(body)
            {
                if error.is_empty() {
                    learned.balances = r
                        .into_iter()
                        .filter_map(|(asset, amount)| {
                            // Staked/earn balances (`DOT.S`, `ETH2.S`, `USD.HOLD`) are not spot.
                            if asset.contains('.') {
                                return None;
                            }
                            Some(Balance {
                                asset: asset_name(&asset).into(),
                                total: Fixed::parse(&amount).ok()?,
                            })
                        })
                        .collect();
                }
            }
        }
        Action::Observe(Observation::Instruments) => {
            learned.filters = super::filters::asset_pairs(body);
        }
        Action::Observe(Observation::Ticker) => {
            if let Ok(Envelope {
                error,
                result: Some(r),
            }) = serde_json::from_slice::<Envelope<BTreeMap<String, WireTicker>>>(body)
            {
                if error.is_empty() {
                    learned.prices = r
                        .into_iter()
                        .filter_map(|(pair, t)| {
                            let p = Fixed::parse(t.c.first()?)
                                .ok()
                                .filter(|p| p.is_positive())?;
                            Some((pair_symbol(&pair)?, p))
                        })
                        .collect();
                }
            }
        }
        Action::AmendRef(a) => {
            let Ok(e) = serde_json::from_slice::<Envelope<WireAmend>>(body) else {
                return learned;
            };
            if !e.error.is_empty() {
                // Refused (the order is as it was), unless Kraken says the
                // outcome is unknown: then the old and the new stay counted.
                learned.venue_rejected = !outcome_unknown(&e.error);
                return learned;
            }
            let Some(r) = e.result else { return learned };
            let ok = match a.mode {
                // The order keeps its id; the answer names no pair (the
                // engine ties it to the amend's reservation, not by symbol).
                crate::model::AmendMode::InPlace => r.amend_id.is_some(),
                // EditOrder: a new order with a new txid replaced the old one.
                crate::model::AmendMode::CancelReplace => {
                    if r.status.as_deref().is_some_and(|s| s != "ok") {
                        learned.venue_rejected = true;
                        return learned;
                    }
                    r.txid.is_some()
                }
            };
            if ok {
                learned.reports.push(OrderReport {
                    symbol: a
                        .symbol
                        .clone()
                        .unwrap_or_else(|| crate::model::Symbol::new("")),
                    exchange_order_id: r.txid.as_deref().and_then(txid_key),
                    client_order_id: None,
                    side: None,
                    status: OrderStatus::Open,
                    orig_qty: a.new_qty,
                    executed_qty: Fixed::ZERO,
                    avg_price: None,
                    contract: Contract::Spot,
                });
            }
        }
        // Kraken's cancel answers carry only a count; the next OpenOrders or
        // QueryOrders answer settles the cancelled orders.
        Action::Cancel { .. }
        | Action::CancelAll { .. }
        | Action::CancelBatch
        | Action::Amend(_)
        | Action::Observe(Observation::Positions { .. })
        | Action::Pass => {}
    }
    learned
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{NewOrder, OrderKind, Symbol};

    fn f(s: &str) -> Fixed {
        Fixed::parse(s).unwrap()
    }

    fn new_order() -> Action {
        Action::NewOrder(NewOrder {
            symbol: Symbol::new("BTCUSD"),
            side: Side::Buy,
            kind: OrderKind::Limit,
            qty: Some(f("1.25")),
            quote_qty: None,
            price: Some(f("27500")),
            stop_price: None,
            time_in_force: None,
            client_order_id: Some("c1".into()),
            reduce_only: false,
            contract: crate::model::Contract::Spot,
            test_only: false,
        })
    }

    #[test]
    fn txid_keys_are_stable_and_positive() {
        let a = txid_key("OUF4EM-FRGI2-MQMWZD");
        assert!(a.is_some());
        assert_eq!(a, txid_key("OUF4EM-FRGI2-MQMWZD"));
        assert_ne!(a, txid_key("OUF4EM-FRGI2-MQMWZE"));
        assert_eq!(txid_key(""), None);
    }

    #[test]
    fn an_ack_leaves_the_order_open_and_errors_release_it() {
        // Kraken's documented AddOrder answer.
        let body = br#"{"error":[],"result":{"descr":{"order":"buy 1.25000000 XBTUSD @ limit 27500.0"},"txid":["OU22CG-KLAF2-FWUDD7"]}}"#;
        let l = learn(&new_order(), 200, body);
        assert_eq!(l.reports.len(), 1);
        let r = &l.reports[0];
        assert_eq!(r.exchange_order_id, txid_key("OU22CG-KLAF2-FWUDD7"));
        assert_eq!((r.status, r.orig_qty), (OrderStatus::Open, Some(f("1.25"))));
        assert_eq!(r.client_order_id.as_deref(), Some("c1"));
        assert!(
            learn(
                &new_order(),
                200,
                br#"{"error":["EOrder:Insufficient funds"]}"#
            )
            .venue_rejected
        );
        let unknown = learn(&new_order(), 200, br#"{"error":["EService:Unavailable"]}"#);
        assert!(!unknown.venue_rejected && unknown.reports.is_empty());
    }

    #[test]
    fn batch_answers_are_read_per_order() {
        let Action::NewOrder(one) = new_order() else {
            unreachable!()
        };
        let action = Action::NewOrders(vec![one.clone(), one].into_boxed_slice());
        let body = br#"{"error":[],"result":{"orders":[{"txid":"O1AAAA-BBBBB-CCCCCC","descr":{"order":"buy 1.25 XBTUSD @ limit 27500.0"}},{"error":"EOrder:Insufficient funds"}]}}"#;
        let l = learn(&action, 200, body);
        assert_eq!(l.batch.len(), 2);
        assert_eq!(
            l.batch[0].as_ref().and_then(|r| r.exchange_order_id),
            txid_key("O1AAAA-BBBBB-CCCCCC")
        );
        assert!(l.batch[1].is_none());
        assert!(learn(&action, 200, br#"{"error":["EOrder:Insufficient funds"]}"#).venue_rejected);
    }

    #[test]
    fn open_and_queried_orders() {
        let body = br#"{"error":[],"result":{"open":{"OQCLML-BW3P3-BUCMWZ":{"refid":null,"userref":0,"cl_ord_id":"c1","status":"open","opentm":1688666559.8974,"starttm":0,"expiretm":0,"descr":{"pair":"XBTUSD","type":"buy","ordertype":"limit","price":"30010.0","price2":"0","leverage":"none","order":"buy 1.25000000 XBTUSD @ limit 30010.0","close":""},"vol":"1.25000000","vol_exec":"0.37500000","cost":"11253.7","fee":"0.00000","price":"30010.0","stopprice":"0.00000","limitprice":"0.00000","misc":"","oflags":"fciq"},
          "OB5VMB-B4U2U-DK2WRW":{"status":"open","descr":{"pair":"XBTUSD","type":"buy","ordertype":"market"},"vol":"100","vol_exec":"0","price":"0","oflags":"viqc"}}}}"#;
        let action = Action::Observe(Observation::OpenOrders { symbol: None });
        let l = learn(&action, 200, body);
        assert_eq!(l.open_orders_complete, Some(None));
        assert_eq!(l.reports.len(), 2);
        let r = l
            .reports
            .iter()
            .find(|r| r.exchange_order_id == txid_key("OQCLML-BW3P3-BUCMWZ"))
            .unwrap();
        assert_eq!(r.symbol.as_str(), "BTCUSD");
        assert_eq!((r.orig_qty, r.executed_qty), (Some(f("1.25")), f("0.375")));
        assert_eq!(r.avg_price, Some(f("30010")));
        assert_eq!(r.client_order_id.as_deref(), Some("c1"));
        let viqc = l
            .reports
            .iter()
            .find(|r| r.client_order_id.is_none())
            .unwrap();
        assert_eq!(viqc.orig_qty, None);

        let q = br#"{"error":[],"result":{"OBCMZD-JIEE7-77TH3F":{"status":"closed","descr":{"pair":"XETHZUSD","type":"sell","ordertype":"limit"},"vol":"2","vol_exec":"2","price":"3000.5","oflags":""}}}"#;
        let l = learn(&Action::Observe(Observation::OrderStatus), 200, q);
        assert_eq!(l.reports.len(), 1);
        assert_eq!(
            (l.reports[0].symbol.as_str(), l.reports[0].status),
            ("ETHUSD", OrderStatus::Filled)
        );
        let closed = br#"{"error":[],"result":{"closed":{"O1":{"status":"canceled","descr":{"pair":"XBTUSD","type":"buy","ordertype":"limit"},"vol":"1","vol_exec":"0","price":"0","oflags":""}},"count":1}}"#;
        let l = learn(&Action::Observe(Observation::OrderStatus), 200, closed);
        assert_eq!(l.reports[0].status, OrderStatus::Closed);
        // An error answer is not an empty listing.
        let err = br#"{"error":["EAPI:Invalid nonce"]}"#;
        assert_eq!(learn(&action, 200, err).open_orders_complete, None);
    }

    #[test]
    fn balances_and_tickers() {
        let bal = br#"{"error":[],"result":{"XXBT":"1.5000000000","ZUSD":"25000.1200","DOT.S":"10","USDT":"5"}}"#;
        let l = learn(&Action::Observe(Observation::Account), 200, bal);
        let got: Vec<(&str, Fixed)> = l.balances.iter().map(|b| (&*b.asset, b.total)).collect();
        assert_eq!(
            got,
            vec![("USDT", f("5")), ("BTC", f("1.5")), ("USD", f("25000.12"))]
        );
        let tick = br#"{"error":[],"result":{"XXBTZUSD":{"a":["30300.10000","1","1.000"],"b":["30300.00000","1","1.000"],"c":["30303.20000","0.00067643"],"v":["4083.67001100","4412.73601799"],"p":["30706.77771","30689.13205"],"t":[34619,38907],"l":["29868.30000","29868.30000"],"h":["31631.00000","31631.00000"],"o":"30502.80000"}}}"#;
        let l = learn(&Action::Observe(Observation::Ticker), 200, tick);
        assert_eq!(l.prices, vec![(Symbol::new("BTCUSD"), f("30303.2"))]);
    }
}
