//! Reads Coinbase Advanced Trade answers into venue-neutral reports.
//!
//! Lenient in what it reads (an unreadable entry is skipped): a misread
//! answer only delays learning, it never forwards anything. Create answers
//! carry no fills, so an accepted order stays open (counted as live
//! exposure) until an order-status, listing or fills answer settles it.
//!
//! Coinbase's cancel answers name orders by id only, and riskgate tracks
//! orders per symbol, so the adapter remembers which product each order id
//! belongs to (`OrderProducts`, bounded) from the answers it has read.

use std::collections::{HashMap, VecDeque};

use serde::Deserialize;

use super::order::symbol_of;
use crate::model::{
    exchange_order_id, Balance, Contract, Fixed, OrderReport, OrderStatus, Side, Symbol,
};
use crate::venue::{Action, Learned, Observation};

/// Order ids remembered with their product; the oldest are forgotten first
/// (a forgotten order's cancel is then settled by the next listing instead).
pub const MAX_REMEMBERED_ORDERS: usize = 100_000;

/// Order id → riskgate symbol, for cancel answers that name only the id.
#[derive(Default)]
pub struct OrderProducts {
    inner: parking_lot::Mutex<(HashMap<String, Symbol>, VecDeque<String>)>,
}

impl OrderProducts {
    pub fn remember(&self, order_id: &str, symbol: &Symbol) {
        if order_id.is_empty() {
            return;
        }
        let mut g = self.inner.lock();
        let (map, order) = &mut *g;
        if map.insert(order_id.to_string(), symbol.clone()).is_none() {
            order.push_back(order_id.to_string());
            if order.len() > MAX_REMEMBERED_ORDERS {
                if let Some(old) = order.pop_front() {
                    map.remove(&old);
                }
            }
        }
    }

    pub fn get(&self, order_id: &str) -> Option<Symbol> {
        self.inner.lock().0.get(order_id).cloned()
    }
}

#[derive(Deserialize)]
struct CreateAnswer {
    #[serde(default)]
    success: bool,
    success_response: Option<CreateSuccess>,
}

#[derive(Deserialize)]
struct CreateSuccess {
    #[serde(default)]
    order_id: String,
    #[serde(default)]
    product_id: String,
    #[serde(default)]
    client_order_id: String,
}

