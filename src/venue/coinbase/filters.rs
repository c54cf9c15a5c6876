//! Exchange filters from Coinbase Advanced Trade product answers
//! (`GET /api/v3/brokerage/market/products`, `/products`, and one product):
//! `base_increment` (size step), `base_min_size`/`base_max_size`,
//! `price_increment` (tick) and `quote_min_size`/`quote_max_size` (order value;
//! the minimum also applies to market orders, which Coinbase sizes in quote
//! for buys). `quote_increment` (the step of a quote size) is not read. Only
//! SPOT products: riskgate refuses the others.

use serde::Deserialize;

use super::order::symbol_of;
use crate::model::filters::positive;
use crate::model::{Contract, FilterNames, FilterReport, Fixed, InstrumentFilters};

#[derive(Deserialize)]
struct WireProduct {
    #[serde(default)]
    product_id: String,
    #[serde(default)]
    product_type: Option<String>,
    #[serde(default)]
    base_increment: Option<String>,
    #[serde(default)]
    base_min_size: Option<String>,
    #[serde(default)]
    base_max_size: Option<String>,
    #[serde(default)]
    price_increment: Option<String>,
    #[serde(default)]
    quote_min_size: Option<String>,
    #[serde(default)]
    quote_max_size: Option<String>,
}

#[derive(Deserialize)]
struct ProductList {
    products: Vec<WireProduct>,
}

fn fx(v: &Option<String>) -> Option<Fixed> {
    positive(v.as_deref().and_then(|s| Fixed::parse(s).ok()))
}

const NAMES: FilterNames = FilterNames {
    qty_step: "base_increment",
    min_qty: "base_min_size",
    max_qty: "base_max_size",
    market_qty_step: "base_increment",
    market_min_qty: "base_min_size",
    market_max_qty: "base_max_size",
    limit_max_qty: "base_max_size",
    price_tick: "price_increment",
    min_price: "price_increment",
    max_price: "price_increment",
    min_notional: "quote_min_size",
    max_notional: "quote_max_size",
};

fn read(p: &WireProduct) -> Option<FilterReport> {
    if p.product_type.as_deref().is_some_and(|t| t != "SPOT") {
        return None;
    }
    Some(FilterReport {
        symbol: symbol_of(&p.product_id)?,
        contract: Contract::Spot,
        filters: InstrumentFilters {
            qty_step: fx(&p.base_increment),
            min_qty: fx(&p.base_min_size),
            max_qty: fx(&p.base_max_size),
            price_tick: fx(&p.price_increment),
            min_notional: fx(&p.quote_min_size),
            min_notional_applies_to_market: true,
            max_notional: fx(&p.quote_max_size),
            names: NAMES,
            ..Default::default()
        },
    })
}

/// Every SPOT product's filters in a product list (or a single product).
pub fn products(body: &[u8]) -> Vec<FilterReport> {
    if let Ok(list) = serde_json::from_slice::<ProductList>(body) {
        return list.products.iter().filter_map(read).collect();
    }
    serde_json::from_slice::<WireProduct>(body)
        .ok()
        .and_then(|p| read(&p))
        .into_iter()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(s: &str) -> Fixed {
        Fixed::parse(s).unwrap()
    }

    /// A product in the shape of Coinbase's documented `Get Public Product` answer.
    #[test]
    fn reads_spot_products() {
        let body = br#"{"products":[{"product_id":"BTC-USD","price":"140.21","price_percentage_change_24h":"9.43%",
          "volume_24h":"1908432","volume_percentage_change_24h":"9.43%","base_increment":"0.00000001",
          "quote_increment":"0.01","quote_min_size":"1","quote_max_size":"150000000","base_min_size":"0.00000001",
          "base_max_size":"3400","base_name":"Bitcoin","quote_name":"US Dollar","watched":true,"is_disabled":false,
          "new":true,"status":"online","cancel_only":true,"limit_only":true,"post_only":true,"trading_disabled":false,
          "auction_mode":true,"product_type":"SPOT","quote_currency_id":"USD","base_currency_id":"BTC",
          "mid_market_price":"140.22","alias":"BTC-USD","alias_to":["BTC-USDC"],"base_display_symbol":"BTC",
          "quote_display_symbol":"USD","view_only":true,"price_increment":"0.01","display_name":"BTC-USD",
          "product_venue":"CBE"},
          {"product_id":"BIT-28JUL23-CDE","product_type":"FUTURE","base_increment":"1","price_increment":"5"}],"num_products":2}"#;
        let r = products(body);
        assert_eq!(r.len(), 1, "{r:?}");
        let x = r[0].filters;
        assert_eq!(x.qty_step, Some(Fixed(1)));
        assert_eq!((x.min_qty, x.max_qty), (Some(Fixed(1)), Some(f("3400"))));
        assert_eq!(x.price_tick, Some(f("0.01")));
        assert_eq!(
            (x.min_notional, x.max_notional),
            (Some(f("1")), Some(f("150000000")))
        );
        assert!(x.min_notional_applies_to_market);
        assert!(products(b"{\"error\":\"NOT_FOUND\"}").is_empty());
    }
}
