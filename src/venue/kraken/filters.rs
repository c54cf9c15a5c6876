//! Exchange filters from Kraken `GET /0/public/AssetPairs` answers:
//! `lot_decimals` (the volume step, 10^-lot_decimals), `tick_size` (or
//! `pair_decimals` when absent), `ordermin` (minimum volume) and `costmin`
//! (minimum cost in the quote currency; checked for limit orders only, since a
//! market order's cost is only an estimate before it fills). Pairs are keyed by
//! riskgate's symbol for them (`XBT/USD` → `BTCUSD`).

use std::collections::BTreeMap;

use serde::Deserialize;

use super::order::pair_symbol;
use crate::model::filters::{positive, step_of_decimals};
use crate::model::{Contract, FilterNames, FilterReport, Fixed, InstrumentFilters};

#[derive(Deserialize)]
struct Envelope {
    #[serde(default)]
    error: Vec<String>,
    result: Option<BTreeMap<String, WirePair>>,
}

#[derive(Deserialize)]
struct WirePair {
    #[serde(default)]
    wsname: Option<String>,
    #[serde(default)]
    lot_decimals: Option<u32>,
    #[serde(default)]
    pair_decimals: Option<u32>,
    #[serde(default)]
    tick_size: Option<String>,
    #[serde(default)]
    ordermin: Option<String>,
    #[serde(default)]
    costmin: Option<String>,
}

fn fx(v: &Option<String>) -> Option<Fixed> {
    positive(v.as_deref().and_then(|s| Fixed::parse(s).ok()))
}

const NAMES: FilterNames = FilterNames {
    qty_step: "lot_decimals",
    min_qty: "ordermin",
    max_qty: "ordermin",
    market_qty_step: "lot_decimals",
    market_min_qty: "ordermin",
    market_max_qty: "ordermin",
    limit_max_qty: "ordermin",
    price_tick: "tick_size",
    min_price: "tick_size",
    max_price: "tick_size",
    min_notional: "costmin",
    max_notional: "costmin",
};

fn read(key: &str, p: &WirePair) -> Option<FilterReport> {
    let symbol = pair_symbol(p.wsname.as_deref().unwrap_or(key))?;
    let (price_tick, price_name) = match fx(&p.tick_size) {
        Some(t) => (Some(t), "tick_size"),
        None => (p.pair_decimals.and_then(step_of_decimals), "pair_decimals"),
    };
    Some(FilterReport {
        symbol,
        contract: Contract::Spot,
        filters: InstrumentFilters {
            qty_step: p.lot_decimals.and_then(step_of_decimals),
            min_qty: fx(&p.ordermin),
            price_tick,
            min_notional: fx(&p.costmin),
            names: FilterNames {
                price_tick: price_name,
                ..NAMES
            },
            ..Default::default()
        },
    })
}

/// Every pair's filters in an `AssetPairs` answer.
pub fn asset_pairs(body: &[u8]) -> Vec<FilterReport> {
    match serde_json::from_slice::<Envelope>(body) {
        Ok(Envelope {
            error,
            result: Some(pairs),
        }) if error.is_empty() => pairs.iter().filter_map(|(k, p)| read(k, p)).collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(s: &str) -> Fixed {
        Fixed::parse(s).unwrap()
    }

    /// Entries in the shape of Kraken's documented `AssetPairs` answer.
    #[test]
    fn reads_asset_pairs() {
        let body = br#"{"error":[],"result":{
          "XXBTZUSD":{"altname":"XBTUSD","wsname":"XBT/USD","aclass_base":"currency","base":"XXBT","aclass_quote":"currency",
            "quote":"ZUSD","lot":"unit","cost_decimals":5,"pair_decimals":1,"lot_decimals":8,"lot_multiplier":1,
            "leverage_buy":[2,3,4,5],"leverage_sell":[2,3,4,5],"fees":[[0,0.26],[50000,0.24]],"fees_maker":[[0,0.16]],
            "fee_volume_currency":"ZUSD","margin_call":80,"margin_stop":40,"ordermin":"0.00005","costmin":"0.5",
            "tick_size":"0.1","status":"online","long_position_limit":270,"short_position_limit":180},
          "XETHXXBT":{"altname":"ETHXBT","wsname":"ETH/XBT","base":"XETH","quote":"XXBT","pair_decimals":5,
            "lot_decimals":8,"ordermin":"0.01","costmin":"0.00002","status":"online"}}}"#;
        let r = asset_pairs(body);
        assert_eq!(r.len(), 2);
        let btc = r.iter().find(|x| x.symbol.as_str() == "BTCUSD").unwrap();
        assert_eq!(btc.filters.qty_step, Some(Fixed(1)));
        assert_eq!(btc.filters.min_qty, Some(f("0.00005")));
        assert_eq!(btc.filters.price_tick, Some(f("0.1")));
        assert_eq!(btc.filters.min_notional, Some(f("0.5")));
        assert!(!btc.filters.min_notional_applies_to_market);
        // No tick_size: pair_decimals gives the tick.
        let eth = r.iter().find(|x| x.symbol.as_str() == "ETHBTC").unwrap();
        assert_eq!(eth.filters.price_tick, Some(f("0.00001")));
        assert_eq!(eth.filters.names.price_tick, "pair_decimals");
        assert!(asset_pairs(br#"{"error":["EQuery:Unknown asset pair"]}"#).is_empty());
    }
}
