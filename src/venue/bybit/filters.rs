//! Exchange filters from Bybit `GET /v5/market/instruments-info` answers, per
//! category. Spot: `lotSizeFilter.basePrecision` (quantity step),
//! `minOrderAmt` (minimum order value), `maxLimitOrderQty` and
//! `maxMarketOrderQty`, `priceFilter.tickSize`; the fields Bybit documents as
//! deprecated and no longer checked (`minOrderQty`, `maxOrderQty`,
//! `maxOrderAmt`) are not read. Linear: `qtyStep`, `minOrderQty`, `maxOrderQty`
//! (limit orders), `maxMktOrderQty`, `minNotionalValue`, and `priceFilter`
//! `tickSize`/`minPrice`/`maxPrice`. Other categories are refused by riskgate
//! and not read. One page only: `nextPageCursor` is not followed, so ask for
//! `limit=1000` (riskgate's own fetch does).

use serde::Deserialize;

use crate::model::filters::positive;
use crate::model::{Contract, FilterNames, FilterReport, Fixed, InstrumentFilters, Symbol};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireAnswer {
    ret_code: i64,
    result: WireResult,
}

#[derive(Deserialize)]
struct WireResult {
    category: String,
    #[serde(default)]
    list: Vec<WireInstrument>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireInstrument {
    symbol: String,
    #[serde(default)]
    lot_size_filter: WireLot,
    #[serde(default)]
    price_filter: WirePrice,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct WireLot {
    base_precision: Option<String>,
    min_order_amt: Option<String>,
    max_limit_order_qty: Option<String>,
    max_market_order_qty: Option<String>,
    qty_step: Option<String>,
    min_order_qty: Option<String>,
    max_order_qty: Option<String>,
    max_mkt_order_qty: Option<String>,
    min_notional_value: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct WirePrice {
    tick_size: Option<String>,
    min_price: Option<String>,
    max_price: Option<String>,
}

fn fx(v: &Option<String>) -> Option<Fixed> {
    positive(v.as_deref().and_then(|s| Fixed::parse(s).ok()))
}

const SPOT_NAMES: FilterNames = FilterNames {
    qty_step: "lotSizeFilter.basePrecision",
    min_qty: "lotSizeFilter.minOrderQty",
    max_qty: "lotSizeFilter.maxOrderQty",
    market_qty_step: "lotSizeFilter.basePrecision",
    market_min_qty: "lotSizeFilter.minOrderQty",
    market_max_qty: "lotSizeFilter.maxMarketOrderQty",
    limit_max_qty: "lotSizeFilter.maxLimitOrderQty",
    price_tick: "priceFilter.tickSize",
    min_price: "priceFilter.minPrice",
    max_price: "priceFilter.maxPrice",
    min_notional: "lotSizeFilter.minOrderAmt",
    max_notional: "lotSizeFilter.maxOrderAmt",
};

const LINEAR_NAMES: FilterNames = FilterNames {
    qty_step: "lotSizeFilter.qtyStep",
    market_qty_step: "lotSizeFilter.qtyStep",
    market_max_qty: "lotSizeFilter.maxMktOrderQty",
    limit_max_qty: "lotSizeFilter.maxOrderQty",
    min_notional: "lotSizeFilter.minNotionalValue",
    ..SPOT_NAMES
};

fn read(contract: Contract, i: &WireInstrument) -> Option<FilterReport> {
    if i.symbol.is_empty() || i.symbol.len() > 32 {
        return None;
    }
    let (l, p) = (&i.lot_size_filter, &i.price_filter);
    let filters = match contract {
        Contract::Spot => InstrumentFilters {
            qty_step: fx(&l.base_precision),
            limit_max_qty: fx(&l.max_limit_order_qty),
            market_max_qty: fx(&l.max_market_order_qty),
            min_notional: fx(&l.min_order_amt),
            min_notional_applies_to_market: true,
            price_tick: fx(&p.tick_size),
            names: SPOT_NAMES,
            ..Default::default()
        },
        Contract::Linear => InstrumentFilters {
            qty_step: fx(&l.qty_step),
            min_qty: fx(&l.min_order_qty),
            limit_max_qty: fx(&l.max_order_qty),
            market_max_qty: fx(&l.max_mkt_order_qty),
            min_notional: fx(&l.min_notional_value),
            min_notional_applies_to_market: true,
            price_tick: fx(&p.tick_size),
            min_price: fx(&p.min_price),
            max_price: fx(&p.max_price),
            names: LINEAR_NAMES,
            ..Default::default()
        },
    };
    Some(FilterReport {
        symbol: Symbol::new(&i.symbol),
        contract,
        filters,
    })
}

/// Every spot or linear instrument's filters in the answer.
pub fn instruments_info(body: &[u8]) -> Vec<FilterReport> {
    let Ok(a) = serde_json::from_slice::<WireAnswer>(body) else {
        return Vec::new();
    };
    let contract = match (a.ret_code, a.result.category.as_str()) {
        (0, "spot") => Contract::Spot,
        (0, "linear") => Contract::Linear,
        _ => return Vec::new(),
    };
    a.result
        .list
        .iter()
        .filter_map(|i| read(contract, i))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(s: &str) -> Fixed {
        Fixed::parse(s).unwrap()
    }

    /// Bybit's documented response examples (docs/v5/market/instrument.mdx).
    #[test]
    fn reads_spot_and_linear_examples() {
        let spot = br#"{"retCode":0,"retMsg":"OK","result":{"category":"spot","list":[{"symbolId":9,"symbol":"BTCUSDT",
          "baseCoin":"BTC","quoteCoin":"USDT","innovation":"0","status":"Trading","marginTrading":"utaOnly","stTag":"0",
          "lotSizeFilter":{"basePrecision":"0.000001","quotePrecision":"0.0000001","minOrderQty":"0.000011","maxOrderQty":"83",
            "minOrderAmt":"5","maxOrderAmt":"8000000","maxLimitOrderQty":"83","maxMarketOrderQty":"41.5","postOnlyMaxLimitOrderSize":"60000"},
          "priceFilter":{"tickSize":"0.1"},"riskParameters":{"priceLimitRatioX":"0.005","priceLimitRatioY":"0.01"},"symbolType":""}]},
          "retExtInfo":{},"time":1760027412300}"#;
        let r = instruments_info(spot);
        assert_eq!(r.len(), 1);
        assert_eq!(
            (r[0].symbol.as_str(), r[0].contract),
            ("BTCUSDT", Contract::Spot)
        );
        let s = r[0].filters;
        assert_eq!(s.qty_step, Some(f("0.000001")));
        assert_eq!(s.min_qty, None, "minOrderQty is no longer checked by Bybit");
        assert_eq!(s.limit_max_qty, Some(f("83")));
        assert_eq!(s.market_max_qty, Some(f("41.5")));
        assert_eq!(s.min_notional, Some(f("5")));
        assert_eq!(s.price_tick, Some(f("0.1")));

