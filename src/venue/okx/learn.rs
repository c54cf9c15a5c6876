//! Reads OKX v5 answers into venue-neutral reports.
//!
//! Every OKX answer is `{"code":"0"|..,"msg":..,"data":[..]}` with HTTP 200 even
//! when the exchange refuses. Lenient in what it reads (an unreadable entry is
//! skipped): a misread answer only delays learning, it never forwards anything.
//! Order acks carry no fills, so an acked order stays open (counted as live
//! exposure) until an order-status or pending-orders answer settles it.

use serde::Deserialize;

use super::instruments::ContractValues;
use super::order::{symbol_of, InstId};
use crate::model::{Balance, Contract, Fixed, OrderReport, OrderStatus, Side, Symbol};
use crate::venue::{Action, Learned, Observation};

#[derive(Deserialize)]
struct Envelope<T> {
    code: String,
    #[serde(default = "Vec::new")]
    data: Vec<T>,
}

/// One entry of an order, cancel or amend ack.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireAck {
    #[serde(default)]
    ord_id: String,
    #[serde(default)]
    cl_ord_id: String,
    #[serde(default)]
    s_code: String,
}

/// An order as `/trade/order` (GET) and `/trade/orders-pending` list it.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireOrder {
    inst_id: String,
    #[serde(default)]
    ord_id: String,
    #[serde(default)]
    cl_ord_id: String,
    #[serde(default)]
    side: String,
    #[serde(default)]
    sz: String,
    #[serde(default)]
    acc_fill_sz: String,
    #[serde(default)]
    avg_px: String,
    #[serde(default)]
    state: String,
    #[serde(default)]
    ord_type: String,
    #[serde(default)]
    tgt_ccy: String,
}

#[derive(Deserialize)]
struct WireBalanceDetail {
    ccy: String,
    #[serde(rename = "cashBal", default)]
    cash_bal: String,
}

#[derive(Deserialize)]
struct WireBalance {
    #[serde(default)]
    details: Vec<WireBalanceDetail>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireTicker {
    inst_id: String,
    #[serde(default)]
    last: String,
}

/// A position as `/api/v5/account/positions` lists it.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WirePosition {
    inst_id: String,
    #[serde(default)]
    pos: String,
    #[serde(default)]
    pos_side: String,
    #[serde(default)]
    avg_px: String,
}

/// Signed base quantities per swap (hedge-mode long and short legs summed).
/// A listing asked as complete stays complete only if every entry could be
/// read: an unreadable one (unknown contract value) must not wipe a position
/// riskgate holds.
fn read_positions(
    data: Vec<WirePosition>,
    asked_complete: bool,
    contracts: &ContractValues,
    learned: &mut Learned,
) {
    let mut complete = asked_complete;
    for p in data {
        let Ok(inst @ InstId::Swap { .. }) = InstId::parse(&p.inst_id) else {
            // Margin positions on spot instruments are balances, not swaps.
            continue;
        };
        // `pos` is signed in net mode; riskgate's decimal parser takes no sign.
        let (negative, magnitude) = match p.pos.strip_prefix('-') {
            Some(m) => (true, m),
            None => (false, p.pos.as_str()),
        };
        let Some(q) = Fixed::parse(magnitude)
            .ok()
            .and_then(|c| base_qty(&inst, c, contracts))
        else {
            complete = false;
            continue;
        };
        let signed = match p.pos_side.as_str() {
            "short" => Fixed(-q.0),
            "long" => q,
            _ if negative => Fixed(-q.0),
            _ => q,
        };
        let symbol = inst.symbol();
        match learned.positions.iter_mut().find(|x| x.symbol == symbol) {
            Some(x) => x.qty = x.qty.saturating_add(signed),
            None => learned.positions.push(crate::venue::PositionReport {
                symbol,
                qty: signed,
                entry_price: Fixed::parse(&p.avg_px).ok().filter(|v| v.is_positive()),
            }),
        }
    }
    learned.positions_complete = complete;
}

fn ok_code<T>(e: &Envelope<T>) -> bool {
    e.code == "0"
}

fn non_empty(s: &str) -> Option<crate::model::ClientOrderId> {
    (!s.is_empty()).then(|| s.into())
}

