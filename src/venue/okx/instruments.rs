//! Contract values of OKX perpetuals, learned from public instrument answers.
//!
//! A SWAP order's `sz` counts contracts; one contract of `BTC-USDT-SWAP` is
//! `ctVal` = 0.01 BTC. riskgate learns `ctVal` from `GET /api/v5/public/instruments`
//! answers passing through (ccxt's `load_markets` makes that call) and refuses
//! SWAP orders whose contract value it has not seen. Owns only that table
//! (bounded); it must not decide anything.

use std::collections::HashMap;

use parking_lot::RwLock;
use serde::Deserialize;

use crate::model::Fixed;

/// Most instruments remembered (OKX lists a few hundred swaps).
const MAX_CONTRACTS: usize = 4096;

#[derive(Default)]
pub struct ContractValues {
    by_inst_id: RwLock<HashMap<Box<str>, Fixed>>,
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
    ct_val_ccy: String,
    #[serde(default)]
    ct_type: String,
}

#[derive(Deserialize)]
struct WireInstruments {
    code: String,
    data: Vec<WireInstrument>,
}

impl ContractValues {
    pub fn get(&self, inst_id: &str) -> Option<Fixed> {
        self.by_inst_id.read().get(inst_id).copied()
    }

    /// Records one contract value (positive values only; bounded).
    pub fn learn(&self, inst_id: &str, ct_val: Fixed) {
        if !ct_val.is_positive() {
            return;
        }
        let mut map = self.by_inst_id.write();
        if map.len() < MAX_CONTRACTS || map.contains_key(inst_id) {
            map.insert(inst_id.into(), ct_val);
        }
    }

    /// Reads a `/api/v5/public/instruments` answer. Only linear swaps whose
    /// contract value is counted in the base asset are learned: an inverse swap
    /// (`BTC-USD-SWAP`, contracts worth 100 USD) stays unknown and is refused.
    /// Returns how many were learned.
    pub fn learn_from_answer(&self, body: &[u8]) -> usize {
        let Ok(answer) = serde_json::from_slice::<WireInstruments>(body) else {
            return 0;
        };
        if answer.code != "0" {
            return 0;
        }
        let mut learned = 0;
        for i in answer.data {
            let base = i.inst_id.split('-').next().unwrap_or_default();
            if i.inst_type != "SWAP" || i.ct_type != "linear" || i.ct_val_ccy != base {
                continue;
            }
            if let Ok(v) = Fixed::parse(&i.ct_val) {
                if v.is_positive() {
                    self.learn(&i.inst_id, v);
                    learned += 1;
                }
            }
        }
        learned
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learns_linear_swaps_only() {
        // Trimmed from OKX's documented answer for instType=SWAP.
        let body = br#"{"code":"0","msg":"","data":[
          {"instType":"SWAP","instId":"BTC-USDT-SWAP","uly":"BTC-USDT","instFamily":"BTC-USDT","ctVal":"0.01","ctMult":"1","ctValCcy":"BTC","ctType":"linear","lotSz":"0.01","minSz":"0.01","tickSz":"0.1","state":"live"},
          {"instType":"SWAP","instId":"ETH-USDT-SWAP","ctVal":"0.1","ctValCcy":"ETH","ctType":"linear"},
          {"instType":"SWAP","instId":"BTC-USD-SWAP","ctVal":"100","ctValCcy":"USD","ctType":"inverse"},
          {"instType":"SPOT","instId":"BTC-USDT","ctVal":"","ctValCcy":"","ctType":""}
        ]}"#;
        let cv = ContractValues::default();
        assert_eq!(cv.learn_from_answer(body), 2);
        assert_eq!(cv.get("BTC-USDT-SWAP"), Some(Fixed::parse("0.01").unwrap()));
        assert_eq!(cv.get("ETH-USDT-SWAP"), Some(Fixed::parse("0.1").unwrap()));
        assert_eq!(cv.get("BTC-USD-SWAP"), None);
        assert_eq!(
            cv.learn_from_answer(br#"{"code":"50011","msg":"x","data":[]}"#),
            0
        );
        assert_eq!(cv.learn_from_answer(b"garbage"), 0);
    }
}
