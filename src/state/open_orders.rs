//! An account's open orders, indexed for the order path.
//!
//! The check needs the open quantity per base asset and side; learning needs
//! the order an answer names (exchange id or client id). Both are kept as
//! indexes updated on every change, so nothing on the order path scans the
//! orders: a bot with thousands of resting orders costs what one with five does.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

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
            if let Some(res) = self.by_exchange_id.get(&(r.symbol.clone(), id)) {
                return Some(*res);
            }
        }
        let cid = r.client_order_id.as_ref()?;
        self.by_client_id
            .get(&(r.symbol.clone(), cid.clone()))
            .copied()
    }

    /// The reservation an id on one instrument names.
    pub fn find_ref(&self, symbol: &Symbol, r: &OrderRef) -> Option<u64> {
        match r {
            OrderRef::ExchangeId(id) => self.by_exchange_id.get(&(symbol.clone(), *id)),
            OrderRef::ClientId(c) => self.by_client_id.get(&(symbol.clone(), c.clone())),
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
            let k = (o.symbol.clone(), id);
            if self.by_exchange_id.get(&k) == Some(&o.reservation) {
                self.by_exchange_id.remove(&k);
            }
        }
        if let Some(cid) = &o.client_order_id {
            let k = (o.symbol.clone(), cid.clone());
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