/// An order as `/orders/historical/{id}` and `/orders/historical/batch` list it.
#[derive(Deserialize)]
struct WireOrder {
    #[serde(default)]
    order_id: String,
    #[serde(default)]
    product_id: String,
    #[serde(default)]
    client_order_id: String,
    #[serde(default)]
    side: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    filled_size: String,
    #[serde(default)]
    average_filled_price: String,
    #[serde(default)]
    size_in_quote: bool,
    order_configuration: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct OneOrder {
    order: WireOrder,
}

#[derive(Deserialize)]
struct OrderList {
    orders: Vec<WireOrder>,
    #[serde(default)]
    has_next: bool,
}

#[derive(Deserialize)]
struct WireFill {
    #[serde(default)]
    order_id: String,
    #[serde(default)]
    product_id: String,
    #[serde(default)]
    price: String,
    #[serde(default)]
    size: String,
    #[serde(default)]
    side: String,
    #[serde(default)]
    size_in_quote: bool,
}

#[derive(Deserialize)]
struct FillList {
    fills: Vec<WireFill>,
}

#[derive(Deserialize)]
struct CancelResult {
    #[serde(default)]
    success: bool,
    #[serde(default)]
    order_id: String,
}

#[derive(Deserialize)]
struct CancelAnswer {
    results: Vec<CancelResult>,
}

#[derive(Deserialize)]
struct Amount {
    #[serde(default)]
    value: String,
}

#[derive(Deserialize)]
struct WireAccount {
    #[serde(default)]
    currency: String,
    available_balance: Option<Amount>,
    hold: Option<Amount>,
}

#[derive(Deserialize)]
struct AccountList {
    accounts: Vec<WireAccount>,
    #[serde(default)]
    has_next: bool,
}

#[derive(Deserialize)]
struct WireProduct {
    #[serde(default)]
    product_id: String,
    #[serde(default)]
    price: String,
}

#[derive(Deserialize)]
struct ProductList {
    products: Vec<WireProduct>,
}

fn side(s: &str) -> Option<Side> {
    match s {
        "BUY" => Some(Side::Buy),
        "SELL" => Some(Side::Sell),
        _ => None,
    }
}

fn status(s: &str) -> OrderStatus {
    match s {
        "FILLED" => OrderStatus::Filled,
        "CANCELLED" | "EXPIRED" | "FAILED" => OrderStatus::Closed,
        // OPEN, PENDING, QUEUED, CANCEL_QUEUED (may still fill), unknown.
        _ => OrderStatus::Open,
    }
}

fn non_empty(s: &str) -> Option<crate::model::ClientOrderId> {
    (!s.is_empty()).then(|| s.into())
}

/// The base size of whichever configuration variant the order has (None for
/// quote-sized market orders).
fn configured_base_size(cfg: &serde_json::Value) -> Option<Fixed> {
    cfg.as_object()?
        .values()
        .filter_map(|v| v.get("base_size")?.as_str())
        .find_map(|s| Fixed::parse(s).ok())
        .filter(|q| q.is_positive())
}

fn report(o: &WireOrder, products: &OrderProducts) -> Option<OrderReport> {
    let symbol = symbol_of(&o.product_id)?;
    products.remember(&o.order_id, &symbol);
    let executed_qty = match Fixed::parse(&o.filled_size) {
        Ok(q) => q,
        Err(_) if o.filled_size.is_empty() => Fixed::ZERO,
        Err(_) => return None,
    };
    let orig_qty = if o.size_in_quote {
        None
    } else {
        o.order_configuration
            .as_ref()
            .and_then(configured_base_size)
    };
    Some(OrderReport {
        symbol,
        exchange_order_id: exchange_order_id(&o.order_id),
        client_order_id: non_empty(&o.client_order_id),
        side: side(&o.side),
        status: status(&o.status),
        orig_qty,
        executed_qty,
        avg_price: Fixed::parse(&o.average_filled_price)
            .ok()
            .filter(|p| p.is_positive()),
        contract: Contract::Spot,
    })
}

/// Per order, the sum of the fills listed (a lower bound on what filled:
/// the listing may be one page); the order is reported as still open, and
/// done only when the fills add up to its size.
fn fills_reports(list: FillList, products: &OrderProducts) -> Vec<OrderReport> {
    let mut by_order: Vec<(String, Symbol, Option<Side>, Fixed, f64)> = Vec::new();
    for f in list.fills {
        let (Some(symbol), Ok(price)) = (symbol_of(&f.product_id), Fixed::parse(&f.price)) else {
            continue;
        };
        let Ok(size) = Fixed::parse(&f.size) else {
            continue;
        };
        let base = if f.size_in_quote {
            match Fixed::div_to_qty(size, price) {
                Some(b) => b,
                None => continue,
            }
        } else {
            size
        };
        products.remember(&f.order_id, &symbol);
        let quote = base.to_f64() * price.to_f64();
        match by_order.iter_mut().find(|e| e.0 == f.order_id) {
            Some(e) => {
                e.3 = e.3.saturating_add(base);
                e.4 += quote;
            }
            None => by_order.push((f.order_id.clone(), symbol, side(&f.side), base, quote)),
        }
    }
    by_order
        .into_iter()
        .filter(|e| e.3.is_positive())
        .map(|(id, symbol, side, qty, quote)| OrderReport {
            symbol,
            exchange_order_id: exchange_order_id(&id),
            client_order_id: None,
            side,
            status: OrderStatus::Open,
            orig_qty: None,
            executed_qty: qty,
            avg_price: Fixed::from_f64(quote / qty.to_f64()).filter(|p| p.is_positive()),
            contract: Contract::Spot,
        })
        .collect()
}

/// Reads the answer to a request classified as `action`.
pub fn learn(action: &Action, status_code: u16, body: &[u8], products: &OrderProducts) -> Learned {
    let mut learned = Learned::default();
    if !(200..300).contains(&status_code) {
        // A 4xx is a refusal before the order engine (auth, invalid
        // argument): nothing placed. A 5xx leaves the outcome unknown.
        learned.venue_rejected = (400..500).contains(&status_code);
        return learned;
    }
    match action {
        Action::NewOrder(o) if o.test_only => {}
        Action::NewOrder(o) => {
            let Ok(a) = serde_json::from_slice::<CreateAnswer>(body) else {
                return learned;
            };
            match (a.success, a.success_response) {
                (true, Some(s)) if !s.order_id.is_empty() => {
                    let symbol = symbol_of(&s.product_id).unwrap_or_else(|| o.symbol.clone());
                    products.remember(&s.order_id, &symbol);
                    learned.reports.push(OrderReport {
                        symbol,
                        exchange_order_id: exchange_order_id(&s.order_id),
                        client_order_id: non_empty(&s.client_order_id)
                            .or_else(|| o.client_order_id.clone()),
                        side: Some(o.side),
                        status: OrderStatus::Open,
                        orig_qty: o.qty,
                        executed_qty: Fixed::ZERO,
                        avg_price: None,
                        contract: Contract::Spot,
                    });
                }
                // `"success": false` with an error_response: nothing placed.
                (false, _) => learned.venue_rejected = true,
                _ => {}
            }
        }
        Action::CancelBatch => {
            // A cancel ack says the cancel was accepted, not that nothing
            // filled before it: fills are learned from status answers.
            if let Ok(a) = serde_json::from_slice::<CancelAnswer>(body) {
                learned.reports = a
                    .results
                    .iter()
                    .filter(|r| r.success)
                    .filter_map(|r| {
                        Some(OrderReport {
                            symbol: products.get(&r.order_id)?,
                            exchange_order_id: exchange_order_id(&r.order_id),
                            client_order_id: None,
                            side: None,
                            status: OrderStatus::Closed,
                            orig_qty: None,
                            executed_qty: Fixed::ZERO,
                            avg_price: None,
                            contract: Contract::Spot,
                        })
                    })
                    .collect();
            }
        }
        Action::Observe(Observation::OrderStatus) => {
            if let Ok(one) = serde_json::from_slice::<OneOrder>(body) {
                learned.reports.extend(report(&one.order, products));
            } else if let Ok(list) = serde_json::from_slice::<OrderList>(body) {
                learned.reports = list
                    .orders
                    .iter()
                    .filter_map(|o| report(o, products))
                    .collect();
            } else if let Ok(fills) = serde_json::from_slice::<FillList>(body) {
                learned.reports = fills_reports(fills, products);
            }
        }
        Action::Observe(Observation::OpenOrders { symbol }) => {
            if let Ok(list) = serde_json::from_slice::<OrderList>(body) {
                learned.reports = list
                    .orders
                    .iter()
                    .filter_map(|o| report(o, products))
                    .collect();
                // One page of several is not the complete set.
                if !list.has_next {
                    learned.open_orders_complete = Some(symbol.clone());
                }
            }
        }
        Action::Observe(Observation::Account) => {
            // Only a complete listing replaces the balances riskgate holds:
            // one page of several would drop the assets on other pages.
            if let Ok(list) = serde_json::from_slice::<AccountList>(body) {
                if !list.has_next {
                    let mut balances: Vec<Balance> = Vec::new();
                    for a in list.accounts {
                        let amount = |x: &Option<Amount>| {
                            x.as_ref()
                                .map(|v| Fixed::parse(&v.value))
                                .unwrap_or(Ok(Fixed::ZERO))
                        };
                        let (Ok(avail), Ok(hold)) = (amount(&a.available_balance), amount(&a.hold))
                        else {
                            // One unreadable amount: learn none (a partial set would
                            // understate what is held).
                            return learned;
                        };
                        let total = avail.saturating_add(hold);
                        match balances.iter_mut().find(|b| *b.asset == *a.currency) {
                            Some(b) => b.total = b.total.saturating_add(total),
                            None if !a.currency.is_empty() => balances.push(Balance {
                                asset: a.currency.as_str().into(),
                                total,
                            }),
                            None => {}
                        }
                    }
                    learned.balances = balances;
                }
            }
        }
        Action::Observe(Observation::Instruments) => {
            learned.filters = super::filters::products(body);
        }
        Action::Observe(Observation::Ticker) => {
            // Product answers carry prices and each product's filters.
            learned.filters = super::filters::products(body);
            let products_seen: Vec<WireProduct> =
                if let Ok(list) = serde_json::from_slice::<ProductList>(body) {
                    list.products
                } else if let Ok(one) = serde_json::from_slice::<WireProduct>(body) {
                    vec![one]
                } else {
                    Vec::new()
                };
            learned.prices = products_seen
                .iter()
                .filter_map(|p| {
                    let symbol = symbol_of(&p.product_id)?;
                    let price = Fixed::parse(&p.price).ok().filter(|v| v.is_positive())?;
                    Some((symbol, price))
                })
                .collect();
        }
        // Positions: Coinbase derivatives are refused, so none to learn.
        Action::Observe(Observation::Positions { .. }) => {}
        // `/orders/edit` is refused at classification: Coinbase does not
        // produce `Action::AmendRef` yet.
        Action::NewOrders(_)
        | Action::Amend(_)
        | Action::AmendRef(_)
        | Action::Cancel { .. }
        | Action::CancelAll { .. }
        | Action::Pass => {}
    }
    learned
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{NewOrder, OrderKind};

    fn f(s: &str) -> Fixed {
        Fixed::parse(s).unwrap()
    }

    fn limit() -> Action {
        Action::NewOrder(NewOrder {
            symbol: Symbol::new("BTCUSD"),
            side: Side::Buy,
            kind: OrderKind::Limit,
            qty: Some(f("0.01")),
            quote_qty: None,
            price: Some(f("60000")),
            stop_price: None,
            time_in_force: None,
            client_order_id: Some("c1".into()),
            reduce_only: false,
            contract: Contract::Spot,
            test_only: false,
        })
    }

    const OID: &str = "52cfe5e2-0b29-4c19-a245-a6a773de5030";

    #[test]
    fn create_answers_then_cancels_by_id() {
        let p = OrderProducts::default();
        let ok = format!(
            r#"{{"success":true,"failure_reason":"UNKNOWN_FAILURE_REASON","order_id":"{OID}","success_response":{{"order_id":"{OID}","product_id":"BTC-USD","side":"BUY","client_order_id":"c1"}},"order_configuration":null}}"#
        );
        let l = learn(&limit(), 200, ok.as_bytes(), &p);
        assert_eq!(l.reports.len(), 1);
        let r = &l.reports[0];
        assert_eq!(r.symbol.as_str(), "BTCUSD");
        assert_eq!(r.exchange_order_id, exchange_order_id(OID));
        assert_eq!(r.status, OrderStatus::Open);
        assert_eq!(r.orig_qty, Some(f("0.01")));
        let refused = br#"{"success":false,"failure_reason":"UNKNOWN_FAILURE_REASON","order_id":"","error_response":{"error":"INSUFFICIENT_FUND","message":"x","error_details":"","preview_failure_reason":"PREVIEW_INSUFFICIENT_FUND"}}"#;
        assert!(learn(&limit(), 200, refused, &p).venue_rejected);
        assert!(learn(&limit(), 401, b"{}", &p).venue_rejected);
        assert!(!learn(&limit(), 503, b"", &p).venue_rejected);
        let c = format!(
            r#"{{"results":[{{"success":true,"failure_reason":"UNKNOWN_CANCEL_FAILURE_REASON","order_id":"{OID}"}},{{"success":true,"failure_reason":"UNKNOWN_CANCEL_FAILURE_REASON","order_id":"never-seen"}},{{"success":false,"failure_reason":"UNKNOWN_CANCEL_ORDER","order_id":"x"}}]}}"#
        );
        let l = learn(&Action::CancelBatch, 200, c.as_bytes(), &p);
        assert_eq!(l.reports.len(), 1, "only orders whose product is known");
        assert_eq!(l.reports[0].status, OrderStatus::Closed);
        assert_eq!(l.reports[0].symbol.as_str(), "BTCUSD");
    }

    #[test]
    fn historical_orders_fills_and_listings() {
        let p = OrderProducts::default();
        let one = format!(
            r#"{{"order":{{"order_id":"{OID}","product_id":"BTC-USD","side":"BUY","client_order_id":"c1","status":"FILLED","filled_size":"0.01","average_filled_price":"60010.5","size_in_quote":false,"order_configuration":{{"limit_limit_gtc":{{"base_size":"0.01","limit_price":"60100","post_only":false}}}}}}}}"#
        );
        let l = learn(
            &Action::Observe(Observation::OrderStatus),
            200,
            one.as_bytes(),
            &p,
        );
        let r = &l.reports[0];
        assert_eq!((r.status, r.executed_qty), (OrderStatus::Filled, f("0.01")));
        assert_eq!(
            (r.orig_qty, r.avg_price),
            (Some(f("0.01")), Some(f("60010.5")))
        );
        assert_eq!(r.side, Some(Side::Buy));
        let list = format!(
            r#"{{"orders":[{{"order_id":"{OID}","product_id":"ETH-USDT","side":"SELL","status":"OPEN","filled_size":"0","order_configuration":{{"market_market_ioc":{{"quote_size":"10"}}}},"size_in_quote":true}}],"sequence":"0","has_next":false,"cursor":""}}"#
        );
        let l = learn(
            &Action::Observe(Observation::OpenOrders { symbol: None }),
            200,
            list.as_bytes(),
            &p,
        );
        assert_eq!(l.open_orders_complete, Some(None));
        assert_eq!(l.reports[0].orig_qty, None, "quote-sized");
        let paged = list.replace(r#""has_next":false"#, r#""has_next":true"#);
        let l = learn(
            &Action::Observe(Observation::OpenOrders { symbol: None }),
            200,
            paged.as_bytes(),
            &p,
        );
        assert_eq!(l.open_orders_complete, None, "one page is not complete");
        let fills = format!(
            r#"{{"fills":[{{"entry_id":"1","trade_id":"t1","order_id":"{OID}","trade_type":"FILL","price":"100","size":"1","commission":"0","product_id":"SOL-USD","side":"BUY","size_in_quote":false}},{{"entry_id":"2","trade_id":"t2","order_id":"{OID}","trade_type":"FILL","price":"110","size":"110","commission":"0","product_id":"SOL-USD","side":"BUY","size_in_quote":true}}],"cursor":""}}"#
        );
        let l = learn(
            &Action::Observe(Observation::OrderStatus),
            200,
            fills.as_bytes(),
            &p,
        );
        assert_eq!(l.reports.len(), 1);
        assert_eq!(l.reports[0].executed_qty, f("2"));
        assert_eq!(l.reports[0].avg_price, Some(f("105")));
        assert_eq!(l.reports[0].status, OrderStatus::Open);
    }

    #[test]
    fn balances_and_prices() {
        let p = OrderProducts::default();
        let accounts = br#"{"accounts":[{"uuid":"a","name":"BTC Wallet","currency":"BTC","available_balance":{"value":"0.5","currency":"BTC"},"hold":{"value":"0.1","currency":"BTC"}},{"uuid":"b","currency":"USD","available_balance":{"value":"100","currency":"USD"},"hold":{"value":"0","currency":"USD"}}],"has_next":false,"cursor":"","size":2}"#;
        let l = learn(&Action::Observe(Observation::Account), 200, accounts, &p);
        assert_eq!(l.balances.len(), 2);
        assert_eq!(
            (&*l.balances[0].asset, l.balances[0].total),
            ("BTC", f("0.6"))
        );
        let paged = std::str::from_utf8(accounts)
            .unwrap()
            .replace(r#""has_next":false"#, r#""has_next":true"#);
        let l = learn(
            &Action::Observe(Observation::Account),
            200,
            paged.as_bytes(),
            &p,
        );
        assert!(l.balances.is_empty(), "a page is not all balances");
        let products = br#"{"products":[{"product_id":"BTC-USD","price":"67060.1","product_type":"SPOT"},{"product_id":"BIT-28JUL23-CDE","price":"1","product_type":"FUTURE"},{"product_id":"ETH-USD","price":""}],"num_products":3}"#;
        let l = learn(&Action::Observe(Observation::Ticker), 200, products, &p);
        assert_eq!(l.prices, vec![(Symbol::new("BTCUSD"), f("67060.1"))]);
        let one = br#"{"product_id":"ETH-USDT","price":"3000","product_type":"SPOT"}"#;
        let l = learn(&Action::Observe(Observation::Ticker), 200, one, &p);
        assert_eq!(l.prices, vec![(Symbol::new("ETHUSDT"), f("3000"))]);
    }
}
