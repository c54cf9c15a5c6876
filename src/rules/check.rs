//! The pure pre-trade check: an order plus a view of the account → accept or refuse.
//!
//! No I/O, no locks, no clock reads, no allocation on the accept path: the state
//! layer gathers everything into `OrderContext` (under the account's lock) and
//! reserves only if this accepts. Rules are evaluated in `RejectReason` order, so
//! the first failing rule in that order is the one reported.
//!
//! Reducing orders: an order that can only shrink the position, even if every
//! open order on the same side fills first, is refused only by a halt. Everything
//! else (limits, breakers, stale data, bands, duplicates, rates) lets it through:
//! a risk system that stops you closing a position is a known, hated failure.

use super::portfolio::PortfolioView;
use super::ruleset::{AccountRules, SymbolRules};
use super::{RejectReason, Rejection};
use crate::model::filters::{notional, on_step};
use crate::model::{Fixed, InstrumentFilters, NewOrder, OrderKind, Side};

/// Trading state of an account or of the whole gateway.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum TradingState {
    Active,
    /// Only orders that shrink a position pass.
    ReduceOnly,
    /// Only cancels pass.
    Halted,
}

impl TradingState {
    pub fn as_str(self) -> &'static str {
        match self {
            TradingState::Active => "active",
            TradingState::ReduceOnly => "reduce_only",
            TradingState::Halted => "halted",
        }
    }
    /// Metric encoding: 0 active, 1 reduce-only, 2 halted.
    pub fn level(self) -> f64 {
        match self {
            TradingState::Active => 0.0,
            TradingState::ReduceOnly => 1.0,
            TradingState::Halted => 2.0,
        }
    }
}

/// Everything the check needs, gathered by the state layer.
#[derive(Debug)]
pub struct OrderContext<'a> {
    pub order: &'a NewOrder,
    pub account: &'a AccountRules,
    pub symbol: &'a SymbolRules,
    /// The stricter of the global and the account state.
    pub trading_state: TradingState,
    pub symbol_allowed: bool,
    /// Set while the symbol's circuit breaker is open: when it closes (ms).
    pub breaker_open_until_ms: Option<i64>,
    /// Reference price in the symbol's quote currency, if fresh enough.
    pub reference_price: PriceView,
    /// USD per unit of the quote currency (1 for stablecoins), if known and fresh.
    pub quote_usd: Option<f64>,
    /// Filled position in the base asset (signed), over every venue and
    /// contract (BTC spot, BTCUSDT perpetuals, XBT/USD are all BTC).
    pub position_qty: Fixed,
    /// For a derivative order: the position on this venue's instrument and
    /// the open orders on it, which alone decide whether the order reduces (a
    /// hedge on another venue does not close this one). None for spot.
    pub instrument_position: Option<InstrumentPosition>,
    /// The gross exposure already held on this order's exchange, and its limit.
    pub exchange: Option<ExchangeView<'a>>,
    /// Remaining quantity of open buy / sell orders on this base asset.
    pub open_buy_qty: Fixed,
    pub open_sell_qty: Fixed,
    pub open_orders: u32,
    pub daily_trades: u32,
    pub client_order_id_seen: bool,
    pub same_order_recently: bool,
    /// Configured capital, or the equity learned from balances.
    pub capital_usd: Option<f64>,
    /// Portfolio limits and the latest risk snapshot, if the account has such limits.
    pub portfolio: Option<PortfolioView<'a>>,
    /// The venue's filters for the order's instrument, when the account has
    /// `exchange_filters` on.
    pub filters: FiltersView<'a>,
}

/// What the check knows of the venue's exchange filters for the order.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FiltersView<'a> {
    /// `exchange_filters` is off for the account: nothing to check.
    Off,
    /// On, but the venue's filters for this instrument are not loaded (fail closed).
    Unknown {
        venue: &'a str,
    },
    Known(&'a InstrumentFilters),
}

/// A derivative position on one venue's instrument, with its open orders.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct InstrumentPosition {
    pub qty: Fixed,
    pub open_buy_qty: Fixed,
    pub open_sell_qty: Fixed,
}

/// Gross exposure on one exchange: filled positions and balances at reference
/// prices plus every open order there, as if all filled (USD).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ExchangeView<'a> {
    pub name: &'a str,
    /// None when something held there has no fresh price (fail closed).
    pub gross_usd: Option<f64>,
    pub limit_pct: f64,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PriceView {
    Fresh(Fixed),
    Stale { age_ms: i64, max_age_ms: i64 },
    Missing,
}

/// An accepted order's figures, for reservation and metrics.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Accepted {
    /// Base quantity (derived from the quote size and reference price if needed).
    pub qty: Fixed,
    /// Worst-case notional of this order in USD (0 if unknown for a reducing order).
    pub notional_usd: f64,
    pub reducing: bool,
}

pub type Decision = Result<Accepted, Rejection>;

fn reject(reason: RejectReason, msg: String) -> Decision {
    Err(Rejection::new(reason, msg))
}

/// Whether `qty` on `side` can only shrink the position even if every open order
/// on that side fills first.
pub fn is_reducing(
    side: Side,
    qty: Fixed,
    position: Fixed,
    open_buy: Fixed,
    open_sell: Fixed,
) -> bool {
    match side {
        Side::Sell => position.is_positive() && qty.0 <= position.0.saturating_sub(open_sell.0),
        Side::Buy => {
            position.0 < 0 && qty.0 <= position.0.saturating_neg().saturating_sub(open_buy.0)
        }
    }
}