        let linear = br#"{"retCode":0,"retMsg":"OK","result":{"category":"linear","list":[{"symbol":"BTCUSDT","symbolId":5,
          "contractType":"LinearPerpetual","status":"Trading","baseCoin":"BTC","quoteCoin":"USDT","launchTime":"1585526400000",
          "deliveryTime":"0","deliveryFeeRate":"","priceScale":"2",
          "leverageFilter":{"minLeverage":"1","maxLeverage":"100.00","leverageStep":"0.01"},
          "priceFilter":{"minPrice":"0.10","maxPrice":"1999999.80","tickSize":"0.10"},
          "lotSizeFilter":{"maxOrderQty":"1190.000","minOrderQty":"0.001","qtyStep":"0.001","postOnlyMaxOrderQty":"1190.000",
            "maxMktOrderQty":"500.000","minNotionalValue":"5"},
          "unifiedMarginTrade":true,"fundingInterval":480,"settleCoin":"USDT","copyTrading":"both","upperFundingRate":"0.00375",
          "lowerFundingRate":"-0.00375","isPreListing":false,"preListingInfo":null,
          "riskParameters":{"priceLimitRatioX":"0.01","priceLimitRatioY":"0.02"},"symbolType":""}],"nextPageCursor":""},
          "retExtInfo":{},"time":1735809771618}"#;
        let r = instruments_info(linear);
        assert_eq!(r[0].contract, Contract::Linear);
        let l = r[0].filters;
        assert_eq!(
            (l.qty_step, l.min_qty),
            (Some(f("0.001")), Some(f("0.001")))
        );
        assert_eq!(
            (l.limit_max_qty, l.market_max_qty),
            (Some(f("1190")), Some(f("500")))
        );
        assert_eq!(l.min_notional, Some(f("5")));
        assert_eq!(
            (l.price_tick, l.min_price, l.max_price),
            (Some(f("0.1")), Some(f("0.1")), Some(f("1999999.8")))
        );
        assert_eq!(l.names.qty_step, "lotSizeFilter.qtyStep");
        // Options and error answers teach nothing.
        assert!(instruments_info(br#"{"retCode":0,"retMsg":"OK","result":{"category":"option","list":[{"symbol":"BTC-27MAR26-70000-P-USDT"}]}}"#).is_empty());
        assert!(instruments_info(
            br#"{"retCode":10001,"retMsg":"params error","result":{"category":"","list":[]}}"#
        )
        .is_empty());
    }
}
