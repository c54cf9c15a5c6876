//! An account's open orders, indexed for the order path.
//!
//! The check needs the open quantity per base asset and side; learning needs
//! the order an answer names (exchange id or client id). Both are kept as
//! indexes updated on every change, so nothing on the order path scans the
//! orders: a bot with thousands of resting orders costs what one with five does.

use std::collections::BTreeMap;
use std::sync::Arc;

// hashbrown's map: its default hasher (foldhash) costs a fraction of std's
// SipHash per probe, and `Equivalent` lets an answer's borrowed ids look an
// order up without building an owned key. The maps are bounded by the open
// orders an account may hold, and their keys come from the account's own bot.
use hashbrown::{Equivalent, HashMap};

use super::book::{OpenExposure, OpenOrder};
use crate::model::{ClientOrderId, Fixed, OrderRef, OrderReport, Side, Symbol};

#[derive(Debug, Default)]
pub struct OpenOrders {
    /// By reservation, in order of acceptance (deterministic snapshots).
    orders: BTreeMap<u64, OpenOrder>,
    idx: Indexes,
}

/// What is derived from the orders, kept apart from them so an order can be
/// changed in place while its index entries follow.
#[derive(Debug, Default)]
struct Indexes {
    exposure: HashMap<Arc<str>, OpenExposure>,
    by_exchange_id: HashMap<(Symbol, i64), u64>,
    /// Keys are inline (`Symbol`, `ClientOrderId`): a probe compares them in
    /// the table's entry, and indexing an order copies them, no allocation.
    by_client_id: HashMap<(Symbol, ClientOrderId), u64>,
}

impl OpenOrders {
    pub fn len(&self) -> usize {
        self.orders.len()
    }

    pub fn is_empty(&self) -> bool {
        self.orders.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &OpenOrder> {
        self.orders.values()
    }

    pub fn get(&self, reservation: u64) -> Option<&OpenOrder> {
        self.orders.get(&reservation)
    }

    /// Open quantity per side on one base asset.
    pub fn exposure(&self, base: &str) -> OpenExposure {
        self.idx.exposure.get(base).copied().unwrap_or_default()
    }

    /// The reservation an answer refers to.
    pub fn find(&self, r: &OrderReport) -> Option<u64> {
        if let Some(id) = r.exchange_order_id {
            if let Some(res) = self
                .idx
                .by_exchange_id
                .get(&ExchangeKey(r.symbol.as_str(), id))
            {
                return Some(*res);
            }
        }
        let cid = r.client_order_id.as_deref()?;
        self.idx
            .by_client_id
            .get(&ClientKey(r.symbol.as_str(), cid))
            .copied()
    }

    /// The reservation an id on one instrument names.
    pub fn find_ref(&self, symbol: &Symbol, r: &OrderRef) -> Option<u64> {
        match r {
            OrderRef::ExchangeId(id) => self
                .idx
                .by_exchange_id
                .get(&ExchangeKey(symbol.as_str(), *id)),
            OrderRef::ClientId(c) => self.idx.by_client_id.get(&ClientKey(symbol.as_str(), c)),
        }
        .copied()
    }

    /// Points the order's ids at it again (after the amend that had taken
    /// them over was released).
    pub fn reindex(&mut self, reservation: u64) {
        if let Some(o) = self.orders.get(&reservation) {
            self.idx.index(o);
        }
    }

    pub fn insert(&mut self, o: OpenOrder) {
        self.remove(o.reservation);
        self.idx.account_exposure(&o, 1);
        self.idx.index(&o);
        self.orders.insert(o.reservation, o);
    }

    pub fn remove(&mut self, reservation: u64) -> Option<OpenOrder> {
        let o = self.orders.remove(&reservation)?;
        self.idx.account_exposure(&o, -1);
        self.idx.unindex(&o);
        Some(o)
    }

    /// Changes one order; indexes and exposure follow. Returns what `f` returns.
    ///
    /// The same as removing the order and inserting it changed (its ids are
    /// unindexed, then indexed again, so they name it afterwards), but the
    /// order is changed where it is in `orders`: an answer about an order
    /// (every order gets one) costs no B-tree removal and insertion. `f` must
    /// not change the reservation.
    pub fn update<T>(
        &mut self,
        reservation: u64,
        f: impl FnOnce(&mut OpenOrder) -> T,
    ) -> Option<T> {
        let o = self.orders.get_mut(&reservation)?;
        self.idx.account_exposure(o, -1);
        self.idx.unindex(o);
        let out = f(o);
        debug_assert_eq!(
            o.reservation, reservation,
            "an update keeps the reservation"
        );
        o.reservation = reservation;
        self.idx.account_exposure(o, 1);
        self.idx.index(o);
        Some(out)
    }
}

impl Indexes {
    fn account_exposure(&mut self, o: &OpenOrder, sign: i64) {
        let e = self.exposure.entry(o.base.clone()).or_default();
        let q = Fixed(o.remaining().0 * sign);
        match o.side {
            Side::Buy => e.buy_qty = e.buy_qty.saturating_add(q),
            Side::Sell => e.sell_qty = e.sell_qty.saturating_add(q),
        }
        if e.buy_qty.is_zero() && e.sell_qty.is_zero() {
            self.exposure.remove(&o.base);
        }
    }

