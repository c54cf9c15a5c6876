//! Exchange filters from OKX `GET /api/v5/public/instruments` answers: `lotSz`
//! (step), `minSz`, `maxLmtSz` (limit orders), `maxMktSz` (market orders, swaps
//! only: on SPOT it is counted in USDT) and `tickSz`. A swap's sizes count
//! contracts; riskgate's orders count the base asset, so they are multiplied by
//! the answer's own `ctVal` (an instrument without a usable one is skipped and
//! stays unknown). Only SPOT and linear SWAP instruments are read: riskgate
//! refuses every other kind anyway.

use serde::Deserialize;

use super::order::symbol_of;
use crate::model::filters::{mul_exact, positive};
use crate::model::{Contract, FilterNames, FilterReport, Fixed, InstrumentFilters};

#[derive(Deserialize)]
struct WireAnswer {
    code: String,
    data: Vec<WireInstrument>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireInstrument {
    inst_id: String,
    #[serde(default)]
    inst_type: String,
    #[serde(default)]
    ct_val: String,
    #[serde(default)]
    ct_type: String,
    #[serde(default)]
    lot_sz: String,
    #[serde(default)]
    min_sz: String,
    #[serde(default)]
    max_lmt_sz: String,
    #[serde(default)]
    max_mkt_sz: String,
    #[serde(default)]
    tick_sz: String,
}

fn fx(s: &str) -> Option<Fixed> {
    positive(Fixed::parse(s).ok())
}

const SPOT_NAMES: FilterNames = FilterNames {
    qty_step: "lotSz",
    min_qty: "minSz",
    max_qty: "maxLmtSz",
    market_qty_step: "lotSz",
    market_min_qty: "minSz",
    market_max_qty: "maxMktSz",
    limit_max_qty: "maxLmtSz",
    price_tick: "tickSz",
    min_price: "tickSz",
    max_price: "tickSz",
    min_notional: "minSz",
    max_notional: "maxLmtSz",
};

const SWAP_NAMES: FilterNames = FilterNames {
    qty_step: "lotSz × ctVal",
    min_qty: "minSz × ctVal",
    max_qty: "maxLmtSz × ctVal",
    market_qty_step: "lotSz × ctVal",
    market_min_qty: "minSz × ctVal",
    market_max_qty: "maxMktSz × ctVal",
    limit_max_qty: "maxLmtSz × ctVal",
    ..SPOT_NAMES
};

fn read(i: &WireInstrument) -> Option<FilterReport> {
    let symbol = symbol_of(&i.inst_id)?;
    let (contract, per_unit, names) = match i.inst_type.as_str() {
        "SPOT" => (Contract::Spot, Fixed::from_units(1), SPOT_NAMES),
        "SWAP" if i.ct_type == "linear" => (Contract::Linear, fx(&i.ct_val)?, SWAP_NAMES),
        _ => return None,
    };
    // A size in contracts as base quantity; a product finer than 1e-8 cannot
    // be represented, so that bound is left unchecked (the venue still checks).
    let base = |s: &str| fx(s).and_then(|v| mul_exact(v, per_unit));
    let is_spot = contract == Contract::Spot;
    Some(FilterReport {
        symbol,
        contract,
        filters: InstrumentFilters {
            qty_step: base(&i.lot_sz),
            min_qty: base(&i.min_sz),
            limit_max_qty: base(&i.max_lmt_sz),
            market_max_qty: if is_spot { None } else { base(&i.max_mkt_sz) },
            price_tick: fx(&i.tick_sz),
            names,
            ..Default::default()
        },
    })
}

/// Every SPOT and linear SWAP instrument's filters in the answer.
pub fn instruments(body: &[u8]) -> Vec<FilterReport> {
    match serde_json::from_slice::<WireAnswer>(body) {
        Ok(a) if a.code == "0" => a.data.iter().filter_map(read).collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(s: &str) -> Fixed {
        Fixed::parse(s).unwrap()
    }

    /// Entries in the shape of OKX's documented answer (SPOT and USDC swap).
    #[test]
    fn reads_spot_and_linear_swaps_in_base_units() {
        let body = br#"{"code":"0","msg":"","data":[
          {"alias":"","baseCcy":"BTC","category":"1","ctMult":"","ctType":"","ctVal":"","ctValCcy":"","expTime":"",
           "instFamily":"","instId":"BTC-USDT","instType":"SPOT","lever":"10","listTime":"1606468572000","lotSz":"0.00000001",
           "maxIcebergSz":"9999999999.0000000000000000","maxLmtAmt":"1000000","maxLmtSz":"9999999999","maxMktAmt":"1000000",
           "maxMktSz":"1000000","maxStopSz":"1000000","maxTriggerSz":"9999999999.0000000000000000","maxTwapSz":"9999999999.0000000000000000",
           "minSz":"0.00001","optType":"","quoteCcy":"USDT","settleCcy":"","state":"live","stk":"","tickSz":"0.1","uly":""},
          {"alias":"","baseCcy":"","category":"1","ctMult":"1","ctType":"linear","ctVal":"0.0001","ctValCcy":"BTC","expTime":"",
           "instFamily":"BTC-USDC","instId":"BTC-USDC-SWAP","instType":"SWAP","lever":"125","listTime":"1666076190000","lotSz":"1",
           "maxIcebergSz":"100000000.0000000000000000","maxLmtSz":"100000000","maxMktSz":"85000","maxStopSz":"85000",
           "maxTriggerSz":"100000000.0000000000000000","maxTwapSz":"","minSz":"1","optType":"","quoteCcy":"","settleCcy":"USDC",
           "state":"live","stk":"","tickSz":"0.1","uly":"BTC-USDC"},
          {"instId":"BTC-USD-SWAP","instType":"SWAP","ctType":"inverse","ctVal":"100","lotSz":"1","minSz":"1","tickSz":"0.1"},
          {"instId":"BTC-USD-250328","instType":"FUTURES","ctType":"inverse","ctVal":"100","lotSz":"1","minSz":"1","tickSz":"0.1"}
        ]}"#;
        let r = instruments(body);
        assert_eq!(r.len(), 2, "{r:?}");
        assert_eq!(
            (r[0].symbol.as_str(), r[0].contract),
            ("BTCUSDT", Contract::Spot)
        );
        let s = r[0].filters;
        assert_eq!(s.qty_step, Some(Fixed(1)));
        assert_eq!(s.min_qty, Some(f("0.00001")));
        assert_eq!(s.limit_max_qty, Some(f("9999999999")));
        assert_eq!(s.market_max_qty, None, "SPOT maxMktSz is in USDT");
        assert_eq!(s.price_tick, Some(f("0.1")));
        assert_eq!(
            (r[1].symbol.as_str(), r[1].contract),
            ("BTC-USDC-SWAP", Contract::Linear)
        );
        let w = r[1].filters;
        assert_eq!(w.qty_step, Some(f("0.0001")), "1 contract × 0.0001 BTC");
        assert_eq!(w.market_max_qty, Some(f("8.5")));
        assert_eq!(w.names.qty_step, "lotSz × ctVal");
        assert!(
            instruments(br#"{"code":"51001","msg":"Instrument ID does not exist","data":[]}"#)
                .is_empty()
        );
    }
}
