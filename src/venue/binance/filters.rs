//! Exchange filters from Binance `exchangeInfo` answers (spot `/api/v3` and
//! USD-M `/fapi/v1`): `LOT_SIZE`, `MARKET_LOT_SIZE`, `PRICE_FILTER`,
//! `MIN_NOTIONAL` (spot `minNotional` + `applyToMarket`; USD-M `notional`,
//! which Binance applies to market orders at the mark price) and `NOTIONAL`
//! (`minNotional`/`maxNotional` with `applyMinToMarket`/`applyMaxToMarket`).
//! A 0 disables a bound (Binance's convention). Other filters (percent price,
//! order counts, iceberg parts) are not read. Lenient: an unreadable entry is
//! skipped, so that instrument stays unknown.

use serde::Deserialize;

use crate::model::filters::positive;
use crate::model::{Contract, FilterNames, FilterReport, Fixed, InstrumentFilters, Symbol};

#[derive(Deserialize)]
struct WireInfo {
    symbols: Vec<WireSymbol>,
}

#[derive(Deserialize)]
struct WireSymbol {
    symbol: String,
    #[serde(default)]
    filters: Vec<WireFilter>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireFilter {
    filter_type: String,
    min_qty: Option<String>,
    max_qty: Option<String>,
    step_size: Option<String>,
    min_price: Option<String>,
    max_price: Option<String>,
    tick_size: Option<String>,
    min_notional: Option<String>,
    max_notional: Option<String>,
    /// USD-M `MIN_NOTIONAL`.
    notional: Option<String>,
    apply_to_market: Option<bool>,
    apply_min_to_market: Option<bool>,
    apply_max_to_market: Option<bool>,
}

fn fx(v: &Option<String>) -> Option<Fixed> {
    positive(v.as_deref().and_then(|s| Fixed::parse(s).ok()))
}

const NAMES: FilterNames = FilterNames {
    qty_step: "LOT_SIZE stepSize",
    min_qty: "LOT_SIZE minQty",
    max_qty: "LOT_SIZE maxQty",
    market_qty_step: "MARKET_LOT_SIZE stepSize",
    market_min_qty: "MARKET_LOT_SIZE minQty",
    market_max_qty: "MARKET_LOT_SIZE maxQty",
    limit_max_qty: "LOT_SIZE maxQty",
    price_tick: "PRICE_FILTER tickSize",
    min_price: "PRICE_FILTER minPrice",
    max_price: "PRICE_FILTER maxPrice",
    min_notional: "NOTIONAL minNotional",
    max_notional: "NOTIONAL maxNotional",
};

fn symbol_filters(list: &[WireFilter], contract: Contract) -> InstrumentFilters {
    let mut f = InstrumentFilters {
        names: NAMES,
        ..Default::default()
    };
    for w in list {
        match w.filter_type.as_str() {
            "LOT_SIZE" => {
                f.qty_step = fx(&w.step_size);
                f.min_qty = fx(&w.min_qty);
                f.max_qty = fx(&w.max_qty);
            }
            "MARKET_LOT_SIZE" => {
                f.market_qty_step = fx(&w.step_size);
                f.market_min_qty = fx(&w.min_qty);
                f.market_max_qty = fx(&w.max_qty);
            }
            "PRICE_FILTER" => {
                f.price_tick = fx(&w.tick_size);
                f.min_price = fx(&w.min_price);
                f.max_price = fx(&w.max_price);
            }
            "MIN_NOTIONAL" if contract == Contract::Linear => {
                f.min_notional = fx(&w.notional);
                f.min_notional_applies_to_market = true;
                f.names.min_notional = "MIN_NOTIONAL notional";
            }
            "MIN_NOTIONAL" => {
                f.min_notional = fx(&w.min_notional);
                f.min_notional_applies_to_market = w.apply_to_market.unwrap_or(false);
                f.names.min_notional = "MIN_NOTIONAL minNotional";
            }
            "NOTIONAL" => {
                f.min_notional = fx(&w.min_notional);
                f.min_notional_applies_to_market = w.apply_min_to_market.unwrap_or(false);
                f.max_notional = fx(&w.max_notional);
                f.max_notional_applies_to_market = w.apply_max_to_market.unwrap_or(false);
            }
            _ => {}
        }
    }
    f
}

/// Every symbol's filters in an `exchangeInfo` answer.
pub fn exchange_info(body: &[u8], contract: Contract) -> Vec<FilterReport> {
    let Ok(info) = serde_json::from_slice::<WireInfo>(body) else {
        return Vec::new();
    };
    info.symbols
        .iter()
        .filter(|s| !s.symbol.is_empty() && s.symbol.len() <= 32)
        .map(|s| FilterReport {
            symbol: Symbol::new(&s.symbol),
            contract,
            filters: symbol_filters(&s.filters, contract),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(s: &str) -> Fixed {
        Fixed::parse(s).unwrap()
    }

    /// Binance spot's documented filter formats (binance-spot-api-docs,
    /// filters.md), in one `exchangeInfo` symbol.
    #[test]
    fn reads_spot_exchange_info() {
        let body = br#"{"timezone":"UTC","serverTime":1565246363776,"rateLimits":[],"exchangeFilters":[],
          "symbols":[{"symbol":"ETHBTC","status":"TRADING","baseAsset":"ETH","baseAssetPrecision":8,
            "quoteAsset":"BTC","quotePrecision":8,"quoteAssetPrecision":8,"orderTypes":["LIMIT","LIMIT_MAKER","MARKET"],
            "icebergAllowed":true,"ocoAllowed":true,"isSpotTradingAllowed":true,"isMarginTradingAllowed":true,
            "filters":[
              {"filterType":"PRICE_FILTER","minPrice":"0.00000100","maxPrice":"100000.00000000","tickSize":"0.00000100"},
              {"filterType":"PERCENT_PRICE","multiplierUp":"1.3000","multiplierDown":"0.7000","avgPriceMins":5},
              {"filterType":"LOT_SIZE","minQty":"0.00100000","maxQty":"100000.00000000","stepSize":"0.00100000"},
              {"filterType":"NOTIONAL","minNotional":"10.00000000","applyMinToMarket":false,"maxNotional":"10000.00000000","applyMaxToMarket":false,"avgPriceMins":5},
              {"filterType":"ICEBERG_PARTS","limit":10},
              {"filterType":"MARKET_LOT_SIZE","minQty":"0.00100000","maxQty":"100000.00000000","stepSize":"0.00000000"},
              {"filterType":"MAX_NUM_ORDERS","maxNumOrders":25},
              {"filterType":"TRAILING_DELTA","minTrailingAboveDelta":10,"maxTrailingAboveDelta":2000,"minTrailingBelowDelta":10,"maxTrailingBelowDelta":2000}
            ],"permissions":["SPOT","MARGIN"]}]}"#;
        let r = exchange_info(body, Contract::Spot);
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].symbol.as_str(), "ETHBTC");
        let x = r[0].filters;
        assert_eq!(x.qty_step, Some(f("0.001")));
        assert_eq!(
            (x.min_qty, x.max_qty),
            (Some(f("0.001")), Some(f("100000")))
        );
        // stepSize 0 disables the market step.
        assert_eq!(x.market_qty_step, None);
        assert_eq!(x.market_max_qty, Some(f("100000")));
        assert_eq!(x.price_tick, Some(f("0.000001")));
        assert_eq!(x.min_notional, Some(f("10")));
        assert_eq!(x.max_notional, Some(f("10000")));
        assert!(!x.min_notional_applies_to_market && !x.max_notional_applies_to_market);
        assert_eq!(x.names.qty_step, "LOT_SIZE stepSize");

        // The older MIN_NOTIONAL shape.
        let old = br#"{"symbols":[{"symbol":"BNBBTC","filters":[
            {"filterType":"MIN_NOTIONAL","minNotional":"0.00100000","applyToMarket":true,"avgPriceMins":5}]}]}"#;
        let x = exchange_info(old, Contract::Spot)[0].filters;
        assert_eq!(x.min_notional, Some(f("0.001")));
        assert!(x.min_notional_applies_to_market);
        assert_eq!(x.names.min_notional, "MIN_NOTIONAL minNotional");
        assert!(exchange_info(
            b"{\"code\":-1121,\"msg\":\"Invalid symbol.\"}",
            Contract::Spot
        )
        .is_empty());
    }

    /// USD-M's documented filters (Binance derivatives common definitions).
    #[test]
    fn reads_usdm_exchange_info() {
        let body = br#"{"timezone":"UTC","serverTime":1565246363776,"futuresType":"U_MARGINED","rateLimits":[],"exchangeFilters":[],
          "assets":[{"asset":"USDT","marginAvailable":true,"autoAssetExchange":"-10000"}],
          "symbols":[{"symbol":"BLZUSDT","pair":"BLZUSDT","contractType":"PERPETUAL","deliveryDate":4133404800000,
            "onboardDate":1598252400000,"status":"TRADING","maintMarginPercent":"2.5000","requiredMarginPercent":"5.0000",
            "baseAsset":"BLZ","quoteAsset":"USDT","marginAsset":"USDT","pricePrecision":5,"quantityPrecision":0,
            "baseAssetPrecision":8,"quotePrecision":8,"underlyingType":"COIN","underlyingSubType":["STORAGE"],
            "triggerProtect":"0.15","liquidationFee":"0.010000","marketTakeBound":"0.30",
            "filters":[
              {"filterType":"PRICE_FILTER","maxPrice":"300","minPrice":"0.0001","tickSize":"0.0001"},
              {"filterType":"LOT_SIZE","maxQty":"10000000","minQty":"1","stepSize":"1"},
              {"filterType":"MARKET_LOT_SIZE","maxQty":"590119","minQty":"1","stepSize":"1"},
              {"filterType":"MAX_NUM_ORDERS","limit":200},
              {"filterType":"MAX_NUM_ALGO_ORDERS","limit":10},
              {"filterType":"MIN_NOTIONAL","notional":"5.0"},
              {"filterType":"PERCENT_PRICE","multiplierUp":"1.1500","multiplierDown":"0.8500","multiplierDecimal":4}
            ],"OrderType":["LIMIT","MARKET","STOP"],"timeInForce":["GTC","IOC","FOK","GTX"]}]}"#;
        let r = exchange_info(body, Contract::Linear);
        let x = r[0].filters;
        assert_eq!(r[0].contract, Contract::Linear);
        assert_eq!((x.qty_step, x.min_qty), (Some(f("1")), Some(f("1"))));
        assert_eq!(x.market_max_qty, Some(f("590119")));
        assert_eq!(
            (x.price_tick, x.min_price, x.max_price),
            (Some(f("0.0001")), Some(f("0.0001")), Some(f("300")))
        );
        assert_eq!(x.min_notional, Some(f("5")));
        assert!(x.min_notional_applies_to_market);
        assert_eq!(x.names.min_notional, "MIN_NOTIONAL notional");
    }
}
