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
use crate::model::{Fixed, OrderRef, OrderReport, Side, Symbol};

#[derive(Debug, Default)]
pub struct OpenOrders {
    /// By reservation, in order of acceptance (deterministic snapshots).
    orders: BTreeMap<u64, OpenOrder>,
    exposure: HashMap<Arc<str>, OpenExposure>,
    by_exchange_id: HashMap<(Symbol, i64), u64>,
    by_client_id: HashMap<(Symbol, Box<str>), u64>,
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
        self.exposure.get(base).copied().unwrap_or_default()
    }

    /// The reservation an answer refers to.
    pub fn find(&self, r: &OrderReport) -> Option<u64> {
        if let Some(id) = r.exchange_order_id {
            if let Some(res) = self.by_exchange_id.get(&ExchangeKey(r.symbol.as_str(), id)) {
                return Some(*res);
            }
        }
        let cid = r.client_order_id.as_deref()?;
        self.by_client_id
            .get(&ClientKey(r.symbol.as_str(), cid))
            .copied()
    }

    /// The reservation an id on one instrument names.
    pub fn find_ref(&self, symbol: &Symbol, r: &OrderRef) -> Option<u64> {
        match r {
            OrderRef::ExchangeId(id) => self.by_exchange_id.get(&ExchangeKey(symbol.as_str(), *id)),
            OrderRef::ClientId(c) => self.by_client_id.get(&ClientKey(symbol.as_str(), c)),
        }
        .copied()
    }

    /// Points the order's ids at it again (after the amend that had taken
    /// them over was released).
    pub fn reindex(&mut self, reservation: u64) {
        if let Some(o) = self.orders.get(&reservation).cloned() {
            self.index(&o);
        }
    }

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

    pub fn insert(&mut self, o: OpenOrder) {
        self.remove(o.reservation);
        self.account_exposure(&o, 1);
        self.index(&o);
        self.orders.insert(o.reservation, o);
    }

    pub fn remove(&mut self, reservation: u64) -> Option<OpenOrder> {
        let o = self.orders.remove(&reservation)?;
        self.account_exposure(&o, -1);
        self.unindex(&o);
        Some(o)
    }

    /// Changes one order; indexes and exposure follow. Returns what `f` returns.
    pub fn update<T>(
        &mut self,
        reservation: u64,
        f: impl FnOnce(&mut OpenOrder) -> T,
    ) -> Option<T> {
        let mut o = self.remove(reservation)?;
        let out = f(&mut o);
        self.insert(o);
        Some(out)
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

/// A borrowed `(Symbol, Box<str>)` key, hashing as the owned tuple does.
#[derive(Hash)]
struct ClientKey<'a>(&'a str, &'a str);

impl Equivalent<(Symbol, Box<str>)> for ClientKey<'_> {
    fn equivalent(&self, key: &(Symbol, Box<str>)) -> bool {
        self.1 == &*key.1 && self.0 == key.0.as_str()
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
                h.hash_one((Symbol::new(sym), Box::<str>::from(cid)))
            );
        }
    }
}