    fn index(&mut self, o: &OpenOrder) {
        if let Some(id) = o.exchange_order_id {
            self.by_exchange_id
                .insert((o.symbol.clone(), id), o.reservation);
        }
        if let Some(cid) = &o.client_order_id {
            self.by_client_id
                .insert((o.symbol.clone(), cid.clone()), o.reservation);
        }
    }

    /// Drops the order's index entries, unless they now name another order
    /// (an amend's new reservation takes over the ids of the order it replaces).
    fn unindex(&mut self, o: &OpenOrder) {
        if let Some(id) = o.exchange_order_id {
            let k = ExchangeKey(o.symbol.as_str(), id);
            if self.by_exchange_id.get(&k) == Some(&o.reservation) {
                self.by_exchange_id.remove(&k);
            }
        }
        if let Some(cid) = &o.client_order_id {
            let k = ClientKey(o.symbol.as_str(), cid);
            if self.by_client_id.get(&k) == Some(&o.reservation) {
                self.by_client_id.remove(&k);
            }
        }
    }
}

/// A borrowed `(Symbol, i64)` key. Hashes exactly as the owned tuple does
/// (`Symbol` hashes as its `str`), as `Equivalent` requires.
#[derive(Hash)]
struct ExchangeKey<'a>(&'a str, i64);

impl Equivalent<(Symbol, i64)> for ExchangeKey<'_> {
    fn equivalent(&self, key: &(Symbol, i64)) -> bool {
        self.1 == key.1 && self.0 == key.0.as_str()
    }
}

/// A borrowed `(Symbol, ClientOrderId)` key, hashing as the owned tuple does
/// (both hash as their `str`).
#[derive(Hash)]
struct ClientKey<'a>(&'a str, &'a str);

impl Equivalent<(Symbol, ClientOrderId)> for ClientKey<'_> {
    fn equivalent(&self, key: &(Symbol, ClientOrderId)) -> bool {
        self.1 == key.1.as_str() && self.0 == key.0.as_str()
    }
}

#[cfg(test)]
mod key_tests {
    use super::*;
    use std::hash::BuildHasher;

    /// `Equivalent` lookups are only correct if a borrowed key hashes as the
    /// owned one does.
    #[test]
    fn borrowed_keys_hash_as_owned_keys() {
        let h = hashbrown::DefaultHashBuilder::default();
        for (sym, id, cid) in [
            ("BTCUSDT", 7i64, "abc"),
            ("", -1, ""),
            ("X-Y", i64::MAX, "é"),
        ] {
            assert_eq!(
                h.hash_one(ExchangeKey(sym, id)),
                h.hash_one((Symbol::new(sym), id))
            );
            assert_eq!(
                h.hash_one(ClientKey(sym, cid)),
                h.hash_one((Symbol::new(sym), ClientOrderId::new(cid)))
            );
        }
    }
}