/// OKX order ids are numeric strings; the model keeps them as numbers.
fn order_id(s: &str) -> Option<i64> {
    crate::model::exchange_order_id(s)
}

fn state(s: &str) -> OrderStatus {
    match s {
        "filled" => OrderStatus::Filled,
        "canceled" | "mmp_canceled" => OrderStatus::Closed,
        // live, partially_filled, or anything new: may still trade.
        _ => OrderStatus::Open,
    }
}

/// Converts an OKX size into base units: SWAP sizes count contracts.
fn base_qty(inst: &InstId, okx_sz: Fixed, contracts: &ContractValues) -> Option<Fixed> {
    match inst {
        InstId::Spot { .. } => Some(okx_sz),
        InstId::Swap { .. } => {
            let ct = contracts.get(&inst.okx())?;
            let v = (okx_sz.0 as i128).checked_mul(ct.0 as i128)?
                / crate::model::decimal::FIXED_SCALE as i128;
            i64::try_from(v).ok().map(Fixed)
        }
    }
}

fn contract_of(inst: &InstId) -> Contract {
    match inst {
        InstId::Spot { .. } => Contract::Spot,
        InstId::Swap { .. } => Contract::Linear,
    }
}

/// riskgate's swap symbols keep OKX's `-SWAP` suffix.
fn contract_of_symbol(symbol: &Symbol) -> Contract {
    if symbol.as_str().ends_with("-SWAP") {
        Contract::Linear
    } else {
        Contract::Spot
    }
}

fn report(o: WireOrder, contracts: &ContractValues) -> Option<OrderReport> {
    let inst = InstId::parse(&o.inst_id).ok()?;
    let executed_qty = match Fixed::parse(&o.acc_fill_sz) {
        Ok(q) => base_qty(&inst, q, contracts)?,
        Err(_) if o.acc_fill_sz.is_empty() => Fixed::ZERO,
        Err(_) => return None,
    };
    // A spot market buy without `tgtCcy`, or with `quote_ccy`, is sized in quote.
    let sized_in_quote = matches!(inst, InstId::Spot { .. })
        && o.ord_type == "market"
        && (o.tgt_ccy == "quote_ccy" || (o.tgt_ccy.is_empty() && o.side == "buy"));
    let orig_qty = if sized_in_quote {
        None
    } else {
        Fixed::parse(&o.sz)
            .ok()
            .and_then(|q| base_qty(&inst, q, contracts))
    };
    Some(OrderReport {
        symbol: inst.symbol(),
        exchange_order_id: order_id(&o.ord_id),
        client_order_id: non_empty(&o.cl_ord_id),
        side: match o.side.as_str() {
            "buy" => Some(Side::Buy),
            "sell" => Some(Side::Sell),
            _ => None,
        },
        status: state(&o.state),
        orig_qty,
        executed_qty,
        avg_price: Fixed::parse(&o.avg_px).ok().filter(|p| p.is_positive()),
        contract: contract_of(&inst),
    })
}

fn orders(body: &[u8], contracts: &ContractValues) -> Option<Vec<OrderReport>> {
    let e: Envelope<WireOrder> = serde_json::from_slice(body).ok()?;
    ok_code(&e).then(|| {
        e.data
            .into_iter()
            .filter_map(|o| report(o, contracts))
            .collect()
    })
}