/// The venue's exchange filters against the order as the bot wrote it.
/// `reference_price` values market orders for the notional bounds; None skips
/// the notional bounds (reducing orders).
fn check_filters(
    o: &NewOrder,
    f: &InstrumentFilters,
    reference_price: Option<Fixed>,
) -> Result<(), Rejection> {
    let n = &f.names;
    let fail = |reason: RejectReason, msg: String| -> Result<(), Rejection> {
        Err(Rejection::new(reason, msg))
    };
    let market = o.kind == OrderKind::Market;
    // Base quantity as sent: a quote-sized order has none (its size is
    // checked as a notional below).
    if let Some(q) = o.qty {
        if let Some(step) = f.qty_step {
            if !on_step(q, step, f.min_qty) {
                return fail(
                    RejectReason::ExchangeFilterQtyStep,
                    format!(
                        "quantity {q} is not a multiple of step {step} ({} {})",
                        o.symbol, n.qty_step
                    ),
                );
            }
        }
        if market {
            if let Some(step) = f.market_qty_step {
                if !on_step(q, step, f.market_min_qty) {
                    return fail(
                        RejectReason::ExchangeFilterQtyStep,
                        format!(
                            "market order quantity {q} is not a multiple of step {step} ({} {})",
                            o.symbol, n.market_qty_step
                        ),
                    );
                }
            }
        }
        let mut bounds = [
            (f.min_qty, true, n.min_qty, ""),
            (f.max_qty, false, n.max_qty, ""),
            (None, true, "", ""),
            (None, false, "", ""),
        ];
        if market {
            bounds[2] = (f.market_min_qty, true, n.market_min_qty, "market order ");
            bounds[3] = (f.market_max_qty, false, n.market_max_qty, "market order ");
        } else if o.kind.has_limit_price() && o.kind != OrderKind::LimitMaker {
            bounds[3] = (f.limit_max_qty, false, n.limit_max_qty, "limit order ");
        }
        for (bound, is_min, name, what) in bounds {
            let Some(b) = bound else { continue };
            if (is_min && q < b) || (!is_min && q > b) {
                return fail(
                    RejectReason::ExchangeFilterQtyRange,
                    format!(
                        "{what}quantity {q} is {} the {} {b} ({} {name})",
                        if is_min { "below" } else { "above" },
                        if is_min { "minimum" } else { "maximum" },
                        o.symbol
                    ),
                );
            }
        }
    }
    if let (true, Some(p)) = (o.kind.has_limit_price(), o.price) {
        if let Some(tick) = f.price_tick {
            if !on_step(p, tick, f.min_price) {
                return fail(
                    RejectReason::ExchangeFilterPriceTick,
                    format!(
                        "price {p} is not a multiple of tick {tick} ({} {})",
                        o.symbol, n.price_tick
                    ),
                );
            }
        }
        if let Some(min) = f.min_price.filter(|m| p < *m) {
            return fail(
                RejectReason::ExchangeFilterPriceRange,
                format!(
                    "price {p} is below the minimum {min} ({} {})",
                    o.symbol, n.min_price
                ),
            );
        }
        if let Some(max) = f.max_price.filter(|m| p > *m) {
            return fail(
                RejectReason::ExchangeFilterPriceRange,
                format!(
                    "price {p} is above the maximum {max} ({} {})",
                    o.symbol, n.max_price
                ),
            );
        }
    }
    let Some(reference_price) = reference_price else {
        return Ok(());
    };
    // Order value in the quote currency: quantity at the limit price, a market
    // order at the reference price, a quote-sized order as given. Stop- and
    // take-profit-market orders are not valued: venues value them at their
    // trigger price, which says nothing about the price they will fill at.
    let limit_price = o.price.filter(|_| o.kind.has_limit_price());
    if limit_price.is_none() && !market {
        return Ok(());
    }
    let (value, how) = match (o.qty, o.quote_qty, limit_price) {
        (Some(q), _, Some(p)) => (notional(q, p), format!("quantity {q} × price {p}")),
        (Some(q), _, None) => (
            notional(q, reference_price),
            format!("quantity {q} × reference price {reference_price}"),
        ),
        (None, Some(quote), _) => (quote, "quote-currency size".to_string()),
        (None, None, _) => return Ok(()),
    };
    let is_market = limit_price.is_none();
    if let Some(min) = f
        .min_notional
        .filter(|_| !is_market || f.min_notional_applies_to_market)
    {
        if value < min {
            return fail(
                RejectReason::ExchangeFilterNotional,
                format!(
                    "order value {value} ({how}) is below the minimum {min} ({} {})",
                    o.symbol, n.min_notional
                ),
            );
        }
    }
    if let Some(max) = f
        .max_notional
        .filter(|_| !is_market || f.max_notional_applies_to_market)
    {
        if value > max {
            return fail(
                RejectReason::ExchangeFilterNotional,
                format!(
                    "order value {value} ({how}) is above the maximum {max} ({} {})",
                    o.symbol, n.max_notional
                ),
            );
        }
    }
    Ok(())
}