#[cfg(test)]
mod update_tests {
    use super::*;
    use crate::model::{Contract, OrderStatus};
    use crate::state::book::OrderPhase;
    use rand::{Rng, SeedableRng};

    fn order(reservation: u64, symbol: &str, cid: Option<&str>, xid: Option<i64>) -> OpenOrder {
        OpenOrder {
            reservation,
            venue: None,
            contract: Contract::Spot,
            symbol: Symbol::new(symbol),
            base: Arc::from(&symbol[..3]),
            quote: Arc::from("USDT"),
            side: if reservation % 2 == 0 {
                Side::Buy
            } else {
                Side::Sell
            },
            orig_qty: Fixed::from_units(10),
            executed_qty: Fixed::ZERO,
            price: None,
            exchange_order_id: xid,
            client_order_id: cid.map(ClientOrderId::from),
            phase: OrderPhase::Sent,
            since_ms: 0,
            kind: None,
            reduce_only: false,
            amend_of: None,
        }
    }

    /// Updating in place leaves exactly what removing the order and inserting
    /// it changed did (the reading `update` had before), including orders
    /// that share ids (an order and its pending amend).
    #[test]
    fn in_place_update_matches_remove_and_insert() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        let symbols = ["BTCUSDT", "ETHUSDT"];
        let (mut fast, mut slow) = (OpenOrders::default(), OpenOrders::default());
        for step in 0..4_000u64 {
            let res = rng.random_range(0..24u64);
            let sym = symbols[rng.random_range(0..2)];
            let cid = format!("c{}", rng.random_range(0..8));
            let xid = rng.random_range(0..8i64);
            match rng.random_range(0..4) {
                0 => {
                    let o = order(res, sym, Some(cid.as_str()).filter(|_| step % 3 != 0), None);
                    fast.insert(o.clone());
                    slow.insert(o);
                }
                1 => {
                    assert_eq!(fast.remove(res), slow.remove(res));
                }
                _ => {
                    let executed = Fixed::from_units(rng.random_range(0..12));
                    let set_cid = rng.random_bool(0.3);
                    let change = |o: &mut OpenOrder| {
                        o.exchange_order_id = Some(xid);
                        o.executed_qty = o.executed_qty.max(executed);
                        if set_cid {
                            o.client_order_id = Some(ClientOrderId::from(cid.as_str()));
                        }
                        o.remaining()
                    };
                    let ours = fast.update(res, change);
                    let theirs = slow.remove(res).map(|mut o| {
                        let out = change(&mut o);
                        slow.insert(o);
                        out
                    });
                    assert_eq!(ours, theirs, "step {step}");
                }
            }
            assert!(fast.iter().eq(slow.iter()), "step {step}");
            for base in ["BTC", "ETH"] {
                assert_eq!(fast.exposure(base), slow.exposure(base), "step {step}");
            }
            for sym in symbols {
                let symbol = Symbol::new(sym);
                for n in 0..8 {
                    let report = OrderReport {
                        symbol: symbol.clone(),
                        exchange_order_id: Some(n),
                        client_order_id: Some(ClientOrderId::from(format!("c{n}"))),
                        side: None,
                        status: OrderStatus::Open,
                        orig_qty: None,
                        executed_qty: Fixed::ZERO,
                        avg_price: None,
                        contract: Contract::Spot,
                    };
                    assert_eq!(fast.find(&report), slow.find(&report), "step {step}");
                    let by_cid = OrderRef::ClientId(format!("c{n}").into());
                    assert_eq!(
                        fast.find_ref(&symbol, &by_cid),
                        slow.find_ref(&symbol, &by_cid),
                        "step {step}"
                    );
                }
            }
        }
    }
}