/// Reads the answer to a request classified as `action`.
pub fn learn(action: &Action, status: u16, body: &[u8], contracts: &ContractValues) -> Learned {
    let mut learned = Learned::default();
    if !(200..300).contains(&status) {
        // OKX refuses with HTTP 200 and a code; a 4xx here is an auth or
        // parameter refusal before the order engine (nothing placed), a 5xx is
        // an unknown outcome.
        learned.venue_rejected = (400..500).contains(&status);
        return learned;
    }
    match action {
        Action::NewOrder(o) if o.test_only => {}
        Action::NewOrder(o) => {
            let Ok(e) = serde_json::from_slice::<Envelope<WireAck>>(body) else {
                return learned;
            };
            // code "1": every order of the request failed; "0": all placed.
            match (e.code.as_str(), e.data.first()) {
                ("0", Some(ack)) if ack.s_code == "0" => {
                    learned.reports.push(OrderReport {
                        symbol: o.symbol.clone(),
                        exchange_order_id: order_id(&ack.ord_id),
                        client_order_id: non_empty(&ack.cl_ord_id)
                            .or_else(|| o.client_order_id.clone()),
                        side: Some(o.side),
                        status: OrderStatus::Open,
                        orig_qty: o.qty,
                        executed_qty: Fixed::ZERO,
                        avg_price: None,
                        contract: o.contract,
                    });
                }
                ("1", _) => learned.venue_rejected = true,
                (_, Some(ack)) if !ack.s_code.is_empty() && ack.s_code != "0" => {
                    learned.venue_rejected = true
                }
                // Other codes (50xxx: system busy, auth) placed nothing either.
                (code, _) if code.starts_with("50") => learned.venue_rejected = true,
                _ => {}
            }
        }
        Action::NewOrders(orders) => {
            let Ok(e) = serde_json::from_slice::<Envelope<WireAck>>(body) else {
                return learned;
            };
            match e.code.as_str() {
                // "0": all placed; "2": some placed. One entry per order, in
                // request order; an answer that does not line up stays unknown.
                "0" | "2" if e.data.len() == orders.len() => {
                    learned.batch = e
                        .data
                        .iter()
                        .zip(orders.iter())
                        .map(|(ack, o)| {
                            (ack.s_code == "0").then(|| OrderReport {
                                symbol: o.symbol.clone(),
                                exchange_order_id: order_id(&ack.ord_id),
                                client_order_id: non_empty(&ack.cl_ord_id)
                                    .or_else(|| o.client_order_id.clone()),
                                side: Some(o.side),
                                status: OrderStatus::Open,
                                orig_qty: o.qty,
                                executed_qty: Fixed::ZERO,
                                avg_price: None,
                                contract: o.contract,
                            })
                        })
                        .collect();
                }
                "1" => learned.venue_rejected = true,
                code if code.starts_with("50") => learned.venue_rejected = true,
                _ => {}
            }
        }
        Action::AmendRef(a) => {
            // `{"code":"0","data":[{"ordId":..,"clOrdId":..,"reqId":..,"sCode":"0"}]}`:
            // OKX took the amend. code "1" (its per-order sCode says why) changed nothing.
            let Ok(e) = serde_json::from_slice::<Envelope<WireAck>>(body) else {
                return learned;
            };
            match (e.code.as_str(), e.data.first(), &a.symbol) {
                ("0", Some(ack), Some(symbol)) if ack.s_code == "0" => {
                    learned.reports.push(OrderReport {
                        symbol: symbol.clone(),
                        exchange_order_id: order_id(&ack.ord_id),
                        client_order_id: non_empty(&ack.cl_ord_id),
                        side: None,
                        status: OrderStatus::Open,
                        orig_qty: a.new_qty,
                        executed_qty: Fixed::ZERO,
                        avg_price: None,
                        contract: contract_of_symbol(symbol),
                    });
                }
                ("1", _, _) => learned.venue_rejected = true,
                (_, Some(ack), _) if !ack.s_code.is_empty() && ack.s_code != "0" => {
                    learned.venue_rejected = true
                }
                // Anything else (50004 "timeout, may or may not have been
                // processed"): unknown, so the old and the new both stay counted.
                _ => {}
            }
        }
        // Binance-style amends are not OKX's; listings settle batch cancels
        // that span several instruments (OKX's answer does not name them).
        Action::Amend(_) | Action::CancelBatch => {}
        Action::Cancel { symbol, .. } | Action::CancelAll { symbol } => {
            // A cancel ack says the cancel was accepted, not that nothing filled
            // before it: the order is marked closed with no fill learned here;
            // order-status answers carry the fills.
            let Ok(e) = serde_json::from_slice::<Envelope<WireAck>>(body) else {
                return learned;
            };
            if ok_code(&e) || e.code == "2" {
                learned.reports = e
                    .data
                    .into_iter()
                    .filter(|a| a.s_code == "0")
                    .filter(|a| order_id(&a.ord_id).is_some() || !a.cl_ord_id.is_empty())
                    .map(|a| OrderReport {
                        symbol: symbol.clone(),
                        exchange_order_id: order_id(&a.ord_id),
                        client_order_id: non_empty(&a.cl_ord_id),
                        side: None,
                        status: OrderStatus::Closed,
                        orig_qty: None,
                        executed_qty: Fixed::ZERO,
                        avg_price: None,
                        contract: contract_of_symbol(symbol),
                    })
                    .collect();
            }
        }
        Action::Observe(Observation::OrderStatus) => {
            learned.reports = orders(body, contracts).unwrap_or_default();
        }
        Action::Observe(Observation::OpenOrders { symbol }) => {
            if let Some(list) = orders(body, contracts) {
                learned.reports = list;
                learned.open_orders_complete = Some(symbol.clone());
            }
        }
        Action::Observe(Observation::Positions { complete }) => {
            if let Ok(e) = serde_json::from_slice::<Envelope<WirePosition>>(body) {
                if ok_code(&e) {
                    read_positions(e.data, *complete, contracts, &mut learned);
                }
            }
        }
        Action::Observe(Observation::Account) => {
            if let Ok(e) = serde_json::from_slice::<Envelope<WireBalance>>(body) {
                if ok_code(&e) {
                    learned.balances = e
                        .data
                        .into_iter()
                        .flat_map(|b| b.details)
                        .filter_map(|d| {
                            Some(Balance {
                                asset: d.ccy.into(),
                                total: Fixed::parse(&d.cash_bal).ok()?,
                            })
                        })
                        .collect();
                }
            }
        }
        Action::Observe(Observation::Instruments) => {
            // The public instrument list: swaps' contract values, and filters.
            contracts.learn_from_answer(body);
            learned.filters = super::filters::instruments(body);
        }
        Action::Observe(Observation::Ticker) => {
            // An instrument list read as public data elsewhere (e.g. through
            // an older classification) still teaches contract values; a
            // tickers answer has no contract fields and teaches nothing.
            contracts.learn_from_answer(body);
            if let Ok(e) = serde_json::from_slice::<Envelope<WireTicker>>(body) {
                if ok_code(&e) {
                    learned.prices = e
                        .data
                        .into_iter()
                        .filter_map(|t| {
                            let symbol: Symbol = symbol_of(&t.inst_id)?;
                            let p = Fixed::parse(&t.last).ok().filter(|p| p.is_positive())?;
                            Some((symbol, p))
                        })
                        .collect();
                }
            }
        }
        Action::Pass => {}
    }
    learned
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{NewOrder, OrderKind, OrderRef};

    fn f(s: &str) -> Fixed {
        Fixed::parse(s).unwrap()
    }

    fn new_order() -> Action {
        Action::NewOrder(NewOrder {
            symbol: Symbol::new("BTCUSDT"),
            side: Side::Buy,
            kind: OrderKind::Limit,
            qty: Some(f("0.01")),
            quote_qty: None,
            price: Some(f("60000")),
            stop_price: None,
            time_in_force: None,
            client_order_id: Some("abc".into()),
            reduce_only: false,
            contract: crate::model::Contract::Spot,
            test_only: false,
        })
    }

    #[test]
    fn an_ack_leaves_the_order_open() {
        // OKX's documented answer to POST /api/v5/trade/order.
        let body = br#"{"code":"0","msg":"","data":[{"clOrdId":"abc","ordId":"312269865356374016","tag":"","ts":"1695190491421","sCode":"0","sMsg":""}],"inTime":"1695190491421339","outTime":"1695190491423240"}"#;
        let l = learn(&new_order(), 200, body, &ContractValues::default());
        assert!(!l.venue_rejected);
        assert_eq!(l.reports.len(), 1);
        let r = &l.reports[0];
        assert_eq!(r.exchange_order_id, Some(312269865356374016));
        assert_eq!(r.client_order_id.as_deref(), Some("abc"));
        assert_eq!(r.status, OrderStatus::Open);
        assert_eq!(r.orig_qty, Some(f("0.01")));
        assert_eq!(r.executed_qty, Fixed::ZERO);
    }

    #[test]
    fn refusals_release_the_reservation() {
        let body = br#"{"code":"1","msg":"All operations failed","data":[{"clOrdId":"abc","ordId":"","sCode":"51008","sMsg":"Order failed. Insufficient USDT balance in account.","tag":"","ts":"1695190491421"}],"inTime":"1","outTime":"2"}"#;
        assert!(learn(&new_order(), 200, body, &ContractValues::default()).venue_rejected);
        let busy = br#"{"code":"50001","msg":"Service temporarily unavailable","data":[]}"#;
        assert!(learn(&new_order(), 200, busy, &ContractValues::default()).venue_rejected);
        let l = learn(
            &new_order(),
            502,
            b"bad gateway",
            &ContractValues::default(),
        );
        assert!(!l.venue_rejected && l.reports.is_empty());
    }

    #[test]
    fn order_status_and_pending_orders() {
        let body = br#"{"code":"0","msg":"","data":[
          {"accFillSz":"0.004","avgPx":"60010.5","cTime":"1","clOrdId":"abc","instId":"BTC-USDT","instType":"SPOT","ordId":"11","ordType":"limit","px":"60000","side":"buy","state":"partially_filled","sz":"0.01","tgtCcy":""},
          {"accFillSz":"0","avgPx":"","clOrdId":"","instId":"BTC-USDT-SWAP","instType":"SWAP","ordId":"12","ordType":"limit","px":"60000","side":"sell","state":"live","sz":"5","tgtCcy":""},
          {"accFillSz":"0.001","avgPx":"60000","clOrdId":"","instId":"BTC-USDT","ordId":"13","ordType":"market","side":"buy","state":"filled","sz":"60","tgtCcy":""}
        ]}"#;
        let cv = ContractValues::default();
        let action = Action::Observe(Observation::OpenOrders { symbol: None });
        // Contract value unknown: the swap order cannot be read and is skipped.
        let l = learn(&action, 200, body, &cv);
        assert_eq!(l.reports.len(), 2);
        assert_eq!(l.open_orders_complete, Some(None));
        cv.learn("BTC-USDT-SWAP", f("0.01"));
        let l = learn(&action, 200, body, &cv);
        assert_eq!(l.reports.len(), 3);
        let r = &l.reports[0];
        assert_eq!(r.symbol.as_str(), "BTCUSDT");
        assert_eq!(r.status, OrderStatus::Open);
        assert_eq!((r.orig_qty, r.executed_qty), (Some(f("0.01")), f("0.004")));
        assert_eq!(r.avg_price, Some(f("60010.5")));
        let swap = &l.reports[1];
        assert_eq!(swap.symbol.as_str(), "BTC-USDT-SWAP");
        assert_eq!(swap.orig_qty, Some(f("0.05")));
        assert_eq!(swap.side, Some(Side::Sell));
        // Market buy sized in quote: no base orig_qty, fills in base.
        let m = &l.reports[2];
        assert_eq!(
            (m.orig_qty, m.executed_qty, m.status),
            (None, f("0.001"), OrderStatus::Filled)
        );
        // An error answer is not a complete (empty) listing.
        let err = br#"{"code":"50113","msg":"Invalid Sign","data":[]}"#;
        assert_eq!(learn(&action, 200, err, &cv).open_orders_complete, None);
    }

    #[test]
    fn batch_answers_are_read_per_order() {
        let Action::NewOrder(one) = new_order() else {
            unreachable!()
        };
        let mut two = one.clone();
        two.client_order_id = Some("def".into());
        let action = Action::NewOrders(vec![one, two].into_boxed_slice());
        let body = br#"{"code":"2","msg":"Bulk operation partially succeeded","data":[{"clOrdId":"abc","ordId":"101","sCode":"0","sMsg":"Order placed","tag":"","ts":"1"},{"clOrdId":"def","ordId":"","sCode":"51008","sMsg":"Insufficient balance","tag":"","ts":"1"}],"inTime":"1","outTime":"2"}"#;
        let l = learn(&action, 200, body, &ContractValues::default());
        assert_eq!(l.batch.len(), 2);
        assert_eq!(
            l.batch[0].as_ref().and_then(|r| r.exchange_order_id),
            Some(101)
        );
        assert!(l.batch[1].is_none());
        assert!(!l.venue_rejected);
        let all_failed = br#"{"code":"1","msg":"All operations failed","data":[{"sCode":"51008"},{"sCode":"51008"}]}"#;
        let l = learn(&action, 200, all_failed, &ContractValues::default());
        assert!(l.venue_rejected && l.batch.is_empty());
        // Entries that do not line up with the request: unknown, not refused.
        let short = br#"{"code":"0","msg":"","data":[{"ordId":"101","sCode":"0"}]}"#;
        let l = learn(&action, 200, short, &ContractValues::default());
        assert!(!l.venue_rejected && l.batch.is_empty());
    }

    #[test]
    fn cancels_close_the_orders_they_name() {
        let action = Action::Cancel {
            symbol: Symbol::new("BTCUSDT"),
            order: OrderRef::ExchangeId(11),
        };
        let body = br#"{"code":"2","msg":"","data":[{"clOrdId":"","ordId":"11","sCode":"0","sMsg":""},{"clOrdId":"","ordId":"12","sCode":"51400","sMsg":"Cancellation failed as the order has been filled, canceled or does not exist"}],"inTime":"1","outTime":"2"}"#;
        let l = learn(&action, 200, body, &ContractValues::default());
        assert_eq!(l.reports.len(), 1);
        assert_eq!(l.reports[0].exchange_order_id, Some(11));
        assert_eq!(l.reports[0].status, OrderStatus::Closed);
    }

    #[test]
    fn positions_in_net_and_hedge_mode() {
        let cv = ContractValues::default();
        cv.learn("BTC-USDT-SWAP", f("0.01"));
        let body = br#"{"code":"0","msg":"","data":[
          {"instType":"SWAP","instId":"BTC-USDT-SWAP","pos":"-3","posSide":"net","avgPx":"60000","mgnMode":"cross"},
          {"instType":"SWAP","instId":"ETH-USDT-SWAP","pos":"5","posSide":"long","avgPx":"3000"}
        ]}"#;
        let action = Action::Observe(Observation::Positions { complete: true });
        let l = learn(&action, 200, body, &cv);
        assert_eq!(l.positions.len(), 1);
        assert_eq!(l.positions[0].symbol.as_str(), "BTC-USDT-SWAP");
        assert_eq!(l.positions[0].qty, Fixed(-f("0.03").0));
        assert_eq!(l.positions[0].entry_price, Some(f("60000")));
        // ETH's contract value is unknown: not a complete listing.
        assert!(!l.positions_complete);
        assert!(l.balances.is_empty());
        cv.learn("ETH-USDT-SWAP", f("0.1"));
        let l = learn(&action, 200, body, &cv);
        assert!(l.positions_complete);
        assert_eq!(l.positions[1].qty, f("0.5"));
        // No positions at all: everything flat.
        let l = learn(&action, 200, br#"{"code":"0","msg":"","data":[]}"#, &cv);
        assert!(l.positions_complete && l.positions.is_empty());
        // One instrument's listing is never complete.
        let one = Action::Observe(Observation::Positions { complete: false });
        assert!(!learn(&one, 200, body, &cv).positions_complete);
    }

    #[test]
    fn balances_and_tickers() {
        let bal = br#"{"code":"0","data":[{"totalEq":"100000","details":[{"ccy":"BTC","cashBal":"1.5","eq":"1.5","availBal":"1.4","frozenBal":"0.1"},{"ccy":"USDT","cashBal":"25000.12","eq":"25000.12"}]}],"msg":""}"#;
        let l = learn(
            &Action::Observe(Observation::Account),
            200,
            bal,
            &ContractValues::default(),
        );
        assert_eq!(l.balances.len(), 2);
        assert_eq!(
            (&*l.balances[0].asset, l.balances[0].total),
            ("BTC", f("1.5"))
        );
        let tick = br#"{"code":"0","msg":"","data":[{"instType":"SPOT","instId":"BTC-USDT","last":"61234.5","lastSz":"0.1","askPx":"61234.6","bidPx":"61234.5","ts":"1"},{"instType":"SPOT","instId":"ETH-USDT","last":"0","ts":"1"}]}"#;
        let l = learn(
            &Action::Observe(Observation::Ticker),
            200,
            tick,
            &ContractValues::default(),
        );
        assert_eq!(l.prices, vec![(Symbol::new("BTCUSDT"), f("61234.5"))]);
    }
}