/// Decides on one order.
pub fn check(ctx: &OrderContext<'_>) -> Decision {
    let o = ctx.order;
    if ctx.trading_state == TradingState::Halted {
        return reject(
            RejectReason::TradingHalted,
            "trading is halted; only cancels pass".into(),
        );
    }
    let ref_price = match ctx.reference_price {
        PriceView::Fresh(p) => Some(p),
        _ => None,
    };
    // Base quantity: given, or derived from a quote-sized market order.
    let qty = match (o.qty, o.quote_qty, ref_price.or(o.price)) {
        (Some(q), _, _) => Some(q),
        (None, Some(quote), Some(p)) => Fixed::div_to_qty(quote, p),
        _ => None,
    };
    let basis = ctx.instrument_position.unwrap_or(InstrumentPosition {
        qty: ctx.position_qty,
        open_buy_qty: ctx.open_buy_qty,
        open_sell_qty: ctx.open_sell_qty,
    });
    let reducing = o.reduce_only
        || qty.is_some_and(|q| {
            is_reducing(
                o.side,
                q,
                basis.qty,
                basis.open_buy_qty,
                basis.open_sell_qty,
            )
        });
    if reducing {
        // Reducing orders: the venue's precision and size filters still apply
        // (it would refuse the order anyway, and saying why here costs the bot
        // nothing); notional minimums do not (Binance USD-M and Bybit exempt
        // reduce-only orders from them), and unknown filters never block a close.
        if let FiltersView::Known(f) = ctx.filters {
            check_filters(o, f, None)?;
        }
        let notional_usd = match (qty, ref_price.or(o.price), ctx.quote_usd) {
            (Some(q), Some(p), Some(fx)) => q.mul_f64(p) * fx,
            _ => 0.0,
        };
        return Ok(Accepted {
            qty: qty.unwrap_or(Fixed::ZERO),
            notional_usd,
            reducing: true,
        });
    }

    if !ctx.symbol_allowed {
        return reject(
            RejectReason::SymbolNotAllowed,
            format!("{} is not allowed by the symbol rules", o.symbol),
        );
    }
    if let Some(until) = ctx.breaker_open_until_ms {
        return reject(
            RejectReason::CircuitBreakerOpen,
            format!(
                "{} paused after a large price move until {} (unix ms)",
                o.symbol, until
            ),
        );
    }
    if ctx.trading_state == TradingState::ReduceOnly {
        return reject(
            RejectReason::ReduceOnly,
            format!(
                "account is reduce-only and this {} {} would not reduce the position",
                o.side.as_str(),
                o.symbol
            ),
        );
    }
    let ref_price = match ctx.reference_price {
        PriceView::Fresh(p) => p,
        PriceView::Stale { age_ms, max_age_ms } => {
            return reject(
                RejectReason::MarketDataStale,
                format!(
                    "reference price for {} is {:.1} s old (max {:.1} s)",
                    o.symbol,
                    age_ms as f64 / 1000.0,
                    max_age_ms as f64 / 1000.0
                ),
            )
        }
        PriceView::Missing => {
            return reject(
                RejectReason::MarketDataStale,
                format!("no reference price for {}", o.symbol),
            )
        }
    };
    let Some(quote_usd) = ctx.quote_usd else {
        return reject(
            RejectReason::MarketDataStale,
            format!("no fresh USD rate for the quote currency of {}", o.symbol),
        );
    };
    let Some(qty) = qty else {
        return reject(
            RejectReason::MalformedRequest,
            "order quantity could not be determined".into(),
        );
    };

    // Every order that carries a limit price: a stop-limit or take-profit-limit
    // order becomes a plain limit order when it triggers.
    if o.kind.has_limit_price() {
        if let Some(price) = o.price {
            let deviation_pct = (price.to_f64() / ref_price.to_f64() - 1.0) * 100.0;
            if deviation_pct.abs() > ctx.symbol.price_band_pct {
                return reject(
                    RejectReason::PriceBand,
                    format!(
                        "limit price {} is {:+.2}% from reference {} (band ±{}%)",
                        price, deviation_pct, ref_price, ctx.symbol.price_band_pct
                    ),
                );
            }
        }
    }

    match &ctx.filters {
        FiltersView::Off => {}
        FiltersView::Unknown { venue } => {
            return reject(
                RejectReason::ExchangeFiltersUnknown,
                format!(
                    "no exchange filters loaded for {} on {}: riskgate reads them from the venue's instrument list (fetched at start and refreshed; also learned from exchangeInfo, instruments-info, public/instruments or AssetPairs answers passing through). Retry once they are loaded, or set exchange_filters = false in the rules",
                    o.symbol, venue
                ),
            )
        }
        FiltersView::Known(f) => check_filters(o, f, Some(ref_price))?,
    }

    if ctx.client_order_id_seen {
        return reject(
            RejectReason::DuplicateClientOrderId,
            format!(
                "client order id '{}' was already used",
                o.client_order_id.as_deref().unwrap_or("")
            ),
        );
    }
    if ctx.same_order_recently {
        return reject(
            RejectReason::DuplicateOrder,
            format!(
                "identical {} {} {} order seen within the duplicate window",
                o.side.as_str(),
                qty,
                o.symbol
            ),
        );
    }

    if let Some(max) = ctx.symbol.max_order_qty {
        if qty > max {
            return reject(
                RejectReason::MaxOrderQty,
                format!("quantity {} {} exceeds limit {}", qty, o.symbol, max),
            );
        }
    }
    // Worst-case fill price: a buy pays at most its limit; a sell below the market
    // still fills at the market; market and stop orders fill at the market.
    let order_price = match (o.side, o.price) {
        (Side::Buy, Some(limit)) => limit,
        (Side::Sell, Some(limit)) => limit.max(ref_price),
        (_, None) => ref_price,
    };
    let notional_usd = match o.quote_qty {
        Some(quote) if o.qty.is_none() => quote.to_f64() * quote_usd,
        _ => qty.mul_f64(order_price) * quote_usd,
    };
    if notional_usd > ctx.account.max_order_notional_usd {
        return reject(
            RejectReason::MaxOrderNotional,
            format!(
                "order notional {:.2} USD exceeds limit {:.2} USD",
                notional_usd, ctx.account.max_order_notional_usd
            ),
        );
    }

    // Volatility scaling: the per-symbol position limits shrink (or, up to
    // max_scale, grow) with target / asset volatility from the risk snapshot.
    // The one exception to RejectReason order: without a usable volatility the
    // position limits have no value, so `portfolio_risk_unavailable` comes first.
    let vol_scale = match &ctx.portfolio {
        Some(view) => super::portfolio::volatility_scale(view)?,
        None => None,
    };
    let factor = vol_scale.map_or(1.0, |v| v.factor);
    let explain = |configured: String| match &vol_scale {
        Some(v) => format!(" ({})", v.describe(configured)),
        None => String::new(),
    };

    // Worst case: the position plus every open order on the same side, plus this one.
    let worst_qty = match o.side {
        Side::Buy => ctx
            .position_qty
            .saturating_add(ctx.open_buy_qty)
            .saturating_add(qty),
        Side::Sell => ctx
            .position_qty
            .saturating_sub(ctx.open_sell_qty)
            .saturating_sub(qty),
    }
    .abs();
    if let Some(configured) = ctx.symbol.max_position_qty {
        // Scaled in f64, rounded to 1e-8; a product that does not fit refuses
        // everything rather than falling back to the unscaled limit.
        let max = if vol_scale.is_some() {
            Fixed::from_f64(configured.to_f64() * factor).unwrap_or(Fixed::ZERO)
        } else {
            configured
        };
        if worst_qty > max {
            return reject(
                RejectReason::MaxPositionQty,
                format!(
                    "worst-case position {} (filled {} + open orders + this) exceeds limit {}{}",
                    worst_qty,
                    ctx.position_qty,
                    max,
                    explain(configured.to_string())
                ),
            );
        }
    }
    let worst_notional_usd = worst_qty.mul_f64(ref_price) * quote_usd;
    if let Some(configured) = ctx.symbol.max_position_notional_usd {
        let max = configured * factor;
        if worst_notional_usd > max {
            return reject(
                RejectReason::MaxPositionNotional,
                format!(
                    "worst-case position notional {:.2} USD exceeds limit {:.2} USD{}",
                    worst_notional_usd,
                    max,
                    explain(format!("{configured:.2} USD"))
                ),
            );
        }
    }
    match ctx.capital_usd {
        Some(capital) if capital > 0.0 => {
            let pct = worst_notional_usd / capital * 100.0;
            let configured = ctx.account.max_single_position_pct;
            let max_pct = configured * factor;
            if pct > max_pct {
                return reject(
                    RejectReason::MaxPositionPct,
                    format!(
                        "worst-case position {:.2} USD is {:.2}% of capital {:.2} USD (limit {}%{})",
                        worst_notional_usd,
                        pct,
                        capital,
                        max_pct,
                        vol_scale
                            .map(|v| format!("; {}", v.describe(format!("{configured}%"))))
                            .unwrap_or_default()
                    ),
                );
            }
        }
        _ => {
            return reject(
                RejectReason::CapitalUnknown,
                "account capital unknown: set capital_usd in the rules or let riskgate see GET /api/v3/account".into(),
            )
        }
    }
    if let (Some(ex), Some(capital)) = (&ctx.exchange, ctx.capital_usd) {
        let Some(gross_usd) = ex.gross_usd else {
            return reject(
                RejectReason::MarketDataStale,
                format!(
                    "exposure on {} cannot be valued: something held there has no fresh price",
                    ex.name
                ),
            );
        };
        let worst_usd = gross_usd + notional_usd;
        let pct = worst_usd / capital * 100.0;
        if pct > ex.limit_pct {
            return reject(
                RejectReason::MaxExchangeExposure,
                format!(
                    "worst-case exposure on {} {:.2} USD (held {:.2} + this {:.2}) is {:.2}% of capital {:.2} USD (limit {}%)",
                    ex.name, worst_usd, gross_usd, notional_usd, pct, capital, ex.limit_pct
                ),
            );
        }
    }

    if ctx.open_orders >= ctx.account.max_open_orders {
        return reject(
            RejectReason::MaxOpenOrders,
            format!(
                "{} open orders (limit {})",
                ctx.open_orders, ctx.account.max_open_orders
            ),
        );
    }
    if !o.test_only && ctx.daily_trades >= ctx.account.max_daily_trades {
        return reject(
            RejectReason::MaxDailyTrades,
            format!(
                "{} orders accepted today (UTC), limit {}",
                ctx.daily_trades, ctx.account.max_daily_trades
            ),
        );
    }
    if let Some(view) = &ctx.portfolio {
        let delta_usd = qty.mul_f64(ref_price) * quote_usd * o.side.sign() as f64;
        // The account's exposure to the asset now (filled plus open orders, as
        // the snapshot counts it): orders since the snapshot are included.
        let current_usd = ctx
            .position_qty
            .saturating_add(ctx.open_buy_qty)
            .saturating_sub(ctx.open_sell_qty)
            .mul_f64(ref_price)
            * quote_usd;
        super::portfolio::check_portfolio(view, current_usd, delta_usd)?;
    }
    Ok(Accepted {
        qty,
        notional_usd,
        reducing: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{OrderKind, Symbol, TimeInForce};
    use crate::rules::RuleSet;

    fn fx(s: &str) -> Fixed {
        Fixed::parse(s).unwrap()
    }

    fn limit(side: Side, qty: &str, price: &str) -> NewOrder {
        NewOrder {
            symbol: Symbol::new("BTCUSDT"),
            side,
            kind: OrderKind::Limit,
            qty: Some(fx(qty)),
            quote_qty: None,
            price: Some(fx(price)),
            stop_price: None,
            time_in_force: Some(TimeInForce::Gtc),
            client_order_id: None,
            reduce_only: false,
            contract: crate::model::Contract::Spot,
            test_only: false,
        }
    }

    struct Fixture {
        rules: RuleSet,
    }

    impl Fixture {
        fn new() -> Fixture {
            let text = r#"
                [account."*"]
                capital_usd = 100000.0
                max_order_notional_usd = 10000.0
                max_single_position_pct = 20.0
                max_open_orders = 3
                max_daily_trades = 5
                [account."*".symbol."*"]
                price_band_pct = 5.0
                [account."*".symbol.BTCUSDT]
                max_order_qty = 0.5
                max_position_qty = 0.6
                max_position_notional_usd = 25000.0
            "#;
            let rules = crate::rules::file::build(
                &[("t.toml".into(), text.into())],
                &[],
                &Default::default(),
                1,
            )
            .unwrap();
            Fixture { rules }
        }

        fn ctx<'a>(&'a self, order: &'a NewOrder) -> OrderContext<'a> {
            let account = self.rules.account(None);
            OrderContext {
                order,
                account,
                symbol: account.symbol("BTCUSDT"),
                trading_state: TradingState::Active,
                symbol_allowed: true,
                breaker_open_until_ms: None,
                reference_price: PriceView::Fresh(Fixed::from_units(50_000)),
                quote_usd: Some(1.0),
                position_qty: Fixed::ZERO,
                instrument_position: None,
                exchange: None,
                open_buy_qty: Fixed::ZERO,
                open_sell_qty: Fixed::ZERO,
                open_orders: 0,
                daily_trades: 0,
                client_order_id_seen: false,
                same_order_recently: false,
                capital_usd: Some(100_000.0),
                portfolio: None,
                filters: FiltersView::Off,
            }
        }
    }

    fn reason(d: Decision) -> RejectReason {
        d.expect_err("expected a refusal").reason
    }

    #[test]
    fn accepts_an_order_within_every_limit() {
        let f = Fixture::new();
        let o = limit(Side::Buy, "0.1", "50000");
        let a = check(&f.ctx(&o)).unwrap();
        assert!(!a.reducing);
        assert_eq!(a.qty, fx("0.1"));
        assert!((a.notional_usd - 5000.0).abs() < 1e-9);
    }

    #[test]
    fn refuses_each_limit_with_its_reason() {
        let f = Fixture::new();
        let o = limit(Side::Buy, "0.1", "50000");
        type Tweak = fn(&mut OrderContext<'_>);
        let cases: &[(Tweak, RejectReason)] = &[
            (
                |c| c.trading_state = TradingState::Halted,
                RejectReason::TradingHalted,
            ),
            (|c| c.symbol_allowed = false, RejectReason::SymbolNotAllowed),
            (
                |c| c.breaker_open_until_ms = Some(1),
                RejectReason::CircuitBreakerOpen,
            ),
            (
                |c| c.trading_state = TradingState::ReduceOnly,
                RejectReason::ReduceOnly,
            ),
            (
                |c| c.reference_price = PriceView::Missing,
                RejectReason::MarketDataStale,
            ),
            (
                |c| {
                    c.reference_price = PriceView::Stale {
                        age_ms: 20_000,
                        max_age_ms: 10_000,
                    }
                },
                RejectReason::MarketDataStale,
            ),
            (|c| c.quote_usd = None, RejectReason::MarketDataStale),
            (
                |c| c.reference_price = PriceView::Fresh(Fixed::from_units(40_000)),
                RejectReason::PriceBand,
            ),
            (
                |c| c.client_order_id_seen = true,
                RejectReason::DuplicateClientOrderId,
            ),
            (
                |c| c.same_order_recently = true,
                RejectReason::DuplicateOrder,
            ),
            (
                |c| c.open_buy_qty = fx("0.55"),
                RejectReason::MaxPositionQty,
            ),
            (
                |c| c.capital_usd = Some(20_000.0),
                RejectReason::MaxPositionPct,
            ),
            (|c| c.capital_usd = None, RejectReason::CapitalUnknown),
            (|c| c.open_orders = 3, RejectReason::MaxOpenOrders),
            (|c| c.daily_trades = 5, RejectReason::MaxDailyTrades),
        ];
        for (tweak, want) in cases {
            let mut c = f.ctx(&o);
            tweak(&mut c);
            assert_eq!(reason(check(&c)), *want);
        }
        // Size limits.
        assert_eq!(
            reason(check(&f.ctx(&limit(Side::Buy, "0.6", "50000")))),
            RejectReason::MaxOrderQty
        );
        assert_eq!(
            reason(check(&f.ctx(&limit(Side::Buy, "0.25", "50000")))),
            RejectReason::MaxOrderNotional
        );
        let mut c = f.ctx(&o);
        c.position_qty = fx("0.45");
        assert_eq!(reason(check(&c)), RejectReason::MaxPositionNotional);
    }

    #[test]
    fn reports_the_first_rule_in_precedence_order() {
        let f = Fixture::new();
        let o = limit(Side::Buy, "0.9", "10");
        let mut c = f.ctx(&o);
        c.daily_trades = 99;
        c.same_order_recently = true;
        // Price band (300) comes before duplicates (401), size (500) and counts (601).
        assert_eq!(reason(check(&c)), RejectReason::PriceBand);
    }

    #[test]
    fn reducing_orders_pass_everything_but_a_halt() {
        let f = Fixture::new();
        // Long 0.6 BTC, no open sells: selling 0.6 only reduces.
        let o = limit(Side::Sell, "0.6", "1");
        let mut c = f.ctx(&o);
        c.position_qty = fx("0.6");
        c.trading_state = TradingState::ReduceOnly;
        c.breaker_open_until_ms = Some(1);
        c.symbol_allowed = false;
        c.reference_price = PriceView::Missing;
        c.daily_trades = 99;
        c.open_orders = 99;
        c.same_order_recently = true;
        c.capital_usd = None;
        let a = check(&c).unwrap();
        assert!(a.reducing);
        c.trading_state = TradingState::Halted;
        assert_eq!(reason(check(&c)), RejectReason::TradingHalted);
    }

    #[test]
    fn open_orders_on_the_same_side_count_against_reducing() {
        // Long 0.6 with 0.5 already offered: a further 0.2 sell could flip the position short.
        assert!(is_reducing(
            Side::Sell,
            fx("0.1"),
            fx("0.6"),
            Fixed::ZERO,
            fx("0.5")
        ));
        assert!(!is_reducing(
            Side::Sell,
            fx("0.2"),
            fx("0.6"),
            Fixed::ZERO,
            fx("0.5")
        ));
        assert!(is_reducing(
            Side::Buy,
            fx("1"),
            Fixed::from_units(-2),
            fx("1"),
            Fixed::ZERO
        ));
        assert!(!is_reducing(
            Side::Buy,
            fx("1.1"),
            Fixed::from_units(-2),
            fx("1"),
            Fixed::ZERO
        ));
        assert!(!is_reducing(
            Side::Buy,
            fx("1"),
            Fixed::ZERO,
            Fixed::ZERO,
            Fixed::ZERO
        ));
    }

    #[test]
    fn quote_sized_market_orders_use_the_reference_price() {
        let f = Fixture::new();
        let o = NewOrder {
            kind: OrderKind::Market,
            qty: None,
            quote_qty: Some(Fixed::from_units(12_000)),
            price: None,
            time_in_force: None,
            ..limit(Side::Buy, "1", "1")
        };
        let mut c = f.ctx(&o);
        c.symbol = &f.rules.default_account.default_symbol;
        assert_eq!(reason(check(&c)), RejectReason::MaxOrderNotional);
        let o = NewOrder {
            quote_qty: Some(Fixed::from_units(5_000)),
            ..o
        };
        let c = f.ctx(&o);
        assert_eq!(check(&c).unwrap().qty, fx("0.1"));
    }

    /// Exchange filters (`exchange_filters = true`).
    mod exchange_filters {
        use super::*;
        use crate::model::FilterNames;

        /// BTCUSDT with Binance-like filters.
        fn btc() -> InstrumentFilters {
            InstrumentFilters {
                qty_step: Some(fx("0.00001")),
                min_qty: Some(fx("0.0001")),
                max_qty: Some(fx("9000")),
                market_max_qty: Some(fx("0.2")),
                limit_max_qty: Some(fx("0.4")),
                price_tick: Some(fx("0.01")),
                min_price: Some(fx("0.01")),
                max_price: Some(fx("1000000")),
                min_notional: Some(fx("5")),
                max_notional: Some(fx("9000")),
                min_notional_applies_to_market: true,
                max_notional_applies_to_market: false,
                names: FilterNames {
                    qty_step: "LOT_SIZE stepSize",
                    min_notional: "NOTIONAL minNotional",
                    ..FilterNames::GENERIC
                },
                ..Default::default()
            }
        }

        fn decide(order: &NewOrder, filters: FiltersView<'_>, position: &str) -> Decision {
            let f = Fixture::new();
            let mut c = f.ctx(order);
            c.filters = filters;
            c.position_qty = fx(position);
            check(&c)
        }

        fn market(side: Side, qty: &str) -> NewOrder {
            NewOrder {
                kind: OrderKind::Market,
                price: None,
                time_in_force: None,
                ..limit(side, qty, "1")
            }
        }

        #[test]
        fn refuses_each_filter_with_the_numbers() {
            let filters = btc();
            let known = FiltersView::Known(&filters);
            let cases: &[(NewOrder, RejectReason, &str)] = &[
                (
                    limit(Side::Buy, "0.00012345", "50000"),
                    RejectReason::ExchangeFilterQtyStep,
                    "quantity 0.00012345 is not a multiple of step 0.00001 (BTCUSDT LOT_SIZE stepSize)",
                ),
                (
                    limit(Side::Buy, "0.00002", "50000"),
                    RejectReason::ExchangeFilterQtyRange,
                    "quantity 0.00002 is below the minimum 0.0001 (BTCUSDT minimum quantity)",
                ),
                (
                    market(Side::Buy, "0.21"),
                    RejectReason::ExchangeFilterQtyRange,
                    "market order quantity 0.21 is above the maximum 0.2 (BTCUSDT market maximum quantity)",
                ),
                (
                    limit(Side::Buy, "0.41", "50000"),
                    RejectReason::ExchangeFilterQtyRange,
                    "limit order quantity 0.41 is above the maximum 0.4",
                ),
                (
                    limit(Side::Buy, "0.1", "50000.005"),
                    RejectReason::ExchangeFilterPriceTick,
                    "price 50000.005 is not a multiple of tick 0.01 (BTCUSDT price tick)",
                ),
                (
                    limit(Side::Buy, "0.0001", "49999"),
                    RejectReason::ExchangeFilterNotional,
                    "order value 4.9999 (quantity 0.0001 × price 49999) is below the minimum 5 (BTCUSDT NOTIONAL minNotional)",
                ),
            ];
            for (order, want, text) in cases {
                let e = decide(order, known, "0").unwrap_err();
                assert_eq!(e.reason, *want, "{}", e.message);
                assert!(e.message.contains(text), "{text:?} not in {}", e.message);
            }
            // A market order is valued at the reference price (50000).
            let mut f = btc();
            f.min_qty = None;
            let e = decide(&market(Side::Buy, "0.00009"), FiltersView::Known(&f), "0").unwrap_err();
            assert_eq!(
                e.reason,
                RejectReason::ExchangeFilterNotional,
                "{}",
                e.message
            );
            assert!(
                e.message.contains("order value 4.5 (quantity 0.00009 × reference price 50000) is below the minimum 5"),
                "{}",
                e.message
            );
            // A stop-market order is not valued (its fill price is unknown).
            let stop = NewOrder {
                kind: OrderKind::StopMarket,
                stop_price: Some(fx("51000")),
                ..market(Side::Buy, "0.00009")
            };
            decide(&stop, FiltersView::Known(&f), "0").unwrap();
            f.min_notional_applies_to_market = false;
            decide(&market(Side::Buy, "0.00009"), FiltersView::Known(&f), "0").unwrap();
            // Within every filter: accepted.
            decide(&limit(Side::Buy, "0.1", "50000.01"), known, "0").unwrap();
            decide(&market(Side::Buy, "0.2"), known, "0").unwrap();
            // A post-only order is not held to the limit-order maximum.
            let mut f = btc();
            f.limit_max_qty = Some(fx("0.05"));
            let o = limit(Side::Buy, "0.06", "50000");
            let e = decide(&o, FiltersView::Known(&f), "0").unwrap_err();
            assert_eq!(
                e.reason,
                RejectReason::ExchangeFilterQtyRange,
                "{}",
                e.message
            );
            let maker = NewOrder {
                kind: OrderKind::LimitMaker,
                ..o
            };
            decide(&maker, FiltersView::Known(&f), "0").unwrap();
            // The maximum notional does not apply to market orders here, but
            // does to a limit order: 0.2 × 50000 = 10000 > 9000.
            let big = limit(Side::Buy, "0.2", "50000");
            let mut f = btc();
            f.limit_max_qty = None;
            let e = decide(&big, FiltersView::Known(&f), "0").unwrap_err();
            assert_eq!(
                e.reason,
                RejectReason::ExchangeFilterNotional,
                "{}",
                e.message
            );
            assert!(
                e.message.contains("above the maximum 9000"),
                "{}",
                e.message
            );
        }

        #[test]
        fn unknown_filters_fail_closed_and_off_checks_nothing() {
            let o = limit(Side::Buy, "0.00012345", "50000");
            let e = decide(&o, FiltersView::Unknown { venue: "binance" }, "0").unwrap_err();
            assert_eq!(e.reason, RejectReason::ExchangeFiltersUnknown);
            assert!(
                e.message
                    .contains("no exchange filters loaded for BTCUSDT on binance"),
                "{}",
                e.message
            );
            assert!(
                e.message.contains("exchange_filters = false"),
                "{}",
                e.message
            );
            decide(&o, FiltersView::Off, "0").unwrap();
        }

        #[test]
        fn reducing_orders_meet_precision_but_not_notional_and_pass_when_unknown() {
            // Long 0.5 BTC: selling 0.00005 only reduces.
            let dust = limit(Side::Sell, "0.00005", "50000");
            // Precision and size still apply: below minQty 0.0001.
            let e = decide(&dust, FiltersView::Known(&btc()), "0.5").unwrap_err();
            assert_eq!(
                e.reason,
                RejectReason::ExchangeFilterQtyRange,
                "{}",
                e.message
            );
            let off_step = limit(Side::Sell, "0.00012345", "50000");
            let e = decide(&off_step, FiltersView::Known(&btc()), "0.5").unwrap_err();
            assert_eq!(e.reason, RejectReason::ExchangeFilterQtyStep);
            // Below the minimum notional (0.0001 × 40000 = 4): passes when reducing.
            let small = limit(Side::Sell, "0.0001", "40000");
            assert!(
                decide(&small, FiltersView::Known(&btc()), "0.5")
                    .unwrap()
                    .reducing
            );
            // Unknown filters never block a close.
            assert!(
                decide(&off_step, FiltersView::Unknown { venue: "binance" }, "0.5")
                    .unwrap()
                    .reducing
            );
        }

        #[test]
        fn the_price_band_is_reported_before_the_filters() {
            let o = limit(Side::Buy, "0.00012345", "10");
            let e = decide(&o, FiltersView::Unknown { venue: "binance" }, "0").unwrap_err();
            assert_eq!(e.reason, RejectReason::PriceBand);
        }
    }

    /// Volatility scaling: the per-symbol position limits × min(target / asset vol, max_scale).
    mod volatility_scaling {
        use super::*;
        use crate::risk::IncrementalVar;
        use crate::rules::portfolio::RiskState;
        use std::collections::HashMap;

        const BASE: &str = r#"
            [account."*"]
            capital_usd = 100000.0
            max_order_notional_usd = 100000.0
            max_single_position_pct = 20.0
            max_open_orders = 3
            max_daily_trades = 5
            [account."*".symbol."*"]
            price_band_pct = 5.0
            [account."*".symbol.BTCUSDT]
            max_position_qty = 0.6
            max_position_notional_usd = 25000.0
        "#;

        fn rules(portfolio: &str) -> RuleSet {
            let text = format!("{BASE}\n[portfolio.\"*\"]\n{portfolio}\n");
            crate::rules::file::build(&[("t.toml".into(), text)], &[], &Default::default(), 1)
                .unwrap()
        }

        /// One asset (BTC), daily variance 0.0004 (2 %/day), flat book.
        fn incremental() -> IncrementalVar {
            let cov = nalgebra::DMatrix::from_row_slice(1, 1, &[0.0004]);
            IncrementalVar::new(&["BTC".to_string()], &cov, &[0.0], 0.99, 1).unwrap()
        }

        struct Case {
            rules: RuleSet,
            inc: IncrementalVar,
            vols: Vec<f64>,
            sectors: HashMap<Box<str>, Box<str>>,
        }

        impl Case {
            fn new(portfolio: &str, asset_vol: f64) -> Case {
                Case {
                    rules: rules(portfolio),
                    inc: incremental(),
                    vols: vec![asset_vol],
                    sectors: HashMap::new(),
                }
            }

            fn decide(&self, order: &NewOrder, position: &str, with_risk: bool) -> Decision {
                let account = self.rules.account(None);
                let p = account.portfolio.as_ref().expect("portfolio rules");
                let view = PortfolioView {
                    rules: p,
                    risk: with_risk.then_some(RiskState {
                        computed_ms: 1_000,
                        incremental: &self.inc,
                        exposures_usd: &[],
                        asset_vol_annualised: &self.vols,
                    }),
                    asset: "BTC",
                    sectors: &self.sectors,
                    now_ms: 2_000,
                    capital_usd: 100_000.0,
                };
                let ctx = OrderContext {
                    order,
                    account,
                    symbol: account.symbol("BTCUSDT"),
                    trading_state: TradingState::Active,
                    symbol_allowed: true,
                    breaker_open_until_ms: None,
                    reference_price: PriceView::Fresh(Fixed::from_units(50_000)),
                    quote_usd: Some(1.0),
                    position_qty: fx(position),
                    open_buy_qty: Fixed::ZERO,
                    open_sell_qty: Fixed::ZERO,
                    open_orders: 0,
                    daily_trades: 0,
                    client_order_id_seen: false,
                    same_order_recently: false,
                    capital_usd: Some(100_000.0),
                    portfolio: Some(view),
                    instrument_position: None,
                    exchange: None,
                    filters: FiltersView::Off,
                };
                check(&ctx)
            }
        }

        const ON: &str = "volatility_scaling = true\ntarget_volatility_pct = 20.0\n";

        #[test]
        fn a_volatile_asset_halves_every_position_limit_and_says_so() {
            // 40 % annualised against a 20 % target: factor 0.5.
            let c = Case::new(ON, 0.40);
            // qty limit 0.6 → 0.3.
            let e = c
                .decide(&limit(Side::Buy, "0.31", "50000"), "0", true)
                .unwrap_err();
            assert_eq!(e.reason, RejectReason::MaxPositionQty, "{}", e.message);
            for part in [
                "exceeds limit 0.3 ",
                "configured 0.6",
                "scale 0.5000",
                "40.00%",
            ] {
                assert!(e.message.contains(part), "{part:?} not in {}", e.message);
            }
            // Notional limit 25,000 → 12,500: 0.26 BTC at 50,000 is 13,000.
            let e = c
                .decide(&limit(Side::Buy, "0.26", "50000"), "0", true)
                .unwrap_err();
            assert_eq!(e.reason, RejectReason::MaxPositionNotional, "{}", e.message);
            assert!(e.message.contains("limit 12500.00 USD"), "{}", e.message);
            assert!(
                e.message.contains("configured 25000.00 USD"),
                "{}",
                e.message
            );
            // 20 % of capital → 10 %: 0.22 BTC is 11,000 = 11 %.
            let e = c
                .decide(&limit(Side::Buy, "0.22", "50000"), "0", true)
                .unwrap_err();
            assert_eq!(e.reason, RejectReason::MaxPositionPct, "{}", e.message);
            assert!(e.message.contains("limit 10%"), "{}", e.message);
            assert!(e.message.contains("configured 20%"), "{}", e.message);
            // Under all three scaled limits.
            c.decide(&limit(Side::Buy, "0.19", "50000"), "0", true)
                .unwrap();
        }

        #[test]
        fn a_calm_asset_does_not_loosen_a_limit_unless_max_scale_allows() {
            // 10 % against 20 %: factor 2, capped at 1 by default.
            let capped = Case::new(ON, 0.10);
            let o = limit(Side::Buy, "0.15", "50000");
            let e = capped.decide(&o, "0.5", true).unwrap_err();
            assert_eq!(e.reason, RejectReason::MaxPositionQty, "{}", e.message);
            assert!(e.message.contains("limit 0.6 "), "{}", e.message);
            assert!(e.message.contains("scale 1.0000"), "{}", e.message);
            // max_scale = 2: 0.65 BTC (32,500 USD, 32.5 %) is under 1.2 / 50,000 / 40 %.
            let loose = Case::new(&format!("{ON}max_scale = 2.0\n"), 0.10);
            loose.decide(&o, "0.5", true).unwrap();
            // max_scale = 1.5 caps the factor of 2: notional limit 37,500.
            let mid = Case::new(&format!("{ON}max_scale = 1.5\n"), 0.10);
            let e = mid
                .decide(&limit(Side::Buy, "0.3", "50000"), "0.5", true)
                .unwrap_err();
            assert_eq!(e.reason, RejectReason::MaxPositionNotional, "{}", e.message);
            assert!(e.message.contains("limit 37500.00 USD"), "{}", e.message);
        }

        #[test]
        fn unknown_volatility_fails_closed_but_reducing_orders_pass() {
            let o = limit(Side::Buy, "0.01", "50000");
            for (vol, with_risk) in [(0.4, false), (f64::NAN, true), (0.0, true)] {
                let c = Case::new(ON, vol);
                let e = c.decide(&o, "0", with_risk).unwrap_err();
                assert_eq!(
                    e.reason,
                    RejectReason::PortfolioRiskUnavailable,
                    "{}",
                    e.message
                );
            }
            // No volatility known for the asset at all (not in the snapshot's list).
            let mut c = Case::new(ON, 0.4);
            c.vols.clear();
            let e = c.decide(&o, "0", true).unwrap_err();
            assert!(
                e.message.contains("volatility of BTC unknown"),
                "{}",
                e.message
            );
            // Selling part of a long passes with no risk state at all.
            let sell = limit(Side::Sell, "0.2", "50000");
            assert!(c.decide(&sell, "0.5", false).unwrap().reducing);
        }

        #[test]
        fn scaling_off_leaves_the_configured_limits() {
            // Another portfolio limit on, scaling off: 0.35 BTC (17,500 USD, 17.5 %)
            // is under the configured limits, which a 40 % asset would halve.
            let c = Case::new("max_leverage = 10.0\n", 0.40);
            c.decide(&limit(Side::Buy, "0.35", "50000"), "0", true)
                .unwrap();
            let c = Case::new(ON, 0.40);
            c.decide(&limit(Side::Buy, "0.35", "50000"), "0", true)
                .unwrap_err();
        }
    }
}
